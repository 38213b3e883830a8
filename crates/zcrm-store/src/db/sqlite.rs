//! SQLite with one writer: a dedicated thread owns the write connection and
//! commits the jobs that queue up while it works in one transaction (group
//! commit), each job inside its own savepoint so one failure never touches
//! another's writes. Reads run on the process's reader threads
//! ([`ReadPool`]) on pooled WAL connections, never on the async workers.

use super::read_pool::ReadPool;
use crate::db::{Conn, Dialect};
use crate::StoreError;
use rusqlite::types::{Value as DbValue, ValueRef};
use rusqlite::{params_from_iter, Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use tokio::sync::oneshot;
use zcrm_core::value::SqlValue;

type Deliver = Box<dyn FnOnce(Result<(), String>) + Send>;
type Job = Box<dyn FnOnce(&Connection) -> Deliver + Send>;

/// Most jobs committed together; bounds the latency a single commit adds.
const MAX_BATCH: usize = 256;

pub struct SqliteDb {
    path: PathBuf,
    writer: Mutex<Option<mpsc::Sender<Job>>>,
    writer_thread: Mutex<Option<thread::JoinHandle<()>>>,
    /// Idle read connections (at most one per reader thread).
    idle: Arc<Mutex<Vec<Connection>>>,
    readers: Arc<ReadPool>,
}

fn open(path: &Path, write: bool) -> Result<Connection, rusqlite::Error> {
    let flags = if write {
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE
    } else {
        OpenFlags::SQLITE_OPEN_READ_ONLY
    } | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let c = Connection::open_with_flags(path, flags)?;
    c.busy_timeout(std::time::Duration::from_secs(10))?;
    // FULL: a 2xx means the commit reached the disk, not just the OS.
    c.execute_batch(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;
         PRAGMA temp_store=MEMORY; PRAGMA mmap_size=1073741824;",
    )?;
    // Reads come through the 1 GiB memory map: file pages the OS shares
    // between every connection (they show in RSS as file pages, not as
    // the process's own memory), so a reader's private page cache matters
    // little and stays small (8 MiB, at most one per reader thread). The
    // writer keeps 64 MiB: it rewrites the index pages an insert touches.
    c.execute_batch(if write {
        "PRAGMA cache_size=-65536;"
    } else {
        "PRAGMA cache_size=-8192;"
    })?;
    c.set_prepared_statement_cache_capacity(256);
    Ok(c)
}

impl SqliteDb {
    /// Opens (creating if needed) the database and runs `init` on the writer
    /// connection before anything else can use it.
    pub fn open(
        path: &Path,
        readers: Arc<ReadPool>,
        init: impl FnOnce(&Connection) -> Result<(), StoreError>,
    ) -> Result<SqliteDb, StoreError> {
        let conn = open(path, true)?;
        init(&conn)?;
        let (tx, rx) = mpsc::channel::<Job>();
        let handle = thread::Builder::new()
            .name(format!(
                "sqlite-writer-{}",
                path.file_name().unwrap_or_default().to_string_lossy()
            ))
            .spawn(move || writer_loop(conn, rx))
            .map_err(|e| StoreError::Other(e.to_string()))?;
        Ok(SqliteDb {
            path: path.to_path_buf(),
            writer: Mutex::new(Some(tx)),
            writer_thread: Mutex::new(Some(handle)),
            idle: Arc::new(Mutex::new(Vec::new())),
            readers,
        })
    }

    /// Runs `f` in the writer's transaction; resolves once it is committed.
    /// An `Err` from `f` rolls back only `f`'s own changes.
    pub async fn write<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&mut dyn Conn) -> Result<R, StoreError> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel::<Result<R, StoreError>>();
        let job: Job = Box::new(move |conn: &Connection| {
            let result = match conn.execute_batch("SAVEPOINT job") {
                Err(e) => Err(StoreError::from(e)),
                Ok(()) => {
                    let r = f(&mut SqliteConn(conn));
                    let end = if r.is_ok() {
                        "RELEASE job"
                    } else {
                        "ROLLBACK TO job; RELEASE job"
                    };
                    match conn.execute_batch(end) {
                        Ok(()) => r,
                        Err(e) => Err(StoreError::from(e)),
                    }
                }
            };
            Box::new(move |committed: Result<(), String>| {
                let out = match committed {
                    Ok(()) => result,
                    Err(e) => Err(StoreError::Other(e)),
                };
                let _ = tx.send(out);
            })
        });
        let sender = self
            .writer
            .lock()
            .map_err(|_| StoreError::Closed)?
            .clone()
            .ok_or(StoreError::Closed)?;
        sender.send(job).map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    /// Runs a read on a pooled connection, on one of the reader threads.
    pub async fn read<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&mut dyn Conn) -> Result<R, StoreError> + Send + 'static,
    {
        let (idle, path, keep) = (self.idle.clone(), self.path.clone(), self.readers.threads());
        self.readers
            .run(move || {
                let conn = idle.lock().map_err(|_| StoreError::Closed)?.pop();
                let conn = match conn {
                    Some(c) => c,
                    None => open(&path, false)?,
                };
                let r = f(&mut SqliteConn(&conn));
                if let Ok(mut pool) = idle.lock() {
                    if pool.len() < keep {
                        pool.push(conn);
                    }
                }
                r
            })
            .await?
    }

    /// A point read (one row by primary key) on the calling thread: a B-tree
    /// descent of microseconds, less than the hand-off to a blocking thread
    /// and back (measured: GET a record ÷ health 0.32 inline, 0.20 handed off).
    /// Anything whose cost grows with the data goes through [`SqliteDb::read`].
    pub fn point_read(
        &self,
        sql: &str,
        params: &[SqlValue],
    ) -> Result<Vec<Vec<SqlValue>>, StoreError> {
        let conn = self.idle.lock().map_err(|_| StoreError::Closed)?.pop();
        let conn = match conn {
            Some(c) => c,
            None => open(&self.path, false)?,
        };
        let r = SqliteConn(&conn).rows(sql, params);
        if let Ok(mut pool) = self.idle.lock() {
            if pool.len() < self.readers.threads() {
                pool.push(conn);
            }
        }
        r
    }

    /// Stops the writer after it has committed everything queued.
    /// Closes the readers, then the writer (which finishes its queue): the
    /// last connection to close checkpoints the WAL into the main file and
    /// removes it, so a cleanly stopped data dir is whole in its `.db` files.
    pub fn close(&self) {
        if let Ok(mut r) = self.idle.lock() {
            r.clear();
        }
        if let Ok(mut w) = self.writer.lock() {
            w.take();
        }
        if let Some(h) = self.writer_thread.lock().ok().and_then(|mut h| h.take()) {
            let _ = h.join();
        }
    }
}

impl Drop for SqliteDb {
    fn drop(&mut self) {
        self.close();
    }
}

fn writer_loop(conn: Connection, rx: mpsc::Receiver<Job>) {
    while let Ok(first) = rx.recv() {
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        let began = conn.execute_batch("BEGIN IMMEDIATE");
        let mut delivers = Vec::with_capacity(jobs.len());
        if let Err(e) = &began {
            let msg = e.to_string();
            for _ in jobs {
                // Never ran: tell the caller the write failed.
                delivers.push((
                    Box::new(|_: Result<(), String>| {}) as Deliver,
                    Some(msg.clone()),
                ));
            }
            tracing::error!("sqlite BEGIN failed: {msg}");
            continue;
        }
        for job in jobs {
            delivers.push((job(&conn), None));
        }
        let committed = conn.execute_batch("COMMIT").map_err(|e| {
            tracing::error!("sqlite COMMIT failed: {e}");
            let _ = conn.execute_batch("ROLLBACK");
            e.to_string()
        });
        for (d, _) in delivers {
            d(committed.clone());
        }
    }
}

/// A SQLite connection seen through [`Conn`]; statements are cached per connection.
pub struct SqliteConn<'a>(pub &'a Connection);

fn to_db(v: &SqlValue) -> DbValue {
    match v {
        SqlValue::Null => DbValue::Null,
        SqlValue::Int(i) => DbValue::Integer(*i),
        SqlValue::Real(f) => DbValue::Real(*f),
        SqlValue::Text(s) => DbValue::Text(s.clone()),
    }
}

fn from_db(v: ValueRef) -> SqlValue {
    match v {
        ValueRef::Null => SqlValue::Null,
        ValueRef::Integer(i) => SqlValue::Int(i),
        ValueRef::Real(f) => SqlValue::Real(f),
        ValueRef::Text(t) => SqlValue::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(_) => SqlValue::Null,
    }
}

impl Conn for SqliteConn<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn exec(&mut self, sql: &str, params: &[SqlValue]) -> Result<u64, StoreError> {
        let mut st = self.0.prepare_cached(sql)?;
        Ok(st.execute(params_from_iter(params.iter().map(to_db)))? as u64)
    }

    fn rows(&mut self, sql: &str, params: &[SqlValue]) -> Result<Vec<Vec<SqlValue>>, StoreError> {
        let mut st = self.0.prepare_cached(sql)?;
        let n = st.column_count();
        let mut rows = st.query(params_from_iter(params.iter().map(to_db)))?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let mut row = Vec::with_capacity(n);
            for i in 0..n {
                row.push(from_db(r.get_ref(i)?));
            }
            out.push(row);
        }
        Ok(out)
    }

    fn batch(&mut self, sql: &str) -> Result<(), StoreError> {
        Ok(self.0.execute_batch(sql)?)
    }
}

/// Checks that an existing SQLite file is whole before it is opened: SQLite
/// itself takes a zero-length or missing file for a new, empty database, so
/// an org whose file was lost or truncated would silently start over empty.
/// A zero-length file is whole only while its WAL holds the data.
pub fn check_file(path: &Path) -> Result<(), StoreError> {
    let damaged = |why: String| {
        StoreError::Other(format!(
            "{} {why}: the data is missing or damaged. Restore it from a backup \
             (or move the data dir away to start afresh); zcrm will not take it \
             for a new, empty database",
            path.display()
        ))
    };
    let meta = std::fs::metadata(path).map_err(|_| damaged("does not exist".into()))?;
    let len = meta.len();
    if len == 0 {
        let wal = path.with_extension("db-wal");
        return match std::fs::metadata(&wal) {
            Ok(m) if m.len() > 0 => Ok(()),
            _ => Err(damaged("is empty".into())),
        };
    }
    let mut header = [0u8; 100];
    let mut f = std::fs::File::open(path).map_err(|e| damaged(format!("cannot be read ({e})")))?;
    std::io::Read::read_exact(&mut f, &mut header)
        .map_err(|_| damaged(format!("is cut short ({len} bytes)")))?;
    if &header[..16] != b"SQLite format 3\0" {
        return Err(damaged("is not a SQLite database".into()));
    }
    let page_size = match u16::from_be_bytes([header[16], header[17]]) {
        1 => 65_536,
        n => u64::from(n),
    };
    let pages = u64::from(u32::from_be_bytes([
        header[28], header[29], header[30], header[31],
    ]));
    if len < page_size * pages {
        return Err(damaged(format!(
            "is cut short ({len} of {} bytes)",
            page_size * pages
        )));
    }
    Ok(())
}
