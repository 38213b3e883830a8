//! Related lists of a record: `GET/PUT/DELETE /crm/v8/{module}/{id}/{related_list}`
//! and `PUT/DELETE …/{related_list}/{related_id}`. A related list here is a
//! lookup on the child module pointing at the parent (Contacts of an Account
//! through `Account_Name`, Notes through `Parent_Id`, Tasks through `What_Id` …),
//! as `GET /settings/related_lists` describes.

use super::params::{batch_status, data_array, id_list, json_body, Params};
use super::records::list_page;
use crate::auth::{Caller, PathModule};
use crate::error::{json_response, HttpResult};
use crate::service::records::{check_record, Mode};
use crate::wire::Success;
use axum::body::Bytes;
use axum::extract::{Path, Query};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Extension;
use serde_json::{json, Value};
use std::sync::Arc;
use zcrm_core::ids::{parse_id, parse_id_str};
use zcrm_core::meta::Module;
use zcrm_core::{ApiError, Code};
use zcrm_store::links::Link;
use zcrm_store::records::{Related, WriteCtx};

/// What stands behind a related list: the child module and either its lookup
/// field pointing at the parent, or (many-to-many) the link joining them.
struct Rel {
    child: Arc<Module>,
    field: usize,
    link: Option<Link>,
}

/// The related list `name` of `parent`.
fn resolve(caller: &Caller, parent: &Module, name: &str) -> Result<Rel, ApiError> {
    let invalid = || {
        ApiError::new(Code::InvalidData)
            .detail("resource_path_index", 3)
            .message("The relation name given seems to be invalid")
    };
    let rl = parent
        .related_lists
        .iter()
        .find(|rl| rl.api_name.eq_ignore_ascii_case(name))
        .ok_or_else(invalid)?;
    let child = caller
        .org
        .store
        .catalog()
        .module(&rl.module)
        .cloned()
        .ok_or_else(invalid)?;
    if let Some(link) = rl
        .via
        .as_deref()
        .and_then(|v| Link::of(v, &parent.api_name))
    {
        return Ok(Rel {
            child,
            field: 0,
            link: Some(link),
        });
    }
    let field = rl
        .field
        .as_deref()
        .and_then(|f| child.fields.iter().position(|x| x.api_name == f))
        .ok_or_else(|| ApiError::new(Code::NotSupported).detail("resource_path_index", 3))?;
    Ok(Rel {
        child,
        field,
        link: None,
    })
}

fn parent_id(raw: &str) -> Result<i64, ApiError> {
    parse_id_str(raw).ok_or_else(|| ApiError::invalid_id_at(2))
}

/// The parent must exist: Zoho answers for a missing one as for a bad id.
async fn existing_parent(caller: &Caller, m: &Arc<Module>, id: i64) -> Result<(), ApiError> {
    match caller
        .org
        .store
        .get(m, id, &[])
        .await
        .map_err(crate::error::store)?
    {
        Some(_) => Ok(()),
        None => Err(ApiError::invalid_id_at(2)),
    }
}

pub async fn list(
    Extension(caller): Extension<Caller>,
    Extension(PathModule(m)): Extension<PathModule>,
    Path((_, id, name)): Path<(String, String, String)>,
    Query(q): Query<Params>,
    headers: HeaderMap,
) -> HttpResult<Response> {
    let rel = resolve(&caller, &m, &name)?;
    let id = parent_id(&id)?;
    existing_parent(&caller, &m, id).await?;
    let related = Related {
        field: rel.field,
        parent_id: id,
        parent_module: m.api_name.clone(),
        link: rel.link,
    };
    list_page(&caller, &rel.child, &q, &headers, Some(related)).await
}

async fn relate(
    caller: &Caller,
    m: &Arc<Module>,
    name: &str,
    id: &str,
    ids: Vec<i64>,
    link: bool,
) -> HttpResult<Response> {
    let Rel {
        child,
        field,
        link: via,
    } = resolve(caller, m, name)?;
    let id = parent_id(id)?;
    existing_parent(caller, m, id).await?;
    let ctx = WriteCtx {
        now: caller.app.now(),
        user: caller.user_id,
        users: caller.org.user_ids(),
    };
    if let Some(via) = via {
        let done = caller
            .org
            .store
            .link_records(via, child, id, ids.clone(), link, ctx)
            .await?;
        return Ok(relate_response(&ids, &done, link));
    }
    if !link && child.fields[field].system_mandatory {
        // A note or similar cannot exist without its parent: delete it instead.
        return Err(ApiError::new(Code::NotAllowed)
            .detail("api_name", child.fields[field].api_name.as_str())
            .message("the relation is mandatory for the related record")
            .into());
    }
    let done = caller
        .org
        .store
        .relate(
            child,
            field,
            (id, m.api_name.clone()),
            ids.clone(),
            link,
            ctx,
        )
        .await?;
    Ok(relate_response(&ids, &done, link))
}

/// Per id: linked/unlinked, or Zoho's invalid-id item.
fn relate_response(ids: &[i64], done: &[bool], link: bool) -> Response {
    let ok = done.iter().filter(|d| **d).count();
    let data: Vec<Value> = ids
        .iter()
        .zip(done)
        .map(|(rid, d)| {
            if *d {
                Success::new(if link {
                    "relation added"
                } else {
                    "relation removed"
                })
                .detail("id", rid.to_string())
                .to_value()
            } else {
                ApiError::new(Code::InvalidData)
                    .detail("id", rid.to_string())
                    .message("the related id given seems to be invalid")
                    .to_json()
            }
        })
        .collect();
    let status = batch_status(ok, ids.len(), 200);
    json_response(status, &json!({"data": data}))
}

pub async fn link_many(
    Extension(caller): Extension<Caller>,
    Extension(PathModule(m)): Extension<PathModule>,
    Path((_, id, name)): Path<(String, String, String)>,
    body: Bytes,
) -> HttpResult<Response> {
    let body = json_body(&body)?;
    let data = data_array(&body, 100)?;
    let ids = data
        .iter()
        .enumerate()
        .map(|(i, d)| {
            d.get("id").and_then(parse_id).ok_or_else(|| {
                ApiError::new(Code::MandatoryNotFound)
                    .detail("api_name", "id")
                    .detail("json_path", format!("$.data[{i}].id"))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    relate(&caller, &m, &name, &id, ids, true).await
}

pub async fn link_one(
    Extension(caller): Extension<Caller>,
    Extension(PathModule(m)): Extension<PathModule>,
    Path((_, id, name, rid)): Path<(String, String, String, String)>,
) -> HttpResult<Response> {
    let rid = parse_id_str(&rid)
        .ok_or_else(|| ApiError::new(Code::InvalidData).detail("resource_path_index", 4))?;
    relate(&caller, &m, &name, &id, vec![rid], true).await
}

pub async fn unlink_many(
    Extension(caller): Extension<Caller>,
    Extension(PathModule(m)): Extension<PathModule>,
    Path((_, id, name)): Path<(String, String, String)>,
    Query(q): Query<Params>,
) -> HttpResult<Response> {
    let raw = q.get("ids").ok_or_else(|| ApiError::param_missing("ids"))?;
    let ids = id_list(raw, "ids", 100)?;
    relate(&caller, &m, &name, &id, ids, false).await
}

pub async fn unlink_one(
    Extension(caller): Extension<Caller>,
    Extension(PathModule(m)): Extension<PathModule>,
    Path((_, id, name, rid)): Path<(String, String, String, String)>,
) -> HttpResult<Response> {
    let rid = parse_id_str(&rid)
        .ok_or_else(|| ApiError::new(Code::InvalidData).detail("resource_path_index", 4))?;
    relate(&caller, &m, &name, &id, vec![rid], false).await
}

/// `POST /crm/v8/{module}/{id}/Notes`: notes created under the record, their
/// `Parent_Id` implied by the path. Other related lists are not created here.
pub async fn create_child(
    Extension(caller): Extension<Caller>,
    Extension(PathModule(m)): Extension<PathModule>,
    Path((_, id, name)): Path<(String, String, String)>,
    body: Bytes,
) -> HttpResult<Response> {
    if !name.eq_ignore_ascii_case("Notes") {
        return Err(ApiError::new(Code::InvalidRequestMethod)
            .detail("resource_path_index", 3)
            .into());
    }
    let notes = resolve(&caller, &m, &name)?.child;
    let id = parent_id(&id)?;
    existing_parent(&caller, &m, id).await?;
    let body = json_body(&body)?;
    let data = data_array(&body, 100)?;
    let now = caller.app.now();
    let rows = data
        .into_iter()
        .enumerate()
        .map(|(i, mut note)| {
            if let Some(o) = note.as_object_mut() {
                o.insert(
                    "Parent_Id".into(),
                    json!({"id": id.to_string(), "module": {"api_name": m.api_name}}),
                );
            }
            check_record(&notes, &note, i, Mode::Create, None, &caller.app.ids, now)
        })
        .collect();
    super::records::write(&caller, &notes, rows, "record added", 201).await
}
