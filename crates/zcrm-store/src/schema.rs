//! Tables derived from module metadata. Table and column names come only from
//! the catalog (API names are `[A-Za-z0-9_]`), never from a request.

use rusqlite::Connection;
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

fn sql_type(f: &Field) -> &'static str {
    match f.data_type.storage() {
        Storage::Integer => "INTEGER",
        Storage::Real => "REAL",
        Storage::Text | Storage::Json => "TEXT",
    }
}

/// Every column of a module's table besides `id`: (quoted name, SQL type).
pub fn columns(m: &Module) -> Vec<(String, &'static str)> {
    let mut out = Vec::new();
    for f in &m.fields {
        out.push((col(&f.api_name), sql_type(f)));
        if f.is_multi_module() {
            out.push((module_col(f), "TEXT"));
        }
    }
    out
}

pub fn migrate(c: &Connection, catalog: &Catalog) -> rusqlite::Result<()> {
    c.execute_batch(
        "CREATE TABLE IF NOT EXISTS deleted_records (
            id INTEGER PRIMARY KEY, module TEXT NOT NULL, display_name TEXT,
            deleted_by INTEGER NOT NULL, deleted_time INTEGER NOT NULL,
            created_by INTEGER, type TEXT NOT NULL, data TEXT NOT NULL);
         CREATE INDEX IF NOT EXISTS deleted_by_module ON deleted_records(module, deleted_time);",
    )?;
    for m in catalog.modules() {
        let table = m.table();
        let cols = columns(m);
        let defs: Vec<String> = cols.iter().map(|(n, t)| format!("{n} {t}")).collect();
        c.execute_batch(&format!(
            "CREATE TABLE IF NOT EXISTS {table} (id INTEGER PRIMARY KEY, {});",
            defs.join(", ")
        ))?;
        // A field added to the metadata later becomes a new column.
        let existing: Vec<String> = {
            let mut st = c.prepare(&format!("PRAGMA table_info({table})"))?;
            let names = st.query_map([], |r| r.get::<_, String>(1))?;
            names.collect::<Result<_, _>>()?
        };
        for (n, t) in &cols {
            if !existing.iter().any(|e| format!("\"{e}\"") == *n) {
                c.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {n} {t};"))?;
            }
        }
        for idx in ["Created_Time", "Modified_Time"] {
            c.execute_batch(&format!(
                "CREATE INDEX IF NOT EXISTS {table}_{idx} ON {table}({}, id);",
                col(idx)
            ))?;
        }
        for f in m.fields.iter().filter(|f| f.unique) {
            c.execute_batch(&format!(
                "CREATE UNIQUE INDEX IF NOT EXISTS {table}_u_{n} ON {table}({} COLLATE NOCASE);",
                col(&f.api_name),
                n = f.api_name.to_ascii_lowercase()
            ))?;
        }
        for f in m
            .fields
            .iter()
            .filter(|f| f.is_lookup() || f.api_name == "Email")
        {
            c.execute_batch(&format!(
                "CREATE INDEX IF NOT EXISTS {table}_i_{n} ON {table}({});",
                col(&f.api_name),
                n = f.api_name.to_ascii_lowercase()
            ))?;
        }
    }
    Ok(())
}
