//! The token endpoint: trading a grant code, a refresh token or client
//! credentials for tokens; revoking them; and checking an access token.

use super::clients::within;
use super::{hash, new_token, Control};
use crate::args;
use crate::db::{Conn, ConnExt, Dialect};
use crate::StoreError;

pub const ACCESS_TTL_MS: i64 = 3_600_000;

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
    /// A grant code used a second time: the tokens it gave are revoked
    /// (RFC 6749 §4.1.2); the client is told `invalid_code`.
    CodeReused,
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
            OAuthError::InvalidCode | OAuthError::CodeReused => "invalid_code",
            OAuthError::InvalidRedirectUri => "invalid_redirect_uri",
            OAuthError::InvalidScope => "invalid_scope",
            OAuthError::UnauthorizedClient => "unauthorized_client",
            OAuthError::MissingOrgInfo => "missing_org_info",
        }
    }
}

/// An authenticated client: its org, owner, kind (`self` or `web`) and the
/// most its tokens may carry (`clients::ANY_SCOPE` for any).
struct Checked {
    org: i64,
    user: i64,
    kind: String,
    scopes: String,
}

impl Checked {
    /// `invalid_scope` unless every scope of `asked` is within the client's.
    fn allows(&self, asked: &str) -> Result<(), OAuthErr> {
        if within(&self.scopes, asked) {
            Ok(())
        } else {
            Err(OAuthErr::OAuth(OAuthError::InvalidScope))
        }
    }
}

/// Checks the client and its secret (constant-time on the hashes).
fn check_client(c: &mut dyn Conn, client_id: &str, secret: &str) -> Result<Checked, OAuthErr> {
    let row: Option<(String, i64, i64, String, Option<String>)> = c.query_row(
        "SELECT secret_hash, org_id, user_id, kind, scopes FROM clients WHERE client_id = ?1",
        &args![client_id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
    )?;
    let (stored, org, user, kind, scopes) =
        row.ok_or(OAuthErr::OAuth(OAuthError::InvalidClient))?;
    let given = hash(secret);
    if subtle_eq(stored.as_bytes(), given.as_bytes()) {
        let scopes = scopes.unwrap_or_default();
        Ok(Checked {
            org,
            user,
            kind,
            scopes,
        })
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

/// Expired access tokens go as new ones come (client credentials mint one per
/// call and nothing else ever removed them): at most 1,000 a call, and on
/// PostgreSQL none another transaction is deleting, so concurrent calls never
/// wait on each other here.
fn prune_expired(c: &mut dyn Conn, now: i64) -> Result<(), StoreError> {
    let lock = match c.dialect() {
        Dialect::Sqlite => "",
        Dialect::Postgres => " FOR UPDATE SKIP LOCKED",
    };
    c.exec(
        &format!(
            "DELETE FROM access_tokens WHERE hash IN
               (SELECT hash FROM access_tokens WHERE expires_at <= ?1 LIMIT 1000{lock})"
        ),
        &args![now],
    )?;
    Ok(())
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
    prune_expired(c, now)?;
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

impl Control {
    /// The client-credentials grant: a Self Client trades its id and secret for
    /// an access token (never a refresh token) on its own org, named by `soid`
    /// (`ZohoCRM.<org id or zgid>`). `scopes` is `None` when the request's were
    /// invalid: the client is authenticated before its request is judged.
    /// Scopes beyond the client's own (fixed when it was made) are
    /// `invalid_scope`, as malformed ones are.
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
                    let client = check_client(c, &client_id, &secret)?;
                    let (org, user) = (client.org, client.user);
                    if client.kind != "self" {
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
                    client.allows(&scopes)?;
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
                    let client = check_client(c, &client_id, &secret)?;
                    let (org, user) = (client.org, client.user);
                    let g: Option<(String, String, Option<String>, bool, i64, bool)> = c
                        .query_row(
                            "SELECT client_id, scopes, redirect_uri, offline, expires_at, used FROM grants WHERE code_hash = ?1",
                            &args![hash(&code)],
                            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)),
                        )?;
                    let Some((g_client, scopes, g_redirect, offline, expires_at, used)) = g else {
                        return Err(OAuthErr::OAuth(OAuthError::InvalidCode));
                    };
                    if g_client == client_id && used {
                        revoke_issued(c, &hash(&code))?;
                        return Err(OAuthErr::OAuth(OAuthError::CodeReused));
                    }
                    if g_client != client_id || expires_at <= now {
                        return Err(OAuthErr::OAuth(OAuthError::InvalidCode));
                    }
                    if let Some(expected) = g_redirect {
                        if redirect_uri.as_deref() != Some(expected.as_str()) {
                            return Err(OAuthErr::OAuth(OAuthError::InvalidRedirectUri));
                        }
                    }
                    client.allows(&scopes)?;
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
                    // What the code gave, so a second use can take it back.
                    c.exec(
                        "UPDATE grants SET used = 1, issued_access = ?2, issued_refresh = ?3 WHERE code_hash = ?1",
                        &args![hash(&code), hash(&access), rh],
                    )?;
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
                    let client = check_client(c, &client_id, &secret)?;
                    let rh = hash(&refresh_token);
                    let row: Option<(String, i64, i64, String, bool)> = c
                        .query_row(
                            "SELECT client_id, org_id, user_id, scopes, revoked FROM refresh_tokens WHERE hash = ?1",
                            &args![&rh],
                            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
                        )?;
                    match row {
                        Some((cid, org, user, scopes, false)) if cid == client_id => {
                            client.allows(&scopes)?;
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
                // The client must still exist: a revoked client's tokens are
                // deleted with it, and one minted while it was being revoked
                // is refused here.
                c.query_row(
                    "SELECT a.org_id, a.user_id, a.client_id, a.scopes, a.expires_at
                     FROM access_tokens a JOIN clients k ON k.client_id = a.client_id
                     WHERE a.hash = ?1 AND a.revoked = 0 AND a.expires_at > ?2",
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
}

/// Revokes the refresh token a grant code gave and every access token from
/// it or from the code itself.
fn revoke_issued(c: &mut dyn Conn, code_hash: &str) -> Result<(), StoreError> {
    let issued: Option<(Option<String>, Option<String>)> = c.query_row(
        "SELECT issued_access, issued_refresh FROM grants WHERE code_hash = ?1",
        &args![code_hash],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let Some((access, refresh)) = issued else {
        return Ok(());
    };
    if let Some(rh) = &refresh {
        c.exec(
            "UPDATE refresh_tokens SET revoked = 1 WHERE hash = ?1",
            &args![rh],
        )?;
        c.exec(
            "UPDATE access_tokens SET revoked = 1 WHERE refresh_hash = ?1",
            &args![rh],
        )?;
    }
    if let Some(ah) = &access {
        c.exec(
            "UPDATE access_tokens SET revoked = 1 WHERE hash = ?1",
            &args![ah],
        )?;
    }
    Ok(())
}
