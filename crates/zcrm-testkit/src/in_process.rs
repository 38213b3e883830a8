//! A zcrm server inside the test process: `Server::bind` on its own
//! multi-thread Tokio runtime in its own thread, so a test's current-thread
//! runtime neither starves it nor stops it when the test's future ends.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{mpsc, Arc, Once};
use std::time::Duration;
use tokio::sync::watch;
use zcrm_server::{App, Config, Server};

/// How long a stopping server may take to finish the requests in flight
/// before its runtime is dropped under them.
const DRAIN: Duration = Duration::from_secs(5);

/// The first-start banner's secrets, as `Server::bind` returns them.
pub struct FirstStart {
    /// (client_id, client_secret, grant code) of the bootstrap Self Client.
    pub client: (String, String, String),
    /// (email, password) of the admin.
    pub admin: (String, String),
}

pub struct InProcess {
    pub app: Arc<App>,
    pub addr: SocketAddr,
    rt: tokio::runtime::Handle,
    stop: watch::Sender<bool>,
    done: mpsc::Receiver<()>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Logs go where `zcrm serve`'s do (filter `ZCRM_LOG`, default `warn`), but
/// through the test harness's capture: shown only for a failing test.
fn init_tracing() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_env("ZCRM_LOG")
                    .unwrap_or_else(|_| "warn".into()),
            )
            .with_test_writer()
            .try_init();
    });
}

impl InProcess {
    /// Binds and starts serving; `Err` if `Server::bind` fails.
    pub fn start(
        config: Config,
    ) -> crate::future::Boxed<'static, anyhow::Result<(InProcess, Option<FirstStart>)>> {
        Box::pin(Self::start_inner(config))
    }

    async fn start_inner(config: Config) -> anyhow::Result<(InProcess, Option<FirstStart>)> {
        init_tracing();
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        let (done_tx, done) = mpsc::channel();
        let (stop, stopped) = watch::channel(false);
        let thread = std::thread::Builder::new()
            .name("zcrm-test-server".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .thread_name("zcrm-test-worker")
                    .enable_all()
                    .build()
                    .expect("a Tokio runtime for the test server");
                rt.block_on(serve(config, ready_tx, stopped));
                // Whatever the server left running (bulk jobs…) stops here.
                rt.shutdown_timeout(Duration::from_secs(2));
                let _ = done_tx.send(());
            })
            .expect("spawn the test server's thread");
        let (app, addr, rt, first) = ready_rx
            .await
            .expect("the test server's thread ended before it was ready")?;
        Ok((
            InProcess {
                app,
                addr,
                rt,
                stop,
                done,
                thread: Some(thread),
            },
            first,
        ))
    }

    /// Runs `f` on the server's runtime and blocks until it is done: store
    /// calls must not open connections on the test's runtime, which ends
    /// with the test while the pool keeps them.
    pub fn block_on<T: Send + 'static>(&self, f: impl Future<Output = T> + Send + 'static) -> T {
        let (tx, rx) = mpsc::channel();
        self.rt.spawn(async move {
            let _ = tx.send(f.await);
        });
        rx.recv().expect("the test server's runtime stopped")
    }

    /// Stops serving (as SIGTERM does: drains, stops the workers, closes the
    /// stores) and waits until the server is gone.
    pub fn stop(mut self) -> bool {
        let _ = self.stop.send(true);
        let gone = self
            .done
            .recv_timeout(DRAIN + Duration::from_secs(5))
            .is_ok();
        if let (true, Some(t)) = (gone, self.thread.take()) {
            let _ = t.join();
        }
        gone
    }

    /// `stop` without blocking the test's runtime.
    pub fn stop_async(self) -> crate::future::Boxed<'static, bool> {
        Box::pin(async move {
            tokio::task::spawn_blocking(move || self.stop())
                .await
                .unwrap_or(false)
        })
    }
}

/// What a started server hands the test: its state, address, runtime and banner.
type Started = (
    Arc<App>,
    SocketAddr,
    tokio::runtime::Handle,
    Option<FirstStart>,
);

/// Binds (here, so the listener and the database pools belong to the
/// server's runtime, not the test's), reports to `ready`, then serves until
/// `stopped` turns true, allowing `DRAIN` for the calls in flight.
async fn serve(
    config: Config,
    ready: tokio::sync::oneshot::Sender<anyhow::Result<Started>>,
    mut stopped: watch::Receiver<bool>,
) {
    let (server, first) = match Server::bind(config).await {
        Ok(b) => b,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    let first = first.map(|f| FirstStart {
        client: (f.client_id, f.client_secret, f.code),
        admin: (f.admin_email, f.admin_password),
    });
    let started = (
        server.app.clone(),
        server.addr,
        tokio::runtime::Handle::current(),
        first,
    );
    if ready.send(Ok(started)).is_err() {
        return;
    }
    let mut signal = stopped.clone();
    let run = server.run(async move {
        let _ = signal.wait_for(|s| *s).await;
    });
    let drained = async {
        let _ = stopped.wait_for(|s| *s).await;
        tokio::time::sleep(DRAIN).await;
    };
    tokio::select! {
        r = run => if let Err(e) = r {
            eprintln!("test server stopped with an error: {e:#}");
        },
        _ = drained => eprintln!("test server still draining after {DRAIN:?}: dropped"),
    }
}
