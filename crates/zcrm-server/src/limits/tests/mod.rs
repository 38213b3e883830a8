//! Unit tests of the limiter against the real control database: SQLite in a
//! temporary directory, and the same test on PostgreSQL when
//! `ZCRM_TEST_DATABASE_URL` is set (a fresh database per test, dropped after).

mod editions;
mod ledger;
mod slots;

use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use zcrm_store::control::Control;
use zcrm_store::limits::{self as store, LimitSettings};
use zcrm_store::Backend;

/// A PostgreSQL database made for one test, dropped with it.
struct PgDatabase {
    admin_url: String,
    name: String,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn psql(url: &str, sql: &str) -> Result<(), String> {
    let out = Command::new("psql")
        .args([url, "-v", "ON_ERROR_STOP=1", "-qc", sql])
        .output()
        .map_err(|e| format!("psql (PostgreSQL client) must be installed: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

impl PgDatabase {
    /// `None` when `ZCRM_TEST_DATABASE_URL` is not set.
    fn create() -> Option<(PgDatabase, String)> {
        let admin_url = std::env::var("ZCRM_TEST_DATABASE_URL")
            .ok()
            .filter(|u| !u.is_empty())?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!("zcrm_limits_{}_{n}_{nanos}", std::process::id());
        if let Err(e) = psql(&admin_url, &format!("CREATE DATABASE {name}")) {
            panic!("creating {name}: {e}");
        }
        let base = admin_url.rsplit_once('/').map_or(&*admin_url, |(b, _)| b);
        let url = format!("{base}/{name}");
        Some((PgDatabase { admin_url, name }, url))
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let drop = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        if let Err(e) = psql(&self.admin_url, &drop) {
            eprintln!("dropping {}: {e}", self.name);
        }
    }
}

/// One backend's control database for a test.
pub(super) struct TestDb {
    pub control: Control,
    pub backend: &'static str,
    /// The PostgreSQL database's URL.
    pg_url: Option<String>,
    // Dropped after `control` (fields drop in order).
    _pg: Option<PgDatabase>,
    _dir: tempfile::TempDir,
}

impl TestDb {
    /// Makes every later usage write fail: SQLite's writer stops; on
    /// PostgreSQL (whose pool would reconnect) the table goes away.
    pub fn break_usage_writes(&self) {
        match &self.pg_url {
            None => self.control.close(),
            Some(url) => {
                let sql = "ALTER TABLE zcrm_control.api_usage RENAME TO api_usage_gone";
                psql(url, sql).expect("renaming api_usage");
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        self.control.close();
    }
}

/// The control databases a test runs against: SQLite, then PostgreSQL if configured.
pub(super) async fn backends() -> Vec<TestDb> {
    let mut out = Vec::new();
    let opts = zcrm_store::DbOptions {
        pool_size: 4,
        ..Default::default()
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let sqlite = Backend::connect(dir.path(), None, &opts).expect("sqlite");
    out.push(TestDb {
        control: sqlite.control().await.expect("sqlite control"),
        backend: "sqlite",
        pg_url: None,
        _pg: None,
        _dir: dir,
    });
    if let Some((pg, url)) = PgDatabase::create() {
        let dir = tempfile::tempdir().expect("tempdir");
        let backend = Backend::connect(dir.path(), Some(&url), &opts).expect("postgres");
        out.push(TestDb {
            control: backend.control().await.expect("postgres control"),
            backend: "postgres",
            pg_url: Some(url),
            _pg: Some(pg),
            _dir: dir,
        });
    }
    out
}

/// An org's settings with `credits` a day and `concurrency` calls per app.
pub(super) fn settings(org_id: i64, credits: i64, concurrency: i64) -> LimitSettings {
    LimitSettings {
        org_id,
        edition: "Enterprise".into(),
        users: 1,
        credits_override: Some(credits),
        concurrency_override: Some(concurrency),
        enabled: true,
    }
}

/// Credits charged to the org in the window at `now`, as the database has
/// them (a reservation that needs more than any allowance grants nothing).
pub(super) async fn charged(control: &Control, org_id: i64, now: i64) -> i64 {
    let m = store::minute(now);
    let floor = store::window_floor(now);
    let r = control
        .reserve_credits(org_id, m, floor, None, i64::MAX, i64::MAX, 0)
        .await
        .expect("reading the window");
    assert_eq!(r.granted, 0);
    r.used
}

/// A time in the middle of a minute, so a test's few milliseconds never
/// cross into the next bucket.
pub(super) const T0: i64 = 1_800_000_000_000 + 30_000;
