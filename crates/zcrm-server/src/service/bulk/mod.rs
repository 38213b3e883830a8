//! Bulk jobs' work: reading uploaded ZIPs (one CSV, streamed, bounded:
//! `archive`), jobs as resolved when created (`spec`), running write and read
//! jobs in batches (`write`, `read`), the job as Zoho renders it
//! (`job_json`, for the API and callbacks), and sending callbacks with
//! retries. The HTTP side is `api/bulk.rs`.

mod archive;
mod job_json;
mod read;
mod spec;
mod write;

pub use archive::{archive, inspect};
pub use job_json::{read_json, time, user_json, write_json};
use read::run_read;
pub use spec::{read_spec, read_spec_for, Mapping, ReadReq, WriteSpec};
use write::run_write;

use crate::service::records::{check_record, Mode};
use crate::state::{App, OrgCtx};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::cell::Cell;
use std::io::{Cursor, Read, Write};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;
use zcrm_core::meta::{DataType, Module};
use zcrm_core::query::{Column, Filter, UserInfo};
use zcrm_core::value::{format_datetime, SqlValue};
use zcrm_core::{ApiError, Code};
use zcrm_store::bulk::{BatchRow, ReadSpec, COMPLETED};
use zcrm_store::records::{WriteCtx, WriteRow};

/// Zoho's upload limit: a ZIP of at most 25 MB.
pub const MAX_ZIP_BYTES: usize = 25 * 1024 * 1024;

/// Most CSV bytes one ZIP may unpack to: a ZIP bomb stops here.
pub const MAX_CSV_BYTES: u64 = 256 * 1024 * 1024;

/// Zoho's column limit.
pub const MAX_COLUMNS: usize = 200;

/// Rows per write transaction.
pub(super) const WRITE_BATCH: usize = 5_000;

/// Records per bulk-read page (Zoho: 200,000).
pub const READ_PAGE: i64 = 200_000;

/// Records read from the database at a time while building a read result.
pub(super) const READ_CHUNK: i64 = 20_000;

/// Callback attempts: the first and 5 retries.
const CALLBACK_ATTEMPTS: i64 = 6;

/// Runs one job until it ends (or another node holds it).
pub fn spawn_job(app: Arc<App>, org: Arc<OrgCtx>, job: i64, kind: String) {
    if !app.claim_local(job) {
        return;
    }
    tokio::spawn(async move {
        let r = match kind.as_str() {
            "write" => run_write(&app, &org, job).await,
            _ => run_read(&app, &org, job).await,
        };
        if let Err(e) = r {
            // The database may be restarting: the sweep picks the job up again.
            tracing::warn!("bulk job {job}: {e}");
        }
        app.release_local(job);
    });
}

pub(super) fn store_err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

pub(super) async fn fail(app: &App, org: &OrgCtx, job: i64, why: &str) -> Result<(), String> {
    let error = json!({"code": "INTERNAL_ERROR", "message": why}).to_string();
    org.store
        .finish_bulk_job(
            job,
            app.node,
            "FAILED",
            None,
            0,
            false,
            Some(error),
            app.now(),
        )
        .await
        .map_err(store_err)?;
    Ok(())
}

/// Every few seconds: unfinished jobs of every org (a restart, a dead node),
/// and due callbacks.
pub async fn sweep(app: Arc<App>) {
    let client = crate::outbound::guarded_client(app.allow_private_webhooks, "zcrm-bulk");
    loop {
        for org in app.open_orgs() {
            if let Ok(jobs) = org.store.pending_bulk_jobs().await {
                for (job, kind) in jobs {
                    spawn_job(app.clone(), org.clone(), job, kind);
                }
            }
            if let Some(client) = &client {
                send_callbacks(&app, &org, client).await;
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
            _ = app.bulk_wake.notified() => {}
        }
    }
}

async fn send_callbacks(app: &Arc<App>, org: &Arc<OrgCtx>, client: &reqwest::Client) {
    let now = app.now();
    let Ok(due) = org.store.claim_bulk_callbacks(now, 60_000, 50).await else {
        return;
    };
    for job in due {
        let Some(url) = job.callback_url.clone() else {
            continue;
        };
        let body = job_json::bulk_job_json(app, org, &job);
        let sent = match crate::outbound::check_url(&url, app.allow_private_webhooks) {
            Err(e) => Err(e),
            Ok(()) => match client
                .post(&url)
                .header("content-type", "application/json")
                .body(body.to_string())
                .send()
                .await
            {
                Ok(r) if r.status().is_success() => Ok(()),
                Ok(r) => Err(format!("HTTP {}", r.status().as_u16())),
                Err(e) => Err(e.to_string()),
            },
        };
        let attempts = job.callback_attempts + 1;
        let (state, next) = match sent {
            Ok(()) => ("sent", 0),
            Err(e) if attempts < CALLBACK_ATTEMPTS => {
                tracing::info!("bulk job {} callback failed: {e}", job.id);
                ("pending", app.now() + crate::notify::backoff_ms(attempts))
            }
            Err(e) => {
                tracing::warn!("bulk job {} callback given up: {e}", job.id);
                ("dead", 0)
            }
        };
        let _ = org
            .store
            .finish_bulk_callback(job.id, attempts, state, next)
            .await;
    }
}
