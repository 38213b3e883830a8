//! Deleting records: each goes to the recycle bin with its data (and its
//! notification is queued); the bin lists them, and purging empties entries
//! for good while they stay listed as `permanent`.

use crate::db::{int, opt_int, opt_text, page, Conn};
use crate::org::OrgStore;
use crate::outbox::{self, Change, Op};
use crate::rows::{marks, read_row, select_list, table, Row};
use crate::StoreError;
use serde_json::{json, Map, Value};
use std::sync::Arc;
use zcrm_core::meta::{Catalog, Module};
use zcrm_core::value::SqlValue;

#[derive(Debug, Clone)]
pub struct DeletedRow {
    pub id: i64,
    pub display_name: Option<String>,
    pub deleted_by: i64,
    pub deleted_time: i64,
    pub created_by: Option<i64>,
    pub kind: String,
}

/// A deleted record as the recycle bin keeps it: its fields as JSON (a
/// multi-module lookup's module as `<field>$module`), its display name and
/// creator.
fn bin_data(m: &Module, row: &Row) -> (Map<String, Value>, Option<String>, Option<i64>) {
    let mut data = Map::new();
    let mut display = None;
    let mut created_by = None;
    for (f, cell) in m.fields.iter().zip(&row.cells) {
        let v = match &cell.value {
            SqlValue::Null => Value::Null,
            SqlValue::Int(i) => json!(i),
            SqlValue::Real(x) => json!(x),
            SqlValue::Text(s) => json!(s),
        };
        if f.api_name == m.display_field {
            display = cell.value.as_str().map(String::from);
        }
        if f.api_name == "Created_By" {
            created_by = cell.value.as_i64();
        }
        if let Some(mo) = &cell.module {
            data.insert(format!("{}$module", f.api_name), json!(mo));
        }
        data.insert(f.api_name.clone(), v);
    }
    (data, display, created_by)
}

/// Who deletes, when, and where the org's tables are.
struct Deletion<'a> {
    prefix: &'a str,
    catalog: &'a Catalog,
    user: i64,
    now: i64,
}

impl Deletion<'_> {
    /// Moves one record to the recycle bin; `false` if there is no such record.
    fn recycle(&self, c: &mut dyn Conn, m: &Module, id: i64) -> Result<bool, StoreError> {
        let (prefix, catalog) = (self.prefix, self.catalog);
        let all: Vec<usize> = (0..m.fields.len()).collect();
        let t = table(prefix, m);
        let sql = format!(
            "SELECT {} FROM {t} t WHERE t.id = ?1",
            select_list(prefix, catalog, m, &all)
        );
        let Some(r) = c.row(&sql, &[id.into()])? else {
            return Ok(false);
        };
        let (data, display, created_by) = bin_data(m, &read_row(catalog, m, &all, r)?);
        c.exec(
            &format!(
                "INSERT INTO {prefix}deleted_records (id, module, display_name, deleted_by, deleted_time, created_by, type, data)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'recycle', ?7)
                 ON CONFLICT (id) DO UPDATE SET deleted_by = excluded.deleted_by,
                   deleted_time = excluded.deleted_time, data = excluded.data, type = 'recycle'"
            ),
            &[
                id.into(),
                m.api_name.as_str().into(),
                display.into(),
                self.user.into(),
                self.now.into(),
                created_by.into(),
                Value::Object(data).to_string().into(),
            ],
        )?;
        c.exec(&format!("DELETE FROM {t} WHERE id = ?1"), &[id.into()])?;
        Ok(true)
    }
}

impl OrgStore {
    /// Moves records to the recycle bin; per-id outcome (`false`: no such record).
    pub async fn delete(
        &self,
        module: Arc<Module>,
        ids: Vec<i64>,
        user: i64,
        now: i64,
    ) -> Result<Vec<bool>, StoreError> {
        let catalog = self.catalog.clone();
        let prefix = self.prefix.clone();
        self.db
            .write(move |c| {
                let m = &*module;
                let del = Deletion {
                    prefix: &prefix,
                    catalog: &catalog,
                    user,
                    now,
                };
                let mut out = Vec::with_capacity(ids.len());
                let mut changes = Vec::new();
                for id in ids {
                    let done = del.recycle(c, m, id)?;
                    out.push(done);
                    if done {
                        changes.push(Change {
                            op: Op::Delete,
                            id,
                            fields: Vec::new(),
                        });
                    }
                }
                outbox::enqueue(c, &prefix, &catalog, &m.api_name, &changes, now, false)?;
                Ok(out)
            })
            .await
    }

    /// The recycle bin (and purged entries) of a module, newest first.
    pub async fn deleted(
        &self,
        m: &Module,
        kind: Option<&str>,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<DeletedRow>, bool), StoreError> {
        let sql = format!(
            "SELECT id, display_name, deleted_by, deleted_time, created_by, type FROM {}deleted_records
             WHERE module = ?1 AND (?2 = '' OR type = ?2) ORDER BY deleted_time DESC, id DESC LIMIT ?3 OFFSET ?4",
            self.prefix
        );
        let args: Vec<SqlValue> = vec![
            m.api_name.as_str().into(),
            kind.unwrap_or("").into(),
            (limit as i64 + 1).into(),
            (offset as i64).into(),
        ];
        self.db
            .read(move |c| {
                let rows = c
                    .rows(&sql, &args)?
                    .into_iter()
                    .map(|r| {
                        Ok(DeletedRow {
                            id: int(&r[0])?,
                            display_name: opt_text(&r[1]),
                            deleted_by: int(&r[2])?,
                            deleted_time: int(&r[3])?,
                            created_by: opt_int(&r[4]),
                            kind: opt_text(&r[5]).unwrap_or_default(),
                        })
                    })
                    .collect::<Result<Vec<_>, StoreError>>()?;
                Ok(page(rows, limit))
            })
            .await
    }
    /// The recycle bin of every module, newest first; `ids` narrows it.
    pub async fn recycle_bin(
        &self,
        ids: Option<Vec<i64>>,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<BinEntry>, bool), StoreError> {
        let prefix = self.prefix.clone();
        self.db
            .read(move |c| {
                let mut args: Vec<SqlValue> = Vec::new();
                let mut filter = String::new();
                if let Some(ids) = &ids {
                    filter = format!(" AND id IN ({})", marks(1, ids.len()).join(","));
                    args.extend(ids.iter().map(|i| SqlValue::Int(*i)));
                }
                let n = args.len();
                args.push((limit as i64 + 1).into());
                args.push((offset as i64).into());
                let sql = format!(
                    "SELECT id, module, display_name, deleted_by, deleted_time, data FROM {prefix}deleted_records
                     WHERE type = 'recycle'{filter} ORDER BY deleted_time DESC, id DESC LIMIT ?{} OFFSET ?{}",
                    n + 1,
                    n + 2
                );
                let rows = c.rows(&sql, &args)?.iter().map(|r| bin_entry(r)).collect::<Result<Vec<_>, _>>()?;
                Ok(page(rows, limit))
            })
            .await
    }

    /// Empties recycle-bin entries for good: they stay listed as `permanent`
    /// (`GET /{module}/deleted?type=permanent`) without their data. Per id: was it in the bin.
    pub async fn purge(&self, ids: Vec<i64>) -> Result<Vec<bool>, StoreError> {
        let prefix = self.prefix.clone();
        self.db
            .write(move |c| {
                ids.iter()
                    .map(|id| {
                        c.exec(
                            &format!("UPDATE {prefix}deleted_records SET type = 'permanent', data = '{{}}' WHERE id = ?1 AND type = 'recycle'"),
                            &[(*id).into()],
                        )
                        .map(|n| n > 0)
                    })
                    .collect()
            })
            .await
    }
}

/// An entry of the org's recycle bin.
#[derive(Debug, Clone)]
pub struct BinEntry {
    pub id: i64,
    pub module: String,
    pub display_name: Option<String>,
    pub owner: Option<i64>,
    pub deleted_by: i64,
    pub deleted_time: i64,
}

fn bin_entry(r: &[SqlValue]) -> Result<BinEntry, StoreError> {
    let data: Value = r[5]
        .as_str()
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or(Value::Null);
    Ok(BinEntry {
        id: int(&r[0])?,
        module: opt_text(&r[1]).unwrap_or_default(),
        display_name: opt_text(&r[2]),
        deleted_by: int(&r[3])?,
        deleted_time: int(&r[4])?,
        owner: data.get("Owner").and_then(|v| v.as_i64()),
    })
}
