//! Where the data lives: the flags `serve` and every `admin` command share,
//! and opening the control data or the backend they name.

use anyhow::Context;
use clap::Args;
use std::path::PathBuf;
use zcrm_store::control::Control;
use zcrm_store::{Backend, DbOptions};

/// Where the data lives; the same flags for `serve` and every `admin` command.
#[derive(Args)]
pub struct Storage {
    /// Where the SQLite databases (and, later, files) live; created if missing.
    #[arg(long, env = "ZCRM_DATA_DIR", default_value = "./zcrm-data")]
    pub data_dir: PathBuf,
    /// Run on PostgreSQL instead of SQLite: postgres://user@host:port/database.
    /// Several nodes may share one database.
    #[arg(long, env = "ZCRM_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Most PostgreSQL connections this process opens.
    #[arg(long, env = "ZCRM_DB_POOL_SIZE", default_value_t = 16)]
    pub db_pool_size: usize,
    /// Most statements each PostgreSQL connection keeps prepared.
    #[arg(long, env = "ZCRM_DB_STATEMENT_CACHE", default_value_t = 256)]
    pub db_statement_cache: usize,
    /// PEM file of the CA(s) PostgreSQL's certificate must lead to, for
    /// sslmode=verify-ca / verify-full (or sslrootcert= in the URL).
    #[arg(long, env = "ZCRM_DATABASE_CA_FILE")]
    pub database_ca_file: Option<PathBuf>,
    /// Threads SQLite reads run on (shared by every database file), at the
    /// lowest CPU priority so long reports never slow the threads serving HTTP.
    /// Default: one per CPU (at least two).
    #[arg(long, env = "ZCRM_SQLITE_READERS")]
    pub sqlite_readers: Option<usize>,
    /// Keep files (attachments, uploads) in an S3-compatible store shared by all nodes:
    /// s3://bucket[/prefix]?endpoint=URL&region=R&allow_http=true (credentials from AWS_* variables).
    /// Default: under DATA_DIR/files.
    #[arg(long, env = "ZCRM_FILE_STORE")]
    pub file_store: Option<String>,
}

impl Storage {
    pub fn db_options(&self) -> DbOptions {
        DbOptions {
            pool_size: self.db_pool_size,
            statement_cache: self.db_statement_cache,
            ca_file: self.database_ca_file.clone(),
            sqlite_readers: self
                .sqlite_readers
                .unwrap_or_else(zcrm_store::db::read_pool::default_threads),
        }
    }

    /// The backend these flags name.
    pub fn connect(&self) -> anyhow::Result<Backend> {
        Backend::connect(
            &self.data_dir,
            self.database_url.as_deref(),
            &self.db_options(),
        )
        .with_context(|| format!("opening {}", self.data_dir.display()))
    }

    /// The control data (orgs, users, clients, limits).
    pub async fn control(&self) -> anyhow::Result<Control> {
        Ok(self.connect()?.control().await?)
    }
}
