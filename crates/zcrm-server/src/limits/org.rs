//! One org's limiter on this node: its settings in force, its credit
//! ledger and its apps' slots; re-reading the settings and writing the
//! usage counts, against the control database it is given.

use super::editions::Effective;
use super::ledger::Ledger;
use super::slots::SlotTable;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering::SeqCst};
use std::sync::{Arc, RwLock};
use zcrm_store::control::Control;
use zcrm_store::limits::{self as store, LimitSettings};

/// Settings changed by `zcrm admin org set` apply within this long.
pub const SETTINGS_MAX_AGE_MS: i64 = 1_000;

/// One org's limiter on this node.
pub struct OrgLimiter {
    org_id: i64,
    eff: RwLock<Arc<Effective>>,
    enabled: AtomicBool,
    /// When the settings were last read.
    checked_at: AtomicI64,
    pub(crate) ledger: Ledger,
    pub(crate) slots: SlotTable,
}

impl OrgLimiter {
    pub fn new(settings: LimitSettings, now: i64) -> OrgLimiter {
        let eff = Effective::of(settings);
        OrgLimiter {
            org_id: eff.settings.org_id,
            enabled: AtomicBool::new(eff.settings.enabled),
            checked_at: AtomicI64::new(now),
            ledger: Ledger::new(eff.settings.org_id, eff.credits),
            slots: SlotTable::new(eff.concurrency, eff.heavy),
            eff: RwLock::new(Arc::new(eff)),
        }
    }

    pub fn effective(&self) -> Arc<Effective> {
        self.eff
            .read()
            .map(|e| e.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    pub fn enabled(&self) -> bool {
        self.enabled.load(SeqCst)
    }

    pub(crate) fn apply(&self, settings: LimitSettings) {
        let eff = Effective::of(settings);
        self.enabled.store(eff.settings.enabled, SeqCst);
        self.ledger.set_allowance(eff.credits);
        self.slots.set_caps(eff.concurrency, eff.heavy);
        if let Ok(mut e) = self.eff.write() {
            *e = Arc::new(eff);
        }
    }

    /// Re-reads the settings if they are older than [`SETTINGS_MAX_AGE_MS`]
    /// (or the clock went back), and applies them if they changed.
    pub(crate) async fn refresh(&self, control: &Control, now: i64) {
        let checked = self.checked_at.load(SeqCst);
        if now - checked < SETTINGS_MAX_AGE_MS && now >= checked {
            return;
        }
        self.checked_at.store(now, SeqCst);
        match control.limit_settings(self.org_id).await {
            Ok(Some(s)) if s != self.effective().settings => self.apply(s),
            Ok(_) => {}
            Err(e) => tracing::warn!("reading limits: {e}"),
        }
    }

    /// Writes this node's usage counts of the org; kept for the next flush
    /// if the database refuses them.
    pub(crate) async fn flush(&self, control: &Control, now: i64) {
        let rows = self.slots.take_counts(self.org_id, store::minute(now));
        if rows.is_empty() {
            return;
        }
        if let Err(e) = control
            .record_usage(rows.clone(), store::window_floor(now))
            .await
        {
            tracing::warn!("writing usage: {e}");
            self.slots.put_back(&rows);
        }
    }
}
