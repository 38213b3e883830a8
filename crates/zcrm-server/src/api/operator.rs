//! zcrm's own operator endpoints outside `/crm` (`/__zcrm/usage`): an
//! Administrator's view of their org, not charged as calls.

use crate::state::App;
use axum::http::HeaderMap;
use std::sync::Arc;
use zcrm_core::ApiError;
use zcrm_store::limits as store;

/// `GET /__zcrm/usage`: the caller's org's limits and its usage over the
/// window, by API and by client. Needs an access token of an Administrator
/// with `ZohoCRM.org.READ` (or `ZohoCRM.org.ALL`); not charged as a call.
pub async fn usage(
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
    crate::admission::flush(app).await;
    let usage = app
        .control
        .usage(org.org.id, store::window_floor(now))
        .await
        .map_err(crate::error::store)?;
    let mut out = crate::limits::usage_json(&org.limits.effective(), &usage);
    // What this node has in flight now, per app: where a 429 for
    // concurrency comes from.
    out["concurrency"]["in_flight"] = org
        .limits
        .slots
        .in_flight()
        .into_iter()
        .map(|(client, calls, heavy)| {
            serde_json::json!({"client_id": client, "calls": calls, "heavy_calls": heavy})
        })
        .collect();
    Ok(out)
}
