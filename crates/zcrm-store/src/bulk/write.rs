//! A write job's batches: each batch's records, their notifications, the
//! rows' outcomes and the job's checkpoint commit together, only while the
//! job is still ours at that checkpoint.

use super::{BatchRow, RowResult, LEASE_MS};
use crate::db::{int, opt_int, opt_text, text, Conn};
use crate::org::{OrgStore, WriteCtx};
use crate::records::{write_rows, Saved, WriteRow};
use crate::rows::table;
use crate::schema::col;
use crate::StoreError;
use crate::{Refusal, Rejected};
use std::sync::Arc;
use zcrm_core::meta::Module;
use zcrm_core::value::SqlValue;

/// A batch's rows as `write_rows` takes them, with their row numbers.
struct Inputs {
    row_nos: Vec<i64>,
    rows: Vec<Result<WriteRow, String>>,
    new_ids: Vec<i64>,
}

/// How many rows of a batch were added, updated and skipped.
#[derive(Default)]
struct Counts {
    added: i64,
    updated: i64,
    skipped: i64,
}

/// Renews the job's lease if `node` holds it at checkpoint `from`.
fn hold(
    c: &mut dyn Conn,
    prefix: &str,
    job: i64,
    node: u32,
    from: i64,
    now: i64,
) -> Result<bool, StoreError> {
    let held = c.exec(
        &format!(
            "UPDATE {prefix}bulk_jobs SET lease_until = ?1
             WHERE id = ?2 AND lease_node = ?3 AND checkpoint = ?4 AND state = 'IN PROGRESS'"
        ),
        &[
            (now + LEASE_MS).into(),
            job.into(),
            (node as i64).into(),
            from.into(),
        ],
    )?;
    Ok(held > 0)
}

/// The rows to write; an update by a field gets the id of the record it
/// names, or its row's error when there is none.
fn inputs(
    c: &mut dyn Conn,
    prefix: &str,
    m: &Module,
    rows: Vec<BatchRow>,
    row_error: fn(&Refusal) -> String,
) -> Result<Inputs, StoreError> {
    let d = c.dialect();
    let mut out = Inputs {
        row_nos: Vec::with_capacity(rows.len()),
        rows: Vec::with_capacity(rows.len()),
        new_ids: Vec::with_capacity(rows.len()),
    };
    for r in rows {
        let mut row = r.row;
        if let (Ok(w), Some((fi, v))) = (&mut row, &r.find) {
            let f = &m.fields[*fi];
            let (cond, arg) = match v {
                SqlValue::Text(t) => (
                    format!("{} = {}", d.ci(&col(&f.api_name)), d.ci("?1")),
                    SqlValue::Text(t.clone()),
                ),
                other => (format!("{} = ?1", col(&f.api_name)), other.clone()),
            };
            let found = c.row(
                &format!(
                    "SELECT id FROM {} WHERE {cond} ORDER BY id LIMIT 1",
                    table(prefix, m)
                ),
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
        out.row_nos.push(r.row_no);
        out.rows.push(row);
        out.new_ids.push(r.new_id);
    }
    Ok(out)
}

/// A written row's status, record id and error text for the result file.
fn outcome(
    res: Result<Saved, Rejected<String>>,
    was_update: bool,
    counts: &mut Counts,
    row_error: fn(&Refusal) -> String,
) -> (&'static str, Option<i64>, Option<String>) {
    match res {
        Ok(s) => {
            let inserted = match &s.upserted {
                Some(u) => u.inserted,
                None => !was_update,
            };
            if inserted {
                counts.added += 1;
                ("ADDED", Some(s.id), None)
            } else {
                counts.updated += 1;
                ("UPDATED", Some(s.id), None)
            }
        }
        Err(e) => {
            counts.skipped += 1;
            let text = match e {
                Rejected::Input(text) => text,
                Rejected::Store(r) => row_error(&r),
            };
            ("SKIPPED", None, Some(text))
        }
    }
}

/// Inserts rows' outcomes (job, row, status, record, errors), many per statement.
fn save_outcomes(
    c: &mut dyn Conn,
    prefix: &str,
    results: &[[SqlValue; 5]],
) -> Result<(), StoreError> {
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
    Ok(())
}

impl OrgStore {
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
                if !hold(c, &prefix, job, node, from, ctx.now)? {
                    return Ok(false);
                }
                let m = &*module;
                let n = rows.len() as i64;
                let input = inputs(c, &prefix, m, rows, row_error)?;
                let was_update: Vec<bool> = input
                    .rows
                    .iter()
                    .map(|r| r.as_ref().is_ok_and(|w| w.id.is_some()))
                    .collect();
                let out = write_rows(c, &prefix, &catalog, m, input.rows, &ctx, input.new_ids)?;
                let mut counts = Counts::default();
                let mut results: Vec<[SqlValue; 5]> = Vec::with_capacity(out.len());
                for ((res, row_no), upd) in out.into_iter().zip(input.row_nos).zip(was_update) {
                    let (status, id, err) = outcome(res, upd, &mut counts, row_error);
                    results.push([job.into(), row_no.into(), status.into(), id.into(), err.into()]);
                }
                save_outcomes(c, &prefix, &results)?;
                c.exec(
                    &format!(
                        "UPDATE {prefix}bulk_jobs SET checkpoint = checkpoint + ?1, added = added + ?2,
                         updated = updated + ?3, skipped = skipped + ?4 WHERE id = ?5"
                    ),
                    &[n.into(), counts.added.into(), counts.updated.into(), counts.skipped.into(), job.into()],
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
}
