//! A module's rows as every area of the store reads them: the table's name,
//! the SELECT list of some fields (lookups with their display names), and a
//! result row turned back into cells.

use crate::db::{int, opt_text, Conn};
use crate::schema::{col, module_col};
use crate::StoreError;
use zcrm_core::meta::{Catalog, Module};
use zcrm_core::value::SqlValue;

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

pub(crate) fn table(prefix: &str, m: &Module) -> String {
    format!("{prefix}{}", m.table())
}

/// Placeholders `?from, ?from+1 …` (`n` of them).
pub(crate) fn marks(from: usize, n: usize) -> Vec<String> {
    (from..from + n).map(|i| format!("?{i}")).collect()
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

/// A row read with [`select_list`]'s columns.
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
