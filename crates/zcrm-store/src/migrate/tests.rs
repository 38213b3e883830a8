//! The migrator against real databases: SQLite files in a temporary
//! directory, and PostgreSQL (a schema `org_<id>` of its own, dropped after)
//! when `ZCRM_TEST_DATABASE_URL` is set.

use super::*;
use crate::db::sqlite::SqliteDb;
use crate::db::Db;
use crate::{Backend, StoreError};
use std::sync::Arc;
use zcrm_core::meta::Catalog;

use crate::test_support::{fresh_org_id, PgSchema, TempDir};

/// One database a test runs the migrator on, as an org's store would.
struct Target {
    backend: &'static str,
    db: Arc<Db>,
    org_id: i64,
    // Dropped after `db` (fields drop in order).
    _pg: Option<PgSchema>,
    _dir: TempDir,
}

impl Target {
    async fn run(&self, steps: &'static [Step]) -> Result<Vec<i64>, StoreError> {
        let org_id = self.org_id;
        self.db
            .write(move |c| {
                let p = place(c, org_id);
                run(c, &p, steps)
            })
            .await
    }

    async fn applied(&self) -> Vec<Applied> {
        let org_id = self.org_id;
        self.db
            .read(move |c| {
                let p = place(c, org_id);
                applied(c, &p)
            })
            .await
            .expect("applied")
    }

    async fn columns(&self, table: &'static str) -> Vec<String> {
        let schema = format!("org_{}", self.org_id);
        self.db
            .read(move |c| crate::schema::existing_columns(c, &schema, table))
            .await
            .expect("columns")
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        self.db.close();
    }
}

fn place(c: &dyn Conn, org_id: i64) -> Place {
    Place::new(c, format!("org {org_id}"), &format!("org_{org_id}"))
}

/// Threads for a test's SQLite reads.
fn readers() -> Arc<crate::db::read_pool::ReadPool> {
    crate::db::read_pool::ReadPool::new(2).expect("a read pool")
}

fn pg_url() -> Option<String> {
    std::env::var("ZCRM_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

/// SQLite, then PostgreSQL if configured: each an empty database.
async fn targets() -> Vec<Target> {
    let mut out = Vec::new();
    let dir = TempDir::new("steps");
    let db = SqliteDb::open(&dir.path().join("org.db"), readers(), |_| Ok(())).expect("sqlite");
    out.push(Target {
        backend: "sqlite",
        db: Arc::new(Db::Sqlite(db)),
        org_id: fresh_org_id(),
        _pg: None,
        _dir: dir,
    });
    if let Some(url) = pg_url() {
        let dir = TempDir::new("steps-pg");
        let Backend::Postgres(db) =
            Backend::connect(dir.path(), Some(&url), &Default::default()).expect("postgres")
        else {
            unreachable!("a postgres:// URL")
        };
        let org_id = fresh_org_id();
        out.push(Target {
            backend: "postgres",
            db,
            org_id,
            _pg: Some(PgSchema { url, org_id }),
            _dir: dir,
        });
    }
    out
}

fn make_table(c: &mut dyn Conn, p: &Place) -> Result<(), StoreError> {
    let int = c.dialect().int();
    c.batch(&format!(
        "CREATE TABLE {}widgets (id {int} PRIMARY KEY, name TEXT NOT NULL)",
        p.prefix
    ))
}

fn add_column(c: &mut dyn Conn, p: &Place) -> Result<(), StoreError> {
    c.batch(&format!(
        "ALTER TABLE {}widgets ADD COLUMN colour TEXT",
        p.prefix
    ))?;
    // A data fix in the same step: existing rows get the new column's value.
    c.exec(
        &format!("UPDATE {}widgets SET colour = 'grey'", p.prefix),
        &[],
    )?;
    Ok(())
}

fn fail(c: &mut dyn Conn, p: &Place) -> Result<(), StoreError> {
    // Half done, then failing: the step's DDL must not stay behind.
    c.batch(&format!("CREATE TABLE {}half_done (id TEXT)", p.prefix))?;
    Err(StoreError::Other("step failed".into()))
}

const ONE: &[Step] = &[Step {
    version: 1,
    name: "widgets",
    run: make_table,
}];

const TWO: &[Step] = &[
    Step {
        version: 1,
        name: "widgets",
        run: make_table,
    },
    Step {
        version: 2,
        name: "widget colours",
        run: add_column,
    },
];

const FAILING: &[Step] = &[
    Step {
        version: 1,
        name: "widgets",
        run: make_table,
    },
    Step {
        version: 2,
        name: "broken",
        run: fail,
    },
];

fn versions(applied: &[Applied]) -> Vec<(i64, String)> {
    applied
        .iter()
        .map(|a| (a.version, a.name.clone()))
        .collect()
}

#[tokio::test]
async fn steps_run_once_in_order_and_later_ones_on_upgrade() {
    for t in targets().await {
        let b = t.backend;
        assert_eq!(t.applied().await, vec![], "{b}: no table yet, no steps");
        assert_eq!(t.run(ONE).await.unwrap(), vec![1], "{b}");
        let org_id = t.org_id;
        t.db.write(move |c| {
            let p = place(c, org_id);
            c.exec(
                &format!(
                    "INSERT INTO {}widgets (id, name) VALUES (1, 'kept')",
                    p.prefix
                ),
                &[],
            )
        })
        .await
        .unwrap();
        let first = t.applied().await;
        assert_eq!(versions(&first), vec![(1, "widgets".into())], "{b}");
        assert!(first[0].applied_at > 1_600_000_000_000, "{b}: {first:?}");

        // A newer binary brings step 2 only; the row made before is kept.
        assert_eq!(t.run(TWO).await.unwrap(), vec![2], "{b}");
        let after = t.applied().await;
        assert_eq!(after[0], first[0], "{b}: step 1 is not run again");
        assert_eq!(after[1].name, "widget colours", "{b}");
        assert!(t.columns("widgets").await.contains(&"colour".to_string()));
        let row =
            t.db.read(move |c| {
                let p = place(c, org_id);
                c.row(
                    &format!("SELECT name, colour FROM {}widgets", p.prefix),
                    &[],
                )
            })
            .await
            .unwrap();
        assert_eq!(
            row,
            Some(vec!["kept".into(), "grey".into()]),
            "{b}: data kept and fixed"
        );

        // Opening again runs nothing.
        assert_eq!(t.run(TWO).await.unwrap(), Vec::<i64>::new(), "{b}");
        assert_eq!(t.applied().await, after, "{b}");
    }
}

#[tokio::test]
async fn a_failing_step_leaves_nothing_behind() {
    for t in targets().await {
        let b = t.backend;
        let err = t.run(FAILING).await.expect_err("the step fails");
        assert!(err.to_string().contains("step failed"), "{b}: {err}");
        // One transaction: step 1, its record and step 2's half are all gone.
        assert_eq!(t.applied().await, vec![], "{b}");
        assert_eq!(t.columns("widgets").await, Vec::<String>::new(), "{b}");
        assert_eq!(t.columns("half_done").await, Vec::<String>::new(), "{b}");
        // Fixed in the next binary, the store comes up.
        assert_eq!(t.run(TWO).await.unwrap(), vec![1, 2], "{b}");
    }
}

#[tokio::test]
async fn a_store_migrated_by_a_newer_zcrm_is_refused() {
    for t in targets().await {
        let b = t.backend;
        t.run(TWO).await.unwrap();
        let err = t.run(ONE).await.expect_err("a downgrade is refused");
        assert!(
            matches!(
                err,
                StoreError::NewerSchema {
                    found: 2,
                    known: 1,
                    ..
                }
            ),
            "{b}: {err:?}"
        );
        let msg = err.to_string();
        assert!(
            msg.contains(&format!("org {}", t.org_id)) && msg.contains("newer zcrm"),
            "{b}: {msg}"
        );
        assert_eq!(t.applied().await.len(), 2, "{b}: nothing changed");
    }
}

#[test]
fn the_real_steps_are_numbered_from_one_without_gaps() {
    for (store, steps) in [("control", control::STEPS), ("org", org::STEPS)] {
        for (i, s) in steps.iter().enumerate() {
            assert_eq!(s.version, i as i64 + 1, "{store} step {}", s.name);
            assert!(!s.name.is_empty(), "{store} step {} has a name", s.version);
        }
        assert_eq!(steps[0].name, "baseline", "{store}");
    }
}

#[tokio::test]
async fn a_fresh_org_gets_every_step_and_reopening_runs_none() {
    let catalog = Arc::new(Catalog::standard().expect("catalog"));
    let dir = TempDir::new("org");
    let backend =
        Backend::connect(dir.path(), pg_url().as_deref(), &Default::default()).expect("backend");
    let org_id = fresh_org_id();
    let _pg = pg_url().map(|url| PgSchema { url, org_id });
    let store = backend
        .org_store(org_id, catalog.clone(), true)
        .await
        .expect("a new org");
    let first = store.migrations().await.unwrap();
    let want: Vec<(i64, String)> = org::STEPS
        .iter()
        .map(|s| (s.version, s.name.to_string()))
        .collect();
    assert_eq!(versions(&first), want);
    // On PostgreSQL the stores share the backend's pool: closing one closes it.
    if !backend.is_postgres() {
        store.close();
    }
    let again = backend.org_store(org_id, catalog, false).await.unwrap();
    assert_eq!(
        again.migrations().await.unwrap(),
        first,
        "nothing ran again"
    );
    again.close();
}

#[tokio::test]
async fn a_fresh_control_file_gets_every_step_and_a_newer_one_is_refused() {
    let dir = TempDir::new("control");
    let path = dir.path().join("control.db");
    let open = || async {
        let db = SqliteDb::open(&path, readers(), |_| Ok(())).expect("sqlite");
        crate::control::Control::open(Arc::new(Db::Sqlite(db))).await
    };
    let control = open().await.unwrap();
    let first = control.migrations().await.unwrap();
    let want: Vec<(i64, String)> = control::STEPS
        .iter()
        .map(|s| (s.version, s.name.to_string()))
        .collect();
    assert_eq!(versions(&first), want);
    control.close();
    let control = open().await.unwrap();
    assert_eq!(
        control.migrations().await.unwrap(),
        first,
        "nothing ran again"
    );
    control.close();

    let newer = control::STEPS.len() as i64 + 1;
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute(
            "INSERT INTO schema_migrations VALUES (?1, 'from the future', 0)",
            [newer],
        )
        .unwrap();
    let err = open().await.err().expect("refused");
    assert!(
        err.to_string()
            .contains("the control data was upgraded by a newer zcrm"),
        "{err}"
    );
}
