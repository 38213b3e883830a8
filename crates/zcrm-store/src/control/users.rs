//! Users of an org, and their passwords (Argon2id, checked off the async
//! threads).

use super::Control;
use crate::args;
use crate::db::{ConnExt, DbRow};
use crate::password;
use crate::StoreError;

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

pub(super) const USER_COLS: &str = "id, org_id, email, first_name, last_name, role, profile, status, zuid, time_zone, created_time, modified_time";

pub(super) fn user_from_row(r: &DbRow) -> Result<User, StoreError> {
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

impl Control {
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
