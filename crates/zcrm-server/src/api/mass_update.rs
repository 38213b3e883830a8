//! `POST /crm/v8/{module}/actions/mass_update` (by `ids`, `cvid` and/or `criteria`, run as a
//! job) and `GET …?job_id=` (its status).

use super::params::Params;
use crate::auth::{Caller, PathModule};
use crate::error::{json_response, HttpResult};
use crate::service::mass_update;
use crate::service::records::{check_record, Mode};
use crate::wire::fields::Id;
use crate::wire::items::list;
use crate::wire::{Body, Success};
use axum::extract::Query;
use axum::response::Response;
use axum::Extension;
use serde::Deserialize;
use serde_json::{json, Value};
use zcrm_core::ids::parse_id_str;
use zcrm_core::{ApiError, Code};

/// Most ids one call may name.
const MAX_IDS: usize = 50_000;

/// The body of a mass update: the values (`data`, one record's fields, in
/// the org's own names), and which records: `ids`, `cvid` or `criteria`
/// (conditions on the org's fields, compiled by the service).
#[derive(Deserialize)]
pub struct MassUpdateBody {
    #[serde(flatten)]
    rest: serde_json::Map<String, Value>,
    #[serde(default)]
    ids: Option<Vec<Id>>,
    #[serde(default)]
    cvid: Option<Value>,
    #[serde(default)]
    criteria: Option<Value>,
}

pub async fn schedule(
    Extension(caller): Extension<Caller>,
    Extension(PathModule(m)): Extension<PathModule>,
    Body(body): Body<MassUpdateBody>,
) -> HttpResult<Response> {
    let data = list(&body.rest, "data", 1, Code::RequiredDataNotFound)?;
    let now = caller.app.now();
    let row = check_record(&m, &data[0], 0, Mode::Update, None, &caller.app.ids, now)?;
    if row.values.is_empty() {
        return Err(ApiError::new(Code::InvalidData)
            .detail("api_name", "data")
            .detail("json_path", "$.data[0]")
            .message("no field to update")
            .into());
    }
    let criteria = match &body.criteria {
        None => None,
        Some(c) => Some(mass_update::checked_criteria(&caller, &m, c)?),
    };
    let (ids, owner) = match (body.ids, &body.cvid) {
        (Some(_), _) if criteria.is_some() => {
            return Err(ApiError::new(Code::AmbiguityDuringProcessing)
                .detail(
                    "ambiguity_due_to",
                    json!([{"api_name": "ids", "json_path": "$.ids"},
                           {"api_name": "criteria", "json_path": "$.criteria"}]),
                )
                .into())
        }
        (Some(list), _) => {
            let ids: Vec<i64> = list.into_iter().map(|i| i.0).collect();
            if ids.is_empty() {
                return Err(ApiError::new(Code::MandatoryNotFound)
                    .detail("api_name", "ids")
                    .detail("json_path", "$.ids")
                    .into());
            }
            if ids.len() > MAX_IDS {
                return Err(ApiError::new(Code::LimitExceeded)
                    .detail("limit", MAX_IDS)
                    .detail("api_name", "ids")
                    .into());
            }
            (Some(ids), None)
        }
        (_, Some(cv)) => {
            let owner =
                crate::service::views::owner_filter(&m, cv, caller.user_id).ok_or_else(|| {
                    ApiError::new(Code::InvalidData)
                        .detail("api_name", "cvid")
                        .detail("json_path", "$.cvid")
                })?;
            (None, owner)
        }
        // Criteria alone: every record of the module that matches.
        _ if criteria.is_some() => (None, None),
        _ => {
            return Err(ApiError::new(Code::MandatoryNotFound)
                .detail("api_name", "ids")
                .detail("json_path", "$.ids")
                .into())
        }
    };
    let values = row.values.into_iter().map(|(i, c)| (i, c.value)).collect();
    let sel = mass_update::Selection {
        ids,
        owner,
        criteria,
    };
    let job = mass_update::schedule(&caller, &m, values, sel).await?;
    Ok(json_response(
        202,
        &json!({"data": [Success::new("mass update scheduled successfully")
            .detail("job_id", job.to_string())
            .to_value()]}),
    ))
}

pub async fn status(
    Extension(caller): Extension<Caller>,
    Extension(PathModule(m)): Extension<PathModule>,
    Query(q): Query<Params>,
) -> HttpResult<Response> {
    let raw = q
        .get("job_id")
        .ok_or_else(|| ApiError::param_missing("job_id"))?;
    let job = parse_id_str(raw).ok_or_else(|| ApiError::invalid_param("job_id"))?;
    let st = caller
        .org
        .store
        .mass_update_status(&m.api_name, job)
        .await?
        .ok_or_else(|| ApiError::invalid_param("job_id"))?;
    Ok(json_response(
        200,
        &json!({"data": [{"Status": st.status, "Total_Count": st.total, "Updated_Count": st.updated,
                          "Not_Updated_Count": st.not_updated, "Failed_Count": st.failed}]}),
    ))
}
