//! One interface over both databases. Store logic is written once against
//! [`Conn`]; SQL text uses numbered placeholders (`?1`, `?2` …), which SQLite
//! takes as they are and the PostgreSQL adapter turns into `$1`, `$2` ….
//! What differs between the dialects beyond that is in [`Dialect`].
//!
//! The lowest layer of the store: `sqlite` and `pg` are the two backends
//! behind [`Db`], `session` one transaction held across calls. Nothing here
//! knows about orgs, records or tables.

pub mod pg;
pub mod read_pool;
pub mod session;
pub mod sqlite;

use crate::StoreError;
use pg::PgDb;
use sqlite::SqliteDb;
use zcrm_core::value::SqlValue;

/// How the databases are used: pool sizes, caches, TLS.
#[derive(Debug, Clone)]
pub struct DbOptions {
    /// Most PostgreSQL connections this process opens.
    pub pool_size: usize,
    /// Most statements each PostgreSQL connection keeps prepared.
    pub statement_cache: usize,
    /// The CA certificate(s) PostgreSQL's certificate must lead to (PEM).
    pub ca_file: Option<std::path::PathBuf>,
    /// SQLite's reader threads (shared by every database file of the process).
    pub sqlite_readers: usize,
}

impl Default for DbOptions {
    fn default() -> Self {
        DbOptions {
            pool_size: 16,
            statement_cache: 256,
            ca_file: None,
            sqlite_readers: read_pool::default_threads(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    pub fn int(self) -> &'static str {
        match self {
            Dialect::Sqlite => "INTEGER",
            Dialect::Postgres => "BIGINT",
        }
    }

    pub fn real(self) -> &'static str {
        match self {
            Dialect::Sqlite => "REAL",
            Dialect::Postgres => "DOUBLE PRECISION",
        }
    }

    /// `expr` made case-insensitive for comparison and unique indexes.
    pub fn ci(self, expr: &str) -> String {
        match self {
            Dialect::Sqlite => format!("{expr} COLLATE NOCASE"),
            Dialect::Postgres => format!("lower({expr})"),
        }
    }
}

/// A connection inside a transaction.
pub trait Conn {
    fn dialect(&self) -> Dialect;
    /// Runs one statement; returns the rows changed.
    fn exec(&mut self, sql: &str, params: &[SqlValue]) -> Result<u64, StoreError>;
    /// Runs one query; every row as values in column order.
    fn rows(&mut self, sql: &str, params: &[SqlValue]) -> Result<Vec<Vec<SqlValue>>, StoreError>;
    /// Runs several statements without parameters (DDL, savepoints).
    fn batch(&mut self, sql: &str) -> Result<(), StoreError>;

    fn row(&mut self, sql: &str, params: &[SqlValue]) -> Result<Option<Vec<SqlValue>>, StoreError> {
        Ok(self.rows(sql, params)?.into_iter().next())
    }
}

/// Both backends behind one handle.
pub enum Db {
    Sqlite(SqliteDb),
    Postgres(PgDb),
}

impl Db {
    pub fn dialect(&self) -> Dialect {
        match self {
            Db::Sqlite(_) => Dialect::Sqlite,
            Db::Postgres(_) => Dialect::Postgres,
        }
    }

    /// Runs `f` in a write transaction; resolves once committed. An `Err` from
    /// `f` rolls back only `f`'s own changes. Inside a [`session::Session`]
    /// on this database it runs in the session's transaction instead.
    pub async fn write<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&mut dyn Conn) -> Result<R, StoreError> + Send + 'static,
    {
        if let Some(tx) = session::current(self) {
            return tx.run(f).await;
        }
        match self {
            Db::Sqlite(db) => db.write(f).await,
            Db::Postgres(db) => db.write(f).await,
        }
    }

    /// Runs a read on a blocking thread (never on the async workers: a
    /// report's GROUP BY may take hundreds of milliseconds).
    pub async fn read<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&mut dyn Conn) -> Result<R, StoreError> + Send + 'static,
    {
        // Inside a session a read must see the session's own uncommitted writes.
        if let Some(tx) = session::current(self) {
            return tx.run(f).await;
        }
        match self {
            Db::Sqlite(db) => db.read(f).await,
            Db::Postgres(db) => db.read(f).await,
        }
    }

    /// A point read: one statement fetching rows by primary key, never a
    /// scan. On PostgreSQL awaited on the runtime with no blocking thread; on
    /// SQLite run in place (see [`SqliteDb::point_read`]). For the hot reads.
    pub async fn point_read(
        &self,
        sql: String,
        params: Vec<SqlValue>,
    ) -> Result<Vec<Vec<SqlValue>>, StoreError> {
        if session::current(self).is_some() {
            return self.read(move |c| c.rows(&sql, &params)).await;
        }
        match self {
            Db::Postgres(db) => db.query(&sql, &params).await,
            Db::Sqlite(db) => db.point_read(&sql, &params),
        }
    }

    pub fn close(&self) {
        match self {
            Db::Sqlite(db) => db.close(),
            Db::Postgres(db) => db.close(),
        }
    }
}

/// A page read with one row too many: the rows, and whether more follow.
pub fn page<T>(mut rows: Vec<T>, limit: u64) -> (Vec<T>, bool) {
    let more = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    (rows, more)
}

/// Reads a column as i64 (or fails loudly: a schema mismatch is our bug).
pub fn int(v: &SqlValue) -> Result<i64, StoreError> {
    match v {
        SqlValue::Int(i) => Ok(*i),
        SqlValue::Real(f) => Ok(*f as i64),
        other => Err(StoreError::Other(format!(
            "expected an integer column, got {other:?}"
        ))),
    }
}

pub fn opt_int(v: &SqlValue) -> Option<i64> {
    match v {
        SqlValue::Int(i) => Some(*i),
        _ => None,
    }
}

pub fn text(v: &SqlValue) -> Result<String, StoreError> {
    match v {
        SqlValue::Text(s) => Ok(s.clone()),
        other => Err(StoreError::Other(format!(
            "expected a text column, got {other:?}"
        ))),
    }
}

pub fn opt_text(v: &SqlValue) -> Option<String> {
    match v {
        SqlValue::Text(s) => Some(s.clone()),
        _ => None,
    }
}

/// A result row with typed access, for code that reads named structs.
pub struct DbRow(pub Vec<SqlValue>);

pub trait FromValue: Sized {
    fn from_value(v: &SqlValue) -> Result<Self, StoreError>;
}

impl FromValue for i64 {
    fn from_value(v: &SqlValue) -> Result<Self, StoreError> {
        int(v)
    }
}

impl FromValue for bool {
    fn from_value(v: &SqlValue) -> Result<Self, StoreError> {
        Ok(int(v)? != 0)
    }
}

impl FromValue for String {
    fn from_value(v: &SqlValue) -> Result<Self, StoreError> {
        text(v)
    }
}

impl<T: FromValue> FromValue for Option<T> {
    fn from_value(v: &SqlValue) -> Result<Self, StoreError> {
        match v {
            SqlValue::Null => Ok(None),
            v => T::from_value(v).map(Some),
        }
    }
}

impl DbRow {
    pub fn get<T: FromValue>(&self, i: usize) -> Result<T, StoreError> {
        T::from_value(self.0.get(i).unwrap_or(&SqlValue::Null))
    }
}

/// Row-mapping helpers over [`Conn`].
pub trait ConnExt: Conn {
    /// The first row mapped by `f`, if there is one.
    fn query_row<T>(
        &mut self,
        sql: &str,
        params: &[SqlValue],
        f: impl FnOnce(&DbRow) -> Result<T, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        match self.row(sql, params)? {
            Some(r) => f(&DbRow(r)).map(Some),
            None => Ok(None),
        }
    }

    fn query_map<T>(
        &mut self,
        sql: &str,
        params: &[SqlValue],
        f: impl Fn(&DbRow) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        self.rows(sql, params)?
            .into_iter()
            .map(|r| f(&DbRow(r)))
            .collect()
    }
}

impl<C: Conn + ?Sized> ConnExt for C {}

/// `args![a, b]` → `[SqlValue::from(a), SqlValue::from(b)]`.
#[macro_export]
macro_rules! args {
    ($($e:expr),* $(,)?) => { [$(zcrm_core::value::SqlValue::from($e)),*] };
}
