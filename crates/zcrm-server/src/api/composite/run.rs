//! Running one sub-request through the router, references resolved.

use super::parse::{at, param_text};
use super::*;

/// Runs one sub-request through the router with its references resolved.
pub(super) async fn run_one(
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
    let req = match request(sub, &lookup, auth) {
        Ok(r) => r,
        Err(e) => return Outcome::Error(e),
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

/// The sub-request as a request to the router, its references resolved
/// (`lookup` gives an earlier sub-request's answer by id).
fn request(
    sub: &Sub,
    lookup: &dyn Fn(&str) -> Option<Value>,
    auth: HeaderValue,
) -> Result<Request<Body>, ApiError> {
    let unresolved = |key: &str, reference: String| {
        err_at(Code::InvalidReference, sub.index, key).detail("reference", reference)
    };
    let uri = match refs::substitute_str(&sub.uri, &lookup) {
        Ok(u) => u,
        Err(r) => return Err(unresolved("uri", r)),
    };
    let mut query: Vec<(String, String)> = Vec::new();
    for (k, v) in &sub.params {
        match refs::substitute(v, &lookup) {
            Ok(v) => query.push((k.clone(), param_text(&v).unwrap_or_default())),
            Err(r) => return Err(unresolved("params", r)),
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
            return Err(ApiError::new(Code::LimitExceeded)
                .detail("api_name", "per_page")
                .detail("json_path", at(sub.index, "params.per_page"))
                .detail("limit", READ_RECORDS));
        }
    }
    let body = match sub.body.as_ref().map(|b| refs::substitute(b, &lookup)) {
        None => None,
        Some(Ok(b)) => Some(b),
        Some(Err(r)) => return Err(unresolved("body", r)),
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
            Err(r) => return Err(unresolved("headers", r)),
        };
        match (
            HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(&text),
        ) {
            (Ok(n), Ok(v)) => req = req.header(n, v),
            _ => {
                return Err(err_at(Code::InvalidData, sub.index, "headers")
                    .detail("expected_data_type", "text"))
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
    req.map_err(|_| err_at(Code::InvalidData, sub.index, "uri").detail("regex", URI_REGEX))
}
