//! Routing: one module per API area; find the handler from the URL.

mod apis;
mod attachments;
mod bulk;
mod composite;
mod composite_ref;
mod consent;
mod convert;
mod coql;
mod files;
mod html;
mod mass_update;
mod metadata;
mod notifications;
mod oauth;
mod params;
pub(crate) mod records;
mod recycle_bin;
mod related;
mod search;
mod tags;
mod users_org;

pub(crate) use bulk::{bulk_criteria, bulk_job_json};

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
    let crm = Router::new()
        .route("/crm/v8/org", get(users_org::org))
        .route("/crm/v8/users", get(users_org::users))
        .route("/crm/v8/users/:id", get(users_org::user))
        .route("/crm/v8/__apis", get(apis::list))
        .route("/crm/v8/settings/modules", get(metadata::modules))
        .route(
            "/crm/v8/settings/recycle_bin",
            get(recycle_bin::list).delete(recycle_bin::delete_many),
        )
        .route(
            "/crm/v8/settings/recycle_bin/:id",
            get(recycle_bin::get_one).delete(recycle_bin::delete_one),
        )
        .route("/crm/v8/settings/modules/:module", get(metadata::module))
        .route("/crm/v8/settings/fields", get(metadata::fields))
        .route("/crm/v8/settings/fields/:id", get(metadata::field))
        .route("/crm/v8/settings/layouts", get(metadata::layouts))
        .route("/crm/v8/settings/layouts/:id", get(metadata::layout))
        .route(
            "/crm/v8/settings/related_lists",
            get(metadata::related_lists),
        )
        .route("/crm/v8/settings/custom_views", get(metadata::custom_views))
        .route(
            "/crm/v8/settings/custom_views/:id",
            get(metadata::custom_view),
        )
        // Static segments: axum prefers them to the `:module/:id` routes below.
        .route(
            "/crm/v8/actions/watch",
            get(notifications::list)
                .post(notifications::enable)
                .put(notifications::replace)
                .patch(notifications::patch)
                .delete(notifications::disable),
        )
        .route(
            "/crm/v8/upload",
            post(bulk::upload).layer(DefaultBodyLimit::max(bulk::UPLOAD_BODY_LIMIT)),
        )
        .route("/crm/bulk/v8/write", post(bulk::create_write))
        .route("/crm/bulk/v8/write/:job_id", get(bulk::get_write))
        .route("/crm/bulk/v8/write/:job_id/result", get(bulk::write_result))
        .route("/crm/bulk/v8/read", post(bulk::create_read))
        .route("/crm/bulk/v8/read/:job_id", get(bulk::get_read))
        .route("/crm/bulk/v8/read/:job_id/result", get(bulk::read_result))
        .route(
            "/crm/v8/:module",
            get(records::list)
                .post(records::create)
                .put(records::update_many)
                .delete(records::delete_many),
        )
        .route("/crm/v8/coql", post(coql::query))
        .route(
            "/crm/v8/files",
            get(files::get)
                .post(files::upload)
                .layer(DefaultBodyLimit::max(
                    files::MAX_FILES * files::MAX_FILE + 1024 * 1024,
                )),
        )
        .route("/crm/v8/__composite_requests", post(composite::composite))
        .route("/crm/v8/:module/deleted", get(records::deleted))
        .route("/crm/v8/:module/upsert", post(records::upsert))
        .route(
            "/crm/v8/settings/tags",
            get(tags::list).post(tags::create).put(tags::update_many),
        )
        .route(
            "/crm/v8/settings/tags/:id",
            axum::routing::put(tags::update_one).delete(tags::delete),
        )
        .route("/crm/v8/settings/tags/:id/actions/merge", post(tags::merge))
        .route(
            "/crm/v8/settings/tags/:id/actions/records_count",
            get(tags::records_count),
        )
        .route(
            "/crm/v8/:module/actions/mass_update",
            post(mass_update::schedule).get(mass_update::status),
        )
        .route("/crm/v8/:module/actions/add_tags", post(tags::add_many))
        .route(
            "/crm/v8/:module/actions/remove_tags",
            post(tags::remove_many),
        )
        .route("/crm/v8/:module/:id/actions/add_tags", post(tags::add_one))
        .route(
            "/crm/v8/:module/:id/actions/clone",
            post(records::clone_record),
        )
        .route(
            "/crm/v8/:module/:id/Attachments",
            get(attachments::list)
                .post(attachments::upload)
                .delete(attachments::delete_many)
                // Zoho takes attachments up to 20 MB; leave room for the multipart framing.
                .layer(DefaultBodyLimit::max(
                    attachments::MAX_ATTACHMENT + 1024 * 1024,
                )),
        )
        .route(
            "/crm/v8/:module/:id/Attachments/:attachment_id",
            get(attachments::download).delete(attachments::delete_one),
        )
        .route(
            "/crm/v8/:module/:id/actions/remove_tags",
            post(tags::remove_one),
        )
        .route(
            "/crm/v8/:module/:id/actions/convert",
            post(convert::convert),
        )
        .route(
            "/crm/v8/:module/:id/:related",
            get(related::list)
                .put(related::link_many)
                .delete(related::unlink_many)
                .post(related::create_child),
        )
        .route(
            "/crm/v8/:module/:id/:related/:related_id",
            axum::routing::put(related::link_one).delete(related::unlink_one),
        )
        .route("/crm/v8/:module/search", get(search::search))
        .route("/crm/v8/:module/actions/count", get(search::count))
        .route(
            "/crm/v8/:module/:id",
            get(records::get_one)
                .put(records::update_one)
                .delete(records::delete_one),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            app.clone(),
            auth::layer,
        ));
    Router::new()
        .route("/__zcrm/health", get(health))
        .route("/__zcrm/clock/advance", post(advance_clock))
        .route("/__zcrm/deliveries", get(deliveries))
        .route("/__zcrm/usage", get(crate::limits::usage_endpoint))
        .route("/oauth/v2/auth", get(consent::show).post(consent::decide))
        .route("/oauth/v2/token", post(oauth::token))
        .route("/oauth/v2/token/revoke", post(oauth::revoke))
        .merge(crm)
        .fallback(not_found)
        .method_not_allowed_fallback(wrong_method)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(app)
}

/// Liveness: answers without touching the database.
async fn health() -> Response {
    json_response(200, &serde_json::json!({"status": "ok"}))
}

/// Moves the server's clock forward (only with `--test-clock`), so expiry can be
/// tested without waiting.
async fn advance_clock(
    State(app): State<Arc<App>>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, HttpError> {
    if !app.config.test_clock {
        return Err(ApiError::new(Code::InvalidUrlPattern).into());
    }
    let secs: i64 = q
        .get("seconds")
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| ApiError::invalid_param("seconds"))?;
    app.clock.advance(secs * 1000);
    Ok(json_response(200, &serde_json::json!({"now": app.now()})))
}

async fn not_found() -> Response {
    HttpError(ApiError::new(Code::InvalidUrlPattern)).into_response()
}

async fn wrong_method() -> Response {
    HttpError(ApiError::new(Code::InvalidRequestMethod)).into_response()
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
