//! Versioned migrations. Each store (the control data, and each org) keeps
//! the numbered steps it has run in its own `schema_migrations` table (its
//! SQLite file, or its PostgreSQL schema). Opening a store runs the steps it
//! lacks, in order, each in the same transaction as the row recording it
//! (both backends have transactional DDL), under the schema's advisory lock
//! on PostgreSQL so that nodes starting together run each step once.
//!
//! A step is fixed: tables, indexes, data fixes. What is derived from module
//! metadata (a module's table, columns and indexes) is not a step: `schema`
//! makes it match the catalog after the steps, on every open.
//!
//! Step 1 of each store is the baseline: the schema of the last release
//! without this table (commit 2c74bb5), written idempotently, so a database
//! that release made is recognised and brought up by running it. It also
//! adds the columns builds before that release lacked.

pub mod control;
pub mod org;
#[cfg(test)]
mod tests;

use crate::db::{int, text, Conn, Dialect};
use crate::{args, StoreError};

/// One numbered change to a store's schema or data; never edited once released.
pub struct Step {
    pub version: i64,
    pub name: &'static str,
    pub run: fn(&mut dyn Conn, &Place) -> Result<(), StoreError>,
}

/// Where a store's tables are.
pub struct Place {
    /// The store as errors and logs name it: "the control data", "org 42".
    pub what: String,
    /// Its PostgreSQL schema (`zcrm_control`, `org_42`); unused on SQLite.
    pub schema: String,
    /// What qualifies its table names: empty on SQLite, `org_42.` on PostgreSQL.
    pub prefix: String,
}

impl Place {
    pub fn new(c: &dyn Conn, what: String, schema: &str) -> Place {
        let prefix = match c.dialect() {
            Dialect::Sqlite => String::new(),
            Dialect::Postgres => format!("{schema}."),
        };
        Place {
            what,
            schema: schema.to_string(),
            prefix,
        }
    }
}

/// A step a store has run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub version: i64,
    pub name: String,
    /// Milliseconds since the Unix epoch.
    pub applied_at: i64,
}

/// Brings the store at `place` up to the last of `steps`; the versions it ran.
/// On PostgreSQL it takes the schema's lock and creates the schema first, and
/// leaves `search_path` on it for the rest of the transaction.
pub fn run(c: &mut dyn Conn, place: &Place, steps: &[Step]) -> Result<Vec<i64>, StoreError> {
    if c.dialect() == Dialect::Postgres {
        let schema = &place.schema;
        c.exec(
            "SELECT pg_advisory_xact_lock(hashtext(?1)::bigint)",
            &args![schema.as_str()],
        )?;
        c.batch(&format!(
            "CREATE SCHEMA IF NOT EXISTS {schema}; SET LOCAL search_path TO {schema};"
        ))?;
    }
    let (p, int_type) = (&place.prefix, c.dialect().int());
    c.batch(&format!(
        "CREATE TABLE IF NOT EXISTS {p}schema_migrations (
            version {int_type} PRIMARY KEY, name TEXT NOT NULL, applied_at {int_type} NOT NULL)"
    ))?;
    let done: Vec<i64> = applied(c, place)?.iter().map(|a| a.version).collect();
    let known = steps.last().map_or(0, |s| s.version);
    if let Some(&found) = done.iter().max().filter(|&&v| v > known) {
        return Err(StoreError::NewerSchema {
            store: place.what.clone(),
            found,
            known,
        });
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let mut ran = Vec::new();
    for step in steps.iter().filter(|s| !done.contains(&s.version)) {
        (step.run)(c, place)?;
        c.exec(
            &format!(
                "INSERT INTO {p}schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)"
            ),
            &args![step.version, step.name, now],
        )?;
        tracing::info!(
            "{}: ran migration {} ({})",
            place.what,
            step.version,
            step.name
        );
        ran.push(step.version);
    }
    Ok(ran)
}

/// The steps the store at `place` has run, oldest first (none before its
/// migrations table exists).
pub fn applied(c: &mut dyn Conn, place: &Place) -> Result<Vec<Applied>, StoreError> {
    let exists = match c.dialect() {
        Dialect::Sqlite => c
            .row(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'",
                &[],
            )?
            .is_some(),
        Dialect::Postgres => c
            .row(
                "SELECT 1 FROM information_schema.tables WHERE table_schema = ?1 AND table_name = 'schema_migrations'",
                &args![place.schema.as_str()],
            )?
            .is_some(),
    };
    if !exists {
        return Ok(Vec::new());
    }
    let p = &place.prefix;
    c.rows(
        &format!("SELECT version, name, applied_at FROM {p}schema_migrations ORDER BY version"),
        &[],
    )?
    .iter()
    .map(|r| {
        Ok(Applied {
            version: int(&r[0])?,
            name: text(&r[1])?,
            applied_at: int(&r[2])?,
        })
    })
    .collect()
}

/// Adds `column` to `table` where a database made before it lacks it; `true`
/// if it was added. For baselines only: a later change is a step of its own.
fn add_missing_column(
    c: &mut dyn Conn,
    place: &Place,
    table: &str,
    column: &str,
    sql_type: &str,
) -> Result<bool, StoreError> {
    let have = crate::schema::existing_columns(c, &place.schema, table)?;
    if have.iter().any(|n| n == column) {
        return Ok(false);
    }
    let p = &place.prefix;
    c.batch(&format!(
        "ALTER TABLE {p}{table} ADD COLUMN {column} {sql_type}"
    ))?;
    Ok(true)
}
