//! Query-string and body parsing shared by the handlers, with Zoho's errors.

use serde_json::Value;
use std::collections::HashMap;
use zcrm_core::{ApiError, Code};

pub type Params = HashMap<String, String>;

/// A positive integer parameter within `1..=max`, or its default.
pub fn int_param(q: &Params, name: &str, default: u64, max: u64) -> Result<u64, ApiError> {
    match q.get(name) {
        None => Ok(default),
        Some(s) => match s.trim().parse::<u64>() {
            Ok(n) if n >= 1 && n <= max => Ok(n),
            _ => Err(ApiError::invalid_param(name)),
        },
    }
}

/// Parses a JSON request body; anything that is not a JSON object is `INVALID_DATA`.
pub fn json_body(bytes: &[u8]) -> Result<serde_json::Map<String, Value>, ApiError> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(ApiError::new(Code::InvalidData).message("body is not a valid JSON object")),
    }
}

/// The `data` array of a write body: present, an array, 1..=max items.
pub fn data_array(
    body: &serde_json::Map<String, Value>,
    max: usize,
) -> Result<Vec<Value>, ApiError> {
    crate::wire::items::list(body, "data", max, Code::RequiredDataNotFound).map(<[Value]>::to_vec)
}

/// Comma-separated ids, each a positive integer, at most `max`.
pub fn id_list(raw: &str, param: &str, max: usize) -> Result<Vec<i64>, ApiError> {
    let ids: Option<Vec<i64>> = raw
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(zcrm_core::ids::parse_id_str)
        .collect();
    let ids = ids.ok_or_else(|| ApiError::invalid_param(param))?;
    if ids.is_empty() {
        return Err(ApiError::param_missing(param));
    }
    if ids.len() > max {
        return Err(ApiError::new(Code::LimitExceeded)
            .detail("limit", max)
            .detail("param_name", param));
    }
    Ok(ids)
}

/// Zoho's status for a multi-item answer: `all_ok` when every item succeeded,
/// 207 when some did, 400 when none did.
pub fn batch_status(ok: usize, total: usize, all_ok: u16) -> u16 {
    if ok == total {
        all_ok
    } else if ok == 0 {
        400
    } else {
        207
    }
}

/// The `?module=` of a settings call, resolved.
pub fn module_param(
    caller: &crate::auth::Caller,
    q: &Params,
) -> Result<std::sync::Arc<zcrm_core::meta::Module>, ApiError> {
    let name = q
        .get("module")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::param_missing("module"))?;
    caller
        .org
        .store
        .catalog()
        .module(name)
        .cloned()
        .ok_or_else(|| ApiError::new(Code::InvalidModule).detail("param_name", "module"))
}
