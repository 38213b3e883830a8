//! `POST /crm/v8/{module}/actions/mass_update` (by `ids`, `cvid` and/or `criteria`, run as a
//! job) and `GET …?job_id=` (its status).

use super::params::{data_array, json_body, Params};
use crate::auth::{Caller, PathModule};
use crate::error::{json_response, HttpResult};
use crate::service::records::{check_record, Mode};
use crate::wire::Success;
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
        &json!({"data": [Success::new("mass update scheduled successfully")
            .detail("job_id", job.to_string())
            .to_value()]}),
    ))
}

/// `criteria` as the search API writes it: given that way (a string), or as
/// Zoho's JSON criteria (what the SDKs send): a condition `{field` (or
/// `api_name`)`, comparator, value}`, a `{group_operator, group: [...]}`, or
/// a list of them that must all hold. Comparator `equal` is the search API's
/// `equals`; the others share their names.
fn criteria_text(c: &Value) -> Result<String, ApiError> {
    match c {
        Value::String(s) if !s.trim().is_empty() => Ok(s.clone()),
        Value::Object(_) => criteria_node(c, 0),
        Value::Array(items) if !items.is_empty() => {
            let parts = items
                .iter()
                .map(|i| criteria_node(i, 0))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(join(parts, "and"))
        }
        _ => Err(bad_criteria()),
    }
}

fn bad_criteria() -> ApiError {
    ApiError::new(Code::InvalidData)
        .detail("api_name", "criteria")
        .detail("json_path", "$.criteria")
}

fn join(parts: Vec<String>, op: &str) -> String {
    if parts.len() == 1 {
        parts.into_iter().next().unwrap_or_default()
    } else {
        format!("({})", parts.join(op))
    }
}

fn criteria_node(c: &Value, depth: usize) -> Result<String, ApiError> {
    if depth > 5 {
        return Err(bad_criteria());
    }
    if let Some(group) = c.get("group") {
        let op = match c.get("group_operator").and_then(Value::as_str) {
            None => "and",
            Some(o) if o.eq_ignore_ascii_case("and") => "and",
            Some(o) if o.eq_ignore_ascii_case("or") => "or",
            Some(_) => return Err(bad_criteria()),
        };
        let items = group
            .as_array()
            .filter(|a| !a.is_empty())
            .ok_or_else(bad_criteria)?;
        let parts = items
            .iter()
            .map(|i| criteria_node(i, depth + 1))
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(join(parts, op));
    }
    let field = c
        .get("field")
        .or_else(|| c.get("api_name"))
        .and_then(|f| {
            f.as_str()
                .or_else(|| f.get("api_name").and_then(Value::as_str))
        })
        .ok_or_else(bad_criteria)?;
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
                _ => Err(bad_criteria()),
            })
            .collect::<Result<Vec<_>, _>>()?
            .join(","),
        Some(v @ (Value::Number(_) | Value::Bool(_))) => v.to_string(),
        None | Some(Value::Null) => String::new(),
        Some(_) => return Err(bad_criteria()),
    };
    Ok(format!("({field}:{op}:{value})"))
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
