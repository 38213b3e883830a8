//! Checking a composite body's sub-requests and linking their references.

use super::*;

pub(super) fn at(i: usize, key: &str) -> String {
    format!("$.__composite_requests[{i}].{key}")
}

pub(super) fn err_at(code: Code, i: usize, key: &str) -> ApiError {
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

pub(super) fn param_text(v: &Value) -> Option<String> {
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

pub(super) fn flag(body: &Map<String, Value>, keys: &[&str]) -> Result<Option<bool>, ApiError> {
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
pub(super) fn parse_sub(i: usize, v: &Value) -> Result<Sub, ApiError> {
    let o = v.as_object().ok_or_else(|| {
        ApiError::new(Code::InvalidData)
            .detail("api_name", "__composite_requests")
            .detail("json_path", format!("$.__composite_requests[{i}]"))
            .detail("expected_data_type", "jsonobject")
    })?;
    let method = method_of(o, i)?;
    let uri = uri_of(o, i)?;
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
        write_caps(body.as_ref(), i)?;
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

/// A sub-request's `method`, one of Zoho's five.
fn method_of(o: &Map<String, Value>, i: usize) -> Result<Method, ApiError> {
    match o.get("method") {
        None | Some(Value::Null) => Err(err_at(Code::MandatoryNotFound, i, "method")),
        Some(Value::String(s))
            if ["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&s.as_str()) =>
        {
            Method::from_bytes(s.as_bytes()).map_err(|_| err_at(Code::InvalidData, i, "method"))
        }
        Some(_) => Err(err_at(Code::InvalidData, i, "method").detail(
            "supported_values",
            json!(["GET", "POST", "PUT", "PATCH", "DELETE"]),
        )),
    }
}

/// A sub-request's `uri`: Zoho's pattern, this API version, an operation
/// allowed in a composite call.
fn uri_of(o: &Map<String, Value>, i: usize) -> Result<String, ApiError> {
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
    Ok(uri)
}

/// A write sub-request carries at most one record (Zoho's composite page).
fn write_caps(body: Option<&Value>, i: usize) -> Result<(), ApiError> {
    for key in ["data", "tags"] {
        if let Some(Value::Array(a)) = body.and_then(|b| b.get(key)) {
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
    Ok(())
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
pub(super) fn link(subs: &mut [Sub], raw: &[Value]) -> Vec<ApiError> {
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
