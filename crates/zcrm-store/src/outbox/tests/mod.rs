//! Tests of the outbox against a real org store: SQLite in a temporary
//! directory, and the same test on PostgreSQL (a schema of its own, dropped
//! after) when `ZCRM_TEST_DATABASE_URL` is set.

mod claim;

use super::{enqueue, Change, Channel, Op};
use crate::org::OrgStore;
use crate::Backend;
use std::sync::Arc;
use zcrm_core::meta::Catalog;

/// A time in the past with room either side.
pub(super) const T0: i64 = 1_800_000_000_000;

use crate::test_support::{fresh_org_id, PgSchema, TempDir};

/// One backend's org store for a test.
pub(super) struct TestOrg {
    pub store: Arc<OrgStore>,
    pub backend: &'static str,
    // Dropped after `store` (fields drop in order).
    _pg: Option<PgSchema>,
    _dir: TempDir,
}

impl Drop for TestOrg {
    fn drop(&mut self) {
        self.store.close();
    }
}

/// The org stores a test runs against: SQLite, then PostgreSQL if configured.
pub(super) async fn backends() -> Vec<TestOrg> {
    let catalog = Arc::new(Catalog::standard().expect("catalog"));
    let mut out = Vec::new();
    let org_id = fresh_org_id();
    let dir = TempDir::new(&format!("outbox-{org_id}"));
    let sqlite = Backend::connect(dir.path(), None, &Default::default()).expect("sqlite");
    out.push(TestOrg {
        store: Arc::new(
            sqlite
                .org_store(org_id, catalog.clone(), true)
                .await
                .expect("sqlite org"),
        ),
        backend: "sqlite",
        _pg: None,
        _dir: dir,
    });
    let url = std::env::var("ZCRM_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty());
    if let Some(url) = url {
        let org_id = fresh_org_id();
        let dir = TempDir::new(&format!("outbox-{org_id}"));
        let pg = Backend::connect(dir.path(), Some(&url), &Default::default()).expect("postgres");
        let schema = PgSchema { url, org_id };
        out.push(TestOrg {
            store: Arc::new(
                pg.org_store(org_id, catalog, true)
                    .await
                    .expect("postgres org"),
            ),
            backend: "postgres",
            _pg: Some(schema),
            _dir: dir,
        });
    }
    out
}

/// Subscribes a channel to Leads' creations.
pub(super) async fn watch_leads(store: &OrgStore) {
    let channel = Channel {
        channel_id: "1000".into(),
        module: "Leads".into(),
        events: vec!["create".into()],
        notify_url: "https://hooks.zylker.example/crm".into(),
        token: Some("secret".into()),
        expiry: T0 + 86_400_000,
        notify_on_related_action: true,
        return_affected_field_values: false,
        fields: None,
        notification_condition: None,
        owner: Some("1000.client".into()),
    };
    store
        .save_channels(vec![channel], false, T0)
        .await
        .expect("channel");
}

/// Queues `n` events (one write of one new Lead each), due at `now`.
pub(super) async fn queue(store: &OrgStore, n: i64, now: i64) {
    for id in 0..n {
        let (prefix, catalog) = (store.prefix.clone(), store.catalog.clone());
        let change = Change {
            op: Op::Insert,
            id: 5_000 + id,
            fields: Vec::new(),
        };
        let queued = store
            .db
            .write(move |c| enqueue(c, &prefix, &catalog, "Leads", &[change], now, false))
            .await
            .expect("enqueue");
        assert_eq!(queued, 1);
    }
}
