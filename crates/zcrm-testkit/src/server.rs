//! A test server's life: start (in this process or as a `zcrm serve`
//! process), restart, extra nodes, the admin side, stop.

use crate::config::{data_dir, test_config};
use crate::in_process::InProcess;
use crate::pg::PgDatabase;
use crate::process::{self, Node};
use reqwest::Client;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;
use zcrm_server::Config;

enum Running {
    InProcess(InProcess),
    Process(std::process::Child),
    /// Only between a stop and the next start.
    Stopped,
}

pub struct TestServer {
    /// `http://127.0.0.1:PORT`
    pub url: String,
    pub http: Client,
    /// The first-start banner's Self Client: (client_id, client_secret, grant code).
    pub boot_client: (String, String, String),
    /// (email, password) of the admin, from the first-start banner.
    pub admin: (String, String),
    /// What the server runs with (its port too); restarts and extra nodes reuse it.
    pub config: Config,
    running: Running,
    /// Dropped after the server stops (see `Drop`), the database before the dir.
    pub db: Option<PgDatabase>,
    pub dir: tempfile::TempDir,
}

fn client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("an HTTP client")
}

impl TestServer {
    /// A server in this process, with a fresh org.
    pub async fn start() -> TestServer {
        Self::start_with(|_| {}).await
    }

    /// `start` with `tweak` applied to the config first.
    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> TestServer {
        let (dir, db, config) = Self::prepare(tweak);
        let (server, first) = InProcess::start(config.clone())
            .await
            .expect("start the test server");
        let first = first.expect("a fresh data dir bootstraps an org");
        TestServer {
            url: format!("http://{}", server.addr),
            http: client(),
            boot_client: first.client,
            admin: first.admin,
            config: Config {
                listen: server.addr,
                ..config
            },
            running: Running::InProcess(server),
            db,
            dir,
        }
    }

    /// A server in this process on data made beforehand (an older release's,
    /// say): `load` fills a fresh data dir, and with `postgres` a fresh
    /// PostgreSQL database (the suite must run on PostgreSQL), before the
    /// server first opens them. The data has its org, so nothing is
    /// bootstrapped and the banner's fields stay empty.
    pub async fn start_on(
        postgres: bool,
        load: impl FnOnce(&std::path::Path, Option<&PgDatabase>),
    ) -> TestServer {
        let dir = data_dir();
        let db = if postgres {
            Some(PgDatabase::create().expect("set ZCRM_TEST_DATABASE_URL"))
        } else {
            None
        };
        load(dir.path(), db.as_ref());
        let config = test_config(dir.path().to_path_buf(), db.as_ref());
        let (server, first) = InProcess::start(config.clone())
            .await
            .expect("start on the loaded data");
        assert!(first.is_none(), "the loaded data has its org: none is made");
        TestServer {
            url: format!("http://{}", server.addr),
            http: client(),
            boot_client: Default::default(),
            admin: Default::default(),
            config: Config {
                listen: server.addr,
                ..config
            },
            running: Running::InProcess(server),
            db,
            dir,
        }
    }

    /// A `zcrm serve` process, with a fresh org: for kill -9, restarts,
    /// several nodes and the binary itself.
    pub async fn start_process() -> TestServer {
        Self::start_process_with(|_| {}).await
    }

    /// `start_process` with `tweak` applied to the config first.
    pub async fn start_process_with(tweak: impl FnOnce(&mut Config)) -> TestServer {
        let (dir, db, config) = Self::prepare(tweak);
        let s = process::spawn(&config);
        let boot_client = (
            s.field("client_id:"),
            s.field("client_secret:"),
            s.field("grant code:"),
        );
        let admin = (s.field("admin email:"), s.field("admin password:"));
        assert!(
            !admin.0.is_empty() && !admin.1.is_empty(),
            "banner names the admin: {:?}",
            s.banner
        );
        TestServer {
            url: format!("http://{}", s.addr),
            http: client(),
            boot_client,
            admin,
            config: Config {
                listen: s.addr,
                ..config
            },
            running: Running::Process(s.child),
            db,
            dir,
        }
    }

    fn prepare(tweak: impl FnOnce(&mut Config)) -> (tempfile::TempDir, Option<PgDatabase>, Config) {
        let dir = data_dir();
        let db = PgDatabase::create();
        let mut config = test_config(dir.path().to_path_buf(), db.as_ref());
        tweak(&mut config);
        (dir, db, config)
    }

    /// The in-process server's state (its clock, its stores…); `None` for a process.
    pub fn app(&self) -> Option<&Arc<zcrm_server::App>> {
        match &self.running {
            Running::InProcess(s) => Some(&s.app),
            _ => None,
        }
    }

    /// The server process's id; `None` in process.
    pub fn pid(&self) -> Option<u32> {
        match &self.running {
            Running::Process(child) => Some(child.id()),
            _ => None,
        }
    }

    /// The server process's peak resident memory in bytes (`VmHWM`); `None`
    /// in process or where `/proc` does not tell.
    pub fn peak_rss(&self) -> Option<u64> {
        let Running::Process(child) = &self.running else {
            return None;
        };
        let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).ok()?;
        let kb = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))?
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse::<u64>()
            .ok()?;
        Some(kb * 1024)
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    /// Everything the server stored, as bytes: the SQLite files, or a dump of
    /// the PostgreSQL database. For checking that no secret is kept in clear.
    pub fn stored_bytes(&self) -> Vec<u8> {
        match &self.db {
            Some(db) => {
                let out = Command::new("pg_dump")
                    .args(["--data-only", &db.url])
                    .output()
                    .expect("pg_dump");
                assert!(
                    out.status.success(),
                    "pg_dump: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                out.stdout
            }
            None => {
                let mut all = Vec::new();
                for f in ["control.db", "control.db-wal"] {
                    all.extend(std::fs::read(self.dir.path().join(f)).unwrap_or_default());
                }
                all
            }
        }
    }

    /// Stops the server cleanly and leaves its data, for a test to look at
    /// or change the data dir before [`TestServer::start_again`].
    pub async fn stop(&mut self) {
        match std::mem::replace(&mut self.running, Running::Stopped) {
            Running::InProcess(s) => assert!(s.stop_async().await, "the test server did not stop"),
            Running::Process(child) => process::stop(child, false),
            Running::Stopped => {}
        }
    }

    /// Starts a stopped server again in this process, on the same data: the
    /// error it refuses to start with, if it does.
    pub async fn start_again(&mut self) -> Result<(), String> {
        let (s, _) = InProcess::start(self.config.clone())
            .await
            .map_err(|e| format!("{e:#}"))?;
        self.running = Running::InProcess(s);
        self.http = client();
        Ok(())
    }

    /// Stops the server cleanly (SIGTERM for a process) or with SIGKILL (a
    /// process only), then starts it again on the same port and data.
    pub async fn restart(&mut self, kill9: bool) {
        match std::mem::replace(&mut self.running, Running::Stopped) {
            Running::InProcess(s) => {
                assert!(
                    !kill9,
                    "kill -9 needs a process: TestServer::start_process()"
                );
                assert!(s.stop_async().await, "the test server did not stop");
                let (s, first) = InProcess::start(self.config.clone())
                    .await
                    .expect("restart the test server");
                assert!(first.is_none(), "restart must not bootstrap again");
                self.running = Running::InProcess(s);
            }
            Running::Process(child) => {
                process::stop(child, kill9);
                let s = process::spawn(&self.config);
                assert!(!s.first_start(), "restart must not bootstrap again");
                self.running = Running::Process(s.child);
            }
            Running::Stopped => unreachable!("restart of a stopped server"),
        }
        // Pooled keep-alive connections died with the old server.
        self.http = client();
    }

    /// Another `zcrm serve` process on the same data dir / database: one more
    /// node of a cluster behind a load balancer.
    pub fn extra_node(&self) -> Node {
        let config = Config {
            listen: ([127, 0, 0, 1], 0).into(),
            ..self.config.clone()
        };
        let s = process::spawn(&config);
        assert!(!s.first_start(), "a second node must not bootstrap");
        Node::new(s)
    }

    /// A new Self Client with a grant code valid `expiry` seconds, as
    /// `zcrm admin self-client --json` prints it: `{"client_id","client_secret","code"}`.
    /// A process server gets it from that command; the in-process one from
    /// its store directly, the code issued on the server's clock.
    pub fn self_client(&self, scopes: &str, expiry: u64) -> Value {
        let Running::InProcess(s) = &self.running else {
            let out = process::zcrm(&self.config)
                .args(["admin", "self-client", "--data-dir"])
                .arg(self.dir.path())
                .args(["--scope", scopes, "--expiry", &expiry.to_string(), "--json"])
                .output()
                .expect("run zcrm admin self-client");
            assert!(
                out.status.success(),
                "self-client failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            return serde_json::from_slice(&out.stdout).expect("self-client's JSON");
        };
        let parsed = zcrm_core::scope::Scopes::parse_list(scopes).expect("valid scopes");
        assert!(!parsed.0.is_empty(), "at least one scope");
        let app = s.app.clone();
        let scopes = scopes.replace(' ', "");
        let (client, code) = s
            .block_on(async move {
                let now = app.now();
                app.control
                    .self_client(scopes, expiry as i64 * 1000, now)
                    .await
            })
            .expect("create a Self Client");
        json!({"client_id": client.client_id, "client_secret": client.client_secret, "code": code})
    }

    /// Runs `zcrm admin <args> --data-dir DIR` against this server's data;
    /// returns its stdout, or its stderr as the error.
    pub fn admin_cmd(&self, args: &[&str]) -> Result<String, String> {
        let out = process::zcrm(&self.config)
            .arg("admin")
            .args(args)
            .arg("--data-dir")
            .arg(self.dir.path())
            .output()
            .expect("run zcrm admin");
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    /// `zcrm admin client` → (client_id, client_secret) of a new web-app client.
    pub fn web_client(&self, redirect_uris: &str, name: &str) -> (String, String) {
        let out = self
            .admin_cmd(&[
                "client",
                "--redirect-uri",
                redirect_uris,
                "--name",
                name,
                "--json",
            ])
            .expect("admin client");
        let v: Value = serde_json::from_str(&out).expect("admin client's JSON");
        let field = |k: &str| v[k].as_str().expect(k).to_string();
        (field("client_id"), field("client_secret"))
    }

    /// Moves the server's clock `seconds` forward: the in-process server's
    /// directly, a process's through `POST /__zcrm/clock/advance`.
    pub async fn advance_clock(&self, seconds: i64) {
        if let Some(app) = self.app() {
            app.clock.advance(seconds * 1000);
            return;
        }
        let admin = self.token("ZohoCRM.org.ALL").await;
        let r = self
            .http
            .post(format!(
                "{}/__zcrm/clock/advance?seconds={seconds}",
                self.url
            ))
            .header("Authorization", format!("Zoho-oauthtoken {admin}"))
            .send()
            .await
            .expect("POST /__zcrm/clock/advance");
        assert_eq!(r.status(), reqwest::StatusCode::OK);
    }
}

impl Drop for TestServer {
    /// Stops the server before the database and the data dir go.
    fn drop(&mut self) {
        match std::mem::replace(&mut self.running, Running::Stopped) {
            Running::InProcess(s) => {
                if !s.stop() {
                    eprintln!("test server on {} did not stop in time", self.url);
                }
            }
            Running::Process(mut c) => {
                let _ = c.kill();
                let _ = c.wait();
            }
            Running::Stopped => {}
        }
    }
}
