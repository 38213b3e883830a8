//! Background work of a node. Mass update jobs are rows in the database; a
//! node works on a job it holds the lease of, and a sweep picks up jobs left
//! behind (a restart, another node that died) once their lease has run out.

use crate::state::{App, OrgCtx};
use std::sync::Arc;
use std::time::Duration;
use zcrm_store::mass_update::Step;
use zcrm_store::records::WriteCtx;

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
