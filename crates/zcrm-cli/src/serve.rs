//! `zcrm serve`: its flags, the first start's banner, and running until a
//! signal.

use crate::storage::Storage;
use clap::Args;
use std::net::SocketAddr;
use zcrm_server::{Config, Server};

#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free one.
    #[arg(long, env = "ZCRM_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    #[command(flatten)]
    storage: Storage,
    /// Base URL clients reach this server at; reported as `api_domain` in token
    /// responses. Default: http://<listen address>.
    #[arg(long, env = "ZCRM_PUBLIC_URL")]
    public_url: Option<String>,
    /// Time zone of the org created on first start (IANA name).
    #[arg(long, env = "ZCRM_TIME_ZONE", default_value = "America/Los_Angeles")]
    time_zone: String,
    /// Company name of the org created on first start.
    #[arg(long, env = "ZCRM_COMPANY", default_value = "Zylker")]
    company_name: String,
    /// Edition of the org created on first start (Free, Standard, Professional, Enterprise, Ultimate).
    #[arg(long, env = "ZCRM_EDITION", default_value = "Enterprise")]
    edition: String,
    /// Email of the admin user created on first start.
    #[arg(long, env = "ZCRM_ADMIN_EMAIL", default_value = "admin@zylker.example")]
    admin_email: String,
    /// Allow `POST /__zcrm/clock/advance?seconds=N` (tests and sandboxes only).
    #[arg(long, env = "ZCRM_TEST_CLOCK", hide = true)]
    test_clock: bool,
    /// Let notification webhooks reach private, loopback and link-local
    /// addresses (true/false). Default: true only when --listen is a loopback
    /// address (a local sandbox), false otherwise.
    #[arg(long, env = "ZCRM_ALLOW_PRIVATE_WEBHOOKS", num_args = 0..=1, default_missing_value = "true")]
    allow_private_webhooks: Option<bool>,
    /// Bulk jobs (read, or write) an org may have unfinished at once.
    #[arg(long, env = "ZCRM_BULK_CONCURRENT_JOBS", default_value_t = 10)]
    bulk_concurrent_jobs: i64,
    /// Bulk jobs (read, or write) an org may create in 24 hours.
    #[arg(long, env = "ZCRM_BULK_JOBS_PER_DAY", default_value_t = 1000)]
    bulk_jobs_per_day: i64,
    /// Most data rows in one bulk-write CSV (Zoho's limit is 25,000).
    #[arg(long, env = "ZCRM_BULK_WRITE_MAX_ROWS", default_value_t = 25000)]
    bulk_write_max_rows: i64,
    /// Notification channels one client may have in an org.
    #[arg(long, env = "ZCRM_WATCH_CHANNELS_PER_CLIENT", default_value_t = 100)]
    watch_channels_per_client: usize,
    /// Notification channels an org may have, all clients together.
    #[arg(long, env = "ZCRM_WATCH_CHANNELS_PER_ORG", default_value_t = 1000)]
    watch_channels_per_org: usize,
    /// Connections served at once; more wait to be accepted.
    #[arg(long, env = "ZCRM_MAX_CONNECTIONS", default_value_t = 4096)]
    max_connections: usize,
    /// Seconds a client has to send a request's headers.
    #[arg(long, env = "ZCRM_HEADER_READ_TIMEOUT", default_value_t = 15)]
    header_read_timeout: u64,
    /// Seconds a connection may go without traffic before it is closed.
    #[arg(long, env = "ZCRM_IDLE_TIMEOUT", default_value_t = 60)]
    idle_timeout: u64,
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

pub async fn serve(a: ServeArgs) -> anyhow::Result<()> {
    let db = a.storage.db_options();
    let config = Config {
        listen: a.listen,
        data_dir: a.storage.data_dir,
        database_url: a.storage.database_url,
        db,
        file_store: a.storage.file_store,
        public_url: a.public_url,
        time_zone: a.time_zone,
        company_name: a.company_name,
        edition: a.edition,
        admin_email: a.admin_email,
        test_clock: a.test_clock,
        allow_private_webhooks: a.allow_private_webhooks,
        bulk: zcrm_server::BulkConfig {
            concurrent_jobs: a.bulk_concurrent_jobs,
            jobs_per_day: a.bulk_jobs_per_day,
            write_max_rows: a.bulk_write_max_rows,
        },
        watch: zcrm_server::WatchConfig {
            channels_per_client: a.watch_channels_per_client,
            channels_per_org: a.watch_channels_per_org,
        },
        connections: zcrm_server::ConnConfig {
            max_connections: a.max_connections,
            header_read_timeout: std::time::Duration::from_secs(a.header_read_timeout),
            idle_timeout: std::time::Duration::from_secs(a.idle_timeout),
        },
    };
    let (server, first) = Server::bind(config).await?;
    let url = server.app.public_url.clone();
    if let Some(f) = first {
        println!(
            "First start: created org {} with an admin user and a Self Client.",
            f.org_id
        );
        println!("  client_id:     {}", f.client_id);
        println!("  client_secret: {}", f.client_secret);
        println!("  grant code:    {} (valid 10 minutes, single use)", f.code);
        println!("Exchange it for tokens:");
        println!(
            "  curl -X POST '{url}/oauth/v2/token' -d grant_type=authorization_code -d client_id={} -d client_secret={} -d code={}",
            f.client_id, f.client_secret, f.code
        );
        println!("New codes later: zcrm admin self-client --data-dir DIR --scope ZohoCRM.modules.ALL --json");
        println!(
            "Web apps: register with zcrm admin client --data-dir DIR --redirect-uri URL --json;"
        );
        println!("the consent page ({url}/oauth/v2/auth) signs the admin in with:");
        println!("  admin email:    {}", f.admin_email);
        println!(
            "  admin password: {} (shown only now; a new one: zcrm admin password --data-dir DIR)",
            f.admin_password
        );
    }
    println!(
        "zcrm listening on http://{} (api_domain {url})",
        server.addr
    );
    server.run(shutdown_signal()).await
}
