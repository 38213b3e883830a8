//! The configuration test servers start from.

use crate::pg::PgDatabase;
use std::path::PathBuf;
use zcrm_server::{BulkConfig, Config};

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
        db_pool_size: 16,
        file_store: test_file_store(),
        allow_private_webhooks: None,
        bulk: BulkConfig::default(),
    }
}
