//! Tags: `/crm/v8/settings/tags` (list, create, update, delete, merge, record
//! count) and `/crm/v8/{module}[/{id}]/actions/{add,remove}_tags`.

use super::params::module_param;
use super::params::{batch_status, json_body, Params};
use super::users_org::no_content;
use crate::auth::{Caller, PathModule};
use crate::error::{json_response, HttpResult};
use crate::wire::Success;
use axum::body::Bytes;
use axum::extract::{Path, Query};
use axum::response::Response;
use axum::Extension;
use serde_json::{json, Map, Value};
use std::sync::Arc;
use zcrm_core::ids::{parse_id, parse_id_str};
use zcrm_core::meta::Module;
use zcrm_core::value::format_datetime;
use zcrm_core::{ApiError, Code};
use zcrm_store::records::WriteCtx;
use zcrm_store::tags::{TagRef, TagRow, Tagging};

fn user(caller: &Caller, id: i64) -> Value {
    let name = caller.org.with_user(id, |u| u.full_name());
    json!({"name": name, "id": id.to_string()})
}

fn tag_json(caller: &Caller, t: &TagRow) -> Value {
    json!({
        "name": t.name,
        "id": t.id.to_string(),
        "color_code": t.color_code,
        "created_time": format_datetime(t.created_time, caller.org.tz),
        "modified_time": format_datetime(t.modified_time, caller.org.tz),
        "created_by": user(caller, t.created_by),
        "modified_by": user(caller, t.modified_by),
    })
}

fn success(caller: &Caller, t: &TagRow, message: &str) -> Value {
    Success::new(message)
        .detail("id", t.id.to_string())
        .detail(
            "created_time",
            format_datetime(t.created_time, caller.org.tz),
        )
        .detail(
            "modified_time",
            format_datetime(t.modified_time, caller.org.tz),
        )
        .detail("created_by", user(caller, t.created_by))
        .detail("modified_by", user(caller, t.modified_by))
        .detail("color_code", t.color_code.clone())
        .to_value()
}

fn ctx(caller: &Caller) -> WriteCtx {
    WriteCtx {
        now: caller.app.now(),
        user: caller.user_id,
        users: caller.org.user_ids(),
    }
}

/// The `tags` array of a body, 1..=max objects.
fn tags_array(body: &Map<String, Value>, max: usize) -> Result<Vec<Map<String, Value>>, ApiError> {
    let arr = body.get("tags").and_then(|t| t.as_array()).ok_or_else(|| {
        ApiError::new(Code::MandatoryNotFound)
            .detail("api_name", "tags")
            .detail("json_path", "$.tags")
    })?;
    if arr.is_empty() || arr.len() > max {
        return Err(ApiError::new(Code::LimitExceeded)
            .detail("limit", max)
            .detail("api_name", "tags")
            .detail("json_path", "$.tags"));
    }
    arr.iter()
        .enumerate()
        .map(|(i, t)| {
            t.as_object().cloned().ok_or_else(|| {
                ApiError::new(Code::InvalidData)
                    .detail("api_name", "tags")
                    .detail("json_path", format!("$.tags[{i}]"))
            })
        })
        .collect()
}

fn status_of<T, E>(items: &[Result<T, E>], all_ok: u16) -> u16 {
    batch_status(
        items.iter().filter(|r| r.is_ok()).count(),
        items.len(),
        all_ok,
    )
}

fn opt_str(o: &Map<String, Value>, k: &str) -> Option<String> {
    o.get(k).and_then(|v| v.as_str()).map(String::from)
}

pub async fn list(
    Extension(caller): Extension<Caller>,
    Query(q): Query<Params>,
) -> HttpResult<Response> {
    let m = module_param(&caller, &q)?;
    let tags = caller.org.store.list_tags(&m.api_name).await?;
    if tags.is_empty() {
        return Ok(no_content());
    }
    let items: Vec<Value> = tags.iter().map(|t| tag_json(&caller, t)).collect();
    Ok(json_response(
        200,
        &json!({"tags": items, "info": {"count": tags.len(), "allowed_count": 1000}}),
    ))
}

pub async fn create(
    Extension(caller): Extension<Caller>,
    Query(q): Query<Params>,
    body: Bytes,
) -> HttpResult<Response> {
    let m = module_param(&caller, &q)?;
    let body = json_body(&body)?;
    let tags = tags_array(&body, 50)?;
    let specs: Vec<(String, Option<String>)> = tags
        .iter()
        .map(|t| {
            (
                opt_str(t, "name").unwrap_or_default(),
                opt_str(t, "color_code").or_else(|| q.get("color_code").cloned()),
            )
        })
        .collect();
    let now = caller.app.now();
    let ids = specs.iter().map(|_| caller.app.ids.next(now)).collect();
    let out = caller
        .org
        .store
        .create_tags(m.api_name.clone(), specs, ids, ctx(&caller))
        .await?;
    let items: Vec<Value> = out
        .iter()
        .map(|r| match r {
            Ok(t) => success(&caller, t, "tags created successfully"),
            Err(e) => crate::error::refusal(e.clone()).to_json(),
        })
        .collect();
    Ok(json_response(status_of(&out, 201), &json!({"tags": items})))
}

async fn update(
    caller: &Caller,
    m: Arc<Module>,
    changes: Vec<(Option<i64>, Option<String>, Option<String>)>,
) -> HttpResult<Response> {
    let out = caller
        .org
        .store
        .update_tags(m, changes, ctx(caller))
        .await?;
    let items: Vec<Value> = out
        .iter()
        .map(|r| match r {
            Ok(t) => success(caller, t, "tags updated successfully"),
            Err(e) => crate::error::refusal(e.clone()).to_json(),
        })
        .collect();
    Ok(json_response(status_of(&out, 200), &json!({"tags": items})))
}

pub async fn update_many(
    Extension(caller): Extension<Caller>,
    Query(q): Query<Params>,
    body: Bytes,
) -> HttpResult<Response> {
    let m = module_param(&caller, &q)?;
    let body = json_body(&body)?;
    let changes = tags_array(&body, 50)?
        .iter()
        .map(|t| {
            (
                t.get("id").and_then(parse_id),
                opt_str(t, "name"),
                opt_str(t, "color_code"),
            )
        })
        .collect();
    update(&caller, m, changes).await
}

pub async fn update_one(
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    Query(q): Query<Params>,
    body: Bytes,
) -> HttpResult<Response> {
    let m = module_param(&caller, &q)?;
    let id = parse_id_str(&id)
        .ok_or_else(|| ApiError::new(Code::InvalidData).detail("resource_path_index", 3))?;
    let body = json_body(&body)?;
    let t = tags_array(&body, 1)?.remove(0);
    update(
        &caller,
        m,
        vec![(Some(id), opt_str(&t, "name"), opt_str(&t, "color_code"))],
    )
    .await
}

pub async fn delete(
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> HttpResult<Response> {
    let id = parse_id_str(&id)
        .ok_or_else(|| ApiError::new(Code::InvalidData).detail("resource_path_index", 3))?;
    let catalog = caller.org.store.catalog().clone();
    let done = caller
        .org
        .store
        .delete_or_merge_tag(move |n| catalog.module(n).cloned(), id, None, ctx(&caller))
        .await??;
    let item = Success::new("tags deleted successfully").detail("id", done.id.to_string());
    Ok(json_response(200, &json!({"tags": [item]})))
}

pub async fn merge(
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: Bytes,
) -> HttpResult<Response> {
    let id = parse_id_str(&id)
        .ok_or_else(|| ApiError::new(Code::InvalidData).detail("resource_path_index", 3))?;
    let body = json_body(&body)?;
    let t = tags_array(&body, 1)?.remove(0);
    let into = t.get("conflict_id").and_then(parse_id).ok_or_else(|| {
        ApiError::new(Code::MandatoryNotFound)
            .detail("api_name", "conflict_id")
            .detail("json_path", "$.tags[0].conflict_id")
    })?;
    let catalog = caller.org.store.catalog().clone();
    let target = caller
        .org
        .store
        .delete_or_merge_tag(
            move |n| catalog.module(n).cloned(),
            id,
            Some(into),
            ctx(&caller),
        )
        .await??;
    Ok(json_response(
        200,
        &json!({"tags": [success(&caller, &target, "tags merged successfully")]}),
    ))
}

pub async fn records_count(
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    Query(q): Query<Params>,
) -> HttpResult<Response> {
    let m = module_param(&caller, &q)?;
    let id = parse_id_str(&id)
        .ok_or_else(|| ApiError::new(Code::InvalidData).detail("resource_path_index", 3))?;
    match caller.org.store.tag_records_count(m, id).await? {
        Some(n) => Ok(json_response(200, &json!({"count": n.to_string()}))),
        None => Err(ApiError::invalid_id_at(3).into()),
    }
}

/// The tags named in an add/remove body: objects with `name` or `id`.
fn tag_refs(body: &Map<String, Value>) -> Result<Vec<TagRef>, ApiError> {
    tags_array(body, 10)?
        .iter()
        .enumerate()
        .map(
            |(i, t)| match (t.get("id").and_then(parse_id), opt_str(t, "name")) {
                (Some(id), _) => Ok(TagRef::Id(id)),
                (None, Some(n)) => Ok(TagRef::Name(n)),
                _ => Err(ApiError::new(Code::MandatoryNotFound)
                    .detail("api_name", "name")
                    .detail("json_path", format!("$.tags[{i}].name"))),
            },
        )
        .collect()
}

async fn tag_records(
    caller: &Caller,
    m: Arc<Module>,
    records: Vec<i64>,
    body: &Map<String, Value>,
    q: &Params,
    add: bool,
) -> HttpResult<Response> {
    let tags = tag_refs(body)?;
    let over_write = body
        .get("over_write")
        .and_then(|v| v.as_bool())
        .unwrap_or(false)
        || q.get("over_write")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let now = caller.app.now();
    let fresh = tags.iter().map(|_| caller.app.ids.next(now)).collect();
    let out = caller
        .org
        .store
        .tag_records(
            m,
            Tagging {
                records: records.clone(),
                tags,
                add,
                over_write,
                new_ids: fresh,
            },
            ctx(caller),
        )
        .await??;
    let items: Vec<Value> = records
        .iter()
        .zip(&out)
        .map(|(id, r)| match r {
            Ok(tags) => Success::new("tags updated successfully")
                .detail("id", id.to_string())
                .detail("tags", tags.clone())
                .to_value(),
            Err(e) => crate::error::refusal(e.clone()).to_json(),
        })
        .collect();
    Ok(json_response(status_of(&out, 200), &json!({"data": items})))
}

fn record_ids(body: &Map<String, Value>, q: &Params) -> Result<Vec<i64>, ApiError> {
    let ids: Vec<i64> = match (body.get("ids"), q.get("ids")) {
        (Some(Value::Array(a)), _) => a.iter().filter_map(parse_id).collect(),
        (_, Some(raw)) => raw.split(',').filter_map(parse_id_str).collect(),
        _ => Vec::new(),
    };
    if ids.is_empty() {
        return Err(ApiError::new(Code::MandatoryNotFound)
            .detail("api_name", "ids")
            .detail("json_path", "$.ids"));
    }
    if ids.len() > 500 {
        return Err(ApiError::new(Code::LimitExceeded)
            .detail("limit", 500)
            .detail("api_name", "ids"));
    }
    Ok(ids)
}

fn record_id(raw: &str) -> Result<i64, ApiError> {
    parse_id_str(raw).ok_or_else(|| ApiError::invalid_id_at(2))
}

pub async fn add_one(
    Extension(caller): Extension<Caller>,
    Extension(PathModule(m)): Extension<PathModule>,
    Path((_, id)): Path<(String, String)>,
    Query(q): Query<Params>,
    body: Bytes,
) -> HttpResult<Response> {
    let body = json_body(&body)?;
    tag_records(&caller, m, vec![record_id(&id)?], &body, &q, true).await
}

pub async fn remove_one(
    Extension(caller): Extension<Caller>,
    Extension(PathModule(m)): Extension<PathModule>,
    Path((_, id)): Path<(String, String)>,
    Query(q): Query<Params>,
    body: Bytes,
) -> HttpResult<Response> {
    let body = json_body(&body)?;
    tag_records(&caller, m, vec![record_id(&id)?], &body, &q, false).await
}

pub async fn add_many(
    Extension(caller): Extension<Caller>,
    Extension(PathModule(m)): Extension<PathModule>,
    Query(q): Query<Params>,
    body: Bytes,
) -> HttpResult<Response> {
    let body = json_body(&body)?;
    let ids = record_ids(&body, &q)?;
    tag_records(&caller, m, ids, &body, &q, true).await
}

pub async fn remove_many(
    Extension(caller): Extension<Caller>,
    Extension(PathModule(m)): Extension<PathModule>,
    Query(q): Query<Params>,
    body: Bytes,
) -> HttpResult<Response> {
    let body = json_body(&body)?;
    let ids = record_ids(&body, &q)?;
    tag_records(&caller, m, ids, &body, &q, false).await
}
