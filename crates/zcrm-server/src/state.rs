//! Shared server state: configuration, the control store, and one open store
//! per org with that org's users cached (they render every Owner field).

use anyhow::Context;
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use zcrm_core::clock::Clock;
use zcrm_core::ids::IdGen;
use zcrm_core::meta::Catalog;
use zcrm_core::ApiError;
use zcrm_store::control::{Control, NewOrg, Org, User};
use zcrm_store::records::OrgStore;
use zcrm_store::Backend;

/// Scopes of the Self Client created on first start: everything zcrm serves.
pub const BOOTSTRAP_SCOPES: &str = "ZohoCRM.modules.ALL,ZohoCRM.settings.ALL,ZohoCRM.users.ALL,ZohoCRM.org.ALL,ZohoCRM.coql.READ,ZohoCRM.bulk.ALL,ZohoCRM.notifications.ALL,ZohoCRM.mass_update.ALL,ZohoCRM.composite_requests.CUSTOM,ZohoCRM.apis.READ,ZohoCRM.files.ALL,ZohoFiles.files.ALL,ZohoSearch.securesearch.READ";
/// Grant codes live 10 minutes.
pub const CODE_TTL_MS: i64 = 600_000;

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// What token responses report as `api_domain`; derived from the bound address if absent.
    pub public_url: Option<String>,
    pub time_zone: String,
    pub company_name: String,
    pub edition: String,
    pub admin_email: String,
    /// Lets `POST /__zcrm/clock/advance` move time (tests and sandboxes only).
    pub test_clock: bool,
    /// `postgres://…` runs on PostgreSQL; `None` on SQLite files in `data_dir`.
    pub database_url: Option<String>,
    /// Pool sizes, statement cache, TLS to PostgreSQL.
    pub db: zcrm_store::DbOptions,
    /// `s3://…` keeps files in an S3-compatible store; `None` under `data_dir/files`.
    pub file_store: Option<String>,
    /// Lets webhooks reach private, loopback and link-local addresses; `None`:
    /// only when this server itself listens on loopback alone (a local sandbox).
    pub allow_private_webhooks: Option<bool>,
    /// Bulk read/write job limits.
    pub bulk: BulkConfig,
    /// Notification channels a client, and an org, may have.
    pub watch: WatchConfig,
    /// Connections at once, and how long a slow or silent one is kept.
    pub connections: crate::listener::ConnConfig,
}

/// Caps on notification channels (Zoho documents none; each channel makes
/// every write of its module queue a delivery, so they are bounded).
#[derive(Debug, Clone, Copy)]
pub struct WatchConfig {
    pub channels_per_client: usize,
    pub channels_per_org: usize,
}

impl Default for WatchConfig {
    fn default() -> Self {
        WatchConfig {
            channels_per_client: 100,
            channels_per_org: 1_000,
        }
    }
}

/// Limits of bulk jobs, per org and kind of job (read or write).
#[derive(Debug, Clone, Copy)]
pub struct BulkConfig {
    /// Jobs not finished at once; more are refused until one ends.
    pub concurrent_jobs: i64,
    /// Jobs created in any 24 hours.
    pub jobs_per_day: i64,
    /// Data rows in one bulk-write file (Zoho: 25,000).
    pub write_max_rows: i64,
}

impl Default for BulkConfig {
    fn default() -> Self {
        BulkConfig {
            concurrent_jobs: 10,
            jobs_per_day: 1_000,
            write_max_rows: 25_000,
        }
    }
}

/// Printed once, when the data dir was empty.
pub struct FirstStart {
    pub client_id: String,
    pub client_secret: String,
    pub code: String,
    pub org_id: i64,
    /// The admin signs in on the consent page with these; the password is
    /// stored only as a hash, so this is the one time it can be shown.
    pub admin_email: String,
    pub admin_password: String,
}

pub struct OrgCtx {
    pub org: Org,
    pub tz: chrono_tz::Tz,
    pub store: OrgStore,
    pub users: RwLock<Arc<Vec<User>>>,
    pub user_ids: RwLock<Arc<HashSet<i64>>>,
    /// This node's view of the org's API limits.
    pub limits: crate::limits::OrgLimiter,
}

impl OrgCtx {
    pub fn users(&self) -> Arc<Vec<User>> {
        self.users.read().map(|u| u.clone()).unwrap_or_default()
    }
    pub fn user_ids(&self) -> Arc<HashSet<i64>> {
        self.user_ids.read().map(|u| u.clone()).unwrap_or_default()
    }
    /// Runs `f` on a user without copying it (record rendering does this for every Owner).
    pub fn with_user<R>(&self, id: i64, f: impl FnOnce(&User) -> R) -> Option<R> {
        let users = self.users.read().ok()?.clone();
        let found = users.iter().find(|u| u.id == id).map(f);
        found
    }

    pub fn user(&self, id: i64) -> Option<User> {
        self.users().iter().find(|u| u.id == id).cloned()
    }
}

pub struct App {
    pub config: Config,
    pub public_url: String,
    pub control: Control,
    pub backend: Backend,
    pub files: zcrm_store::files::FileStore,
    pub catalog: Arc<Catalog>,
    pub clock: Arc<Clock>,
    pub ids: IdGen,
    pub tokens: crate::token_cache::TokenCache,
    /// Consent-page sign-in failures, for lockout.
    pub sign_ins: crate::signin::Throttle,
    /// This node's copy of the keys page tokens are signed with.
    pub page_keys: crate::signing::KeyCache,
    /// This process's node number (ids, job leases).
    pub node: u32,
    /// Jobs this process is working on now.
    running: Mutex<HashSet<i64>>,
    pub allow_private_webhooks: bool,
    /// Woken after every API write so this node's events go out at once
    /// (the dispatcher also polls, for retries and other nodes' writes).
    pub outbox_wake: tokio::sync::Notify,
    /// Woken when a bulk job is created or its callback becomes due.
    pub bulk_wake: tokio::sync::Notify,
    orgs: Mutex<HashMap<i64, Arc<OrgCtx>>>,
}

impl App {
    pub async fn open(
        config: Config,
        addr: SocketAddr,
    ) -> anyhow::Result<(App, Option<FirstStart>)> {
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("creating {}", config.data_dir.display()))?;
        let catalog = Arc::new(Catalog::standard().map_err(anyhow::Error::msg)?);
        let backend =
            Backend::connect(&config.data_dir, config.database_url.as_deref(), &config.db)?;
        let control = backend.control().await?;
        let files =
            zcrm_store::files::FileStore::open(&config.data_dir, config.file_store.as_deref())?;
        let clock = Arc::new(Clock::new());
        let node = control.register_node(clock.now_ms()).await?;
        let ids = IdGen::new(node);
        let public_url = config
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{addr}"))
            .trim_end_matches('/')
            .to_string();
        config
            .time_zone
            .parse::<chrono_tz::Tz>()
            .map_err(|_| anyhow::anyhow!("unknown time zone {}", config.time_zone))?;
        let now = clock.now_ms();
        let boot = control
            .bootstrap(
                NewOrg {
                    company_name: &config.company_name,
                    edition: &config.edition,
                    time_zone: &config.time_zone,
                    admin_email: &config.admin_email,
                    scopes: BOOTSTRAP_SCOPES,
                    code_ttl_ms: CODE_TTL_MS,
                },
                now,
                [ids.next(now), ids.next(now)],
            )
            .await?;
        let first = boot.map(|b| FirstStart {
            client_id: b.client.client_id,
            client_secret: b.client.client_secret,
            code: b.code,
            org_id: b.org.id,
            admin_email: b.admin.email,
            admin_password: b.admin_password,
        });
        let allow_private_webhooks = config
            .allow_private_webhooks
            .unwrap_or(addr.ip().is_loopback());
        let app = App {
            allow_private_webhooks,
            outbox_wake: tokio::sync::Notify::new(),
            bulk_wake: tokio::sync::Notify::new(),
            config,
            public_url,
            control,
            backend,
            files,
            catalog,
            clock,
            ids,
            tokens: Default::default(),
            sign_ins: Default::default(),
            page_keys: Default::default(),
            node,
            running: Mutex::new(HashSet::new()),
            orgs: Mutex::new(HashMap::new()),
        };
        // Open every org now so a broken data dir fails at start, not on first
        // call; only the org made by this start may have no data yet.
        let made = first.as_ref().map(|f| f.org_id);
        for org in app.control.orgs().await? {
            let ctx = app
                .load_org(org.id, made == Some(org.id))
                .await
                .with_context(|| format!("opening org {}", org.id))?;
            if let Ok(mut orgs) = app.orgs.lock() {
                orgs.insert(org.id, ctx);
            }
        }
        Ok((app, first))
    }

    pub fn now(&self) -> i64 {
        self.clock.now_ms()
    }

    /// The org's context, opening its store on first use.
    pub async fn org(&self, org_id: i64) -> Result<Arc<OrgCtx>, ApiError> {
        self.open_org(org_id, false).await
    }

    async fn open_org(&self, org_id: i64, new: bool) -> Result<Arc<OrgCtx>, ApiError> {
        if let Some(o) = self.orgs.lock().ok().and_then(|m| m.get(&org_id).cloned()) {
            return Ok(o);
        }
        let ctx = self.load_org(org_id, new).await.map_err(|e| {
            tracing::error!("opening org {org_id}: {e}");
            ApiError::internal(format!("org {org_id} cannot be opened"))
        })?;
        let mut orgs = self
            .orgs
            .lock()
            .map_err(|_| ApiError::internal("org map poisoned"))?;
        // Two first calls may race here; the first one opened wins.
        Ok(orgs.entry(org_id).or_insert(ctx).clone())
    }

    async fn load_org(&self, org_id: i64, new: bool) -> anyhow::Result<Arc<OrgCtx>> {
        let missing = || anyhow::anyhow!("org {org_id} is not in the control data");
        let org = self
            .control
            .orgs()
            .await?
            .into_iter()
            .find(|o| o.id == org_id)
            .ok_or_else(missing)?;
        let tz = org.time_zone.parse().unwrap_or(chrono_tz::UTC);
        let store = self
            .backend
            .org_store(org_id, self.catalog.clone(), new)
            .await?;
        let users = self.control.users(org_id).await?;
        let ids: HashSet<i64> = users.iter().map(|u| u.id).collect();
        let settings = self
            .control
            .limit_settings(org_id)
            .await?
            .ok_or_else(missing)?;
        Ok(Arc::new(OrgCtx {
            limits: crate::limits::OrgLimiter::new(settings, self.now()),
            org,
            tz,
            store,
            users: RwLock::new(Arc::new(users)),
            user_ids: RwLock::new(Arc::new(ids)),
        }))
    }

    /// Marks a job as worked on here; `false` if it already is.
    pub fn claim_local(&self, job: i64) -> bool {
        self.running
            .lock()
            .map(|mut r| r.insert(job))
            .unwrap_or(false)
    }

    pub fn release_local(&self, job: i64) {
        if let Ok(mut r) = self.running.lock() {
            r.remove(&job);
        }
    }

    /// Every org opened so far (all of them: `open` opens each at start).
    pub fn open_orgs(&self) -> Vec<Arc<OrgCtx>> {
        self.orgs
            .lock()
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default()
    }

    pub fn close(&self) {
        if let Ok(orgs) = self.orgs.lock() {
            for o in orgs.values() {
                o.store.close();
            }
        }
        self.control.close();
    }
}
