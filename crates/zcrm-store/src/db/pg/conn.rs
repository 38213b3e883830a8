//! Statements on one pooled connection, as the store's synchronous [`Conn`]:
//! the store logic runs on a blocking thread and waits there for each
//! statement, while the connection itself is driven by tokio-postgres on the
//! runtime. [`query`] is the same, awaited directly, for single statements
//! that need no blocking thread.

use crate::db::{Conn, Dialect};
use crate::StoreError;
use bytes::BytesMut;
use deadpool_postgres::ClientWrapper;
use std::error::Error;
use tokio::runtime::Handle;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{to_sql_checked, IsNull, ToSql, Type};
use tokio_postgres::Statement;
use zcrm_core::value::SqlValue;

pub(super) fn pg_err(e: tokio_postgres::Error) -> StoreError {
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

/// A statement prepared once per connection and reused; the cache is
/// emptied when it reaches `cap` (SQL is built from the catalog, so the set
/// of texts is bounded, but a connection should not hold thousands).
async fn prepare(c: &ClientWrapper, sql: &str, cap: usize) -> Result<Statement, StoreError> {
    if c.statement_cache.size() >= cap.max(1) {
        c.statement_cache.clear();
    }
    c.prepare_cached(&placeholders(sql)).await.map_err(pg_err)
}

fn bind(params: &[SqlValue]) -> Vec<Param<'_>> {
    params.iter().map(Param).collect()
}

fn refs<'a>(ps: &'a [Param<'a>]) -> Vec<&'a (dyn ToSql + Sync)> {
    ps.iter().map(|p| p as &(dyn ToSql + Sync)).collect()
}

/// Runs one query; every row as values in column order.
pub(super) async fn query(
    c: &ClientWrapper,
    cap: usize,
    sql: &str,
    params: &[SqlValue],
) -> Result<Vec<Vec<SqlValue>>, StoreError> {
    let st = prepare(c, sql, cap).await?;
    let ps = bind(params);
    let rows = c.query(&st, &refs(&ps)).await.map_err(pg_err)?;
    rows.iter()
        .map(|r| (0..r.len()).map(|i| column(r, i)).collect())
        .collect()
}

async fn execute(
    c: &ClientWrapper,
    cap: usize,
    sql: &str,
    params: &[SqlValue],
) -> Result<u64, StoreError> {
    let st = prepare(c, sql, cap).await?;
    let ps = bind(params);
    c.execute(&st, &refs(&ps)).await.map_err(pg_err)
}

/// The store's view of a connection, used from a blocking thread.
pub(super) struct PgConn<'a> {
    pub client: &'a ClientWrapper,
    pub handle: &'a Handle,
    pub cache: usize,
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

fn column(row: &tokio_postgres::Row, i: usize) -> Result<SqlValue, StoreError> {
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

impl Conn for PgConn<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn exec(&mut self, sql: &str, params: &[SqlValue]) -> Result<u64, StoreError> {
        self.handle
            .block_on(execute(self.client, self.cache, sql, params))
    }

    fn rows(&mut self, sql: &str, params: &[SqlValue]) -> Result<Vec<Vec<SqlValue>>, StoreError> {
        self.handle
            .block_on(query(self.client, self.cache, sql, params))
    }

    fn batch(&mut self, sql: &str) -> Result<(), StoreError> {
        self.handle
            .block_on(self.client.batch_execute(sql))
            .map_err(pg_err)
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
