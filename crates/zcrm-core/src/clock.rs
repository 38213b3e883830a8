//! The one source of "now". Injected everywhere so token expiry, credit windows
//! and retries can be tested by moving time instead of sleeping.

use std::sync::atomic::{AtomicI64, Ordering};

#[derive(Debug, Default)]
pub struct Clock {
    /// Added to the system time; only a test/sandbox server ever changes it.
    offset_ms: AtomicI64,
}

impl Clock {
    pub fn new() -> Self {
        Clock::default()
    }

    /// Milliseconds since the Unix epoch.
    pub fn now_ms(&self) -> i64 {
        chrono::Utc::now().timestamp_millis() + self.offset_ms.load(Ordering::Relaxed)
    }

    pub fn advance(&self, ms: i64) {
        self.offset_ms.fetch_add(ms, Ordering::Relaxed);
    }
}
