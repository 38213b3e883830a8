//! Delivery of due events: claiming them under a lease (so two dispatchers,
//! on one node or several, never send the same event at once, and one that
//! dies mid-send loses nothing), and recording each attempt's outcome.

use super::enqueue::Values;
use crate::db::{int, opt_text, text, Dialect};
use crate::org::OrgStore;
use crate::StoreError;
use serde_json::Value;
use zcrm_core::value::SqlValue;

/// How long a claimed event is reserved for the node sending it; after that
/// (the node died mid-send) another claim may take it.
pub const LEASE_MS: i64 = 60_000;

/// An event due for an attempt.
#[derive(Debug, Clone)]
pub struct Due {
    pub id: i64,
    pub channel_id: String,
    pub module: String,
    pub operation: String,
    pub ids: Value,
    pub affected_fields: Value,
    pub notify_url: String,
    pub token: Option<String>,
    pub server_time: i64,
    pub attempts: i64,
    /// The changed fields' values per record, when the channel asked for them.
    pub values: Option<Values>,
}

/// One finished attempt, to record.
#[derive(Debug, Clone)]
pub struct Finished {
    pub event_id: i64,
    /// The node whose claim sent it (`node` of [`OrgStore::claim_due`]).
    pub node: i64,
    /// The attempt's number: the claimed event's `attempts` + 1.
    pub attempt: i64,
    pub at: i64,
    pub status_code: Option<u16>,
    pub latency_ms: i64,
    pub error: Option<String>,
    pub retry_at: Option<i64>,
}

impl OrgStore {
    /// Claims up to `limit` due events for this node: they stay reserved for
    /// [`LEASE_MS`]. On PostgreSQL `FOR UPDATE SKIP LOCKED` keeps two nodes
    /// claiming at once from taking the same rows; SQLite has one writer.
    pub async fn claim_due(&self, now: i64, limit: i64, node: i64) -> Result<Vec<Due>, StoreError> {
        let p = self.prefix.clone();
        // Polled often: look with a read first, so an idle outbox never takes
        // a turn of the (SQLite: single) writer.
        let probe = format!(
            "SELECT 1 FROM {p}outbox WHERE status = 'pending' AND next_at <= ?1
               AND (lease_until IS NULL OR lease_until <= ?1) LIMIT 1"
        );
        let any = self
            .db
            .read(move |c| Ok(c.row(&probe, &[now.into()])?.is_some()))
            .await?;
        if !any {
            return Ok(Vec::new());
        }
        self.db
            .write(move |c| {
                let lock = match c.dialect() {
                    Dialect::Sqlite => "",
                    Dialect::Postgres => "FOR UPDATE SKIP LOCKED",
                };
                let rows = c.rows(
                    &format!(
                        "SELECT id, channel_id, module, operation, ids, affected, notify_url, token, server_time, attempts, vals
                         FROM {p}outbox WHERE status = 'pending' AND next_at <= ?1
                           AND (lease_until IS NULL OR lease_until <= ?1)
                         ORDER BY next_at, id LIMIT ?2 {lock}"
                    ),
                    &[now.into(), limit.into()],
                )?;
                if rows.is_empty() {
                    return Ok(Vec::new());
                }
                let mut args: Vec<SqlValue> = vec![(now + LEASE_MS).into(), node.into()];
                args.extend(rows.iter().map(|r| r[0].clone()));
                let marks: Vec<String> = (3..args.len() + 1).map(|i| format!("?{i}")).collect();
                c.exec(
                    &format!(
                        "UPDATE {p}outbox SET lease_until = ?1, claimed_by = ?2 WHERE id IN ({})",
                        marks.join(", ")
                    ),
                    &args,
                )?;
                let mut out = Vec::with_capacity(rows.len());
                for r in rows {
                    let id = int(&r[0])?;
                    let json = |v: &SqlValue| -> Value {
                        opt_text(v)
                            .and_then(|s| serde_json::from_str(&s).ok())
                            .unwrap_or(Value::Array(vec![]))
                    };
                    out.push(Due {
                        id,
                        channel_id: text(&r[1])?,
                        module: text(&r[2])?,
                        operation: text(&r[3])?,
                        ids: json(&r[4]),
                        affected_fields: json(&r[5]),
                        notify_url: text(&r[6])?,
                        token: opt_text(&r[7]),
                        server_time: int(&r[8])?,
                        attempts: int(&r[9])?,
                        values: opt_text(&r[10]).and_then(|s| serde_json::from_str(&s).ok()),
                    });
                }
                Ok(out)
            })
            .await
    }

    /// Records attempts and moves their events on, in one transaction: each
    /// is delivered, retried at `retry_at`, or dead (`retry_at` = `None` after
    /// a failure).
    ///
    /// Only the current claim's attempt counts: the event must still be
    /// claimed by `node` and be at attempt `attempt`. A node whose lease ran
    /// out while it sent, and whose event another node has claimed since,
    /// changes nothing: clearing the new holder's lease would let a third node
    /// send the event meanwhile, and its log entry would take the attempt's
    /// number from the new holder's.
    pub async fn finish_attempts(&self, done: Vec<Finished>) -> Result<(), StoreError> {
        let p = self.prefix.clone();
        self.db
            .write(move |c| {
                for f in done {
                    let ok = f.error.is_none();
                    let (status, outcome) = match (ok, f.retry_at) {
                        (true, _) => ("delivered", "delivered"),
                        (false, Some(_)) => ("pending", "retry"),
                        (false, None) => ("dead", "dead"),
                    };
                    let current = c.exec(
                        &format!(
                            "UPDATE {p}outbox SET status = ?1, attempts = ?2, next_at = ?3, lease_until = NULL,
                               last_error = ?4
                             WHERE id = ?5 AND status = 'pending' AND claimed_by = ?6 AND attempts = ?7"
                        ),
                        &[
                            status.into(),
                            f.attempt.into(),
                            f.retry_at.unwrap_or(f.at).into(),
                            f.error.clone().into(),
                            f.event_id.into(),
                            f.node.into(),
                            (f.attempt - 1).into(),
                        ],
                    )?;
                    if current == 0 {
                        continue;
                    }
                    c.exec(
                        &format!(
                            "INSERT INTO {p}deliveries (event_id, attempt, at, status_code, latency_ms, error, outcome)
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (event_id, attempt) DO NOTHING"
                        ),
                        &[
                            f.event_id.into(),
                            f.attempt.into(),
                            f.at.into(),
                            f.status_code.map(|s| s as i64).into(),
                            f.latency_ms.into(),
                            f.error.into(),
                            outcome.into(),
                        ],
                    )?;
                }
                Ok(())
            })
            .await
    }

    /// Frees what `node` claimed and has not finished (it is stopping).
    pub async fn release_leases(&self, node: i64) -> Result<u64, StoreError> {
        let p = self.prefix.clone();
        self.db
            .write(move |c| {
                c.exec(
                    &format!(
                        "UPDATE {p}outbox SET lease_until = NULL
                         WHERE status = 'pending' AND claimed_by = ?1 AND lease_until IS NOT NULL"
                    ),
                    &[node.into()],
                )
            })
            .await
    }

    /// Events not yet delivered nor dead.
    pub async fn pending_events(&self) -> Result<i64, StoreError> {
        let p = self.prefix.clone();
        self.db
            .read(move |c| {
                int(&c
                    .row(
                        &format!("SELECT COUNT(*) FROM {p}outbox WHERE status = 'pending'"),
                        &[],
                    )?
                    .map(|r| r[0].clone())
                    .unwrap_or(SqlValue::Int(0)))
            })
            .await
    }
}
