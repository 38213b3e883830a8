#![recursion_limit = "256"]
//! zcrm's domain: Zoho CRM metadata, field values, scopes, ids and the error
//! catalogue. No I/O lives here.

pub mod clock;
pub mod error;
pub mod ids;
pub mod meta;
pub mod query;
pub mod scope;
pub mod value;

pub use error::{ApiError, ApiResult, Code};
