//! The configuration test servers start from.

use crate::pg::PgDatabase;
use std::path::{Path, PathBuf};
use tempfile::TempDir;
use zcrm_server::{BulkConfig, Config, ConnConfig, WatchConfig};

/// `ZCRM_TEST_FILE_STORE=s3://…` runs the suite with files in an S3-compatible store.
pub fn test_file_store() -> Option<String> {
    std::env::var("ZCRM_TEST_FILE_STORE")
        .ok()
        .filter(|u| !u.is_empty())
}

/// What every test server starts from: `zcrm serve`'s defaults, with its own
/// data dir and database, an ephemeral port on loopback and the test clock.
pub fn test_config(dir: PathBuf, db: Option<&PgDatabase>) -> Config {
    Config {
        listen: ([127, 0, 0, 1], 0).into(),
        data_dir: dir,
        public_url: None,
        time_zone: "America/Los_Angeles".into(),
        company_name: "Zylker".into(),
        edition: "Enterprise".into(),
        admin_email: "admin@zylker.example".into(),
        test_clock: true,
        database_url: db.map(|d| d.url.clone()),
        db: zcrm_server::DbOptions::default(),
        file_store: test_file_store(),
        allow_private_webhooks: None,
        bulk: BulkConfig::default(),
        watch: WatchConfig::default(),
        connections: ConnConfig::default(),
    }
}

/// A fresh data dir, in memory where the machine has `/dev/shm`: SQLite's
/// `synchronous=FULL` makes each commit an fsync, a tenth of the suite's time
/// on a disk, and no test here is about power loss (after a kill -9 the next
/// process reads the same page cache).
pub fn data_dir() -> TempDir {
    let mut b = tempfile::Builder::new();
    b.prefix("zcrm-test-");
    let shm = Path::new("/dev/shm");
    shm.is_dir()
        .then(|| b.tempdir_in(shm).ok())
        .flatten()
        .unwrap_or_else(|| b.tempdir().expect("a temp dir"))
}
