//! Records of one org, one table per module: in the org's own SQLite file, or
//! in the org's own PostgreSQL schema. Writes check lookups and unique fields
//! inside the write transaction, so what is checked is what is committed; a
//! unique index backs the check against writers on other nodes.
//!
//! `read`: getting, listing, counting and COQL; `write`: inserts, updates and
//! upserts with their notifications; `checks`: lookups and unique values of a
//! row being written; `relate`: related lists through a lookup field;
//! `delete`: deleting into the recycle bin, and the bin.

mod checks;
mod delete;
mod read;
mod relate;
mod write;

pub use crate::org::{OrgStore, WriteCtx};
pub use crate::rows::{Cell, Row};
pub use delete::{BinEntry, DeletedRow};
pub(crate) use write::{insert_many, insert_one, update_one, write_rows};

use crate::links::Link;
use zcrm_core::query::Filter;
use zcrm_core::value::Checked;

/// One record to write: checked values by field index, and where it sat in the request.
#[derive(Debug, Clone)]
pub struct WriteRow {
    pub values: Vec<(usize, Checked)>,
    /// `$.data[3]`, for error details.
    pub json_path: String,
    /// The record to update; `None` inserts.
    pub id: Option<i64>,
    /// Upsert: fields (indices) to look for an existing record by, in order.
    /// A match is updated; otherwise the row is inserted.
    pub upsert_on: Vec<usize>,
}

/// How an upserted row was applied.
#[derive(Debug, Clone)]
pub struct Upserted {
    pub inserted: bool,
    /// The field that matched an existing record.
    pub duplicate_field: Option<String>,
}

/// Outcome of a written record.
#[derive(Debug, Clone)]
pub struct Saved {
    pub id: i64,
    pub created_time: i64,
    pub modified_time: i64,
    pub created_by: i64,
    pub modified_by: i64,
    pub upserted: Option<Upserted>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortBy {
    Id,
    CreatedTime,
    ModifiedTime,
}

#[derive(Debug, Clone)]
pub struct ListQuery {
    pub fields: Vec<usize>,
    pub sort_by: SortBy,
    pub desc: bool,
    pub offset: u64,
    pub limit: u64,
    pub ids: Option<Vec<i64>>,
    /// Leads: `Some(false)` hides converted leads (the default), `Some(true)` shows only them.
    pub converted: Option<bool>,
    /// `If-Modified-Since`: only records modified after this instant.
    pub modified_since: Option<i64>,
    /// Only the children of one record (a related list).
    pub related: Option<Related>,
    /// Search criteria.
    pub filter: Option<Filter>,
}

/// The children of `parent_id` through lookup field `field` (an index into
/// the child module's fields); for a multi-module lookup, `parent_module` too.
#[derive(Debug, Clone)]
pub struct Related {
    pub field: usize,
    pub parent_id: i64,
    pub parent_module: String,
    /// A many-to-many list: linked through `record_links`, `field` unused.
    pub link: Option<Link>,
}
