//! `/crm/v8/files`: upload files (up to 10, 20 MB each) and get one back by
//! the opaque id the upload returned; the id is what file and image upload
//! fields take. Content and a small metadata object live in the file store
//! under `files/<org>/<id>`; the metadata is written last, after every file
//! of the call is stored, so a file is either whole and visible or absent.

use super::params::Params;
use super::users_org::no_content;
use crate::auth::Caller;
use crate::error::{json_response, HttpResult};
use crate::wire::Success;
use axum::extract::{Multipart, Query};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;
use serde_json::{json, Value};
use zcrm_core::{ApiError, Code};

/// Zoho's limits: ten files a call, 20 MB each.
pub const MAX_FILES: usize = 10;
pub const MAX_FILE: usize = 20 * 1024 * 1024;

fn content_key(org: i64, id: &str) -> String {
    format!("files/{org}/{id}")
}

fn meta_key(org: i64, id: &str) -> String {
    format!("files/{org}/{id}.json")
}

/// 40 hex digits, like Zoho's encrypted file ids; random, so not guessable.
fn new_id() -> String {
    let bytes: [u8; 20] = rand::random();
    hex::encode(bytes)
}

fn valid_id(id: &str) -> bool {
    id.len() == 40 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

fn upload_failed() -> ApiError {
    ApiError::new(Code::FailureInAttachmentHandling)
}

fn too_large() -> ApiError {
    ApiError::new(Code::FileSizeMoreThanAllowedSize)
}

/// `POST /crm/v8/files[?type=inline]` with one or more multipart `file` parts.
pub async fn upload(
    Extension(caller): Extension<Caller>,
    Query(q): Query<Params>,
    multipart: Multipart,
) -> HttpResult<Response> {
    if q.get("type").is_some_and(|t| t != "inline") {
        return Err(ApiError::invalid_param("type").into());
    }
    let org = caller.org.org.id;
    let mut stored: Vec<(String, String, Option<String>, usize)> = Vec::new();
    let result = receive(&caller, org, multipart, &mut stored).await;
    if let Err(e) = result {
        // Nothing of a refused call stays: its contents have no metadata yet.
        for (id, ..) in &stored {
            let _ = caller.app.files.delete(&content_key(org, id)).await;
        }
        return Err(e.into());
    }
    let now = caller.app.now();
    let mut data = Vec::new();
    for (id, name, ctype, size) in &stored {
        let meta = json!({"name": name, "content_type": ctype, "size": size,
                          "created_by": caller.user_id.to_string(), "created_time": now});
        caller
            .app
            .files
            .put(&meta_key(org, id), meta.to_string().into())
            .await?;
        data.push(
            Success::new(format!("{name} uploaded successfully"))
                .detail("name", name.clone())
                .detail("id", id.clone())
                .to_value(),
        );
    }
    Ok(json_response(200, &json!({ "data": data })))
}

/// Stores each `file` part's content as it arrives (one part in memory at a time).
async fn receive(
    caller: &Caller,
    org: i64,
    mut multipart: Multipart,
    stored: &mut Vec<(String, String, Option<String>, usize)>,
) -> Result<(), ApiError> {
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(too_large()),
            Err(_) => return Err(upload_failed()),
        };
        if field.name() != Some("file") {
            continue;
        }
        if stored.len() == MAX_FILES {
            return Err(ApiError::new(Code::InvalidRequest));
        }
        let name = field
            .file_name()
            .filter(|n| !n.is_empty())
            .unwrap_or("file")
            .to_string();
        let ctype = field.content_type().map(String::from);
        let mut field = field;
        let mut data = Vec::new();
        loop {
            match field.chunk().await {
                Ok(Some(c)) => {
                    if data.len() + c.len() > MAX_FILE {
                        return Err(too_large());
                    }
                    data.extend_from_slice(&c);
                }
                Ok(None) => break,
                Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(too_large()),
                Err(_) => return Err(upload_failed()),
            }
        }
        if data.is_empty() {
            return Err(upload_failed());
        }
        let id = new_id();
        let size = data.len();
        caller
            .app
            .files
            .put(&content_key(org, &id), data.into())
            .await
            .map_err(crate::error::store)?;
        stored.push((id, name, ctype, size));
    }
    if stored.is_empty() {
        return Err(upload_failed());
    }
    Ok(())
}

/// `GET /crm/v8/files?id=…`: the file's bytes, or 204 when no file has that id.
pub async fn get(
    Extension(caller): Extension<Caller>,
    Query(q): Query<Params>,
) -> HttpResult<Response> {
    let id = q
        .get("id")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::param_missing("id"))?;
    if !valid_id(id) {
        return Ok(no_content());
    }
    let org = caller.org.org.id;
    let Some(meta) = caller.app.files.get(&meta_key(org, id)).await? else {
        return Ok(no_content());
    };
    let meta: Value = serde_json::from_slice(&meta).unwrap_or_default();
    let Some(data) = caller.app.files.get(&content_key(org, id)).await? else {
        return Err(ApiError::internal(format!("content of file {id} is missing")).into());
    };
    let name = meta["name"].as_str().unwrap_or("file");
    let ctype = meta["content_type"]
        .as_str()
        .unwrap_or("application/octet-stream");
    Ok(crate::wire::download::attachment(data, ctype, name))
}
