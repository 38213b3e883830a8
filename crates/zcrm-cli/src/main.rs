//! `zcrm`: serve Zoho CRM API v8, and administer a data dir.

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use zcrm_core::clock::Clock;
use zcrm_core::scope::Scopes;
use zcrm_server::{Config, Server};
use zcrm_store::control::Control;
use zcrm_store::Backend;

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
    Serve(ServeArgs),
    /// Administer a data dir (works while the server runs).
    #[command(subcommand)]
    Admin(Admin),
}

#[derive(Args)]
struct ServeArgs {
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
}

/// Where the data lives; the same flags for `serve` and every `admin` command.
#[derive(Args)]
struct Storage {
    /// Where the SQLite databases (and, later, files) live; created if missing.
    #[arg(long, env = "ZCRM_DATA_DIR", default_value = "./zcrm-data")]
    data_dir: PathBuf,
    /// Run on PostgreSQL instead of SQLite: postgres://user@host:port/database.
    /// Several nodes may share one database.
    #[arg(long, env = "ZCRM_DATABASE_URL")]
    database_url: Option<String>,
    /// Most PostgreSQL connections this process opens.
    #[arg(long, env = "ZCRM_DB_POOL_SIZE", default_value_t = 16)]
    db_pool_size: usize,
    /// Keep files (attachments, uploads) in an S3-compatible store shared by all nodes:
    /// s3://bucket[/prefix]?endpoint=URL&region=R&allow_http=true (credentials from AWS_* variables).
    /// Default: under DATA_DIR/files.
    #[arg(long, env = "ZCRM_FILE_STORE")]
    file_store: Option<String>,
}

#[derive(Subcommand)]
enum Admin {
    /// Create a Self Client and a grant code for the given scopes.
    SelfClient {
        #[command(flatten)]
        storage: Storage,
        /// Comma-separated scopes, e.g. ZohoCRM.modules.ALL,ZohoCRM.settings.ALL
        #[arg(long)]
        scope: String,
        /// Lifetime of the grant code in seconds.
        #[arg(long, default_value_t = 600)]
        expiry: u64,
        /// Print `{"client_id","client_secret","code"}`.
        #[arg(long)]
        json: bool,
    },
    /// Create a web-app client for the consent page (`/oauth/v2/auth`).
    Client {
        #[command(flatten)]
        storage: Storage,
        /// Comma-separated redirect URIs the client may use, matched exactly.
        #[arg(long, required = true)]
        redirect_uri: String,
        /// Shown to the user on the consent page.
        #[arg(long, default_value = "Web Client")]
        name: String,
        /// Print `{"client_id","client_secret"}`.
        #[arg(long)]
        json: bool,
    },
    /// Show notification delivery attempts, newest first: status, latency, error.
    Deliveries {
        #[command(flatten)]
        storage: Storage,
        /// Only the attempts of this event (`<org id>-<n>`, the X-Zcrm-Event-Id header).
        #[arg(long)]
        event_id: Option<String>,
        /// Most attempts shown.
        #[arg(long, default_value_t = 50)]
        limit: i64,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// The org's edition, licensed users and API limits (applied by a running
    /// server within a second).
    #[command(subcommand)]
    Org(OrgCmd),
    /// Credits used over the rolling 24-hour window, by API and by client.
    Usage {
        #[command(flatten)]
        storage: Storage,
        /// The org (default: the first).
        #[arg(long)]
        org: Option<i64>,
        /// Print the JSON `GET /__zcrm/usage` answers.
        #[arg(long)]
        json: bool,
    },
    /// Give a user (default: the admin) a new random password and print it.
    Password {
        #[command(flatten)]
        storage: Storage,
        /// The user's email; default the org's primary user.
        #[arg(long)]
        email: Option<String>,
    },
    /// Fill the (first) org with realistic sample records, fast: Accounts,
    /// Contacts linked to them, Leads. Runs against the data dir or database
    /// directly (the server may be running).
    Seed {
        #[command(flatten)]
        storage: Storage,
        #[arg(long, default_value_t = 100_000)]
        leads: usize,
        #[arg(long, default_value_t = 1_000)]
        accounts: usize,
        #[arg(long, default_value_t = 10_000)]
        contacts: usize,
        /// Seed of the random generator: the same seed makes the same data.
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
}

#[derive(Subcommand)]
enum OrgCmd {
    /// Change the org's edition, users and limits; prints the result.
    Set {
        #[command(flatten)]
        storage: Storage,
        /// The org (default: the first).
        #[arg(long)]
        org: Option<i64>,
        /// Free, Standard, Professional, Enterprise or Ultimate.
        #[arg(long)]
        edition: Option<String>,
        /// Licensed users (credits grow with them).
        #[arg(long)]
        users: Option<i64>,
        /// Daily credits instead of the edition's figure; `auto` goes back to it.
        #[arg(long)]
        credits: Option<String>,
        /// Concurrent calls per app instead of the edition's figure; `auto` goes back to it.
        #[arg(long)]
        concurrency: Option<String>,
        /// `off` lets every call through, uncounted (load tests).
        #[arg(long, value_parser = ["on", "off"])]
        limits: Option<String>,
    },
    /// Print the org's edition, users and limits.
    Show {
        #[command(flatten)]
        storage: Storage,
        #[arg(long)]
        org: Option<i64>,
    },
}

/// `N` or `auto` (no override).
fn override_arg(name: &str, v: Option<String>) -> anyhow::Result<Option<Option<i64>>> {
    match v.as_deref() {
        None => Ok(None),
        Some("auto") => Ok(Some(None)),
        Some(n) => match n.parse::<i64>() {
            Ok(n) if n >= 0 => Ok(Some(Some(n))),
            _ => anyhow::bail!("--{name} takes a number or `auto`"),
        },
    }
}

async fn pick_org(control: &Control, org: Option<i64>) -> anyhow::Result<i64> {
    let orgs = control.orgs().await?;
    match org {
        Some(id) => orgs
            .iter()
            .find(|o| o.id == id)
            .map(|o| o.id)
            .with_context(|| format!("no org {id}")),
        None => orgs
            .first()
            .map(|o| o.id)
            .context("no org yet: start the server once"),
    }
}

fn limits_json(s: zcrm_store::limits::LimitSettings) -> serde_json::Value {
    let e = zcrm_server::limits::Effective::of(s);
    serde_json::json!({
        "org_id": e.settings.org_id.to_string(),
        "edition": e.settings.edition,
        "users": e.settings.users,
        "limits": if e.settings.enabled { "on" } else { "off" },
        "credits": e.credits,
        "credits_overridden": e.settings.credits_override.is_some(),
        "concurrency": e.concurrency,
        "heavy_concurrency": e.heavy,
        "concurrency_overridden": e.settings.concurrency_override.is_some(),
    })
}

async fn org_cmd(cmd: OrgCmd) -> anyhow::Result<()> {
    match cmd {
        OrgCmd::Set {
            storage,
            org,
            edition,
            users,
            credits,
            concurrency,
            limits,
        } => {
            let edition = match edition {
                None => None,
                Some(e) => Some(
                    zcrm_server::limits::EDITIONS
                        .iter()
                        .find(|k| k.eq_ignore_ascii_case(&e))
                        .map(|k| k.to_string())
                        .with_context(|| {
                            format!(
                                "unknown edition {e:?}: one of {}",
                                zcrm_server::limits::EDITIONS.join(", ")
                            )
                        })?,
                ),
            };
            if users.is_some_and(|u| u < 1) {
                anyhow::bail!("--users must be at least 1");
            }
            let change = zcrm_store::limits::LimitChange {
                edition,
                users,
                credits: override_arg("credits", credits)?,
                concurrency: override_arg("concurrency", concurrency)?,
                enabled: limits.map(|l| l == "on"),
            };
            let control = open_control(&storage).await?;
            let id = pick_org(&control, org).await?;
            let set = control
                .set_limits(id, change, Clock::new().now_ms())
                .await?
                .context("org vanished")?;
            control.close();
            println!("{}", limits_json(set));
            Ok(())
        }
        OrgCmd::Show { storage, org } => {
            let control = open_control(&storage).await?;
            let id = pick_org(&control, org).await?;
            let s = control.limit_settings(id).await?.context("org vanished")?;
            control.close();
            println!("{}", limits_json(s));
            Ok(())
        }
    }
}

async fn usage(storage: Storage, org: Option<i64>, json: bool) -> anyhow::Result<()> {
    let control = open_control(&storage).await?;
    let id = pick_org(&control, org).await?;
    let s = control.limit_settings(id).await?.context("org vanished")?;
    let now = Clock::new().now_ms();
    let u = control
        .usage(id, zcrm_store::limits::window_floor(now))
        .await?;
    control.close();
    let v = zcrm_server::limits::usage_json(&zcrm_server::limits::Effective::of(s), &u);
    if json {
        println!("{v}");
        return Ok(());
    }
    println!(
        "org {}  {} ({} users)  limits {}\ncredits (rolling 24 h): {} used of {}, {} remaining\nconcurrency per app: {} (heavy calls {})",
        v["org_id"].as_str().unwrap_or(""),
        v["edition"].as_str().unwrap_or(""),
        v["users"],
        v["limits"].as_str().unwrap_or(""),
        v["credits"]["used"],
        v["credits"]["limit"],
        v["credits"]["remaining"],
        v["concurrency"]["limit"],
        v["concurrency"]["heavy_limit"],
    );
    for (title, list, key) in [
        ("by API", "by_api", "api"),
        ("by client", "by_client", "client_id"),
    ] {
        println!(
            "\n{title}:\n  {:>8} {:>8} {:>8}  {key}",
            "credits", "calls", "refused"
        );
        for l in v[list].as_array().into_iter().flatten() {
            println!(
                "  {:>8} {:>8} {:>8}  {}",
                l["credits"],
                l["calls"],
                l["refused"],
                l[key].as_str().unwrap_or("")
            );
        }
    }
    Ok(())
}

/// Redirect URIs as Zoho's API console takes them: absolute http(s) URLs. No
/// fragment, since the code is appended as a query parameter.
fn redirect_uris(list: &str) -> anyhow::Result<Vec<String>> {
    let uris: Vec<String> = list
        .split(',')
        .map(|u| u.trim().to_string())
        .filter(|u| !u.is_empty())
        .collect();
    if uris.is_empty() {
        anyhow::bail!("--redirect-uri needs at least one URI");
    }
    for u in &uris {
        let rest = u
            .strip_prefix("https://")
            .or_else(|| u.strip_prefix("http://"));
        let ok = rest.is_some_and(|r| !r.is_empty() && !r.starts_with('/'))
            && !u.contains('#')
            && !u.chars().any(|c| c.is_whitespace() || c.is_control());
        if !ok {
            anyhow::bail!("invalid redirect URI {u:?}: it must be an absolute http:// or https:// URL without a fragment");
        }
    }
    Ok(uris)
}

async fn open_control(s: &Storage) -> anyhow::Result<Control> {
    let backend = Backend::connect(&s.data_dir, s.database_url.as_deref(), s.db_pool_size)
        .with_context(|| format!("opening {}", s.data_dir.display()))?;
    Ok(backend.control().await?)
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

async fn serve(a: ServeArgs) -> anyhow::Result<()> {
    let config = Config {
        listen: a.listen,
        data_dir: a.storage.data_dir,
        database_url: a.storage.database_url,
        db_pool_size: a.storage.db_pool_size,
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

async fn admin(cmd: Admin) -> anyhow::Result<()> {
    match cmd {
        Admin::SelfClient {
            storage,
            scope,
            expiry,
            json,
        } => {
            let scopes = Scopes::parse_list(&scope)
                .map_err(|bad| anyhow::anyhow!("invalid scope: {bad}"))?;
            if scopes.0.is_empty() {
                anyhow::bail!("--scope needs at least one scope");
            }
            let control = open_control(&storage).await?;
            let now = Clock::new().now_ms();
            let (client, code) = control
                .self_client(scope.replace(' ', ""), expiry as i64 * 1000, now)
                .await?;
            control.close();
            if json {
                println!(
                    "{}",
                    serde_json::json!({"client_id": client.client_id, "client_secret": client.client_secret, "code": code})
                );
            } else {
                println!(
                    "client_id:     {}\nclient_secret: {}\ngrant code:    {code}",
                    client.client_id, client.client_secret
                );
            }
            Ok(())
        }
        Admin::Client {
            storage,
            redirect_uri,
            name,
            json,
        } => {
            let uris = redirect_uris(&redirect_uri)?;
            let control = open_control(&storage).await?;
            let now = Clock::new().now_ms();
            let client = control.web_client(name, uris, now).await?;
            control.close();
            if json {
                println!(
                    "{}",
                    serde_json::json!({"client_id": client.client_id, "client_secret": client.client_secret})
                );
            } else {
                println!(
                    "client_id:     {}\nclient_secret: {}",
                    client.client_id, client.client_secret
                );
            }
            Ok(())
        }
        Admin::Org(cmd) => org_cmd(cmd).await,
        Admin::Usage { storage, org, json } => usage(storage, org, json).await,
        Admin::Deliveries {
            storage,
            event_id,
            limit,
            json,
        } => deliveries(&storage, event_id, limit, json).await,
        Admin::Seed {
            storage,
            leads,
            accounts,
            contacts,
            seed,
        } => {
            let backend = Backend::connect(
                &storage.data_dir,
                storage.database_url.as_deref(),
                storage.db_pool_size,
            )?;
            let control = backend.control().await?;
            let org = control
                .orgs()
                .await?
                .into_iter()
                .next()
                .ok_or_else(|| anyhow::anyhow!("no org yet: start the server once"))?;
            let now = Clock::new().now_ms();
            let ids = zcrm_core::ids::IdGen::new(control.register_node(now).await?);
            let catalog = std::sync::Arc::new(
                zcrm_core::meta::Catalog::standard().map_err(anyhow::Error::msg)?,
            );
            let store = backend.org_store(org.id, catalog).await?;
            let started = std::time::Instant::now();
            let owner = org.primary_user.unwrap_or_default();
            let made = store
                .seed(
                    zcrm_store::seed::SeedSpec {
                        accounts,
                        contacts,
                        leads,
                        owner,
                        now,
                        seed,
                    },
                    &ids,
                )
                .await?;
            store.close();
            control.close();
            println!(
                "seeded {} accounts, {} contacts, {} leads in {:.1} s",
                made.0,
                made.1,
                made.2,
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Admin::Password { storage, email } => {
            let control = open_control(&storage).await?;
            let (email, password) = control.reset_password(email).await?;
            control.close();
            println!("admin email:    {email}\nadmin password: {password}");
            Ok(())
        }
    }
}

async fn deliveries(
    s: &Storage,
    event_id: Option<String>,
    limit: i64,
    json: bool,
) -> anyhow::Result<()> {
    let backend = Backend::connect(&s.data_dir, s.database_url.as_deref(), s.db_pool_size)
        .with_context(|| format!("opening {}", s.data_dir.display()))?;
    let control = backend.control().await?;
    let catalog =
        std::sync::Arc::new(zcrm_core::meta::Catalog::standard().map_err(anyhow::Error::msg)?);
    let wanted = match &event_id {
        Some(e) => {
            let (o, n) = e
                .split_once('-')
                .context("--event-id looks like <org id>-<n>")?;
            Some((o.parse::<i64>()?, n.parse::<i64>()?))
        }
        None => None,
    };
    let mut rows = Vec::new();
    for org in control.orgs().await? {
        let event = match wanted {
            Some((o, n)) if o == org.id => Some(n),
            Some(_) => continue,
            None => None,
        };
        let store = backend.org_store(org.id, catalog.clone()).await?;
        for a in store.attempts(event, limit).await? {
            rows.push(zcrm_server::notify::attempt_json(org.id, &a));
        }
        store.close();
    }
    control.close();
    rows.sort_by(|a, b| b["at"].as_i64().cmp(&a["at"].as_i64()));
    rows.truncate(limit.max(0) as usize);
    for r in &rows {
        if json {
            println!("{r}");
        } else {
            let at = chrono::DateTime::from_timestamp_millis(r["at"].as_i64().unwrap_or(0))
                .map(|t| t.to_rfc3339())
                .unwrap_or_default();
            println!(
                "{at}  {}  #{}  {:<9} {:<9} {:>4} {:>6}ms  {} {} -> {}  {}",
                r["event_id"].as_str().unwrap_or(""),
                r["attempt"],
                r["outcome"].as_str().unwrap_or(""),
                r["event_status"].as_str().unwrap_or(""),
                r["status_code"]
                    .as_i64()
                    .map(|s| s.to_string())
                    .unwrap_or("-".into()),
                r["latency_ms"],
                r["module"].as_str().unwrap_or(""),
                r["operation"].as_str().unwrap_or(""),
                r["notify_url"].as_str().unwrap_or(""),
                r["error"].as_str().unwrap_or(""),
            );
        }
    }
    if rows.is_empty() && !json {
        println!("no delivery attempts");
    }
    Ok(())
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
            Command::Serve(a) => serve(a).await,
            Command::Admin(a) => admin(a).await,
        }
    })
}
