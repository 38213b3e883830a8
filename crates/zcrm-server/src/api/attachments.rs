//! `/crm/v8/{module}/{id}/Attachments[/{attachment_id}]`: upload (multipart),
//! list, download and delete a record's attachments.

use super::params::{batch_status, id_list, int_param, Params};
use super::users_org::no_content;
use crate::auth::{Caller, PathModule};
use crate::error::{json_response, HttpResult};
use crate::service;
use crate::wire::Success;
use axum::extract::{Multipart, Path, Query};
use axum::response::Response;
use axum::Extension;
use serde_json::{json, Map, Value};
use zcrm_core::ids::parse_id_str;
use zcrm_core::value::format_datetime;
use zcrm_core::{ApiError, Code};
use zcrm_store::attachments::AttachmentRow;

/// Zoho's limit for one attachment.
pub const MAX_ATTACHMENT: usize = 20 * 1024 * 1024;

fn id_of(raw: &str, index: u32) -> Result<i64, ApiError> {
    parse_id_str(raw).ok_or_else(|| ApiError::invalid_id_at(index))
}

fn user(caller: &Caller, id: i64) -> Value {
    let name = caller.org.with_user(id, |u| u.full_name());
    json!({"name": name, "id": id.to_string()})
}

use service::attachments::link_url;

fn attachment_json(caller: &Caller, a: &AttachmentRow, fields: Option<&[String]>) -> Value {
    let tz = caller.org.tz;
    let link = link_url(a);
    let all = json!({
        "Owner": user(caller, a.owner),
        "Modified_By": user(caller, a.modified_by),
        "Created_By": user(caller, a.created_by),
        "Parent_Id": {"name": null, "id": a.parent_id.to_string()},
        "$sharing_permission": "full_access",
        "$attachment_type": 1,
        "id": a.id.to_string(),
        "Modified_Time": format_datetime(a.modified_time, tz),
        "Created_Time": format_datetime(a.created_time, tz),
        "File_Name": a.file_name,
        "Size": a.size.to_string(),
        "$editable": true,
        "$file_id": link.map_or_else(|| json!(a.file_key.rsplit('/').next().unwrap_or("")), |_| Value::Null),
        "$type": if link.is_some() { "Link URL" } else { "Attachment" },
        "$se_module": a.parent_module,
        "$state": "save",
        "$link_url": link,
    });
    match fields {
        None => all,
        Some(names) => {
            let mut out = Map::new();
            if let Value::Object(m) = all {
                for (k, v) in m {
                    if k == "id"
                        || k.starts_with('$')
                        || names.iter().any(|n| n.eq_ignore_ascii_case(&k))
                    {
                        out.insert(k, v);
                    }
                }
            }
            Value::Object(out)
        }
    }
}

pub async fn upload(
    Extension(caller): Extension<Caller>,
    Extension(PathModule(m)): Extension<PathModule>,
    Path((_, id)): Path<(String, String)>,
    Query(q): Query<Params>,
    multipart: Option<Multipart>,
) -> HttpResult<Response> {
    let parent_id = id_of(&id, 2)?;
    // The SDKs send a link attachment as query parameters and no body.
    let Some(mut multipart) = multipart else {
        return match q.get("attachmentUrl") {
            Some(url) => {
                attach_link(&caller, m, parent_id, url.clone(), q.get("title").cloned()).await
            }
            None => Err(ApiError::param_missing("file").into()),
        };
    };
    let bad = |msg: &str| {
        ApiError::new(Code::InvalidData)
            .detail("param_name", "file")
            .message(msg.to_string())
    };
    let mut file: Option<(String, Option<String>, bytes::Bytes)> = None;
    let mut url: Option<String> = q.get("attachmentUrl").cloned();
    let mut title: Option<String> = q.get("title").cloned();
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|_| bad("the request is not valid multipart form data"))?
    {
        if matches!(field.name(), Some("attachmentUrl") | Some("title")) {
            let is_url = field.name() == Some("attachmentUrl");
            let text = field
                .text()
                .await
                .map_err(|_| bad("the request is not valid multipart form data"))?;
            if is_url {
                url = Some(text);
            } else {
                title = Some(text);
            }
            continue;
        }
        if field.name() == Some("file") {
            let name = field.file_name().unwrap_or("attachment").to_string();
            let ctype = field.content_type().map(String::from);
            let data = field.bytes().await.map_err(|_| {
                ApiError::new(Code::LimitExceeded)
                    .detail("limit", MAX_ATTACHMENT)
                    .detail("param_name", "file")
                    .message("file size exceeds the limit")
            })?;
            file = Some((name, ctype, data));
        }
    }
    if file.is_none() {
        if let Some(url) = url {
            return attach_link(&caller, m, parent_id, url, title).await;
        }
    }
    let (name, ctype, data) = file.ok_or_else(|| ApiError::param_missing("file"))?;
    if data.len() > MAX_ATTACHMENT {
        return Err(ApiError::new(Code::LimitExceeded)
            .detail("limit", MAX_ATTACHMENT)
            .detail("param_name", "file")
            .into());
    }
    let row = service::attachments::add_file(
        &caller,
        m,
        parent_id,
        service::attachments::Upload {
            name,
            content_type: ctype,
            data,
        },
    )
    .await?;
    Ok(uploaded(&caller, &row))
}

fn uploaded(caller: &Caller, row: &AttachmentRow) -> Response {
    let tz = caller.org.tz;
    json_response(
        200,
        &json!({"data": [Success::new("attachment uploaded successfully")
            .detail("Modified_Time", format_datetime(row.modified_time, tz))
            .detail("Modified_By", user(caller, row.modified_by))
            .detail("Created_Time", format_datetime(row.created_time, tz))
            .detail("id", row.id.to_string())
            .detail("Created_By", user(caller, row.created_by))
            .to_value()]}),
    )
}

/// A link attachment (`attachmentUrl`): see [`service::attachments::add_link`].
async fn attach_link(
    caller: &Caller,
    m: std::sync::Arc<zcrm_core::meta::Module>,
    parent_id: i64,
    url: String,
    title: Option<String>,
) -> HttpResult<Response> {
    let row = service::attachments::add_link(caller, m, parent_id, url, title).await?;
    Ok(uploaded(caller, &row))
}

pub async fn list(
    Extension(caller): Extension<Caller>,
    Extension(PathModule(m)): Extension<PathModule>,
    Path((_, id)): Path<(String, String)>,
    Query(q): Query<Params>,
) -> HttpResult<Response> {
    let parent_id = id_of(&id, 2)?;
    let fields: Vec<String> = q
        .get("fields")
        .map(|f| {
            f.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .filter(|v: &Vec<String>| !v.is_empty())
        .ok_or_else(|| ApiError::param_missing("fields"))?;
    let per_page = int_param(&q, "per_page", 200, 200)?;
    let page = int_param(&q, "page", 1, 10)?;
    let ids = q
        .get("ids")
        .map(|raw| id_list(raw, "ids", 100))
        .transpose()?;
    let (rows, more) = caller
        .org
        .store
        .list_attachments(m, parent_id, ids, (page - 1) * per_page, per_page)
        .await??;
    if rows.is_empty() {
        return Ok(no_content());
    }
    let data: Vec<Value> = rows
        .iter()
        .map(|a| attachment_json(&caller, a, Some(&fields)))
        .collect();
    Ok(json_response(
        200,
        &json!({"data": data, "info": {"per_page": per_page, "count": rows.len(), "page": page, "more_records": more,
                                        "next_page_token": null, "previous_page_token": null, "page_token_expiry": null}}),
    ))
}

pub async fn download(
    Extension(caller): Extension<Caller>,
    Extension(PathModule(m)): Extension<PathModule>,
    Path((_, id, att)): Path<(String, String, String)>,
) -> HttpResult<Response> {
    let parent_id = id_of(&id, 2)?;
    let att = id_of(&att, 4)?;
    let Some(row) = caller.org.store.attachment(&m, parent_id, att).await? else {
        return Ok(no_content());
    };
    if link_url(&row).is_some() {
        return Err(ApiError::new(Code::DownloadNotAllowed).into());
    }
    let Some(data) = caller.app.files.get(&row.file_key).await? else {
        return Err(ApiError::internal(format!("content of attachment {att} is missing")).into());
    };
    let ctype = row
        .content_type
        .unwrap_or_else(|| "application/octet-stream".into());
    Ok(crate::wire::download::attachment(
        data,
        &ctype,
        &row.file_name,
    ))
}

async fn delete(
    caller: &Caller,
    m: &zcrm_core::meta::Module,
    parent_id: i64,
    ids: Vec<i64>,
) -> HttpResult<Response> {
    let done = service::attachments::delete(caller, m, parent_id, ids.clone()).await?;
    let mut ok = 0;
    let mut data = Vec::new();
    for (id, row) in ids.iter().zip(done) {
        match row {
            Some(_) => {
                ok += 1;
                data.push(
                    Success::new("attachment deleted")
                        .detail("id", id.to_string())
                        .to_value(),
                );
            }
            None => data.push(
                ApiError::new(Code::InvalidData)
                    .detail("id", id.to_string())
                    .message("the id given seems to be invalid")
                    .to_json(),
            ),
        }
    }
    let status = batch_status(ok, ids.len(), 200);
    Ok(json_response(status, &json!({"data": data})))
}

pub async fn delete_one(
    Extension(caller): Extension<Caller>,
    Extension(PathModule(m)): Extension<PathModule>,
    Path((_, id, att)): Path<(String, String, String)>,
) -> HttpResult<Response> {
    let parent_id = id_of(&id, 2)?;
    let att = id_of(&att, 4)?;
    delete(&caller, &m, parent_id, vec![att]).await
}

pub async fn delete_many(
    Extension(caller): Extension<Caller>,
    Extension(PathModule(m)): Extension<PathModule>,
    Path((_, id)): Path<(String, String)>,
    Query(q): Query<Params>,
) -> HttpResult<Response> {
    let parent_id = id_of(&id, 2)?;
    let raw = q.get("ids").ok_or_else(|| ApiError::param_missing("ids"))?;
    let ids = id_list(raw, "ids", 100)?;
    delete(&caller, &m, parent_id, ids).await
}
