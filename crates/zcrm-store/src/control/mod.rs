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

use crate::db::pg::CONTROL_SCHEMA;
use crate::db::{Conn, Db};
use crate::migrate::{Applied, Place};
use crate::StoreError;
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// Brings the control tables up to the last of `migrate::control`'s steps
/// (creating them in a fresh database); on PostgreSQL in their own schema,
/// under its advisory lock so that nodes starting together run each step once.
fn migrate(c: &mut dyn Conn) -> Result<(), StoreError> {
    let place = control_place(c);
    crate::migrate::run(c, &place, crate::migrate::control::STEPS)?;
    Ok(())
}

fn control_place(c: &dyn Conn) -> Place {
    Place::new(c, "the control data".into(), CONTROL_SCHEMA)
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

    /// The numbered steps the control data has run (`migrate::control`).
    pub async fn migrations(&self) -> Result<Vec<Applied>, StoreError> {
        self.db
            .read(|c| {
                let place = control_place(c);
                crate::migrate::applied(c, &place)
            })
            .await
    }

    pub fn close(&self) {
        self.db.close();
    }
}
