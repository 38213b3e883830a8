//! Concurrency per app (OAuth client) of an org on this node: its slots in
//! use, the caps, and its counts per operation of `ops` since the last flush.

use crate::ops::{Operation, OPERATIONS};
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU32, Ordering::SeqCst};
use std::sync::{Arc, RwLock};
use zcrm_store::limits::UsageDelta;

/// One app's slots and counters.
pub(crate) struct AppSlots {
    all: AtomicU32,
    heavy: AtomicU32,
    counters: Box<[Counter]>,
}

#[derive(Default)]
struct Counter {
    calls: AtomicI64,
    credits: AtomicI64,
    refused: AtomicI64,
}

impl Default for AppSlots {
    fn default() -> Self {
        AppSlots {
            all: AtomicU32::new(0),
            heavy: AtomicU32::new(0),
            counters: OPERATIONS.iter().map(|_| Counter::default()).collect(),
        }
    }
}

/// Holds a concurrency slot; dropping it (the call ended, failed, or its
/// client went away and the request future was dropped) frees it.
pub struct SlotGuard {
    slots: Arc<AppSlots>,
    heavy: bool,
}

impl Drop for SlotGuard {
    fn drop(&mut self) {
        self.slots.in_use(self.heavy).fetch_sub(1, SeqCst);
    }
}

impl AppSlots {
    fn in_use(&self, heavy: bool) -> &AtomicU32 {
        if heavy {
            &self.heavy
        } else {
            &self.all
        }
    }

    /// Takes one slot (a heavy one: of the heavy cap) if fewer than `cap` are in use.
    pub(crate) fn take(self: &Arc<Self>, heavy: bool, cap: i64) -> Option<SlotGuard> {
        let c = self.in_use(heavy);
        if c.fetch_add(1, SeqCst) as i64 >= cap {
            c.fetch_sub(1, SeqCst);
            return None;
        }
        Some(SlotGuard {
            slots: self.clone(),
            heavy,
        })
    }

    /// Counts a call of `api`: let through with `credits`, or refused.
    pub(crate) fn count(&self, api: &'static Operation, credits: i64, refused: bool) {
        let c = &self.counters[api.index()];
        if refused {
            c.refused.fetch_add(1, SeqCst);
        } else {
            c.calls.fetch_add(1, SeqCst);
            c.credits.fetch_add(credits, SeqCst);
        }
    }
}

/// Every app of one org on this node, and the org's caps.
pub(crate) struct SlotTable {
    concurrency: AtomicI64,
    heavy_cap: AtomicI64,
    apps: RwLock<HashMap<Arc<str>, Arc<AppSlots>>>,
}

impl SlotTable {
    pub(crate) fn new(concurrency: i64, heavy_cap: i64) -> SlotTable {
        SlotTable {
            concurrency: AtomicI64::new(concurrency),
            heavy_cap: AtomicI64::new(heavy_cap),
            apps: RwLock::new(HashMap::new()),
        }
    }

    pub(crate) fn set_caps(&self, concurrency: i64, heavy_cap: i64) {
        self.concurrency.store(concurrency, SeqCst);
        self.heavy_cap.store(heavy_cap, SeqCst);
    }

    /// Concurrent calls per app.
    pub(crate) fn concurrency(&self) -> i64 {
        self.concurrency.load(SeqCst)
    }

    /// Concurrent heavy calls per app.
    pub(crate) fn heavy_cap(&self) -> i64 {
        self.heavy_cap.load(SeqCst)
    }

    /// The app's slots, made on its first call.
    pub(crate) fn of(&self, client: &Arc<str>) -> Arc<AppSlots> {
        if let Some(s) = self.apps.read().ok().and_then(|m| m.get(client).cloned()) {
            return s;
        }
        let mut m = self.apps.write().unwrap_or_else(|p| p.into_inner());
        m.entry(client.clone()).or_default().clone()
    }

    /// Calls each app has in flight on this node now: (client, all, heavy),
    /// apps with none left out.
    pub(crate) fn in_flight(&self) -> Vec<(String, u32, u32)> {
        let Ok(m) = self.apps.read() else {
            return Vec::new();
        };
        let mut out: Vec<(String, u32, u32)> = m
            .iter()
            .map(|(k, s)| (k.to_string(), s.all.load(SeqCst), s.heavy.load(SeqCst)))
            .filter(|(_, all, heavy)| *all + *heavy > 0)
            .collect();
        out.sort();
        out
    }

    /// Takes every app's counts (zeroing them) as rows for `minute`.
    pub(crate) fn take_counts(&self, org_id: i64, minute: i64) -> Vec<UsageDelta> {
        let m = match self.apps.read() {
            Ok(m) => m,
            Err(_) => return Vec::new(),
        };
        let mut out = Vec::new();
        for (client, slots) in m.iter() {
            for (op, c) in OPERATIONS.iter().zip(slots.counters.iter()) {
                let (calls, credits, refused) = (
                    c.calls.swap(0, SeqCst),
                    c.credits.swap(0, SeqCst),
                    c.refused.swap(0, SeqCst),
                );
                if calls + credits + refused > 0 {
                    out.push(UsageDelta {
                        org_id,
                        minute,
                        api: op.key(),
                        client_id: client.to_string(),
                        calls,
                        credits,
                        refused,
                    });
                }
            }
        }
        out
    }

    /// Adds back counts taken by [`SlotTable::take_counts`] that could not be written.
    pub(crate) fn put_back(&self, rows: &[UsageDelta]) {
        if let Ok(m) = self.apps.read() {
            for r in rows {
                let Some(slots) = m.get(r.client_id.as_str()) else {
                    continue;
                };
                if let Some((_, c)) = OPERATIONS
                    .iter()
                    .zip(slots.counters.iter())
                    .find(|(o, _)| o.key() == r.api)
                {
                    c.calls.fetch_add(r.calls, SeqCst);
                    c.credits.fetch_add(r.credits, SeqCst);
                    c.refused.fetch_add(r.refused, SeqCst);
                }
            }
        }
    }
}
