//! `GET /crm/v8/{module}/search` and `GET /crm/v8/{module}/actions/count`:
//! criteria, email, phone and word searches, compiled to SQL by the store.

use super::params::{int_param, Params};
use super::records::field_list;
use super::users_org::no_content;
use crate::auth::{Caller, PathModule};
use crate::error::{json_response, raw_json_response, HttpResult};
use crate::wire::record::{data_body, render_row};
use axum::extract::Query;
use axum::response::Response;
use axum::Extension;
use serde_json::{json, Value};
use std::sync::Arc;
use zcrm_core::meta::{DataType, Module};
use zcrm_core::query::{criteria, CmpOp, Column, Filter, Pattern, Target};
use zcrm_core::value::SqlValue;
use zcrm_core::{ApiError, Code};
use zcrm_store::records::{ListQuery, SortBy};

/// Records reachable through search (page × per_page), per Zoho's search-records page.
const MAX_REACH: u64 = 2_000;
const SEARCH_PARAMS: [&str; 4] = ["criteria", "email", "phone", "word"];

fn column(m: &Arc<Module>, index: usize) -> Column {
    Column {
        name: m.fields[index].api_name.clone(),
        hops: vec![],
        target: Target::Field {
            module: m.clone(),
            index,
        },
    }
}

/// Every field of `m` of one of `types`, as columns.
fn columns_of(m: &Arc<Module>, types: &[DataType]) -> Vec<Column> {
    (0..m.fields.len())
        .filter(|&i| types.contains(&m.fields[i].data_type) && m.fields[i].searchable)
        .map(|i| column(m, i))
        .collect()
}

fn any_of(cols: Vec<Column>, each: impl Fn(Column) -> Filter) -> Filter {
    Filter::Or(cols.into_iter().map(each).collect())
}

fn too_short(param: &str, min: usize) -> ApiError {
    ApiError::new(Code::InvalidData)
        .detail("param_name", param)
        .detail("minimum_length", min)
        .message(format!("the {param} should have at least {min} characters"))
}

/// The filter the request asks for: `criteria` › `email` › `phone` › `word`
/// (Zoho's order when several are given); `None` when none is.
fn search_filter(caller: &Caller, m: &Arc<Module>, q: &Params) -> Result<Option<Filter>, ApiError> {
    if let Some(c) = q.get("criteria") {
        return criteria::parse(caller.org.store.catalog(), m, c).map(Some);
    }
    if let Some(e) = q.get("email") {
        let e = e.trim();
        if e.is_empty() {
            return Err(ApiError::invalid_param("email"));
        }
        let value = SqlValue::Text(e.to_string());
        return Ok(Some(any_of(columns_of(m, &[DataType::Email]), |col| {
            Filter::Cmp {
                col,
                op: CmpOp::Eq,
                value: value.clone(),
            }
        })));
    }
    if let Some(p) = q.get("phone") {
        let p = p.trim();
        if p.chars().count() < 3 {
            return Err(too_short("phone", 3));
        }
        return Ok(Some(any_of(columns_of(m, &[DataType::Phone]), |col| {
            Filter::Like {
                col,
                pattern: Pattern::Contains(p.to_string()),
                negated: false,
            }
        })));
    }
    if let Some(w) = q.get("word") {
        let w = w.trim();
        if w.chars().count() < 2 {
            return Err(too_short("word", 2));
        }
        let text = [
            DataType::Text,
            DataType::Email,
            DataType::Phone,
            DataType::Website,
            DataType::Picklist,
            DataType::Autonumber,
        ];
        return Ok(Some(any_of(columns_of(m, &text), |col| Filter::Like {
            col,
            pattern: Pattern::Contains(w.to_string()),
            negated: false,
        })));
    }
    Ok(None)
}

fn converted(m: &Module, q: &Params) -> Result<Option<bool>, ApiError> {
    if m.api_name != "Leads" {
        return Ok(None);
    }
    match q.get("converted").map(String::as_str) {
        None | Some("false") => Ok(Some(false)),
        Some("true") => Ok(Some(true)),
        Some("both") => Ok(None),
        Some(_) => Err(ApiError::invalid_param("converted")),
    }
}

/// zcrm has no approval processes yet: every record is approved.
fn approved_only_empty(q: &Params) -> Result<bool, ApiError> {
    match q
        .get("approved")
        .or_else(|| q.get("approval_state"))
        .map(String::as_str)
    {
        None | Some("true") | Some("both") | Some("approved") => Ok(false),
        Some("false") => Ok(true),
        Some(_) => Err(ApiError::invalid_param("approved")),
    }
}

pub async fn search(
    Extension(caller): Extension<Caller>,
    Extension(PathModule(m)): Extension<PathModule>,
    Query(q): Query<Params>,
) -> HttpResult<Response> {
    let filter = search_filter(&caller, &m, &q)?.ok_or_else(|| {
        ApiError::new(Code::ExpectedParamMissing).detail("param_names", json!(SEARCH_PARAMS))
    })?;
    let fields = match q.get("fields") {
        Some(raw) => field_list(&m, raw)?,
        None => (0..m.fields.len()).collect(),
    };
    let per_page = int_param(&q, "per_page", 200, 200)?;
    let page = int_param(&q, "page", 1, u32::MAX as u64)?;
    if page.saturating_mul(per_page) > MAX_REACH {
        return Err(ApiError::new(Code::LimitReached)
            .detail("limit", MAX_REACH.to_string())
            .into());
    }
    let sort_by = match q.get("sort_by").map(String::as_str) {
        None | Some("id") => SortBy::Id,
        Some("Created_Time") => SortBy::CreatedTime,
        Some("Modified_Time") => SortBy::ModifiedTime,
        Some(_) => return Err(ApiError::invalid_param("sort_by").into()),
    };
    let desc = match q.get("sort_order").map(String::as_str) {
        None | Some("desc") => true,
        Some("asc") => false,
        Some(_) => return Err(ApiError::invalid_param("sort_order").into()),
    };
    let converted = converted(&m, &q)?;
    if approved_only_empty(&q)? {
        return Ok(no_content());
    }
    let offset = (page - 1) * per_page;
    let query = ListQuery {
        fields: fields.clone(),
        sort_by,
        desc,
        offset,
        limit: per_page,
        ids: None,
        converted,
        modified_since: None,
        related: None,
        filter: Some(filter),
    };
    let (rows, more) = caller.org.store.list(&m, &query).await?;
    if rows.is_empty() {
        return Ok(no_content());
    }
    let more = more && offset + per_page < MAX_REACH;
    let data: Vec<String> = rows
        .iter()
        .map(|r| render_row(&caller.org, &m, &fields, r, false))
        .collect();
    Ok(raw_json_response(
        200,
        data_body(
            &data,
            Some(&json!({
                "info": {
                    "per_page": per_page,
                    "count": rows.len(),
                    "page": page,
                    "sort_by": q.get("sort_by").map(String::as_str).unwrap_or("id"),
                    "sort_order": if desc { "desc" } else { "asc" },
                    "more_records": more,
                }
            })),
        ),
    ))
}

pub async fn count(
    Extension(caller): Extension<Caller>,
    Extension(PathModule(m)): Extension<PathModule>,
    Query(q): Query<Params>,
) -> HttpResult<Response> {
    if q.contains_key("cvid") && SEARCH_PARAMS.iter().any(|p| q.contains_key(*p)) {
        let mut due: Vec<Value> = vec![json!({"param_name": "cvid"})];
        due.extend(
            SEARCH_PARAMS
                .iter()
                .filter(|p| q.contains_key(**p))
                .map(|p| json!({"param_name": p})),
        );
        return Err(ApiError::new(Code::AmbiguityDuringProcessing)
            .detail("ambiguity_due_to", Value::Array(due))
            .message(
                "Please use either Cvid or Search Params. Combination of both the params is not allowed",
            )
            .into());
    }
    let filter = search_filter(&caller, &m, &q)?;
    let converted = converted(&m, &q)?;
    let n = caller
        .org
        .store
        .count_where(&m, filter.as_ref(), converted)
        .await?;
    Ok(json_response(200, &json!({ "count": n })))
}
