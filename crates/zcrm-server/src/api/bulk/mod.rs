//! Bulk APIs: `POST /crm/v8/upload` (a ZIP holding one CSV), bulk write jobs
//! (`/crm/bulk/v8/write[/{job_id}[/result]]`) and bulk read jobs
//! (`/crm/bulk/v8/read[/{job_id}[/result]]`). The work itself is `service::bulk`.

mod body;
mod read;
mod upload;
mod write;

pub use read::{create_read, get_read, read_result};
pub use upload::{upload, UPLOAD_BODY_LIMIT};
pub use write::{create_write, get_write, write_result};

use super::params::json_body;
use crate::auth::Caller;
use crate::error::{json_response, HttpError, HttpResult};
use crate::service::bulk::{
    self as work, read_json, time, user_json, write_json, Mapping, ReadReq, WriteSpec,
};
use crate::state::App;
use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Path, Request};
use axum::http::{header, HeaderMap};
use axum::response::Response;
use axum::Extension;
use serde_json::{json, Map, Value};
use std::sync::Arc;
use zcrm_core::meta::{DataType, Module};
use zcrm_core::scope::{Op, Scope};
use zcrm_core::{ApiError, Code};
use zcrm_store::bulk::{BulkFile, BulkJob, LimitHit, Limits, NewJob};

pub(super) fn missing_key(key: &str) -> ApiError {
    ApiError::new(Code::MissingRequiredKey)
        .detail("api_name", key)
        .message(format!("required key {key} is not found in request body."))
}

pub(super) fn invalid(key: &str, why: &str) -> ApiError {
    ApiError::new(Code::InvalidData)
        .detail("api_name", key)
        .message(why)
}

/// `callback: {url, method}`: an http(s) URL that may be called (the
/// private-target guard as for notifications) and `post`.
pub(super) fn callback(
    cb: Option<&body::Callback>,
    app: &App,
) -> Result<Option<(String, Value)>, ApiError> {
    let Some(cb) = cb else {
        return Ok(None);
    };
    let url = cb.url.as_deref().unwrap_or("").trim();
    let url_ok = url::Url::parse(url)
        .ok()
        .is_some_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
    if !url_ok || url.len() > 1024 {
        return Err(ApiError::new(Code::InvalidCallbackUrl).detail("api_name", "url"));
    }
    if let Err(why) = crate::outbound::check_url(url, app.allow_private_webhooks) {
        return Err(ApiError::new(Code::InvalidCallbackUrl)
            .detail("api_name", "url")
            .message(why));
    }
    let method = cb.method.as_deref().unwrap_or("");
    if !method.eq_ignore_ascii_case("post") {
        return Err(ApiError::new(Code::InvalidCallbackMethod)
            .detail("supported_callback_methods", json!(["post"])));
    }
    Ok(Some((
        url.to_string(),
        json!({"url": url, "method": "post"}),
    )))
}

/// The body as sent (kept with the job, as Zoho echoes it) and typed.
pub(super) fn bodies<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
) -> Result<(Map<String, Value>, T), ApiError> {
    let raw = json_body(bytes)?;
    let typed = crate::wire::body::decode_at(&Value::Object(raw.clone()), "$")?;
    Ok((raw, typed))
}

pub(super) fn limits(app: &App) -> Limits {
    Limits {
        concurrent: app.config.bulk.concurrent_jobs,
        per_day: app.config.bulk.jobs_per_day,
    }
}

pub(super) fn limit_error(hit: LimitHit) -> ApiError {
    match hit {
        LimitHit::Concurrent(n) => ApiError::new(Code::TooManyRequests)
            .detail("limit", n)
            .message(format!("at most {n} bulk jobs may be in progress at once")),
        LimitHit::Daily(n) => ApiError::new(Code::LimitExceeded)
            .detail("limit", n)
            .message(format!("at most {n} bulk jobs may be created in 24 hours")),
    }
}

pub(super) fn job_id(raw: &str) -> Result<i64, ApiError> {
    zcrm_core::ids::parse_id_str(raw).ok_or_else(not_found)
}

pub(super) fn not_found() -> ApiError {
    ApiError::new(Code::ResourceNotFound)
        .detail("resource", "job_id")
        .message("The requested resource doesn't exist.")
}

pub(super) fn module_scope(caller: &Caller, m: &Module, op: Op) -> Result<(), ApiError> {
    let wanted = Scope::crm(&["modules", &m.scope_name()], op);
    if caller.scopes.allows(&wanted) {
        Ok(())
    } else {
        Err(ApiError::new(Code::OauthScopeMismatch))
    }
}

pub(super) fn module_of(
    caller: &Caller,
    v: Option<&body::ModuleRef>,
) -> Result<Arc<Module>, ApiError> {
    let name = v
        .and_then(body::ModuleRef::name)
        .ok_or_else(|| missing_key("module"))?;
    caller.app.catalog.module(name).cloned().ok_or_else(|| {
        ApiError::new(Code::ModuleNotAvailable)
            .detail("api_name", "module")
            .message(format!("Requested module '{name}' is not available."))
    })
}

/// A finished job's result file, streamed as Zoho's ZIP download.
pub(super) async fn download(caller: &Caller, job: Option<BulkJob>) -> HttpResult<Response> {
    let job = job.ok_or_else(not_found)?;
    let key = job
        .result_key
        .filter(|_| job.state == "COMPLETED")
        .ok_or_else(not_found)?;
    let data = caller.app.files.get(&key).await?.ok_or_else(not_found)?;
    Ok(crate::wire::download::attachment(
        data,
        "application/zip",
        &format!("{}.zip", job.id),
    ))
}

pub(super) fn require_json(headers: &HeaderMap) -> Result<(), ApiError> {
    match headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    {
        Some(ct) if ct.to_ascii_lowercase().contains("json") => Ok(()),
        Some(_) | None => Err(ApiError::new(Code::MediaTypeNotSupported)
            .message("The Content-Type must be application/json")),
    }
}

/// Creates a job (its id and time given here) within the org's bulk limits
/// and starts it; the job's id and creation time.
pub(super) async fn start_job(caller: &Caller, mut job: NewJob) -> Result<(i64, i64), HttpError> {
    let app = &caller.app;
    let now = app.now();
    job.id = app.ids.next(now);
    job.created_time = now;
    let (id, kind) = (job.id, job.kind);
    caller
        .org
        .store
        .create_bulk_job(job, limits(app))
        .await?
        .map_err(limit_error)?;
    work::spawn_job(app.clone(), caller.org.clone(), id, kind.into());
    Ok((id, now))
}
