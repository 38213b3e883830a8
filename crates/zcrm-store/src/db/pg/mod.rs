//! PostgreSQL on tokio-postgres: a deadpool pool of async connections, TLS
//! through rustls (`tls`), statements prepared once per connection.
//!
//! Store logic is written once against the synchronous [`Conn`] (SQLite's
//! shape): a job runs on a blocking thread and waits there for each
//! statement, while the connections are driven on the runtime. Single
//! statements that need no transaction ([`PgDb::query`]) are awaited
//! directly and never take a blocking thread: the hot reads use that.

mod conn;
pub mod tls;

use crate::db::{Conn, DbOptions};
use crate::StoreError;
use conn::{pg_err, PgConn};
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use std::str::FromStr;
use std::time::Duration;
use zcrm_core::value::SqlValue;

/// The schema holding orgs, users, clients and tokens.
pub const CONTROL_SCHEMA: &str = "zcrm_control";

pub struct PgDb {
    pool: Pool,
    /// Most statements each connection keeps prepared.
    cache: usize,
}

/// A pooled connection held by one job. Dropped while a transaction may
/// still be open (the job panicked, or COMMIT/ROLLBACK failed) it is closed
/// rather than returned, so no later job inherits the transaction.
struct Held {
    obj: Option<Object>,
    in_tx: bool,
}

impl Drop for Held {
    fn drop(&mut self) {
        if self.in_tx {
            if let Some(o) = self.obj.take() {
                drop(Object::take(o));
            }
        }
    }
}

impl PgDb {
    /// The pool for `url` (connections open on first use: [`PgDb::check`]
    /// makes the first at start).
    pub fn connect(url: &str, opts: &DbOptions) -> Result<PgDb, StoreError> {
        let url = tls::split_url(url)?;
        let mut config = tokio_postgres::Config::from_str(&url.rest)
            .map_err(|e| StoreError::Other(format!("bad database URL: {e}")))?;
        config.options(format!("-c search_path={CONTROL_SCHEMA}"));
        config.application_name("zcrm");
        config.connect_timeout(Duration::from_secs(5));
        config.ssl_mode(url.mode.ssl_mode());
        let ca = url.root_cert.as_deref().or(opts.ca_file.as_deref());
        let tls = tokio_postgres_rustls::MakeRustlsConnect::new(tls::client_config(url.mode, ca)?);
        let manager = Manager::from_config(
            config,
            tls,
            ManagerConfig {
                // A closed connection (restart, idle timeout) is dropped, not reused.
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(opts.pool_size.max(1))
            .runtime(Runtime::Tokio1)
            .create_timeout(Some(Duration::from_secs(10)))
            .wait_timeout(Some(Duration::from_secs(30)))
            .build()
            .map_err(|e| StoreError::Other(format!("database pool: {e}")))?;
        Ok(PgDb {
            pool,
            cache: opts.statement_cache,
        })
    }

    async fn get(&self) -> Result<Object, StoreError> {
        self.pool.get().await.map_err(|e| match e {
            deadpool_postgres::PoolError::Backend(e) => pg_err(e),
            other => StoreError::Other(format!("database pool: {other}")),
        })
    }

    /// Fails at start, not on the first call, when the database is unreachable.
    pub async fn check(&self) -> Result<(), StoreError> {
        self.get().await.map(drop)
    }

    /// Runs `f` on a pooled connection in a blocking thread. `write` wraps it in
    /// a transaction that commits only if `f` succeeds; a read runs each
    /// statement on its own, as SQLite's readers do.
    async fn run<R, F>(&self, write: bool, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&mut dyn Conn) -> Result<R, StoreError> + Send + 'static,
    {
        let obj = self.get().await?;
        let handle = tokio::runtime::Handle::current();
        let cache = self.cache;
        tokio::task::spawn_blocking(move || {
            let mut held = Held {
                obj: Some(obj),
                in_tx: write,
            };
            let client = held.obj.as_deref().ok_or(StoreError::Closed)?;
            if write {
                handle
                    .block_on(client.batch_execute("BEGIN"))
                    .map_err(pg_err)?;
            }
            let r = f(&mut PgConn {
                client,
                handle: &handle,
                cache,
            });
            if !write {
                return r;
            }
            let end = if r.is_ok() { "COMMIT" } else { "ROLLBACK" };
            let ended = handle.block_on(client.batch_execute(end)).map_err(pg_err);
            held.in_tx = ended.is_err();
            ended.and(r)
        })
        .await
        .map_err(|e| StoreError::Other(format!("database task failed: {e}")))?
    }

    pub async fn write<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&mut dyn Conn) -> Result<R, StoreError> + Send + 'static,
    {
        self.run(true, f).await
    }

    pub async fn read<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&mut dyn Conn) -> Result<R, StoreError> + Send + 'static,
    {
        self.run(false, f).await
    }

    /// One statement outside any transaction, awaited on the runtime.
    pub async fn query(
        &self,
        sql: &str,
        params: &[SqlValue],
    ) -> Result<Vec<Vec<SqlValue>>, StoreError> {
        let obj = self.get().await?;
        conn::query(&obj, self.cache, sql, params).await
    }

    pub fn close(&self) {
        self.pool.close();
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        self.close();
    }
}
