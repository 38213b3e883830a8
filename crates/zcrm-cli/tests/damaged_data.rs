//! A data dir whose files were lost or cut short is refused at start with
//! a clear error, never taken for a new, empty org (SQLite only: it is
//! SQLite that would take a zero-length file for a new database).

mod common;
use common::*;
use serde_json::json;
use std::fs::OpenOptions;

async fn stopped_with_a_record() -> TestServer {
    let mut srv = TestServer::start().await;
    let t = srv.token(ALL_SCOPES).await;
    srv.create("Leads", &t, vec![json!({"Last_Name": "Kept"})])
        .await;
    srv.stop().await;
    srv
}

fn org_file(srv: &TestServer) -> std::path::PathBuf {
    let orgs = srv.data_dir().join("orgs");
    std::fs::read_dir(&orgs)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "db"))
        .expect("an org file")
}

#[tokio::test]
async fn a_damaged_org_file_is_refused_at_start() {
    if on_postgres() {
        return;
    }
    for (cut, says) in [
        (Some(0), "is empty"),
        (Some(5_000), "cut short"),
        (None, "does not exist"),
    ] {
        let mut srv = stopped_with_a_record().await;
        let file = org_file(&srv);
        // A clean stop checkpoints the WAL: the main file holds everything.
        assert!(!file.with_extension("db-wal").exists());
        match cut {
            Some(len) => OpenOptions::new()
                .write(true)
                .open(&file)
                .unwrap()
                .set_len(len)
                .unwrap(),
            None => std::fs::remove_file(&file).unwrap(),
        }
        let err = srv
            .start_again()
            .await
            .expect_err("a damaged org is refused");
        assert!(
            err.contains(says) && err.contains("missing or damaged"),
            "{err}"
        );
        // Nothing was made in its place.
        match cut {
            Some(len) => assert_eq!(std::fs::metadata(&file).unwrap().len(), len),
            None => assert!(!file.exists()),
        }
    }
}

#[tokio::test]
async fn a_lost_control_file_is_refused_beside_org_files() {
    if on_postgres() {
        return;
    }
    let mut srv = stopped_with_a_record().await;
    let control = srv.data_dir().join("control.db");
    OpenOptions::new()
        .write(true)
        .open(&control)
        .unwrap()
        .set_len(0)
        .unwrap();
    let err = srv.start_again().await.expect_err("refused");
    assert!(err.contains("control.db is empty"), "{err}");
}

#[tokio::test]
async fn a_whole_data_dir_starts_again() {
    let mut srv = stopped_with_a_record().await;
    srv.start_again().await.expect("starts");
    let t = srv.token(ALL_SCOPES).await;
    let r = srv.get("/crm/v8/Leads?fields=Last_Name", &t).await;
    assert_eq!(r.body["data"][0]["Last_Name"], "Kept", "{}", r.body);
}
