//! The control database: orgs, users, OAuth clients, grant codes and tokens.
//! Every secret is stored as a SHA-256 hash (passwords: Argon2id, see
//! `password`); a leaked database yields no usable credential.

use crate::args;
use crate::db::{Conn, ConnExt, Db, DbRow, Dialect};
use crate::password;
use crate::StoreError;
use sha2::{Digest, Sha256};
use std::sync::Arc;

pub const ACCESS_TTL_MS: i64 = 3_600_000;

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
    redirect_uris TEXT NOT NULL DEFAULT '', created_time INTEGER NOT NULL);
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
CREATE TABLE IF NOT EXISTS nodes (id INTEGER PRIMARY KEY, started INTEGER NOT NULL);
"#;

/// Creates the control tables, or brings a database created by an older zcrm
/// up to `SCHEMA`. On PostgreSQL they live in their own schema, and an advisory
/// lock keeps nodes that start together from racing.
pub fn migrate(c: &mut dyn Conn) -> Result<(), StoreError> {
    let d = c.dialect();
    if d == Dialect::Postgres {
        let schema = crate::pg::CONTROL_SCHEMA;
        c.exec(
            "SELECT pg_advisory_xact_lock(hashtext(?1)::bigint)",
            &args![schema],
        )?;
        c.batch(&format!(
            "CREATE SCHEMA IF NOT EXISTS {schema}; SET LOCAL search_path TO {schema};"
        ))?;
    }
    c.batch(&SCHEMA.replace("INTEGER", d.int()))?;
    c.batch(&crate::limits::SCHEMA.replace("INTEGER", d.int()))?;
    let columns = crate::schema::existing_columns(c, crate::pg::CONTROL_SCHEMA, "users")?;
    if !columns.iter().any(|n| n == "password_hash") {
        c.batch("ALTER TABLE users ADD COLUMN password_hash TEXT;")?;
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

#[derive(Debug, Clone)]
pub struct Org {
    pub id: i64,
    pub zgid: String,
    pub company_name: String,
    pub edition: String,
    pub time_zone: String,
    pub currency: String,
    pub iso_code: String,
    pub currency_symbol: String,
    pub country_code: String,
    pub primary_user: Option<i64>,
    pub created_time: i64,
}

#[derive(Debug, Clone)]
pub struct User {
    pub id: i64,
    pub org_id: i64,
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: String,
    pub role: String,
    pub profile: String,
    pub status: String,
    pub zuid: String,
    pub time_zone: String,
    pub created_time: i64,
    pub modified_time: i64,
}

impl User {
    pub fn full_name(&self) -> String {
        match &self.first_name {
            Some(f) if !f.is_empty() => format!("{f} {}", self.last_name),
            _ => self.last_name.clone(),
        }
    }
}

/// What a valid access token stands for.
#[derive(Debug, Clone)]
pub struct TokenInfo {
    pub org_id: i64,
    pub user_id: i64,
    pub client_id: String,
    pub scopes: String,
    pub expires_at: i64,
}

#[derive(Debug, Clone)]
pub struct Issued {
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub scopes: String,
}

/// Failures of the token endpoint, in Zoho Accounts' vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OAuthError {
    InvalidClient,
    InvalidClientSecret,
    InvalidCode,
    InvalidRedirectUri,
    InvalidScope,
    /// The client may not use this grant (client credentials are for Self Clients).
    UnauthorizedClient,
    /// Client credentials without `soid`: Zoho's word for "which org?".
    MissingOrgInfo,
}

impl OAuthError {
    pub fn as_str(self) -> &'static str {
        match self {
            OAuthError::InvalidClient => "invalid_client",
            OAuthError::InvalidClientSecret => "invalid_client_secret",
            OAuthError::InvalidCode => "invalid_code",
            OAuthError::InvalidRedirectUri => "invalid_redirect_uri",
            OAuthError::InvalidScope => "invalid_scope",
            OAuthError::UnauthorizedClient => "unauthorized_client",
            OAuthError::MissingOrgInfo => "missing_org_info",
        }
    }
}

/// A client as the consent page needs it.
#[derive(Debug, Clone)]
pub struct ClientInfo {
    pub name: String,
    /// `self` or `web`.
    pub kind: String,
    pub org_id: i64,
    pub redirect_uris: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct NewClient {
    pub client_id: String,
    pub client_secret: String,
}

pub struct Control {
    pub(crate) db: Arc<Db>,
}

fn org_from_row(r: &DbRow) -> Result<Org, StoreError> {
    Ok(Org {
        id: r.get(0)?,
        zgid: r.get(1)?,
        company_name: r.get(2)?,
        edition: r.get(3)?,
        time_zone: r.get(4)?,
        currency: r.get(5)?,
        iso_code: r.get(6)?,
        currency_symbol: r.get(7)?,
        country_code: r.get(8)?,
        primary_user: r.get(9)?,
        created_time: r.get(10)?,
    })
}

const ORG_COLS: &str = "id, zgid, company_name, edition, time_zone, currency, iso_code, currency_symbol, country_code, primary_user, created_time";
const USER_COLS: &str = "id, org_id, email, first_name, last_name, role, profile, status, zuid, time_zone, created_time, modified_time";

fn user_from_row(r: &DbRow) -> Result<User, StoreError> {
    Ok(User {
        id: r.get(0)?,
        org_id: r.get(1)?,
        email: r.get(2)?,
        first_name: r.get(3)?,
        last_name: r.get(4)?,
        role: r.get(5)?,
        profile: r.get(6)?,
        status: r.get(7)?,
        zuid: r.get(8)?,
        time_zone: r.get(9)?,
        created_time: r.get(10)?,
        modified_time: r.get(11)?,
    })
}

/// The client to create: `kind` is `self` or `web`.
struct ClientSpec<'a> {
    name: &'a str,
    kind: &'a str,
    redirect_uris: &'a str,
}

const SELF_CLIENT: ClientSpec<'static> = ClientSpec {
    name: "Self Client",
    kind: "self",
    redirect_uris: "",
};

fn insert_client(
    c: &mut dyn Conn,
    org_id: i64,
    user_id: i64,
    spec: ClientSpec,
    now: i64,
) -> Result<NewClient, StoreError> {
    let client_id = format!("1000.{}", random_hex(15).to_uppercase());
    let client_secret = random_hex(21);
    c.exec(
        "INSERT INTO clients (client_id, secret_hash, org_id, user_id, name, kind, redirect_uris, created_time)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        &args![&client_id, hash(&client_secret), org_id, user_id,
                spec.name, spec.kind, spec.redirect_uris, now],
    )?;
    Ok(NewClient {
        client_id,
        client_secret,
    })
}

/// A grant code about to be issued.
struct Grant<'a> {
    client_id: &'a str,
    org_id: i64,
    user_id: i64,
    scopes: &'a str,
    redirect_uri: Option<&'a str>,
    offline: bool,
    expires_at: i64,
}

fn insert_grant(c: &mut dyn Conn, g: Grant) -> Result<String, StoreError> {
    let code = format!("1000.{}.{}", random_hex(16), random_hex(16));
    c.exec(
        "INSERT INTO grants (code_hash, client_id, org_id, user_id, scopes, redirect_uri, offline, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        &args![hash(&code), g.client_id, g.org_id, g.user_id, g.scopes, g.redirect_uri, g.offline, g.expires_at],
    )?;
    Ok(code)
}

/// An authenticated client: its org, owner and kind (`self` or `web`).
struct Checked {
    org: i64,
    user: i64,
    kind: String,
}

/// Checks the client and its secret (constant-time on the hashes).
fn check_client(c: &mut dyn Conn, client_id: &str, secret: &str) -> Result<Checked, OAuthErr> {
    let row: Option<(String, i64, i64, String)> = c.query_row(
        "SELECT secret_hash, org_id, user_id, kind FROM clients WHERE client_id = ?1",
        &args![client_id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    )?;
    let (stored, org, user, kind) = row.ok_or(OAuthErr::OAuth(OAuthError::InvalidClient))?;
    let given = hash(secret);
    if subtle_eq(stored.as_bytes(), given.as_bytes()) {
        Ok(Checked { org, user, kind })
    } else {
        Err(OAuthErr::OAuth(OAuthError::InvalidClientSecret))
    }
}

fn subtle_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Either a protocol error for the client or a storage failure.
#[derive(Debug)]
pub enum OAuthErr {
    OAuth(OAuthError),
    Store(StoreError),
}

impl From<StoreError> for OAuthErr {
    fn from(e: StoreError) -> Self {
        OAuthErr::Store(e)
    }
}

fn issue_access(
    c: &mut dyn Conn,
    refresh_hash: Option<&str>,
    client_id: &str,
    org: i64,
    user: i64,
    scopes: &str,
    now: i64,
) -> Result<String, StoreError> {
    let access = new_token();
    c.exec(
        "INSERT INTO access_tokens (hash, refresh_hash, client_id, org_id, user_id, scopes, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        &args![hash(&access), refresh_hash, client_id, org, user, scopes, now + ACCESS_TTL_MS],
    )?;
    // Zoho keeps at most 15 live access tokens per refresh token; the oldest goes.
    if let Some(rh) = refresh_hash {
        c.exec(
            "DELETE FROM access_tokens WHERE refresh_hash = ?1 AND hash NOT IN
               (SELECT hash FROM access_tokens WHERE refresh_hash = ?1 AND expires_at > ?2
                ORDER BY expires_at DESC LIMIT 15)",
            &args![rh, now],
        )?;
    }
    Ok(access)
}

pub struct Bootstrap {
    pub org: Org,
    pub admin: User,
    /// In clear only here, to be shown once; the database keeps its hash.
    pub admin_password: String,
    pub client: NewClient,
    pub code: String,
}

/// A consent the user gave on the consent page.
pub struct Approval {
    pub client_id: String,
    pub org_id: i64,
    pub user_id: i64,
    pub scopes: String,
    pub redirect_uri: String,
    pub offline: bool,
    pub ttl_ms: i64,
}

pub struct NewOrg<'a> {
    pub company_name: &'a str,
    pub edition: &'a str,
    pub time_zone: &'a str,
    pub admin_email: &'a str,
    pub scopes: &'a str,
    pub code_ttl_ms: i64,
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

    /// On an empty database, creates the org, its admin user and a Self Client
    /// with a grant code; returns them (once). `ids` yields fresh ids.
    pub async fn bootstrap(
        &self,
        spec: NewOrg<'_>,
        now: i64,
        ids: [i64; 2],
    ) -> Result<Option<Bootstrap>, StoreError> {
        let (company, edition, tz, email, scopes) = (
            spec.company_name.to_string(),
            spec.edition.to_string(),
            spec.time_zone.to_string(),
            spec.admin_email.to_string(),
            spec.scopes.to_string(),
        );
        let ttl = spec.code_ttl_ms;
        // Hashed before the write: Argon2 is slow and the writer is shared.
        let admin_password = password::generate();
        let password_hash = password::hash(&admin_password);
        self.db
            .write(move |c| {
                let exists: i64 = c.query_row("SELECT COUNT(*) FROM orgs", &[], |r| r.get(0))?.unwrap_or(0);
                if exists > 0 {
                    return Ok(None);
                }
                let [org_id, user_id] = ids;
                let zgid = (org_id % 1_000_000_000).to_string();
                c.exec(
                    &format!("INSERT INTO orgs ({ORG_COLS}) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)"),
                    &args![org_id, zgid, company, edition, &tz, "US Dollar - USD", "USD", "$", "US", user_id, now],
                )?;
                c.exec(
                    &format!("INSERT INTO users ({USER_COLS}, password_hash) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)"),
                    &args![user_id, org_id, email, "Admin", "User", "CEO", "Administrator", "active",
                            (user_id % 1_000_000_000).to_string(), tz, now, now, password_hash],
                )?;
                let client = insert_client(c, org_id, user_id, SELF_CLIENT, now)?;
                let code = insert_grant(c, Grant { client_id: &client.client_id, org_id, user_id, scopes: &scopes, redirect_uri: None, offline: true, expires_at: now + ttl })?;
                let org = c
                    .query_row(&format!("SELECT {ORG_COLS} FROM orgs WHERE id = ?1"), &args![org_id], org_from_row)?
                    .ok_or(StoreError::Other("org vanished".into()))?;
                let admin = c
                    .query_row(&format!("SELECT {USER_COLS} FROM users WHERE id = ?1"), &args![user_id], user_from_row)?
                    .ok_or(StoreError::Other("user vanished".into()))?;
                Ok(Some(Bootstrap { org, admin, admin_password, client, code }))
            })
            .await
    }

    /// A new Self Client of the (first) org, with a grant code for `scopes`.
    pub async fn self_client(
        &self,
        scopes: String,
        ttl_ms: i64,
        now: i64,
    ) -> Result<(NewClient, String), StoreError> {
        self.db
            .write(move |c| {
                let (org_id, user_id): (i64, i64) = c
                    .query_row(
                        "SELECT id, primary_user FROM orgs ORDER BY created_time LIMIT 1",
                        &[],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )?
                    .ok_or_else(|| StoreError::Other("no org yet: start the server once".into()))?;
                let client = insert_client(c, org_id, user_id, SELF_CLIENT, now)?;
                let code = insert_grant(
                    c,
                    Grant {
                        client_id: &client.client_id,
                        org_id,
                        user_id,
                        scopes: &scopes,
                        redirect_uri: None,
                        offline: true,
                        expires_at: now + ttl_ms,
                    },
                )?;
                Ok((client, code))
            })
            .await
    }

    /// A web-app client of the (first) org, for the authorization-code flow
    /// through `/oauth/v2/auth`; `redirect_uris` are the exact URIs it may use.
    pub async fn web_client(
        &self,
        name: String,
        redirect_uris: Vec<String>,
        now: i64,
    ) -> Result<NewClient, StoreError> {
        self.db
            .write(move |c| {
                let (org_id, user_id): (i64, i64) = c
                    .query_row(
                        "SELECT id, primary_user FROM orgs ORDER BY created_time LIMIT 1",
                        &[],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )?
                    .ok_or_else(|| StoreError::Other("no org yet: start the server once".into()))?;
                let uris = redirect_uris.join(",");
                let spec = ClientSpec {
                    name: &name,
                    kind: "web",
                    redirect_uris: &uris,
                };
                insert_client(c, org_id, user_id, spec, now)
            })
            .await
    }

    /// Looks up a client for the consent page.
    pub async fn client_info(&self, client_id: &str) -> Result<Option<ClientInfo>, StoreError> {
        let id = client_id.to_string();
        self.db
            .read(move |c| {
                c.query_row(
                    "SELECT name, kind, org_id, redirect_uris FROM clients WHERE client_id = ?1",
                    &args![id],
                    |r| {
                        let uris: String = r.get(3)?;
                        Ok(ClientInfo {
                            name: r.get(0)?,
                            kind: r.get(1)?,
                            org_id: r.get(2)?,
                            redirect_uris: uris
                                .split(',')
                                .filter(|s| !s.is_empty())
                                .map(String::from)
                                .collect(),
                        })
                    },
                )
            })
            .await
    }

    /// Signs a user in: the active user with this email (any case) whose
    /// password matches. Deliberately slow (Argon2): the check runs on a
    /// blocking thread, and callers should bound how many run at once.
    pub async fn check_password(
        &self,
        email: &str,
        given: &str,
    ) -> Result<Option<User>, StoreError> {
        let email = email.trim().to_string();
        let given = given.to_string();
        let row: Option<(User, Option<String>)> = self
            .db
            .read(move |c| {
                c.query_row(
                    &format!(
                        "SELECT {USER_COLS}, password_hash FROM users
                     WHERE lower(email) = lower(?1) AND status = 'active' ORDER BY id LIMIT 1"
                    ),
                    &args![email],
                    |r| Ok((user_from_row(r)?, r.get(12)?)),
                )
            })
            .await?;
        tokio::task::spawn_blocking(move || match row {
            Some((user, Some(phc))) if password::verify(&given, &phc) => Some(user),
            Some((_, Some(_))) => None,
            _ => {
                password::burn(&given);
                None
            }
        })
        .await
        .map_err(|e| StoreError::Other(format!("password check failed: {e}")))
    }

    /// Gives a user (by default the first org's primary user) a new random
    /// password; returns (email, password). The old one stops working.
    pub async fn reset_password(
        &self,
        email: Option<String>,
    ) -> Result<(String, String), StoreError> {
        let new = password::generate();
        let phc = password::hash(&new);
        self.db
            .write(move |c| {
                let row: Option<(i64, String)> = match &email {
                    Some(e) => c
                        .query_row(
                            "SELECT id, email FROM users WHERE lower(email) = lower(?1) ORDER BY id LIMIT 1",
                            &args![e.trim()],
                            |r| Ok((r.get(0)?, r.get(1)?)),
                        )?,
                    None => c
                        .query_row(
                            "SELECT u.id, u.email FROM orgs o JOIN users u ON u.id = o.primary_user
                             ORDER BY o.created_time LIMIT 1",
                            &[],
                            |r| Ok((r.get(0)?, r.get(1)?)),
                        )?,
                };
                let (id, email) = row.ok_or_else(|| match &email {
                    Some(e) => StoreError::Other(format!("no user with email {e}")),
                    None => StoreError::Other("no org yet: start the server once".into()),
                })?;
                c.exec("UPDATE users SET password_hash = ?1 WHERE id = ?2", &args![phc, id])?;
                Ok((email, new))
            })
            .await
    }

    /// Issues a grant code after `user_id` approved the consent page. Codes
    /// from the consent page are bound to the redirect URI they were sent to.
    pub async fn approve(&self, a: Approval, now: i64) -> Result<String, StoreError> {
        self.db
            .write(move |c| {
                insert_grant(
                    c,
                    Grant {
                        client_id: &a.client_id,
                        org_id: a.org_id,
                        user_id: a.user_id,
                        scopes: &a.scopes,
                        redirect_uri: Some(&a.redirect_uri),
                        offline: a.offline,
                        expires_at: now + a.ttl_ms,
                    },
                )
            })
            .await
    }

    /// The client-credentials grant: a Self Client trades its id and secret for
    /// an access token (never a refresh token) on its own org, named by `soid`
    /// (`ZohoCRM.<org id or zgid>`). `scopes` is `None` when the request's were
    /// invalid: the client is authenticated before its request is judged.
    pub async fn client_credentials(
        &self,
        client_id: String,
        secret: String,
        scopes: Option<String>,
        soid: Option<String>,
        now: i64,
    ) -> Result<Issued, OAuthErr> {
        let r = self
            .db
            .write(move |c| {
                let inner = || -> Result<Issued, OAuthErr> {
                    let Checked { org, user, kind } = check_client(c, &client_id, &secret)?;
                    if kind != "self" {
                        return Err(OAuthErr::OAuth(OAuthError::UnauthorizedClient));
                    }
                    let (id, zgid): (i64, String) = c
                        .query_row(
                            "SELECT id, zgid FROM orgs WHERE id = ?1",
                            &args![org],
                            |r| Ok((r.get(0)?, r.get(1)?)),
                        )?
                        .ok_or(OAuthErr::OAuth(OAuthError::InvalidClient))?;
                    let soid = soid.ok_or(OAuthErr::OAuth(OAuthError::MissingOrgInfo))?;
                    let named = soid.strip_prefix("ZohoCRM.").unwrap_or("");
                    if named != id.to_string() && named != zgid {
                        return Err(OAuthErr::OAuth(OAuthError::InvalidClient));
                    }
                    let scopes = scopes.ok_or(OAuthErr::OAuth(OAuthError::InvalidScope))?;
                    let access = issue_access(c, None, &client_id, org, user, &scopes, now)?;
                    Ok(Issued {
                        access_token: access,
                        refresh_token: None,
                        scopes,
                    })
                };
                Ok(inner())
            })
            .await;
        match r {
            Ok(inner) => inner,
            Err(e) => Err(OAuthErr::Store(e)),
        }
    }

    pub async fn exchange_code(
        &self,
        client_id: String,
        secret: String,
        code: String,
        redirect_uri: Option<String>,
        now: i64,
    ) -> Result<Issued, OAuthErr> {
        let r = self
            .db
            .write(move |c| {
                let mut inner = || -> Result<Issued, OAuthErr> {
                    let Checked { org, user, .. } = check_client(c, &client_id, &secret)?;
                    let g: Option<(String, String, Option<String>, bool, i64, bool)> = c
                        .query_row(
                            "SELECT client_id, scopes, redirect_uri, offline, expires_at, used FROM grants WHERE code_hash = ?1",
                            &args![hash(&code)],
                            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)),
                        )?;
                    let Some((g_client, scopes, g_redirect, offline, expires_at, used)) = g else {
                        return Err(OAuthErr::OAuth(OAuthError::InvalidCode));
                    };
                    if g_client != client_id || used || expires_at <= now {
                        return Err(OAuthErr::OAuth(OAuthError::InvalidCode));
                    }
                    if let Some(expected) = g_redirect {
                        if redirect_uri.as_deref() != Some(expected.as_str()) {
                            return Err(OAuthErr::OAuth(OAuthError::InvalidRedirectUri));
                        }
                    }
                    c.exec("UPDATE grants SET used = 1 WHERE code_hash = ?1", &args![hash(&code)])?;
                    let refresh = if offline {
                        let t = new_token();
                        c.exec(
                            "INSERT INTO refresh_tokens (hash, client_id, org_id, user_id, scopes, created_time)
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                            &args![hash(&t), &client_id, org, user, &scopes, now],
                        )?;
                        Some(t)
                    } else {
                        None
                    };
                    let rh = refresh.as_deref().map(hash);
                    let access = issue_access(c, rh.as_deref(), &client_id, org, user, &scopes, now)?;
                    Ok(Issued { access_token: access, refresh_token: refresh, scopes })
                };
                // A protocol error is a committed outcome (the code stays unused), not a rollback.
                Ok(inner())
            })
            .await;
        match r {
            Ok(inner) => inner,
            Err(e) => Err(OAuthErr::Store(e)),
        }
    }

    pub async fn refresh(
        &self,
        client_id: String,
        secret: String,
        refresh_token: String,
        now: i64,
    ) -> Result<Issued, OAuthErr> {
        let r = self
            .db
            .write(move |c| {
                let mut inner = || -> Result<Issued, OAuthErr> {
                    check_client(c, &client_id, &secret)?;
                    let rh = hash(&refresh_token);
                    let row: Option<(String, i64, i64, String, bool)> = c
                        .query_row(
                            "SELECT client_id, org_id, user_id, scopes, revoked FROM refresh_tokens WHERE hash = ?1",
                            &args![&rh],
                            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
                        )?;
                    match row {
                        Some((cid, org, user, scopes, false)) if cid == client_id => {
                            let access = issue_access(c, Some(&rh), &client_id, org, user, &scopes, now)?;
                            Ok(Issued { access_token: access, refresh_token: None, scopes })
                        }
                        _ => Err(OAuthErr::OAuth(OAuthError::InvalidCode)),
                    }
                };
                Ok(inner())
            })
            .await;
        match r {
            Ok(inner) => inner,
            Err(e) => Err(OAuthErr::Store(e)),
        }
    }

    /// Revokes a refresh token (and every access token minted from it) or a
    /// single access token. Returns whether anything was revoked.
    pub async fn revoke(&self, token: String) -> Result<bool, StoreError> {
        self.db
            .write(move |c| {
                let h = hash(&token);
                let n = c.exec("UPDATE refresh_tokens SET revoked = 1 WHERE hash = ?1 AND revoked = 0", &args![&h])?;
                let m = c.exec(
                    "UPDATE access_tokens SET revoked = 1 WHERE (hash = ?1 OR refresh_hash = ?1) AND revoked = 0",
                    &args![&h],
                )?;
                Ok(n + m > 0)
            })
            .await
    }

    pub async fn authenticate(
        &self,
        access_token: &str,
        now: i64,
    ) -> Result<Option<TokenInfo>, StoreError> {
        let h = hash(access_token);
        self.db
            .read(move |c| {
                c.query_row(
                    "SELECT org_id, user_id, client_id, scopes, expires_at FROM access_tokens
                     WHERE hash = ?1 AND revoked = 0 AND expires_at > ?2",
                    &args![h, now],
                    |r| {
                        Ok(TokenInfo {
                            org_id: r.get(0)?,
                            user_id: r.get(1)?,
                            client_id: r.get(2)?,
                            scopes: r.get(3)?,
                            expires_at: r.get(4)?,
                        })
                    },
                )
            })
            .await
    }

    /// Registers a starting server process; its number keeps the ids it
    /// generates apart from those of other nodes sharing the database.
    pub async fn register_node(&self, now: i64) -> Result<u32, StoreError> {
        self.db
            .write(move |c| {
                if c.dialect() == Dialect::Postgres {
                    c.batch("LOCK TABLE nodes IN EXCLUSIVE MODE")?;
                }
                let id: i64 = c
                    .query_row(
                        "INSERT INTO nodes (id, started) SELECT COALESCE(MAX(id), 0) + 1, ?1 FROM nodes RETURNING id",
                        &args![now],
                        |r| r.get(0),
                    )?
                    .unwrap_or(0);
                Ok((id % 1024) as u32)
            })
            .await
    }

    pub async fn orgs(&self) -> Result<Vec<Org>, StoreError> {
        self.db
            .read(|c| {
                c.query_map(
                    &format!("SELECT {ORG_COLS} FROM orgs ORDER BY created_time"),
                    &[],
                    org_from_row,
                )
            })
            .await
    }

    pub async fn users(&self, org_id: i64) -> Result<Vec<User>, StoreError> {
        self.db
            .read(move |c| {
                c.query_map(
                    &format!("SELECT {USER_COLS} FROM users WHERE org_id = ?1 ORDER BY id"),
                    &args![org_id],
                    user_from_row,
                )
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_db(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("zcrm-control-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("control.db")
    }

    #[tokio::test]
    async fn older_database_gains_password_column_and_admin_signs_in() {
        let path = temp_db("migrate");
        // The users table as zcrm created it before passwords.
        rusqlite::Connection::open(&path)
            .unwrap()
            .execute_batch(
                "CREATE TABLE users (
                    id INTEGER PRIMARY KEY, org_id INTEGER NOT NULL, email TEXT NOT NULL,
                    first_name TEXT, last_name TEXT NOT NULL, role TEXT NOT NULL, profile TEXT NOT NULL,
                    status TEXT NOT NULL, zuid TEXT NOT NULL, time_zone TEXT NOT NULL,
                    created_time INTEGER NOT NULL, modified_time INTEGER NOT NULL);",
            )
            .unwrap();
        let db = crate::sqlite::SqliteDb::open(&path, |_| Ok(())).unwrap();
        let control = Control::open(Arc::new(Db::Sqlite(db))).await.unwrap();
        let spec = NewOrg {
            company_name: "Zylker",
            edition: "Enterprise",
            time_zone: "UTC",
            admin_email: "admin@zylker.example",
            scopes: "ZohoCRM.org.READ",
            code_ttl_ms: 60_000,
        };
        let boot = control.bootstrap(spec, 1, [10, 20]).await.unwrap().unwrap();
        let pw = boot.admin_password;
        let who = control
            .check_password("Admin@Zylker.example", &pw)
            .await
            .unwrap();
        assert_eq!(who.map(|u| u.id), Some(20));
        assert!(control
            .check_password("admin@zylker.example", "nope")
            .await
            .unwrap()
            .is_none());
        assert!(control
            .check_password("x@zylker.example", &pw)
            .await
            .unwrap()
            .is_none());
        let (email, new) = control.reset_password(None).await.unwrap();
        assert_eq!(email, "admin@zylker.example");
        assert!(control.check_password(&email, &pw).await.unwrap().is_none());
        assert!(control
            .check_password(&email, &new)
            .await
            .unwrap()
            .is_some());
        control.close();
    }
}
