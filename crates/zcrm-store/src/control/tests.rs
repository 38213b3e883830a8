//! The control database against a real SQLite file.

use super::*;

fn temp_db(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("zcrm-control-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("control.db")
}

#[tokio::test]
async fn older_database_gains_password_column_and_admin_signs_in() {
    let path = temp_db("migrate");
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
    let db = crate::sqlite::SqliteDb::open(&path, |_| Ok(())).unwrap();
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
