//! `/crm/v8/settings/recycle_bin[/{id}]`: what was deleted, across modules,
//! and emptying it for good.

use super::params::{batch_status, id_list, int_param, Params};
use super::users_org::no_content;
use crate::auth::Caller;
use crate::error::{json_response, HttpResult};
use crate::wire::Success;
use axum::extract::{Path, Query};
use axum::response::Response;
use axum::Extension;
use serde_json::{json, Value};
use zcrm_core::ids::parse_id_str;
use zcrm_core::value::format_datetime;
use zcrm_core::{ApiError, Code};
use zcrm_store::records::BinEntry;

fn entry(caller: &Caller, e: &BinEntry) -> Value {
    let user = |id: i64| json!({"name": caller.org.with_user(id, |u| u.full_name()), "id": id.to_string()});
    let module = caller
        .org
        .store
        .catalog()
        .module(&e.module)
        .map(|m| json!({"api_name": m.api_name, "id": m.id}));
    json!({
        "display_name": e.display_name,
        "deleted_time": format_datetime(e.deleted_time, caller.org.tz),
        "owner": e.owner.map(user),
        "module": module,
        "deleted_by": user(e.deleted_by),
        "id": e.id.to_string(),
    })
}

pub async fn list(
    Extension(caller): Extension<Caller>,
    Query(q): Query<Params>,
) -> HttpResult<Response> {
    let per_page = int_param(&q, "per_page", 200, 200)?;
    let page = int_param(&q, "page", 1, 10_000)?;
    let ids = q
        .get("ids")
        .map(|raw| id_list(raw, "ids", 100))
        .transpose()?;
    let (rows, more) = caller
        .org
        .store
        .recycle_bin(ids, (page - 1) * per_page, per_page)
        .await?;
    if rows.is_empty() {
        return Ok(no_content());
    }
    let items: Vec<Value> = rows.iter().map(|e| entry(&caller, e)).collect();
    Ok(json_response(
        200,
        &json!({"recycle_bin": items, "info": {"per_page": per_page, "count": rows.len(), "page": page, "more_records": more}}),
    ))
}

fn id_of(raw: &str) -> Result<i64, ApiError> {
    parse_id_str(raw).ok_or_else(|| ApiError::invalid_id_at(3))
}

pub async fn get_one(
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> HttpResult<Response> {
    let id = id_of(&id)?;
    let (rows, _) = caller.org.store.recycle_bin(Some(vec![id]), 0, 1).await?;
    match rows.first() {
        Some(e) => Ok(json_response(
            200,
            &json!({"recycle_bin": [entry(&caller, e)]}),
        )),
        None => Ok(no_content()),
    }
}

async fn purge(caller: &Caller, ids: Vec<i64>) -> HttpResult<Response> {
    let done = caller.org.store.purge(ids.clone()).await?;
    let ok = done.iter().filter(|d| **d).count();
    let data: Vec<Value> = ids
        .iter()
        .zip(&done)
        .map(|(id, d)| {
            if *d {
                Success::new("record deleted permanently")
                    .detail("id", id.to_string())
                    .to_value()
            } else {
                ApiError::new(Code::InvalidData)
                    .detail("id", id.to_string())
                    .message("the id given seems to be invalid")
                    .to_json()
            }
        })
        .collect();
    let status = batch_status(ok, ids.len(), 200);
    Ok(json_response(status, &json!({"data": data})))
}

pub async fn delete_many(
    Extension(caller): Extension<Caller>,
    Query(q): Query<Params>,
) -> HttpResult<Response> {
    let raw = q.get("ids").ok_or_else(|| ApiError::param_missing("ids"))?;
    let ids = id_list(raw, "ids", 100)?;
    purge(&caller, ids).await
}

pub async fn delete_one(
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> HttpResult<Response> {
    let id = id_of(&id)?;
    purge(&caller, vec![id]).await
}
