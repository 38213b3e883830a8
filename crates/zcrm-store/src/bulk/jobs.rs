//! Uploaded files, and jobs: recording them within the org's limits,
//! claiming them under a lease, finishing them, and their callbacks.

use super::{count, job_from, BulkFile, BulkJob, LimitHit, Limits, NewJob, JOB_COLS, LEASE_MS};
use crate::db::{int, text, Dialect};
use crate::org::OrgStore;
use crate::StoreError;

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
}
