//! The control database against a real SQLite file.

use super::*;

use crate::test_support::TempDir;

fn temp_db(name: &str) -> (TempDir, std::path::PathBuf) {
    let dir = TempDir::new(&format!("control-{name}"));
    let path = dir.path().join("control.db");
    (dir, path)
}

#[tokio::test]
async fn older_database_gains_password_column_and_admin_signs_in() {
    let (_dir, path) = temp_db("migrate");
    // The users table as zcrm created it before passwords.
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch(
            "CREATE TABLE users (
                id INTEGER PRIMARY KEY, org_id INTEGER NOT NULL, email TEXT NOT NULL,
                first_name TEXT, last_name TEXT NOT NULL, role TEXT NOT NULL, profile TEXT NOT NULL,
                status TEXT NOT NULL, zuid TEXT NOT NULL, time_zone TEXT NOT NULL,
                created_time INTEGER NOT NULL, modified_time INTEGER NOT NULL);",
        )
        .unwrap();
    let db = crate::sqlite::SqliteDb::open(
        &path,
        crate::db::read_pool::ReadPool::new(2).unwrap(),
        |_| Ok(()),
    )
    .unwrap();
    let control = Control::open(Arc::new(Db::Sqlite(db))).await.unwrap();
    let spec = NewOrg {
        company_name: "Zylker",
        edition: "Enterprise",
        time_zone: "UTC",
        admin_email: "admin@zylker.example",
        scopes: "ZohoCRM.org.READ",
        code_ttl_ms: 60_000,
    };
    let boot = control.bootstrap(spec, 1, [10, 20]).await.unwrap().unwrap();
    let pw = boot.admin_password;
    let who = control
        .check_password("Admin@Zylker.example", &pw)
        .await
        .unwrap();
    assert_eq!(who.map(|u| u.id), Some(20));
    assert!(control
        .check_password("admin@zylker.example", "nope")
        .await
        .unwrap()
        .is_none());
    assert!(control
        .check_password("x@zylker.example", &pw)
        .await
        .unwrap()
        .is_none());
    let (email, new) = control.reset_password(None).await.unwrap();
    assert_eq!(email, "admin@zylker.example");
    assert!(control.check_password(&email, &pw).await.unwrap().is_none());
    assert!(control
        .check_password(&email, &new)
        .await
        .unwrap()
        .is_some());
    control.close();
}

#[tokio::test]
async fn older_clients_gain_their_scopes() {
    let (_dir, path) = temp_db("client-scopes");
    // Clients and grants as zcrm stored them before a client kept its scopes.
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch(
            "CREATE TABLE clients (
                client_id TEXT PRIMARY KEY, secret_hash TEXT NOT NULL, org_id INTEGER NOT NULL,
                user_id INTEGER NOT NULL, name TEXT NOT NULL, kind TEXT NOT NULL,
                redirect_uris TEXT NOT NULL DEFAULT '', created_time INTEGER NOT NULL);
             CREATE TABLE grants (
                code_hash TEXT PRIMARY KEY, client_id TEXT NOT NULL, org_id INTEGER NOT NULL,
                user_id INTEGER NOT NULL, scopes TEXT NOT NULL, redirect_uri TEXT,
                offline INTEGER NOT NULL, expires_at INTEGER NOT NULL, used INTEGER NOT NULL DEFAULT 0);
             INSERT INTO clients VALUES ('first', 'h', 1, 2, 'Self Client', 'self', '', 10);
             INSERT INTO clients VALUES ('later', 'h', 1, 2, 'Self Client', 'self', '', 20);
             INSERT INTO clients VALUES ('web', 'h', 1, 2, 'App', 'web', 'https://x.example/cb', 30);
             INSERT INTO grants VALUES ('a', 'first', 1, 2, 'ZohoCRM.org.READ', NULL, 1, 0, 1);
             INSERT INTO grants VALUES ('b', 'later', 1, 2, 'ZohoCRM.modules.leads.READ', NULL, 1, 0, 1);
             INSERT INTO grants VALUES ('c', 'later', 1, 2, 'ZohoCRM.modules.leads.READ,ZohoCRM.org.READ', NULL, 1, 0, 1);",
        )
        .unwrap();
    let db = crate::sqlite::SqliteDb::open(
        &path,
        crate::db::read_pool::ReadPool::new(2).unwrap(),
        |_| Ok(()),
    )
    .unwrap();
    let control = Control::open(Arc::new(Db::Sqlite(db))).await.unwrap();
    let scopes: Vec<(String, String)> = control
        .clients(None, 0)
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.client_id, c.scopes))
        .collect();
    let want = |a: &str, b: &str| (a.to_string(), b.to_string());
    assert_eq!(
        scopes,
        vec![
            want("first", ANY_SCOPE),
            want("later", "ZohoCRM.modules.leads.READ,ZohoCRM.org.READ"),
            want("web", ANY_SCOPE),
        ]
    );
    assert_eq!(
        control.revoke_client("later".into()).await.unwrap(),
        Some(Revoked {
            access_tokens: 0,
            refresh_tokens: 0,
            grant_codes: 2
        })
    );
    assert_eq!(control.revoke_client("later".into()).await.unwrap(), None);
    assert_eq!(control.clients(Some(1), 0).await.unwrap().len(), 2);
    assert!(control.clients(Some(7), 0).await.unwrap().is_empty());
    control.close();
}

#[test]
fn a_client_ceiling_bounds_what_is_asked() {
    use super::clients::within;
    assert!(within(ANY_SCOPE, "ZohoCRM.modules.ALL"));
    let leads = "ZohoCRM.modules.leads.READ,ZohoCRM.org.READ";
    assert!(within(leads, "ZohoCRM.modules.leads.READ"));
    assert!(within(leads, "ZohoCRM.org.READ,ZohoCRM.modules.leads.READ"));
    assert!(!within(leads, "ZohoCRM.modules.ALL"));
    assert!(!within(leads, "ZohoCRM.modules.READ"));
    assert!(!within(leads, "ZohoCRM.modules.leads.ALL"));
    assert!(!within(
        leads,
        "ZohoCRM.modules.leads.READ,ZohoCRM.users.READ"
    ));
    assert!(within("ZohoCRM.modules.ALL", "ZohoCRM.modules.leads.WRITE"));
    assert!(within(
        "ZohoCRM.modules.leads.WRITE",
        "ZohoCRM.modules.leads.DELETE"
    ));
    assert!(!within("", "ZohoCRM.org.READ"));
    assert!(!within(leads, ""));
}
