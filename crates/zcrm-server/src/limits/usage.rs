//! The node's background work for the limits (settings re-read, expired
//! blocks given back, usage counts written) and what the usage views show:
//! `GET /__zcrm/usage` and `zcrm admin usage`.

use super::editions::Effective;
use crate::state::App;
use axum::http::HeaderMap;
use std::sync::Arc;
use zcrm_core::ApiError;
use zcrm_store::limits::{self as store, Usage, UsageLine};

/// Background work of the limits: re-reads settings, gives back expired
/// blocks, writes usage counts.
pub async fn run(app: Arc<App>) {
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(250));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut ticks = 0u64;
    loop {
        tick.tick().await;
        let now = app.now();
        for org in app.open_orgs() {
            org.limits.refresh(&app.control, now).await;
            org.limits.ledger.expire(&app.control, now).await;
        }
        // Usage counts are written once a second (a crash loses at most that
        // much of the usage view; credits themselves are charged when reserved).
        ticks += 1;
        if ticks.is_multiple_of(4) {
            flush(&app).await;
        }
    }
}

/// Writes this node's usage counts to the database.
pub async fn flush(app: &App) {
    let now = app.now();
    for org in app.open_orgs() {
        org.limits.flush(&app.control, now).await;
    }
}

/// What `GET /__zcrm/usage` and `zcrm admin usage` show.
pub fn usage_json(eff: &Effective, usage: &Usage) -> serde_json::Value {
    let lines = |v: &[UsageLine], key: &str| {
        v.iter()
            .map(|l| {
                serde_json::json!({key: l.key, "calls": l.calls, "credits": l.credits, "refused": l.refused})
            })
            .collect::<Vec<_>>()
    };
    let used: i64 = usage.by_api.iter().map(|l| l.credits).sum();
    serde_json::json!({
        "org_id": eff.settings.org_id.to_string(),
        "edition": eff.settings.edition,
        "users": eff.settings.users,
        "limits": if eff.settings.enabled { "on" } else { "off" },
        "window": "rolling 24 hours",
        "credits": {
            "limit": eff.credits,
            "used": used,
            "remaining": (eff.credits - used).max(0),
            "overridden": eff.settings.credits_override.is_some(),
        },
        "concurrency": {
            "limit": eff.concurrency,
            "heavy_limit": eff.heavy,
            "overridden": eff.settings.concurrency_override.is_some(),
        },
        "by_api": lines(&usage.by_api, "api"),
        "by_client": lines(&usage.by_client, "client_id"),
    })
}

/// `GET /__zcrm/usage`: the caller's org's limits and its usage over the
/// window, by API and by client. Needs an access token of an Administrator
/// with `ZohoCRM.org.READ` (or `ZohoCRM.org.ALL`); not charged as a call.
pub async fn usage_endpoint(
    axum::extract::State(app): axum::extract::State<Arc<App>>,
    headers: HeaderMap,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    match usage_for(&app, &headers).await {
        Ok(v) => crate::error::json_response(200, &v),
        Err(e) => crate::error::HttpError(e).into_response(),
    }
}

async fn usage_for(app: &Arc<App>, headers: &HeaderMap) -> Result<serde_json::Value, ApiError> {
    let org = crate::auth::operator(app, headers, "ZohoCRM.org.READ", "API usage figures").await?;
    let now = app.now();
    flush(app).await;
    let usage = app
        .control
        .usage(org.org.id, store::window_floor(now))
        .await
        .map_err(crate::error::store)?;
    Ok(usage_json(&org.limits.effective(), &usage))
}
