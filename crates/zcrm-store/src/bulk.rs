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

use crate::db::{int, opt_int, opt_text, text, Conn, Dialect};
use crate::query::Compiler;
use crate::records::{table, write_rows, OrgStore, WriteCtx, WriteRow};
use crate::schema::col;
use crate::StoreError;
use crate::{Refusal, Rejected};
use std::sync::Arc;
use zcrm_core::meta::Module;
use zcrm_core::query::{Column, Filter, UserInfo};
use zcrm_core::value::SqlValue;

/// How long a claim holds without being renewed (every batch renews it).
pub const LEASE_MS: i64 = 30_000;

pub const ADDED: &str = "ADDED";
pub const IN_PROGRESS: &str = "IN PROGRESS";
pub const COMPLETED: &str = "COMPLETED";

pub fn migrate(c: &mut dyn Conn, prefix: &str) -> Result<(), StoreError> {
    let int = c.dialect().int();
    c.batch(&format!(
        "CREATE TABLE IF NOT EXISTS {prefix}bulk_files (
            id {int} PRIMARY KEY, name TEXT NOT NULL, file_key TEXT NOT NULL,
            size {int} NOT NULL, rows {int} NOT NULL, header TEXT NOT NULL,
            created_by {int} NOT NULL, created_time {int} NOT NULL);
         CREATE TABLE IF NOT EXISTS {prefix}bulk_jobs (
            id {int} PRIMARY KEY, kind TEXT NOT NULL, state TEXT NOT NULL,
            operation TEXT NOT NULL, module TEXT NOT NULL, request TEXT NOT NULL,
            created_by {int} NOT NULL, created_time {int} NOT NULL,
            total {int} NOT NULL DEFAULT 0, added {int} NOT NULL DEFAULT 0,
            updated {int} NOT NULL DEFAULT 0, skipped {int} NOT NULL DEFAULT 0,
            checkpoint {int} NOT NULL DEFAULT 0, result_key TEXT,
            result_count {int} NOT NULL DEFAULT 0, more_records {int} NOT NULL DEFAULT 0,
            error TEXT, finished_time {int},
            lease_node {int}, lease_until {int} NOT NULL DEFAULT 0,
            callback_url TEXT, callback_state TEXT,
            callback_attempts {int} NOT NULL DEFAULT 0, callback_next_at {int} NOT NULL DEFAULT 0);
         CREATE INDEX IF NOT EXISTS bulk_jobs_by_state ON {prefix}bulk_jobs(state, kind);
         CREATE INDEX IF NOT EXISTS bulk_jobs_by_time ON {prefix}bulk_jobs(kind, created_time);
         CREATE INDEX IF NOT EXISTS bulk_jobs_callbacks ON {prefix}bulk_jobs(callback_state, callback_next_at);
         CREATE TABLE IF NOT EXISTS {prefix}bulk_write_rows (
            job_id {int} NOT NULL, row_no {int} NOT NULL, status TEXT NOT NULL,
            record_id {int}, errors TEXT, PRIMARY KEY (job_id, row_no));"
    ))
}

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

impl OrgStore {
    pub async fn save_bulk_file(&self, f: BulkFile) -> Result<(), StoreError> {
        let prefix = self.prefix.clone();
        self.db
            .write(move |c| {
                let header = serde_json::to_string(&f.header)
                    .map_err(|e| StoreError::Other(e.to_string()))?;
                c.exec(
                    &format!(
                        "INSERT INTO {prefix}bulk_files (id, name, file_key, size, rows, header, created_by, created_time)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
                    ),
                    &[
                        f.id.into(),
                        f.name.into(),
                        f.file_key.into(),
                        f.size.into(),
                        f.rows.into(),
                        header.into(),
                        f.created_by.into(),
                        f.created_time.into(),
                    ],
                )?;
                Ok(())
            })
            .await
    }

    pub async fn bulk_file(&self, id: i64) -> Result<Option<BulkFile>, StoreError> {
        let sql = format!(
            "SELECT id, name, file_key, size, rows, header, created_by, created_time FROM {}bulk_files WHERE id = ?1",
            self.prefix
        );
        self.db
            .read(move |c| {
                let Some(r) = c.row(&sql, &[id.into()])? else {
                    return Ok(None);
                };
                Ok(Some(BulkFile {
                    id: int(&r[0])?,
                    name: text(&r[1])?,
                    file_key: text(&r[2])?,
                    size: int(&r[3])?,
                    rows: int(&r[4])?,
                    header: serde_json::from_str(&text(&r[5])?).unwrap_or_default(),
                    created_by: int(&r[6])?,
                    created_time: int(&r[7])?,
                }))
            })
            .await
    }

    /// Records a job unless the org is at one of its limits for this kind.
    pub async fn create_bulk_job(
        &self,
        job: NewJob,
        limits: Limits,
    ) -> Result<Result<(), LimitHit>, StoreError> {
        let prefix = self.prefix.clone();
        self.db
            .write(move |c| {
                if c.dialect() == Dialect::Postgres {
                    // Two nodes counting at once must not both pass the limit.
                    c.exec(
                        "SELECT pg_advisory_xact_lock(hashtext(?1)::bigint)",
                        &[format!("{prefix}bulk_jobs").into()],
                    )?;
                }
                let running = count(
                    c,
                    &format!("SELECT COUNT(*) FROM {prefix}bulk_jobs WHERE kind = ?1 AND state IN ('ADDED', 'IN PROGRESS')"),
                    &[job.kind.into()],
                )?;
                if running >= limits.concurrent {
                    return Ok(Err(LimitHit::Concurrent(limits.concurrent)));
                }
                let today = count(
                    c,
                    &format!("SELECT COUNT(*) FROM {prefix}bulk_jobs WHERE kind = ?1 AND created_time > ?2"),
                    &[job.kind.into(), (job.created_time - 86_400_000).into()],
                )?;
                if today >= limits.per_day {
                    return Ok(Err(LimitHit::Daily(limits.per_day)));
                }
                c.exec(
                    &format!(
                        "INSERT INTO {prefix}bulk_jobs (id, kind, state, operation, module, request, created_by,
                           created_time, total, callback_url)
                         VALUES (?1, ?2, 'ADDED', ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
                    ),
                    &[
                        job.id.into(),
                        job.kind.into(),
                        job.operation.into(),
                        job.module.into(),
                        job.request.into(),
                        job.created_by.into(),
                        job.created_time.into(),
                        job.total.into(),
                        job.callback_url.into(),
                    ],
                )?;
                Ok(Ok(()))
            })
            .await
    }

    pub async fn bulk_job(&self, id: i64, kind: &str) -> Result<Option<BulkJob>, StoreError> {
        let sql = format!(
            "SELECT {JOB_COLS} FROM {}bulk_jobs WHERE id = ?1 AND kind = ?2",
            self.prefix
        );
        let kind = kind.to_string();
        self.db
            .read(move |c| match c.row(&sql, &[id.into(), kind.into()])? {
                Some(r) => Ok(Some(job_from(&r)?)),
                None => Ok(None),
            })
            .await
    }

    /// Unfinished jobs: what a worker should pick up (oldest first).
    pub async fn pending_bulk_jobs(&self) -> Result<Vec<(i64, String)>, StoreError> {
        let sql = format!(
            "SELECT id, kind FROM {}bulk_jobs WHERE state IN ('ADDED', 'IN PROGRESS') ORDER BY id",
            self.prefix
        );
        self.db
            .read(move |c| {
                c.rows(&sql, &[])?
                    .iter()
                    .map(|r| Ok((int(&r[0])?, text(&r[1])?)))
                    .collect()
            })
            .await
    }

    /// Claims a job for `node` (free, its lease run out, or already ours).
    pub async fn claim_bulk_job(
        &self,
        id: i64,
        node: u32,
        now: i64,
    ) -> Result<Option<BulkJob>, StoreError> {
        let prefix = self.prefix.clone();
        self.db
            .write(move |c| {
                let n = c.exec(
                    &format!(
                        "UPDATE {prefix}bulk_jobs SET state = 'IN PROGRESS', lease_node = ?1, lease_until = ?2
                         WHERE id = ?3 AND state IN ('ADDED', 'IN PROGRESS') AND (lease_until < ?4 OR lease_node = ?1)"
                    ),
                    &[(node as i64).into(), (now + LEASE_MS).into(), id.into(), now.into()],
                )?;
                if n == 0 {
                    return Ok(None);
                }
                match c.row(&format!("SELECT {JOB_COLS} FROM {prefix}bulk_jobs WHERE id = ?1"), &[id.into()])? {
                    Some(r) => Ok(Some(job_from(&r)?)),
                    None => Ok(None),
                }
            })
            .await
    }

    /// Writes one batch of a write job and moves its checkpoint past it, in one
    /// transaction. `false`: the job is not ours any more or the checkpoint is
    /// not `from` (another worker went on): nothing was written.
    #[allow(clippy::too_many_arguments)]
    pub async fn bulk_write_batch(
        &self,
        job: i64,
        node: u32,
        from: i64,
        module: Arc<Module>,
        rows: Vec<BatchRow>,
        ctx: WriteCtx,
        row_error: fn(&Refusal) -> String,
    ) -> Result<bool, StoreError> {
        let (prefix, catalog) = (self.prefix.clone(), self.catalog.clone());
        self.db
            .write(move |c| {
                let held = c.exec(
                    &format!(
                        "UPDATE {prefix}bulk_jobs SET lease_until = ?1
                         WHERE id = ?2 AND lease_node = ?3 AND checkpoint = ?4 AND state = 'IN PROGRESS'"
                    ),
                    &[(ctx.now + LEASE_MS).into(), job.into(), (node as i64).into(), from.into()],
                )?;
                if held == 0 {
                    return Ok(false);
                }
                let m = &*module;
                let d = c.dialect();
                let n = rows.len() as i64;
                let mut row_nos = Vec::with_capacity(rows.len());
                let mut inputs = Vec::with_capacity(rows.len());
                let mut new_ids = Vec::with_capacity(rows.len());
                for r in rows {
                    let mut row = r.row;
                    // Update by a field: find the record it names.
                    if let (Ok(w), Some((fi, v))) = (&mut row, &r.find) {
                        let f = &m.fields[*fi];
                        let (cond, arg) = match v {
                            SqlValue::Text(t) => (format!("{} = {}", d.ci(&col(&f.api_name)), d.ci("?1")), SqlValue::Text(t.clone())),
                            other => (format!("{} = ?1", col(&f.api_name)), other.clone()),
                        };
                        let found = c.row(
                            &format!("SELECT id FROM {} WHERE {cond} ORDER BY id LIMIT 1", table(&prefix, m)),
                            &[arg],
                        )?;
                        match found {
                            Some(x) => w.id = Some(int(&x[0])?),
                            None => {
                                row = Err(row_error(&Refusal::NotFoundBy {
                                    field: f.api_name.clone(),
                                }))
                            }
                        }
                    }
                    row_nos.push(r.row_no);
                    inputs.push(row);
                    new_ids.push(r.new_id);
                }
                let was_update: Vec<bool> = inputs
                    .iter()
                    .map(|r| r.as_ref().is_ok_and(|w| w.id.is_some()))
                    .collect();
                let out = write_rows(c, &prefix, &catalog, m, inputs, &ctx, new_ids)?;
                let (mut added, mut updated, mut skipped) = (0i64, 0i64, 0i64);
                let mut results: Vec<[SqlValue; 5]> = Vec::with_capacity(out.len());
                for ((res, row_no), upd) in out.into_iter().zip(row_nos).zip(was_update) {
                    let (status, id, err) = match res {
                        Ok(s) => {
                            let inserted = match &s.upserted {
                                Some(u) => u.inserted,
                                None => !upd,
                            };
                            if inserted {
                                added += 1;
                                ("ADDED", Some(s.id), None)
                            } else {
                                updated += 1;
                                ("UPDATED", Some(s.id), None)
                            }
                        }
                        Err(e) => {
                            skipped += 1;
                            let text = match e {
                                Rejected::Input(text) => text,
                                Rejected::Store(r) => row_error(&r),
                            };
                            ("SKIPPED", None, Some(text))
                        }
                    };
                    results.push([job.into(), row_no.into(), status.into(), id.into(), err.into()]);
                }
                for chunk in results.chunks(5000) {
                    let groups: Vec<String> = (0..chunk.len())
                        .map(|k| {
                            let b = k * 5;
                            format!("(?{},?{},?{},?{},?{})", b + 1, b + 2, b + 3, b + 4, b + 5)
                        })
                        .collect();
                    let args: Vec<SqlValue> = chunk.iter().flat_map(|r| r.iter().cloned()).collect();
                    c.exec(
                        &format!(
                            "INSERT INTO {prefix}bulk_write_rows (job_id, row_no, status, record_id, errors) VALUES {}",
                            groups.join(",")
                        ),
                        &args,
                    )?;
                }
                c.exec(
                    &format!(
                        "UPDATE {prefix}bulk_jobs SET checkpoint = checkpoint + ?1, added = added + ?2,
                         updated = updated + ?3, skipped = skipped + ?4 WHERE id = ?5"
                    ),
                    &[n.into(), added.into(), updated.into(), skipped.into(), job.into()],
                )?;
                Ok(true)
            })
            .await
    }

    /// Outcomes of a write job's rows after `after` (row numbers), in order.
    pub async fn bulk_write_results(
        &self,
        job: i64,
        after: i64,
        limit: i64,
    ) -> Result<Vec<RowResult>, StoreError> {
        let sql = format!(
            "SELECT row_no, status, record_id, errors FROM {}bulk_write_rows
             WHERE job_id = ?1 AND row_no > ?2 ORDER BY row_no LIMIT ?3",
            self.prefix
        );
        self.db
            .read(move |c| {
                c.rows(&sql, &[job.into(), after.into(), limit.into()])?
                    .iter()
                    .map(|r| {
                        Ok(RowResult {
                            row_no: int(&r[0])?,
                            status: text(&r[1])?,
                            record_id: opt_int(&r[2]),
                            errors: opt_text(&r[3]),
                        })
                    })
                    .collect()
            })
            .await
    }

    /// Renews the lease of a job being worked on (a long read). `false`: lost.
    pub async fn renew_bulk_job(&self, id: i64, node: u32, now: i64) -> Result<bool, StoreError> {
        let prefix = self.prefix.clone();
        self.db
            .write(move |c| {
                Ok(c.exec(
                    &format!(
                        "UPDATE {prefix}bulk_jobs SET lease_until = ?1 WHERE id = ?2 AND lease_node = ?3 AND state = 'IN PROGRESS'"
                    ),
                    &[(now + LEASE_MS).into(), id.into(), (node as i64).into()],
                )? > 0)
            })
            .await
    }

    /// Ends a job held by `node`: `COMPLETED` with its result, or failed with
    /// `error`. Its callback (if any) becomes due now. `false`: not ours.
    #[allow(clippy::too_many_arguments)]
    pub async fn finish_bulk_job(
        &self,
        id: i64,
        node: u32,
        state: &str,
        result_key: Option<String>,
        result_count: i64,
        more_records: bool,
        error: Option<String>,
        now: i64,
    ) -> Result<bool, StoreError> {
        let prefix = self.prefix.clone();
        let state = state.to_string();
        self.db
            .write(move |c| {
                Ok(c.exec(
                    &format!(
                        "UPDATE {prefix}bulk_jobs SET state = ?1, result_key = ?2, result_count = ?3,
                           more_records = ?4, error = ?5, finished_time = ?6, lease_until = 0,
                           callback_state = CASE WHEN callback_url IS NULL THEN NULL ELSE 'pending' END,
                           callback_next_at = ?6
                         WHERE id = ?7 AND lease_node = ?8 AND state = 'IN PROGRESS'"
                    ),
                    &[
                        state.into(),
                        result_key.into(),
                        result_count.into(),
                        (more_records as i64).into(),
                        error.into(),
                        now.into(),
                        id.into(),
                        (node as i64).into(),
                    ],
                )? > 0)
            })
            .await
    }

    /// Jobs whose callback is due, each claimed for `hold_ms` so that one
    /// sender (of any node) sends it at a time.
    pub async fn claim_bulk_callbacks(
        &self,
        now: i64,
        hold_ms: i64,
        limit: i64,
    ) -> Result<Vec<BulkJob>, StoreError> {
        let prefix = self.prefix.clone();
        self.db
            .write(move |c| {
                let rows = c.rows(
                    &format!(
                        "SELECT {JOB_COLS}, callback_next_at FROM {prefix}bulk_jobs
                         WHERE callback_state = 'pending' AND callback_next_at <= ?1 ORDER BY callback_next_at LIMIT ?2"
                    ),
                    &[now.into(), limit.into()],
                )?;
                let mut out = Vec::new();
                for r in rows {
                    let job = job_from(&r)?;
                    let at = int(&r[21])?;
                    let n = c.exec(
                        &format!(
                            "UPDATE {prefix}bulk_jobs SET callback_next_at = ?1 WHERE id = ?2 AND callback_next_at = ?3
                             AND callback_state = 'pending'"
                        ),
                        &[(now + hold_ms).into(), job.id.into(), at.into()],
                    )?;
                    if n > 0 {
                        out.push(job);
                    }
                }
                Ok(out)
            })
            .await
    }

    /// Records a callback attempt: `next_at` `None` ends it (`sent` or `dead`).
    pub async fn finish_bulk_callback(
        &self,
        id: i64,
        attempts: i64,
        state: &str,
        next_at: i64,
    ) -> Result<(), StoreError> {
        let prefix = self.prefix.clone();
        let state = state.to_string();
        self.db
            .write(move |c| {
                c.exec(
                    &format!(
                        "UPDATE {prefix}bulk_jobs SET callback_state = ?1, callback_attempts = ?2, callback_next_at = ?3
                         WHERE id = ?4"
                    ),
                    &[state.into(), attempts.into(), next_at.into(), id.into()],
                )?;
                Ok(())
            })
            .await
    }

    /// The id of the last record before row `skip` of a read (`None`: fewer records).
    pub async fn bulk_read_start(
        &self,
        spec: &ReadSpec,
        skip: i64,
    ) -> Result<Option<i64>, StoreError> {
        if skip == 0 {
            return Ok(Some(0));
        }
        let (sql, mut args) = self.read_sql(spec, "t.id", 0);
        let n = args.len();
        let sql = format!("{sql} ORDER BY t.id LIMIT 1 OFFSET ?{}", n + 1);
        args.push((skip - 1).into());
        self.db
            .read(move |c| match c.row(&sql, &args)? {
                Some(r) => Ok(Some(int(&r[0])?)),
                None => Ok(None),
            })
            .await
    }

    /// Up to `limit` records after id `after`, in id order: the id, then each column.
    pub async fn bulk_read_chunk(
        &self,
        spec: &ReadSpec,
        after: i64,
        limit: i64,
    ) -> Result<Vec<Vec<SqlValue>>, StoreError> {
        let (sql, mut args) = self.read_sql(spec, "", after);
        let n = args.len();
        let sql = format!("{sql} ORDER BY t.id LIMIT ?{}", n + 1);
        args.push(limit.into());
        self.db.read(move |c| c.rows(&sql, &args)).await
    }

    /// `SELECT t.id, <columns> … WHERE <filter> AND t.id > after` (`only`: select just that).
    fn read_sql(&self, spec: &ReadSpec, only: &str, after: i64) -> (String, Vec<SqlValue>) {
        let mut c = Compiler::new(&self.prefix, self.db.dialect(), &spec.users, 0);
        let mut items = vec!["t.id".to_string()];
        if only.is_empty() {
            for col in &spec.columns {
                items.push(c.column(col));
            }
        }
        let mut wheres = Vec::new();
        if let Some(f) = &spec.filter {
            wheres.push(c.filter(f));
        }
        let joins = c.joins();
        let mut args = c.args;
        wheres.push(format!("t.id > ?{}", args.len() + 1));
        args.push(after.into());
        (
            format!(
                "SELECT {} FROM {} t {joins} WHERE {}",
                items.join(", "),
                table(&self.prefix, &spec.module),
                wheres.join(" AND ")
            ),
            args,
        )
    }
}
