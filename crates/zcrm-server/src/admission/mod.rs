//! One call through the limits, the part that knows the server: [`admit`]
//! (the auth layer's check), the [`Budget`] a handler raises or marks heavy,
//! the [`Admission`] that holds the call's slots and counts it, and the
//! rate-limit headers. The background work a charge leaves is spawned here.

mod background;

pub use background::{flush, run};

use crate::limits::ledger::{After, Spent};
use crate::limits::slots::{AppSlots, SlotGuard};
use crate::limits::{too_many, Refusal, CONCURRENCY_MSG};
use crate::ops::Operation;
use crate::state::{App, OrgCtx};
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use zcrm_core::{ApiError, Code};

static X_LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
static X_REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");
static X_RESET: HeaderName = HeaderName::from_static("x-ratelimit-reset");
static X_CREDITS_REMAINING: HeaderName = HeaderName::from_static("x-api-credits-remaining");

/// Charges `cost` credits to the org, and starts what the charge leaves for
/// the background (reserving the next block, giving back a retired one).
async fn charge(app: &Arc<App>, org: &Arc<OrgCtx>, cost: i64, now: i64) -> Result<Spent, Refusal> {
    let (spent, after) = org.limits.ledger.charge(&app.control, cost, now).await?;
    match after {
        After::Nothing => {}
        After::Prefetch => {
            let (app, org) = (app.clone(), org.clone());
            tokio::spawn(async move {
                org.limits.ledger.prefetch(&app.control, || app.now()).await;
            });
        }
        After::GiveBack { minute, amount } => {
            let (app, org) = (app.clone(), org.clone());
            tokio::spawn(async move {
                org.limits
                    .ledger
                    .give_back_block(&app.control, minute, amount)
                    .await;
            });
        }
    }
    Ok(spent)
}

/// Adds the limit headers to a response.
fn put_headers(org: &OrgCtx, h: &mut HeaderMap, now: i64) {
    let f = org.limits.ledger.figures(now);
    let mut put = |name: &HeaderName, v: i64| {
        h.insert(name.clone(), HeaderValue::from(v));
    };
    put(&X_LIMIT, f.limit);
    put(&X_REMAINING, f.remaining);
    put(&X_RESET, f.reset_secs);
    // Zoho's own header, sent once half the day's credits are used.
    if f.spent * 2 >= f.limit {
        put(&X_CREDITS_REMAINING, f.remaining);
    }
}

struct BudgetInner {
    app: Arc<App>,
    org: Arc<OrgCtx>,
    max: i64,
    charges: Mutex<Vec<Spent>>,
    slots: Arc<AppSlots>,
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
            .map(|c| c.iter().map(|s| s.amount).sum())
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
        match charge(&self.0.app, &self.0.org, extra, now).await {
            Ok(s) => {
                if let Ok(mut c) = self.0.charges.lock() {
                    c.push(s);
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
        let cap = self.0.org.limits.slots.heavy_cap();
        match self.0.slots.take(true, cap) {
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
        for s in charges {
            self.0
                .org
                .limits
                .ledger
                .refund(&self.0.app.control, s)
                .await;
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
        b.slots.count(self.api, self.budget.charged(), refused);
    }
}

/// Lets a call in, or says why not. `None`: limits are off for the org.
pub async fn admit(
    app: &Arc<App>,
    org: &Arc<OrgCtx>,
    op: &'static Operation,
    client: &Arc<str>,
) -> Result<Option<Admission>, Box<(Refusal, HeaderMap)>> {
    let lim = &org.limits;
    if !lim.enabled() {
        return Ok(None);
    }
    let now = app.now();
    let (concurrency, heavy_cap) = (lim.slots.concurrency(), lim.slots.heavy_cap());
    let slots = lim.slots.of(client);
    let refuse = |r: Refusal| {
        let mut h = HeaderMap::new();
        put_headers(org, &mut h, now);
        h.insert(
            axum::http::header::RETRY_AFTER,
            HeaderValue::from(r.retry_after),
        );
        slots.count(op, 0, true);
        Box::new((r, h))
    };
    let Some(slot) = slots.take(false, concurrency) else {
        return Err(refuse(too_many(CONCURRENCY_MSG, 1)));
    };
    let heavy = if op.heavy {
        match slots.take(true, heavy_cap) {
            Some(g) => Some(g),
            None => return Err(refuse(too_many(CONCURRENCY_MSG, 1))),
        }
    } else {
        None
    };
    let cost = op.credits.0 as i64;
    let spent = charge(app, org, cost, now).await.map_err(refuse)?;
    Ok(Some(Admission {
        budget: Budget(Arc::new(BudgetInner {
            app: app.clone(),
            org: org.clone(),
            max: (op.credits.1 as i64).max(cost),
            charges: Mutex::new(vec![spent]),
            slots,
            heavy: Mutex::new(heavy),
            refused: AtomicBool::new(false),
            retry_after: AtomicI64::new(1),
        })),
        _slot: slot,
        api: op,
    }))
}

impl Admission {
    pub fn budget(&self) -> Budget {
        self.budget.clone()
    }

    /// Adds the limit headers to the call's response.
    pub fn finish(self, headers: &mut HeaderMap, status: u16) {
        let b = &self.budget.0;
        if status == 429 {
            b.refused.store(true, SeqCst);
        }
        put_headers(&b.org, headers, b.app.now());
        if status == 429 && !headers.contains_key(axum::http::header::RETRY_AFTER) {
            headers.insert(
                axum::http::header::RETRY_AFTER,
                HeaderValue::from(b.retry_after.load(SeqCst).max(1)),
            );
        }
    }
}
