//! Mass update: checking a job's criteria, scheduling it, and running it.
//! Jobs are rows in the database; a node works on a job it holds the lease
//! of, and a sweep picks up jobs left behind (a restart, another node that
//! died) once their lease has run out.

use crate::auth::Caller;
use crate::state::{App, OrgCtx};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use zcrm_core::meta::Module;
use zcrm_core::query::{criteria, json_criteria, modules_reached};
use zcrm_core::scope::Op;
use zcrm_core::value::SqlValue;
use zcrm_core::{ApiError, Code};
use zcrm_store::mass_update::{MassSpec, Step};
use zcrm_store::records::WriteCtx;

/// Which records a job updates: `ids`, or those of a view's `owner`, and/or
/// those matching `criteria` (as `checked_criteria` returned it).
pub struct Selection {
    pub ids: Option<Vec<i64>>,
    pub owner: Option<i64>,
    pub criteria: Option<String>,
}

/// Schedules a job setting `values` on the selected records and starts it;
/// the job's id.
pub async fn schedule(
    caller: &Caller,
    m: &Module,
    values: Vec<(usize, SqlValue)>,
    sel: Selection,
) -> Result<i64, ApiError> {
    let now = caller.app.now();
    let job = caller.app.ids.next(now);
    let spec = MassSpec {
        values,
        ids: sel.ids,
        owner: sel.owner,
        user: caller.user_id,
        criteria: sel.criteria,
    };
    caller
        .org
        .store
        .schedule_mass_update(m.api_name.clone(), job, spec, now)
        .await
        .map_err(crate::error::store)?;
    spawn_mass_update(caller.app.clone(), caller.org.clone(), job);
    Ok(job)
}

/// Works on one job until it is done (or held by another node).
pub fn spawn_mass_update(app: Arc<App>, org: Arc<OrgCtx>, job: i64) {
    if !app.claim_local(job) {
        return;
    }
    tokio::spawn(async move {
        let mut failures = 0;
        loop {
            let ctx = WriteCtx {
                now: app.now(),
                user: 0,
                users: org.user_ids(),
            };
            match org.store.mass_update_step(job, app.node, ctx).await {
                Ok(Step::More) => failures = 0,
                Ok(Step::Done) => break,
                Err(e) => {
                    // The database may be restarting: back off; the sweep retries later.
                    tracing::warn!("mass update {job}: {e}");
                    failures += 1;
                    if failures > 5 {
                        break;
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
        app.release_local(job);
    });
}

/// Every few seconds, picks up unfinished jobs of every open org.
pub async fn sweep(app: Arc<App>) {
    loop {
        for org in app.open_orgs() {
            if let Ok(jobs) = org.store.pending_mass_updates().await {
                for job in jobs {
                    spawn_mass_update(app.clone(), org.clone(), job);
                }
            }
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
}

/// `criteria` as the search API writes it (a string), or Zoho's JSON
/// criteria (what the SDKs send), checked now rather than in the job. The job
/// keeps it as given: search text, or the JSON's text.
///
/// Criteria choose records by their values, which the job's counts then
/// reveal: they need READ on the module and on every module a condition
/// follows a lookup into. Those are known only from the body, so they are
/// checked here; the operation's row needs the module's UPDATE.
pub fn checked_criteria(caller: &Caller, m: &Arc<Module>, c: &Value) -> Result<String, ApiError> {
    let catalog = caller.org.store.catalog();
    caller.require(std::slice::from_ref(m), Op::Read)?;
    let (filter, kept) = match c {
        Value::String(s) if !s.trim().is_empty() => {
            let f = criteria::parse(catalog, m, s).map_err(|e| {
                e.detail("api_name", "criteria")
                    .detail("json_path", "$.criteria")
            })?;
            (f, s.clone())
        }
        Value::Object(_) | Value::Array(_) => (json_criteria::parse(catalog, m, c)?, c.to_string()),
        _ => {
            return Err(ApiError::new(Code::InvalidData)
                .detail("api_name", "criteria")
                .detail("json_path", "$.criteria"))
        }
    };
    caller.require(
        &modules_reached(m, std::iter::empty(), Some(&filter)),
        Op::Read,
    )?;
    Ok(kept)
}
