//! The list of a batch body (`data`, `watch`, `tags`): present, an array,
//! within its size. Each item then decodes on its own with
//! [`super::body::decode_at`], so one bad item fails alone (Zoho's 207).

use serde_json::Value;
use zcrm_core::{ApiError, Code};

/// `body[key]` as a list of 1..=`max` items. Missing or null:
/// `MANDATORY_NOT_FOUND`; not an array: `INVALID_DATA`; empty: `empty`
/// (Zoho answers `REQUIRED_DATA_NOT_FOUND` for records, `INVALID_DATA` for
/// watch items); too long: `LIMIT_EXCEEDED` with the limit.
pub fn list<'a>(
    body: &'a serde_json::Map<String, Value>,
    key: &str,
    max: usize,
    empty: Code,
) -> Result<&'a [Value], ApiError> {
    let at = |code| {
        ApiError::new(code)
            .detail("api_name", key)
            .detail("json_path", format!("$.{key}"))
    };
    let items = match body.get(key) {
        None | Some(Value::Null) => return Err(at(Code::MandatoryNotFound)),
        Some(Value::Array(a)) => a,
        Some(_) => return Err(at(Code::InvalidData).detail("expected_data_type", "jsonarray")),
    };
    if items.is_empty() {
        let e = at(empty);
        return Err(if empty == Code::InvalidData {
            e.detail("expected_data_type", "jsonarray")
        } else {
            e
        });
    }
    if items.len() > max {
        return Err(at(Code::LimitExceeded).detail("limit", max));
    }
    Ok(items)
}
