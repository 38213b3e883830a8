//! `zcrm admin seed` fills an org with sample records. Into an empty table it
//! drops the plain indexes, inserts, and builds them once at the end (much
//! faster than growing each B-tree row by row): the org must come out with
//! exactly the indexes it had, and the records must answer through the API.

mod common;
use common::*;
use serde_json::json;
use std::process::Command;

/// The index names of the Leads table, from the database itself.
fn lead_indexes(srv: &TestServer) -> Vec<String> {
    let out = match &srv.config.database_url {
        Some(url) => Command::new("psql")
            .args([
                url.as_str(),
                "-Atc",
                "SELECT indexname FROM pg_indexes WHERE tablename = 'm_leads' ORDER BY 1",
            ])
            .output(),
        None => {
            let db = std::fs::read_dir(srv.data_dir().join("orgs"))
                .expect("the orgs dir")
                .flatten()
                .map(|e| e.path())
                .find(|p| p.extension().is_some_and(|x| x == "db"))
                .expect("the org's database");
            Command::new("python3")
                .args([
                    "-c",
                    "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); \
                     print('\\n'.join(r[0] for r in c.execute(\"SELECT name FROM sqlite_master \
                     WHERE type = 'index' AND tbl_name = 'm_leads' ORDER BY 1\")))",
                ])
                .arg(db)
                .output()
        }
    }
    .expect("list the indexes");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn seeding_fills_the_org_and_keeps_every_index() {
    let srv = TestServer::start().await;
    let t = srv.token(&format!("{ALL_SCOPES},ZohoCRM.coql.READ")).await;
    let before = lead_indexes(&srv);
    assert!(before.len() > 5, "the Leads indexes: {before:?}");

    srv.admin_cmd(&[
        "seed",
        "--leads",
        "3000",
        "--accounts",
        "20",
        "--contacts",
        "100",
    ])
    .expect("seed");
    assert_eq!(lead_indexes(&srv), before, "every index is back");
    for (module, n) in [("Leads", 3000), ("Accounts", 20), ("Contacts", 100)] {
        let r = srv
            .get(&format!("/crm/v8/{module}/actions/count"), &t)
            .await;
        assert_eq!(r.body, json!({ "count": n }), "{module}");
    }
    let r = srv
        .post(
            "/crm/v8/coql",
            &t,
            json!({"select_query": "select Lead_Status, COUNT(id) from Leads group by Lead_Status"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let total: i64 = r.body["data"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|g| g["COUNT(id)"].as_i64().unwrap_or(0))
        .sum();
    assert_eq!(total, 3000);

    // A table that already has records keeps its indexes while more go in.
    srv.admin_cmd(&[
        "seed",
        "--leads",
        "500",
        "--accounts",
        "0",
        "--contacts",
        "0",
        "--seed",
        "7",
    ])
    .expect("seed again");
    assert_eq!(lead_indexes(&srv), before);
    let r = srv.get("/crm/v8/Leads/actions/count", &t).await;
    assert_eq!(r.body, json!({ "count": 3500 }));
}
