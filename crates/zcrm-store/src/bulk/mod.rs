//! Bulk read and bulk write jobs, durable. A job is a row of `bulk_jobs`;
//! a worker claims it with a lease (as mass update jobs are claimed), so
//! among several nodes one works on it at a time and a crashed worker's job
//! is taken over when its lease runs out.
//!
//! Bulk write commits its rows in batches. Each batch's records, their
//! notification events, each row's outcome (`bulk_write_rows`) and the job's
//! checkpoint (the number of input rows done) go in one transaction, and the
//! batch is refused unless the checkpoint is still where the worker read it:
//! after a `kill -9` the next worker resumes after the last committed row and
//! no row is written twice.
//!
//! `jobs`: uploaded files, jobs, their claims and callbacks; `write`: a write
//! job's batches and row outcomes; `read`: a read job's records.

mod jobs;
mod read;
mod write;

use crate::db::{int, opt_int, opt_text, text, Conn};
use crate::records::WriteRow;
use crate::StoreError;
use std::sync::Arc;
use zcrm_core::meta::Module;
use zcrm_core::query::{Column, Filter, UserInfo};
use zcrm_core::value::SqlValue;

/// How long a claim holds without being renewed (every batch renews it).
pub const LEASE_MS: i64 = 30_000;

pub const ADDED: &str = "ADDED";
pub const IN_PROGRESS: &str = "IN PROGRESS";
pub const COMPLETED: &str = "COMPLETED";

/// An uploaded ZIP: where it is kept, and what its CSV holds.
#[derive(Debug, Clone)]
pub struct BulkFile {
    pub id: i64,
    pub name: String,
    pub file_key: String,
    pub size: i64,
    /// Data rows (the header not counted).
    pub rows: i64,
    pub header: Vec<String>,
    pub created_by: i64,
    pub created_time: i64,
}

#[derive(Debug, Clone)]
pub struct BulkJob {
    pub id: i64,
    /// `read` or `write`.
    pub kind: String,
    pub state: String,
    pub operation: String,
    pub module: String,
    /// The request as given, with what the server resolved from it (JSON).
    pub request: String,
    pub created_by: i64,
    pub created_time: i64,
    pub total: i64,
    pub added: i64,
    pub updated: i64,
    pub skipped: i64,
    pub checkpoint: i64,
    pub result_key: Option<String>,
    pub result_count: i64,
    pub more_records: bool,
    pub error: Option<String>,
    pub finished_time: Option<i64>,
    pub callback_url: Option<String>,
    pub callback_state: Option<String>,
    pub callback_attempts: i64,
}

const JOB_COLS: &str =
    "id, kind, state, operation, module, request, created_by, created_time, total, added,
    updated, skipped, checkpoint, result_key, result_count, more_records, error, finished_time,
    callback_url, callback_state, callback_attempts";

fn job_from(r: &[SqlValue]) -> Result<BulkJob, StoreError> {
    Ok(BulkJob {
        id: int(&r[0])?,
        kind: text(&r[1])?,
        state: text(&r[2])?,
        operation: text(&r[3])?,
        module: text(&r[4])?,
        request: text(&r[5])?,
        created_by: int(&r[6])?,
        created_time: int(&r[7])?,
        total: int(&r[8])?,
        added: int(&r[9])?,
        updated: int(&r[10])?,
        skipped: int(&r[11])?,
        checkpoint: int(&r[12])?,
        result_key: opt_text(&r[13]),
        result_count: int(&r[14])?,
        more_records: int(&r[15])? != 0,
        error: opt_text(&r[16]),
        finished_time: opt_int(&r[17]),
        callback_url: opt_text(&r[18]),
        callback_state: opt_text(&r[19]),
        callback_attempts: int(&r[20])?,
    })
}

/// A job to record.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub id: i64,
    pub kind: &'static str,
    pub operation: String,
    pub module: String,
    pub request: String,
    pub created_by: i64,
    pub created_time: i64,
    pub total: i64,
    pub callback_url: Option<String>,
}

/// Per org and kind of job: unfinished jobs at once, jobs per 24 hours.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub concurrent: i64,
    pub per_day: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitHit {
    Concurrent(i64),
    Daily(i64),
}

/// One input row of a write batch.
#[derive(Debug, Clone)]
pub struct BatchRow {
    /// 1-based data row number (the header not counted).
    pub row_no: i64,
    /// The row, or its error as the result file writes it (`CODE-api_name`).
    pub row: Result<WriteRow, String>,
    /// Update: the record is the one whose field (index) holds this value.
    pub find: Option<(usize, SqlValue)>,
    pub new_id: i64,
}

/// A row's outcome as the result file shows it.
#[derive(Debug, Clone)]
pub struct RowResult {
    pub row_no: i64,
    pub status: String,
    pub record_id: Option<i64>,
    pub errors: Option<String>,
}

/// What a bulk read selects, compiled by the store.
#[derive(Debug, Clone)]
pub struct ReadSpec {
    pub module: Arc<Module>,
    pub columns: Vec<Column>,
    pub filter: Option<Filter>,
    pub users: Vec<UserInfo>,
}

fn count(c: &mut dyn Conn, sql: &str, args: &[SqlValue]) -> Result<i64, StoreError> {
    int(&c
        .row(sql, args)?
        .map(|r| r[0].clone())
        .unwrap_or(SqlValue::Int(0)))
}
