//! zcrm persistence: the control database (orgs, users, OAuth, API limits)
//! and each org's record tables, one typed column per field.
//!
//! Layers, each using only those below it (`cargo test -p zcrm-core --test
//! architecture` fails on a cycle):
//!
//! 1. `refusal`, `error`, `password`, `files`: the store's vocabulary and
//!    leaf services.
//! 2. `db`: connections to SQLite or PostgreSQL, and sessions.
//! 3. `schema`: column names, an org's module tables made to match the
//!    catalog; `migrate`: the numbered steps of the control data and of each
//!    org, and the table recording which ran.
//! 4. `query` (criteria and COQL to SQL), `control` (orgs, users, clients and
//!    tokens, API limits), `rows` (table names, SELECT lists, reading rows).
//! 5. `org`: [`records::OrgStore`] itself, which every area above adds
//!    methods to, and who writes.
//! 6. `outbox`: notifications queued in a write's transaction, claimed and
//!    recorded.
//! 7. `links`: many-to-many related lists (they notify).
//! 8. `records`: reading, writing, relating and deleting records.
//! 9. `tags`, `attachments`, `mass_update`, `bulk`, `convert`, `seed`: the
//!    areas built on records.
//! 10. `backend`: where the data lives, and opening stores (their steps,
//!     then the catalog's tables).

pub mod attachments;
pub mod backend;
pub mod bulk;
pub mod control;
pub mod convert;
pub mod db;
pub mod error;
pub mod files;
pub mod links;
pub mod mass_update;
pub mod migrate;
mod org;
pub mod outbox;
pub mod password;
pub mod query;
pub mod records;
pub mod refusal;
mod rows;
pub mod schema;
pub mod seed;
pub mod tags;
#[cfg(test)]
mod test_support;

pub use backend::Backend;
pub use control::limits;
pub use db::{pg, session, sqlite, DbOptions};
pub use error::StoreError;
pub use refusal::{Holder, Refusal, Rejected};
