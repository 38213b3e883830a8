//! Server keys: the secrets zcrm signs its own tokens with (page tokens),
//! shared by every node through the control database and rotated: a new key
//! once the newest is `rotate_ms` old, the older ones kept `keep_ms` longer
//! so tokens signed with them live out their lifetime. These are MAC keys,
//! so they are kept as they are, not hashed: whoever reads the control
//! database could forge a page token, which only moves through records its
//! user may read anyway.

use super::{random_hex, Control};
use crate::args;
use crate::db::{ConnExt, Dialect};
use crate::StoreError;

#[derive(Debug, Clone)]
pub struct ServerKey {
    pub id: i64,
    pub secret: String,
    pub created: i64,
}

impl Control {
    /// The live keys for `purpose`, newest first, making a new one when due.
    pub async fn server_keys(
        &self,
        purpose: &'static str,
        now: i64,
        rotate_ms: i64,
        keep_ms: i64,
    ) -> Result<Vec<ServerKey>, StoreError> {
        self.db
            .write(move |c| {
                if c.dialect() == Dialect::Postgres {
                    c.batch("LOCK TABLE server_keys IN EXCLUSIVE MODE")?;
                }
                c.exec(
                    "DELETE FROM server_keys WHERE purpose = ?1 AND created < ?2",
                    &args![purpose, now - rotate_ms - keep_ms],
                )?;
                let newest: Option<i64> = c
                    .query_row(
                        "SELECT MAX(created) FROM server_keys WHERE purpose = ?1",
                        &args![purpose],
                        |r| r.get(0),
                    )?
                    .flatten();
                if newest.is_none_or(|t| t <= now - rotate_ms) {
                    c.exec(
                        "INSERT INTO server_keys (id, purpose, secret, created)
                         SELECT COALESCE(MAX(id), 0) + 1, ?1, ?2, ?3 FROM server_keys",
                        &args![purpose, random_hex(32), now],
                    )?;
                }
                c.query_map(
                    "SELECT id, secret, created FROM server_keys WHERE purpose = ?1 ORDER BY created DESC, id DESC",
                    &args![purpose],
                    |r| {
                        Ok(ServerKey {
                            id: r.get(0)?,
                            secret: r.get(1)?,
                            created: r.get(2)?,
                        })
                    },
                )
            })
            .await
    }
}
