//! Where the data lives, and opening the stores on it: the control data, and
//! an org's store with its tables migrated (the top of the store: it runs
//! the org's numbered steps, then makes the module tables match the catalog).

use crate::db::read_pool::ReadPool;
use crate::db::{pg, sqlite, Conn, Db, DbOptions};
use crate::migrate::{self, Applied, Place};
use crate::org::OrgStore;
use crate::{control, schema, StoreError};
use std::sync::Arc;
use zcrm_core::meta::Catalog;

/// Where zcrm keeps its data: SQLite files under a data dir (the default), or
/// one PostgreSQL database shared by every node.
pub enum Backend {
    Sqlite {
        dir: std::path::PathBuf,
        readers: Arc<ReadPool>,
    },
    Postgres(Arc<Db>),
}

impl Backend {
    pub fn connect(
        data_dir: &std::path::Path,
        database_url: Option<&str>,
        opts: &DbOptions,
    ) -> Result<Backend, StoreError> {
        match database_url.filter(|u| !u.is_empty()) {
            None => {
                std::fs::create_dir_all(data_dir.join("orgs")).map_err(|e| {
                    StoreError::Other(format!("creating {}: {e}", data_dir.display()))
                })?;
                Ok(Backend::Sqlite {
                    dir: data_dir.to_path_buf(),
                    readers: ReadPool::new(opts.sqlite_readers)?,
                })
            }
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                let db = pg::PgDb::connect(url, opts)?;
                Ok(Backend::Postgres(Arc::new(Db::Postgres(db))))
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
            Backend::Sqlite { dir, readers } => {
                let path = dir.join("control.db");
                // With orgs' files present, a fresh control.db would make a
                // second org beside them: the control data must be there.
                if has_org_files(dir) {
                    sqlite::check_file(&path)?;
                }
                Arc::new(Db::Sqlite(sqlite::SqliteDb::open(
                    &path,
                    readers.clone(),
                    |_| Ok(()),
                )?))
            }
            Backend::Postgres(db) => {
                if let Db::Postgres(pg) = &**db {
                    pg.check().await?;
                }
                db.clone()
            }
        };
        control::Control::open(db).await
    }

    /// An org's store. `new`: the org was made just now, so its file may
    /// not exist yet; any other org's file must be there and whole.
    pub async fn org_store(
        &self,
        org_id: i64,
        catalog: Arc<Catalog>,
        new: bool,
    ) -> Result<OrgStore, StoreError> {
        let db = match self {
            Backend::Sqlite { dir, readers } => {
                let path = dir.join("orgs").join(format!("{org_id}.db"));
                if !new {
                    sqlite::check_file(&path)?;
                }
                Arc::new(Db::Sqlite(sqlite::SqliteDb::open(
                    &path,
                    readers.clone(),
                    |_| Ok(()),
                )?))
            }
            Backend::Postgres(db) => db.clone(),
        };
        OrgStore::open(db, org_id, catalog).await
    }
}

fn has_org_files(dir: &std::path::Path) -> bool {
    std::fs::read_dir(dir.join("orgs"))
        .map(|entries| {
            entries
                .flatten()
                .any(|e| e.file_name().to_string_lossy().ends_with(".db"))
        })
        .unwrap_or(false)
}

/// Where an org's tables are: its SQLite file, or schema `org_<id>`.
fn org_place(c: &dyn Conn, org_id: i64) -> Place {
    Place::new(c, format!("org {org_id}"), &format!("org_{org_id}"))
}

impl OrgStore {
    /// Opens an org's store on `db`: runs the numbered steps it lacks
    /// (`migrate::org`), then makes its module tables match the catalog, all
    /// in one transaction.
    pub async fn open(
        db: Arc<Db>,
        org_id: i64,
        catalog: Arc<Catalog>,
    ) -> Result<OrgStore, StoreError> {
        let cat = catalog.clone();
        db.write(move |c| {
            let place = org_place(c, org_id);
            migrate::run(c, &place, migrate::org::STEPS)?;
            schema::sync_catalog(c, &cat, &place.prefix, &place.schema)
        })
        .await?;
        Ok(OrgStore::new(db, org_id, catalog))
    }

    /// The numbered steps this org's store has run (`migrate::org`).
    pub async fn migrations(&self) -> Result<Vec<Applied>, StoreError> {
        let org_id = self.org_id;
        self.db
            .read(move |c| {
                let place = org_place(c, org_id);
                migrate::applied(c, &place)
            })
            .await
    }
}
