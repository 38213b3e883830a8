//! The notification dispatcher: claims due outbox events (written with their
//! record change, in its transaction), POSTs Zoho's callback body to the
//! channel's `notify_url`, and records every attempt. Failures are retried
//! with exponential backoff and jitter on the injected clock, then the event
//! is marked dead and kept.

use crate::state::{App, OrgCtx};
use crate::wire::record::render_row;
use serde_json::{json, Map, Value};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch, Semaphore};
use tokio::task::JoinSet;
use zcrm_store::outbox::{Due, Finished, Values};
use zcrm_store::records::{Cell, Row};

/// Attempts per event: the first and 5 retries.
pub const MAX_ATTEMPTS: i64 = 6;
/// First retry delay; each next one doubles (±20 % jitter): 30 s … 8 min.
const BASE_BACKOFF_MS: i64 = 30_000;
/// Bytes of a receiver's answer read at most (then the connection is dropped).
const MAX_RESPONSE_BYTES: usize = 4096;
/// Sends in flight at once, and per receiver host, so one slow receiver holds
/// at most its own share.
const MAX_IN_FLIGHT: usize = 256;
const MAX_PER_HOST: usize = 8;
const CLAIM_BATCH: i64 = 200;
const IDLE_POLL: Duration = Duration::from_millis(50);
const COALESCE: Duration = Duration::from_millis(5);
/// How long finished events and their attempts stay in the delivery log:
/// delivered ones 3 days, dead ones (which an operator may need to replay
/// by hand) 30 days. Checked every 10 minutes of the (injected) clock.
pub const KEEP_DELIVERED_MS: i64 = 3 * 86_400_000;
pub const KEEP_DEAD_MS: i64 = 30 * 86_400_000;
const PRUNE_EVERY_MS: i64 = 600_000;
const PRUNE_BATCH: i64 = 2_000;

/// The delay before attempt `attempt + 1`, after `attempt` failed.
pub fn backoff_ms(attempt: i64) -> i64 {
    let base = BASE_BACKOFF_MS << (attempt - 1).clamp(0, 10);
    let jitter = rand::random_range(0.8..1.2);
    (base as f64 * jitter) as i64
}

/// The callback body, as Zoho sends it (D8 notifications/overview). With
/// `return_affected_field_values`, `affected_values` carries each updated
/// record's changed fields as they were committed, rendered as a record GET
/// renders them (Zoho names the key but documents no sample; see
/// docs/compatibility.md).
pub fn payload(app: &App, org: &OrgCtx, e: &Due) -> Value {
    let query: Map<String, Value> = reqwest::Url::parse(&e.notify_url)
        .map(|u| {
            u.query_pairs()
                .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
                .collect()
        })
        .unwrap_or_default();
    let mut body = json!({
        "server_time": e.server_time,
        "query_params": query,
        "module": e.module,
        "resource_uri": format!("{}/crm/v8/{}", app.public_url, e.module),
        "ids": e.ids,
        "affected_fields": e.affected_fields,
        "operation": e.operation,
        "channel_id": e.channel_id,
        "token": e.token,
    });
    if let Some(values) = &e.values {
        body["affected_values"] = affected_values(org, &e.module, &e.ids, values);
    }
    body
}

fn affected_values(org: &OrgCtx, module: &str, ids: &Value, values: &Values) -> Value {
    let Some(m) = org.store.catalog().module(module) else {
        return json!([]);
    };
    let out: Vec<Value> = ids
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|id| {
            let id = id.as_str()?;
            let stored = values.get(id)?;
            let (fields, cells): (Vec<usize>, Vec<Cell>) = stored
                .iter()
                .filter_map(|(name, cell)| Some((m.field_index(name)?, cell.clone())))
                .unzip();
            let row = Row {
                id: id.parse().ok()?,
                cells,
            };
            let mut rec: Value =
                serde_json::from_str(&render_row(org, m, &fields, &row, false)).ok()?;
            if let Some(o) = rec.as_object_mut() {
                o.remove("id");
            }
            Some(json!({"record_id": id, "values": rec}))
        })
        .collect();
    Value::Array(out)
}

/// One attempt as `GET /__zcrm/deliveries` and `zcrm admin deliveries` show it.
pub fn attempt_json(org_id: i64, a: &zcrm_store::outbox::Attempt) -> Value {
    json!({
        "event_id": event_id(org_id, a.event_id),
        "attempt": a.attempt,
        "at": a.at,
        "status_code": a.status_code,
        "latency_ms": a.latency_ms,
        "error": a.error,
        "outcome": a.outcome,
        "event_status": a.event_status,
        "channel_id": a.channel_id,
        "module": a.module,
        "operation": a.operation,
        "notify_url": without_query(&a.notify_url),
    })
}

/// A URL without its query: receivers often put secrets there (Zoho's own
/// example carries an authorization token), and the delivery log is shown to
/// operators.
fn without_query(url: &str) -> String {
    url.split(['?', '#']).next().unwrap_or("").to_string()
}

pub fn event_id(org_id: i64, id: i64) -> String {
    format!("{org_id}-{id}")
}

struct Dispatcher {
    app: Arc<App>,
    client: reqwest::Client,
    global: Arc<Semaphore>,
    hosts: Mutex<HashMap<String, Arc<Semaphore>>>,
    /// (org, event) this node is sending or waiting to send. A claim that
    /// returns one of them again (its lease ran out while it queued behind a
    /// slow receiver) only renews the lease: it is not sent twice.
    inflight: Mutex<HashSet<(i64, i64)>>,
    /// Marks this process's claims (random: nodes need not be numbered).
    node: i64,
    /// Finished attempts, to the recorder.
    done: mpsc::UnboundedSender<(Arc<OrgCtx>, Finished)>,
}

/// Most attempts recorded in one transaction.
const RECORD_BATCH: usize = 500;

/// Writes finished attempts as they come, batching what has queued up: one
/// write transaction per batch and org instead of one per delivery.
async fn recorder(mut rx: mpsc::UnboundedReceiver<(Arc<OrgCtx>, Finished)>) {
    while let Some(first) = rx.recv().await {
        let mut by_org: HashMap<i64, (Arc<OrgCtx>, Vec<Finished>)> = HashMap::new();
        let mut add = |(org, f): (Arc<OrgCtx>, Finished)| {
            by_org
                .entry(org.org.id)
                .or_insert_with(|| (org, Vec::new()))
                .1
                .push(f)
        };
        add(first);
        for _ in 1..RECORD_BATCH {
            match rx.try_recv() {
                Ok(x) => add(x),
                Err(_) => break,
            }
        }
        for (_, (org, done)) in by_org {
            if let Err(err) = org.store.finish_attempts(done).await {
                tracing::warn!("notifications: recording attempts: {err}");
            }
        }
    }
}

/// Removes an event from the in-flight set when its task ends, however it ends.
struct InFlight<'a>(&'a Dispatcher, (i64, i64));

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if let Ok(mut set) = self.0.inflight.lock() {
            set.remove(&self.1);
        }
    }
}

/// Runs until `stop` turns true; in-flight sends are then abandoned (their
/// lease runs out and another claim sends them again).
pub async fn run(app: Arc<App>, mut stop: watch::Receiver<bool>) {
    let client =
        match crate::outbound::receiver_client(app.allow_private_webhooks, "zcrm-notifications") {
            Ok(c) => c,
            Err(e) => {
                tracing::error!("notifications: cannot build the HTTP client: {e}");
                return;
            }
        };
    let (done, done_rx) = mpsc::unbounded_channel();
    let recording = tokio::spawn(recorder(done_rx));
    let d = Arc::new(Dispatcher {
        done,
        app,
        client,
        global: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
        hosts: Mutex::new(HashMap::new()),
        inflight: Mutex::new(HashSet::new()),
        node: rand::random_range(1..i64::MAX),
    });
    let mut tasks = JoinSet::new();
    let mut pruned_at: Option<i64> = None;
    loop {
        if *stop.borrow() {
            break;
        }
        let now = d.app.now();
        if pruned_at.is_none_or(|at| now - at >= PRUNE_EVERY_MS) {
            pruned_at = Some(now);
            for org in d.app.open_orgs() {
                prune(&org, now).await;
            }
        }
        while tasks.try_join_next().is_some() {}
        let mut busy = false;
        for org in d.app.open_orgs() {
            let now = d.app.now();
            match org.store.claim_due(now, CLAIM_BATCH, d.node).await {
                Ok(due) => {
                    busy |= due.len() as i64 == CLAIM_BATCH;
                    for e in due {
                        let key = (org.org.id, e.id);
                        let fresh = d
                            .inflight
                            .lock()
                            .map(|mut s| s.insert(key))
                            .unwrap_or(false);
                        if !fresh {
                            continue;
                        }
                        let (d, org) = (d.clone(), org.clone());
                        tasks.spawn(async move {
                            let _held = InFlight(&d, key);
                            d.deliver(&org, e).await
                        });
                    }
                }
                Err(e) => tracing::warn!("notifications: claiming events: {e}"),
            }
        }
        if !busy {
            tokio::select! {
                _ = tokio::time::sleep(IDLE_POLL) => {}
                // A write queued events: let its neighbours commit too, so one
                // claim takes many (under steady writes, a claim per write
                // would cost the writer as much as the writes).
                _ = d.app.outbox_wake.notified() => tokio::time::sleep(COALESCE).await,
                _ = stop.changed() => {}
            }
        }
    }
    tasks.abort_all();
    while tasks.join_next().await.is_some() {}
    // Every sender is gone with the tasks and `d`: the recorder writes what
    // is queued, then ends.
    let (app, node) = (d.app.clone(), d.node);
    drop(d);
    let _ = recording.await;
    // Shutting down cleanly: what was claimed but not sent is free at once for
    // the next start or another node, instead of after its lease.
    for org in app.open_orgs() {
        if let Err(e) = org.store.release_leases(node).await {
            tracing::warn!("notifications: releasing claims: {e}");
        }
    }
}

/// Drops finished events past their keeping time, a batch at a time so the
/// writer is never held long.
async fn prune(org: &OrgCtx, now: i64) {
    loop {
        match org
            .store
            .prune_events(now - KEEP_DELIVERED_MS, now - KEEP_DEAD_MS, PRUNE_BATCH)
            .await
        {
            Ok(n) if n as i64 >= PRUNE_BATCH => continue,
            Ok(_) => return,
            Err(e) => {
                tracing::warn!("notifications: pruning the delivery log: {e}");
                return;
            }
        }
    }
}

impl Dispatcher {
    fn host_limit(&self, url: &str) -> Arc<Semaphore> {
        let host = reqwest::Url::parse(url)
            .ok()
            .and_then(|u| u.host_str().map(|h| format!("{h}:{:?}", u.port())))
            .unwrap_or_default();
        let mut hosts = match self.hosts.lock() {
            Ok(h) => h,
            Err(p) => p.into_inner(),
        };
        if hosts.len() > 10_000 {
            hosts.retain(|_, s| s.available_permits() < MAX_PER_HOST);
        }
        hosts
            .entry(host)
            .or_insert_with(|| Arc::new(Semaphore::new(MAX_PER_HOST)))
            .clone()
    }

    async fn deliver(&self, org: &Arc<OrgCtx>, e: Due) {
        let Ok(_host) = self.host_limit(&e.notify_url).acquire_owned().await else {
            return;
        };
        let Ok(_slot) = self.global.clone().acquire_owned().await else {
            return;
        };
        let attempt = e.attempts + 1;
        let body = payload(&self.app, org, &e).to_string();
        let signature = hex::encode(crate::signing::hmac_sha256(
            e.token.as_deref().unwrap_or("").as_bytes(),
            body.as_bytes(),
        ));
        let started = Instant::now();
        let result =
            match crate::outbound::check_url(&e.notify_url, self.app.allow_private_webhooks) {
                Err(why) => Err(why),
                Ok(()) => self
                    .client
                    .post(&e.notify_url)
                    .header("content-type", "application/json")
                    .header("x-zcrm-event-id", event_id(org.org.id, e.id))
                    .header("x-zcrm-attempt", attempt.to_string())
                    .header("x-zcrm-signature", signature)
                    .body(body)
                    .send()
                    .await
                    .map_err(describe),
            };
        let (status, error) = match result {
            Ok(mut resp) => {
                let status = resp.status().as_u16();
                // Read a little (keeps small answers' connections reusable), never more.
                let mut read = 0;
                while read < MAX_RESPONSE_BYTES {
                    match resp.chunk().await {
                        Ok(Some(c)) => read += c.len(),
                        _ => break,
                    }
                }
                let error = (!resp.status().is_success()).then(|| format!("HTTP {status}"));
                (Some(status), error)
            }
            Err(why) => (None, Some(why)),
        };
        let latency = started.elapsed().as_millis() as i64;
        let now = self.app.now();
        let retry_at = match &error {
            Some(_) if attempt < MAX_ATTEMPTS => Some(now + backoff_ms(attempt)),
            _ => None,
        };
        let done = Finished {
            event_id: e.id,
            node: self.node,
            attempt,
            at: now,
            status_code: status,
            latency_ms: latency,
            error,
            retry_at,
        };
        // Recorded by the recorder task, many attempts per transaction. The
        // event's lease keeps it from being claimed again meanwhile.
        let _ = self.done.send((org.clone(), done));
    }
}

fn describe(e: reqwest::Error) -> String {
    if e.is_timeout() {
        "timeout".into()
    } else if e.is_connect() {
        let mut msg = "connection failed".to_string();
        let mut src: Option<&dyn std::error::Error> = std::error::Error::source(&e);
        while let Some(s) = src {
            if s.to_string().starts_with("refused") {
                msg = s.to_string();
            }
            src = s.source();
        }
        msg
    } else {
        format!("request failed: {e}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows() {
        let first = backoff_ms(1);
        assert!((24_000..=36_000).contains(&first));
        let fifth = backoff_ms(5);
        assert!((384_000..=576_000).contains(&fifth));
    }
}
