//! zcrm's test kit: a server with its own org and data (a temp dir, or a fresh
//! PostgreSQL database with `ZCRM_TEST_DATABASE_URL`) on an ephemeral port, and
//! the calls a Zoho integration makes against it.
//!
//! ```no_run
//! # async fn t() {
//! use zcrm_testkit::*;
//! let srv = TestServer::start().await;
//! let tok = srv.token("ZohoCRM.modules.ALL").await;
//! let ids = srv.create("Leads", &tok, vec![serde_json::json!({"Last_Name": "Ng"})]).await;
//! assert_eq!(srv.get(&format!("/crm/v8/Leads/{}", ids[0]), &tok).await.status, 200);
//! # }
//! ```
//!
//! `TestServer::start()` runs the server inside the test process with the test
//! clock on; `TestServer::start_process()` runs the `zcrm serve` binary
//! instead, for the tests where the process is what is tested: kill -9,
//! restarts, several nodes, the binary's banner. Both start from the same
//! `Config` (`*_with` to change it) and answer the same calls.

mod calls;
mod config;
mod future;
mod in_process;
mod pg;
mod process;
mod server;

pub use calls::{assert_error, to_resp, Resp};
pub use future::Boxed;
pub use pg::{on_postgres, PgDatabase};
pub use process::{bin, Node};
pub use server::TestServer;
pub use zcrm_server::{BulkConfig, Config};

/// The allocator `zcrm serve` runs with (see zcrm-cli's main.rs), so that the
/// in-process server spends its time as the binary does.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub const ALL_SCOPES: &str =
    "ZohoCRM.modules.ALL,ZohoCRM.settings.ALL,ZohoCRM.users.ALL,ZohoCRM.org.ALL,ZohoCRM.apis.READ";
