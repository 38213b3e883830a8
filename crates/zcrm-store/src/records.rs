//! Records of one org, one table per module: in the org's own SQLite file, or
//! in the org's own PostgreSQL schema. Writes check lookups and unique fields
//! inside the write transaction, so what is checked is what is committed; a
//! unique index backs the check against writers on other nodes.

use crate::db::{int, opt_int, opt_text, Conn, Db, Dialect};
use crate::outbox::{self, Change, Op};
use crate::query::{compile, Compiler};
use crate::schema::{self, col, module_col};
use crate::StoreError;
use crate::{Holder, Refusal, Rejected};
use serde_json::{json, Map, Value};
use std::collections::HashSet;
use std::sync::Arc;
use zcrm_core::meta::{Catalog, Field, Module};
use zcrm_core::query::{Filter, Query, UserInfo};
use zcrm_core::value::{Checked, SqlValue};

/// One record to write: checked values by field index, and where it sat in the request.
#[derive(Debug, Clone)]
pub struct WriteRow {
    pub values: Vec<(usize, Checked)>,
    /// `$.data[3]`, for error details.
    pub json_path: String,
    /// The record to update; `None` inserts.
    pub id: Option<i64>,
    /// Upsert: fields (indices) to look for an existing record by, in order.
    /// A match is updated; otherwise the row is inserted.
    pub upsert_on: Vec<usize>,
}

/// How an upserted row was applied.
#[derive(Debug, Clone)]
pub struct Upserted {
    pub inserted: bool,
    /// The field that matched an existing record.
    pub duplicate_field: Option<String>,
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
    pub upserted: Option<Upserted>,
}

/// A field value as read, with a lookup's resolved display name and module.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
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
    /// Only the children of one record (a related list).
    pub related: Option<Related>,
    /// Search criteria.
    pub filter: Option<Filter>,
}

/// The children of `parent_id` through lookup field `field` (an index into
/// the child module's fields); for a multi-module lookup, `parent_module` too.
#[derive(Debug, Clone)]
pub struct Related {
    pub field: usize,
    pub parent_id: i64,
    pub parent_module: String,
    /// A many-to-many list: linked through `record_links`, `field` unused.
    pub link: Option<crate::links::Link>,
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

/// New rows waiting for one multi-row INSERT: their column list, then (id, values) each.
type PendingInserts = (Vec<String>, Vec<(i64, Vec<SqlValue>)>);

type SelectCache = std::collections::HashMap<(String, Vec<usize>), Arc<str>>;

pub struct OrgStore {
    pub(crate) db: Arc<Db>,
    pub(crate) catalog: Arc<Catalog>,
    /// Qualifies table names: `""` for an org's own SQLite file, `org_<id>.` for its PostgreSQL schema.
    pub(crate) prefix: Arc<str>,
    /// SELECT lists by (module, fields): built once, reused by every read.
    selects: std::sync::RwLock<SelectCache>,
}

pub(crate) fn table(prefix: &str, m: &Module) -> String {
    format!("{prefix}{}", m.table())
}

/// SELECT expressions for `fields` of `m` (after `id`): each field gives its
/// value, then for lookups the display name, for multi-module lookups the module.
pub(crate) fn select_list(prefix: &str, catalog: &Catalog, m: &Module, fields: &[usize]) -> String {
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
                        table(prefix, target),
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
                table(prefix, target),
                col(&f.api_name)
            ));
        }
    }
    out.join(", ")
}

pub(crate) fn read_row(
    catalog: &Catalog,
    m: &Module,
    fields: &[usize],
    r: Vec<SqlValue>,
) -> Result<Row, StoreError> {
    let mut it = r.into_iter();
    let id = int(&it.next().unwrap_or(SqlValue::Null))?;
    let mut cells = Vec::with_capacity(fields.len());
    for &i in fields {
        let f = &m.fields[i];
        let value = it.next().unwrap_or(SqlValue::Null);
        let mut cell = Cell {
            value,
            name: None,
            module: None,
        };
        if f.is_multi_module() {
            cell.module = it.next().as_ref().and_then(opt_text);
            cell.name = it.next().as_ref().and_then(opt_text);
        } else if f
            .lookup
            .as_deref()
            .and_then(|n| catalog.module(n))
            .is_some()
        {
            cell.name = it.next().as_ref().and_then(opt_text);
        }
        cells.push(cell);
    }
    Ok(Row { id, cells })
}

pub(crate) fn exists(
    c: &mut dyn Conn,
    prefix: &str,
    m: &Module,
    id: i64,
) -> Result<bool, StoreError> {
    Ok(c.row(
        &format!("SELECT 1 FROM {} WHERE id = ?1", table(prefix, m)),
        &[id.into()],
    )?
    .is_some())
}

fn lookup_error(f: &Field, path: &str) -> Refusal {
    Refusal::invalid(&f.api_name, format!("{path}.{}", f.api_name))
}

/// The record already holding `value` in unique field `f`, if any (other than `except`).
fn find_duplicate(
    c: &mut dyn Conn,
    prefix: &str,
    m: &Module,
    f: &Field,
    value: &str,
    except: i64,
) -> Result<Option<(i64, Option<i64>)>, StoreError> {
    let d = c.dialect();
    let sql = format!(
        "SELECT id, {} FROM {} WHERE {} = {} AND id != ?2 LIMIT 1",
        if m.has_owner() {
            col("Owner")
        } else {
            "NULL".into()
        },
        table(prefix, m),
        d.ci(&col(&f.api_name)),
        d.ci("?1"),
    );
    Ok(c.row(&sql, &[value.into(), except.into()])?
        .map(|r| (int(&r[0]).unwrap_or(0), opt_int(&r[1]))))
}

fn duplicate_error(m: &Module, f: &Field, path: &str, dup_id: i64, owner: Option<i64>) -> Refusal {
    Refusal::Duplicate {
        field: Some(f.api_name.clone()),
        json_path: Some(format!("{path}.{}", f.api_name)),
        id: Some(dup_id),
        holder: Some(Holder {
            module: m.api_name.clone(),
            module_id: m.id.clone(),
            owner,
        }),
    }
}

/// Resolves lookups and checks unique fields of one row; returns the columns to write.
fn prepare_row(
    c: &mut dyn Conn,
    prefix: &str,
    catalog: &Catalog,
    m: &Module,
    row: &WriteRow,
    ctx: &WriteCtx,
    // The record being updated (0 for an insert): not a duplicate of itself.
    this_id: i64,
) -> Result<Result<Vec<(String, SqlValue)>, Refusal>, StoreError> {
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
                    if exists(c, prefix, target, id)? {
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
                if !exists(c, prefix, target, id)? {
                    return Ok(Err(lookup_error(f, &row.json_path)));
                }
            }
        }
        if f.unique {
            if let Some(s) = v.as_str() {
                if let Some((dup_id, owner)) = find_duplicate(c, prefix, m, f, s, this_id)? {
                    return Ok(Err(duplicate_error(m, f, &row.json_path, dup_id, owner)));
                }
            }
        }
        cols.push((col(&f.api_name), v.clone()));
    }
    Ok(Ok(cols))
}

/// Placeholders `?1, ?2 … ?n`.
fn marks(from: usize, n: usize) -> Vec<String> {
    (from..from + n).map(|i| format!("?{i}")).collect()
}

/// Runs a write of one row. Where a unique index could refuse it (a writer on
/// another node won a race the check above could not see), the row runs in a
/// savepoint, so the refusal becomes that row's `DUPLICATE_DATA` and the rest
/// of the batch goes on.
fn guarded(
    c: &mut dyn Conn,
    prefix: &str,
    m: &Module,
    row: &WriteRow,
    sql: &str,
    args: &[SqlValue],
    this_id: i64,
) -> Result<Result<(), Refusal>, StoreError> {
    let unique: Vec<&Field> = m.fields.iter().filter(|f| f.unique).collect();
    if unique.is_empty() {
        c.exec(sql, args)?;
        return Ok(Ok(()));
    }
    c.batch("SAVEPOINT row_write")?;
    match c.exec(sql, args) {
        Ok(_) => {
            c.batch("RELEASE SAVEPOINT row_write")?;
            Ok(Ok(()))
        }
        Err(StoreError::Unique) => {
            c.batch("ROLLBACK TO SAVEPOINT row_write; RELEASE SAVEPOINT row_write")?;
            for f in unique {
                let value = row
                    .values
                    .iter()
                    .find(|(i, _)| m.fields[*i].api_name == f.api_name);
                if let Some(s) = value.and_then(|(_, ch)| ch.value.as_str()) {
                    if let Some((dup, owner)) = find_duplicate(c, prefix, m, f, s, this_id)? {
                        return Ok(Err(duplicate_error(m, f, &row.json_path, dup, owner)));
                    }
                }
            }
            Ok(Err(Refusal::Duplicate {
                field: None,
                json_path: None,
                id: None,
                holder: None,
            }))
        }
        Err(e) => Err(e),
    }
}

impl OrgStore {
    /// Opens an org's store on `db`, creating or extending its tables.
    pub async fn open(
        db: Arc<Db>,
        org_id: i64,
        catalog: Arc<Catalog>,
    ) -> Result<OrgStore, StoreError> {
        let prefix: Arc<str> = match db.dialect() {
            Dialect::Sqlite => "".into(),
            Dialect::Postgres => format!("org_{org_id}.").into(),
        };
        let (cat, schema_name) = (catalog.clone(), format!("org_{org_id}"));
        db.write(move |c| schema::migrate(c, &cat, &schema_name))
            .await?;
        Ok(OrgStore {
            db,
            catalog,
            prefix,
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
    pub async fn write<E: Send + 'static>(
        &self,
        module: Arc<Module>,
        rows: Vec<Result<WriteRow, E>>,
        ctx: WriteCtx,
        new_ids: Vec<i64>,
    ) -> Result<Vec<Result<Saved, Rejected<E>>>, StoreError> {
        let catalog = self.catalog.clone();
        let prefix = self.prefix.clone();
        self.db
            .write(move |c| write_rows(c, &prefix, &catalog, &module, rows, &ctx, new_ids))
            .await
    }

    fn select(&self, m: &Module, fields: &[usize]) -> Arc<str> {
        let key = (m.api_name.clone(), fields.to_vec());
        if let Some(s) = self.selects.read().ok().and_then(|c| c.get(&key).cloned()) {
            return s;
        }
        let s: Arc<str> = select_list(&self.prefix, &self.catalog, m, fields).into();
        if let Ok(mut c) = self.selects.write() {
            if c.len() > 10_000 {
                c.clear();
            }
            c.insert(key, s.clone());
        }
        s
    }

    pub async fn get(
        &self,
        m: &Arc<Module>,
        id: i64,
        fields: &[usize],
    ) -> Result<Option<Row>, StoreError> {
        let sql = format!(
            "SELECT {} FROM {} t WHERE t.id = ?1",
            self.select(m, fields),
            table(&self.prefix, m)
        );
        let (catalog, m, fields) = (self.catalog.clone(), m.clone(), fields.to_vec());
        self.db
            .read(move |c| match c.row(&sql, &[id.into()])? {
                Some(r) => Ok(Some(read_row(&catalog, &m, &fields, r)?)),
                None => Ok(None),
            })
            .await
    }

    /// One page of records, plus whether more follow.
    pub async fn list(
        &self,
        m: &Arc<Module>,
        q: &ListQuery,
    ) -> Result<(Vec<Row>, bool), StoreError> {
        let mut wheres: Vec<String> = Vec::new();
        let mut args: Vec<SqlValue> = Vec::new();
        if let Some(ids) = &q.ids {
            let ms = marks(args.len() + 1, ids.len());
            wheres.push(format!("t.id IN ({})", ms.join(",")));
            args.extend(ids.iter().map(|i| SqlValue::Int(*i)));
        }
        if let (Some(conv), Some(f)) = (q.converted, m.field("Converted__s")) {
            wheres.push(format!(
                "COALESCE(t.{}, 0) = {}",
                col(&f.api_name),
                conv as i32
            ));
        }
        if let Some(t) = q.modified_since {
            wheres.push(format!("t.{} > ?{}", col("Modified_Time"), args.len() + 1));
            args.push(SqlValue::Int(t));
        }
        if let Some(link) = q.related.as_ref().and_then(|r| r.link.as_ref()) {
            let rel = q.related.as_ref().map(|r| r.parent_id).unwrap_or_default();
            wheres.push(link.filter_sql(&self.prefix, args.len() + 1));
            args.push(link.name.as_str().into());
            args.push(SqlValue::Int(rel));
        } else if let Some(rel) = &q.related {
            let f = &m.fields[rel.field];
            wheres.push(format!("t.{} = ?{}", col(&f.api_name), args.len() + 1));
            args.push(SqlValue::Int(rel.parent_id));
            if f.is_multi_module() {
                wheres.push(format!("t.{} = ?{}", module_col(f), args.len() + 1));
                args.push(rel.parent_module.as_str().into());
            }
        }
        let mut joins = String::new();
        if let Some(f) = &q.filter {
            let mut c = Compiler::new(&self.prefix, self.db.dialect(), &[], args.len());
            wheres.push(c.filter(f));
            joins = c.joins();
            args.extend(c.args);
        }
        let order_col = match q.sort_by {
            SortBy::Id => "t.id".to_string(),
            SortBy::CreatedTime => format!("t.{}", col("Created_Time")),
            SortBy::ModifiedTime => format!("t.{}", col("Modified_Time")),
        };
        let dir = if q.desc { "DESC" } else { "ASC" };
        let sql = format!(
            "SELECT {} FROM {} t {joins} {} ORDER BY {order_col} {dir}, t.id {dir} LIMIT ?{} OFFSET ?{}",
            self.select(m, &q.fields),
            table(&self.prefix, m),
            if wheres.is_empty() {
                String::new()
            } else {
                format!("WHERE {}", wheres.join(" AND "))
            },
            args.len() + 1,
            args.len() + 2,
        );
        args.push(SqlValue::Int(q.limit as i64 + 1));
        args.push(SqlValue::Int(q.offset as i64));
        let (catalog, m, fields, limit) =
            (self.catalog.clone(), m.clone(), q.fields.clone(), q.limit);
        self.db
            .read(move |c| {
                let rows = c
                    .rows(&sql, &args)?
                    .into_iter()
                    .map(|r| read_row(&catalog, &m, &fields, r))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(crate::db::page(rows, limit))
            })
            .await
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
        let prefix = self.prefix.clone();
        self.db
            .write(move |c| {
                let m = &*module;
                let all: Vec<usize> = (0..m.fields.len()).collect();
                let t = table(&prefix, m);
                let sql = format!("SELECT {} FROM {t} t WHERE t.id = ?1", select_list(&prefix, &catalog, m, &all));
                let mut out = Vec::with_capacity(ids.len());
                let mut changes = Vec::new();
                for id in ids {
                    let Some(r) = c.row(&sql, &[id.into()])? else {
                        out.push(false);
                        continue;
                    };
                    let row = read_row(&catalog, m, &all, r)?;
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
                            user.into(),
                            now.into(),
                            created_by.into(),
                            Value::Object(data).to_string().into(),
                        ],
                    )?;
                    c.exec(&format!("DELETE FROM {t} WHERE id = ?1"), &[id.into()])?;
                    out.push(true);
                    changes.push(Change { op: Op::Delete, id, fields: Vec::new() });
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
                Ok(crate::db::page(rows, limit))
            })
            .await
    }

    /// Links (`Some(parent)`) or unlinks (`None`) children of a related list:
    /// sets their lookup `field` to the parent. Per-id outcome: `false` when the
    /// child does not exist (or, unlinking, is not linked to this parent).
    pub async fn relate(
        &self,
        child: Arc<Module>,
        field: usize,
        parent: (i64, String),
        ids: Vec<i64>,
        link: bool,
        ctx: WriteCtx,
    ) -> Result<Vec<bool>, StoreError> {
        let (prefix, catalog) = (self.prefix.clone(), self.catalog.clone());
        self.db
            .write(move |c| {
                let m = &*child;
                let f = &m.fields[field];
                let t = table(&prefix, m);
                let multi = f.is_multi_module();
                let mut out = Vec::with_capacity(ids.len());
                let mut changes = Vec::new();
                for id in ids {
                    let n = if link {
                        let module_set = if multi { format!(", {} = ?5", module_col(f)) } else { String::new() };
                        c.exec(
                            &format!(
                                "UPDATE {t} SET {fc} = ?1, {mt} = ?2, {mb} = ?3{module_set} WHERE id = ?4",
                                fc = col(&f.api_name),
                                mt = col("Modified_Time"),
                                mb = col("Modified_By")
                            ),
                            &if multi {
                                vec![parent.0.into(), ctx.now.into(), ctx.user.into(), id.into(), parent.1.as_str().into()]
                            } else {
                                vec![parent.0.into(), ctx.now.into(), ctx.user.into(), id.into()]
                            },
                        )?
                    } else {
                        let module_set = if multi { format!(", {} = NULL", module_col(f)) } else { String::new() };
                        c.exec(
                            &format!(
                                "UPDATE {t} SET {fc} = NULL, {mt} = ?1, {mb} = ?2{module_set} WHERE id = ?3 AND {fc} = ?4",
                                fc = col(&f.api_name),
                                mt = col("Modified_Time"),
                                mb = col("Modified_By")
                            ),
                            &[ctx.now.into(), ctx.user.into(), id.into(), parent.0.into()],
                        )?
                    };
                    out.push(n > 0);
                    if n > 0 {
                        changes.push(Change { op: Op::Update, id, fields: vec![f.api_name.clone()] });
                    }
                }
                outbox::enqueue(c, &prefix, &catalog, &m.api_name, &changes, ctx.now, true)?;
                Ok(out)
            })
            .await
    }

    /// Records of `m` matching `filter` (Leads: `converted` as in [`ListQuery`]).
    pub async fn count_where(
        &self,
        m: &Module,
        filter: Option<&Filter>,
        converted: Option<bool>,
    ) -> Result<i64, StoreError> {
        let mut c = Compiler::new(&self.prefix, self.db.dialect(), &[], 0);
        let mut wheres = Vec::new();
        if let Some(f) = filter {
            wheres.push(c.filter(f));
        }
        if let (Some(conv), Some(f)) = (converted, m.field("Converted__s")) {
            wheres.push(format!(
                "COALESCE(t.{}, 0) = {}",
                col(&f.api_name),
                conv as i32
            ));
        }
        let sql = format!(
            "SELECT COUNT(*) FROM {} t {} {}",
            table(&self.prefix, m),
            c.joins(),
            if wheres.is_empty() {
                String::new()
            } else {
                format!("WHERE {}", wheres.join(" AND "))
            }
        );
        let args = c.args;
        self.db
            .read(move |c| {
                int(&c
                    .row(&sql, &args)?
                    .map(|r| r[0].clone())
                    .unwrap_or(SqlValue::Int(0)))
            })
            .await
    }

    /// Runs a COQL query: rows of values in select order (with the record id
    /// first unless it aggregates), and whether more rows follow.
    pub async fn query(
        &self,
        q: &Query,
        users: &[UserInfo],
    ) -> Result<(Vec<Vec<SqlValue>>, bool), StoreError> {
        let (sql, args) = compile(&self.prefix, self.db.dialect(), users, q);
        let limit = q.limit;
        self.db
            .read(move |c| {
                let rows = c.rows(&sql, &args)?;
                Ok(crate::db::page(rows, limit))
            })
            .await
    }

    pub async fn count(&self, m: &Module) -> Result<i64, StoreError> {
        let sql = format!("SELECT COUNT(*) FROM {}", table(&self.prefix, m));
        self.db
            .read(move |c| {
                int(&c
                    .row(&sql, &[])?
                    .map(|r| r[0].clone())
                    .unwrap_or(SqlValue::Int(0)))
            })
            .await
    }
}

/// Inserts or updates rows inside the caller's transaction, with their
/// notification events; per-row outcomes in input order.
pub(crate) fn write_rows<E>(
    c: &mut dyn Conn,
    prefix: &str,
    catalog: &Catalog,
    module: &Module,
    rows: Vec<Result<WriteRow, E>>,
    ctx: &WriteCtx,
    new_ids: Vec<i64>,
) -> Result<Vec<Result<Saved, Rejected<E>>>, StoreError> {
    let m = module;
    // Without unique fields nothing can refuse an insert once its row
    // is checked, so new rows with the same columns go in together.
    let batch = !m.fields.iter().any(|f| f.unique);
    let mut pending: Vec<PendingInserts> = Vec::new();
    let mut out: Vec<Result<Saved, Rejected<E>>> = Vec::with_capacity(rows.len());
    let mut changes = Vec::new();
    for (row, new_id) in rows.into_iter().zip(new_ids) {
        let row = match row {
            Ok(r) => r,
            Err(e) => {
                out.push(Err(Rejected::Input(e)));
                continue;
            }
        };
        let outcome = match row.id {
            None if !row.upsert_on.is_empty() => {
                upsert_one(c, prefix, catalog, m, &row, ctx, new_id)?
            }
            None if batch => match insert_columns(c, prefix, catalog, m, &row, ctx)? {
                Ok(cols) => {
                    let (names, vals): (Vec<String>, Vec<SqlValue>) = cols.into_iter().unzip();
                    match pending.iter_mut().find(|(n, _)| *n == names) {
                        Some((_, rows)) => rows.push((new_id, vals)),
                        None => pending.push((names, vec![(new_id, vals)])),
                    }
                    Ok(saved(new_id, ctx))
                }
                Err(e) => Err(e),
            },
            None => insert_one(c, prefix, catalog, m, &row, ctx, new_id)?,
            Some(id) => update_one(c, prefix, catalog, m, &row, ctx, id)?,
        };
        out.push(outcome.map_err(Rejected::Store));
        if let Some(Ok(s)) = out.last() {
            let inserted = match &s.upserted {
                Some(u) => u.inserted,
                None => row.id.is_none(),
            };
            changes.push(Change {
                op: if inserted { Op::Insert } else { Op::Update },
                id: s.id,
                fields: if inserted {
                    Vec::new()
                } else {
                    row.values
                        .iter()
                        .map(|(i, _)| m.fields[*i].api_name.clone())
                        .collect()
                },
            });
        }
    }
    for (names, rows) in pending {
        insert_many(c, prefix, m, &names, rows)?;
    }
    outbox::enqueue(c, prefix, catalog, &m.api_name, &changes, ctx.now, false)?;
    Ok(out)
}

/// The columns of a new record, system fields included; or the row's error.
fn insert_columns(
    c: &mut dyn Conn,
    prefix: &str,
    catalog: &Catalog,
    m: &Module,
    row: &WriteRow,
    ctx: &WriteCtx,
) -> Result<Result<Vec<(String, SqlValue)>, Refusal>, StoreError> {
    let mut cols = match prepare_row(c, prefix, catalog, m, row, ctx, 0)? {
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
    Ok(Ok(cols))
}

fn saved(id: i64, ctx: &WriteCtx) -> Saved {
    Saved {
        id,
        created_time: ctx.now,
        modified_time: ctx.now,
        created_by: ctx.user,
        modified_by: ctx.user,
        upserted: None,
    }
}

/// Most bound values in one multi-row INSERT (SQLite allows 32,766).
const MAX_BATCH_PARAMS: usize = 30_000;

/// Inserts rows that share one column list with as few statements as possible:
/// on PostgreSQL every statement is a round trip.
pub(crate) fn insert_many(
    c: &mut dyn Conn,
    prefix: &str,
    m: &Module,
    names: &[String],
    rows: Vec<(i64, Vec<SqlValue>)>,
) -> Result<(), StoreError> {
    let width = names.len() + 1;
    let per_stmt = (MAX_BATCH_PARAMS / width).max(1);
    let head = format!(
        "INSERT INTO {} (id, {}) VALUES ",
        table(prefix, m),
        names.join(", ")
    );
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<(i64, Vec<SqlValue>)> = rows.by_ref().take(per_stmt).collect();
        let groups: Vec<String> = (0..chunk.len())
            .map(|k| format!("({})", marks(k * width + 1, width).join(",")))
            .collect();
        let mut args = Vec::with_capacity(chunk.len() * width);
        for (id, vals) in chunk {
            args.push(SqlValue::Int(id));
            args.extend(vals);
        }
        c.exec(&format!("{head}{}", groups.join(",")), &args)?;
    }
    Ok(())
}

pub(crate) fn insert_one(
    c: &mut dyn Conn,
    prefix: &str,
    catalog: &Catalog,
    m: &Module,
    row: &WriteRow,
    ctx: &WriteCtx,
    id: i64,
) -> Result<Result<Saved, Refusal>, StoreError> {
    let cols = match insert_columns(c, prefix, catalog, m, row, ctx)? {
        Ok(c) => c,
        Err(e) => return Ok(Err(e)),
    };
    let names: Vec<&str> = cols.iter().map(|(n, _)| n.as_str()).collect();
    let sql = format!(
        "INSERT INTO {} (id, {}) VALUES ({})",
        table(prefix, m),
        names.join(", "),
        marks(1, cols.len() + 1).join(",")
    );
    let mut args = vec![SqlValue::Int(id)];
    args.extend(cols.into_iter().map(|(_, v)| v));
    if let Err(e) = guarded(c, prefix, m, row, &sql, &args, id)? {
        return Ok(Err(e));
    }
    Ok(Ok(saved(id, ctx)))
}

pub(crate) fn update_one(
    c: &mut dyn Conn,
    prefix: &str,
    catalog: &Catalog,
    m: &Module,
    row: &WriteRow,
    ctx: &WriteCtx,
    id: i64,
) -> Result<Result<Saved, Refusal>, StoreError> {
    let t = table(prefix, m);
    let current = c.row(
        &format!(
            "SELECT {}, {} FROM {t} WHERE id = ?1",
            col("Created_Time"),
            col("Created_By")
        ),
        &[id.into()],
    )?;
    let Some(current) = current else {
        return Ok(Err(Refusal::NoRecord {
            json_path: format!("{}.id", row.json_path),
        }));
    };
    let (created_time, created_by) = (int(&current[0])?, int(&current[1])?);
    let mut cols = match prepare_row(c, prefix, catalog, m, row, ctx, id)? {
        Ok(c) => c,
        Err(e) => return Ok(Err(e)),
    };
    cols.push((col("Modified_By"), SqlValue::Int(ctx.user)));
    cols.push((col("Modified_Time"), SqlValue::Int(ctx.now)));
    let sets: Vec<String> = cols
        .iter()
        .enumerate()
        .map(|(i, (n, _))| format!("{n} = ?{}", i + 1))
        .collect();
    let sql = format!(
        "UPDATE {t} SET {} WHERE id = ?{}",
        sets.join(", "),
        cols.len() + 1
    );
    let mut args: Vec<SqlValue> = cols.into_iter().map(|(_, v)| v).collect();
    args.push(SqlValue::Int(id));
    if let Err(e) = guarded(c, prefix, m, row, &sql, &args, id)? {
        return Ok(Err(e));
    }
    // Derived columns follow their sources whichever of them changed.
    if m.field("Full_Name").is_some() && m.field("First_Name").is_some() {
        c.exec(
            &format!(
                "UPDATE {t} SET {fullname} = TRIM(COALESCE({first}, '') || ' ' || COALESCE({last}, '')) WHERE id = ?1",
                fullname = col("Full_Name"),
                first = col("First_Name"),
                last = col("Last_Name")
            ),
            &[id.into()],
        )?;
    }
    Ok(Ok(Saved {
        id,
        created_time,
        modified_time: ctx.now,
        created_by,
        modified_by: ctx.user,
        upserted: None,
    }))
}

/// Upsert of one row: the first existing record matching one of
/// `row.upsert_on` (in order, case-insensitively) is updated; with no match
/// the row is inserted, and then the module's mandatory fields must be there.
fn upsert_one(
    c: &mut dyn Conn,
    prefix: &str,
    catalog: &Catalog,
    m: &Module,
    row: &WriteRow,
    ctx: &WriteCtx,
    new_id: i64,
) -> Result<Result<Saved, Refusal>, StoreError> {
    let d = c.dialect();
    for &fi in &row.upsert_on {
        let f = &m.fields[fi];
        let Some((_, checked)) = row.values.iter().find(|(i, _)| *i == fi) else {
            continue;
        };
        let (cond, arg) = match &checked.value {
            SqlValue::Null => continue,
            SqlValue::Text(t) if t.trim().is_empty() => continue,
            SqlValue::Text(t) => (
                format!("{} = {}", d.ci(&col(&f.api_name)), d.ci("?1")),
                SqlValue::Text(t.clone()),
            ),
            other => (format!("{} = ?1", col(&f.api_name)), other.clone()),
        };
        let found = c.row(
            &format!(
                "SELECT id FROM {} WHERE {cond} ORDER BY id LIMIT 1",
                table(prefix, m)
            ),
            &[arg],
        )?;
        if let Some(r) = found {
            let id = int(&r[0])?;
            return Ok(
                update_one(c, prefix, catalog, m, row, ctx, id)?.map(|mut s| {
                    s.upserted = Some(Upserted {
                        inserted: false,
                        duplicate_field: Some(f.api_name.clone()),
                    });
                    s
                }),
            );
        }
    }
    for f in m
        .fields
        .iter()
        .filter(|f| f.system_mandatory && !f.read_only)
    {
        let present = row.values.iter().any(|(i, ch)| {
            m.fields[*i].api_name == f.api_name
                && !ch.value.is_null()
                && ch.value.as_str().is_none_or(|s| !s.trim().is_empty())
        });
        if !present {
            return Ok(Err(Refusal::missing(
                &f.api_name,
                format!("{}.{}", row.json_path, f.api_name),
            )));
        }
    }
    Ok(
        insert_one(c, prefix, catalog, m, row, ctx, new_id)?.map(|mut s| {
            s.upserted = Some(Upserted {
                inserted: true,
                duplicate_field: None,
            });
            s
        }),
    )
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

impl OrgStore {
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
                Ok(crate::db::page(rows, limit))
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
