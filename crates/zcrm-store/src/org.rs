//! [`OrgStore`], the handle on one org's records database that every area of
//! the store (`records`, `outbox`, `links`, `tags`, `bulk`…) adds its methods
//! to, and [`WriteCtx`], who writes and when. Opening one, with its tables
//! migrated, is `backend`'s.

use crate::db::session::Session;
use crate::db::{Db, Dialect};
use crate::rows::select_list;
use std::collections::HashSet;
use std::sync::Arc;
use zcrm_core::meta::{Catalog, Module};

/// What the writer needs to know about the caller.
#[derive(Debug, Clone)]
pub struct WriteCtx {
    pub now: i64,
    pub user: i64,
    pub users: Arc<HashSet<i64>>,
}

type SelectCache = std::collections::HashMap<(String, Vec<usize>), Arc<str>>;

pub struct OrgStore {
    pub(crate) db: Arc<Db>,
    pub(crate) org_id: i64,
    pub(crate) catalog: Arc<Catalog>,
    /// Qualifies table names: `""` for an org's own SQLite file, `org_<id>.` for its PostgreSQL schema.
    pub(crate) prefix: Arc<str>,
    /// SELECT lists by (module, fields): built once, reused by every read.
    selects: std::sync::RwLock<SelectCache>,
}

impl OrgStore {
    /// The store of org `org_id` on `db`, whose tables exist.
    pub(crate) fn new(db: Arc<Db>, org_id: i64, catalog: Arc<Catalog>) -> OrgStore {
        let prefix: Arc<str> = match db.dialect() {
            Dialect::Sqlite => "".into(),
            Dialect::Postgres => format!("org_{org_id}.").into(),
        };
        OrgStore {
            db,
            org_id,
            catalog,
            prefix,
            selects: Default::default(),
        }
    }

    pub fn close(&self) {
        self.db.close();
    }

    pub fn catalog(&self) -> &Arc<Catalog> {
        &self.catalog
    }

    /// Opens a transaction on the org's database (see [`crate::session`]).
    pub fn session(&self) -> Session {
        Session::begin(self.db.clone())
    }

    /// The SELECT list of `fields` of `m` (see [`select_list`]), cached.
    pub(crate) fn select(&self, m: &Module, fields: &[usize]) -> Arc<str> {
        let key = (m.api_name.clone(), fields.to_vec());
        if let Some(s) = self.selects.read().ok().and_then(|c| c.get(&key).cloned()) {
            return s;
        }
        let s: Arc<str> = select_list(&self.prefix, &self.catalog, m, fields).into();
        if let Ok(mut c) = self.selects.write() {
            if c.len() > 10_000 {
                c.clear();
            }
            c.insert(key, s.clone());
        }
        s
    }
}
