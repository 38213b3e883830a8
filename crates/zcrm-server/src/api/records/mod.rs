//! `/crm/v8/{module}`, `/{module}/{id}` and `/{module}/deleted`: the records
//! API. Reading in `list`, writing in `write`; the use cases in `service`.

mod list;
mod write;

pub use list::{deleted, get_one, list, list_page};
pub(crate) use write::write;
pub use write::{clone_record, create, delete_many, delete_one, update_many, update_one, upsert};

use super::params::{batch_status, data_array, id_list, int_param, json_body, Params};
use super::users_org::no_content;
use crate::auth::{Caller, PathModule};
use crate::error::{json_response, raw_json_response, HttpResult};
use crate::service::page_token::{self, PAGE_TOKEN_TTL_MS, TOKEN_LIMIT};
use crate::service::records::{check_record, Mode};
use crate::service::writes;
use crate::wire::record::{data_body, render_row};
use crate::wire::Success;
use axum::body::Bytes;
use axum::extract::{Path, Query};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Extension;
use serde_json::{json, Value};
use std::fmt::Write;
use std::sync::Arc;
use zcrm_core::meta::Module;
use zcrm_core::value::format_datetime;
use zcrm_core::{ApiError, Code};
use zcrm_store::records::{ListQuery, Related, Saved, SortBy, WriteRow};

pub(super) const MAX_FIELDS: usize = 50;

pub(super) const MAX_RECORDS: usize = 100;

pub(super) fn user_ref(caller: &Caller, id: i64, with_email: bool) -> Value {
    match caller.org.user(id) {
        Some(u) if with_email => {
            json!({"name": u.full_name(), "id": u.id.to_string(), "email": u.email})
        }
        Some(u) => json!({"name": u.full_name(), "id": u.id.to_string()}),
        None => json!({"name": null, "id": id.to_string()}),
    }
}

/// Indices of the fields named in `fields=a,b,c`.
pub(super) fn field_list(m: &Module, raw: &str) -> Result<Vec<usize>, ApiError> {
    let names: Vec<&str> = raw
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if names.is_empty() {
        return Err(ApiError::param_missing("fields"));
    }
    if names.len() > MAX_FIELDS {
        return Err(ApiError::new(Code::LimitExceeded)
            .detail("limit", MAX_FIELDS)
            .detail("param_name", "fields"));
    }
    let mut out = Vec::with_capacity(names.len());
    for n in names {
        if n.eq_ignore_ascii_case("id") {
            continue;
        }
        let f = m.field(n).ok_or_else(|| {
            ApiError::new(Code::InvalidData)
                .detail("api_name", n)
                .detail("param_name", "fields")
        })?;
        let i = m
            .fields
            .iter()
            .position(|x| std::ptr::eq(x, f))
            .unwrap_or(0);
        if !out.contains(&i) {
            out.push(i);
        }
    }
    Ok(out)
}

pub(super) fn caller_now(caller: &Caller) -> i64 {
    caller.app.now()
}

pub(super) fn ambiguity(params: &[&str]) -> ApiError {
    let due: Vec<Value> = params.iter().map(|p| json!({"param_name": p})).collect();
    ApiError::new(Code::AmbiguityDuringProcessing).detail("ambiguity_due_to", Value::Array(due))
}

pub(super) fn not_modified() -> Response {
    let mut r = Response::new(axum::body::Body::empty());
    *r.status_mut() = axum::http::StatusCode::NOT_MODIFIED;
    r
}

pub(super) fn parse_path_id(raw: &str) -> Result<i64, ApiError> {
    zcrm_core::ids::parse_id_str(raw).ok_or_else(|| ApiError::invalid_id_at(2))
}
