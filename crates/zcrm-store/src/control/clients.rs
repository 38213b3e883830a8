//! OAuth clients (Self Clients and web apps) and the grant codes issued to
//! them, from the first start, `zcrm admin` or the consent page; listing
//! clients and revoking one with every token it holds.
//!
//! A client's scopes are fixed when it is made: a Self Client's are those of
//! `zcrm admin self-client --scope`, and no token of it (grant code, refresh,
//! client credentials) may carry more. `*` ([`ANY_SCOPE`]) is every scope:
//! the Self Client of the first start (as Zoho's Self Client, which may ask
//! any scope) and web clients, whose every grant is bounded instead by what
//! the user consented to on the consent page.

use super::{hash, random_hex, Control};
use crate::args;
use crate::db::{Conn, ConnExt};
use crate::StoreError;
use zcrm_core::scope::Scopes;

/// A client's scopes when it may be granted any: see the module's comment.
pub const ANY_SCOPE: &str = "*";

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

/// The client to create: `kind` is `self` or `web`; `scopes` the most its
/// tokens may carry.
pub(super) struct ClientSpec<'a> {
    name: &'a str,
    kind: &'a str,
    redirect_uris: &'a str,
    scopes: &'a str,
}

/// A Self Client whose tokens carry at most `scopes`.
pub(super) fn self_client_spec(scopes: &str) -> ClientSpec<'_> {
    ClientSpec {
        name: "Self Client",
        kind: "self",
        redirect_uris: "",
        scopes,
    }
}

/// Whether every scope of `asked` is within a client's `ceiling` (a scope
/// list, or [`ANY_SCOPE`]). Unparsable lists are never within.
pub(super) fn within(ceiling: &str, asked: &str) -> bool {
    if ceiling == ANY_SCOPE {
        return true;
    }
    let (Ok(ceiling), Ok(asked)) = (Scopes::parse_list(ceiling), Scopes::parse_list(asked)) else {
        return false;
    };
    !asked.0.is_empty() && asked.0.iter().all(|s| ceiling.allows(s))
}

pub(super) fn insert_client(
    c: &mut dyn Conn,
    org_id: i64,
    user_id: i64,
    spec: ClientSpec,
    now: i64,
) -> Result<NewClient, StoreError> {
    let client_id = format!("1000.{}", random_hex(15).to_uppercase());
    let client_secret = random_hex(21);
    c.exec(
        "INSERT INTO clients (client_id, secret_hash, org_id, user_id, name, kind, redirect_uris, created_time, scopes)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        &args![&client_id, hash(&client_secret), org_id, user_id,
                spec.name, spec.kind, spec.redirect_uris, now, spec.scopes],
    )?;
    Ok(NewClient {
        client_id,
        client_secret,
    })
}

/// A grant code about to be issued.
pub(super) struct Grant<'a> {
    pub client_id: &'a str,
    pub org_id: i64,
    pub user_id: i64,
    pub scopes: &'a str,
    pub redirect_uri: Option<&'a str>,
    pub offline: bool,
    pub expires_at: i64,
}

pub(super) fn insert_grant(c: &mut dyn Conn, g: Grant) -> Result<String, StoreError> {
    let code = format!("1000.{}.{}", random_hex(16), random_hex(16));
    c.exec(
        "INSERT INTO grants (code_hash, client_id, org_id, user_id, scopes, redirect_uri, offline, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        &args![hash(&code), g.client_id, g.org_id, g.user_id, g.scopes, g.redirect_uri, g.offline, g.expires_at],
    )?;
    Ok(code)
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

impl Control {
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
                let client = insert_client(c, org_id, user_id, self_client_spec(&scopes), now)?;
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
                    scopes: ANY_SCOPE,
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
}

/// A client as `zcrm admin client list` shows it.
#[derive(Debug, Clone)]
pub struct ClientRow {
    pub client_id: String,
    pub name: String,
    /// `self` or `web`.
    pub kind: String,
    pub org_id: i64,
    pub user_id: i64,
    /// The most its tokens may carry; [`ANY_SCOPE`] for any.
    pub scopes: String,
    pub redirect_uris: Vec<String>,
    pub created_time: i64,
    /// Access tokens not yet expired nor revoked.
    pub live_access_tokens: i64,
    /// Refresh tokens not revoked.
    pub refresh_tokens: i64,
    /// Access-token rows kept, live or not (expired ones are pruned as new
    /// tokens are issued).
    pub stored_access_tokens: i64,
}

/// What revoking a client removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Revoked {
    pub access_tokens: u64,
    pub refresh_tokens: u64,
    pub grant_codes: u64,
}

impl Control {
    /// Every client (of `org`, or of every org), oldest first, with how many
    /// live tokens each holds at `now`.
    pub async fn clients(&self, org: Option<i64>, now: i64) -> Result<Vec<ClientRow>, StoreError> {
        self.db
            .read(move |c| {
                c.query_map(
                    "SELECT c.client_id, c.name, c.kind, c.org_id, c.user_id, c.scopes, c.redirect_uris, c.created_time,
                       (SELECT COUNT(*) FROM access_tokens a
                         WHERE a.client_id = c.client_id AND a.revoked = 0 AND a.expires_at > ?1),
                       (SELECT COUNT(*) FROM refresh_tokens r WHERE r.client_id = c.client_id AND r.revoked = 0),
                       (SELECT COUNT(*) FROM access_tokens s WHERE s.client_id = c.client_id)
                     FROM clients c ORDER BY c.created_time, c.client_id",
                    &args![now],
                    |r| {
                        let uris: String = r.get(6)?;
                        Ok(ClientRow {
                            client_id: r.get(0)?,
                            name: r.get(1)?,
                            kind: r.get(2)?,
                            org_id: r.get(3)?,
                            user_id: r.get(4)?,
                            scopes: r.get::<Option<String>>(5)?.unwrap_or_default(),
                            redirect_uris: uris
                                .split(',')
                                .filter(|s| !s.is_empty())
                                .map(String::from)
                                .collect(),
                            created_time: r.get(7)?,
                            live_access_tokens: r.get(8)?,
                            refresh_tokens: r.get(9)?,
                            stored_access_tokens: r.get(10)?,
                        })
                    },
                )
                .map(|all| {
                    all.into_iter()
                        .filter(|r| org.is_none_or(|o| r.org_id == o))
                        .collect()
                })
            })
            .await
    }

    /// Revokes a client: it is removed with its grant codes, refresh and
    /// access tokens, in one transaction. Every node checks tokens against
    /// this database (a cached token for at most the cache's bound), so its
    /// tokens stop working everywhere. `None`: no such client.
    pub async fn revoke_client(&self, client_id: String) -> Result<Option<Revoked>, StoreError> {
        self.db
            .write(move |c| {
                let access = c.exec(
                    "DELETE FROM access_tokens WHERE client_id = ?1",
                    &args![&client_id],
                )?;
                let refresh = c.exec(
                    "DELETE FROM refresh_tokens WHERE client_id = ?1",
                    &args![&client_id],
                )?;
                let grants = c.exec(
                    "DELETE FROM grants WHERE client_id = ?1",
                    &args![&client_id],
                )?;
                let gone = c.exec(
                    "DELETE FROM clients WHERE client_id = ?1",
                    &args![&client_id],
                )?;
                Ok((gone > 0).then_some(Revoked {
                    access_tokens: access,
                    refresh_tokens: refresh,
                    grant_codes: grants,
                }))
            })
            .await
    }
}
