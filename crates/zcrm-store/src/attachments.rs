//! Attachments of records: rows here, content in the [`FileStore`](crate::files::FileStore)
//! under `attachments/<org>/<id>`. The content is written before the row and
//! deleted after it, so a row never points at missing content; a failure in
//! between can only leave an unreferenced blob.

use crate::db::{int, opt_text, text};
use crate::org::{OrgStore, WriteCtx};
use crate::rows::exists;
use crate::Refusal;
use crate::StoreError;
use std::sync::Arc;
use zcrm_core::meta::Module;
use zcrm_core::value::SqlValue;

#[derive(Debug, Clone)]
pub struct AttachmentRow {
    pub id: i64,
    pub parent_module: String,
    pub parent_id: i64,
    pub file_name: String,
    pub size: i64,
    pub content_type: Option<String>,
    pub file_key: String,
    pub owner: i64,
    pub created_by: i64,
    pub created_time: i64,
    pub modified_by: i64,
    pub modified_time: i64,
}

const COLS: &str = "id, parent_module, parent_id, file_name, size, content_type, file_key, owner, created_by, created_time, modified_by, modified_time";

fn from_row(r: &[SqlValue]) -> Result<AttachmentRow, StoreError> {
    Ok(AttachmentRow {
        id: int(&r[0])?,
        parent_module: text(&r[1])?,
        parent_id: int(&r[2])?,
        file_name: text(&r[3])?,
        size: int(&r[4])?,
        content_type: opt_text(&r[5]),
        file_key: text(&r[6])?,
        owner: int(&r[7])?,
        created_by: int(&r[8])?,
        created_time: int(&r[9])?,
        modified_by: int(&r[10])?,
        modified_time: int(&r[11])?,
    })
}

/// The parent record in the URL (`/{module}/{id}/Attachments`) does not exist.
fn bad_parent() -> Refusal {
    Refusal::NoRecordAtPath(2)
}

/// A new attachment's row (its content is already stored under `file_key`).
pub struct NewAttachment {
    pub id: i64,
    pub file_name: String,
    pub size: i64,
    pub content_type: Option<String>,
    pub file_key: String,
}

impl OrgStore {
    pub async fn add_attachment(
        &self,
        parent: Arc<Module>,
        parent_id: i64,
        a: NewAttachment,
        ctx: WriteCtx,
    ) -> Result<Result<AttachmentRow, Refusal>, StoreError> {
        let prefix = self.prefix.clone();
        self.db
            .write(move |c| {
                if !exists(c, &prefix, &parent, parent_id)? {
                    return Ok(Err(bad_parent()));
                }
                let row = AttachmentRow {
                    id: a.id,
                    parent_module: parent.api_name.clone(),
                    parent_id,
                    file_name: a.file_name,
                    size: a.size,
                    content_type: a.content_type,
                    file_key: a.file_key,
                    owner: ctx.user,
                    created_by: ctx.user,
                    created_time: ctx.now,
                    modified_by: ctx.user,
                    modified_time: ctx.now,
                };
                c.exec(
                    &format!("INSERT INTO {prefix}attachments ({COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?9, ?8, ?9)"),
                    &[
                        row.id.into(),
                        row.parent_module.as_str().into(),
                        parent_id.into(),
                        row.file_name.as_str().into(),
                        row.size.into(),
                        row.content_type.clone().into(),
                        row.file_key.as_str().into(),
                        ctx.user.into(),
                        ctx.now.into(),
                    ],
                )?;
                Ok(Ok(row))
            })
            .await
    }

    /// A page of a record's attachments (newest first) and whether more follow;
    /// `Err` when the parent record does not exist.
    pub async fn list_attachments(
        &self,
        parent: Arc<Module>,
        parent_id: i64,
        ids: Option<Vec<i64>>,
        offset: u64,
        limit: u64,
    ) -> Result<Result<(Vec<AttachmentRow>, bool), Refusal>, StoreError> {
        let prefix = self.prefix.clone();
        self.db
            .read(move |c| {
                if !exists(c, &prefix, &parent, parent_id)? {
                    return Ok(Err(bad_parent()));
                }
                let mut args: Vec<SqlValue> = vec![parent.api_name.as_str().into(), parent_id.into()];
                let mut filter = String::new();
                if let Some(ids) = &ids {
                    let marks: Vec<String> = (0..ids.len()).map(|i| format!("?{}", i + 3)).collect();
                    filter = format!(" AND id IN ({})", marks.join(","));
                    args.extend(ids.iter().map(|i| SqlValue::Int(*i)));
                }
                let n = args.len();
                args.push((limit as i64 + 1).into());
                args.push((offset as i64).into());
                let sql = format!(
                    "SELECT {COLS} FROM {prefix}attachments WHERE parent_module = ?1 AND parent_id = ?2{filter}
                     ORDER BY created_time DESC, id DESC LIMIT ?{} OFFSET ?{}",
                    n + 1,
                    n + 2
                );
                let rows = c.rows(&sql, &args)?.iter().map(|r| from_row(r)).collect::<Result<Vec<_>, _>>()?;
                Ok(Ok(crate::db::page(rows, limit)))
            })
            .await
    }

    pub async fn attachment(
        &self,
        parent: &Module,
        parent_id: i64,
        id: i64,
    ) -> Result<Option<AttachmentRow>, StoreError> {
        let sql = format!("SELECT {COLS} FROM {}attachments WHERE id = ?1 AND parent_module = ?2 AND parent_id = ?3", self.prefix);
        let module = parent.api_name.clone();
        self.db
            .read(move |c| {
                c.row(&sql, &[id.into(), module.into(), parent_id.into()])?
                    .map(|r| from_row(&r))
                    .transpose()
            })
            .await
    }

    /// Deletes attachments of one record; per id, the deleted row (its content
    /// is the caller's to remove) or `None` when there was no such attachment.
    pub async fn delete_attachments(
        &self,
        parent: &Module,
        parent_id: i64,
        ids: Vec<i64>,
    ) -> Result<Vec<Option<AttachmentRow>>, StoreError> {
        let (prefix, module) = (self.prefix.clone(), parent.api_name.clone());
        self.db
            .write(move |c| {
                let mut out = Vec::new();
                for id in ids {
                    let r = c.row(
                        &format!("SELECT {COLS} FROM {prefix}attachments WHERE id = ?1 AND parent_module = ?2 AND parent_id = ?3"),
                        &[id.into(), module.as_str().into(), parent_id.into()],
                    )?;
                    match r {
                        Some(r) => {
                            c.exec(&format!("DELETE FROM {prefix}attachments WHERE id = ?1"), &[id.into()])?;
                            out.push(Some(from_row(&r)?));
                        }
                        None => out.push(None),
                    }
                }
                Ok(out)
            })
            .await
    }
}
