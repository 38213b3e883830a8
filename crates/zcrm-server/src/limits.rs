//! API limits as Zoho applies them: a daily credit allowance over a rolling
//! 24-hour window, concurrent calls per app per org, and a lower cap for heavy
//! calls; the headers integrations read; usage by API and by client.
//!
//! Figures: Zoho's "API Limits" page (developer/docs/api/v8/api-limits.html,
//! same table on v2/v4): credits by edition and licensed users, concurrency
//! Free 5 / Standard 10 / Professional 15 / Enterprise 20 / Ultimate 25 per
//! app per org, sub-concurrency 10 for heavy APIs. Costs per operation come
//! from `ops` (min credits charged before the handler; a handler whose
//! cost depends on the request raises it through [`Budget::charge`]).
//!
//! Hot path: credits are spent from a block ("lease") this node reserved in
//! the database, with one atomic compare-and-swap per call; only when the
//! block runs out or expires (after `LEASE_MS`) does a call wait for the
//! database, which re-reads the window under a per-org lock and reserves the
//! next block. Blocks shrink to one credit as the allowance runs out, so
//! nodes sharing PostgreSQL never overspend in total; an unspent block goes
//! back within `LEASE_MS`. A crash loses at most an unspent block, counted
//! as spent (never in the caller's favour).

use crate::ops::{Operation, OPERATIONS};
use crate::state::App;
use axum::http::{HeaderMap, HeaderName, HeaderValue};

static X_LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
static X_REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");
static X_RESET: HeaderName = HeaderName::from_static("x-ratelimit-reset");
static X_CREDITS_REMAINING: HeaderName = HeaderName::from_static("x-api-credits-remaining");
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, AtomicU64, Ordering::SeqCst};
use std::sync::{Arc, Mutex, RwLock};
use zcrm_core::{ApiError, Code};
use zcrm_store::limits::{self as store, LimitSettings, UsageDelta};

/// A reserved block is spent or given back within this long.
pub const LEASE_MS: i64 = 1_000;
/// Settings changed by `zcrm admin org set` apply within this long.
pub const SETTINGS_MAX_AGE_MS: i64 = 1_000;
/// Largest block a node reserves at once (`ZCRM_CREDIT_BLOCK` lowers it:
/// 1 charges every call in the database, for measuring that design).
fn max_block() -> i64 {
    static B: std::sync::OnceLock<i64> = std::sync::OnceLock::new();
    *B.get_or_init(|| {
        std::env::var("ZCRM_CREDIT_BLOCK")
            .ok()
            .and_then(|v| v.parse().ok())
            .filter(|b: &i64| *b >= 1)
            .unwrap_or(10_000)
    })
}
/// A refused node asks the database again after this long at the latest.
const RECHECK_MS: i64 = 250;
/// Zoho's sub-concurrency for heavy APIs.
const HEAVY_CAP: u32 = 10;

const GEN_SHIFT: u32 = 40;
const LEFT_MASK: u64 = (1 << GEN_SHIFT) - 1;

fn pack(gen: u64, left: i64) -> u64 {
    (gen << GEN_SHIFT) | (left.max(0) as u64 & LEFT_MASK)
}
fn gen_of(v: u64) -> u64 {
    v >> GEN_SHIFT
}
fn left_of(v: u64) -> i64 {
    (v & LEFT_MASK) as i64
}

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
            heavy: concurrency.min(HEAVY_CAP as i64),
            settings,
            credits,
            concurrency,
        }
    }
}

/// One app (OAuth client) of the org on this node: its slots in use and its
/// counts per operation of `ops` since the last flush.
struct Slots {
    all: AtomicU32,
    heavy: AtomicU32,
    counters: Box<[Counter]>,
}

impl Default for Slots {
    fn default() -> Self {
        Slots {
            all: AtomicU32::new(0),
            heavy: AtomicU32::new(0),
            counters: OPERATIONS.iter().map(|_| Counter::default()).collect(),
        }
    }
}

/// Holds a concurrency slot; dropping it (the call ended, failed, or its
/// client went away and the request future was dropped) frees it.
pub struct SlotGuard {
    slots: Arc<Slots>,
    heavy: bool,
}

impl Drop for SlotGuard {
    fn drop(&mut self) {
        let c = if self.heavy {
            &self.slots.heavy
        } else {
            &self.slots.all
        };
        c.fetch_sub(1, SeqCst);
    }
}

fn take_slot(slots: &Arc<Slots>, heavy: bool, cap: i64) -> Option<SlotGuard> {
    let c = if heavy { &slots.heavy } else { &slots.all };
    if c.fetch_add(1, SeqCst) as i64 >= cap {
        c.fetch_sub(1, SeqCst);
        return None;
    }
    Some(SlotGuard {
        slots: slots.clone(),
        heavy,
    })
}

#[derive(Default)]
struct Counter {
    calls: AtomicI64,
    credits: AtomicI64,
    refused: AtomicI64,
}

/// One org's limiter on this node.
pub struct OrgLimiter {
    org_id: i64,
    eff: RwLock<Arc<Effective>>,
    enabled: AtomicBool,
    allowance: AtomicI64,
    checked_at: AtomicI64,
    lease: AtomicU64,
    lease_minute: AtomicI64,
    lease_expires: AtomicI64,
    /// The window's total at the last reservation (this node's whole block included).
    used: AtomicI64,
    /// Oldest minute bucket in the window (`i64::MIN`: none).
    oldest: AtomicI64,
    recheck_at: AtomicI64,
    room: AtomicI64,
    /// Size of the last block reserved.
    block: AtomicI64,
    /// The next block, reserved in the background before the current one
    /// runs out or expires, so calls rarely wait for the database.
    next: Mutex<Option<Lease>>,
    /// `next` holds a block (checked without the lock on the hot path).
    next_ready: AtomicBool,
    prefetching: AtomicBool,
    concurrency: AtomicI64,
    heavy_cap: AtomicI64,
    refill: tokio::sync::Mutex<()>,
    slots: RwLock<HashMap<Arc<str>, Arc<Slots>>>,
}

/// A reserved block not yet in use.
#[derive(Debug, Clone, Copy)]
struct Lease {
    minute: i64,
    expires: i64,
    amount: i64,
}

/// Why a call was refused.
pub struct Refusal {
    pub error: ApiError,
    pub retry_after: i64,
}

fn too_many(message: &str, retry_after: i64) -> Refusal {
    Refusal {
        error: ApiError::new(Code::TooManyRequests).message(message),
        retry_after: retry_after.max(1),
    }
}

const CREDITS_MSG: &str = "API credit limit of the org exceeded for the 24-hour window";
const CONCURRENCY_MSG: &str = "concurrency limit exceeded";

impl OrgLimiter {
    pub fn new(settings: LimitSettings, now: i64) -> OrgLimiter {
        let eff = Effective::of(settings);
        let (concurrency, heavy) = (eff.concurrency, eff.heavy);
        OrgLimiter {
            org_id: eff.settings.org_id,
            enabled: AtomicBool::new(eff.settings.enabled),
            allowance: AtomicI64::new(eff.credits),
            eff: RwLock::new(Arc::new(eff)),
            checked_at: AtomicI64::new(now),
            lease: AtomicU64::new(0),
            lease_minute: AtomicI64::new(0),
            lease_expires: AtomicI64::new(0),
            used: AtomicI64::new(0),
            oldest: AtomicI64::new(i64::MIN),
            recheck_at: AtomicI64::new(0),
            room: AtomicI64::new(0),
            block: AtomicI64::new(0),
            next: Mutex::new(None),
            next_ready: AtomicBool::new(false),
            prefetching: AtomicBool::new(false),
            concurrency: AtomicI64::new(concurrency),
            heavy_cap: AtomicI64::new(heavy),
            refill: tokio::sync::Mutex::new(()),
            slots: RwLock::new(HashMap::new()),
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

    fn apply(&self, settings: LimitSettings) {
        let eff = Effective::of(settings);
        self.enabled.store(eff.settings.enabled, SeqCst);
        self.allowance.store(eff.credits, SeqCst);
        self.concurrency.store(eff.concurrency, SeqCst);
        self.heavy_cap.store(eff.heavy, SeqCst);
        self.recheck_at.store(0, SeqCst);
        // A block reserved under the old allowance is not spent under the new
        // one: the next call gives it back and reserves afresh.
        self.lease_expires.store(0, SeqCst);
        if let Ok(mut n) = self.next.lock() {
            if let Some(l) = n.as_mut() {
                l.expires = 0;
            }
        }
        if let Ok(mut e) = self.eff.write() {
            *e = Arc::new(eff);
        }
    }

    fn slots_of(&self, client: &Arc<str>) -> Arc<Slots> {
        if let Some(s) = self.slots.read().ok().and_then(|m| m.get(client).cloned()) {
            return s;
        }
        let mut m = self.slots.write().unwrap_or_else(|p| p.into_inner());
        m.entry(client.clone()).or_default().clone()
    }

    fn count(slots: &Slots, api: &'static Operation, credits: i64, refused: bool) {
        let c = &slots.counters[api.index()];
        if refused {
            c.refused.fetch_add(1, SeqCst);
        } else {
            c.calls.fetch_add(1, SeqCst);
            c.credits.fetch_add(credits, SeqCst);
        }
    }

    /// Spends `cost` from the current block without waiting; its generation.
    fn try_take(&self, cost: i64, now: i64) -> Option<u64> {
        if now >= self.lease_expires.load(SeqCst) {
            return None;
        }
        let mut cur = self.lease.load(SeqCst);
        loop {
            if left_of(cur) < cost {
                return None;
            }
            let next = pack(gen_of(cur), left_of(cur) - cost);
            match self.lease.compare_exchange_weak(cur, next, SeqCst, SeqCst) {
                Ok(_) => return Some(gen_of(cur)),
                Err(v) => cur = v,
            }
        }
    }

    /// Gives back credits of a call that was refused after being charged.
    async fn refund(&self, app: &App, gen: u64, minute: i64, amount: i64) {
        if amount <= 0 || gen == u64::MAX {
            return;
        }
        let mut cur = self.lease.load(SeqCst);
        while gen_of(cur) == gen {
            match self.lease.compare_exchange_weak(
                cur,
                pack(gen, left_of(cur) + amount),
                SeqCst,
                SeqCst,
            ) {
                Ok(_) => return,
                Err(v) => cur = v,
            }
        }
        match app
            .control
            .refund_credits(self.org_id, minute, amount)
            .await
        {
            Ok(()) => {
                self.used.fetch_sub(amount, SeqCst);
                self.room.fetch_add(amount, SeqCst);
            }
            Err(e) => tracing::warn!("refunding credits: {e}"),
        }
    }

    /// Seconds until the oldest credit in the window leaves it.
    fn retry_after_secs(&self, now: i64) -> i64 {
        match self.oldest.load(SeqCst) {
            i64::MIN => 1,
            m => ((store::bucket_expiry_ms(m) - now + 999) / 1000).max(1),
        }
    }

    /// Credits spent in the window as this node knows it (its unspent block not counted).
    fn spent(&self) -> i64 {
        let next = self
            .next
            .lock()
            .ok()
            .and_then(|n| n.map(|l| l.amount))
            .unwrap_or(0);
        (self.used.load(SeqCst) - left_of(self.lease.load(SeqCst)) - next).max(0)
    }

    /// Adds the limit headers to a response.
    fn headers(&self, h: &mut HeaderMap, now: i64) {
        let allowance = self.allowance.load(SeqCst);
        let spent = self.spent();
        let remaining = (allowance - spent).max(0);
        let reset = match self.oldest.load(SeqCst) {
            i64::MIN => 0,
            m => ((store::bucket_expiry_ms(m) - now + 999) / 1000).max(0),
        };
        let mut put = |name: &HeaderName, v: i64| {
            h.insert(name.clone(), HeaderValue::from(v));
        };
        put(&X_LIMIT, allowance);
        put(&X_REMAINING, remaining);
        put(&X_RESET, reset);
        // Zoho's own header, sent once half the day's credits are used.
        if spent * 2 >= allowance {
            put(&X_CREDITS_REMAINING, remaining);
        }
    }

    /// Gives back an expired block nobody is spending (the background tick).
    async fn expire(&self, app: &App, now: i64) {
        let stale = self.next.lock().ok().and_then(|mut n| {
            let stale = n.take_if(|l| l.expires <= now);
            if stale.is_some() {
                self.next_ready.store(false, SeqCst);
            }
            stale
        });
        if let Some(l) = stale {
            self.give_back_block(app, l.minute, l.amount).await;
        }
        if now < self.lease_expires.load(SeqCst) || left_of(self.lease.load(SeqCst)) == 0 {
            return;
        }
        let Ok(_one) = self.refill.try_lock() else {
            return;
        };
        if now < self.lease_expires.load(SeqCst) {
            return;
        }
        let old = self
            .lease
            .swap(pack(gen_of(self.lease.load(SeqCst)) + 1, 0), SeqCst);
        let unspent = left_of(old);
        if unspent > 0 {
            let m = self.lease_minute.load(SeqCst);
            match app.control.refund_credits(self.org_id, m, unspent).await {
                Ok(()) => {
                    self.used.fetch_sub(unspent, SeqCst);
                }
                Err(e) => tracing::warn!("giving back credits: {e}"),
            }
        }
    }

    /// Returns an unspent block to the database.
    async fn give_back_block(&self, app: &App, minute: i64, amount: i64) {
        if amount <= 0 {
            return;
        }
        match app
            .control
            .refund_credits(self.org_id, minute, amount)
            .await
        {
            Ok(()) => {
                self.used.fetch_sub(amount, SeqCst);
            }
            Err(e) => tracing::warn!("giving back credits: {e}"),
        }
    }

    fn take_counts(&self, minute: i64) -> Vec<UsageDelta> {
        let m = match self.slots.read() {
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
                        org_id: self.org_id,
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

    fn put_back(&self, rows: &[UsageDelta]) {
        if let Ok(m) = self.slots.read() {
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

/// Reserves a block in the database: the next one (`need` 0, in the
/// background) or the one a waiting call needs now. Under the refill lock.
async fn reserve(
    app: &App,
    lim: &OrgLimiter,
    refund: Option<(i64, i64)>,
    need: i64,
    now: i64,
) -> Result<Option<Lease>, Refusal> {
    let allowance = lim.allowance.load(SeqCst);
    let estimate = allowance - lim.spent();
    let want = (estimate / 8).clamp(need.max(1), max_block().max(need));
    let r = app
        .control
        .reserve_credits(
            lim.org_id,
            store::minute(now),
            store::window_floor(now),
            refund,
            need.max(1),
            want,
            allowance,
        )
        .await
        .map_err(|e| Refusal {
            error: e.into(),
            retry_after: 1,
        })?;
    lim.used.store(r.used, SeqCst);
    lim.oldest
        .store(r.oldest_minute.unwrap_or(i64::MIN), SeqCst);
    if r.granted == 0 {
        lim.room.store((allowance - r.used).max(0), SeqCst);
        lim.recheck_at.store(now + RECHECK_MS, SeqCst);
        return Ok(None);
    }
    lim.block.store(r.granted, SeqCst);
    Ok(Some(Lease {
        minute: store::minute(now),
        expires: now + LEASE_MS,
        amount: r.granted,
    }))
}

/// Starts reserving the next block if the current one is running low or
/// about to expire and none is on its way.
fn maybe_prefetch(app: &Arc<App>, org: &Arc<crate::state::OrgCtx>, left: i64, now: i64) {
    let lim = &org.limits;
    let low =
        left * 2 < lim.block.load(SeqCst) || now + LEASE_MS / 4 >= lim.lease_expires.load(SeqCst);
    if !low || lim.next_ready.load(SeqCst) || lim.prefetching.swap(true, SeqCst) {
        return;
    }
    let (app, org) = (app.clone(), org.clone());
    tokio::spawn(async move {
        let lim = &org.limits;
        {
            let _one = lim.refill.lock().await;
            let now = app.now();
            let has_next = lim.next.lock().map(|n| n.is_some()).unwrap_or(true);
            let refusing = now < lim.recheck_at.load(SeqCst) && lim.room.load(SeqCst) < 1;
            if !has_next && !refusing {
                if let Ok(Some(l)) = reserve(&app, lim, None, 0, now).await {
                    if let Ok(mut n) = lim.next.lock() {
                        *n = Some(l);
                        lim.next_ready.store(true, SeqCst);
                    }
                }
            }
        }
        lim.prefetching.store(false, SeqCst);
    });
}

/// Charges `cost` credits to the org; `(generation, minute)` of the block
/// they came from.
async fn charge(
    app: &Arc<App>,
    org: &Arc<crate::state::OrgCtx>,
    cost: i64,
    now: i64,
) -> Result<(u64, i64), Refusal> {
    let lim = &org.limits;
    if cost <= 0 {
        return Ok((u64::MAX, 0));
    }
    if let Some(g) = lim.try_take(cost, now) {
        maybe_prefetch(app, org, left_of(lim.lease.load(SeqCst)), now);
        return Ok((g, lim.lease_minute.load(SeqCst)));
    }
    let _one = lim.refill.lock().await;
    if let Some(g) = lim.try_take(cost, now) {
        return Ok((g, lim.lease_minute.load(SeqCst)));
    }
    if now < lim.recheck_at.load(SeqCst) && cost > lim.room.load(SeqCst) {
        return Err(too_many(CREDITS_MSG, lim.retry_after_secs(now)));
    }
    // Retire the current block; what it has left goes back.
    let old = lim
        .lease
        .swap(pack(gen_of(lim.lease.load(SeqCst)) + 1, 0), SeqCst);
    let gen = (gen_of(old) + 1) & (u64::MAX >> GEN_SHIFT);
    let unspent = (left_of(old), lim.lease_minute.load(SeqCst));
    let ready = lim.next.lock().ok().and_then(|mut n| {
        lim.next_ready.store(false, SeqCst);
        n.take()
    });
    let install = |l: Lease| {
        lim.lease_minute.store(l.minute, SeqCst);
        lim.lease_expires.store(l.expires, SeqCst);
        lim.lease.store(pack(gen, l.amount - cost), SeqCst);
        (gen, l.minute)
    };
    match ready {
        Some(l) if l.expires > now && l.amount >= cost => {
            let got = install(l);
            if unspent.0 > 0 {
                let (app, org) = (app.clone(), org.clone());
                tokio::spawn(async move {
                    org.limits.give_back_block(&app, unspent.1, unspent.0).await;
                });
            }
            Ok(got)
        }
        other => {
            if let Some(l) = other {
                lim.give_back_block(app, l.minute, l.amount).await;
            }
            let refund = (unspent.0 > 0).then_some((unspent.1, unspent.0));
            match reserve(app, lim, refund, cost, now).await? {
                Some(l) => Ok(install(l)),
                None => Err(too_many(CREDITS_MSG, lim.retry_after_secs(now))),
            }
        }
    }
}

struct BudgetInner {
    app: Arc<App>,
    limiter: Arc<crate::state::OrgCtx>,
    max: i64,
    charges: Mutex<Vec<(u64, i64, i64)>>,
    slots: Arc<Slots>,
    heavy: Mutex<Option<SlotGuard>>,
    refused: AtomicBool,
    /// Retry-After of a refusal made by a handler through this budget.
    retry_after: AtomicI64,
}

/// The limits of one call, for handlers whose cost or weight depends on the
/// request (COQL's LIMIT, inserts of many records). Absent when limits are off.
#[derive(Clone)]
pub struct Budget(Arc<BudgetInner>);

impl Budget {
    fn charged(&self) -> i64 {
        self.0
            .charges
            .lock()
            .map(|c| c.iter().map(|x| x.2).sum())
            .unwrap_or(0)
    }

    /// Raises this call's cost to `total` credits (at most the operation's
    /// `max_credits`). Refused: the call is not charged at all.
    pub async fn charge(&self, total: i64) -> Result<(), ApiError> {
        let extra = total.min(self.0.max) - self.charged();
        if extra <= 0 {
            return Ok(());
        }
        let now = self.0.app.now();
        match charge(&self.0.app, &self.0.limiter, extra, now).await {
            Ok((g, m)) => {
                if let Ok(mut c) = self.0.charges.lock() {
                    c.push((g, m, extra));
                }
                Ok(())
            }
            Err(r) => {
                self.0.retry_after.store(r.retry_after, SeqCst);
                self.give_back().await;
                Err(r.error)
            }
        }
    }

    /// Marks the call heavy: it also needs one of the org's heavy slots.
    pub fn heavy(&self) -> Result<(), ApiError> {
        let mut h = self
            .0
            .heavy
            .lock()
            .map_err(|_| ApiError::internal("budget poisoned"))?;
        if h.is_some() {
            return Ok(());
        }
        let cap = self.0.limiter.limits.heavy_cap.load(SeqCst);
        match take_slot(&self.0.slots, true, cap) {
            Some(g) => {
                *h = Some(g);
                Ok(())
            }
            None => {
                drop(h);
                self.0.refused.store(true, SeqCst);
                Err(ApiError::new(Code::TooManyRequests).message(CONCURRENCY_MSG))
            }
        }
    }

    async fn give_back(&self) {
        self.0.refused.store(true, SeqCst);
        let charges = self
            .0
            .charges
            .lock()
            .map(|mut c| std::mem::take(&mut *c))
            .unwrap_or_default();
        for (g, m, n) in charges {
            self.0.limiter.limits.refund(&self.0.app, g, m, n).await;
        }
    }
}

/// More records than this in one insert, update or upsert make a heavy call.
pub const LARGE_WRITE: usize = 10;

/// Marks an insert/update/upsert of many records heavy (Zoho's sub-concurrency).
pub fn large_write(b: &Option<axum::Extension<Budget>>, records: usize) -> Result<(), ApiError> {
    match b {
        Some(axum::Extension(b)) if records > LARGE_WRITE => b.heavy(),
        _ => Ok(()),
    }
}

/// COQL's cost by its LIMIT: 1–200 → 1, 201–1000 → 2, more → 3.
pub fn coql_credits(limit: u64) -> i64 {
    match limit {
        0..=200 => 1,
        201..=1000 => 2,
        _ => 3,
    }
}

/// A call let through: holds its slots until dropped (the call ended, or
/// its client went away), and counts the call then.
pub struct Admission {
    budget: Budget,
    _slot: SlotGuard,
    api: &'static Operation,
}

impl Drop for Admission {
    fn drop(&mut self) {
        let b = &self.budget.0;
        let refused = b.refused.load(SeqCst);
        OrgLimiter::count(&b.slots, self.api, self.budget.charged(), refused);
    }
}

/// Lets a call in, or says why not. `None`: limits are off for the org.
pub async fn admit(
    app: &Arc<App>,
    org: &Arc<crate::state::OrgCtx>,
    op: &'static Operation,
    client: &Arc<str>,
) -> Result<Option<Admission>, Box<(Refusal, HeaderMap)>> {
    let lim = &org.limits;
    if !lim.enabled() {
        return Ok(None);
    }
    let now = app.now();
    let (concurrency, heavy_cap) = (lim.concurrency.load(SeqCst), lim.heavy_cap.load(SeqCst));
    let api = op;
    let slots = lim.slots_of(client);
    let refuse = |r: Refusal| {
        let mut h = HeaderMap::new();
        lim.headers(&mut h, now);
        h.insert(
            axum::http::header::RETRY_AFTER,
            HeaderValue::from(r.retry_after),
        );
        OrgLimiter::count(&slots, api, 0, true);
        Box::new((r, h))
    };
    let Some(slot) = take_slot(&slots, false, concurrency) else {
        return Err(refuse(too_many(CONCURRENCY_MSG, 1)));
    };
    let heavy = if op.heavy {
        match take_slot(&slots, true, heavy_cap) {
            Some(g) => Some(g),
            None => return Err(refuse(too_many(CONCURRENCY_MSG, 1))),
        }
    } else {
        None
    };
    let cost = op.credits.0 as i64;
    let (g, m) = charge(app, org, cost, now).await.map_err(refuse)?;
    Ok(Some(Admission {
        budget: Budget(Arc::new(BudgetInner {
            app: app.clone(),
            limiter: org.clone(),
            max: (op.credits.1 as i64).max(cost),
            charges: Mutex::new(vec![(g, m, cost)]),
            slots,
            heavy: Mutex::new(heavy),
            refused: AtomicBool::new(false),
            retry_after: AtomicI64::new(1),
        })),
        _slot: slot,
        api,
    }))
}

impl Admission {
    pub fn budget(&self) -> Budget {
        self.budget.clone()
    }

    /// Adds the limit headers to the call's response.
    pub fn finish(self, headers: &mut HeaderMap, status: u16) {
        let b = &self.budget.0;
        let lim = &b.limiter.limits;
        if status == 429 {
            b.refused.store(true, SeqCst);
        }
        let now = b.app.now();
        lim.headers(headers, now);
        if status == 429 && !headers.contains_key(axum::http::header::RETRY_AFTER) {
            headers.insert(
                axum::http::header::RETRY_AFTER,
                HeaderValue::from(b.retry_after.load(SeqCst).max(1)),
            );
        }
    }
}

/// Background work of the limits: re-reads settings, gives back expired
/// blocks, writes usage counts.
pub async fn run(app: Arc<App>) {
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(250));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut ticks = 0u64;
    loop {
        tick.tick().await;
        let now = app.now();
        for org in app.open_orgs() {
            let lim = &org.limits;
            if now - lim.checked_at.load(SeqCst) >= SETTINGS_MAX_AGE_MS
                || now < lim.checked_at.load(SeqCst)
            {
                lim.checked_at.store(now, SeqCst);
                match app.control.limit_settings(lim.org_id).await {
                    Ok(Some(s)) if s != lim.effective().settings => lim.apply(s),
                    Ok(_) => {}
                    Err(e) => tracing::warn!("reading limits: {e}"),
                }
            }
            lim.expire(&app, now).await;
        }
        // Usage counts are written once a second (a crash loses at most that
        // much of the usage view; credits themselves are charged when reserved).
        ticks += 1;
        if ticks.is_multiple_of(4) {
            flush(&app).await;
        }
    }
}

/// Writes this node's usage counts to the database.
pub async fn flush(app: &App) {
    let now = app.now();
    let minute = store::minute(now);
    for org in app.open_orgs() {
        let rows = org.limits.take_counts(minute);
        if rows.is_empty() {
            continue;
        }
        if let Err(e) = app
            .control
            .record_usage(rows.clone(), store::window_floor(now))
            .await
        {
            tracing::warn!("writing usage: {e}");
            org.limits.put_back(&rows);
        }
    }
}

/// What `GET /__zcrm/usage` and `zcrm admin usage` show.
pub fn usage_json(eff: &Effective, usage: &zcrm_store::limits::Usage) -> serde_json::Value {
    let lines = |v: &[zcrm_store::limits::UsageLine], key: &str| {
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

/// `GET /__zcrm/usage`: the caller's org's limits and its usage over the
/// window, by API and by client. Needs an access token of an Administrator
/// with `ZohoCRM.org.READ` (or `ZohoCRM.org.ALL`); not charged as a call.
pub async fn usage_endpoint(
    axum::extract::State(app): axum::extract::State<Arc<App>>,
    headers: HeaderMap,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    match usage_for(&app, &headers).await {
        Ok(v) => crate::error::json_response(200, &v),
        Err(e) => crate::error::HttpError(e).into_response(),
    }
}

async fn usage_for(app: &Arc<App>, headers: &HeaderMap) -> Result<serde_json::Value, ApiError> {
    let org = crate::auth::operator(app, headers, "ZohoCRM.org.READ", "API usage figures").await?;
    let now = app.now();
    flush(app).await;
    let usage = app
        .control
        .usage(org.org.id, store::window_floor(now))
        .await?;
    Ok(usage_json(&org.limits.effective(), &usage))
}
