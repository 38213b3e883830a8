//! API limits in the control data: each org's edition, licensed users and
//! overrides, the credits charged per minute (the rolling 24-hour window is
//! the sum of the last 1,440 minute buckets), and usage by API and client.
//!
//! Credits are charged here in blocks ("reservations"): a node reserves a
//! block in one transaction that re-reads the window under a per-org lock, so
//! however many nodes share the database the reserved total never passes the
//! allowance. The node spends the block in memory and gives back what it did
//! not spend (`refund`) when the block expires.

use super::Control;
use crate::args;
use crate::db::{Conn, ConnExt, Dialect};
use crate::StoreError;

pub const MINUTE_MS: i64 = 60_000;
pub const WINDOW_MS: i64 = 86_400_000;

/// The minute bucket `now` falls in.
pub fn minute(now_ms: i64) -> i64 {
    now_ms.div_euclid(MINUTE_MS)
}

/// The oldest minute bucket still inside the 24-hour window at `now`: a
/// credit leaves the window between 24 h and 24 h + 1 min after its call,
/// never earlier.
pub fn window_floor(now_ms: i64) -> i64 {
    (now_ms - WINDOW_MS).div_euclid(MINUTE_MS)
}

/// When bucket `m` leaves the window.
pub fn bucket_expiry_ms(m: i64) -> i64 {
    (m + 1) * MINUTE_MS + WINDOW_MS
}

/// What the control data says about an org's limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitSettings {
    pub org_id: i64,
    /// As stored on the org (`orgs.edition`).
    pub edition: String,
    /// Licensed users: set by `admin org set --users`, else the org's active users.
    pub users: i64,
    pub credits_override: Option<i64>,
    pub concurrency_override: Option<i64>,
    pub enabled: bool,
}

/// A change made by `zcrm admin org set`; `None` keeps the stored value.
#[derive(Debug, Clone, Default)]
pub struct LimitChange {
    pub edition: Option<String>,
    pub users: Option<i64>,
    /// `Some(None)` clears the override (back to the edition's figure).
    pub credits: Option<Option<i64>>,
    pub concurrency: Option<Option<i64>>,
    pub enabled: Option<bool>,
}

/// The result of a reservation.
#[derive(Debug, Clone, Copy)]
pub struct Reservation {
    /// Credits granted to the caller (0: refused, the window has too few left).
    pub granted: i64,
    /// The window's total after the grant (spent plus every node's blocks).
    pub used: i64,
    /// The oldest bucket in the window, if any credit is in it.
    pub oldest_minute: Option<i64>,
}

/// Calls and credits of one API (or client) over the window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageLine {
    pub key: String,
    pub calls: i64,
    pub credits: i64,
    pub refused: i64,
}

/// One row of counts a node flushes.
#[derive(Debug, Clone)]
pub struct UsageDelta {
    pub org_id: i64,
    pub minute: i64,
    pub api: String,
    pub client_id: String,
    pub calls: i64,
    pub credits: i64,
    pub refused: i64,
}

#[derive(Debug, Clone)]
pub struct Usage {
    pub by_api: Vec<UsageLine>,
    pub by_client: Vec<UsageLine>,
}

/// `org_limits` as stored: users, credits, concurrency, enabled.
type StoredLimits = (Option<i64>, Option<i64>, Option<i64>, bool);

fn read_settings(c: &mut dyn Conn, org_id: i64) -> Result<Option<LimitSettings>, StoreError> {
    let org: Option<String> = c.query_row(
        "SELECT edition FROM orgs WHERE id = ?1",
        &args![org_id],
        |r| r.get(0),
    )?;
    let Some(edition) = org else { return Ok(None) };
    let row: Option<StoredLimits> = c.query_row(
        "SELECT users, credits, concurrency, enabled FROM org_limits WHERE org_id = ?1",
        &args![org_id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    )?;
    let (users, credits, concurrency, enabled) = row.unwrap_or((None, None, None, true));
    let users = match users {
        Some(u) => u,
        None => c
            .query_row(
                "SELECT COUNT(*) FROM users WHERE org_id = ?1 AND status = 'active'",
                &args![org_id],
                |r| r.get(0),
            )?
            .unwrap_or(1),
    };
    Ok(Some(LimitSettings {
        org_id,
        edition,
        users,
        credits_override: credits,
        concurrency_override: concurrency,
        enabled,
    }))
}

/// Takes the org's credit lock: on PostgreSQL a row lock that serializes
/// reservations of every node; SQLite's single writer already does.
fn lock_org(c: &mut dyn Conn, org_id: i64) -> Result<(), StoreError> {
    c.exec(
        "INSERT INTO credit_buckets (org_id, minute, credits) VALUES (?1, 0, 0) ON CONFLICT (org_id, minute) DO NOTHING",
        &args![org_id],
    )?;
    if c.dialect() == Dialect::Postgres {
        c.rows(
            "SELECT credits FROM credit_buckets WHERE org_id = ?1 AND minute = 0 FOR UPDATE",
            &args![org_id],
        )?;
    }
    Ok(())
}

fn refund_in(c: &mut dyn Conn, org_id: i64, minute: i64, amount: i64) -> Result<(), StoreError> {
    if amount > 0 {
        c.exec(
            "UPDATE credit_buckets SET credits = CASE WHEN credits > ?3 THEN credits - ?3 ELSE 0 END
             WHERE org_id = ?1 AND minute = ?2",
            &args![org_id, minute, amount],
        )?;
    }
    Ok(())
}

impl Control {
    /// The org's limit settings, `None` if there is no such org.
    pub async fn limit_settings(&self, org_id: i64) -> Result<Option<LimitSettings>, StoreError> {
        self.db.read(move |c| read_settings(c, org_id)).await
    }

    /// Applies `change` to the org's limits (and its edition); returns the result.
    pub async fn set_limits(
        &self,
        org_id: i64,
        change: LimitChange,
        now: i64,
    ) -> Result<Option<LimitSettings>, StoreError> {
        self.db
            .write(move |c| {
                let Some(cur) = read_settings(c, org_id)? else {
                    return Ok(None);
                };
                if let Some(e) = &change.edition {
                    c.exec(
                        "UPDATE orgs SET edition = ?2 WHERE id = ?1",
                        &args![org_id, e],
                    )?;
                }
                let stored: Option<Option<i64>> = c.query_row(
                    "SELECT users FROM org_limits WHERE org_id = ?1",
                    &args![org_id],
                    |r| r.get(0),
                )?;
                let users = change.users.or(stored.flatten());
                let credits = change.credits.unwrap_or(cur.credits_override);
                let concurrency = change.concurrency.unwrap_or(cur.concurrency_override);
                let enabled = change.enabled.unwrap_or(cur.enabled);
                c.exec(
                    "INSERT INTO org_limits (org_id, users, credits, concurrency, enabled, modified_time)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT (org_id) DO UPDATE SET users = excluded.users, credits = excluded.credits,
                       concurrency = excluded.concurrency, enabled = excluded.enabled,
                       modified_time = excluded.modified_time",
                    &args![org_id, users, credits, concurrency, enabled, now],
                )?;
                read_settings(c, org_id)
            })
            .await
    }

    /// Gives back `refund` (unspent credits of an expired block, charged in
    /// its minute), then reserves up to `want` credits, at least `need`, in
    /// the current minute, if the window (`floor`..) leaves room under
    /// `allowance`. One transaction under the org's lock.
    #[allow(clippy::too_many_arguments)]
    pub async fn reserve_credits(
        &self,
        org_id: i64,
        now_minute: i64,
        floor: i64,
        refund: Option<(i64, i64)>,
        need: i64,
        want: i64,
        allowance: i64,
    ) -> Result<Reservation, StoreError> {
        self.db
            .write(move |c| {
                lock_org(c, org_id)?;
                if let Some((m, n)) = refund {
                    refund_in(c, org_id, m, n)?;
                }
                c.exec(
                    "DELETE FROM credit_buckets WHERE org_id = ?1 AND minute > 0 AND minute < ?2",
                    &args![org_id, floor],
                )?;
                let (used, oldest): (i64, Option<i64>) = c
                    .query_row(
                        "SELECT CAST(COALESCE(SUM(credits), 0) AS BIGINT), MIN(CASE WHEN credits > 0 THEN minute END)
                         FROM credit_buckets WHERE org_id = ?1 AND minute >= ?2",
                        &args![org_id, floor],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )?
                    .unwrap_or((0, None));
                let room = (allowance - used).max(0);
                let granted = if room < need { 0 } else { want.clamp(need, room) };
                if granted > 0 {
                    c.exec(
                        "INSERT INTO credit_buckets (org_id, minute, credits) VALUES (?1, ?2, ?3)
                         ON CONFLICT (org_id, minute) DO UPDATE SET credits = credit_buckets.credits + excluded.credits",
                        &args![org_id, now_minute, granted],
                    )?;
                }
                Ok(Reservation {
                    granted,
                    used: used + granted,
                    oldest_minute: if granted > 0 {
                        Some(oldest.unwrap_or(now_minute).min(now_minute))
                    } else {
                        oldest
                    },
                })
            })
            .await
    }

    /// Gives back unspent credits charged in `minute`.
    pub async fn refund_credits(
        &self,
        org_id: i64,
        minute: i64,
        amount: i64,
    ) -> Result<(), StoreError> {
        if amount <= 0 {
            return Ok(());
        }
        self.db
            .write(move |c| {
                lock_org(c, org_id)?;
                refund_in(c, org_id, minute, amount)
            })
            .await
    }

    /// Adds a node's counts; drops rows older than the window.
    pub async fn record_usage(&self, rows: Vec<UsageDelta>, floor: i64) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        self.db
            .write(move |c| {
                let mut orgs = Vec::new();
                for r in &rows {
                    c.exec(
                        "INSERT INTO api_usage (org_id, minute, api, client_id, calls, credits, refused)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                         ON CONFLICT (org_id, minute, api, client_id) DO UPDATE SET
                           calls = api_usage.calls + excluded.calls,
                           credits = api_usage.credits + excluded.credits,
                           refused = api_usage.refused + excluded.refused",
                        &args![r.org_id, r.minute, &r.api, &r.client_id, r.calls, r.credits, r.refused],
                    )?;
                    if !orgs.contains(&r.org_id) {
                        orgs.push(r.org_id);
                    }
                }
                for o in orgs {
                    c.exec(
                        "DELETE FROM api_usage WHERE org_id = ?1 AND minute < ?2",
                        &args![o, floor],
                    )?;
                }
                Ok(())
            })
            .await
    }

    /// Usage of the org since bucket `floor`, by API and by client, most credits first.
    pub async fn usage(&self, org_id: i64, floor: i64) -> Result<Usage, StoreError> {
        self.db
            .read(move |c| {
                let mut lines = |col: &str| {
                    c.query_map(
                        &format!(
                            "SELECT {col}, CAST(SUM(calls) AS BIGINT), CAST(SUM(credits) AS BIGINT), CAST(SUM(refused) AS BIGINT) FROM api_usage
                             WHERE org_id = ?1 AND minute >= ?2 GROUP BY {col}
                             ORDER BY SUM(credits) DESC, SUM(refused) DESC, {col}"
                        ),
                        &args![org_id, floor],
                        |r| {
                            Ok(UsageLine {
                                key: r.get(0)?,
                                calls: r.get(1)?,
                                credits: r.get(2)?,
                                refused: r.get(3)?,
                            })
                        },
                    )
                };
                let by_api = lines("api")?;
                let by_client = lines("client_id")?;
                Ok(Usage { by_api, by_client })
            })
            .await
    }
}
