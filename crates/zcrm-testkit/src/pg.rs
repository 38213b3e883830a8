//! One fresh PostgreSQL database per test server, when the suite runs on
//! PostgreSQL (`ZCRM_TEST_DATABASE_URL`).

use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// A fresh PostgreSQL database for one test server, dropped with it. Set
/// `ZCRM_TEST_DATABASE_URL` (a database the tests may create others from, e.g.
/// `postgres://postgres@127.0.0.1/test`) to run the whole suite on PostgreSQL.
pub struct PgDatabase {
    admin_url: String,
    pub name: String,
    pub url: String,
}

static DB_COUNTER: AtomicU32 = AtomicU32::new(0);

pub fn on_postgres() -> bool {
    admin_url().is_some()
}

fn admin_url() -> Option<String> {
    std::env::var("ZCRM_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

fn psql(url: &str, sql: &str) {
    let out = Command::new("psql")
        .args([url, "-v", "ON_ERROR_STOP=1", "-qc", sql])
        .output()
        .expect("psql (PostgreSQL client) must be installed for the PostgreSQL pass");
    assert!(
        out.status.success(),
        "psql {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl PgDatabase {
    /// `None` on SQLite (no `ZCRM_TEST_DATABASE_URL`).
    pub fn create() -> Option<PgDatabase> {
        let admin_url = admin_url()?;
        let n = DB_COUNTER.fetch_add(1, Ordering::Relaxed);
        // The process id keeps test binaries running at once apart; the
        // nanoseconds keep a rerun apart from a crashed run's leftovers.
        let name = format!("zcrm_t_{}_{n}_{}", std::process::id(), nanos());
        psql(&admin_url, &format!("CREATE DATABASE {name}"));
        let base = admin_url
            .rsplit_once('/')
            .map(|(b, _)| b)
            .unwrap_or(&admin_url);
        let url = format!("{base}/{name}");
        Some(PgDatabase {
            admin_url,
            name,
            url,
        })
    }
}

impl PgDatabase {
    /// Runs the SQL file at `path` (a `pg_dump`, say) in this database.
    pub fn load(&self, path: &std::path::Path) {
        let out = Command::new("psql")
            .args([self.url.as_str(), "-v", "ON_ERROR_STOP=1", "-q", "-f"])
            .arg(path)
            .output()
            .expect("psql (PostgreSQL client) must be installed for the PostgreSQL pass");
        assert!(
            out.status.success(),
            "psql -f {}: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// `sql` run with `psql -At`: its rows, `|` between columns.
    pub fn query(&self, sql: &str) -> String {
        let out = Command::new("psql")
            .args([self.url.as_str(), "-v", "ON_ERROR_STOP=1", "-Atc", sql])
            .output()
            .expect("psql");
        assert!(
            out.status.success(),
            "psql {sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

fn nanos() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0)
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .args([
                &self.admin_url,
                "-qc",
                &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
            ])
            .output();
    }
}
