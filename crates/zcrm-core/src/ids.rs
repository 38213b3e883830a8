//! Record, user and org ids: 64-bit, time-ordered, 19 decimal digits like Zoho's.

use std::sync::atomic::{AtomicI64, Ordering};

/// Zoho ids look like `4150868000000618001`; ours start at the same magnitude.
const BASE: i64 = 4_150_000_000_000_000_000;
/// 2024-01-01T00:00:00Z: time bits count from here.
const EPOCH_MS: i64 = 1_704_067_200_000;

#[derive(Debug)]
pub struct IdGen {
    last: AtomicI64,
    node: i64,
}

impl IdGen {
    /// `node` (0–255) keeps ids of several zcrm processes sharing a database apart.
    pub fn new(node: u8) -> Self {
        IdGen {
            last: AtomicI64::new(0),
            node: node as i64,
        }
    }

    pub fn next(&self, now_ms: i64) -> i64 {
        let floor = BASE + (((now_ms - EPOCH_MS).max(0)) << 20) + (self.node << 12);
        let mut prev = self.last.load(Ordering::Relaxed);
        loop {
            let next = if prev >= floor { prev + 1 } else { floor };
            match self
                .last
                .compare_exchange_weak(prev, next, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return next,
                Err(p) => prev = p,
            }
        }
    }
}

/// Parses a Zoho id given as a string or a number.
pub fn parse_id(v: &serde_json::Value) -> Option<i64> {
    match v {
        serde_json::Value::String(s) => parse_id_str(s),
        serde_json::Value::Number(n) => n.as_i64().filter(|n| *n > 0),
        _ => None,
    }
}

pub fn parse_id_str(s: &str) -> Option<i64> {
    let s = s.trim();
    if s.is_empty() || s.len() > 19 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<i64>().ok().filter(|n| *n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_increasing_and_19_digits() {
        let g = IdGen::new(3);
        let now = 1_764_000_000_000;
        let a = g.next(now);
        let b = g.next(now);
        assert!(b > a);
        assert_eq!(a.to_string().len(), 19);
        assert!(g.next(now + 1) > b);
    }
}
