//! Attachments of a record: a file's content goes to the file store and its
//! row to the org's store; a link keeps only its URL. The content of a row
//! that could not be written, or that was deleted, is removed again.

use crate::auth::Caller;
use bytes::Bytes;
use std::sync::Arc;
use zcrm_core::meta::Module;
use zcrm_core::{ApiError, Code};
use zcrm_store::attachments::{AttachmentRow, NewAttachment};
use zcrm_store::records::WriteCtx;

/// A link attachment keeps its URL where a file keeps its content key.
const LINK: &str = "link:";
/// Zoho's longest attachment URL.
const MAX_URL: usize = 2000;

/// The URL of a link attachment; `None` for a file.
pub fn link_url(a: &AttachmentRow) -> Option<&str> {
    a.file_key.strip_prefix(LINK)
}

fn ctx(caller: &Caller, now: i64) -> WriteCtx {
    WriteCtx {
        now,
        user: caller.user_id,
        users: caller.org.user_ids(),
    }
}

/// An uploaded file.
pub struct Upload {
    pub name: String,
    pub content_type: Option<String>,
    pub data: Bytes,
}

/// Stores the content, then the row; if the record is not there, the
/// content goes again.
pub async fn add_file(
    caller: &Caller,
    m: Arc<Module>,
    parent_id: i64,
    up: Upload,
) -> Result<AttachmentRow, ApiError> {
    let now = caller.app.now();
    let id = caller.app.ids.next(now);
    let key = format!("attachments/{}/{id}", caller.org.org.id);
    caller
        .app
        .files
        .put(&key, up.data.clone())
        .await
        .map_err(crate::error::store)?;
    let row = caller
        .org
        .store
        .add_attachment(
            m,
            parent_id,
            NewAttachment {
                id,
                file_name: up.name,
                size: up.data.len() as i64,
                content_type: up.content_type,
                file_key: key.clone(),
            },
            ctx(caller, now),
        )
        .await
        .map_err(crate::error::store)?;
    match row {
        Ok(r) => Ok(r),
        Err(e) => {
            // The record was not there: the stored content has no row to belong to.
            let _ = caller.app.files.delete(&key).await;
            Err(crate::error::refusal(e))
        }
    }
}

/// `attachmentUrl`: a link attachment, as Zoho keeps it: the URL and a
/// title, nothing fetched (so no request to the URL ever leaves the server,
/// and no private-address guard is needed); downloading it is refused.
pub async fn add_link(
    caller: &Caller,
    m: std::sync::Arc<zcrm_core::meta::Module>,
    parent_id: i64,
    url: String,
    title: Option<String>,
) -> Result<AttachmentRow, ApiError> {
    let url = url.trim().to_string();
    let parsed = url::Url::parse(&url).ok();
    let valid = url.len() <= MAX_URL
        && parsed
            .as_ref()
            .is_some_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some());
    if !valid {
        return Err(ApiError::new(Code::InvalidData)
            .detail("param_name", "attachmentUrl")
            .detail("maximum_length", MAX_URL)
            .message("the URL given seems to be invalid"));
    }
    let name = title
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| {
            parsed
                .and_then(|u| u.host_str().map(String::from))
                .unwrap_or_default()
        });
    if name.chars().count() > 255 {
        return Err(ApiError::new(Code::InvalidData)
            .detail("param_name", "title")
            .detail("maximum_length", 255));
    }
    let now = caller.app.now();
    let row = caller
        .org
        .store
        .add_attachment(
            m,
            parent_id,
            NewAttachment {
                id: caller.app.ids.next(now),
                file_name: name,
                size: 0,
                content_type: None,
                file_key: format!("{LINK}{url}"),
            },
            ctx(caller, now),
        )
        .await
        .map_err(crate::error::store)?
        .map_err(crate::error::refusal)?;
    Ok(row)
}

/// Deletes attachments of a record; per id, the row deleted (`None`: not an
/// attachment of that record). A file's content follows its row (a failure
/// there leaves only an unreferenced blob).
pub async fn delete(
    caller: &Caller,
    m: &Module,
    parent_id: i64,
    ids: Vec<i64>,
) -> Result<Vec<Option<AttachmentRow>>, ApiError> {
    let done = caller
        .org
        .store
        .delete_attachments(m, parent_id, ids)
        .await
        .map_err(crate::error::store)?;
    for row in done.iter().flatten() {
        if link_url(row).is_none() {
            let _ = caller.app.files.delete(&row.file_key).await;
        }
    }
    Ok(done)
}
