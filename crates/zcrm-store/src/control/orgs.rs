//! Orgs: the first start (org, admin and Self Client at once), listing
//! them, and numbering the nodes that share the database.

use super::clients::{insert_client, insert_grant, self_client_spec, Grant, NewClient, ANY_SCOPE};
use super::users::{user_from_row, User, USER_COLS};
use super::Control;
use crate::args;
use crate::db::{ConnExt, DbRow, Dialect};
use crate::password;
use crate::StoreError;

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

pub struct Bootstrap {
    pub org: Org,
    pub admin: User,
    /// In clear only here, to be shown once; the database keeps its hash.
    pub admin_password: String,
    pub client: NewClient,
    pub code: String,
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
                // The first start's Self Client keeps every scope, as Zoho's does.
                let client = insert_client(c, org_id, user_id, self_client_spec(ANY_SCOPE), now)?;
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
}
