//! OAuth clients (Self Clients and web apps) and the grant codes issued to
//! them, from the first start, `zcrm admin` or the consent page.

use super::{hash, random_hex, Control};
use crate::args;
use crate::db::{Conn, ConnExt};
use crate::StoreError;

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

/// The client to create: `kind` is `self` or `web`.
pub(super) struct ClientSpec<'a> {
    name: &'a str,
    kind: &'a str,
    redirect_uris: &'a str,
}

pub(super) const SELF_CLIENT: ClientSpec<'static> = ClientSpec {
    name: "Self Client",
    kind: "self",
    redirect_uris: "",
};

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
