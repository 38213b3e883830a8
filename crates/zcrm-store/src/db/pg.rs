//! PostgreSQL: a pool of synchronous clients used from blocking threads, so the
//! store logic written for SQLite's synchronous API runs unchanged. Every write
//! is one transaction; statements are prepared once per connection.

use crate::db::{Conn, Dialect};
use crate::StoreError;
use bytes::BytesMut;
use postgres::error::SqlState;
use postgres::types::{to_sql_checked, IsNull, ToSql, Type};
use postgres::{Client, NoTls, Statement};
use std::collections::HashMap;
use std::error::Error;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use tokio::sync::Semaphore;
use zcrm_core::value::SqlValue;

/// The schema holding orgs, users, clients and tokens.
pub const CONTROL_SCHEMA: &str = "zcrm_control";

struct Pooled {
    client: Client,
    statements: HashMap<String, Statement>,
}

pub struct PgDb {
    config: postgres::Config,
    idle: Arc<Mutex<Vec<Pooled>>>,
    permits: Arc<Semaphore>,
}

fn pg_err(e: postgres::Error) -> StoreError {
    if e.code() == Some(&SqlState::UNIQUE_VIOLATION) {
        StoreError::Unique
    } else {
        StoreError::Postgres(e)
    }
}

/// `?1` → `$1`: our SQL is written with SQLite's numbered placeholders.
fn placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '?' && chars.peek().is_some_and(|n| n.is_ascii_digit()) {
            out.push('$');
        } else {
            out.push(c);
        }
    }
    out
}

impl PgDb {
    pub fn connect(url: &str, pool_size: usize) -> Result<PgDb, StoreError> {
        let mut config = postgres::Config::from_str(url)
            .map_err(|e| StoreError::Other(format!("bad database URL: {e}")))?;
        config.options(&format!("-c search_path={CONTROL_SCHEMA}"));
        config.application_name("zcrm");
        config.connect_timeout(std::time::Duration::from_secs(5));
        let db = PgDb {
            config,
            idle: Arc::new(Mutex::new(Vec::new())),
            permits: Arc::new(Semaphore::new(pool_size.max(1))),
        };
        // Fail at start, not on the first call, when the database is unreachable.
        // The synchronous client must not run on an async runtime's thread.
        let first = std::thread::scope(|s| s.spawn(|| db.open()).join())
            .map_err(|_| StoreError::Other("connecting to PostgreSQL panicked".into()))??;
        db.idle.lock().map_err(|_| StoreError::Closed)?.push(first);
        Ok(db)
    }

    fn open(&self) -> Result<Pooled, StoreError> {
        let client = self.config.connect(NoTls).map_err(pg_err)?;
        Ok(Pooled {
            client,
            statements: HashMap::new(),
        })
    }

    /// Runs `f` on a pooled connection in a blocking thread. `write` wraps it in
    /// a transaction that commits only if `f` succeeds.
    async fn run<R, F>(&self, write: bool, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&mut dyn Conn) -> Result<R, StoreError> + Send + 'static,
    {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| StoreError::Closed)?;
        let idle = self.idle.clone();
        let taken = idle.lock().map_err(|_| StoreError::Closed)?.pop();
        let config = self.config.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let mut conn = match taken {
                // A connection the server closed (restart, idle timeout) is replaced.
                Some(p) if !p.client.is_closed() => p,
                _ => Pooled {
                    client: config.connect(NoTls).map_err(pg_err)?,
                    statements: HashMap::new(),
                },
            };
            let result = {
                let Pooled { client, statements } = &mut conn;
                let mut tx = client.transaction().map_err(pg_err)?;
                let r = f(&mut PgConn {
                    tx: &mut tx,
                    statements,
                });
                match (&r, write) {
                    (Ok(_), true) => tx.commit().map_err(pg_err).and(r),
                    _ => {
                        let _ = tx.rollback();
                        r
                    }
                }
            };
            if !conn.client.is_closed() {
                if let Ok(mut idle) = idle.lock() {
                    idle.push(conn);
                }
            }
            result
        })
        .await
        .map_err(|e| StoreError::Other(format!("database task failed: {e}")))?
    }

    pub async fn write<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&mut dyn Conn) -> Result<R, StoreError> + Send + 'static,
    {
        self.run(true, f).await
    }

    pub async fn read<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&mut dyn Conn) -> Result<R, StoreError> + Send + 'static,
    {
        self.run(false, f).await
    }

    pub fn close(&self) {
        let idle: Vec<Pooled> = match self.idle.lock() {
            Ok(mut idle) => idle.drain(..).collect(),
            Err(_) => return,
        };
        // Closing a synchronous client blocks: do it off any async runtime thread.
        let _ = std::thread::spawn(move || drop(idle)).join();
    }
}

struct PgConn<'a, 'b> {
    tx: &'a mut postgres::Transaction<'b>,
    statements: &'a mut HashMap<String, Statement>,
}

impl PgConn<'_, '_> {
    fn prepare(&mut self, sql: &str) -> Result<Statement, StoreError> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let st = self.tx.prepare(&placeholders(sql)).map_err(pg_err)?;
        if self.statements.len() > 512 {
            self.statements.clear();
        }
        self.statements.insert(sql.to_string(), st.clone());
        Ok(st)
    }
}

/// Binds a [`SqlValue`] to whatever type PostgreSQL inferred for the parameter.
#[derive(Debug)]
struct Param<'a>(&'a SqlValue);

impl ToSql for Param<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        match self.0 {
            SqlValue::Null => Ok(IsNull::Yes),
            SqlValue::Int(i) => match *ty {
                Type::INT8 => i.to_sql(ty, out),
                Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*i)?.to_sql(ty, out),
                Type::BOOL => (*i != 0).to_sql(ty, out),
                Type::FLOAT8 => (*i as f64).to_sql(ty, out),
                Type::FLOAT4 => (*i as f32).to_sql(ty, out),
                _ => i.to_string().to_sql(ty, out),
            },
            SqlValue::Real(f) => match *ty {
                Type::FLOAT8 => f.to_sql(ty, out),
                Type::FLOAT4 => (*f as f32).to_sql(ty, out),
                Type::INT8 => (*f as i64).to_sql(ty, out),
                _ => f.to_string().to_sql(ty, out),
            },
            SqlValue::Text(s) => match *ty {
                Type::INT8 => s.parse::<i64>()?.to_sql(ty, out),
                Type::FLOAT8 => s.parse::<f64>()?.to_sql(ty, out),
                _ => s.as_str().to_sql(ty, out),
            },
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

fn column(row: &postgres::Row, i: usize) -> Result<SqlValue, StoreError> {
    let ty = row.columns()[i].type_();
    let v = match *ty {
        Type::INT8 => row
            .try_get::<_, Option<i64>>(i)
            .map_err(pg_err)?
            .map(SqlValue::Int),
        Type::INT4 => row
            .try_get::<_, Option<i32>>(i)
            .map_err(pg_err)?
            .map(|v| SqlValue::Int(v as i64)),
        Type::INT2 => row
            .try_get::<_, Option<i16>>(i)
            .map_err(pg_err)?
            .map(|v| SqlValue::Int(v as i64)),
        Type::BOOL => row
            .try_get::<_, Option<bool>>(i)
            .map_err(pg_err)?
            .map(|v| SqlValue::Int(v as i64)),
        Type::FLOAT8 => row
            .try_get::<_, Option<f64>>(i)
            .map_err(pg_err)?
            .map(SqlValue::Real),
        Type::FLOAT4 => row
            .try_get::<_, Option<f32>>(i)
            .map_err(pg_err)?
            .map(|v| SqlValue::Real(v as f64)),
        _ => row
            .try_get::<_, Option<String>>(i)
            .map_err(pg_err)?
            .map(SqlValue::Text),
    };
    Ok(v.unwrap_or(SqlValue::Null))
}

impl Conn for PgConn<'_, '_> {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn exec(&mut self, sql: &str, params: &[SqlValue]) -> Result<u64, StoreError> {
        let st = self.prepare(sql)?;
        let ps: Vec<Param> = params.iter().map(Param).collect();
        let refs: Vec<&(dyn ToSql + Sync)> = ps.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        self.tx.execute(&st, &refs).map_err(pg_err)
    }

    fn rows(&mut self, sql: &str, params: &[SqlValue]) -> Result<Vec<Vec<SqlValue>>, StoreError> {
        let st = self.prepare(sql)?;
        let ps: Vec<Param> = params.iter().map(Param).collect();
        let refs: Vec<&(dyn ToSql + Sync)> = ps.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        let rows = self.tx.query(&st, &refs).map_err(pg_err)?;
        rows.iter()
            .map(|r| (0..r.len()).map(|i| column(r, i)).collect())
            .collect()
    }

    fn batch(&mut self, sql: &str) -> Result<(), StoreError> {
        self.tx.batch_execute(sql).map_err(pg_err)
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        self.close();
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn numbered_placeholders() {
        assert_eq!(
            super::placeholders("a = ?1 AND b = ?12 OR ?"),
            "a = $1 AND b = $12 OR ?"
        );
    }
}
