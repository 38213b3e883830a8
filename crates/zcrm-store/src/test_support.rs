//! What the store's unit tests share: a directory and a PostgreSQL schema
//! each removed with its test, and org ids no other test uses.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};

/// A fresh directory, removed with the test.
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    pub(crate) fn new(label: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!(
            "zcrm-{label}-{}-{}",
            std::process::id(),
            fresh_org_id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A PostgreSQL schema `org_<id>` made for one test, dropped with it.
pub(crate) struct PgSchema {
    pub url: String,
    pub org_id: i64,
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        let sql = format!("DROP SCHEMA IF EXISTS org_{} CASCADE", self.org_id);
        let dropped = std::process::Command::new("psql")
            .args([self.url.as_str(), "-qc", &sql])
            .status();
        if !matches!(dropped, Ok(s) if s.success()) {
            eprintln!("dropping org_{}: {dropped:?}", self.org_id);
        }
    }
}

static COUNTER: AtomicI64 = AtomicI64::new(0);

/// An org id no other test (nor another run sharing the database) uses.
pub(crate) fn fresh_org_id() -> i64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0);
    (nanos / 1_000 % 1_000_000_000_000) * 100 + COUNTER.fetch_add(1, Ordering::Relaxed) % 100
}
