//! `/crm/v8/{module}`, `/{module}/{id}` and `/{module}/deleted`: the records API.

use super::params::{batch_status, data_array, id_list, int_param, json_body, Params};
use super::users_org::no_content;
use crate::auth::{Caller, PathModule};
use crate::error::{json_response, raw_json_response, HttpResult};
use crate::service::page_token::PageToken;
use crate::service::records::{check_record, Mode};
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
use zcrm_core::meta::{DataType, Module};
use zcrm_core::value::format_datetime;
use zcrm_core::{ApiError, Code};
use zcrm_store::records::{ListQuery, Related, Saved, SortBy, WriteCtx, WriteRow};

const MAX_FIELDS: usize = 50;
const MAX_RECORDS: usize = 100;
/// Records reachable with `page`; beyond this a `page_token` is needed.
const DISCRETE_LIMIT: u64 = 2_000;
/// Records reachable with `page_token`.
const TOKEN_LIMIT: u64 = 100_000;
const PAGE_TOKEN_TTL_MS: i64 = 24 * 3_600_000;

fn user_ref(caller: &Caller, id: i64, with_email: bool) -> Value {
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

pub async fn list(
    Extension(caller): Extension<Caller>,
    Extension(PathModule(m)): Extension<PathModule>,
    Query(q): Query<Params>,
    headers: HeaderMap,
) -> HttpResult<Response> {
    list_page(&caller, &m, &q, &headers, None).await
}

/// One page of `m`'s records, as `GET /{module}` answers it; `related` limits
/// it to the children of one parent record (a related list).
pub async fn list_page(
    caller: &Caller,
    m: &Arc<Module>,
    q: &Params,
    headers: &HeaderMap,
    related: Option<Related>,
) -> HttpResult<Response> {
    let (caller, m, q) = (caller.clone(), m.clone(), q.clone());
    let fields = field_list(&m, q.get("fields").map(String::as_str).unwrap_or(""))?;
    let per_page = int_param(&q, "per_page", 200, 200)?;
    if q.contains_key("cvid") && q.contains_key("sort_by") {
        return Err(ambiguity(&["cvid", "sort_by"]).into());
    }
    if q.contains_key("page") && q.contains_key("page_token") {
        return Err(ambiguity(&["page", "page_token"]).into());
    }
    if let Some(cvid) = q.get("cvid") {
        let known = m.custom_views.iter().any(|cv| {
            zcrm_core::meta::stable_id("custom_view", &format!("{}.{}", m.api_name, cv.name))
                == *cvid
        });
        if !known {
            return Err(ApiError::invalid_param("cvid").into());
        }
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
    let sort_key = format!(
        "{}{}",
        q.get("sort_by").map(String::as_str).unwrap_or("id"),
        if desc { "-" } else { "+" }
    );
    let now = caller_now(&caller);
    let (offset, page) = match q.get("page_token") {
        Some(t) => {
            let tok = PageToken::decode(t).ok_or_else(|| ApiError::invalid_param("page_token"))?;
            if tok.user != caller.user_id || tok.module != m.api_name || tok.sort != sort_key {
                return Err(ApiError::new(Code::TokenBoundDataMismatch)
                    .detail("param_name", "page_token")
                    .into());
            }
            if tok.expires <= now {
                return Err(ApiError::new(Code::ExpiredValue)
                    .detail("api_name", "page_token")
                    .detail("json_path", "$.query.page_token")
                    .into());
            }
            if tok.offset >= TOKEN_LIMIT {
                return Err(ApiError::new(Code::PaginationLimitExceeded)
                    .detail("param_name", "page_token")
                    .into());
            }
            (tok.offset, tok.offset / per_page + 1)
        }
        None => {
            let page = int_param(&q, "page", 1, u32::MAX as u64)?;
            if page * per_page > DISCRETE_LIMIT {
                return Err(ApiError::new(Code::DiscretePaginationLimitExceeded)
                    .detail("limit", DISCRETE_LIMIT)
                    .into());
            }
            ((page - 1) * per_page, page)
        }
    };
    let ids = q
        .get("ids")
        .map(|raw| id_list(raw, "ids", MAX_RECORDS))
        .transpose()?;
    let converted = if m.api_name == "Leads" {
        match q.get("converted").map(String::as_str) {
            None | Some("false") => Some(false),
            Some("true") => Some(true),
            Some("both") => None,
            Some(_) => return Err(ApiError::invalid_param("converted").into()),
        }
    } else {
        None
    };
    let modified_since = match headers
        .get("if-modified-since")
        .and_then(|v| v.to_str().ok())
    {
        Some(s) => Some(
            zcrm_core::value::parse_datetime(s)
                .ok_or_else(|| ApiError::invalid_param("If-Modified-Since"))?,
        ),
        None => None,
    };
    let limit = per_page.min(TOKEN_LIMIT - offset);
    let query = ListQuery {
        fields: fields.clone(),
        sort_by,
        desc,
        offset,
        limit,
        ids,
        converted,
        modified_since,
        related,
        filter: None,
    };
    let (rows, more) = caller.org.store.list(&m, &query).await?;
    if rows.is_empty() {
        return Ok(if modified_since.is_some() {
            not_modified()
        } else {
            no_content()
        });
    }
    let more = more && offset + limit < TOKEN_LIMIT;
    let next_token = more.then(|| {
        PageToken {
            offset: offset + rows.len() as u64,
            user: caller.user_id,
            module: m.api_name.clone(),
            sort: sort_key.clone(),
            expires: now + PAGE_TOKEN_TTL_MS,
        }
        .encode()
    });
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
                    "next_page_token": next_token,
                    "count": rows.len(),
                    "sort_by": q.get("sort_by").map(String::as_str).unwrap_or("id"),
                    "page": page,
                    "previous_page_token": null,
                    "page_token_expiry": next_token.as_ref().map(|_| format_datetime(now + PAGE_TOKEN_TTL_MS, caller.org.tz)),
                    "sort_order": if desc { "desc" } else { "asc" },
                    "email": false,
                    "call": false,
                    "more_records": more,
                }
            })),
        ),
    ))
}

fn caller_now(caller: &Caller) -> i64 {
    caller.app.now()
}

fn ambiguity(params: &[&str]) -> ApiError {
    let due: Vec<Value> = params.iter().map(|p| json!({"param_name": p})).collect();
    ApiError::new(Code::AmbiguityDuringProcessing).detail("ambiguity_due_to", Value::Array(due))
}

fn not_modified() -> Response {
    let mut r = Response::new(axum::body::Body::empty());
    *r.status_mut() = axum::http::StatusCode::NOT_MODIFIED;
    r
}

fn parse_path_id(raw: &str) -> Result<i64, ApiError> {
    zcrm_core::ids::parse_id_str(raw).ok_or_else(|| ApiError::invalid_id_at(2))
}

pub async fn get_one(
    Extension(caller): Extension<Caller>,
    Extension(PathModule(m)): Extension<PathModule>,
    Path((_, id)): Path<(String, String)>,
    Query(q): Query<Params>,
) -> HttpResult<Response> {
    let id = parse_path_id(&id)?;
    let (fields, full) = match q.get("fields") {
        Some(raw) => (field_list(&m, raw)?, false),
        None => ((0..m.fields.len()).collect(), true),
    };
    let Some(row) = caller.org.store.get(&m, id, &fields).await? else {
        return Ok(no_content());
    };
    let mut rec = render_row(&caller.org, &m, &fields, &row, full);
    if full && m.api_name == "Leads" {
        if let Some(d) = caller.org.store.conversion(id).await? {
            // A converted lead names what it became, as Zoho's `$converted_detail`.
            let id_or_null =
                |v: Option<i64>| v.map(|i| json!(i.to_string())).unwrap_or(Value::Null);
            let detail = json!({
                "contact": id_or_null(d.contact),
                "account": id_or_null(d.account),
                "deal": id_or_null(d.deal),
                "convert_date": format_datetime(d.time, caller.org.tz),
                "converted_by": id_or_null(Some(d.by)),
            });
            rec.pop(); // the closing brace
            let _ = write!(rec, ",\"$converted_detail\":{detail}}}");
        }
    }
    Ok(raw_json_response(200, data_body(&[rec], None)))
}

fn success_item(caller: &Caller, s: &Saved, message: &str) -> Value {
    let tz = caller.org.tz;
    if let Some(u) = &s.upserted {
        // Upsert answers say what happened to each record.
        let mut item = success_item(
            caller,
            &Saved {
                upserted: None,
                ..s.clone()
            },
            if u.inserted {
                "record added"
            } else {
                "record updated"
            },
        );
        item["action"] = json!(if u.inserted { "insert" } else { "update" });
        item["duplicate_field"] = json!(u.duplicate_field);
        return item;
    }
    Success::new(message)
        .detail("Modified_Time", format_datetime(s.modified_time, tz))
        .detail("Modified_By", user_ref(caller, s.modified_by, false))
        .detail("Created_Time", format_datetime(s.created_time, tz))
        .detail("id", s.id.to_string())
        .detail("Created_By", user_ref(caller, s.created_by, false))
        .detail("$approval_state", "approved")
        .to_value()
}

pub(crate) async fn write(
    caller: &Caller,
    m: &Arc<Module>,
    rows: Vec<Result<WriteRow, ApiError>>,
    message: &str,
    all_ok: u16,
) -> HttpResult<Response> {
    let app_now = caller.app.now();
    let new_ids: Vec<i64> = rows.iter().map(|_| caller.app.ids.next(app_now)).collect();
    let ctx = WriteCtx {
        now: app_now,
        user: caller.user_id,
        users: caller.org.user_ids(),
    };
    let results = caller
        .org
        .store
        .write(m.clone(), rows, ctx, new_ids)
        .await?;
    let ok = results.iter().filter(|r| r.is_ok()).count();
    let data: Vec<Value> = results
        .iter()
        .map(|r| match r {
            Ok(s) => success_item(caller, s, message),
            Err(e) => crate::error::rejected(e.clone()).to_json(),
        })
        .collect();
    Ok(json_response(
        batch_status(ok, results.len(), all_ok),
        &json!({"data": data}),
    ))
}

pub async fn create(
    Extension(caller): Extension<Caller>,
    Extension(PathModule(m)): Extension<PathModule>,
    budget: Option<Extension<crate::limits::Budget>>,
    body: Bytes,
) -> HttpResult<Response> {
    if !m.creatable {
        return Err(ApiError::new(Code::NotSupported)
            .detail("resource_path_index", 0)
            .into());
    }
    let body = json_body(&body)?;
    let data = data_array(&body, MAX_RECORDS)?;
    crate::limits::large_write(&budget, data.len())?;
    let now = caller.app.now();
    let rows = data
        .iter()
        .enumerate()
        .map(|(i, r)| check_record(&m, r, i, Mode::Create, None, &caller.app.ids, now))
        .collect();
    write(&caller, &m, rows, "record added", 201).await
}

/// `POST /crm/v8/{module}/upsert`: insert, or update the record matching a
/// duplicate-check field (the module's system one, then its unique fields,
/// unless `duplicate_check_fields` names others).
pub async fn upsert(
    Extension(caller): Extension<Caller>,
    Extension(PathModule(m)): Extension<PathModule>,
    budget: Option<Extension<crate::limits::Budget>>,
    body: Bytes,
) -> HttpResult<Response> {
    let body = json_body(&body)?;
    let data = data_array(&body, MAX_RECORDS)?;
    crate::limits::large_write(&budget, data.len())?;
    let allowed: Vec<usize> = m
        .fields
        .iter()
        .enumerate()
        .filter(|(_, f)| {
            f.unique || m.duplicate_check_field.as_deref() == Some(f.api_name.as_str())
        })
        .map(|(i, _)| i)
        .collect();
    let check_on: Vec<usize> = match body.get("duplicate_check_fields") {
        None | Some(Value::Null) => {
            // The system field first, then the unique ones.
            let mut order = allowed.clone();
            order.sort_by_key(|&i| {
                m.duplicate_check_field.as_deref() != Some(m.fields[i].api_name.as_str())
            });
            order
        }
        Some(Value::Array(names)) => {
            let mut out = Vec::new();
            for (k, n) in names.iter().enumerate() {
                let idx = n
                    .as_str()
                    .and_then(|n| {
                        m.fields
                            .iter()
                            .position(|f| f.api_name.eq_ignore_ascii_case(n))
                    })
                    .filter(|i| allowed.contains(i))
                    .ok_or_else(|| {
                        ApiError::new(Code::InvalidData)
                            .detail("api_name", "duplicate_check_fields")
                            .detail("json_path", format!("$.duplicate_check_fields[{k}]"))
                    })?;
                out.push(idx);
            }
            // Unique fields not named still count, after the named ones.
            out.extend(
                allowed
                    .iter()
                    .filter(|i| m.fields[**i].unique && !out.contains(i))
                    .copied()
                    .collect::<Vec<_>>(),
            );
            out
        }
        Some(_) => {
            return Err(ApiError::new(Code::InvalidData)
                .detail("api_name", "duplicate_check_fields")
                .detail("json_path", "$.duplicate_check_fields")
                .detail("expected_data_type", "jsonarray")
                .into())
        }
    };
    let now = caller.app.now();
    let rows = data
        .iter()
        .enumerate()
        .map(|(i, r)| {
            check_record(&m, r, i, Mode::Upsert, None, &caller.app.ids, now).map(|mut row| {
                row.upsert_on = check_on.clone();
                row
            })
        })
        .collect();
    write(&caller, &m, rows, "record added", 200).await
}

/// `POST /crm/v8/{module}/{id}/actions/clone`: a new record with the same
/// values (system fields and conversion state aside); fields in an optional
/// `{"data":[{…}]}` body override the copy.
pub async fn clone_record(
    Extension(caller): Extension<Caller>,
    Extension(PathModule(m)): Extension<PathModule>,
    Path((_, id)): Path<(String, String)>,
    body: Bytes,
) -> HttpResult<Response> {
    let id = parse_path_id(&id)?;
    let all: Vec<usize> = (0..m.fields.len()).collect();
    let Some(row) = caller.org.store.get(&m, id, &all).await? else {
        return Err(ApiError::invalid_id_at(2).into());
    };
    let now = caller.app.now();
    let overrides = if body.iter().all(|b| b.is_ascii_whitespace()) {
        None
    } else {
        let body = json_body(&body)?;
        Some(data_array(&body, 1)?.remove(0))
    };
    let mut values: Vec<(usize, zcrm_core::value::Checked)> = m
        .fields
        .iter()
        .zip(&row.cells)
        .enumerate()
        .filter(|(_, (f, c))| {
            !f.system
                && !c.value.is_null()
                && !matches!(f.api_name.as_str(), "Converted__s" | "Converted_Date_Time")
                && f.data_type != DataType::Autonumber
        })
        .map(|(i, (_, c))| {
            (
                i,
                zcrm_core::value::Checked {
                    value: c.value.clone(),
                    lookup_module: c.module.clone(),
                },
            )
        })
        .collect();
    if let Some(o) = overrides {
        let checked = check_record(&m, &o, 0, Mode::Update, None, &caller.app.ids, now)?;
        for (i, v) in checked.values {
            values.retain(|(j, _)| *j != i);
            values.push((i, v));
        }
    }
    let rows = vec![Ok(WriteRow {
        values,
        json_path: "$.data[0]".into(),
        id: None,
        upsert_on: Vec::new(),
    })];
    write(&caller, &m, rows, "record added", 201).await
}

pub async fn update_many(
    Extension(caller): Extension<Caller>,
    Extension(PathModule(m)): Extension<PathModule>,
    budget: Option<Extension<crate::limits::Budget>>,
    body: Bytes,
) -> HttpResult<Response> {
    let body = json_body(&body)?;
    let data = data_array(&body, MAX_RECORDS)?;
    crate::limits::large_write(&budget, data.len())?;
    let now = caller.app.now();
    let rows = data
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let id = match r.get("id") {
                None | Some(Value::Null) => {
                    return Err(ApiError::new(Code::MandatoryNotFound)
                        .detail("api_name", "id")
                        .detail("json_path", format!("$.data[{i}].id")))
                }
                Some(v) => zcrm_core::ids::parse_id(v).ok_or_else(|| {
                    ApiError::new(Code::InvalidData)
                        .detail("api_name", "id")
                        .detail("json_path", format!("$.data[{i}].id"))
                        .message("the id given seems to be invalid")
                })?,
            };
            check_record(&m, r, i, Mode::Update, Some(id), &caller.app.ids, now)
        })
        .collect();
    write(&caller, &m, rows, "record updated", 200).await
}

pub async fn update_one(
    Extension(caller): Extension<Caller>,
    Extension(PathModule(m)): Extension<PathModule>,
    Path((_, id)): Path<(String, String)>,
    body: Bytes,
) -> HttpResult<Response> {
    let id = parse_path_id(&id)?;
    let body = json_body(&body)?;
    let data = data_array(&body, 1)?;
    let now = caller.app.now();
    let rows = vec![check_record(
        &m,
        &data[0],
        0,
        Mode::Update,
        Some(id),
        &caller.app.ids,
        now,
    )];
    write(&caller, &m, rows, "record updated", 200).await
}

async fn delete(caller: &Caller, m: &Arc<Module>, ids: Vec<i64>) -> HttpResult<Response> {
    let done = caller
        .org
        .store
        .delete(m.clone(), ids.clone(), caller.user_id, caller.app.now())
        .await?;
    let ok = done.iter().filter(|d| **d).count();
    let data: Vec<Value> = ids
        .iter()
        .zip(&done)
        .map(|(id, d)| {
            if *d {
                Success::new("record deleted")
                    .detail("id", id.to_string())
                    .to_value()
            } else {
                ApiError::new(Code::InvalidData)
                    .detail("id", id.to_string())
                    .message("record not deleted")
                    .to_json()
            }
        })
        .collect();
    Ok(json_response(
        batch_status(ok, ids.len(), 200),
        &json!({"data": data}),
    ))
}

pub async fn delete_many(
    Extension(caller): Extension<Caller>,
    Extension(PathModule(m)): Extension<PathModule>,
    Query(q): Query<Params>,
) -> HttpResult<Response> {
    let raw = q.get("ids").ok_or_else(|| ApiError::param_missing("ids"))?;
    let ids = id_list(raw, "ids", MAX_RECORDS)?;
    delete(&caller, &m, ids).await
}

pub async fn delete_one(
    Extension(caller): Extension<Caller>,
    Extension(PathModule(m)): Extension<PathModule>,
    Path((_, id)): Path<(String, String)>,
) -> HttpResult<Response> {
    let id = parse_path_id(&id)?;
    delete(&caller, &m, vec![id]).await
}

pub async fn deleted(
    Extension(caller): Extension<Caller>,
    Extension(PathModule(m)): Extension<PathModule>,
    Query(q): Query<Params>,
) -> HttpResult<Response> {
    let kind = match q.get("type").map(String::as_str) {
        None | Some("all") => None,
        Some("recycle") => Some("recycle"),
        Some("permanent") => Some("permanent"),
        Some(_) => {
            return Err(ApiError::new(Code::PatternNotMatched)
                .detail("param_name", "type")
                .into())
        }
    };
    let per_page = int_param(&q, "per_page", 200, 200)?;
    let page = int_param(&q, "page", 1, 10_000)?;
    let (rows, more) = caller
        .org
        .store
        .deleted(&m, kind, (page - 1) * per_page, per_page)
        .await?;
    if rows.is_empty() {
        return Ok(no_content());
    }
    let tz = caller.org.tz;
    let data: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({
                "deleted_by": user_ref(&caller, r.deleted_by, false),
                "id": r.id.to_string(),
                "display_name": r.display_name,
                "type": r.kind,
                "created_by": r.created_by.map(|c| user_ref(&caller, c, false)),
                "deleted_time": format_datetime(r.deleted_time, tz),
            })
        })
        .collect();
    Ok(json_response(
        200,
        &json!({
            "data": data,
            "info": {"per_page": per_page, "count": rows.len(), "page": page, "more_records": more},
        }),
    ))
}
