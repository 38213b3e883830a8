//! What a row being written must pass, inside the write's transaction:
//! lookups point at existing records (of the named module, for multi-module
//! lookups) and at users of the org, and unique values are not held by
//! another record. A unique index backs the check against other nodes.

use super::WriteRow;
use crate::db::{int, opt_int, Conn};
use crate::org::WriteCtx;
use crate::rows::{exists, table};
use crate::schema::{col, module_col};
use crate::StoreError;
use crate::{Holder, Refusal};
use zcrm_core::meta::{Catalog, Field, Module};
use zcrm_core::value::SqlValue;

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
pub(super) fn prepare_row(
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

/// Runs a write of one row. Where a unique index could refuse it (a writer on
/// another node won a race the check above could not see), the row runs in a
/// savepoint, so the refusal becomes that row's `DUPLICATE_DATA` and the rest
/// of the batch goes on.
pub(super) fn guarded(
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
