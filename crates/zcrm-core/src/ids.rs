//! Record, user and org ids: 64-bit, time-ordered, 19 decimal digits like Zoho's.

use std::sync::atomic::{AtomicI64, Ordering};

/// Zoho ids look like `4150868000000618001`; ours start at the same magnitude.
const BASE: i64 = 4_150_000_000_000_000_000;
/// 2024-01-01T00:00:00Z: time bits count from here.
const EPOCH_MS: i64 = 1_704_067_200_000;
/// Low bits: 10 for the node, 10 for a sequence within one millisecond.
const NODE_BITS: i64 = 10;
const SEQ_BITS: i64 = 10;
const SEQ_MAX: i64 = (1 << SEQ_BITS) - 1;

/// Ids of one process. Layout above `BASE`: milliseconds since 2024, then the
/// node number (so processes sharing a database never collide), then a
/// sequence. More than 1,024 ids in a millisecond borrow the next one.
#[derive(Debug)]
pub struct IdGen {
    /// Last id handed out, as (milliseconds, sequence) packed like an id.
    last: AtomicI64,
    node: i64,
}

impl IdGen {
    /// `node` (taken modulo 1,024) must differ between processes sharing a database.
    pub fn new(node: u32) -> Self {
        IdGen {
            last: AtomicI64::new(0),
            node: (node as i64) & ((1 << NODE_BITS) - 1),
        }
    }

    pub fn next(&self, now_ms: i64) -> i64 {
        let ms = (now_ms - EPOCH_MS).max(0);
        let mut prev = self.last.load(Ordering::Relaxed);
        loop {
            let (prev_ms, prev_seq) = (prev >> SEQ_BITS, prev & SEQ_MAX);
            let next = if ms > prev_ms {
                ms << SEQ_BITS
            } else if prev_seq < SEQ_MAX {
                prev + 1
            } else {
                (prev_ms + 1) << SEQ_BITS
            };
            match self
                .last
                .compare_exchange_weak(prev, next, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => {
                    let (t, seq) = (next >> SEQ_BITS, next & SEQ_MAX);
                    return BASE + (t << (NODE_BITS + SEQ_BITS)) + (self.node << SEQ_BITS) + seq;
                }
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
    fn nodes_never_collide_even_past_1024_ids_per_ms() {
        let (a, b) = (IdGen::new(1), IdGen::new(2));
        let now = 1_764_000_000_000;
        let mut seen = std::collections::HashSet::new();
        for _ in 0..5_000 {
            assert!(seen.insert(a.next(now)));
            assert!(seen.insert(b.next(now)));
        }
    }

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
