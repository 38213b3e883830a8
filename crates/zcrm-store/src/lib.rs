//! zcrm persistence: the control database (orgs, users, OAuth) and each org's
//! record tables, one typed column per field.

pub mod control;
pub mod password;
pub mod records;
pub mod schema;
pub mod sqlite;

use zcrm_core::ApiError;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("database closed")]
    Closed,
    #[error("{0}")]
    Other(String),
}

/// Storage failures are the server's fault: the client sees `INTERNAL_ERROR`,
/// the log sees the cause.
impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        tracing::error!("store: {e}");
        ApiError::new(zcrm_core::Code::InternalError)
    }
}
