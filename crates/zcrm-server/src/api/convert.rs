//! `POST /crm/v8/Leads/{id}/actions/convert`.

use super::params::json_body;
use crate::auth::{Caller, PathModule};
use crate::error::{json_response, HttpResult};
use crate::service::convert;
use crate::wire::Success;
use axum::body::Bytes;
use axum::extract::Path;
use axum::response::Response;
use axum::Extension;
use serde_json::{json, Map, Value};
use zcrm_core::ids::parse_id;
use zcrm_core::{ApiError, Code};
use zcrm_store::convert::Linked;

fn id_in(obj: &Map<String, Value>, key: &str) -> Result<Option<i64>, ApiError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.get("id").and_then(parse_id).map(Some).ok_or_else(|| {
            ApiError::new(Code::InvalidData)
                .detail("api_name", key)
                .detail("json_path", format!("$.data[0].{key}"))
                .detail("expected_data_type", "jsonobject")
        }),
    }
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
    let item: Map<String, Value> = if body.iter().all(|b| b.is_ascii_whitespace()) {
        Map::new()
    } else {
        let body = json_body(&body)?;
        match body.get("data") {
            None => Map::new(),
            Some(Value::Array(a)) if a.len() == 1 => {
                a[0].as_object().cloned().ok_or_else(|| {
                    ApiError::new(Code::InvalidData)
                        .detail("api_name", "data")
                        .detail("json_path", "$.data[0]")
                })?
            }
            Some(Value::Array(a)) if a.len() > 1 => {
                return Err(ApiError::new(Code::LimitExceeded)
                    .detail("limit", 1)
                    .detail("api_name", "data")
                    .into())
            }
            Some(_) => {
                return Err(ApiError::new(Code::InvalidData)
                    .detail("api_name", "data")
                    .detail("json_path", "$.data")
                    .detail("expected_data_type", "jsonarray")
                    .into())
            }
        }
    };
    let overwrite = match item.get("overwrite") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            return Err(ApiError::new(Code::InvalidData)
                .detail("api_name", "overwrite")
                .detail("json_path", "$.data[0].overwrite")
                .detail("expected_data_type", "boolean")
                .into())
        }
    };
    let input = convert::Input {
        lead_id,
        account_id: id_in(&item, "Accounts")?,
        contact_id: id_in(&item, "Contacts")?,
        assign_to: id_in(&item, "assign_to")?,
        overwrite,
        deal: item.get("Deals").filter(|d| !d.is_null()),
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
