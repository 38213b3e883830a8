//! `POST /crm/v8/Leads/{id}/actions/convert`.

use crate::auth::{Caller, PathModule};
use crate::error::{json_response, HttpResult};
use crate::service::convert;
use crate::wire::body::decode;
use crate::wire::fields::Id;
use crate::wire::Success;
use axum::body::Bytes;
use axum::extract::Path;
use axum::response::Response;
use axum::Extension;
use serde::Deserialize;
use serde_json::{json, Value};
use zcrm_core::{ApiError, Code};
use zcrm_store::convert::Linked;

/// The body of a conversion: one `data` item, or nothing (the defaults).
#[derive(Deserialize, Default)]
struct ConvertBody {
    #[serde(default)]
    data: Option<Vec<ConvertItem>>,
}

#[derive(Deserialize, Default)]
struct ConvertItem {
    #[serde(default)]
    overwrite: Option<bool>,
    #[serde(default, rename = "Accounts")]
    accounts: Option<Ref>,
    #[serde(default, rename = "Contacts")]
    contacts: Option<Ref>,
    #[serde(default)]
    assign_to: Option<Ref>,
    /// The Deal to create: a record body, in the org's own fields.
    #[serde(default, rename = "Deals")]
    deals: Option<Value>,
}

/// `{"id": …}` of an existing record or user.
#[derive(Deserialize)]
struct Ref {
    id: Id,
}

fn item(body: &[u8]) -> Result<ConvertItem, ApiError> {
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok(ConvertItem::default());
    }
    let mut data = decode::<ConvertBody>(body)?.data.unwrap_or_default();
    if data.len() > 1 {
        return Err(ApiError::new(Code::LimitExceeded)
            .detail("limit", 1)
            .detail("api_name", "data"));
    }
    Ok(data.pop().unwrap_or_default())
}

fn linked(l: &Linked) -> Value {
    match l {
        Some((id, name)) => json!({"name": name, "id": id.to_string()}),
        None => Value::Null,
    }
}

pub async fn convert(
    Extension(caller): Extension<Caller>,
    Extension(PathModule(m)): Extension<PathModule>,
    Path((_, id)): Path<(String, String)>,
    body: Bytes,
) -> HttpResult<Response> {
    if m.api_name != "Leads" {
        return Err(ApiError::new(Code::NotSupported)
            .detail("resource_path_index", 0)
            .into());
    }
    let lead_id = zcrm_core::ids::parse_id_str(&id).ok_or_else(|| ApiError::invalid_id_at(1))?;
    // An empty body converts with the defaults.
    let item = item(&body)?;
    let input = convert::Input {
        lead_id,
        account_id: item.accounts.map(|r| r.id.0),
        contact_id: item.contacts.map(|r| r.id.0),
        assign_to: item.assign_to.map(|r| r.id.0),
        overwrite: item.overwrite.unwrap_or(false),
        deal: item.deals.as_ref().filter(|d| !d.is_null()),
    };
    let done = convert::convert(&caller, input).await?;
    Ok(json_response(
        200,
        &json!({"data": [Success::new("The record has been converted successfully")
            .detail("Contacts", linked(&Some(done.contact)))
            .detail("Accounts", linked(&done.account))
            .detail("Deals", linked(&done.deal))
            .to_value()]}),
    ))
}
