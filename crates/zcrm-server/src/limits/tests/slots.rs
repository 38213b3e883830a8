//! Concurrency slots, the heavy cap, and the per-operation counters (taken
//! for a flush, put back when it fails; written to the real database).

use super::{backends, settings, T0};
use crate::limits::slots::SlotTable;
use crate::limits::OrgLimiter;
use crate::ops::{self, OpId};
use std::sync::Arc;
use zcrm_store::limits as store;

fn client(id: &str) -> Arc<str> {
    Arc::from(id)
}

#[test]
fn slots_are_taken_up_to_the_cap_and_freed_when_dropped() {
    let t = SlotTable::new(2, 1);
    let app = t.of(&client("1000.A"));
    let one = app.take(false, t.concurrency()).expect("first");
    let two = app.take(false, t.concurrency()).expect("second");
    assert!(app.take(false, t.concurrency()).is_none());
    // Another app of the org has its own slots.
    let other = t.of(&client("1000.B"));
    assert!(other.take(false, t.concurrency()).is_some());
    drop(one);
    let three = app.take(false, t.concurrency()).expect("freed by the drop");
    assert!(app.take(false, t.concurrency()).is_none());
    drop((two, three));
    // The same app's table entry is reused.
    assert!(Arc::ptr_eq(&app, &t.of(&client("1000.A"))));
    assert!(app.take(false, t.concurrency()).is_some());
}

#[test]
fn heavy_calls_have_their_own_lower_cap() {
    let t = SlotTable::new(20, 10);
    let app = t.of(&client("1000.A"));
    let heavy: Vec<_> = (0..10)
        .map(|_| app.take(true, t.heavy_cap()).expect("under the heavy cap"))
        .collect();
    assert!(app.take(true, t.heavy_cap()).is_none());
    // Heavy slots do not use up ordinary ones (a heavy call holds one of each).
    let plain: Vec<_> = (0..20)
        .map(|_| app.take(false, t.concurrency()).expect("ordinary"))
        .collect();
    assert!(app.take(false, t.concurrency()).is_none());
    drop(heavy);
    assert!(app.take(true, t.heavy_cap()).is_some());
    drop(plain);
}

#[test]
fn new_settings_move_the_caps() {
    let lim = OrgLimiter::new(settings(3, 100, 20), T0);
    assert_eq!((lim.slots.concurrency(), lim.slots.heavy_cap()), (20, 10));
    lim.apply(settings(3, 100, 4));
    assert_eq!((lim.slots.concurrency(), lim.slots.heavy_cap()), (4, 4));
    let mut off = settings(3, 100, 4);
    off.enabled = false;
    lim.apply(off);
    assert!(!lim.enabled());
    assert_eq!(lim.effective().concurrency, 4);
}

#[test]
fn counters_are_taken_once_and_put_back() {
    let t = SlotTable::new(5, 5);
    let (coql, org) = (ops::get(OpId::Coql), ops::get(OpId::GetOrg));
    let a = t.of(&client("1000.A"));
    a.count(coql, 3, false);
    a.count(coql, 1, false);
    a.count(coql, 0, true);
    t.of(&client("1000.B")).count(org, 1, false);
    let mut rows = t.take_counts(9, 42);
    rows.sort_by(|x, y| x.client_id.cmp(&y.client_id));
    let seen: Vec<_> = rows
        .iter()
        .map(|r| (r.org_id, r.minute, r.client_id.as_str(), r.api.clone()))
        .collect();
    let want = [(9, 42, "1000.A", coql.key()), (9, 42, "1000.B", org.key())];
    assert_eq!(seen, want);
    assert_eq!((rows[0].calls, rows[0].credits, rows[0].refused), (2, 4, 1));
    assert_eq!((rows[1].calls, rows[1].credits, rows[1].refused), (1, 1, 0));
    // Taken: zero until something else happens.
    assert!(t.take_counts(9, 43).is_empty());
    // A failed write puts them back, to be added to what comes next.
    t.put_back(&rows);
    a.count(coql, 1, false);
    let again = t.take_counts(9, 44);
    let a_row = again.iter().find(|r| r.client_id == "1000.A").expect("A");
    assert_eq!((a_row.calls, a_row.credits, a_row.refused), (3, 5, 1));
    assert_eq!(again.len(), 2);
}

#[tokio::test]
async fn a_flush_writes_the_counts_and_keeps_them_when_the_database_fails() {
    for db in backends().await {
        let (c, b) = (&db.control, db.backend);
        let lim = OrgLimiter::new(settings(11, 100, 5), T0);
        let coql = ops::get(OpId::Coql);
        lim.slots.of(&client("1000.A")).count(coql, 2, false);
        lim.flush(c, T0).await;
        let u = c.usage(11, store::window_floor(T0)).await.unwrap();
        assert_eq!(u.by_api.len(), 1, "{b}");
        assert_eq!(u.by_api[0].key, coql.key(), "{b}");
        assert_eq!((u.by_api[0].calls, u.by_api[0].credits), (1, 2), "{b}");
        assert_eq!(u.by_client[0].key, "1000.A", "{b}");
        // Nothing counted since: a flush writes nothing.
        lim.flush(c, T0 + 1).await;
        let u = c.usage(11, store::window_floor(T0)).await.unwrap();
        assert_eq!(u.by_api[0].calls, 1, "{b}");
        // The database is gone: the counts stay for a later flush.
        lim.slots.of(&client("1000.A")).count(coql, 1, false);
        db.break_usage_writes();
        lim.flush(c, T0 + 2).await;
        let kept = lim.slots.take_counts(11, 0);
        assert_eq!(kept.len(), 1, "{b}");
        assert_eq!((kept[0].calls, kept[0].credits), (1, 1), "{b}");
    }
}

#[tokio::test]
async fn changed_settings_are_read_within_a_second() {
    for db in backends().await {
        let (c, b) = (&db.control, db.backend);
        let spec = zcrm_store::control::NewOrg {
            company_name: "Zylker",
            edition: "Enterprise",
            time_zone: "UTC",
            admin_email: "admin@zylker.example",
            scopes: "ZohoCRM.org.READ",
            code_ttl_ms: 60_000,
        };
        let boot = c.bootstrap(spec, T0, [10, 20]).await.unwrap().unwrap();
        let org = boot.org.id;
        let lim = OrgLimiter::new(c.limit_settings(org).await.unwrap().unwrap(), T0);
        assert_eq!(lim.effective().credits, 51_000, "{b}");
        let change = store::LimitChange {
            credits: Some(Some(500)),
            concurrency: Some(Some(3)),
            ..Default::default()
        };
        c.set_limits(org, change, T0).await.unwrap();
        lim.refresh(c, T0 + crate::limits::SETTINGS_MAX_AGE_MS - 1)
            .await;
        assert_eq!(lim.effective().credits, 51_000, "{b}");
        lim.refresh(c, T0 + crate::limits::SETTINGS_MAX_AGE_MS)
            .await;
        let e = lim.effective();
        assert_eq!((e.credits, e.concurrency, e.heavy), (500, 3, 3), "{b}");
        assert_eq!(lim.slots.concurrency(), 3, "{b}");
        assert_eq!(lim.ledger.figures(T0).limit, 500, "{b}");
    }
}
