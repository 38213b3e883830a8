//! Tags: `/crm/v8/settings/tags` (list, create, update, delete, merge, record
//! count) and `/crm/v8/{module}[/{id}]/actions/{add,remove}_tags`.

use super::params::module_param;
use super::params::{batch_status, Params};
use super::users_org::no_content;
use crate::auth::{Caller, PathModule};
use crate::error::{json_response, HttpResult};
use crate::service;
use crate::wire::fields::Id;
use crate::wire::{Body, Success};
use axum::extract::{Path, Query};
use axum::response::Response;
use axum::Extension;
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;
use zcrm_core::ids::parse_id_str;
use zcrm_core::meta::Module;
use zcrm_core::value::format_datetime;
use zcrm_core::{ApiError, Code};
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

/// A tags body: `tags` items (settings calls, add/remove), and add/remove's
/// `ids` and `over_write`.
#[derive(Deserialize)]
pub struct TagsBody {
    #[serde(default)]
    tags: Option<Vec<TagItem>>,
    #[serde(default)]
    ids: Option<Vec<Id>>,
    #[serde(default)]
    over_write: Option<bool>,
}

#[derive(Deserialize)]
struct TagItem {
    #[serde(default)]
    id: Option<Id>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    color_code: Option<String>,
    #[serde(default)]
    conflict_id: Option<Id>,
}

impl TagsBody {
    /// The `tags` items, 1..=max.
    fn tags(self, max: usize) -> Result<Vec<TagItem>, ApiError> {
        let tags = self.tags.ok_or_else(|| {
            ApiError::new(Code::MandatoryNotFound)
                .detail("api_name", "tags")
                .detail("json_path", "$.tags")
        })?;
        if tags.is_empty() || tags.len() > max {
            return Err(ApiError::new(Code::LimitExceeded)
                .detail("limit", max)
                .detail("api_name", "tags")
                .detail("json_path", "$.tags"));
        }
        Ok(tags)
    }
}

fn status_of<T, E>(items: &[Result<T, E>], all_ok: u16) -> u16 {
    batch_status(
        items.iter().filter(|r| r.is_ok()).count(),
        items.len(),
        all_ok,
    )
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
    Body(body): Body<TagsBody>,
) -> HttpResult<Response> {
    let m = module_param(&caller, &q)?;
    let specs: Vec<(String, Option<String>)> = body
        .tags(50)?
        .into_iter()
        .map(|t| {
            (
                t.name.unwrap_or_default(),
                t.color_code.or_else(|| q.get("color_code").cloned()),
            )
        })
        .collect();
    let out = service::tags::create(&caller, m.api_name.clone(), specs).await?;
    let items: Vec<Value> = out
        .iter()
        .map(|r| match r {
            Ok(t) => success(&caller, t, "tags created successfully"),
            Err(e) => e.to_json(),
        })
        .collect();
    Ok(json_response(status_of(&out, 201), &json!({"tags": items})))
}

async fn update(
    caller: &Caller,
    m: Arc<Module>,
    changes: Vec<(Option<i64>, Option<String>, Option<String>)>,
) -> HttpResult<Response> {
    let out = service::tags::update(caller, m, changes).await?;
    let items: Vec<Value> = out
        .iter()
        .map(|r| match r {
            Ok(t) => success(caller, t, "tags updated successfully"),
            Err(e) => e.to_json(),
        })
        .collect();
    Ok(json_response(status_of(&out, 200), &json!({"tags": items})))
}

pub async fn update_many(
    Extension(caller): Extension<Caller>,
    Query(q): Query<Params>,
    Body(body): Body<TagsBody>,
) -> HttpResult<Response> {
    let m = module_param(&caller, &q)?;
    let changes = body
        .tags(50)?
        .into_iter()
        .map(|t| (t.id.map(|i| i.0), t.name, t.color_code))
        .collect();
    update(&caller, m, changes).await
}

pub async fn update_one(
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    Query(q): Query<Params>,
    Body(body): Body<TagsBody>,
) -> HttpResult<Response> {
    let m = module_param(&caller, &q)?;
    let id = parse_id_str(&id)
        .ok_or_else(|| ApiError::new(Code::InvalidData).detail("resource_path_index", 3))?;
    let t = body.tags(1)?.remove(0);
    update(&caller, m, vec![(Some(id), t.name, t.color_code)]).await
}

pub async fn delete(
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> HttpResult<Response> {
    let id = parse_id_str(&id)
        .ok_or_else(|| ApiError::new(Code::InvalidData).detail("resource_path_index", 3))?;
    let done = service::tags::delete_or_merge(&caller, id, None).await?;
    let item = Success::new("tags deleted successfully").detail("id", done.id.to_string());
    Ok(json_response(200, &json!({"tags": [item]})))
}

pub async fn merge(
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    Body(body): Body<TagsBody>,
) -> HttpResult<Response> {
    let id = parse_id_str(&id)
        .ok_or_else(|| ApiError::new(Code::InvalidData).detail("resource_path_index", 3))?;
    let t = body.tags(1)?.remove(0);
    let into = t.conflict_id.map(|i| i.0).ok_or_else(|| {
        ApiError::new(Code::MandatoryNotFound)
            .detail("api_name", "conflict_id")
            .detail("json_path", "$.tags[0].conflict_id")
    })?;
    let target = service::tags::delete_or_merge(&caller, id, Some(into)).await?;
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
fn tag_refs(tags: Vec<TagItem>) -> Result<Vec<TagRef>, ApiError> {
    tags.into_iter()
        .enumerate()
        .map(|(i, t)| match (t.id, t.name) {
            (Some(id), _) => Ok(TagRef::Id(id.0)),
            (None, Some(n)) => Ok(TagRef::Name(n)),
            _ => Err(ApiError::new(Code::MandatoryNotFound)
                .detail("api_name", "name")
                .detail("json_path", format!("$.tags[{i}].name"))),
        })
        .collect()
}

async fn tag_records(
    caller: &Caller,
    m: Arc<Module>,
    records: Vec<i64>,
    body: TagsBody,
    q: &Params,
    add: bool,
) -> HttpResult<Response> {
    let over_write = body.over_write.unwrap_or(false)
        || q.get("over_write")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let tags = tag_refs(body.tags(10)?)?;
    let now = caller.app.now();
    let fresh = tags.iter().map(|_| caller.app.ids.next(now)).collect();
    let out = service::tags::tag_records(
        caller,
        m,
        Tagging {
            records: records.clone(),
            tags,
            add,
            over_write,
            new_ids: fresh,
        },
    )
    .await?;
    let items: Vec<Value> = records
        .iter()
        .zip(&out)
        .map(|(id, r)| match r {
            Ok(tags) => Success::new("tags updated successfully")
                .detail("id", id.to_string())
                .detail("tags", tags.clone())
                .to_value(),
            Err(e) => e.to_json(),
        })
        .collect();
    Ok(json_response(status_of(&out, 200), &json!({"data": items})))
}

fn record_ids(body: &mut TagsBody, q: &Params) -> Result<Vec<i64>, ApiError> {
    let ids: Vec<i64> = match (body.ids.take(), q.get("ids")) {
        (Some(a), _) => a.into_iter().map(|i| i.0).collect(),
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
    Body(body): Body<TagsBody>,
) -> HttpResult<Response> {
    tag_records(&caller, m, vec![record_id(&id)?], body, &q, true).await
}

pub async fn remove_one(
    Extension(caller): Extension<Caller>,
    Extension(PathModule(m)): Extension<PathModule>,
    Path((_, id)): Path<(String, String)>,
    Query(q): Query<Params>,
    Body(body): Body<TagsBody>,
) -> HttpResult<Response> {
    tag_records(&caller, m, vec![record_id(&id)?], body, &q, false).await
}

pub async fn add_many(
    Extension(caller): Extension<Caller>,
    Extension(PathModule(m)): Extension<PathModule>,
    Query(q): Query<Params>,
    Body(mut body): Body<TagsBody>,
) -> HttpResult<Response> {
    let ids = record_ids(&mut body, &q)?;
    tag_records(&caller, m, ids, body, &q, true).await
}

pub async fn remove_many(
    Extension(caller): Extension<Caller>,
    Extension(PathModule(m)): Extension<PathModule>,
    Query(q): Query<Params>,
    Body(mut body): Body<TagsBody>,
) -> HttpResult<Response> {
    let ids = record_ids(&mut body, &q)?;
    tag_records(&caller, m, ids, body, &q, false).await
}
