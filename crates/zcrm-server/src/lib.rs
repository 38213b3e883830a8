#![recursion_limit = "256"]
//! The zcrm HTTP server: Zoho's OAuth accounts server and the CRM v8 API on one
//! listener. Handlers (`api/`) parse and render; services (`service/`) do the
//! work; the store persists.

mod admission;
mod api;
mod auth;
mod error;
pub mod limits;
mod listener;
pub mod notify;
pub mod ops;
mod outbound;
mod service;
mod signin;
mod signing;
mod state;
mod token_cache;
mod wire;

pub use listener::ConnConfig;
pub use state::{App, BulkConfig, Config, WatchConfig};
pub use zcrm_store::DbOptions;

use axum::Router;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;

/// A bound server, ready to run.
pub struct Server {
    pub app: Arc<App>,
    pub addr: SocketAddr,
    listener: TcpListener,
}

impl Server {
    /// Binds the listener and opens (bootstrapping if empty) the data dir.
    pub async fn bind(config: Config) -> anyhow::Result<(Server, Option<state::FirstStart>)> {
        let listener = TcpListener::bind(config.listen).await?;
        let addr = listener.local_addr()?;
        let (app, first) = App::open(config, addr).await?;
        Ok((
            Server {
                app: Arc::new(app),
                addr,
                listener,
            },
            first,
        ))
    }

    /// Serves until `shutdown` resolves, then drains connections and closes the stores.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let router: Router = api::router(self.app.clone());
        let sweeper = tokio::spawn(service::mass_update::sweep(self.app.clone()));
        let bulk = tokio::spawn(service::bulk::sweep(self.app.clone()));
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let dispatcher = tokio::spawn(notify::run(self.app.clone(), stopped));
        let limiter = tokio::spawn(admission::run(self.app.clone()));
        let limits = self.app.config.connections;
        let served = listener::serve(self.listener, router, limits, shutdown).await;
        sweeper.abort();
        bulk.abort();
        limiter.abort();
        admission::flush(&self.app).await;
        let _ = stop.send(true);
        let _ = dispatcher.await;
        served?;
        self.app.close();
        Ok(())
    }
}
