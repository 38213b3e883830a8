//! Mass update jobs. A job is a row; workers claim it with a lease (so among
//! several nodes one works on it at a time, and a crashed worker's job is taken
//! over when its lease runs out) and apply it in chunks, each chunk's updates
//! committed together with the job's progress, so a restart resumes after the
//! last committed chunk and never counts a record twice.

use crate::db::{int, opt_text, text, Conn, Dialect};
use crate::org::{OrgStore, WriteCtx};
use crate::outbox::{self, Change, Op};
use crate::records::{update_one, WriteRow};
use crate::rows::table;
use crate::schema::col;
use crate::Refusal;
use crate::StoreError;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use zcrm_core::meta::{Catalog, Module};
use zcrm_core::value::{Checked, SqlValue};

/// How long a claim holds without being renewed.
pub const LEASE_MS: i64 = 30_000;
/// Records updated per transaction.
pub const CHUNK: i64 = 500;

/// What a job changes and on which records; kept as JSON in the job row.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MassSpec {
    /// (field index, value) to set; values already checked against the field.
    pub values: Vec<(usize, SqlValue)>,
    /// Explicit records; `None` selects by `owner` (or every record).
    pub ids: Option<Vec<i64>>,
    /// Only records owned by this user (a "My …" view).
    pub owner: Option<i64>,
    pub user: i64,
    /// Only records matching this criteria: search text, or JSON criteria as
    /// their text (already validated; parsed again for each chunk, so a record is judged as it is when reached).
    #[serde(default)]
    pub criteria: Option<String>,
}

/// `(extra WHERE text, its arguments)` selecting the job's records beyond the
/// id cursor: owner and criteria; placeholders numbered from `?{base}`.
fn selection(
    prefix: &str,
    d: Dialect,
    catalog: &Catalog,
    m: &Arc<Module>,
    spec: &MassSpec,
    base: usize,
) -> Result<(String, String, Vec<SqlValue>), StoreError> {
    let mut wheres = Vec::new();
    let mut args = Vec::new();
    if let Some(o) = spec.owner {
        wheres.push(format!("t.{} = ?{}", col("Owner"), base + args.len()));
        args.push(SqlValue::Int(o));
    }
    let mut joins = String::new();
    if let Some(cr) = &spec.criteria {
        // JSON criteria are kept as their text; search criteria start with `(`.
        let f = if cr.starts_with(['{', '[']) {
            serde_json::from_str(cr)
                .map_err(|e| StoreError::Other(format!("mass update criteria: {e}")))
                .and_then(|v| {
                    zcrm_core::query::json_criteria::parse(catalog, m, &v)
                        .map_err(|e| StoreError::Other(format!("mass update criteria: {e}")))
                })?
        } else {
            zcrm_core::query::criteria::parse(catalog, m, cr)
                .map_err(|e| StoreError::Other(format!("mass update criteria: {e}")))?
        };
        let mut c = crate::query::Compiler::new(prefix, d, &[], base + args.len() - 1);
        wheres.push(c.filter(&f));
        joins = c.joins();
        args.extend(c.args);
    }
    let w = wheres
        .iter()
        .map(|w| format!(" AND ({w})"))
        .collect::<String>();
    Ok((joins, w, args))
}

#[derive(Debug, Clone)]
pub struct JobStatus {
    pub status: String,
    pub total: i64,
    pub updated: i64,
    pub not_updated: i64,
    pub failed: i64,
}

/// The outcome of one step of work on a job.
pub enum Step {
    /// More records remain.
    More,
    /// The job is finished (or was never ours to run).
    Done,
}

impl OrgStore {
    /// Records a new job; `total` is counted now so status shows it at once.
    pub async fn schedule_mass_update(
        &self,
        module: String,
        id: i64,
        spec: MassSpec,
        now: i64,
    ) -> Result<(), StoreError> {
        let (prefix, catalog) = (self.prefix.clone(), self.catalog.clone());
        self.db
            .write(move |c| {
                let m = catalog.module(&module).ok_or_else(|| StoreError::Other(format!("no module {module}")))?;
                let total = match &spec.ids {
                    Some(ids) => ids.len() as i64,
                    None => {
                        let (joins, w, args) = selection(&prefix, c.dialect(), &catalog, m, &spec, 1)?;
                        let sql = format!("SELECT COUNT(*) FROM {} t {joins} WHERE 1 = 1{w}", table(&prefix, m));
                        int(&c.row(&sql, &args)?.map(|r| r[0].clone()).unwrap_or(SqlValue::Int(0)))?
                    }
                };
                let spec_json = serde_json::to_string(&spec).map_err(|e| StoreError::Other(e.to_string()))?;
                c.exec(
                    &format!(
                        "INSERT INTO {prefix}mass_update_jobs (id, module, status, total, spec, created_by, created_time)
                         VALUES (?1, ?2, 'SCHEDULED', ?3, ?4, ?5, ?6)"
                    ),
                    &[id.into(), module.as_str().into(), total.into(), spec_json.into(), spec.user.into(), now.into()],
                )?;
                Ok(())
            })
            .await
    }

    pub async fn mass_update_status(
        &self,
        module: &str,
        id: i64,
    ) -> Result<Option<JobStatus>, StoreError> {
        let sql = format!("SELECT status, total, updated, not_updated, failed FROM {}mass_update_jobs WHERE id = ?1 AND module = ?2", self.prefix);
        let module = module.to_string();
        self.db
            .read(move |c| {
                Ok(match c.row(&sql, &[id.into(), module.into()])? {
                    Some(r) => Some(JobStatus {
                        status: text(&r[0])?,
                        total: int(&r[1])?,
                        updated: int(&r[2])?,
                        not_updated: int(&r[3])?,
                        failed: int(&r[4])?,
                    }),
                    None => None,
                })
            })
            .await
    }

    /// Jobs not finished: what a starting worker should pick up.
    pub async fn pending_mass_updates(&self) -> Result<Vec<i64>, StoreError> {
        let sql = format!("SELECT id FROM {}mass_update_jobs WHERE status IN ('SCHEDULED', 'RUNNING') ORDER BY id", self.prefix);
        self.db
            .read(move |c| c.rows(&sql, &[])?.iter().map(|r| int(&r[0])).collect())
            .await
    }

    /// Claims the job for `node` (if free or its lease ran out) and applies the next chunk.
    pub async fn mass_update_step(
        &self,
        job: i64,
        node: u32,
        ctx: WriteCtx,
    ) -> Result<Step, StoreError> {
        let (prefix, catalog) = (self.prefix.clone(), self.catalog.clone());
        self.db
            .write(move |c| step(c, &prefix, &catalog, job, node as i64, &ctx))
            .await
    }
}

fn step(
    c: &mut dyn Conn,
    prefix: &str,
    catalog: &Arc<Catalog>,
    job: i64,
    node: i64,
    ctx: &WriteCtx,
) -> Result<Step, StoreError> {
    if !claim(c, prefix, job, node, ctx.now)? {
        return Ok(Step::Done);
    }
    let (module, spec, cursor) = load(c, prefix, job)?;
    let m = catalog
        .module(&module)
        .ok_or_else(|| StoreError::Other(format!("no module {module}")))?;
    // Changes are made in the name of whoever scheduled the job.
    let ctx = &WriteCtx {
        user: spec.user,
        ..ctx.clone()
    };
    let ids = next_ids(c, prefix, catalog, m, &spec, cursor)?;
    if ids.is_empty() {
        c.exec(&format!("UPDATE {prefix}mass_update_jobs SET status = 'COMPLETED', lease_until = 0 WHERE id = ?1"), &[job.into()])?;
        return Ok(Step::Done);
    }
    let counts = apply(c, prefix, catalog, m, &spec, &ids, ctx)?;
    let last = *ids.last().unwrap_or(&cursor);
    c.exec(
        &format!(
            "UPDATE {prefix}mass_update_jobs SET updated = updated + ?1, not_updated = not_updated + ?2,
             failed = failed + ?3, cursor_id = ?4 WHERE id = ?5"
        ),
        &[counts.updated.into(), counts.not_updated.into(), counts.failed.into(), last.into(), job.into()],
    )?;
    Ok(Step::More)
}

/// Claims the job for `node`: free, its lease run out, or already ours.
fn claim(
    c: &mut dyn Conn,
    prefix: &str,
    job: i64,
    node: i64,
    now: i64,
) -> Result<bool, StoreError> {
    let claimed = c.exec(
        &format!(
            "UPDATE {prefix}mass_update_jobs SET status = 'RUNNING', lease_node = ?1, lease_until = ?2
             WHERE id = ?3 AND status IN ('SCHEDULED', 'RUNNING') AND (lease_until < ?4 OR lease_node = ?1)"
        ),
        &[node.into(), (now + LEASE_MS).into(), job.into(), now.into()],
    )?;
    Ok(claimed > 0)
}

/// The job's module, spec and cursor (the last id done).
fn load(c: &mut dyn Conn, prefix: &str, job: i64) -> Result<(String, MassSpec, i64), StoreError> {
    let r = c
        .row(
            &format!("SELECT module, spec, cursor_id FROM {prefix}mass_update_jobs WHERE id = ?1"),
            &[job.into()],
        )?
        .ok_or_else(|| StoreError::Other("job vanished".into()))?;
    let (module, spec, cursor) = (
        text(&r[0])?,
        opt_text(&r[1]).unwrap_or_default(),
        int(&r[2])?,
    );
    let spec: MassSpec =
        serde_json::from_str(&spec).map_err(|e| StoreError::Other(format!("job {job}: {e}")))?;
    Ok((module, spec, cursor))
}

/// The next ids after the cursor, in id order: the cursor is what makes resuming exact.
fn next_ids(
    c: &mut dyn Conn,
    prefix: &str,
    catalog: &Catalog,
    m: &Arc<Module>,
    spec: &MassSpec,
    cursor: i64,
) -> Result<Vec<i64>, StoreError> {
    if let Some(list) = &spec.ids {
        let mut l: Vec<i64> = list.iter().copied().filter(|i| *i > cursor).collect();
        l.sort_unstable();
        l.dedup();
        l.truncate(CHUNK as usize);
        return Ok(l);
    }
    let t = table(prefix, m);
    let (joins, w, mut args) = selection(prefix, c.dialect(), catalog, m, spec, 3)?;
    let sql = format!("SELECT t.id FROM {t} t {joins} WHERE t.id > ?1{w} ORDER BY t.id LIMIT ?2");
    args.splice(0..0, [SqlValue::Int(cursor), SqlValue::Int(CHUNK)]);
    c.rows(&sql, &args)?.iter().map(|r| int(&r[0])).collect()
}

/// What a chunk did to its records.
#[derive(Default)]
struct Counts {
    updated: i64,
    not_updated: i64,
    failed: i64,
}

/// Updates the chunk's records with the job's values and queues their
/// notifications as one change batch.
fn apply(
    c: &mut dyn Conn,
    prefix: &str,
    catalog: &Catalog,
    m: &Module,
    spec: &MassSpec,
    ids: &[i64],
    ctx: &WriteCtx,
) -> Result<Counts, StoreError> {
    let mut counts = Counts::default();
    let field_names: Vec<String> = spec
        .values
        .iter()
        .map(|(i, _)| m.fields[*i].api_name.clone())
        .collect();
    let mut changes = Vec::new();
    let values: Vec<(usize, Checked)> = spec
        .values
        .iter()
        .map(|(i, v)| {
            (
                *i,
                Checked {
                    value: v.clone(),
                    lookup_module: None,
                },
            )
        })
        .collect();
    for id in ids {
        let row = WriteRow {
            values: values.clone(),
            json_path: "$.data[0]".into(),
            id: Some(*id),
            upsert_on: Vec::new(),
        };
        // A record deleted since the job was scheduled is "not updated"; a value a
        // record refuses (a unique clash, a vanished lookup) is "failed".
        match update_one(c, prefix, catalog, m, &row, ctx, *id)? {
            Ok(_) => {
                counts.updated += 1;
                changes.push(Change {
                    op: Op::Update,
                    id: *id,
                    fields: field_names.clone(),
                });
            }
            Err(Refusal::NoRecord { .. }) => counts.not_updated += 1,
            Err(_) => counts.failed += 1,
        }
    }
    // Each chunk notifies as one change batch, in its own transaction.
    outbox::enqueue(c, prefix, catalog, &m.api_name, &changes, ctx.now, false)?;
    Ok(counts)
}
