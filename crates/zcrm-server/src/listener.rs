//! Accepting connections with bounds: at most `max_connections` at once (the
//! rest wait in the kernel's backlog), request headers read within
//! `header_read_timeout` (a client that trickles its headers is cut off), and
//! a connection with no traffic for `idle_timeout` closed. axum's own `serve`
//! has none of these knobs, so connections are served with hyper here.

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};

/// Bounds on the connections one node keeps.
#[derive(Debug, Clone, Copy)]
pub struct ConnConfig {
    pub max_connections: usize,
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
}

impl Default for ConnConfig {
    fn default() -> Self {
        ConnConfig {
            max_connections: 4_096,
            header_read_timeout: Duration::from_secs(15),
            idle_timeout: Duration::from_secs(60),
        }
    }
}

/// A TCP stream that notes when bytes last moved, for the idle check.
struct Watched {
    inner: TcpStream,
    start: Instant,
    /// Milliseconds after `start` of the last read or write.
    last: Arc<AtomicU64>,
    /// Whether the client has sent a byte: until it does, the header
    /// timeout is its idle limit (hyper's own starts at the first byte).
    spoke: Arc<AtomicBool>,
}

impl Watched {
    fn touch(&self) {
        let ms = self.start.elapsed().as_millis() as u64;
        self.last.store(ms, Ordering::Relaxed);
    }
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.touch();
            self.spoke.store(true, Ordering::Relaxed);
        }
        r
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.touch();
        }
        r
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// File descriptors kept for everything but client connections (databases,
/// files, webhooks).
const RESERVED_FDS: u64 = 256;

/// The process's soft limit on open files, where Linux tells it.
fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// At most `wanted` connections, and never so many that accepting one more
/// would fail for want of a file descriptor: past the cap a client waits in
/// the backlog, where the server still accepts once a slot frees, instead
/// of the accept loop failing while the sockets it holds stay open.
fn connection_cap(wanted: usize) -> usize {
    let cap = match open_files_limit() {
        Some(n) if n > RESERVED_FDS * 2 => wanted.min((n - RESERVED_FDS) as usize),
        Some(n) => wanted.min((n / 2).max(1) as usize),
        None => wanted,
    };
    if cap < wanted {
        tracing::warn!(
            "serving at most {cap} connections at once: the open-file limit allows no more \
             (raise `ulimit -n` for --max-connections {wanted})"
        );
    }
    cap.max(1)
}

/// Serves `router` on `listener` until `shutdown` resolves, then lets every
/// open connection finish what it is answering and waits for them.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let max = connection_cap(limits.max_connections);
    let slots = Arc::new(Semaphore::new(max));
    let (stop, stopping) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => p.expect("the semaphore is never closed"),
            _ = &mut shutdown => break,
        };
        let stream = tokio::select! {
            r = listener.accept() => match r {
                Ok((s, _)) => s,
                // Out of file descriptors and the like: wait instead of spinning.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let stopping = stopping.clone();
        tokio::spawn(async move {
            connection(stream, router, limits, stopping).await;
            drop(permit);
        });
    }
    drop(listener);
    let _ = stop.send(true);
    // Every connection holds a slot until it ends: all slots back means all done.
    let _ = slots.acquire_many(max as u32).await;
    Ok(())
}

async fn connection(
    stream: TcpStream,
    router: Router,
    limits: ConnConfig,
    mut stopping: watch::Receiver<bool>,
) {
    let last = Arc::new(AtomicU64::new(0));
    let spoke = Arc::new(AtomicBool::new(false));
    let io = Watched {
        inner: stream,
        start: Instant::now(),
        last: last.clone(),
        spoke: spoke.clone(),
    };
    let start = io.start;
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    builder.http2().timer(TokioTimer::new());
    let conn =
        builder.serve_connection_with_upgrades(TokioIo::new(io), TowerToHyperService::new(router));
    let mut conn = std::pin::pin!(conn);
    let mut closing = false;
    let limit = || {
        if spoke.load(Ordering::Relaxed) {
            limits.idle_timeout
        } else {
            limits.header_read_timeout.min(limits.idle_timeout)
        }
    };
    loop {
        let idle_for = start
            .elapsed()
            .saturating_sub(Duration::from_millis(last.load(Ordering::Relaxed)));
        let wait = limit().saturating_sub(idle_for);
        tokio::select! {
            _ = conn.as_mut() => return,
            _ = tokio::time::sleep(wait), if !closing => {
                let idle_for = start
                    .elapsed()
                    .saturating_sub(Duration::from_millis(last.load(Ordering::Relaxed)));
                if idle_for >= limit() {
                    // Ends the connection once a request in flight (if any) is answered.
                    conn.as_mut().graceful_shutdown();
                    closing = true;
                }
            }
            _ = stopping.changed(), if !closing => {
                conn.as_mut().graceful_shutdown();
                closing = true;
            }
        }
    }
}
