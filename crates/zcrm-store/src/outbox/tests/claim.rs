//! Claiming due events under a lease and recording attempts.

use super::{backends, queue, watch_leads, T0};
use crate::org::OrgStore;
use crate::outbox::{Finished, LEASE_MS};
use std::collections::HashSet;

async fn claim(store: &OrgStore, now: i64, limit: i64, node: i64) -> Vec<i64> {
    let due = store.claim_due(now, limit, node).await.expect("claim");
    due.iter().map(|d| d.id).collect()
}

/// Node `node`'s attempt `attempt` of an event, finished at `at`.
fn done(
    node: i64,
    event_id: i64,
    attempt: i64,
    at: i64,
    error: Option<&str>,
    retry_at: Option<i64>,
) -> Finished {
    Finished {
        event_id,
        node,
        attempt,
        at,
        status_code: Some(if error.is_none() { 200 } else { 500 }),
        latency_ms: 12,
        error: error.map(String::from),
        retry_at,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_claimers_never_get_the_same_event() {
    for org in backends().await {
        let b = org.backend;
        let store = org.store.clone();
        watch_leads(&store).await;
        queue(&store, 40, T0).await;
        // One after the other at the same instant: the second gets the rest.
        let first = claim(&store, T0, 15, 1).await;
        let second = claim(&store, T0, 100, 2).await;
        assert_eq!((first.len(), second.len()), (15, 25), "{b}");
        assert!(first.iter().all(|id| !second.contains(id)), "{b}");
        // At once, after every lease ran out: four claimers in a loop.
        let at = T0 + LEASE_MS;
        let claimers: Vec<_> = (10..14)
            .map(|node| {
                let store = store.clone();
                tokio::spawn(async move {
                    let mut got = Vec::new();
                    loop {
                        let ids = claim(&store, at, 3, node).await;
                        if ids.is_empty() {
                            return got;
                        }
                        got.extend(ids);
                    }
                })
            })
            .collect();
        let mut all = Vec::new();
        for c in claimers {
            all.extend(c.await.expect("claimer"));
        }
        let distinct: HashSet<i64> = all.iter().copied().collect();
        assert_eq!(all.len(), 40, "{b}: an event was claimed twice or lost");
        assert_eq!(distinct.len(), 40, "{b}");
    }
}

#[tokio::test]
async fn an_expired_lease_is_claimable_again() {
    for org in backends().await {
        let (store, b) = (&org.store, org.backend);
        watch_leads(store).await;
        queue(store, 1, T0).await;
        let first = claim(store, T0, 10, 1).await;
        assert_eq!(first.len(), 1, "{b}");
        assert!(
            claim(store, T0 + LEASE_MS - 1, 10, 2).await.is_empty(),
            "{b}"
        );
        let again = store.claim_due(T0 + LEASE_MS, 10, 2).await.unwrap();
        assert_eq!(again.iter().map(|d| d.id).collect::<Vec<_>>(), first, "{b}");
        // No attempt was recorded: it is still the first.
        assert_eq!(again[0].attempts, 0, "{b}");
        assert_eq!(store.pending_events().await.unwrap(), 1, "{b}");
    }
}

#[tokio::test]
async fn events_not_yet_due_are_not_claimed() {
    for org in backends().await {
        let (store, b) = (&org.store, org.backend);
        watch_leads(store).await;
        queue(store, 2, T0).await;
        assert!(claim(store, T0 - 1, 10, 1).await.is_empty(), "{b}");
        // Oldest first, as many as asked.
        let one = claim(store, T0, 1, 1).await;
        let two = claim(store, T0, 1, 1).await;
        assert!(one[0] < two[0], "{b}");
    }
}

#[tokio::test]
async fn a_recorded_attempt_updates_attempts_and_the_next_try() {
    for org in backends().await {
        let (store, b) = (&org.store, org.backend);
        watch_leads(store).await;
        queue(store, 3, T0).await;
        let ids = claim(store, T0, 10, 1).await;
        let (ok, retry, dead) = (ids[0], ids[1], ids[2]);
        let retry_at = T0 + 30_000;
        store
            .finish_attempts(vec![
                done(1, ok, 1, T0 + 1, None, None),
                done(1, retry, 1, T0 + 1, Some("HTTP 500"), Some(retry_at)),
                done(1, dead, 1, T0 + 1, Some("HTTP 500"), None),
            ])
            .await
            .unwrap();
        assert_eq!(store.pending_events().await.unwrap(), 1, "{b}");
        // The retry waits for its time (its lease is gone: it is not what holds it).
        assert!(claim(store, retry_at - 1, 10, 2).await.is_empty(), "{b}");
        let due = store.claim_due(retry_at, 10, 2).await.unwrap();
        assert_eq!(due.len(), 1, "{b}");
        assert_eq!((due[0].id, due[0].attempts), (retry, 1), "{b}");
        // The log has every attempt, with the event's state now.
        let log = store.attempts(None, 10).await.unwrap();
        let mut seen: Vec<_> = log
            .iter()
            .map(|a| {
                (
                    a.event_id,
                    a.attempt,
                    a.outcome.as_str(),
                    a.event_status.as_str(),
                )
            })
            .collect();
        seen.sort();
        let want = [
            (ok, 1, "delivered", "delivered"),
            (retry, 1, "retry", "pending"),
            (dead, 1, "dead", "dead"),
        ];
        assert_eq!(seen, want, "{b}");
        for a in &log {
            let code = if a.event_id == ok { 200 } else { 500 };
            assert_eq!((a.status_code, a.latency_ms), (Some(code), 12), "{b}");
        }
        // The second attempt succeeds.
        let second = done(2, retry, 2, retry_at + 5, None, None);
        store.finish_attempts(vec![second]).await.unwrap();
        assert_eq!(store.pending_events().await.unwrap(), 0, "{b}");
        assert_eq!(
            store.attempts(Some(retry), 10).await.unwrap().len(),
            2,
            "{b}"
        );
        assert!(
            claim(store, retry_at + LEASE_MS * 10, 10, 3)
                .await
                .is_empty(),
            "{b}"
        );
    }
}

#[tokio::test]
async fn nothing_is_lost_when_a_claimer_dies() {
    for org in backends().await {
        let (store, b) = (&org.store, org.backend);
        watch_leads(store).await;
        queue(store, 5, T0).await;
        // Node 1 claims everything, then never reports.
        assert_eq!(claim(store, T0, 10, 1).await.len(), 5, "{b}");
        assert!(claim(store, T0 + 1, 10, 2).await.is_empty(), "{b}");
        // Its leases run out: another node takes every event.
        let taken = claim(store, T0 + LEASE_MS, 10, 2).await;
        assert_eq!(taken.len(), 5, "{b}");
        let finished = taken
            .iter()
            .map(|&id| done(2, id, 1, T0 + LEASE_MS + 1, None, None));
        store.finish_attempts(finished.collect()).await.unwrap();
        assert_eq!(store.pending_events().await.unwrap(), 0, "{b}");
        // Node 1 wakes up and reports a failure: a delivered event stays delivered.
        let late = done(
            1,
            taken[0],
            1,
            T0 + LEASE_MS + 2,
            Some("timeout"),
            Some(T0 + LEASE_MS + 3),
        );
        store.finish_attempts(vec![late]).await.unwrap();
        assert_eq!(store.pending_events().await.unwrap(), 0, "{b}");
        assert!(
            claim(store, T0 + 10 * LEASE_MS, 10, 3).await.is_empty(),
            "{b}"
        );
    }
}

#[tokio::test]
async fn a_stopping_claimer_frees_its_events_at_once() {
    for org in backends().await {
        let (store, b) = (&org.store, org.backend);
        watch_leads(store).await;
        queue(store, 4, T0).await;
        let mine = claim(store, T0, 2, 1).await;
        let theirs = claim(store, T0, 2, 2).await;
        assert_eq!((mine.len(), theirs.len()), (2, 2), "{b}");
        // One of node 1's events is finished; the other is freed, node 2's are not.
        let d = done(1, mine[0], 1, T0 + 1, Some("HTTP 503"), Some(T0 + 2));
        store.finish_attempts(vec![d]).await.unwrap();
        assert_eq!(store.release_leases(1).await.unwrap(), 1, "{b}");
        let next = claim(store, T0 + 2, 10, 3).await;
        let want: HashSet<i64> = mine.iter().copied().collect();
        assert_eq!(next.into_iter().collect::<HashSet<_>>(), want, "{b}");
    }
}

/// A claimer whose lease ran out (its send queued behind a slow receiver
/// longer than `LEASE_MS`, as the dispatcher allows) and whose event another
/// node then claimed records nothing over the new claim: the new holder keeps
/// its lease, so no third node sends the event meanwhile, and the log's entry
/// for the attempt is the new holder's.
#[tokio::test]
async fn a_late_claimer_does_not_undo_the_current_claim() {
    for org in backends().await {
        let (store, b) = (&org.store, org.backend);
        watch_leads(store).await;
        queue(store, 1, T0).await;
        let id = claim(store, T0, 10, 1).await[0];
        let t1 = T0 + LEASE_MS;
        assert_eq!(claim(store, t1, 10, 2).await, [id], "{b}");
        // Node 1 finally hears back from the receiver: a failure, retry soon.
        let late = done(1, id, 1, t1 + 1, Some("HTTP 500"), Some(t1 + 2));
        store.finish_attempts(vec![late]).await.unwrap();
        // Node 2 still holds it.
        assert!(claim(store, t1 + 2, 10, 3).await.is_empty(), "{b}");
        // Node 2's delivery is what the log says of attempt 1.
        store
            .finish_attempts(vec![done(2, id, 1, t1 + 3, None, None)])
            .await
            .unwrap();
        let log = store.attempts(Some(id), 10).await.unwrap();
        assert_eq!(log.len(), 1, "{b}");
        assert_eq!(log[0].outcome, "delivered", "{b}");
        assert_eq!(store.pending_events().await.unwrap(), 0, "{b}");
    }
}

/// The dispatcher renews its own lease when a claim returns an event it is
/// still sending: the send's outcome is still that claim's. An outcome for an
/// attempt already recorded changes nothing.
#[tokio::test]
async fn a_renewed_claim_records_its_attempt_once() {
    for org in backends().await {
        let (store, b) = (&org.store, org.backend);
        watch_leads(store).await;
        queue(store, 1, T0).await;
        let id = claim(store, T0, 10, 1).await[0];
        assert_eq!(claim(store, T0 + LEASE_MS, 10, 1).await, [id], "{b}");
        let retry_at = T0 + LEASE_MS + 30_000;
        let first = done(
            1,
            id,
            1,
            T0 + LEASE_MS + 1,
            Some("HTTP 500"),
            Some(retry_at),
        );
        store.finish_attempts(vec![first.clone()]).await.unwrap();
        let again = done(1, id, 1, T0 + LEASE_MS + 2, None, None);
        store.finish_attempts(vec![first, again]).await.unwrap();
        let log = store.attempts(Some(id), 10).await.unwrap();
        assert_eq!(log.len(), 1, "{b}");
        assert_eq!(
            (log[0].outcome.as_str(), log[0].event_status.as_str()),
            ("retry", "pending"),
            "{b}"
        );
        let due = store.claim_due(retry_at, 10, 2).await.unwrap();
        assert_eq!((due.len(), due[0].attempts), (1, 1), "{b}");
    }
}
