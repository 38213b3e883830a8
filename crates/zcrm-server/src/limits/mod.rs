//! API limits as Zoho applies them: a daily credit allowance over a rolling
//! 24-hour window, concurrent calls per app per org, and a lower cap for heavy
//! calls; the headers integrations read; usage by API and by client.
//!
//! Figures: Zoho's "API Limits" page (developer/docs/api/v8/api-limits.html,
//! same table on v2/v4): credits by edition and licensed users, concurrency
//! Free 5 / Standard 10 / Professional 15 / Enterprise 20 / Ultimate 25 per
//! app per org, sub-concurrency 10 for heavy APIs. Costs per operation come
//! from `ops` (min credits charged before the handler; a handler whose
//! cost depends on the request raises it through `admission::Budget::charge`).
//!
//! Hot path: credits are spent from a block ("lease") this node reserved in
//! the database, with one atomic compare-and-swap per call; only when the
//! block runs out or expires (after [`LEASE_MS`]) does a call wait for the
//! database, which re-reads the window under a per-org lock and reserves the
//! next block. Blocks shrink to one credit as the allowance runs out, so
//! nodes sharing PostgreSQL never overspend in total; an unspent block goes
//! back within `LEASE_MS`. A crash loses at most an unspent block, counted
//! as spent (never in the caller's favour).
//!
//! Layout. The org's limiter ([`OrgLimiter`], held by `state::OrgCtx`) and
//! its parts know nothing of the server: `editions` (the figures), `ledger`
//! (credits: blocks, leases, refunds), `slots` (concurrency slots and the
//! per-operation counters), `org` (one org's limiter on this node), `usage`
//! (what the usage views show). What they need from the database they take
//! as a `&Control` argument, and they never spawn tasks. The glue that knows
//! `App` is the `admission` module beside this one (admit one call, its
//! `Budget` and headers; the background tick and usage flush).

mod editions;
pub(crate) mod ledger;
mod org;
pub(crate) mod slots;
#[cfg(test)]
mod tests;
mod usage;

pub use editions::{edition_concurrency, edition_credits, Effective, EDITIONS};
pub use ledger::LEASE_MS;
pub use org::{OrgLimiter, SETTINGS_MAX_AGE_MS};
pub use slots::SlotGuard;
pub use usage::usage_json;

use zcrm_core::{ApiError, Code};

/// Why a call was refused.
pub(crate) struct Refusal {
    pub(crate) error: ApiError,
    pub(crate) retry_after: i64,
}

pub(crate) fn too_many(message: &str, retry_after: i64) -> Refusal {
    Refusal {
        error: ApiError::new(Code::TooManyRequests).message(message),
        retry_after: retry_after.max(1),
    }
}

pub(crate) const CREDITS_MSG: &str = "API credit limit of the org exceeded for the 24-hour window";
pub(crate) const CONCURRENCY_MSG: &str = "concurrency limit exceeded";
