//! Records of one org: its own SQLite file, one table per module. Writes check
//! lookups and unique fields inside the writer's transaction, so what is checked
//! is what is committed.

use crate::schema::{self, col, module_col};
use crate::sqlite::SqliteDb;
use crate::StoreError;
use rusqlite::types::{Value as DbValue, ValueRef};
use rusqlite::{params_from_iter, Connection, OptionalExtension};
use serde_json::{json, Map, Value};
use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;
use zcrm_core::meta::{Catalog, Field, Module};
use zcrm_core::value::{Checked, SqlValue};
use zcrm_core::{ApiError, Code};

fn to_db(v: &SqlValue) -> DbValue {
    match v {
        SqlValue::Null => DbValue::Null,
        SqlValue::Int(i) => DbValue::Integer(*i),
        SqlValue::Real(f) => DbValue::Real(*f),
        SqlValue::Text(s) => DbValue::Text(s.clone()),
    }
}

fn from_db(v: ValueRef) -> SqlValue {
    match v {
        ValueRef::Null => SqlValue::Null,
        ValueRef::Integer(i) => SqlValue::Int(i),
        ValueRef::Real(f) => SqlValue::Real(f),
        ValueRef::Text(t) => SqlValue::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(_) => SqlValue::Null,
    }
}

/// One record to write: checked values by field index, and where it sat in the request.
#[derive(Debug, Clone)]
pub struct WriteRow {
    pub values: Vec<(usize, Checked)>,
    /// `$.data[3]`, for error details.
    pub json_path: String,
    /// The record to update; `None` inserts.
    pub id: Option<i64>,
}

/// What the writer needs to know about the caller.
#[derive(Debug, Clone)]
pub struct WriteCtx {
    pub now: i64,
    pub user: i64,
    pub users: Arc<HashSet<i64>>,
}

/// Outcome of a written record.
#[derive(Debug, Clone)]
pub struct Saved {
    pub id: i64,
    pub created_time: i64,
    pub modified_time: i64,
    pub created_by: i64,
    pub modified_by: i64,
}

/// A field value as read, with a lookup's resolved display name and module.
#[derive(Debug, Clone)]
pub struct Cell {
    pub value: SqlValue,
    pub name: Option<String>,
    pub module: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Row {
    pub id: i64,
    pub cells: Vec<Cell>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortBy {
    Id,
    CreatedTime,
    ModifiedTime,
}

#[derive(Debug, Clone)]
pub struct ListQuery {
    pub fields: Vec<usize>,
    pub sort_by: SortBy,
    pub desc: bool,
    pub offset: u64,
    pub limit: u64,
    pub ids: Option<Vec<i64>>,
    /// Leads: `Some(false)` hides converted leads (the default), `Some(true)` shows only them.
    pub converted: Option<bool>,
    /// `If-Modified-Since`: only records modified after this instant.
    pub modified_since: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct DeletedRow {
    pub id: i64,
    pub display_name: Option<String>,
    pub deleted_by: i64,
    pub deleted_time: i64,
    pub created_by: Option<i64>,
    pub kind: String,
}

type SelectCache = std::collections::HashMap<(String, Vec<usize>), Arc<str>>;

pub struct OrgStore {
    db: SqliteDb,
    catalog: Arc<Catalog>,
    /// SELECT lists by (module, fields): built once, reused by every read.
    selects: std::sync::RwLock<SelectCache>,
}

/// SELECT expressions for `fields` of `m` (after `id`): each field gives its
/// value, then for lookups the display name, for multi-module lookups the module.
fn select_list(catalog: &Catalog, m: &Module, fields: &[usize]) -> String {
    let mut out = vec!["t.id".to_string()];
    for &i in fields {
        let f = &m.fields[i];
        out.push(format!("t.{}", col(&f.api_name)));
        if f.is_multi_module() {
            out.push(format!("t.{}", module_col(f)));
            let arms: Vec<String> = f
                .lookup_modules
                .iter()
                .filter_map(|n| catalog.module(n))
                .map(|target| {
                    format!(
                        "WHEN '{}' THEN (SELECT {} FROM {} WHERE id = t.{})",
                        target.api_name,
                        col(&target.display_field),
                        target.table(),
                        col(&f.api_name)
                    )
                })
                .collect();
            if arms.is_empty() {
                out.push("NULL".into());
            } else {
                out.push(format!("CASE t.{} {} END", module_col(f), arms.join(" ")));
            }
        } else if let Some(target) = f.lookup.as_deref().and_then(|n| catalog.module(n)) {
            out.push(format!(
                "(SELECT {} FROM {} WHERE id = t.{})",
                col(&target.display_field),
                target.table(),
                col(&f.api_name)
            ));
        }
    }
    out.join(", ")
}

fn read_row(
    catalog: &Catalog,
    m: &Module,
    fields: &[usize],
    r: &rusqlite::Row,
) -> rusqlite::Result<Row> {
    let id: i64 = r.get(0)?;
    let mut k = 1;
    let mut cells = Vec::with_capacity(fields.len());
    for &i in fields {
        let f = &m.fields[i];
        let value = from_db(r.get_ref(k)?);
        k += 1;
        let mut cell = Cell {
            value,
            name: None,
            module: None,
        };
        if f.is_multi_module() {
            cell.module = r.get::<_, Option<String>>(k)?;
            cell.name = r.get::<_, Option<String>>(k + 1).ok().flatten();
            k += 2;
        } else if f
            .lookup
            .as_deref()
            .and_then(|n| catalog.module(n))
            .is_some()
        {
            cell.name = match r.get_ref(k)? {
                ValueRef::Text(t) => Some(String::from_utf8_lossy(t).into_owned()),
                _ => None,
            };
            k += 1;
        }
        cells.push(cell);
    }
    Ok(Row { id, cells })
}

fn exists(c: &Connection, m: &Module, id: i64) -> rusqlite::Result<bool> {
    c.prepare_cached(&format!("SELECT 1 FROM {} WHERE id = ?1", m.table()))?
        .query_row([id], |_| Ok(()))
        .optional()
        .map(|o| o.is_some())
}

fn lookup_error(f: &Field, path: &str) -> ApiError {
    ApiError::new(Code::InvalidData)
        .detail("api_name", f.api_name.as_str())
        .detail("json_path", format!("{path}.{}", f.api_name))
        .message("invalid data")
}

/// Resolves lookups and checks unique fields of one row; returns the columns to write.
fn prepare_row(
    c: &Connection,
    catalog: &Catalog,
    m: &Module,
    row: &WriteRow,
    ctx: &WriteCtx,
) -> Result<Result<Vec<(String, SqlValue)>, ApiError>, StoreError> {
    let mut cols: Vec<(String, SqlValue)> = Vec::with_capacity(row.values.len() + 1);
    for (i, checked) in &row.values {
        let f = &m.fields[*i];
        let v = &checked.value;
        if f.is_user() {
            if let Some(id) = v.as_i64() {
                if !ctx.users.contains(&id) {
                    return Ok(Err(lookup_error(f, &row.json_path)));
                }
            }
        } else if f.is_multi_module() {
            let mut found = None;
            if let Some(id) = v.as_i64() {
                for target in f.lookup_modules.iter().filter_map(|n| catalog.module(n)) {
                    let named = checked.lookup_module.as_deref();
                    if named.is_some_and(|n| !n.eq_ignore_ascii_case(&target.api_name)) {
                        continue;
                    }
                    if exists(c, target, id)? {
                        found = Some(target.api_name.clone());
                        break;
                    }
                }
                if found.is_none() {
                    return Ok(Err(lookup_error(f, &row.json_path)));
                }
            }
            cols.push((
                module_col(f),
                found.map(SqlValue::Text).unwrap_or(SqlValue::Null),
            ));
        } else if let Some(target) = f.lookup.as_deref().and_then(|n| catalog.module(n)) {
            if let Some(id) = v.as_i64() {
                if !exists(c, target, id)? {
                    return Ok(Err(lookup_error(f, &row.json_path)));
                }
            }
        }
        if f.unique {
            if let Some(s) = v.as_str() {
                let dup: Option<(i64, Option<i64>)> = c
                    .prepare_cached(&format!(
                        "SELECT id, {} FROM {} WHERE {} = ?1 COLLATE NOCASE AND id != ?2 LIMIT 1",
                        if m.has_owner() {
                            col("Owner")
                        } else {
                            "NULL".into()
                        },
                        m.table(),
                        col(&f.api_name)
                    ))?
                    .query_row(rusqlite::params![s, row.id.unwrap_or(0)], |r| {
                        Ok((r.get(0)?, r.get(1)?))
                    })
                    .optional()?;
                if let Some((dup_id, owner)) = dup {
                    let mut rec = json!({"id": dup_id.to_string(), "module": {"api_name": m.api_name, "id": m.id}});
                    if let Some(o) = owner {
                        rec["Owner"] = json!({"id": o.to_string()});
                    }
                    return Ok(Err(ApiError::new(Code::DuplicateData)
                        .detail("api_name", f.api_name.as_str())
                        .detail("json_path", format!("{}.{}", row.json_path, f.api_name))
                        .detail("id", dup_id.to_string())
                        .detail("duplicate_record", rec)
                        .detail("more_records", false)));
                }
            }
        }
        cols.push((col(&f.api_name), v.clone()));
    }
    Ok(Ok(cols))
}

impl OrgStore {
    pub fn open(path: &Path, catalog: Arc<Catalog>) -> Result<OrgStore, StoreError> {
        let cat = catalog.clone();
        let db = SqliteDb::open(path, move |c| schema::migrate(c, &cat))?;
        Ok(OrgStore {
            db,
            catalog,
            selects: Default::default(),
        })
    }

    pub fn close(&self) {
        self.db.close();
    }

    pub fn catalog(&self) -> &Arc<Catalog> {
        &self.catalog
    }

    /// Inserts or updates rows; per-row outcomes in input order. A row that fails
    /// writes nothing.
    pub async fn write(
        &self,
        module: Arc<Module>,
        rows: Vec<Result<WriteRow, ApiError>>,
        ctx: WriteCtx,
        new_ids: Vec<i64>,
    ) -> Result<Vec<Result<Saved, ApiError>>, StoreError> {
        let catalog = self.catalog.clone();
        self.db
            .write(move |c| {
                let m = &*module;
                let mut out = Vec::with_capacity(rows.len());
                for (row, new_id) in rows.into_iter().zip(new_ids) {
                    let row = match row {
                        Ok(r) => r,
                        Err(e) => {
                            out.push(Err(e));
                            continue;
                        }
                    };
                    out.push(match row.id {
                        None => insert_one(c, &catalog, m, &row, &ctx, new_id)?,
                        Some(id) => update_one(c, &catalog, m, &row, &ctx, id)?,
                    });
                }
                Ok(out)
            })
            .await
    }

    fn select(&self, m: &Module, fields: &[usize]) -> Arc<str> {
        let key = (m.api_name.clone(), fields.to_vec());
        if let Some(s) = self.selects.read().ok().and_then(|c| c.get(&key).cloned()) {
            return s;
        }
        let s: Arc<str> = select_list(&self.catalog, m, fields).into();
        if let Ok(mut c) = self.selects.write() {
            if c.len() > 10_000 {
                c.clear();
            }
            c.insert(key, s.clone());
        }
        s
    }

    pub fn get(&self, m: &Module, id: i64, fields: &[usize]) -> Result<Option<Row>, StoreError> {
        let sql = format!(
            "SELECT {} FROM {} t WHERE t.id = ?1",
            self.select(m, fields),
            m.table()
        );
        self.db.read(|c| {
            Ok(c.prepare_cached(&sql)?
                .query_row([id], |r| read_row(&self.catalog, m, fields, r))
                .optional()?)
        })
    }

    /// One page of records, plus whether more follow.
    pub fn list(&self, m: &Module, q: &ListQuery) -> Result<(Vec<Row>, bool), StoreError> {
        let mut wheres: Vec<String> = Vec::new();
        let mut args: Vec<DbValue> = Vec::new();
        if let Some(ids) = &q.ids {
            let marks = vec!["?"; ids.len()].join(",");
            wheres.push(format!("t.id IN ({marks})"));
            args.extend(ids.iter().map(|i| DbValue::Integer(*i)));
        }
        if let (Some(conv), Some(f)) = (q.converted, m.field("Converted__s")) {
            wheres.push(format!(
                "COALESCE(t.{}, 0) = {}",
                col(&f.api_name),
                conv as i32
            ));
        }
        if let Some(t) = q.modified_since {
            wheres.push(format!("t.{} > ?", col("Modified_Time")));
            args.push(DbValue::Integer(t));
        }
        let order_col = match q.sort_by {
            SortBy::Id => "t.id".to_string(),
            SortBy::CreatedTime => format!("t.{}", col("Created_Time")),
            SortBy::ModifiedTime => format!("t.{}", col("Modified_Time")),
        };
        let dir = if q.desc { "DESC" } else { "ASC" };
        let sql = format!(
            "SELECT {} FROM {} t {} ORDER BY {order_col} {dir}, t.id {dir} LIMIT ? OFFSET ?",
            self.select(m, &q.fields),
            m.table(),
            if wheres.is_empty() {
                String::new()
            } else {
                format!("WHERE {}", wheres.join(" AND "))
            }
        );
        args.push(DbValue::Integer(q.limit as i64 + 1));
        args.push(DbValue::Integer(q.offset as i64));
        self.db.read(|c| {
            let mut st = c.prepare_cached(&sql)?;
            let mut rows = st
                .query_map(params_from_iter(args.iter()), |r| {
                    read_row(&self.catalog, m, &q.fields, r)
                })?
                .collect::<Result<Vec<_>, _>>()?;
            let more = rows.len() as u64 > q.limit;
            rows.truncate(q.limit as usize);
            Ok((rows, more))
        })
    }

    /// Moves records to the recycle bin; per-id outcome (`false`: no such record).
    pub async fn delete(
        &self,
        module: Arc<Module>,
        ids: Vec<i64>,
        user: i64,
        now: i64,
    ) -> Result<Vec<bool>, StoreError> {
        let catalog = self.catalog.clone();
        self.db
            .write(move |c| {
                let m = &*module;
                let all: Vec<usize> = (0..m.fields.len()).collect();
                let sql = format!("SELECT {} FROM {} t WHERE t.id = ?1", select_list(&catalog, m, &all), m.table());
                let mut out = Vec::with_capacity(ids.len());
                for id in ids {
                    let row = c.prepare_cached(&sql)?.query_row([id], |r| read_row(&catalog, m, &all, r)).optional()?;
                    let Some(row) = row else {
                        out.push(false);
                        continue;
                    };
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
                    c.prepare_cached(
                        "INSERT OR REPLACE INTO deleted_records (id, module, display_name, deleted_by, deleted_time, created_by, type, data)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'recycle', ?7)",
                    )?
                    .execute(rusqlite::params![id, m.api_name, display, user, now, created_by, Value::Object(data).to_string()])?;
                    c.prepare_cached(&format!("DELETE FROM {} WHERE id = ?1", m.table()))?.execute([id])?;
                    out.push(true);
                }
                Ok(out)
            })
            .await
    }

    /// The recycle bin (and purged entries) of a module, newest first.
    pub fn deleted(
        &self,
        m: &Module,
        kind: Option<&str>,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<DeletedRow>, bool), StoreError> {
        let api = m.api_name.clone();
        self.db.read(|c| {
            let mut st = c.prepare_cached(
                "SELECT id, display_name, deleted_by, deleted_time, created_by, type FROM deleted_records
                 WHERE module = ?1 AND (?2 IS NULL OR type = ?2) ORDER BY deleted_time DESC, id DESC LIMIT ?3 OFFSET ?4",
            )?;
            let mut rows = st
                .query_map(rusqlite::params![api, kind, limit as i64 + 1, offset as i64], |r| {
                    Ok(DeletedRow {
                        id: r.get(0)?,
                        display_name: r.get(1)?,
                        deleted_by: r.get(2)?,
                        deleted_time: r.get(3)?,
                        created_by: r.get(4)?,
                        kind: r.get(5)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            let more = rows.len() as u64 > limit;
            rows.truncate(limit as usize);
            Ok((rows, more))
        })
    }

    pub fn count(&self, m: &Module) -> Result<i64, StoreError> {
        let sql = format!("SELECT COUNT(*) FROM {}", m.table());
        self.db.read(|c| Ok(c.query_row(&sql, [], |r| r.get(0))?))
    }
}

fn insert_one(
    c: &Connection,
    catalog: &Catalog,
    m: &Module,
    row: &WriteRow,
    ctx: &WriteCtx,
    id: i64,
) -> Result<Result<Saved, ApiError>, StoreError> {
    let mut cols = match prepare_row(c, catalog, m, row, ctx)? {
        Ok(c) => c,
        Err(e) => return Ok(Err(e)),
    };
    let owner = cols
        .iter()
        .find(|(n, _)| n == &col("Owner"))
        .and_then(|(_, v)| v.as_i64());
    if m.has_owner() && owner.is_none() {
        cols.retain(|(n, _)| n != &col("Owner"));
        cols.push((col("Owner"), SqlValue::Int(ctx.user)));
    }
    for (name, v) in [
        ("Created_By", SqlValue::Int(ctx.user)),
        ("Modified_By", SqlValue::Int(ctx.user)),
        ("Created_Time", SqlValue::Int(ctx.now)),
        ("Modified_Time", SqlValue::Int(ctx.now)),
    ] {
        cols.push((col(name), v));
    }
    let names: Vec<&str> = cols.iter().map(|(n, _)| n.as_str()).collect();
    let marks = vec!["?"; cols.len() + 1].join(",");
    let sql = format!(
        "INSERT INTO {} (id, {}) VALUES ({marks})",
        m.table(),
        names.join(", ")
    );
    let mut args = vec![DbValue::Integer(id)];
    args.extend(cols.iter().map(|(_, v)| to_db(v)));
    c.prepare_cached(&sql)?
        .execute(params_from_iter(args.iter()))?;
    Ok(Ok(Saved {
        id,
        created_time: ctx.now,
        modified_time: ctx.now,
        created_by: ctx.user,
        modified_by: ctx.user,
    }))
}

fn update_one(
    c: &Connection,
    catalog: &Catalog,
    m: &Module,
    row: &WriteRow,
    ctx: &WriteCtx,
    id: i64,
) -> Result<Result<Saved, ApiError>, StoreError> {
    let current: Option<(i64, i64)> = c
        .prepare_cached(&format!(
            "SELECT {}, {} FROM {} WHERE id = ?1",
            col("Created_Time"),
            col("Created_By"),
            m.table()
        ))?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((created_time, created_by)) = current else {
        return Ok(Err(ApiError::new(Code::InvalidData)
            .detail("api_name", "id")
            .detail("json_path", format!("{}.id", row.json_path))
            .message("the id given seems to be invalid")));
    };
    let mut cols = match prepare_row(c, catalog, m, row, ctx)? {
        Ok(c) => c,
        Err(e) => return Ok(Err(e)),
    };
    cols.push((col("Modified_By"), SqlValue::Int(ctx.user)));
    cols.push((col("Modified_Time"), SqlValue::Int(ctx.now)));
    let sets: Vec<String> = cols.iter().map(|(n, _)| format!("{n} = ?")).collect();
    let sql = format!("UPDATE {} SET {} WHERE id = ?", m.table(), sets.join(", "));
    let mut args: Vec<DbValue> = cols.iter().map(|(_, v)| to_db(v)).collect();
    args.push(DbValue::Integer(id));
    c.prepare_cached(&sql)?
        .execute(params_from_iter(args.iter()))?;
    // Derived columns follow their sources whichever of them changed.
    if m.field("Full_Name").is_some() && m.field("First_Name").is_some() {
        c.prepare_cached(&format!(
            "UPDATE {} SET {fullname} = TRIM(COALESCE({first}, '') || ' ' || COALESCE({last}, '')) WHERE id = ?1",
            m.table(),
            fullname = col("Full_Name"),
            first = col("First_Name"),
            last = col("Last_Name")
        ))?
        .execute([id])?;
    }
    Ok(Ok(Saved {
        id,
        created_time,
        modified_time: ctx.now,
        created_by,
        modified_by: ctx.user,
    }))
}
