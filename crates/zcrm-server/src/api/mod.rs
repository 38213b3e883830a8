//! Routing: one module per API area; find the handler from the URL.

mod apis;
mod attachments;
mod bulk;
mod composite;
mod consent;
mod convert;
mod coql;
mod files;
mod html;
mod mass_update;
mod metadata;
mod notifications;
mod oauth;
mod operator;
mod params;
pub(crate) mod records;
mod recycle_bin;
mod related;
mod routes;
mod search;
mod tags;
mod users_org;

use crate::auth;
use crate::error::{json_response, HttpError};
use crate::state::App;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use std::collections::HashMap;
use std::sync::Arc;
use zcrm_core::{ApiError, Code};

/// Zoho accepts up to 100 records of up to 32,000 characters each in one call.
const BODY_LIMIT: usize = 16 * 1024 * 1024;

pub fn router(app: Arc<App>) -> Router {
    let crm = routes::crm(&app);
    Router::new()
        .route("/__zcrm/health", get(health))
        .route("/__zcrm/clock/advance", post(advance_clock))
        .route("/__zcrm/deliveries", get(deliveries))
        .route("/__zcrm/usage", get(operator::usage))
        .route(
            "/oauth/v2/auth",
            get(consent::show)
                .post(consent::decide)
                .layer(DefaultBodyLimit::max(oauth::OAUTH_BODY_LIMIT)),
        )
        .route(
            "/oauth/v2/token",
            post(oauth::token).layer(DefaultBodyLimit::max(oauth::OAUTH_BODY_LIMIT)),
        )
        .route(
            "/oauth/v2/token/revoke",
            post(oauth::revoke).layer(DefaultBodyLimit::max(oauth::OAUTH_BODY_LIMIT)),
        )
        .merge(crm)
        .fallback(not_found)
        .method_not_allowed_fallback(wrong_method)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::middleware::map_response(nosniff))
        .with_state(app)
}

/// No answer is sniffed into another type by a browser (an uploaded file
/// served as `text/plain` stays text).
async fn nosniff(mut r: Response) -> Response {
    r.headers_mut().insert(
        axum::http::header::X_CONTENT_TYPE_OPTIONS,
        axum::http::HeaderValue::from_static("nosniff"),
    );
    r
}

/// Liveness: answers without touching the database.
async fn health() -> Response {
    json_response(200, &serde_json::json!({"status": "ok"}))
}

/// Most one call moves the clock: a year and a day.
const MAX_CLOCK_STEP_SECS: i64 = 366 * 86_400;

/// Moves the server's clock forward, so expiry can be tested without
/// waiting: only with `--test-clock`, only for an Administrator's token with
/// `ZohoCRM.org.ALL`, only forward and by at most a year at a time (time
/// going back would revive expired tokens and leases).
async fn advance_clock(
    State(app): State<Arc<App>>,
    headers: axum::http::HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, HttpError> {
    if !app.config.test_clock {
        return Err(ApiError::new(Code::InvalidUrlPattern).into());
    }
    auth::operator(&app, &headers, "ZohoCRM.org.ALL", "clock changes").await?;
    let secs: i64 = q
        .get("seconds")
        .and_then(|s| s.parse().ok())
        .filter(|s| (1..=MAX_CLOCK_STEP_SECS).contains(s))
        .ok_or_else(|| ApiError::invalid_param("seconds"))?;
    app.clock.advance(secs * 1000);
    Ok(json_response(200, &serde_json::json!({"now": app.now()})))
}

async fn not_found() -> Response {
    HttpError(ApiError::new(Code::InvalidUrlPattern)).into_response()
}

/// The path is a route's but not the method's: `INVALID_REQUEST_METHOD` when
/// some operation has this path, else (a placeholder took one of Zoho's fixed
/// words, as in `/crm/v8/settings/roles`) `INVALID_URL_PATTERN`.
async fn wrong_method(uri: axum::http::Uri) -> Response {
    let code = if crate::ops::path_known(uri.path()) {
        Code::InvalidRequestMethod
    } else {
        Code::InvalidUrlPattern
    };
    HttpError(ApiError::new(code)).into_response()
}

/// Every webhook delivery attempt of the caller's org, newest first
/// (`?event_id=<org>-<n>`, `?limit=`): status, latency, error, and the event's
/// state now. Needs an Administrator's token with `ZohoCRM.notifications.READ`.
async fn deliveries(
    State(app): State<Arc<App>>,
    headers: axum::http::HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, HttpError> {
    let org = crate::auth::operator(
        &app,
        &headers,
        "ZohoCRM.notifications.READ",
        "webhook deliveries",
    )
    .await?;
    let limit = params::int_param(&q, "limit", 200, 10_000)? as i64;
    let event = match q.get("event_id").filter(|s| !s.is_empty()) {
        None => None,
        Some(w) => match w.split_once('-') {
            Some((o, n)) if o == org.org.id.to_string() => Some(
                n.parse::<i64>()
                    .map_err(|_| ApiError::invalid_param("event_id"))?,
            ),
            // Another org's event: as good as unknown.
            _ => {
                return Ok(json_response(
                    200,
                    &serde_json::json!({"deliveries": [], "pending_events": 0}),
                ))
            }
        },
    };
    let pending = org.store.pending_events().await?;
    let out: Vec<serde_json::Value> = org
        .store
        .attempts(event, limit)
        .await?
        .iter()
        .map(|a| crate::notify::attempt_json(org.org.id, a))
        .collect();
    Ok(json_response(
        200,
        &serde_json::json!({"deliveries": out, "pending_events": pending}),
    ))
}
