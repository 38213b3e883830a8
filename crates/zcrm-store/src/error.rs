//! The store's own failures: the database's, or a refusal that rolls a whole
//! transaction back. Refusals of single items are [`crate::Refusal`]s.

use crate::Refusal;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique index refused a row (a concurrent writer won the race).
    #[error("unique constraint violated")]
    Unique,
    #[error("sqlite: {0}")]
    Sqlite(rusqlite::Error),
    #[error("postgres: {}", causes(.0))]
    Postgres(#[from] tokio_postgres::Error),
    #[error("database closed")]
    Closed,
    /// A refusal that must roll the whole transaction back.
    #[error("refused: {0:?}")]
    Refused(Box<Refusal>),
    #[error("{0}")]
    Other(String),
    /// The store's schema was migrated by a newer zcrm than this one: opening
    /// it would run code that does not know its tables (and going back
    /// could lose what the newer version keeps), so it is refused.
    #[error(
        "{store} was upgraded by a newer zcrm (schema version {found}; this zcrm knows \
         up to {known}): run that version or a later one, or restore a backup made \
         before the upgrade"
    )]
    NewerSchema {
        store: String,
        found: i64,
        known: i64,
    },
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match &e {
            rusqlite::Error::SqliteFailure(f, _)
                if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                    || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY =>
            {
                StoreError::Unique
            }
            _ => StoreError::Sqlite(e),
        }
    }
}

/// An error with its causes: tokio-postgres says "error performing TLS
/// handshake" and keeps why (which certificate, which name) in its source.
fn causes(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut next = e.source();
    while let Some(cause) = next {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        next = cause.source();
    }
    out
}
