//! `POST /crm/v8/{module}/actions/mass_update` (by `ids`, `cvid` and/or `criteria`, run as a
//! job) and `GET …?job_id=` (its status).

use super::params::{data_array, json_body, Params};
use crate::auth::{Caller, PathModule};
use crate::error::{json_response, HttpResult};
use crate::service::records::{check_record, Mode};
use crate::workers::spawn_mass_update;
use axum::body::Bytes;
use axum::extract::Query;
use axum::response::Response;
use axum::Extension;
use serde_json::{json, Value};
use zcrm_core::ids::{parse_id, parse_id_str};
use zcrm_core::meta::stable_id;
use zcrm_core::query::criteria;
use zcrm_core::{ApiError, Code};
use zcrm_store::mass_update::MassSpec;

/// Most ids one call may name.
const MAX_IDS: usize = 50_000;

pub async fn schedule(
    Extension(caller): Extension<Caller>,
    Extension(PathModule(m)): Extension<PathModule>,
    body: Bytes,
) -> HttpResult<Response> {
    let body = json_body(&body)?;
    let data = data_array(&body, 1)?;
    let now = caller.app.now();
    let row = check_record(&m, &data[0], 0, Mode::Update, None, &caller.app.ids, now)?;
    if row.values.is_empty() {
        return Err(ApiError::new(Code::InvalidData)
            .detail("api_name", "data")
            .detail("json_path", "$.data[0]")
            .message("no field to update")
            .into());
    }
    let criteria = match body.get("criteria") {
        None | Some(Value::Null) => None,
        Some(c) => {
            let text = criteria_text(c)?;
            // Refused now, with the search API's errors, rather than in the job.
            criteria::parse(caller.org.store.catalog(), &m, &text).map_err(|e| {
                e.detail("api_name", "criteria")
                    .detail("json_path", "$.criteria")
            })?;
            Some(text)
        }
    };
    let (ids, owner) = match (body.get("ids"), body.get("cvid")) {
        (Some(_), _) if criteria.is_some() => {
            return Err(ApiError::new(Code::AmbiguityDuringProcessing)
                .detail(
                    "ambiguity_due_to",
                    json!([{"api_name": "ids", "json_path": "$.ids"},
                           {"api_name": "criteria", "json_path": "$.criteria"}]),
                )
                .into())
        }
        (Some(Value::Array(list)), _) => {
            let ids: Option<Vec<i64>> = list.iter().map(parse_id).collect();
            let ids = ids.ok_or_else(|| {
                ApiError::new(Code::InvalidData)
                    .detail("api_name", "ids")
                    .detail("json_path", "$.ids")
            })?;
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
            let cvid = cv
                .as_str()
                .map(String::from)
                .or_else(|| cv.as_i64().map(|i| i.to_string()))
                .unwrap_or_default();
            let view = m
                .custom_views
                .iter()
                .find(|v| stable_id("custom_view", &format!("{}.{}", m.api_name, v.name)) == cvid)
                .ok_or_else(|| {
                    ApiError::new(Code::InvalidData)
                        .detail("api_name", "cvid")
                        .detail("json_path", "$.cvid")
                })?;
            // "My …" views are the caller's records; the others here are all records.
            let mine = view
                .system_name
                .as_deref()
                .is_some_and(|s| s.starts_with("MY"))
                || view.name.starts_with("My ");
            (None, mine.then_some(caller.user_id))
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
    let job = caller.app.ids.next(now);
    let spec = MassSpec {
        values: row.values.into_iter().map(|(i, c)| (i, c.value)).collect(),
        ids,
        owner,
        user: caller.user_id,
        criteria,
    };
    caller
        .org
        .store
        .schedule_mass_update(m.api_name.clone(), job, spec, now)
        .await?;
    spawn_mass_update(caller.app.clone(), caller.org.clone(), job);
    Ok(json_response(
        202,
        &json!({"data": [{"code": "SUCCESS", "status": "success", "message": "mass update scheduled successfully",
                          "details": {"job_id": job.to_string()}}]}),
    ))
}

/// `criteria` as the search API writes it: given that way (a string), or as
/// Zoho's mass-update JSON, conditions `{api_name, comparator, value}` that
/// all must hold (`comparator` `equal` is the search API's `equals`).
fn criteria_text(c: &Value) -> Result<String, ApiError> {
    let bad = || {
        ApiError::new(Code::InvalidData)
            .detail("api_name", "criteria")
            .detail("json_path", "$.criteria")
    };
    let one = |c: &Value| -> Result<String, ApiError> {
        let field = c.get("api_name").and_then(Value::as_str).ok_or_else(bad)?;
        let op = c
            .get("comparator")
            .and_then(Value::as_str)
            .unwrap_or("equal");
        let op = if op == "equal" { "equals" } else { op };
        let esc = |s: &str| {
            s.chars().fold(String::new(), |mut out, ch| {
                if matches!(ch, '(' | ')' | ',' | ':' | '\\') {
                    out.push('\\');
                }
                out.push(ch);
                out
            })
        };
        let value = match c.get("value") {
            Some(Value::String(s)) => esc(s),
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| match v {
                    Value::String(s) => Ok(esc(s)),
                    Value::Number(_) | Value::Bool(_) => Ok(v.to_string()),
                    _ => Err(bad()),
                })
                .collect::<Result<Vec<_>, _>>()?
                .join(","),
            Some(v @ (Value::Number(_) | Value::Bool(_))) => v.to_string(),
            None | Some(Value::Null) => String::new(),
            Some(_) => return Err(bad()),
        };
        Ok(format!("({field}:{op}:{value})"))
    };
    match c {
        Value::String(s) if !s.trim().is_empty() => Ok(s.clone()),
        Value::Object(_) => one(c),
        Value::Array(items) if !items.is_empty() => {
            let parts = items.iter().map(one).collect::<Result<Vec<_>, _>>()?;
            Ok(if parts.len() == 1 {
                parts[0].clone()
            } else {
                format!("({})", parts.join("and"))
            })
        }
        _ => Err(bad()),
    }
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
