//! What the usage views show: `GET /__zcrm/usage` and `zcrm admin usage`.

use super::editions::Effective;
use zcrm_store::limits::{Usage, UsageLine};

/// What `GET /__zcrm/usage` and `zcrm admin usage` show.
pub fn usage_json(eff: &Effective, usage: &Usage) -> serde_json::Value {
    let lines = |v: &[UsageLine], key: &str| {
        v.iter()
            .map(|l| {
                serde_json::json!({key: l.key, "calls": l.calls, "credits": l.credits, "refused": l.refused})
            })
            .collect::<Vec<_>>()
    };
    let used: i64 = usage.by_api.iter().map(|l| l.credits).sum();
    serde_json::json!({
        "org_id": eff.settings.org_id.to_string(),
        "edition": eff.settings.edition,
        "users": eff.settings.users,
        "limits": if eff.settings.enabled { "on" } else { "off" },
        "window": "rolling 24 hours",
        "credits": {
            "limit": eff.credits,
            "used": used,
            "remaining": (eff.credits - used).max(0),
            "overridden": eff.settings.credits_override.is_some(),
        },
        "concurrency": {
            "limit": eff.concurrency,
            "heavy_limit": eff.heavy,
            "overridden": eff.settings.concurrency_override.is_some(),
        },
        "by_api": lines(&usage.by_api, "api"),
        "by_client": lines(&usage.by_client, "client_id"),
    })
}
