//! TLS to PostgreSQL with libpq's `sslmode` words, against the machine's
//! PostgreSQL serving a certificate for `localhost` signed by a CA made for
//! the run (`.ci/pg-tls.sh DIR` sets it up; `ZCRM_TEST_PG_CA=DIR/ca.pem`
//! names it). `.ci/run` does both and requires these tests to pass; without
//! the variable they are ignored.

mod common;
use common::*;
use serde_json::json;
use std::path::PathBuf;
use zcrm_store::{Backend, DbOptions};

fn ca() -> PathBuf {
    PathBuf::from(std::env::var("ZCRM_TEST_PG_CA").expect("ZCRM_TEST_PG_CA: run .ci/pg-tls.sh"))
}

/// `url` (postgres://user@127.0.0.1:port/db) with `host` and extra parameters.
fn with(url: &str, host: &str, params: &str) -> String {
    format!(
        "{}?{params}",
        url.replacen("@127.0.0.1:", &format!("@{host}:"), 1)
    )
}

/// Opens the control data over `url`: what a server does first at start.
async fn open(url: &str) -> Result<(), String> {
    let dir = tempfile::tempdir().expect("tempdir");
    let backend = Backend::connect(dir.path(), Some(url), &DbOptions::default())
        .map_err(|e| e.to_string())?;
    backend.control().await.map(drop).map_err(|e| e.to_string())
}

#[tokio::test]
#[ignore = "needs PostgreSQL with the run's certificate: .ci/pg-tls.sh, ZCRM_TEST_PG_CA"]
async fn verify_full_serves_the_api_over_encrypted_connections() {
    assert!(on_postgres(), "set ZCRM_TEST_DATABASE_URL");
    // The certificate names `localhost`; `hostaddr` keeps the connection on
    // 127.0.0.1 (the only address PostgreSQL trusts here) while the name is checked.
    let params = format!(
        "hostaddr=127.0.0.1&sslmode=verify-full&sslrootcert={}",
        ca().display()
    );
    let mut db_name = String::new();
    let srv = TestServer::start_with(|c| {
        let url = c.database_url.clone().expect("a PostgreSQL database");
        db_name = url.rsplit('/').next().unwrap_or_default().to_string();
        c.database_url = Some(with(&url, "localhost", &params));
    })
    .await;
    let t = srv.token(ALL_SCOPES).await;
    let ids = srv
        .create("Leads", &t, vec![json!({"Last_Name": "Over TLS"})])
        .await;
    let r = srv.get(&format!("/crm/v8/Leads/{}", ids[0]), &t).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["data"][0]["Last_Name"], "Over TLS");

    // PostgreSQL's own view: every zcrm connection to this database is encrypted.
    let out = std::process::Command::new("psql")
        .args([
            std::env::var("ZCRM_TEST_DATABASE_URL").unwrap().as_str(),
            "-Atc",
            &format!(
                "SELECT count(*) FILTER (WHERE s.ssl), count(*) FILTER (WHERE NOT s.ssl)
                 FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid)
                 WHERE a.application_name = 'zcrm' AND a.datname = '{db_name}'"
            ),
        ])
        .output()
        .expect("psql");
    let counts = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let (tls, plain) = counts.split_once('|').expect("two counts");
    assert!(
        tls.parse::<u32>().unwrap() > 0,
        "encrypted connections: {counts}"
    );
    assert_eq!(plain, "0", "no plain connections: {counts}");
}

#[tokio::test]
#[ignore = "needs PostgreSQL with the run's certificate: .ci/pg-tls.sh, ZCRM_TEST_PG_CA"]
async fn certificates_are_checked_as_libpq_does() {
    assert!(on_postgres(), "set ZCRM_TEST_DATABASE_URL");
    let db = PgDatabase::create().expect("a fresh database");
    let base = db.url.clone();
    let ca = ca();
    let other = ca.with_file_name("other-ca.pem");
    let root = |p: &PathBuf| format!("sslrootcert={}", p.display());

    // The name in the certificate is `localhost`, not 127.0.0.1.
    let err = open(&with(
        &base,
        "127.0.0.1",
        &format!("sslmode=verify-full&{}", root(&ca)),
    ))
    .await
    .expect_err("verify-full refuses a certificate for another name");
    assert!(err.contains("not valid for name"), "{err}");
    // verify-ca checks the chain only.
    open(&with(
        &base,
        "127.0.0.1",
        &format!("sslmode=verify-ca&{}", root(&ca)),
    ))
    .await
    .expect("verify-ca takes the right CA whatever the name");
    // A CA that signed nothing here: both verify modes refuse.
    for mode in ["verify-ca", "verify-full"] {
        let err = open(&with(
            &base,
            "localhost",
            &format!("hostaddr=127.0.0.1&sslmode={mode}&{}", root(&other)),
        ))
        .await
        .expect_err("an unknown issuer is refused");
        assert!(err.contains("UnknownIssuer"), "{mode}: {err}");
    }
    // require: encrypted, not checked (libpq without a root file).
    open(&with(&base, "127.0.0.1", "sslmode=require"))
        .await
        .expect("require connects over TLS without a CA");
    // The CA given by flag instead of in the URL.
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = DbOptions {
        ca_file: Some(ca.clone()),
        ..DbOptions::default()
    };
    let url = with(&base, "localhost", "hostaddr=127.0.0.1&sslmode=verify-full");
    let backend = Backend::connect(dir.path(), Some(&url), &opts).expect("backend");
    backend.control().await.expect("the flag's CA is used");
}
