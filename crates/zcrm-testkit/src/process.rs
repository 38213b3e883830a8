//! The `zcrm` binary as a child process: `zcrm serve` for the tests where the
//! process itself is under test (kill -9, restarts, several nodes), and
//! `zcrm admin …` for the CLI.

use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use zcrm_server::Config;

/// The `zcrm` binary cargo built beside the running test: tests run from
/// `target/<profile>/deps/`, binaries sit in `target/<profile>/` (cargo builds
/// them first for a package's integration tests: zcrm-cli's).
pub fn bin() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let bin = exe
        .parent()
        .and_then(|deps| deps.parent())
        .map(|dir| dir.join(format!("zcrm{}", std::env::consts::EXE_SUFFIX)))
        .expect("the target dir");
    assert!(
        bin.exists(),
        "{} not found: process tests run as zcrm-cli's integration tests",
        bin.display()
    );
    bin
}

/// A `zcrm` command pointed at `config`'s storage (through the environment,
/// as every `zcrm` subcommand reads it; the data dir is a flag).
pub fn zcrm(config: &Config) -> Command {
    let mut c = Command::new(bin());
    for (var, value) in [
        ("ZCRM_DATABASE_URL", &config.database_url),
        ("ZCRM_FILE_STORE", &config.file_store),
    ] {
        match value {
            Some(v) => c.env(var, v),
            None => c.env_remove(var),
        };
    }
    c
}

/// `zcrm serve`'s flags for `config`: the process runs what an in-process
/// server with the same config would. (Storage comes through `zcrm`.)
fn serve_args(c: &Config) -> Vec<OsString> {
    let mut a: Vec<OsString> = vec![
        "serve".into(),
        "--listen".into(),
        c.listen.to_string().into(),
    ];
    a.push("--data-dir".into());
    a.push(c.data_dir.clone().into());
    for (flag, v) in [
        ("--time-zone", c.time_zone.clone()),
        ("--company-name", c.company_name.clone()),
        ("--edition", c.edition.clone()),
        ("--admin-email", c.admin_email.clone()),
        ("--db-pool-size", c.db.pool_size.to_string()),
        ("--db-statement-cache", c.db.statement_cache.to_string()),
        ("--sqlite-readers", c.db.sqlite_readers.to_string()),
        ("--bulk-concurrent-jobs", c.bulk.concurrent_jobs.to_string()),
        ("--bulk-jobs-per-day", c.bulk.jobs_per_day.to_string()),
        ("--bulk-write-max-rows", c.bulk.write_max_rows.to_string()),
        (
            "--watch-channels-per-client",
            c.watch.channels_per_client.to_string(),
        ),
        (
            "--watch-channels-per-org",
            c.watch.channels_per_org.to_string(),
        ),
    ] {
        a.push(flag.into());
        a.push(v.into());
    }
    if let Some(u) = &c.public_url {
        a.push("--public-url".into());
        a.push(u.into());
    }
    if let Some(allow) = c.allow_private_webhooks {
        a.push(format!("--allow-private-webhooks={allow}").into());
    }
    if c.test_clock {
        a.push("--test-clock".into());
    }
    a
}

/// A started `zcrm serve` and what it printed up to "listening".
pub struct Spawned {
    pub child: Child,
    pub addr: SocketAddr,
    pub banner: Vec<String>,
}

impl Spawned {
    pub fn first_start(&self) -> bool {
        self.banner.iter().any(|l| l.starts_with("First start"))
    }

    /// The value after `label` on the first-start banner ("client_id:" …).
    pub fn field(&self, label: &str) -> String {
        self.banner
            .iter()
            .find_map(|l| {
                l.trim()
                    .strip_prefix(label)
                    .map(|v| v.split_whitespace().next().unwrap_or("").to_string())
            })
            .unwrap_or_default()
    }
}

/// Starts `zcrm serve` with `config` and waits until it listens.
pub fn spawn(config: &Config) -> Spawned {
    let mut child = zcrm(config)
        .args(serve_args(config))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start zcrm");
    let mut reader = BufReader::new(child.stdout.take().expect("piped stdout"));
    let mut banner = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).expect("zcrm's stdout") == 0 {
            panic!("zcrm exited before listening: {banner:?}");
        }
        let done = line.starts_with("zcrm listening on");
        banner.push(line.trim_end().to_string());
        if done {
            break;
        }
    }
    // Keep draining stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in reader.lines() {});
    // "zcrm listening on http://ADDR (api_domain …)"
    let addr = banner
        .last()
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|u| u.trim_start_matches("http://").parse().ok())
        .unwrap_or_else(|| panic!("no address in {banner:?}"));
    Spawned {
        child,
        addr,
        banner,
    }
}

/// Stops a child with SIGTERM (clean) or SIGKILL and reaps it; a clean stop must exit 0.
pub fn stop(mut child: Child, kill9: bool) {
    let sig = if kill9 { "-KILL" } else { "-TERM" };
    Command::new("kill")
        .arg(sig)
        .arg(child.id().to_string())
        .status()
        .expect("kill");
    let status = child.wait().expect("wait for zcrm");
    if !kill9 {
        assert!(status.success(), "clean shutdown exits 0, got {status:?}");
    }
}

/// An extra server process, stopped when dropped.
pub struct Node {
    /// `http://127.0.0.1:PORT`
    pub url: String,
    child: Child,
}

impl Node {
    pub fn new(s: Spawned) -> Node {
        Node {
            url: format!("http://{}", s.addr),
            child: s.child,
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
