//! The control data's steps: orgs, users, OAuth clients, grant codes and
//! tokens, nodes, server keys and API limits. On PostgreSQL they live in
//! schema `zcrm_control` (the steps run with `search_path` on it).

use super::{add_missing_column, Place, Step};
use crate::db::{Conn, ConnExt};
use crate::{args, StoreError};

/// Every step, in order. A new one goes at the end with the next number.
pub const STEPS: &[Step] = &[Step {
    version: 1,
    name: "baseline",
    run: baseline,
}];

/// The control tables as release 2c74bb5 made them (`INTEGER` is `BIGINT`
/// on PostgreSQL).
const BASELINE: &str = r#"
CREATE TABLE IF NOT EXISTS orgs (
    id INTEGER PRIMARY KEY, zgid TEXT NOT NULL, company_name TEXT NOT NULL,
    edition TEXT NOT NULL, time_zone TEXT NOT NULL, currency TEXT NOT NULL,
    iso_code TEXT NOT NULL, currency_symbol TEXT NOT NULL, country_code TEXT NOT NULL,
    primary_user INTEGER, created_time INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY, org_id INTEGER NOT NULL, email TEXT NOT NULL,
    first_name TEXT, last_name TEXT NOT NULL, role TEXT NOT NULL, profile TEXT NOT NULL,
    status TEXT NOT NULL, zuid TEXT NOT NULL, time_zone TEXT NOT NULL,
    created_time INTEGER NOT NULL, modified_time INTEGER NOT NULL, password_hash TEXT);
CREATE TABLE IF NOT EXISTS clients (
    client_id TEXT PRIMARY KEY, secret_hash TEXT NOT NULL, org_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL, name TEXT NOT NULL, kind TEXT NOT NULL,
    redirect_uris TEXT NOT NULL DEFAULT '', created_time INTEGER NOT NULL, scopes TEXT);
CREATE TABLE IF NOT EXISTS grants (
    code_hash TEXT PRIMARY KEY, client_id TEXT NOT NULL, org_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL, scopes TEXT NOT NULL, redirect_uri TEXT,
    offline INTEGER NOT NULL, expires_at INTEGER NOT NULL, used INTEGER NOT NULL DEFAULT 0,
    issued_access TEXT, issued_refresh TEXT);
CREATE TABLE IF NOT EXISTS refresh_tokens (
    hash TEXT PRIMARY KEY, client_id TEXT NOT NULL, org_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL, scopes TEXT NOT NULL, created_time INTEGER NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS access_tokens (
    hash TEXT PRIMARY KEY, refresh_hash TEXT, client_id TEXT NOT NULL, org_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL, scopes TEXT NOT NULL, expires_at INTEGER NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS access_by_refresh ON access_tokens(refresh_hash);
CREATE INDEX IF NOT EXISTS access_by_expiry ON access_tokens(expires_at);
CREATE INDEX IF NOT EXISTS access_by_client ON access_tokens(client_id);
CREATE INDEX IF NOT EXISTS refresh_by_client ON refresh_tokens(client_id);
CREATE TABLE IF NOT EXISTS nodes (id INTEGER PRIMARY KEY, started INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS server_keys (
    id INTEGER PRIMARY KEY, purpose TEXT NOT NULL, secret TEXT NOT NULL, created INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS org_limits (
    org_id INTEGER PRIMARY KEY, users INTEGER, credits INTEGER, concurrency INTEGER,
    enabled INTEGER NOT NULL DEFAULT 1, modified_time INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS credit_buckets (
    org_id INTEGER NOT NULL, minute INTEGER NOT NULL, credits INTEGER NOT NULL,
    PRIMARY KEY (org_id, minute));
CREATE TABLE IF NOT EXISTS api_usage (
    org_id INTEGER NOT NULL, minute INTEGER NOT NULL, api TEXT NOT NULL, client_id TEXT NOT NULL,
    calls INTEGER NOT NULL, credits INTEGER NOT NULL, refused INTEGER NOT NULL,
    PRIMARY KEY (org_id, minute, api, client_id));
"#;

/// Creates the control tables, or recognises those an earlier zcrm made: the
/// release had exactly these; builds before it lacked the columns added here.
fn baseline(c: &mut dyn Conn, place: &Place) -> Result<(), StoreError> {
    let int = c.dialect().int();
    c.batch(&BASELINE.replace("INTEGER", int))?;
    add_missing_column(c, place, "users", "password_hash", "TEXT")?;
    if add_missing_column(c, place, "clients", "scopes", "TEXT")? {
        backfill_scopes(c)?;
    }
    // What each grant code gave, so a code used twice can take it back.
    add_missing_column(c, place, "grants", "issued_access", "TEXT")?;
    add_missing_column(c, place, "grants", "issued_refresh", "TEXT")?;
    Ok(())
}

/// Fills `scopes` of clients made before it was kept: web clients and each
/// org's first Self Client (made on the first start) may be granted any
/// scope (`*`); every other Self Client the scopes of the grant codes it was
/// made with (`zcrm admin self-client --scope`).
fn backfill_scopes(c: &mut dyn Conn) -> Result<(), StoreError> {
    c.exec(
        "UPDATE clients SET scopes = '*' WHERE kind <> 'self' OR created_time =
           (SELECT MIN(f.created_time) FROM clients f WHERE f.org_id = clients.org_id AND f.kind = 'self')",
        &[],
    )?;
    let ids: Vec<String> = c.query_map(
        "SELECT client_id FROM clients WHERE scopes IS NULL",
        &[],
        |r| r.get(0),
    )?;
    for id in ids {
        let lists: Vec<String> = c.query_map(
            "SELECT scopes FROM grants WHERE client_id = ?1",
            &args![&id],
            |r| r.get(0),
        )?;
        let mut all: Vec<String> = Vec::new();
        for s in lists.iter().flat_map(|l| l.split(',')) {
            let s = s.trim();
            if !s.is_empty() && !all.iter().any(|a| a == s) {
                all.push(s.to_string());
            }
        }
        c.exec(
            "UPDATE clients SET scopes = ?1 WHERE client_id = ?2",
            &args![all.join(","), &id],
        )?;
    }
    Ok(())
}
