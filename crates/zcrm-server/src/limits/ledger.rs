//! One org's credits on this node: the block ("lease") it spends from, the
//! next block reserved ahead, and the give-backs and refunds.
//!
//! The current block is one `AtomicU64` holding its generation (high bits)
//! and the credits left in it (low bits), so a call spends with a single
//! compare-and-swap. Every retirement of a block (refill, expiry) bumps the
//! generation: a charge remembers the generation it spent from, and a refund
//! goes back into the block only if it is still that one; otherwise to the
//! database, into the minute the credits were charged in.
//!
//! Nothing here spawns a task or knows the server: the database is a
//! `&Control` argument, and work a charge leaves for the background comes
//! back as [`After`] for the caller to run.

use super::{too_many, Refusal, CREDITS_MSG};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering::SeqCst};
use std::sync::Mutex;
use zcrm_store::control::Control;
use zcrm_store::limits as store;

/// A reserved block is spent or given back within this long.
pub const LEASE_MS: i64 = 1_000;
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

const GEN_SHIFT: u32 = 40;
const LEFT_MASK: u64 = (1 << GEN_SHIFT) - 1;
/// Generations wrap around within the bits they have.
const GEN_MASK: u64 = u64::MAX >> GEN_SHIFT;
/// The generation of a charge that spent nothing (cost 0): never refunded.
const NOT_CHARGED: u64 = u64::MAX;

fn pack(gen: u64, left: i64) -> u64 {
    (gen << GEN_SHIFT) | (left.max(0) as u64 & LEFT_MASK)
}
fn gen_of(v: u64) -> u64 {
    v >> GEN_SHIFT
}
fn left_of(v: u64) -> i64 {
    (v & LEFT_MASK) as i64
}

/// A reserved block not yet in use.
#[derive(Debug, Clone, Copy)]
struct Lease {
    minute: i64,
    expires: i64,
    amount: i64,
}

/// Credits one charge took, and where from (to give them back).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Spent {
    /// Generation of the block they came from.
    pub gen: u64,
    /// Minute the block was charged in, in the database.
    pub minute: i64,
    pub amount: i64,
}

/// Work a charge leaves for the background.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum After {
    Nothing,
    /// The block runs low: reserve the next one with [`Ledger::prefetch`]
    /// (which must run: it clears the flag that stops a second prefetch).
    Prefetch,
    /// A retired block's unspent credits: [`Ledger::give_back_block`].
    GiveBack {
        minute: i64,
        amount: i64,
    },
}

/// What the rate-limit headers say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Figures {
    /// The allowance.
    pub limit: i64,
    /// Credits spent in the window as this node knows it.
    pub spent: i64,
    pub remaining: i64,
    /// Seconds until the oldest credit in the window leaves it (0: none in it).
    pub reset_secs: i64,
}

/// One org's credit ledger on this node.
pub(crate) struct Ledger {
    org_id: i64,
    allowance: AtomicI64,
    /// The current block: generation and credits left (see [`pack`]).
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
    /// Held by whoever reserves or retires a block.
    refill: tokio::sync::Mutex<()>,
}

impl Ledger {
    pub(crate) fn new(org_id: i64, allowance: i64) -> Ledger {
        Ledger {
            org_id,
            allowance: AtomicI64::new(allowance),
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
            refill: tokio::sync::Mutex::new(()),
        }
    }

    /// A new allowance (the org's settings changed). A block reserved under
    /// the old one is not spent under the new one: the next call gives it
    /// back and reserves afresh.
    pub(crate) fn set_allowance(&self, credits: i64) {
        self.allowance.store(credits, SeqCst);
        self.recheck_at.store(0, SeqCst);
        self.lease_expires.store(0, SeqCst);
        if let Ok(mut n) = self.next.lock() {
            if let Some(l) = n.as_mut() {
                l.expires = 0;
            }
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

    /// Charges `cost` credits: from the current block, else from the next
    /// one or a new reservation (waiting for the database).
    pub(crate) async fn charge(
        &self,
        control: &Control,
        cost: i64,
        now: i64,
    ) -> Result<(Spent, After), Refusal> {
        if cost <= 0 {
            let none = Spent {
                gen: NOT_CHARGED,
                minute: 0,
                amount: 0,
            };
            return Ok((none, After::Nothing));
        }
        let spent = |gen, minute| Spent {
            gen,
            minute,
            amount: cost,
        };
        if let Some(g) = self.try_take(cost, now) {
            let after = if self.wants_prefetch(now) {
                After::Prefetch
            } else {
                After::Nothing
            };
            return Ok((spent(g, self.lease_minute.load(SeqCst)), after));
        }
        let _one = self.refill.lock().await;
        if let Some(g) = self.try_take(cost, now) {
            return Ok((spent(g, self.lease_minute.load(SeqCst)), After::Nothing));
        }
        if now < self.recheck_at.load(SeqCst) && cost > self.room.load(SeqCst) {
            return Err(too_many(CREDITS_MSG, self.retry_after_secs(now)));
        }
        // Retire the current block; what it has left goes back.
        let old = self.retire();
        let gen = (gen_of(old) + 1) & GEN_MASK;
        let unspent = (left_of(old), self.lease_minute.load(SeqCst));
        let ready = self.next.lock().ok().and_then(|mut n| {
            self.next_ready.store(false, SeqCst);
            n.take()
        });
        let install = |l: Lease| {
            self.lease_minute.store(l.minute, SeqCst);
            self.lease_expires.store(l.expires, SeqCst);
            self.lease.store(pack(gen, l.amount - cost), SeqCst);
            spent(gen, l.minute)
        };
        match ready {
            Some(l) if l.expires > now && l.amount >= cost => {
                let after = match unspent {
                    (amount, minute) if amount > 0 => After::GiveBack { minute, amount },
                    _ => After::Nothing,
                };
                Ok((install(l), after))
            }
            other => {
                if let Some(l) = other {
                    self.give_back_block(control, l.minute, l.amount).await;
                }
                let refund = (unspent.0 > 0).then_some((unspent.1, unspent.0));
                match self.reserve(control, refund, cost, now).await? {
                    Some(l) => Ok((install(l), After::Nothing)),
                    None => Err(too_many(CREDITS_MSG, self.retry_after_secs(now))),
                }
            }
        }
    }

    /// Ends the current block (the next generation, nothing left); the old
    /// word. Under the refill lock, so the generation does not move meanwhile.
    fn retire(&self) -> u64 {
        let gen = (gen_of(self.lease.load(SeqCst)) + 1) & GEN_MASK;
        self.lease.swap(pack(gen, 0), SeqCst)
    }

    /// Whether the block runs low or is about to expire and none is on its
    /// way; `true` claims the prefetch (see [`After::Prefetch`]).
    fn wants_prefetch(&self, now: i64) -> bool {
        let left = left_of(self.lease.load(SeqCst));
        let low = left * 2 < self.block.load(SeqCst)
            || now + LEASE_MS / 4 >= self.lease_expires.load(SeqCst);
        low && !self.next_ready.load(SeqCst) && !self.prefetching.swap(true, SeqCst)
    }

    /// Reserves the next block, unless one is ready or the org is refused
    /// for now. `now` is read once the refill lock is held.
    pub(crate) async fn prefetch(&self, control: &Control, now: impl FnOnce() -> i64) {
        {
            let _one = self.refill.lock().await;
            let now = now();
            let has_next = self.next.lock().map(|n| n.is_some()).unwrap_or(true);
            let refusing = now < self.recheck_at.load(SeqCst) && self.room.load(SeqCst) < 1;
            if !has_next && !refusing {
                if let Ok(Some(l)) = self.reserve(control, None, 0, now).await {
                    if let Ok(mut n) = self.next.lock() {
                        *n = Some(l);
                        self.next_ready.store(true, SeqCst);
                    }
                }
            }
        }
        self.prefetching.store(false, SeqCst);
    }

    /// Reserves a block in the database: the next one (`need` 0, in the
    /// background) or the one a waiting call needs now. Under the refill lock.
    async fn reserve(
        &self,
        control: &Control,
        refund: Option<(i64, i64)>,
        need: i64,
        now: i64,
    ) -> Result<Option<Lease>, Refusal> {
        let allowance = self.allowance.load(SeqCst);
        let estimate = allowance - self.spent();
        let want = (estimate / 8).clamp(need.max(1), max_block().max(need));
        let r = control
            .reserve_credits(
                self.org_id,
                store::minute(now),
                store::window_floor(now),
                refund,
                need.max(1),
                want,
                allowance,
            )
            .await
            .map_err(|e| Refusal {
                error: crate::error::store(e),
                retry_after: 1,
            })?;
        self.used.store(r.used, SeqCst);
        self.oldest
            .store(r.oldest_minute.unwrap_or(i64::MIN), SeqCst);
        if r.granted == 0 {
            self.room.store((allowance - r.used).max(0), SeqCst);
            self.recheck_at.store(now + RECHECK_MS, SeqCst);
            return Ok(None);
        }
        self.block.store(r.granted, SeqCst);
        Ok(Some(Lease {
            minute: store::minute(now),
            expires: now + LEASE_MS,
            amount: r.granted,
        }))
    }

    /// Gives back credits of a call that was refused after being charged:
    /// into the block they came from if it is still current, else to the
    /// database.
    pub(crate) async fn refund(&self, control: &Control, s: Spent) {
        if s.amount <= 0 || s.gen == NOT_CHARGED {
            return;
        }
        let mut cur = self.lease.load(SeqCst);
        while gen_of(cur) == s.gen {
            let back = pack(s.gen, left_of(cur) + s.amount);
            match self.lease.compare_exchange_weak(cur, back, SeqCst, SeqCst) {
                Ok(_) => return,
                Err(v) => cur = v,
            }
        }
        match control
            .refund_credits(self.org_id, s.minute, s.amount)
            .await
        {
            Ok(()) => {
                self.used.fetch_sub(s.amount, SeqCst);
                self.room.fetch_add(s.amount, SeqCst);
            }
            Err(e) => tracing::warn!("refunding credits: {e}"),
        }
    }

    /// Seconds until the oldest credit in the window leaves it.
    pub(crate) fn retry_after_secs(&self, now: i64) -> i64 {
        match self.oldest.load(SeqCst) {
            i64::MIN => 1,
            m => ((store::bucket_expiry_ms(m) - now + 999) / 1000).max(1),
        }
    }

    /// Credits spent in the window as this node knows it (its unspent blocks not counted).
    fn spent(&self) -> i64 {
        let next = self
            .next
            .lock()
            .ok()
            .and_then(|n| n.map(|l| l.amount))
            .unwrap_or(0);
        (self.used.load(SeqCst) - left_of(self.lease.load(SeqCst)) - next).max(0)
    }

    /// The figures of the rate-limit headers.
    pub(crate) fn figures(&self, now: i64) -> Figures {
        let limit = self.allowance.load(SeqCst);
        let spent = self.spent();
        let reset_secs = match self.oldest.load(SeqCst) {
            i64::MIN => 0,
            m => ((store::bucket_expiry_ms(m) - now + 999) / 1000).max(0),
        };
        Figures {
            limit,
            spent,
            remaining: (limit - spent).max(0),
            reset_secs,
        }
    }

    /// Gives back expired blocks nobody is spending (the background tick).
    pub(crate) async fn expire(&self, control: &Control, now: i64) {
        let stale = self.next.lock().ok().and_then(|mut n| {
            let stale = n.take_if(|l| l.expires <= now);
            if stale.is_some() {
                self.next_ready.store(false, SeqCst);
            }
            stale
        });
        if let Some(l) = stale {
            self.give_back_block(control, l.minute, l.amount).await;
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
        let unspent = left_of(self.retire());
        let minute = self.lease_minute.load(SeqCst);
        self.give_back_block(control, minute, unspent).await;
    }

    /// Returns an unspent block to the database.
    pub(crate) async fn give_back_block(&self, control: &Control, minute: i64, amount: i64) {
        if amount <= 0 {
            return;
        }
        match control.refund_credits(self.org_id, minute, amount).await {
            Ok(()) => {
                self.used.fetch_sub(amount, SeqCst);
            }
            Err(e) => tracing::warn!("giving back credits: {e}"),
        }
    }
}

/// Views for the tests: the current block's word, generation and credits
/// left, and the size of the last block reserved.
#[cfg(test)]
impl Ledger {
    pub(crate) fn word(&self) -> u64 {
        self.lease.load(SeqCst)
    }
    pub(crate) fn generation(&self) -> u64 {
        gen_of(self.word())
    }
    pub(crate) fn left(&self) -> i64 {
        left_of(self.word())
    }
    pub(crate) fn block_size(&self) -> i64 {
        self.block.load(SeqCst)
    }
    pub(crate) fn next_ready(&self) -> bool {
        self.next_ready.load(SeqCst)
    }
    pub(crate) fn spend_now(&self, cost: i64, now: i64) -> Option<u64> {
        self.try_take(cost, now)
    }
}
