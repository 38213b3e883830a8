//! One database transaction across several calls: what a composite request
//! with `rollback_on_fail` needs. The session is an ordinary [`Db::write`] job
//! (SQLite's writer thread, or one pooled PostgreSQL connection) that stays
//! open and serves work sent to it until told to commit or roll back.
//!
//! Store code does not change: while a future runs inside
//! [`Session::scope`], every [`Db::write`] and [`Db::read`] on the session's
//! database is sent to the session instead of starting its own transaction.
//! Each piece of work runs in its own savepoint, so a failed write undoes only
//! itself (as it would outside a session) and, on PostgreSQL, never leaves the
//! transaction aborted for the work after it.

use crate::db::{Conn, Db};
use crate::StoreError;
use std::future::Future;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

type Work = Box<dyn FnOnce(&mut dyn Conn) -> bool + Send>;

enum Msg {
    Run(Work),
    End { commit: bool },
}

/// A session waiting this long for its next piece of work rolls back: it
/// holds SQLite's only writer (or a PostgreSQL connection and its locks).
const IDLE: Duration = Duration::from_secs(60);

tokio::task_local! {
    static CURRENT: Arc<Tx>;
}

pub(crate) struct Tx {
    /// The address of the [`Db`] the session runs on: work for any other
    /// database (SQLite's control file) runs as usual.
    db: usize,
    sender: mpsc::Sender<Msg>,
}

fn db_key(db: &Db) -> usize {
    db as *const Db as usize
}

/// The session the current task runs in, if it is one on `db`.
pub(crate) fn current(db: &Db) -> Option<Arc<Tx>> {
    CURRENT
        .try_with(|tx| tx.clone())
        .ok()
        .filter(|tx| tx.db == db_key(db))
}

impl Tx {
    /// Runs `f` inside the session, in its own savepoint.
    pub(crate) async fn run<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&mut dyn Conn) -> Result<R, StoreError> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let work: Work = Box::new(move |c| {
            let r = f(c);
            let ok = r.is_ok();
            let _ = tx.send(r);
            ok
        });
        self.sender
            .send(Msg::Run(work))
            .map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }
}

/// Serves work on the session's connection; `true` when it should commit.
fn serve(conn: &mut dyn Conn, rx: mpsc::Receiver<Msg>) -> bool {
    loop {
        match rx.recv_timeout(IDLE) {
            Ok(Msg::Run(work)) => {
                if let Err(e) = conn.batch("SAVEPOINT session_work") {
                    // Dropping `work` tells its caller the session is gone.
                    tracing::error!("session savepoint: {e}");
                    return false;
                }
                let end = if work(conn) {
                    "RELEASE session_work"
                } else {
                    "ROLLBACK TO session_work; RELEASE session_work"
                };
                if let Err(e) = conn.batch(end) {
                    tracing::error!("session savepoint end: {e}");
                    return false;
                }
            }
            Ok(Msg::End { commit }) => return commit,
            Err(_) => {
                tracing::warn!("transaction session idle or abandoned: rolled back");
                return false;
            }
        }
    }
}

/// An open transaction; dropped without [`Session::finish`] it rolls back.
pub struct Session {
    tx: Arc<Tx>,
    done: JoinHandle<Result<bool, StoreError>>,
}

impl Session {
    pub fn begin(db: Arc<Db>) -> Session {
        let (sender, rx) = mpsc::channel();
        let tx = Arc::new(Tx {
            db: db_key(&db),
            sender,
        });
        let done = tokio::spawn(async move {
            db.write(move |conn| {
                if serve(conn, rx) {
                    Ok(true)
                } else {
                    // An error is what makes `write` roll the job back.
                    Err(StoreError::Other("session rolled back".into()))
                }
            })
            .await
        });
        Session { tx, done }
    }

    /// Runs `fut` with every store call on this database inside the session.
    pub async fn scope<F: Future>(&self, fut: F) -> F::Output {
        CURRENT.scope(self.tx.clone(), fut).await
    }

    /// Commits (or rolls back) everything done in the session; resolves once
    /// the commit is durable. `Ok(false)` when it was rolled back.
    pub async fn finish(self, commit: bool) -> Result<bool, StoreError> {
        let _ = self.tx.sender.send(Msg::End { commit });
        match self.done.await {
            Ok(Ok(committed)) => Ok(committed),
            Ok(Err(_)) if !commit => Ok(false),
            Ok(Err(e)) => Err(e),
            Err(e) => Err(StoreError::Other(format!("session task failed: {e}"))),
        }
    }
}
