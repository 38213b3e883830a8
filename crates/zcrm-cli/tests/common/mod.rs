//! A real `zcrm serve` process on an ephemeral port with a fresh data dir, and
//! the calls a Zoho integration makes against it.
#![allow(dead_code)]

pub mod bulk;

use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const ALL_SCOPES: &str =
    "ZohoCRM.modules.ALL,ZohoCRM.settings.ALL,ZohoCRM.users.ALL,ZohoCRM.org.ALL,ZohoCRM.apis.READ";

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_zcrm")
}

/// A fresh PostgreSQL database for one test server, dropped with it. Set
/// `ZCRM_TEST_DATABASE_URL` (a database the tests may create others from, e.g.
/// `postgres://postgres@127.0.0.1/test`) to run the whole suite on PostgreSQL.
pub struct PgDatabase {
    admin_url: String,
    pub name: String,
    pub url: String,
}

static DB_COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

fn psql(url: &str, sql: &str) {
    let out = Command::new("psql")
        .args([url, "-v", "ON_ERROR_STOP=1", "-qc", sql])
        .output()
        .expect("psql (PostgreSQL client) must be installed for the PostgreSQL pass");
    assert!(
        out.status.success(),
        "psql {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl PgDatabase {
    fn create() -> Option<PgDatabase> {
        let admin_url = std::env::var("ZCRM_TEST_DATABASE_URL")
            .ok()
            .filter(|u| !u.is_empty())?;
        let n = DB_COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("zcrm_t_{}_{n}_{}", std::process::id(), rand_suffix());
        psql(&admin_url, &format!("CREATE DATABASE {name}"));
        let base = admin_url
            .rsplit_once('/')
            .map(|(b, _)| b)
            .unwrap_or(&admin_url);
        let url = format!("{base}/{name}");
        Some(PgDatabase {
            admin_url,
            name,
            url,
        })
    }
}

fn rand_suffix() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0)
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .args([
                &self.admin_url,
                "-qc",
                &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
            ])
            .output();
    }
}

pub fn on_postgres() -> bool {
    std::env::var("ZCRM_TEST_DATABASE_URL").is_ok_and(|u| !u.is_empty())
}

/// A `zcrm` command pointed at this test's storage.
fn zcrm(db: Option<&PgDatabase>) -> Command {
    let mut c = Command::new(bin());
    // `ZCRM_TEST_FILE_STORE=s3://…` runs the suite with files in an S3-compatible store.
    match std::env::var("ZCRM_TEST_FILE_STORE")
        .ok()
        .filter(|u| !u.is_empty())
    {
        Some(u) => c.env("ZCRM_FILE_STORE", u),
        None => c.env_remove("ZCRM_FILE_STORE"),
    };
    match db {
        Some(db) => c.env("ZCRM_DATABASE_URL", &db.url),
        None => c.env_remove("ZCRM_DATABASE_URL"),
    };
    c
}

pub struct TestServer {
    pub url: String,
    /// Declared before `dir` and the child so it is dropped after the server stops.
    pub db: Option<PgDatabase>,
    pub dir: tempfile::TempDir,
    child: Option<Child>,
    pub http: Client,
    /// From the first-start banner.
    pub boot_client: (String, String, String),
    /// (email, password) of the admin, from the first-start banner.
    pub admin: (String, String),
    port: u16,
}

pub struct Resp {
    pub status: u16,
    pub body: Value,
    pub content_type: String,
}

impl Resp {
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }
}

fn spawn(dir: &Path, listen: &str, db: Option<&PgDatabase>) -> (Child, Vec<String>) {
    let mut child = zcrm(db)
        .args(["serve", "--listen", listen, "--data-dir"])
        .arg(dir)
        .arg("--test-clock")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start zcrm");
    let out = child.stdout.take().unwrap();
    let mut reader = BufReader::new(out);
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap() == 0 {
            panic!("zcrm exited before listening: {lines:?}");
        }
        let done = line.starts_with("zcrm listening on");
        lines.push(line.trim_end().to_string());
        if done {
            break;
        }
    }
    // Keep draining stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in reader.lines() {});
    (child, lines)
}

fn field_after(lines: &[String], label: &str) -> String {
    lines
        .iter()
        .find_map(|l| {
            l.trim()
                .strip_prefix(label)
                .map(|v| v.split_whitespace().next().unwrap_or("").to_string())
        })
        .unwrap_or_default()
}

impl TestServer {
    pub async fn start() -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let db = PgDatabase::create();
        let (child, lines) = spawn(dir.path(), "127.0.0.1:0", db.as_ref());
        let listen = lines.last().unwrap();
        let addr = listen
            .split_whitespace()
            .nth(3)
            .unwrap()
            .trim_start_matches("http://")
            .to_string();
        let port = addr.rsplit(':').next().unwrap().parse().unwrap();
        let boot = (
            field_after(&lines, "client_id:"),
            field_after(&lines, "client_secret:"),
            field_after(&lines, "grant code:"),
        );
        let admin = (
            field_after(&lines, "admin email:"),
            field_after(&lines, "admin password:"),
        );
        assert!(
            !admin.0.is_empty() && !admin.1.is_empty(),
            "banner names the admin: {lines:?}"
        );
        TestServer {
            url: format!("http://{addr}"),
            db,
            dir,
            child: Some(child),
            http: Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            boot_client: boot,
            admin,
            port,
        }
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

    /// Stops the server with SIGTERM (clean) or SIGKILL, then starts it again on the same port and data dir.
    pub async fn restart(&mut self, kill9: bool) {
        let mut child = self.child.take().unwrap();
        let sig = if kill9 { "-KILL" } else { "-TERM" };
        Command::new("kill")
            .arg(sig)
            .arg(child.id().to_string())
            .status()
            .unwrap();
        let status = child.wait().unwrap();
        if !kill9 {
            assert!(status.success(), "clean shutdown exits 0, got {status:?}");
        }
        let (child, lines) = spawn(
            self.dir.path(),
            &format!("127.0.0.1:{}", self.port),
            self.db.as_ref(),
        );
        assert!(
            !lines.iter().any(|l| l.starts_with("First start")),
            "restart must not bootstrap again"
        );
        self.child = Some(child);
        // Pooled keep-alive connections died with the old process.
        self.http = Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
    }

    /// Another `zcrm serve` process on the same data dir / database: one more
    /// node of a cluster behind a load balancer.
    pub fn extra_node(&self) -> Node {
        let (child, lines) = spawn(self.dir.path(), "127.0.0.1:0", self.db.as_ref());
        assert!(
            !lines.iter().any(|l| l.starts_with("First start")),
            "a second node must not bootstrap"
        );
        let addr = lines
            .last()
            .unwrap()
            .split_whitespace()
            .nth(3)
            .unwrap()
            .to_string();
        Node { url: addr, child }
    }

    /// `zcrm admin self-client` → `{"client_id","client_secret","code"}`.
    pub fn self_client(&self, scopes: &str, expiry: u64) -> Value {
        let out = zcrm(self.db.as_ref())
            .args(["admin", "self-client", "--data-dir"])
            .arg(self.dir.path())
            .args(["--scope", scopes, "--expiry", &expiry.to_string(), "--json"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "self-client failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// Runs `zcrm admin <args> --data-dir DIR`; returns its stdout, or its
    /// stderr as the error.
    pub fn admin_cmd(&self, args: &[&str]) -> Result<String, String> {
        let out = zcrm(self.db.as_ref())
            .arg("admin")
            .args(args)
            .arg("--data-dir")
            .arg(self.dir.path())
            .output()
            .unwrap();
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
        let v: Value = serde_json::from_str(&out).unwrap();
        (
            v["client_id"].as_str().unwrap().to_string(),
            v["client_secret"].as_str().unwrap().to_string(),
        )
    }

    /// A client that shows redirects instead of following them, as an
    /// integration's test sees the consent page's answers.
    pub fn browser(&self) -> Client {
        Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap()
    }

    pub async fn oauth(&self, params: &[(&str, &str)]) -> Resp {
        let r = self
            .http
            .post(format!("{}/oauth/v2/token", self.url))
            .form(params)
            .send()
            .await
            .unwrap();
        to_resp(r).await
    }

    /// A fresh access token with exactly `scopes`.
    pub async fn token(&self, scopes: &str) -> String {
        self.tokens(scopes).await.0
    }

    /// (access, refresh, client_id, client_secret)
    pub async fn tokens(&self, scopes: &str) -> (String, String, String, String) {
        let c = self.self_client(scopes, 600);
        let (id, secret, code) = (
            c["client_id"].as_str().unwrap(),
            c["client_secret"].as_str().unwrap(),
            c["code"].as_str().unwrap(),
        );
        let r = self
            .oauth(&[
                ("grant_type", "authorization_code"),
                ("client_id", id),
                ("client_secret", secret),
                ("code", code),
            ])
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        (
            r.body["access_token"]
                .as_str()
                .expect("access_token")
                .to_string(),
            r.body["refresh_token"].as_str().unwrap_or("").to_string(),
            id.to_string(),
            secret.to_string(),
        )
    }

    pub async fn call(&self, method: Method, path: &str, token: &str, body: Option<Value>) -> Resp {
        let mut req = self
            .http
            .request(method, format!("{}{}", self.url, path))
            .header("Authorization", format!("Zoho-oauthtoken {token}"));
        if let Some(b) = body {
            req = req.json(&b);
        }
        to_resp(req.send().await.unwrap()).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Resp {
        self.call(Method::GET, path, token, None).await
    }
    pub async fn post(&self, path: &str, token: &str, body: Value) -> Resp {
        self.call(Method::POST, path, token, Some(body)).await
    }
    pub async fn put(&self, path: &str, token: &str, body: Value) -> Resp {
        self.call(Method::PUT, path, token, Some(body)).await
    }
    pub async fn delete(&self, path: &str, token: &str) -> Resp {
        self.call(Method::DELETE, path, token, None).await
    }

    pub async fn raw(&self, method: Method, path: &str, token: &str, body: &str) -> Resp {
        let r = self
            .http
            .request(method, format!("{}{}", self.url, path))
            .header("Authorization", format!("Zoho-oauthtoken {token}"))
            .header("Content-Type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        to_resp(r).await
    }

    pub async fn advance_clock(&self, seconds: i64) {
        let r = self
            .http
            .post(format!(
                "{}/__zcrm/clock/advance?seconds={seconds}",
                self.url
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }

    /// Creates records and returns their ids (asserts all succeeded).
    pub async fn create(&self, module: &str, token: &str, records: Vec<Value>) -> Vec<String> {
        let r = self
            .post(
                &format!("/crm/v8/{module}"),
                token,
                json!({ "data": records }),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        r.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["details"]["id"].as_str().unwrap().to_string())
            .collect()
    }
}

pub async fn to_resp(r: reqwest::Response) -> Resp {
    let status = r.status().as_u16();
    let content_type = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let bytes = r.bytes().await.unwrap();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
    };
    Resp {
        status,
        body,
        content_type,
    }
}

/// An extra server process, stopped when dropped.
pub struct Node {
    pub url: String,
    child: Child,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Asserts a Zoho error envelope: exactly the four keys, the code and the status.
pub fn assert_error(r: &Resp, status: u16, code: &str) {
    assert_eq!(r.status, status, "status for {code}: {}", r.body);
    assert_eq!(r.body["code"], code, "{}", r.body);
    assert_eq!(r.body["status"], "error", "{}", r.body);
    assert!(r.body["details"].is_object(), "{}", r.body);
    assert!(r.body["message"].is_string(), "{}", r.body);
    assert_eq!(
        r.body.as_object().unwrap().len(),
        4,
        "envelope has exactly 4 keys: {}",
        r.body
    );
    assert!(
        r.content_type.starts_with("application/json"),
        "content type {}",
        r.content_type
    );
}
