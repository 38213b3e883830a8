//! An org's module tables: column names and types derived from module
//! metadata, and making the tables match it (the org's other tables are
//! `migrate::org`'s). Table and column names come only from the catalog (API
//! names are `[A-Za-z0-9_]`), never from a request.

use crate::db::{text, Conn, Dialect};
use crate::StoreError;
use zcrm_core::meta::{Catalog, Field, Module, Storage};

pub fn col(name: &str) -> String {
    debug_assert!(name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'$'));
    format!("\"{name}\"")
}

/// Companion column holding the module of a multi-module lookup.
pub fn module_col(field: &Field) -> String {
    col(&format!("{}$module", field.api_name))
}

fn sql_type(d: Dialect, f: &Field) -> &'static str {
    match f.data_type.storage() {
        Storage::Integer => d.int(),
        Storage::Real => d.real(),
        Storage::Text | Storage::Json => "TEXT",
    }
}

/// Every column of a module's table besides `id`: (quoted name, SQL type).
pub fn columns(d: Dialect, m: &Module) -> Vec<(String, &'static str)> {
    let mut out = Vec::new();
    for f in &m.fields {
        out.push((col(&f.api_name), sql_type(d, f)));
        if f.is_multi_module() {
            out.push((module_col(f), "TEXT"));
        }
    }
    out
}

pub fn existing_columns(
    c: &mut dyn Conn,
    schema: &str,
    table: &str,
) -> Result<Vec<String>, StoreError> {
    let rows = match c.dialect() {
        Dialect::Sqlite => c.rows("SELECT name FROM pragma_table_info(?1)", &[table.into()])?,
        Dialect::Postgres => c.rows(
            "SELECT column_name::text FROM information_schema.columns WHERE table_schema = ?1 AND table_name = ?2",
            &[schema.into(), table.into()],
        )?,
    };
    rows.iter().map(|r| text(&r[0])).collect()
}

/// Text fields worth a case-insensitive index: the main email and phones,
/// names, and the status/stage pick lists that reports group and filter by.
/// Every index costs each insert, so only these (measured: 17 indexes on
/// Leads cut the 100-record POST to a third).
fn filtered_text(m: &Module, f: &Field) -> bool {
    use zcrm_core::meta::DataType::*;
    if STATUS_VALUE
        .iter()
        .any(|(s, v)| f.api_name == *s && m.field(v).is_some())
    {
        // The status + value index below already starts with it.
        return false;
    }
    match f.data_type {
        Email | Phone | Text | Picklist => {
            f.api_name == m.display_field
                || matches!(
                    f.api_name.as_str(),
                    "Email"
                        | "Phone"
                        | "Mobile"
                        | "Last_Name"
                        | "Full_Name"
                        | "Company"
                        | "Account_Name"
                        | "Deal_Name"
                        | "Lead_Status"
                        | "Stage"
                        | "Status"
                        | "Lead_Source"
                )
        }
        _ => false,
    }
}

/// A pipeline filtered by status and ranked by value is the commonest report:
/// one index serves the filter and the sort together.
const STATUS_VALUE: [(&str, &str); 2] = [("Lead_Status", "Annual_Revenue"), ("Stage", "Amount")];

/// Makes each module's table match the catalog: creates the table, adds a
/// column for a field the metadata gained, creates the indexes. Runs after
/// the org's numbered steps (`migrate::org`) on every open, in the same
/// transaction; `prefix` qualifies the org's table names, `schema` is its
/// PostgreSQL schema. A field dropped from the metadata keeps its column.
pub fn sync_catalog(
    c: &mut dyn Conn,
    catalog: &Catalog,
    prefix: &str,
    schema: &str,
) -> Result<(), StoreError> {
    for m in catalog.modules() {
        module_table(c, prefix, schema, m)?;
        module_indexes(c, prefix, m)?;
    }
    Ok(())
}

/// A module's table; a field added to the metadata later becomes a new column.
fn module_table(
    c: &mut dyn Conn,
    prefix: &str,
    schema: &str,
    m: &Module,
) -> Result<(), StoreError> {
    let (d, table) = (c.dialect(), m.table());
    let int = d.int();
    let cols = columns(d, m);
    let defs: Vec<String> = cols.iter().map(|(n, t)| format!("{n} {t}")).collect();
    c.batch(&format!(
        "CREATE TABLE IF NOT EXISTS {prefix}{table} (id {int} PRIMARY KEY, {});",
        defs.join(", ")
    ))?;
    let existing = existing_columns(c, schema, &table)?;
    for (n, t) in &cols {
        if !existing.iter().any(|e| format!("\"{e}\"") == *n) {
            c.batch(&format!("ALTER TABLE {prefix}{table} ADD COLUMN {n} {t};"))?;
        }
    }
    Ok(())
}

/// A module's indexes: by time, unique fields, and what users filter by.
pub(crate) fn module_indexes(c: &mut dyn Conn, prefix: &str, m: &Module) -> Result<(), StoreError> {
    let (d, table) = (c.dialect(), m.table());
    for idx in ["Created_Time", "Modified_Time"] {
        c.batch(&format!(
            "CREATE INDEX IF NOT EXISTS {table}_{idx} ON {prefix}{table}({}, id);",
            col(idx)
        ))?;
    }
    for f in m.fields.iter().filter(|f| f.unique) {
        c.batch(&format!(
            "CREATE UNIQUE INDEX IF NOT EXISTS {table}_u_{n} ON {prefix}{table}({});",
            d.ci(&col(&f.api_name)),
            n = f.api_name.to_ascii_lowercase()
        ))?;
    }
    // Where Zoho users filter and sort: searches and COQL compare text
    // case-insensitively, so those indexes are on the same expression the
    // query compiler writes (and serve prefix LIKE / starts_with too).
    for f in m.fields.iter().filter(|f| filtered_text(m, f)) {
        let expr = match d {
            Dialect::Sqlite => format!("{} COLLATE NOCASE", col(&f.api_name)),
            Dialect::Postgres => format!("lower({}) text_pattern_ops", col(&f.api_name)),
        };
        c.batch(&format!(
            "CREATE INDEX IF NOT EXISTS {table}_c_{n} ON {prefix}{table}({expr}, id);",
            n = f.api_name.to_ascii_lowercase()
        ))?;
    }
    for (status, amount) in STATUS_VALUE {
        if m.field(status).is_none() || m.field(amount).is_none() {
            continue;
        }
        let expr = match d {
            Dialect::Sqlite => format!("{} COLLATE NOCASE", col(status)),
            Dialect::Postgres => format!("lower({})", col(status)),
        };
        c.batch(&format!(
            "CREATE INDEX IF NOT EXISTS {table}_r_{n} ON {prefix}{table}({expr}, {});",
            col(amount),
            n = status.to_ascii_lowercase()
        ))?;
    }
    for f in m
        .fields
        .iter()
        // Owner, not Created_By/Modified_By: nobody filters by those at scale.
        .filter(|f| f.is_lookup() || f.api_name == "Owner")
    {
        c.batch(&format!(
            "CREATE INDEX IF NOT EXISTS {table}_i_{n} ON {prefix}{table}({});",
            col(&f.api_name),
            n = f.api_name.to_ascii_lowercase()
        ))?;
    }
    Ok(())
}
