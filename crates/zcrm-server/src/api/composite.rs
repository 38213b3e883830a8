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

use super::composite_ref::{self as refs, Ref};
use super::params::json_body;
use crate::auth::Caller;
use crate::error::{json_response, HttpResult};
use crate::wire::Success;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Request};
use axum::response::Response;
use axum::{Extension, Router};
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

fn at(i: usize, key: &str) -> String {
    format!("$.__composite_requests[{i}].{key}")
}

fn err_at(code: Code, i: usize, key: &str) -> ApiError {
    ApiError::new(code)
        .detail("api_name", key)
        .detail("json_path", at(i, key))
}

/// Zoho's uri pattern, whole-string: `/crm`, any path, then `/v<n>[.<m>]/` and the rest.
fn uri_matches(uri: &str) -> bool {
    let Some(rest) = uri.strip_prefix("/crm") else {
        return false;
    };
    if !(rest.is_empty() || rest.starts_with('/')) {
        return false;
    }
    rest.match_indices("/v").any(|(k, _)| {
        let tail = &rest[k + 2..];
        let digits = tail.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return false;
        }
        let mut tail = &tail[digits..];
        if let Some(t) = tail.strip_prefix('.') {
            let d = t.bytes().take_while(u8::is_ascii_digit).count();
            if d == 0 {
                return false;
            }
            tail = &t[d..];
        }
        tail.starts_with('/')
    })
}

/// Whether an operation may be a sub-request (Zoho's composite page, "Allowed
/// APIs", as the operation table marks it). A path no operation has is left
/// to the router, which answers it as a direct call would.
fn allowed_in_composite(method: &Method, path: &str) -> bool {
    let Some(m) = crate::ops::Method::of(method.as_str()) else {
        return false;
    };
    // `/crm/v8/…` in the sub-request; the table's paths carry the same prefix.
    crate::ops::matching(m, path).is_none_or(|op| op.composite)
}

/// The version a sub-request's uri names (`/crm/v8/…` → 8).
fn uri_version(uri: &str) -> Option<u32> {
    let seg = uri.strip_prefix("/crm/")?.split('/').next()?;
    seg.strip_prefix('v')?.split('.').next()?.parse().ok()
}

fn param_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Array(a) => a
            .iter()
            .map(param_text)
            .collect::<Option<Vec<_>>>()
            .map(|v| v.join(",")),
        _ => None,
    }
}

fn flag(body: &Map<String, Value>, keys: &[&str]) -> Result<Option<bool>, ApiError> {
    for k in keys {
        match body.get(*k) {
            None | Some(Value::Null) => continue,
            Some(Value::Bool(b)) => return Ok(Some(*b)),
            Some(_) => {
                return Err(ApiError::new(Code::InvalidData)
                    .detail("api_name", *k)
                    .detail("json_path", format!("$.{k}"))
                    .detail("expected_data_type", "boolean"))
            }
        }
    }
    Ok(None)
}

/// Checks one sub-request's shape; references are checked once all ids are known.
fn parse_sub(i: usize, v: &Value) -> Result<Sub, ApiError> {
    let o = v.as_object().ok_or_else(|| {
        ApiError::new(Code::InvalidData)
            .detail("api_name", "__composite_requests")
            .detail("json_path", format!("$.__composite_requests[{i}]"))
            .detail("expected_data_type", "jsonobject")
    })?;
    let method = match o.get("method") {
        None | Some(Value::Null) => return Err(err_at(Code::MandatoryNotFound, i, "method")),
        Some(Value::String(s))
            if ["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&s.as_str()) =>
        {
            Method::from_bytes(s.as_bytes()).map_err(|_| err_at(Code::InvalidData, i, "method"))?
        }
        Some(_) => {
            return Err(err_at(Code::InvalidData, i, "method").detail(
                "supported_values",
                json!(["GET", "POST", "PUT", "PATCH", "DELETE"]),
            ))
        }
    };
    let uri = match o.get("uri") {
        None | Some(Value::Null) => return Err(err_at(Code::MandatoryNotFound, i, "uri")),
        Some(Value::String(s)) if s.len() <= MAX_URI && uri_matches(s) => s.clone(),
        Some(Value::String(s)) if s.len() > MAX_URI => {
            return Err(err_at(Code::InvalidData, i, "uri").detail("maximum_length", MAX_URI))
        }
        Some(_) => {
            return Err(err_at(Code::InvalidData, i, "uri")
                .detail("expected_data_type", "text")
                .detail("regex", URI_REGEX))
        }
    };
    match uri_version(&uri) {
        Some(VERSION) => {}
        v => {
            return Err(err_at(Code::NotSupported, i, "uri")
                .detail(
                    "sub_request_version",
                    v.map(Value::from).unwrap_or(Value::Null),
                )
                .detail("composite_request_version", VERSION))
        }
    }
    let path = uri.split('?').next().unwrap_or("").trim_end_matches('/');
    if !allowed_in_composite(&method, path) {
        return Err(err_at(Code::NotSupported, i, "uri"));
    }
    let id = match o.get("sub_request_id") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.len() <= 100 && refs::valid_id(s) => Some(s.clone()),
        Some(_) => {
            return Err(err_at(Code::InvalidData, i, "sub_request_id").detail("regex", ID_REGEX))
        }
    };
    let object = |key: &str| -> Result<Map<String, Value>, ApiError> {
        match o.get(key) {
            None | Some(Value::Null) => Ok(Map::new()),
            Some(Value::Object(m)) => Ok(m.clone()),
            Some(_) => {
                Err(err_at(Code::InvalidData, i, key).detail("expected_data_type", "jsonobject"))
            }
        }
    };
    let headers = object("headers")?;
    let restricted: Vec<&str> = RESTRICTED_HEADERS
        .into_iter()
        .filter(|r| headers.keys().any(|k| k.eq_ignore_ascii_case(r)))
        .collect();
    if !restricted.is_empty() {
        return Err(
            err_at(Code::NotSupported, i, "headers").detail("restricted_headers", restricted)
        );
    }
    if headers.values().any(|v| !v.is_string()) {
        return Err(err_at(Code::InvalidData, i, "headers").detail("expected_data_type", "text"));
    }
    let params = object("params")?;
    if params.values().any(|v| param_text(v).is_none()) {
        return Err(err_at(Code::InvalidData, i, "params").detail("expected_data_type", "text"));
    }
    let body = match o.get("body") {
        None | Some(Value::Null) => None,
        Some(v @ Value::Object(_)) => Some(v.clone()),
        Some(_) => {
            return Err(
                err_at(Code::InvalidData, i, "body").detail("expected_data_type", "jsonobject")
            )
        }
    };
    // Delete APIs take record ids in the URL only (Zoho's composite page).
    let query_ids = uri
        .split_once('?')
        .is_some_and(|(_, q)| q.split('&').any(|p| p.split('=').next() == Some("ids")));
    if method == Method::DELETE && (params.contains_key("ids") || query_ids) {
        return Err(err_at(Code::NotSupported, i, "params").detail("restricted_params", ["ids"]));
    }
    if method != Method::GET {
        for key in ["data", "tags"] {
            if let Some(Value::Array(a)) = body.as_ref().and_then(|b| b.get(key)) {
                if a.len() > WRITE_RECORDS {
                    return Err(ApiError::new(Code::LimitExceeded)
                        .detail("api_name", key)
                        .detail(
                            "json_path",
                            format!("$.__composite_requests[{i}].body.{key}"),
                        )
                        .detail("limit", WRITE_RECORDS));
                }
            }
        }
    }
    Ok(Sub {
        index: i,
        id,
        method,
        uri,
        headers,
        params,
        body,
        deps: Vec::new(),
    })
}

/// Every reference a sub-request makes, with the key it sits under.
fn sub_refs(o: &Value) -> Result<Vec<(&'static str, Ref)>, (&'static str, String)> {
    let mut out = Vec::new();
    for key in ["uri", "params", "headers", "body"] {
        let mut found = Vec::new();
        if let Some(v) = o.get(key) {
            refs::refs_in(v, &mut found).map_err(|bad| (key, bad))?;
        }
        out.extend(found.into_iter().map(|r| (key, r)));
    }
    Ok(out)
}

/// Links each sub-request to the ones it references; refuses unknown ids and loops.
fn link(subs: &mut [Sub], raw: &[Value]) -> Vec<ApiError> {
    let ids: HashMap<String, usize> = subs
        .iter()
        .filter_map(|s| s.id.clone().map(|id| (id, s.index)))
        .collect();
    let mut errors = Vec::new();
    for s in subs.iter_mut() {
        match sub_refs(&raw[s.index]) {
            Err((key, bad)) => {
                errors.push(err_at(Code::InvalidReference, s.index, key).detail("reference", bad))
            }
            Ok(found) => {
                for (key, r) in found {
                    match ids.get(&r.id) {
                        Some(&d) => {
                            if !s.deps.contains(&d) {
                                s.deps.push(d);
                            }
                        }
                        None => errors.push(
                            err_at(Code::InvalidReference, s.index, key)
                                .detail("reference", r.text),
                        ),
                    }
                }
            }
        }
    }
    if !errors.is_empty() {
        return errors;
    }
    // A loop: some sub-request reaches itself through its references.
    let deps: Vec<Vec<usize>> = subs.iter().map(|s| s.deps.clone()).collect();
    for s in subs.iter() {
        let mut seen = vec![false; subs.len()];
        let mut stack = deps[s.index].clone();
        let mut cycle = false;
        while let Some(d) = stack.pop() {
            if d == s.index {
                cycle = true;
                break;
            }
            if !std::mem::replace(&mut seen[d], true) {
                stack.extend(&deps[d]);
            }
        }
        if cycle {
            let mut members: Vec<usize> = (0..subs.len())
                .filter(|&j| j == s.index || (seen[j] && reaches(&deps, j, s.index)))
                .collect();
            members.sort_unstable();
            errors.push(
                err_at(Code::LoopingFound, s.index, "sub_request_id")
                    .detail("sub_request_indexes", members),
            );
            break;
        }
    }
    errors
}

fn reaches(deps: &[Vec<usize>], from: usize, to: usize) -> bool {
    let mut seen = vec![false; deps.len()];
    let mut stack = vec![from];
    while let Some(n) = stack.pop() {
        for &d in &deps[n] {
            if d == to {
                return true;
            }
            if !std::mem::replace(&mut seen[d], true) {
                stack.push(d);
            }
        }
    }
    false
}

/// Runs one sub-request through the router with its references resolved.
async fn run_one(
    router: Router,
    auth: HeaderValue,
    sub: &Sub,
    subs: &[Sub],
    done: &HashMap<usize, Outcome>,
) -> Outcome {
    let lookup = |id: &str| -> Option<Value> {
        let dep = subs.iter().find(|s| s.id.as_deref() == Some(id))?;
        match done.get(&dep.index)? {
            Outcome::Ran { body, .. } => Some(body.clone()),
            Outcome::Error(_) => None,
        }
    };
    let unresolved = |key: &str, reference: String| {
        Outcome::Error(
            err_at(Code::InvalidReference, sub.index, key).detail("reference", reference),
        )
    };
    let uri = match refs::substitute_str(&sub.uri, &lookup) {
        Ok(u) => u,
        Err(r) => return unresolved("uri", r),
    };
    let mut query: Vec<(String, String)> = Vec::new();
    for (k, v) in &sub.params {
        match refs::substitute(v, &lookup) {
            Ok(v) => query.push((k.clone(), param_text(&v).unwrap_or_default())),
            Err(r) => return unresolved("params", r),
        }
    }
    if sub.method == Method::GET && !query.iter().any(|(k, _)| k == "per_page") {
        let in_uri = uri
            .split_once('?')
            .is_some_and(|(_, q)| q.contains("per_page="));
        if !in_uri {
            query.push(("per_page".into(), READ_RECORDS.to_string()));
        }
    }
    if let Some((_, pp)) = query.iter().find(|(k, _)| k == "per_page") {
        if pp.parse::<u64>().is_ok_and(|n| n > READ_RECORDS) {
            return Outcome::Error(
                ApiError::new(Code::LimitExceeded)
                    .detail("api_name", "per_page")
                    .detail("json_path", at(sub.index, "params.per_page"))
                    .detail("limit", READ_RECORDS),
            );
        }
    }
    let body = match sub.body.as_ref().map(|b| refs::substitute(b, &lookup)) {
        None => None,
        Some(Ok(b)) => Some(b),
        Some(Err(r)) => return unresolved("body", r),
    };
    let mut full = uri;
    if !query.is_empty() {
        let qs = serde_urlencoded::to_string(&query).unwrap_or_default();
        full.push(if full.contains('?') { '&' } else { '?' });
        full.push_str(&qs);
    }
    let mut req = Request::builder().method(sub.method.clone()).uri(&full);
    for (k, v) in &sub.headers {
        let text = match refs::substitute_str(v.as_str().unwrap_or(""), &lookup) {
            Ok(t) => t,
            Err(r) => return unresolved("headers", r),
        };
        match (
            HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(&text),
        ) {
            (Ok(n), Ok(v)) => req = req.header(n, v),
            _ => {
                return Outcome::Error(
                    err_at(Code::InvalidData, sub.index, "headers")
                        .detail("expected_data_type", "text"),
                )
            }
        }
    }
    req = req.header("authorization", auth);
    let req = match body {
        Some(b) => req
            .header("content-type", "application/json")
            .body(Body::from(b.to_string())),
        None => req.body(Body::empty()),
    };
    let req = match req {
        Ok(r) => r,
        Err(_) => {
            return Outcome::Error(
                err_at(Code::InvalidData, sub.index, "uri").detail("regex", URI_REGEX),
            )
        }
    };
    let resp = match tokio::time::timeout(SUB_TIMEOUT, router.oneshot(req)).await {
        Ok(Ok(r)) => r,
        Ok(Err(never)) => match never {},
        Err(_) => return Outcome::Error(ApiError::new(Code::RequestTimeout)),
    };
    let status = resp.status().as_u16();
    let mut headers = Map::new();
    for (k, v) in resp.headers() {
        if k != "content-length" {
            headers.insert(k.to_string(), v.to_str().unwrap_or("").into());
        }
    }
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap_or_default();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or(Value::Null)
    };
    Outcome::Ran {
        status,
        headers,
        body,
    }
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
    let raw = match body.get("__composite_requests") {
        None | Some(Value::Null) => {
            return Err(ApiError::new(Code::MandatoryNotFound)
                .detail("api_name", "__composite_requests")
                .detail("json_path", "$.__composite_requests")
                .into())
        }
        Some(Value::Array(a)) if a.is_empty() => {
            return Err(ApiError::new(Code::MandatoryNotFound)
                .detail("api_name", "__composite_requests")
                .detail("json_path", "$.__composite_requests")
                .into())
        }
        Some(Value::Array(a)) if a.len() > MAX_SUB_REQUESTS => {
            return Err(ApiError::new(Code::InvalidData)
                .detail("api_name", "__composite_requests")
                .detail("json_path", "$.__composite_requests")
                .detail("maximum_length", MAX_SUB_REQUESTS)
                .into())
        }
        Some(Value::Array(a)) => a.clone(),
        Some(_) => {
            return Err(ApiError::new(Code::InvalidData)
                .detail("api_name", "__composite_requests")
                .detail("json_path", "$.__composite_requests")
                .detail("expected_data_type", "jsonarray")
                .into())
        }
    };
    let mut subs = Vec::new();
    let mut errors = Vec::new();
    for (i, v) in raw.iter().enumerate() {
        match parse_sub(i, v) {
            Ok(s) => subs.push(s),
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        let mut seen: HashMap<&str, Vec<usize>> = HashMap::new();
        for s in &subs {
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
