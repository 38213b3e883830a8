//! Zoho's figures by edition and licensed users, and the figures in force
//! for an org once its overrides are applied.

use zcrm_store::limits::LimitSettings;

/// Zoho's sub-concurrency for heavy APIs.
const HEAVY_CAP: i64 = 10;

/// Daily credits by edition and licensed users (Zoho's API Limits table).
pub fn edition_credits(edition: &str, users: i64) -> i64 {
    let users = users.max(0);
    match edition.to_ascii_lowercase().as_str() {
        "free" => 5_000,
        "standard" | "starter" => (50_000 + 250 * users).min(100_000),
        "professional" => (50_000 + 500 * users).min(3_000_000),
        "ultimate" | "crm plus" => 50_000 + 2_000 * users,
        _ => (50_000 + 1_000 * users).min(5_000_000),
    }
}

/// Concurrent calls per app per org by edition.
pub fn edition_concurrency(edition: &str) -> i64 {
    match edition.to_ascii_lowercase().as_str() {
        "free" => 5,
        "standard" | "starter" => 10,
        "professional" => 15,
        "ultimate" | "crm plus" => 25,
        _ => 20,
    }
}

pub const EDITIONS: &[&str] = &["Free", "Standard", "Professional", "Enterprise", "Ultimate"];

/// The figures in force for an org.
#[derive(Debug, Clone)]
pub struct Effective {
    pub settings: LimitSettings,
    pub credits: i64,
    pub concurrency: i64,
    pub heavy: i64,
}

impl Effective {
    pub fn of(settings: LimitSettings) -> Effective {
        let credits = settings
            .credits_override
            .unwrap_or_else(|| edition_credits(&settings.edition, settings.users));
        let concurrency = settings
            .concurrency_override
            .unwrap_or_else(|| edition_concurrency(&settings.edition));
        Effective {
            heavy: concurrency.min(HEAVY_CAP),
            settings,
            credits,
            concurrency,
        }
    }
}
