//! The threads SQLite reads run on: a fixed number, shared by every database
//! file of the process, each at the lowest CPU priority. A report's GROUP BY
//! over a million rows is half a second of CPU; on the async workers it would
//! stall every call they serve, and even on ordinary threads it would take
//! the workers' turn on the cores (measured: health p99 1.85 s on the
//! workers, 83 ms on plain blocking threads). At the lowest priority the
//! reads get whatever CPU the workers leave.

use crate::StoreError;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot};

type Job = Box<dyn FnOnce() + Send>;

/// Reads waiting for a thread; beyond this, callers wait to queue.
const QUEUE: usize = 1024;

pub struct ReadPool {
    sender: mpsc::Sender<Job>,
    threads: usize,
}

/// The default number of reader threads: one per CPU (at least two). Reads
/// through the memory map are CPU work, so more threads than cores add no
/// throughput, only contention (measured on 2 cores with 8 GROUP BYs running:
/// 8 threads, health p99 6.5 ms; 2 threads, 1.45 ms; the same 14 GROUP BYs a
/// second either way), and each thread's memory map and page cache.
pub fn default_threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .max(2)
}

impl ReadPool {
    pub fn new(threads: usize) -> Result<Arc<ReadPool>, StoreError> {
        let threads = threads.max(1);
        let (sender, receiver) = mpsc::channel::<Job>(QUEUE);
        let receiver = Arc::new(Mutex::new(receiver));
        for i in 0..threads {
            let receiver = receiver.clone();
            std::thread::Builder::new()
                .name(format!("sqlite-reader-{i}"))
                .spawn(move || serve(&receiver))
                .map_err(|e| StoreError::Other(format!("starting a reader thread: {e}")))?;
        }
        Ok(Arc::new(ReadPool { sender, threads }))
    }

    /// How many reads run at once.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Runs `f` on one of the pool's threads.
    pub async fn run<R: Send + 'static>(
        &self,
        f: impl FnOnce() -> R + Send + 'static,
    ) -> Result<R, StoreError> {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move || {
            // A panicking read drops `tx`: its caller gets an error, the
            // thread lives on for the next read.
            if let Ok(r) = catch_unwind(AssertUnwindSafe(f)) {
                let _ = tx.send(r);
            }
        });
        self.sender
            .send(job)
            .await
            .map_err(|_| StoreError::Closed)?;
        rx.await
            .map_err(|_| StoreError::Other("a database read failed (panicked)".into()))
    }
}

fn serve(receiver: &Mutex<mpsc::Receiver<Job>>) {
    if let Err(e) =
        thread_priority::set_current_thread_priority(thread_priority::ThreadPriority::Min)
    {
        tracing::debug!("reader thread keeps normal priority: {e:?}");
    }
    loop {
        let job = match receiver.lock() {
            Ok(mut r) => r.blocking_recv(),
            Err(_) => return,
        };
        match job {
            Some(job) => job(),
            None => return,
        }
    }
}
