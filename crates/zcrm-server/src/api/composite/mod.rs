//! `POST /crm/v8/__composite_requests`: up to five API calls in one request.
//!
//! Each sub-request goes through the same router as a direct call, with the
//! caller's own token, so the auth layer checks its scope from the operation table
//! and the handler is the one a direct call reaches. With `rollback_on_fail`
//! the sub-requests run one after another inside one store session (one
//! database transaction, see `zcrm_store::session`): the first failure rolls
//! every sub-request back. Without it, independent sub-requests run in
//! parallel (unless `parallel_execution` is false) and dependent ones after
//! the sub-requests they reference.

mod parse;
mod refs;
mod run;

use super::params::json_body;
use crate::auth::Caller;
use crate::error::{json_response, HttpResult};
use crate::wire::Success;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Request};
use axum::response::Response;
use axum::{Extension, Router};
use parse::{err_at, flag, link, parse_sub};
use refs::Ref;
use run::run_one;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::time::Duration;
use tower::ServiceExt;
use zcrm_core::{ApiError, Code};

/// Zoho's cap on sub-requests per composite call.
const MAX_SUB_REQUESTS: usize = 5;

const MAX_URI: usize = 2048;

const URI_REGEX: &str = "/crm(/.*)?/v[0-9]+([.][0-9]+)?/.*";

const ID_REGEX: &str = "[a-zA-Z0-9][a-zA-Z0-9_]*";

const RESTRICTED_HEADERS: [&str; 2] = ["authorization", "x-crm-org"];

/// Records one write sub-request may carry, and one read may return (Zoho's
/// composite page: create/update/upsert/delete 1, get/search/related 25).
const WRITE_RECORDS: usize = 1;

const READ_RECORDS: u64 = 25;

/// Zoho answers REQUEST_TIMEOUT for a sub-request running over 5 minutes.
const SUB_TIMEOUT: Duration = Duration::from_secs(300);

const VERSION: u32 = 8;

/// One validated sub-request, references still unresolved.
struct Sub {
    index: usize,
    id: Option<String>,
    method: Method,
    uri: String,
    headers: Map<String, Value>,
    params: Map<String, Value>,
    body: Option<Value>,
    /// Indexes of the sub-requests this one references.
    deps: Vec<usize>,
}

/// What a sub-request came to.
#[derive(Clone)]
enum Outcome {
    /// It ran: the wrapped call's status, headers and body.
    Ran {
        status: u16,
        headers: Map<String, Value>,
        body: Value,
    },
    /// It could not run (unresolvable reference, timeout).
    Error(ApiError),
}

impl Outcome {
    fn failed(&self) -> bool {
        match self {
            Outcome::Ran { status, .. } => *status >= 400 || *status == 207,
            Outcome::Error(_) => true,
        }
    }

    fn to_json(&self) -> Value {
        match self {
            Outcome::Ran {
                status,
                headers,
                body,
            } => Success::new("composite sub request executed successfully")
                .detail(
                    "response",
                    json!({"status_code": status, "headers": headers, "body": body}),
                )
                .to_value(),
            Outcome::Error(e) => e.to_json(),
        }
    }
}

pub async fn composite(
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: Bytes,
) -> HttpResult<Response> {
    let body = json_body(&body)?;
    let rollback = flag(&body, &["rollback_on_fail"])?.unwrap_or(false);
    let parallel = flag(&body, &["parallel_execution", "concurrent_execution"])?;
    if rollback && parallel == Some(true) {
        return Err(ApiError::new(Code::AmbiguityDuringProcessing)
            .detail(
                "ambiguity_due_to",
                json!([
                    {"api_name": "rollback_on_fail", "json_path": "$.rollback_on_fail"},
                    {"api_name": "parallel_execution", "json_path": "$.parallel_execution"},
                ]),
            )
            .into());
    }
    let parallel = parallel.unwrap_or(!rollback);
    let raw = requests_of(&body)?;
    let mut subs = Vec::new();
    let mut errors = Vec::new();
    for (i, v) in raw.iter().enumerate() {
        match parse_sub(i, v) {
            Ok(s) => subs.push(s),
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        errors = duplicate_ids(&subs);
    }
    if errors.is_empty() {
        errors = link(&mut subs, &raw);
    }
    if !errors.is_empty() {
        let items: Vec<Value> = errors.iter().map(ApiError::to_json).collect();
        return Ok(json_response(
            400,
            &json!({ "__composite_requests": items }),
        ));
    }
    let auth = headers
        .get("authorization")
        .cloned()
        .ok_or_else(|| ApiError::new(Code::AuthenticationFailure))?;
    let router = super::router(caller.app.clone());
    let n = subs.len();
    let (status, items) = if rollback {
        run_in_transaction(&caller, router, auth, &subs).await?
    } else {
        let done = run_independent(router, auth, &subs, parallel).await;
        let items: Vec<Value> = (0..n).map(|i| done[&i].to_json()).collect();
        let ok = (0..n).filter(|i| !done[i].failed()).count();
        (super::params::batch_status(ok, n, 200), items)
    };
    Ok(json_response(
        status,
        &json!({ "__composite_requests": items }),
    ))
}

/// The `__composite_requests` array: one to five sub-requests.
fn requests_of(body: &Map<String, Value>) -> Result<Vec<Value>, ApiError> {
    match body.get("__composite_requests") {
        None | Some(Value::Null) => Err(ApiError::new(Code::MandatoryNotFound)
            .detail("api_name", "__composite_requests")
            .detail("json_path", "$.__composite_requests")),
        Some(Value::Array(a)) if a.is_empty() => Err(ApiError::new(Code::MandatoryNotFound)
            .detail("api_name", "__composite_requests")
            .detail("json_path", "$.__composite_requests")),
        Some(Value::Array(a)) if a.len() > MAX_SUB_REQUESTS => {
            Err(ApiError::new(Code::InvalidData)
                .detail("api_name", "__composite_requests")
                .detail("json_path", "$.__composite_requests")
                .detail("maximum_length", MAX_SUB_REQUESTS))
        }
        Some(Value::Array(a)) => Ok(a.clone()),
        Some(_) => Err(ApiError::new(Code::InvalidData)
            .detail("api_name", "__composite_requests")
            .detail("json_path", "$.__composite_requests")
            .detail("expected_data_type", "jsonarray")),
    }
}

/// `DUPLICATE_DATA` for each `sub_request_id` given twice.
fn duplicate_ids(subs: &[Sub]) -> Vec<ApiError> {
    let mut errors = Vec::new();
    let mut seen: HashMap<&str, Vec<usize>> = HashMap::new();
    for s in subs {
        if let Some(id) = &s.id {
            seen.entry(id.as_str()).or_default().push(s.index);
        }
    }
    let mut dups: Vec<&Vec<usize>> = seen.values().filter(|v| v.len() > 1).collect();
    dups.sort();
    for d in dups {
        errors.push(
            err_at(Code::DuplicateData, d[1], "sub_request_id")
                .detail("sub_request_indexes", d.clone()),
        );
    }
    errors
}

/// Execution order: each sub-request after those it references, otherwise in
/// the order given.
fn order(subs: &[Sub]) -> Vec<usize> {
    let mut out = Vec::with_capacity(subs.len());
    while out.len() < subs.len() {
        let next = subs
            .iter()
            .find(|s| !out.contains(&s.index) && s.deps.iter().all(|d| out.contains(d)));
        match next {
            Some(s) => out.push(s.index),
            None => break, // loops were refused before
        }
    }
    out
}

/// Without rollback: each sub-request commits on its own; those whose
/// references are satisfied run together when `parallel`.
async fn run_independent(
    router: Router,
    auth: HeaderValue,
    subs: &[Sub],
    parallel: bool,
) -> HashMap<usize, Outcome> {
    let mut done: HashMap<usize, Outcome> = HashMap::new();
    if !parallel {
        for i in order(subs) {
            let o = run_one(router.clone(), auth.clone(), &subs[i], subs, &done).await;
            done.insert(i, o);
        }
        return done;
    }
    while done.len() < subs.len() {
        let ready: Vec<&Sub> = subs
            .iter()
            .filter(|s| !done.contains_key(&s.index) && s.deps.iter().all(|d| done.contains_key(d)))
            .collect();
        if ready.is_empty() {
            break;
        }
        let runs = ready
            .iter()
            .map(|s| run_one(router.clone(), auth.clone(), s, subs, &done));
        let outcomes = futures::future::join_all(runs).await;
        for (s, o) in ready.iter().zip(outcomes) {
            done.insert(s.index, o);
        }
    }
    done
}

/// With rollback: every sub-request in one store session, one after another;
/// the first failure rolls them all back.
async fn run_in_transaction(
    caller: &Caller,
    router: Router,
    auth: HeaderValue,
    subs: &[Sub],
) -> Result<(u16, Vec<Value>), ApiError> {
    let session = caller.org.store.session();
    let mut done: HashMap<usize, Outcome> = HashMap::new();
    let mut ran = Vec::new();
    let mut failed_at = None;
    for i in order(subs) {
        let o = session
            .scope(run_one(router.clone(), auth.clone(), &subs[i], subs, &done))
            .await;
        let failed = o.failed();
        done.insert(i, o);
        ran.push(i);
        if failed {
            failed_at = Some(i);
            break;
        }
    }
    let committed = session
        .finish(failed_at.is_none())
        .await
        .map_err(crate::error::store)?;
    let items = (0..subs.len())
        .map(|i| match (failed_at, done.get(&i)) {
            (None, Some(o)) => o.to_json(),
            (Some(f), Some(o)) if f == i => o.to_json(),
            (Some(f), Some(_)) => ApiError::new(Code::RollbackPerformed)
                .detail("rollbacked_by_sub_request_index", f)
                .to_json(),
            (Some(f), None) => ApiError::new(Code::ProcessingStopped)
                .detail("rollbacked_by_sub_request_index", f)
                .to_json(),
            (None, None) => ApiError::internal("sub-request not run").to_json(),
        })
        .collect();
    if failed_at.is_none() && !committed {
        return Err(ApiError::internal("composite transaction did not commit"));
    }
    Ok((if failed_at.is_some() { 400 } else { 200 }, items))
}
