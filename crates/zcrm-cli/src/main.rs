//! `zcrm`: serve Zoho CRM API v8, and administer a data dir.
//!
//! `serve`: the server's flags and its start; `admin`: the `zcrm admin`
//! commands, one file per area; `storage`: where the data lives, flags shared
//! by both.

mod admin;
mod serve;
mod storage;

use clap::{Parser, Subcommand};

/// mimalloc instead of glibc's malloc: request handling allocates and frees
/// many small JSON values across threads, where glibc's allocator spent about
/// a third of a 100-record POST (BENCHMARKS.md).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "zcrm",
    version,
    about = "A Zoho CRM API v8 server, and tools for it"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the OAuth accounts server and the CRM API on one listener.
    Serve(serve::ServeArgs),
    /// Administer a data dir (works while the server runs).
    #[command(subcommand)]
    Admin(admin::Admin),
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ZCRM_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        match cli.command {
            Command::Serve(a) => serve::serve(a).await,
            Command::Admin(a) => admin::run(a).await,
        }
    })
}
