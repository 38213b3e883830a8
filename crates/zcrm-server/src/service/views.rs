//! Custom views as bulk read and mass update use them: which records a
//! `cvid` selects.

use serde_json::Value;
use zcrm_core::meta::{stable_id, Module};

/// The owner a view limits records to: `Some(Some(user))` for a "My …" view
/// (the caller's records), `Some(None)` for a view of every record, `None`
/// when `cvid` names no view of the module. Ids may be strings or numbers.
pub fn owner_filter(m: &Module, cvid: &Value, user: i64) -> Option<Option<i64>> {
    let cvid = cvid
        .as_str()
        .map(String::from)
        .or_else(|| cvid.as_i64().map(|i| i.to_string()))
        .unwrap_or_default();
    let view = m
        .custom_views
        .iter()
        .find(|v| stable_id("custom_view", &format!("{}.{}", m.api_name, v.name)) == cvid)?;
    let mine = view
        .system_name
        .as_deref()
        .is_some_and(|s| s.starts_with("MY"))
        || view.name.starts_with("My ");
    Some(mine.then_some(user))
}
