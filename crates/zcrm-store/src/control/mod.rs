//! The control database: orgs, users, OAuth clients, grant codes and tokens,
//! and API limits. Every client secret, code and token is stored as a SHA-256
//! hash (passwords: Argon2id, see `password`); a leaked database yields no
//! usable credential. Server keys (`keys`) are MAC keys and kept as they are.
//!
//! `orgs`: orgs, the first start and nodes; `users`: users and their
//! passwords; `clients`: OAuth clients (with the scopes fixed when each was
//! made), grant codes, listing and revoking clients; `tokens`: the token
//! endpoint's grants, access and refresh tokens; `limits`: editions, credits
//! and usage; `keys`: the rotating keys zcrm signs its own page tokens with.

mod clients;
mod keys;
pub mod limits;
mod orgs;
#[cfg(test)]
mod tests;
mod tokens;
mod users;

pub use clients::{Approval, ClientInfo, ClientRow, NewClient, Revoked, ANY_SCOPE};
pub use keys::ServerKey;
pub use orgs::{Bootstrap, NewOrg, Org};
pub use tokens::{Issued, OAuthErr, OAuthError, TokenInfo, ACCESS_TTL_MS};
pub use users::User;

use crate::args;
use crate::db::pg::CONTROL_SCHEMA;
use crate::db::{Conn, Db, Dialect};
use crate::StoreError;
use sha2::{Digest, Sha256};
use std::sync::Arc;

const SCHEMA: &str = r#"
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
    offline INTEGER NOT NULL, expires_at INTEGER NOT NULL, used INTEGER NOT NULL DEFAULT 0);
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
"#;

/// Creates the control tables, or brings a database created by an older zcrm
/// up to `SCHEMA`. On PostgreSQL they live in their own schema, and an advisory
/// lock keeps nodes that start together from racing.
pub fn migrate(c: &mut dyn Conn) -> Result<(), StoreError> {
    let d = c.dialect();
    if d == Dialect::Postgres {
        let schema = CONTROL_SCHEMA;
        c.exec(
            "SELECT pg_advisory_xact_lock(hashtext(?1)::bigint)",
            &args![schema],
        )?;
        c.batch(&format!(
            "CREATE SCHEMA IF NOT EXISTS {schema}; SET LOCAL search_path TO {schema};"
        ))?;
    }
    c.batch(&SCHEMA.replace("INTEGER", d.int()))?;
    c.batch(&limits::SCHEMA.replace("INTEGER", d.int()))?;
    let columns = crate::schema::existing_columns(c, CONTROL_SCHEMA, "users")?;
    if !columns.iter().any(|n| n == "password_hash") {
        c.batch("ALTER TABLE users ADD COLUMN password_hash TEXT;")?;
    }
    // Clients made before their scopes were kept: see `clients::backfill_scopes`.
    let columns = crate::schema::existing_columns(c, CONTROL_SCHEMA, "clients")?;
    if !columns.iter().any(|n| n == "scopes") {
        c.batch("ALTER TABLE clients ADD COLUMN scopes TEXT;")?;
        clients::backfill_scopes(c)?;
    }
    // What each grant code gave, so a code used twice can take it back.
    let columns = crate::schema::existing_columns(c, CONTROL_SCHEMA, "grants")?;
    if !columns.iter().any(|n| n == "issued_access") {
        c.batch("ALTER TABLE grants ADD COLUMN issued_access TEXT; ALTER TABLE grants ADD COLUMN issued_refresh TEXT;")?;
    }
    Ok(())
}

pub fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

fn random_hex(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    rand::fill(&mut b[..]);
    hex::encode(b)
}

/// Zoho-looking token: `1000.<32 hex>.<32 hex>`.
fn new_token() -> String {
    format!("1000.{}.{}", random_hex(16), random_hex(16))
}

pub struct Control {
    pub(crate) db: Arc<Db>,
}

impl Control {
    /// Opens the control data on `db` (its own SQLite file, or the shared
    /// PostgreSQL database), creating or upgrading its tables.
    pub async fn open(db: Arc<Db>) -> Result<Control, StoreError> {
        db.write(migrate).await?;
        Ok(Control { db })
    }

    pub fn close(&self) {
        self.db.close();
    }
}
