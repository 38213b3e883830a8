//! The delivery log as the operator sees it (`GET /__zcrm/deliveries`,
//! `zcrm admin deliveries`), and pruning finished events out of it.

use crate::db::{int, opt_int, opt_text, text};
use crate::org::OrgStore;
use crate::StoreError;
use zcrm_core::value::SqlValue;

/// One delivery attempt, as the operator sees it.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub event_id: i64,
    pub attempt: i64,
    pub at: i64,
    pub status_code: Option<i64>,
    pub latency_ms: i64,
    pub error: Option<String>,
    pub outcome: String,
    pub channel_id: String,
    pub module: String,
    pub operation: String,
    pub notify_url: String,
    /// The event's state now: pending, delivered or dead.
    pub event_status: String,
}

impl OrgStore {
    /// Every attempt, newest first, optionally of one event.
    pub async fn attempts(
        &self,
        event_id: Option<i64>,
        limit: i64,
    ) -> Result<Vec<Attempt>, StoreError> {
        let p = self.prefix.clone();
        self.db
            .read(move |c| {
                let rows = c.rows(
                    &format!(
                        "SELECT d.event_id, d.attempt, d.at, d.status_code, d.latency_ms, d.error, d.outcome,
                           o.channel_id, o.module, o.operation, o.notify_url, o.status
                         FROM {p}deliveries d JOIN {p}outbox o ON o.id = d.event_id
                         WHERE (?1 = 0 OR d.event_id = ?1)
                         ORDER BY d.at DESC, d.event_id DESC, d.attempt DESC LIMIT ?2"
                    ),
                    &[event_id.unwrap_or(0).into(), limit.into()],
                )?;
                rows.iter()
                    .map(|r| {
                        Ok(Attempt {
                            event_id: int(&r[0])?,
                            attempt: int(&r[1])?,
                            at: int(&r[2])?,
                            status_code: opt_int(&r[3]),
                            latency_ms: int(&r[4])?,
                            error: opt_text(&r[5]),
                            outcome: text(&r[6])?,
                            channel_id: text(&r[7])?,
                            module: text(&r[8])?,
                            operation: text(&r[9])?,
                            notify_url: text(&r[10])?,
                            event_status: text(&r[11])?,
                        })
                    })
                    .collect()
            })
            .await
    }

    /// Deletes up to `limit` finished events with their attempts: delivered
    /// ones finished before `delivered_before`, dead ones before `dead_before`.
    /// Returns how many events went.
    pub async fn prune_events(
        &self,
        delivered_before: i64,
        dead_before: i64,
        limit: i64,
    ) -> Result<u64, StoreError> {
        let p = self.prefix.clone();
        self.db
            .write(move |c| {
                // `next_at` of a finished event is the time of its last attempt.
                let old = format!(
                    "SELECT id FROM {p}outbox
                     WHERE (status = 'delivered' AND next_at < ?1) OR (status = 'dead' AND next_at < ?2)
                     LIMIT ?3"
                );
                let args = [delivered_before.into(), dead_before.into(), limit.into()];
                let ids: Vec<SqlValue> = c.rows(&old, &args)?.into_iter().map(|mut r| r.remove(0)).collect();
                if ids.is_empty() {
                    return Ok(0);
                }
                let marks: Vec<String> = (1..=ids.len()).map(|i| format!("?{i}")).collect();
                let marks = marks.join(", ");
                c.exec(&format!("DELETE FROM {p}deliveries WHERE event_id IN ({marks})"), &ids)?;
                c.exec(&format!("DELETE FROM {p}outbox WHERE id IN ({marks})"), &ids)
            })
            .await
    }
}
