//! Sign-in throttling for the consent page: after `MAX_FAILURES` wrong
//! passwords for one email within `WINDOW_MS`, that email is locked for
//! `LOCKOUT_MS`, right password or not, so a password cannot be guessed at
//! the speed of the server. Kept per node in memory (a multi-node setup
//! multiplies the attempts by the node count; each node still locks).

use std::collections::HashMap;
use std::sync::Mutex;

pub const MAX_FAILURES: u32 = 5;
pub const WINDOW_MS: i64 = 15 * 60_000;
pub const LOCKOUT_MS: i64 = 15 * 60_000;
/// Emails tracked at most; past this, entries whose window has passed go.
const MAX_TRACKED: usize = 100_000;

#[derive(Clone, Copy)]
struct Entry {
    failures: u32,
    since: i64,
    locked_until: i64,
}

#[derive(Default)]
pub struct Throttle {
    by_email: Mutex<HashMap<String, Entry>>,
}

fn key(email: &str) -> String {
    email.trim().to_ascii_lowercase()
}

impl Throttle {
    /// Milliseconds until `email` may try again, if it is locked now.
    pub fn locked_for(&self, email: &str, now: i64) -> Option<i64> {
        let map = self.by_email.lock().ok()?;
        map.get(&key(email))
            .map(|e| e.locked_until - now)
            .filter(|left| *left > 0)
    }

    /// Records a wrong password; locks the email at the `MAX_FAILURES`th
    /// within the window.
    pub fn failed(&self, email: &str, now: i64) {
        let Ok(mut map) = self.by_email.lock() else {
            return;
        };
        if map.len() >= MAX_TRACKED {
            map.retain(|_, e| e.locked_until > now || now - e.since < WINDOW_MS);
        }
        let e = map.entry(key(email)).or_insert(Entry {
            failures: 0,
            since: now,
            locked_until: 0,
        });
        if now - e.since >= WINDOW_MS {
            *e = Entry {
                failures: 0,
                since: now,
                locked_until: 0,
            };
        }
        e.failures += 1;
        if e.failures >= MAX_FAILURES {
            e.locked_until = now + LOCKOUT_MS;
            e.failures = 0;
            e.since = now;
        }
    }

    /// A right password clears the count.
    pub fn succeeded(&self, email: &str) {
        if let Ok(mut map) = self.by_email.lock() {
            map.remove(&key(email));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_failures_lock_for_a_while_then_the_count_starts_over() {
        let t = Throttle::default();
        for i in 0..MAX_FAILURES - 1 {
            t.failed("Ann@Zylker.example", i as i64);
            assert_eq!(t.locked_for("ann@zylker.example", i as i64), None);
        }
        t.failed("ann@zylker.example", 10);
        assert_eq!(t.locked_for("ANN@zylker.example", 10), Some(LOCKOUT_MS));
        assert_eq!(t.locked_for("ann@zylker.example", 10 + LOCKOUT_MS), None);
        // Failures spread beyond the window never lock.
        let t = Throttle::default();
        for i in 0..20 {
            t.failed("bo@zylker.example", i * WINDOW_MS / 2);
        }
        assert_eq!(t.locked_for("bo@zylker.example", 10 * WINDOW_MS), None);
        // A success clears the count.
        let t = Throttle::default();
        for _ in 0..MAX_FAILURES - 1 {
            t.failed("cy@zylker.example", 0);
        }
        t.succeeded("cy@zylker.example");
        t.failed("cy@zylker.example", 1);
        assert_eq!(t.locked_for("cy@zylker.example", 1), None);
    }
}
