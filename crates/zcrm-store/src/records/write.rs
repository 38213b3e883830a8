//! Writing records: inserts (many at once where nothing can refuse them),
//! updates and upserts, each row checked (`checks`) and every write's
//! notifications queued in its transaction.

use super::checks::{guarded, prepare_row};
use super::{Saved, Upserted, WriteRow};
use crate::db::{int, Conn};
use crate::org::{OrgStore, WriteCtx};
use crate::outbox::{self, Change, Op};
use crate::rows::{marks, table};
use crate::schema::col;
use crate::StoreError;
use crate::{Refusal, Rejected};
use std::sync::Arc;
use zcrm_core::meta::{Catalog, Module};
use zcrm_core::value::SqlValue;

/// New rows waiting for one multi-row INSERT: their column list, then (id, values) each.
type PendingInserts = (Vec<String>, Vec<(i64, Vec<SqlValue>)>);

impl OrgStore {
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
