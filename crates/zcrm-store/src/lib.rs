//! zcrm persistence: the control database (orgs, users, OAuth) and each org's
//! record tables, one typed column per field.

pub mod attachments;
pub mod bulk;
pub mod control;
pub mod convert;
pub mod db;
pub mod files;
pub mod limits;
pub mod links;
pub mod mass_update;
pub mod outbox;
pub mod password;
pub mod pg;
pub mod query;
pub mod records;
pub mod refusal;
pub mod schema;
pub mod seed;
pub mod session;
pub mod sqlite;
pub mod tags;

pub use refusal::{Holder, Refusal, Rejected};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique index refused a row (a concurrent writer won the race).
    #[error("unique constraint violated")]
    Unique,
    #[error("sqlite: {0}")]
    Sqlite(rusqlite::Error),
    #[error("postgres: {0}")]
    Postgres(#[from] postgres::Error),
    #[error("database closed")]
    Closed,
    /// A refusal that must roll the whole transaction back.
    #[error("refused: {0:?}")]
    Refused(Box<Refusal>),
    #[error("{0}")]
    Other(String),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match &e {
            rusqlite::Error::SqliteFailure(f, _)
                if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                    || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY =>
            {
                StoreError::Unique
            }
            _ => StoreError::Sqlite(e),
        }
    }
}

/// Where zcrm keeps its data: SQLite files under a data dir (the default), or
/// one PostgreSQL database shared by every node.
pub enum Backend {
    Sqlite { dir: std::path::PathBuf },
    Postgres(std::sync::Arc<db::Db>),
}

impl Backend {
    pub fn connect(
        data_dir: &std::path::Path,
        database_url: Option<&str>,
        pool_size: usize,
    ) -> Result<Backend, StoreError> {
        match database_url.filter(|u| !u.is_empty()) {
            None => {
                std::fs::create_dir_all(data_dir.join("orgs")).map_err(|e| {
                    StoreError::Other(format!("creating {}: {e}", data_dir.display()))
                })?;
                Ok(Backend::Sqlite {
                    dir: data_dir.to_path_buf(),
                })
            }
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                let db = pg::PgDb::connect(url, pool_size)?;
                Ok(Backend::Postgres(std::sync::Arc::new(db::Db::Postgres(db))))
            }
            Some(other) => Err(StoreError::Other(format!(
                "unsupported database URL {other:?}: use postgres://… or leave it unset for SQLite"
            ))),
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, Backend::Postgres(_))
    }

    pub async fn control(&self) -> Result<control::Control, StoreError> {
        let db = match self {
            Backend::Sqlite { dir } => std::sync::Arc::new(db::Db::Sqlite(sqlite::SqliteDb::open(
                &dir.join("control.db"),
                |_| Ok(()),
            )?)),
            Backend::Postgres(db) => db.clone(),
        };
        control::Control::open(db).await
    }

    pub async fn org_store(
        &self,
        org_id: i64,
        catalog: std::sync::Arc<zcrm_core::meta::Catalog>,
    ) -> Result<records::OrgStore, StoreError> {
        let db = match self {
            Backend::Sqlite { dir } => std::sync::Arc::new(db::Db::Sqlite(sqlite::SqliteDb::open(
                &dir.join("orgs").join(format!("{org_id}.db")),
                |_| Ok(()),
            )?)),
            Backend::Postgres(db) => db.clone(),
        };
        records::OrgStore::open(db, org_id, catalog).await
    }
}
