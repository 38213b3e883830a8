//! Upgrading from release 2c74bb5, the last without versioned migrations:
//! a data dir and a PostgreSQL database it made, with data put in through
//! its API (`fixtures/release-2c74bb5/make.py`, kept as SQL dumps), open in
//! this zcrm with nothing lost. Records with their values, the recycle bin,
//! a note, a tag, a link attachment, a many-to-many link, the clients and
//! their refresh tokens, the admin's password and the org's limits are all
//! there; writes work; the migrations tables hold every step, and a restart
//! runs none again. The SQLite case always runs, the PostgreSQL case with
//! `ZCRM_TEST_DATABASE_URL`.
//!
//! And a store a newer zcrm has migrated is refused at start.

mod common;
use common::consent::{auth_params, code_for, exchange, CB};
use common::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use zcrm_store::migrate;

fn fixtures(kind: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/release-2c74bb5")
        .join(kind)
}

/// What `make.py` wrote and the secrets it signed in with.
fn fixture(kind: &str) -> Value {
    let text = std::fs::read_to_string(fixtures(kind).join("fixture.json")).expect("fixture.json");
    serde_json::from_str(&text).expect("fixture.json is JSON")
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("a string: {v}"))
}

fn run_sql(db: &Path, sql: &Path) {
    let text = std::fs::read_to_string(sql).expect("a dump");
    let c = rusqlite::Connection::open(db).expect("a SQLite file");
    c.execute_batch(&text).expect("the dump loads");
}

/// The release's data dir, from its dumps: `control.db` and `orgs/<id>.db`.
fn load_sqlite(data: &Path) {
    let src = fixtures("sqlite");
    run_sql(&data.join("control.db"), &src.join("control.sql"));
    std::fs::create_dir_all(data.join("orgs")).expect("orgs/");
    for e in std::fs::read_dir(src.join("orgs"))
        .expect("orgs dumps")
        .flatten()
    {
        let name = e.file_name().to_string_lossy().replace(".sql", ".db");
        run_sql(&data.join("orgs").join(name), &e.path());
    }
}

#[tokio::test]
async fn a_release_data_dir_upgrades_with_nothing_lost() {
    let srv = TestServer::start_on(false, |data, _| load_sqlite(data)).await;
    upgraded(srv, fixture("sqlite")).await;
}

#[tokio::test]
async fn a_release_postgres_database_upgrades_with_nothing_lost() {
    if !on_postgres() {
        return;
    }
    let srv = TestServer::start_on(true, |_, db| {
        db.expect("a database")
            .load(&fixtures("postgres").join("dump.sql"))
    })
    .await;
    upgraded(srv, fixture("postgres")).await;
}

async fn upgraded(mut srv: TestServer, fx: Value) {
    let t = refreshed(&srv, &fx["boot_client"]).await;
    records_are_there(&srv, &t, &fx).await;
    related_data_is_there(&srv, &t, &fx).await;
    credentials_work(&mut srv, &t, &fx).await;
    writes_work(&srv, &t, &fx).await;

    srv.stop().await;
    let org_id = s(&fx["org_id"]);
    let (control, org) = (migrations(&srv, None), migrations(&srv, Some(org_id)));
    let all = |steps: &[migrate::Step]| -> Vec<(i64, String)> {
        steps
            .iter()
            .map(|s| (s.version, s.name.to_string()))
            .collect()
    };
    let run = |m: &[(i64, String, i64)]| -> Vec<(i64, String)> {
        m.iter().map(|(v, n, _)| (*v, n.clone())).collect()
    };
    assert_eq!(run(&control), all(migrate::control::STEPS));
    assert_eq!(run(&org), all(migrate::org::STEPS));

    // A restart runs no step again, and the data is still there.
    srv.start_again().await.expect("starts again");
    let t = refreshed(&srv, &fx["boot_client"]).await;
    let lead = s(&fx["ids"]["Leads"][0]);
    let r = srv.get(&format!("/crm/v8/Leads/{lead}"), &t).await;
    assert_eq!(r.body["data"][0]["Company"], "Acme Upgraded", "{}", r.body);
    srv.stop().await;
    assert_eq!(migrations(&srv, None), control);
    assert_eq!(migrations(&srv, Some(org_id)), org);
}

/// A new access token from a client's refresh token the release issued.
async fn refreshed(srv: &TestServer, client: &Value) -> String {
    let r = srv
        .oauth(&[
            ("grant_type", "refresh_token"),
            ("client_id", s(&client["client_id"])),
            ("client_secret", s(&client["client_secret"])),
            ("refresh_token", s(&client["refresh_token"])),
        ])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    s(&r.body["access_token"]).to_string()
}

/// `got` is what was written: lookups by id, numbers by value.
fn same(got: &Value, want: &Value) -> bool {
    match want {
        Value::Object(w) => got["id"] == w["id"],
        Value::Number(w) => got.as_f64() == w.as_f64(),
        w => got == w,
    }
}

async fn records_are_there(srv: &TestServer, t: &str, fx: &Value) {
    for (module, records) in fx["records"].as_object().expect("records") {
        let ids = fx["ids"][module].as_array().expect("ids");
        for (id, rec) in ids.iter().zip(records.as_array().expect("a list")) {
            let r = srv.get(&format!("/crm/v8/{module}/{}", s(id)), t).await;
            assert_eq!(r.status, 200, "{module} {id}: {}", r.body);
            let got = &r.body["data"][0];
            for (field, want) in rec.as_object().expect("a record") {
                assert!(
                    same(&got[field], want),
                    "{module} {id} {field}: {} != {want}",
                    got[field]
                );
            }
        }
    }
    let r = srv.get("/crm/v8/Leads/actions/count", t).await;
    assert_eq!(r.body["count"], 2, "the deleted lead stays deleted");
    let r = srv.get("/crm/v8/Leads/deleted", t).await;
    let deleted = r.body["data"].as_array().expect("deleted records");
    assert!(
        deleted.iter().any(|d| d["id"] == fx["ids"]["deleted_lead"]),
        "{}",
        r.body
    );
}

async fn related_data_is_there(srv: &TestServer, t: &str, fx: &Value) {
    let (lead, other_lead) = (s(&fx["ids"]["Leads"][0]), &fx["ids"]["Leads"][1]);
    let r = srv
        .get(
            &format!("/crm/v8/Leads/{lead}/Notes?fields=Note_Title,Note_Content"),
            t,
        )
        .await;
    let note = &r.body["data"][0];
    assert_eq!(note["id"], fx["ids"]["Notes"][0], "{}", r.body);
    assert_eq!(note["Note_Title"], fx["note"]["Note_Title"]);
    assert_eq!(note["Note_Content"], fx["note"]["Note_Content"]);

    let r = srv.get("/crm/v8/settings/tags?module=Leads", t).await;
    assert!(
        r.body["tags"]
            .as_array()
            .expect("tags")
            .iter()
            .any(|g| g["name"] == fx["tag"]),
        "{}",
        r.body
    );
    let r = srv
        .get(&format!("/crm/v8/Leads/{lead}?fields=Tag"), t)
        .await;
    assert_eq!(r.body["data"][0]["Tag"][0]["name"], fx["tag"], "{}", r.body);

    let contact = s(&fx["attachment"]["parent"]);
    let r = srv
        .get(
            &format!("/crm/v8/Contacts/{contact}/Attachments?fields=File_Name,$link_url"),
            t,
        )
        .await;
    assert_eq!(
        r.body["data"][0]["File_Name"], fx["attachment"]["title"],
        "{}",
        r.body
    );

    let campaign = s(&fx["ids"]["Campaigns"][0]);
    let r = srv
        .get(
            &format!("/crm/v8/Campaigns/{campaign}/Leads?fields=Last_Name"),
            t,
        )
        .await;
    assert_eq!(&r.body["data"][0]["id"], other_lead, "{}", r.body);
    let account = s(&fx["ids"]["Accounts"][0]);
    let r = srv
        .get(
            &format!("/crm/v8/Accounts/{account}/Contacts?fields=Last_Name"),
            t,
        )
        .await;
    assert_eq!(
        r.body["data"][0]["id"], fx["ids"]["Contacts"][0],
        "{}",
        r.body
    );
}

async fn credentials_work(srv: &mut TestServer, t: &str, fx: &Value) {
    // The reader's scopes were kept: Leads only.
    let reader = refreshed(srv, &fx["reader_client"]).await;
    assert_eq!(
        srv.get("/crm/v8/Leads?fields=Last_Name", &reader)
            .await
            .status,
        200
    );
    let r = srv.get("/crm/v8/Contacts?fields=Last_Name", &reader).await;
    assert_error(&r, 401, "OAUTH_SCOPE_MISMATCH");

    // The admin's password and the web client's redirect URI and secret.
    srv.admin = (
        s(&fx["admin"]["email"]).into(),
        s(&fx["admin"]["password"]).into(),
    );
    let web = &fx["web_client"];
    let code = code_for(srv, &auth_params(s(&web["client_id"]), &[])).await;
    let r = exchange(
        srv,
        s(&web["client_id"]),
        s(&web["client_secret"]),
        &code,
        Some(CB),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let listed = srv
        .admin_cmd(&["client", "list", "--json"])
        .expect("client list");
    for client in ["boot_client", "reader_client", "web_client"] {
        assert!(
            listed.contains(s(&fx[client]["client_id"])),
            "{client}: {listed}"
        );
    }

    let r = srv.get("/__zcrm/usage", t).await;
    assert_eq!(r.body["credits"]["limit"], fx["credits"], "{}", r.body);
}

async fn writes_work(srv: &TestServer, t: &str, fx: &Value) {
    let lead = s(&fx["ids"]["Leads"][0]);
    let r = srv
        .put(
            &format!("/crm/v8/Leads/{lead}"),
            t,
            json!({"data": [{"Company": "Acme Upgraded"}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let new = srv
        .create(
            "Leads",
            t,
            vec![json!({"Last_Name": "After", "Email": "after@upgrade.example"})],
        )
        .await
        .remove(0);
    let r = srv
        .post(
            &format!("/crm/v8/Leads/{new}/actions/add_tags"),
            t,
            json!({"tags": [{"name": s(&fx["tag"])}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let email = s(&fx["records"]["Leads"][0]["Email"]);
    let r = srv
        .get(&format!("/crm/v8/Leads/search?email={email}"), t)
        .await;
    assert_eq!(r.body["data"][0]["id"], lead, "{}", r.body);
    let q = "select Last_Name from Leads where Company = 'Acme Upgraded'";
    let r = srv
        .post("/crm/v8/coql", t, json!({ "select_query": q }))
        .await;
    assert_eq!(r.body["data"][0]["Last_Name"], "Smith", "{}", r.body);
    assert_eq!(
        srv.delete(&format!("/crm/v8/Leads/{new}"), t).await.status,
        200
    );
}

/// The steps a stopped server's store recorded: the control data's, or an
/// org's: (version, name, applied_at).
fn migrations(srv: &TestServer, org: Option<&str>) -> Vec<(i64, String, i64)> {
    let sql = "SELECT version, name, applied_at FROM schema_migrations ORDER BY version";
    match &srv.db {
        None => {
            let file = match org {
                None => srv.data_dir().join("control.db"),
                Some(id) => srv.data_dir().join("orgs").join(format!("{id}.db")),
            };
            let c = rusqlite::Connection::open(file).expect("a SQLite file");
            let mut st = c.prepare(sql).expect("a migrations table");
            st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .expect("rows")
                .map(|r| r.expect("a row"))
                .collect()
        }
        Some(db) => {
            let schema = org.map_or("zcrm_control".to_string(), |id| format!("org_{id}"));
            db.query(&sql.replace("schema_migrations", &format!("{schema}.schema_migrations")))
                .lines()
                .map(|l| {
                    let f: Vec<&str> = l.split('|').collect();
                    (
                        f[0].parse().unwrap(),
                        f[1].to_string(),
                        f[2].parse().unwrap(),
                    )
                })
                .collect()
        }
    }
}

#[tokio::test]
async fn a_store_a_newer_zcrm_migrated_is_refused_at_start() {
    let mut srv = TestServer::start().await;
    let t = srv.token(ALL_SCOPES).await;
    let org = srv.get("/crm/v8/org", &t).await;
    let org_id = s(&org.body["org"][0]["id"]).to_string();
    srv.stop().await;
    let newer = migrate::org::STEPS.len() + 1;
    let (add, remove) = (
        format!("INSERT INTO schema_migrations VALUES ({newer}, 'from the future', 0)"),
        format!("DELETE FROM schema_migrations WHERE version = {newer}"),
    );
    change(&srv, &org_id, &add);
    let err = srv.start_again().await.expect_err("refused");
    assert!(
        err.contains(&format!(
            "org {org_id} was upgraded by a newer zcrm (schema version {newer}"
        )),
        "{err}"
    );
    // Nothing was touched: without that step it starts, with its data.
    change(&srv, &org_id, &remove);
    srv.start_again().await.expect("starts");
    let r = srv.get("/crm/v8/org", &t).await;
    assert_eq!(r.status, 200, "{}", r.body);
}

/// Runs `sql` on a stopped server's org store.
fn change(srv: &TestServer, org_id: &str, sql: &str) {
    match &srv.db {
        None => {
            let file = srv.data_dir().join("orgs").join(format!("{org_id}.db"));
            let c = rusqlite::Connection::open(file).expect("the org's file");
            c.execute_batch(sql).expect("changed");
        }
        Some(db) => {
            let sql = sql.replace(
                "schema_migrations",
                &format!("org_{org_id}.schema_migrations"),
            );
            db.query(&sql);
        }
    }
}
