//! The credit ledger: spending from a block, running out, generations,
//! blocks shrinking, give-backs and refunds, against the real database.

use super::{backends, charged, T0};
use crate::limits::ledger::{After, Ledger, Spent};
use crate::limits::{Refusal, LEASE_MS};
use zcrm_core::Code;
use zcrm_store::control::Control;
use zcrm_store::limits as store;

const ORG: i64 = 7;

async fn take(l: &Ledger, c: &Control, cost: i64, now: i64) -> (Spent, After) {
    match l.charge(c, cost, now).await {
        Ok(x) => x,
        Err(r) => panic!("refused: {:?}", r.error),
    }
}

async fn refused(l: &Ledger, c: &Control, cost: i64, now: i64) -> Refusal {
    match l.charge(c, cost, now).await {
        Ok(x) => panic!("charged: {x:?}"),
        Err(r) => r,
    }
}

#[tokio::test]
async fn calls_spend_a_reserved_block_with_compare_and_swap() {
    for db in backends().await {
        let (c, b) = (&db.control, db.backend);
        let l = Ledger::new(ORG, 800);
        // The first call reserves an eighth of what is left, and spends one.
        let (s, after) = take(&l, c, 1, T0).await;
        assert_eq!(s.amount, 1, "{b}");
        assert_eq!(s.minute, store::minute(T0), "{b}");
        assert_eq!(after, After::Nothing, "{b}");
        assert_eq!((l.block_size(), l.left()), (100, 99), "{b}");
        assert_eq!(charged(c, ORG, T0).await, 100, "{b}");
        // Eight threads race for the rest: every credit goes exactly once,
        // all from that block, and the database is not asked again.
        let got: Vec<Vec<u64>> = std::thread::scope(|sc| {
            let spenders: Vec<_> = (0..8)
                .map(|_| {
                    sc.spawn(|| std::iter::from_fn(|| l.spend_now(1, T0 + 1)).collect::<Vec<u64>>())
                })
                .collect();
            spenders.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let all: Vec<u64> = got.into_iter().flatten().collect();
        assert_eq!(all.len(), 99, "{b}");
        assert!(all.iter().all(|&g| g == s.gen), "{b}");
        assert_eq!(l.left(), 0, "{b}");
        assert_eq!(charged(c, ORG, T0).await, 100, "{b}");
        // A cost larger than what is left is not taken from the block.
        assert_eq!(l.spend_now(1, T0 + 2), None, "{b}");
    }
}

#[tokio::test]
async fn a_block_is_not_spent_once_its_lease_expires() {
    for db in backends().await {
        let (c, b) = (&db.control, db.backend);
        let l = Ledger::new(ORG, 800);
        take(&l, c, 1, T0).await;
        assert!(l.spend_now(1, T0 + LEASE_MS - 1).is_some(), "{b}");
        assert_eq!(l.spend_now(1, T0 + LEASE_MS), None, "{b}");
        assert_eq!(l.left(), 98, "{b}");
    }
}

#[tokio::test]
async fn running_out_refuses_until_credits_leave_the_window() {
    for db in backends().await {
        let (c, b) = (&db.control, db.backend);
        let l = Ledger::new(ORG, 10);
        for i in 0..10 {
            take(&l, c, 1, T0 + i).await;
        }
        assert_eq!(charged(c, ORG, T0).await, 10, "{b}");
        let r = refused(&l, c, 1, T0 + 20).await;
        assert_eq!(r.error.code, Code::TooManyRequests, "{b}");
        // Until the minute of the oldest credit leaves the 24-hour window.
        let expiry = store::bucket_expiry_ms(store::minute(T0));
        assert_eq!(r.retry_after, (expiry - (T0 + 20) + 999) / 1000, "{b}");
        assert!(r.retry_after > 86_400, "{b}");
        assert_eq!(charged(c, ORG, T0).await, 10, "{b}");
        // Credits freed behind this node's back (another node's give-back)
        // are seen at the next re-check, not on every refused call.
        c.refund_credits(ORG, store::minute(T0), 2).await.unwrap();
        refused(&l, c, 1, T0 + 30).await;
        take(&l, c, 1, T0 + 20 + 250).await;
        take(&l, c, 1, T0 + 20 + 251).await;
        refused(&l, c, 1, T0 + 20 + 252).await;
        assert_eq!(charged(c, ORG, T0).await, 10, "{b}");
        // A day later the window is empty again.
        let later = expiry + 1;
        take(&l, c, 1, later).await;
        assert_eq!(charged(c, ORG, later).await, 1, "{b}");
    }
}

#[tokio::test]
async fn blocks_shrink_as_the_allowance_runs_out_and_never_overspend() {
    for db in backends().await {
        let (c, b) = (&db.control, db.backend);
        let l = Ledger::new(ORG, 800);
        let (mut sizes, mut gen, mut calls) = (Vec::new(), None, 0);
        while l.charge(c, 1, T0).await.is_ok() {
            calls += 1;
            if gen != Some(l.generation()) {
                gen = Some(l.generation());
                sizes.push(l.block_size());
            }
        }
        assert_eq!(calls, 800, "{b}");
        assert_eq!(charged(c, ORG, T0).await, 800, "{b}");
        assert_eq!(sizes[..3], [100, 87, 76], "{b}");
        assert!(sizes.windows(2).all(|w| w[1] <= w[0]), "{b}: {sizes:?}");
        assert_eq!(sizes.last(), Some(&1), "{b}");
        assert_eq!(sizes.iter().sum::<i64>(), 800, "{b}");
    }
}

#[tokio::test]
async fn two_nodes_sharing_the_database_spend_the_allowance_once() {
    for db in backends().await {
        let (c, b) = (&db.control, db.backend);
        let (one, two) = (Ledger::new(ORG, 300), Ledger::new(ORG, 300));
        let mut calls = 0;
        let mut open = (true, true);
        while open.0 || open.1 {
            open.0 = open.0 && one.charge(c, 1, T0).await.is_ok();
            open.1 = open.1 && two.charge(c, 1, T0).await.is_ok();
            calls += i32::from(open.0) + i32::from(open.1);
        }
        assert_eq!(calls, 300, "{b}");
        assert_eq!(charged(c, ORG, T0).await, 300, "{b}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn nodes_charging_at_once_spend_the_allowance_once() {
    for db in backends().await {
        let (c, b) = (&db.control, db.backend);
        let nodes: Vec<Ledger> = (0..4).map(|_| Ledger::new(ORG, 500)).collect();
        // Each node's calls one after another, the nodes at once: their
        // reservations race in the database (on PostgreSQL, in parallel
        // transactions that only the org's row lock orders).
        let spend = nodes.iter().map(|l| async move {
            let mut calls = 0;
            while l.charge(c, 1, T0).await.is_ok() {
                calls += 1;
            }
            calls
        });
        let calls = futures::future::join_all(spend).await;
        assert_eq!(calls.iter().sum::<i32>(), 500, "{b}: {calls:?}");
        assert_eq!(charged(c, ORG, T0).await, 500, "{b}");
    }
}

#[tokio::test]
async fn a_refill_changes_the_generation_so_old_charges_refund_to_the_database() {
    for db in backends().await {
        let (c, b) = (&db.control, db.backend);
        let l = Ledger::new(ORG, 800);
        let (old, _) = take(&l, c, 1, T0).await;
        let old_word = l.word();
        assert_eq!(l.left(), 99, "{b}");
        // The block expires; a call then reserves a new one and spends one
        // credit from it: as many left as before, but a new generation, so
        // a compare-and-swap (or refund) holding the old word cannot land.
        let t1 = T0 + LEASE_MS;
        let (new, _) = take(&l, c, 1, t1).await;
        assert_ne!(new.gen, old.gen, "{b}");
        assert_eq!(l.left(), 87 - 1, "{b}");
        take(&l, c, 1, t1).await;
        let before = (l.left(), charged(c, ORG, t1).await);
        assert_ne!(l.word(), old_word, "{b}");
        // The old charge's credit goes back to the database, not the block.
        l.refund(c, old).await;
        assert_eq!(l.left(), before.0, "{b}");
        assert_eq!(charged(c, ORG, t1).await, before.1 - 1, "{b}");
        // The new one's goes back into the block it came from.
        l.refund(c, new).await;
        assert_eq!(l.left(), before.0 + 1, "{b}");
        assert_eq!(charged(c, ORG, t1).await, before.1 - 1, "{b}");
    }
}

#[tokio::test]
async fn an_unspent_block_goes_back_when_its_lease_expires() {
    for db in backends().await {
        let (c, b) = (&db.control, db.backend);
        let l = Ledger::new(ORG, 800);
        let (s, _) = take(&l, c, 1, T0).await;
        l.expire(c, T0 + LEASE_MS - 1).await;
        assert_eq!(charged(c, ORG, T0).await, 100, "{b}");
        l.expire(c, T0 + LEASE_MS).await;
        assert_eq!(charged(c, ORG, T0).await, 1, "{b}");
        assert_eq!(l.left(), 0, "{b}");
        assert_ne!(l.generation(), s.gen, "{b}");
        // Nothing is given back twice.
        l.expire(c, T0 + 2 * LEASE_MS).await;
        assert_eq!(charged(c, ORG, T0).await, 1, "{b}");
        assert_eq!(l.figures(T0 + LEASE_MS).spent, 1, "{b}");
    }
}

#[tokio::test]
async fn a_new_allowance_gives_the_block_back_on_the_next_call() {
    for db in backends().await {
        let (c, b) = (&db.control, db.backend);
        let l = Ledger::new(ORG, 800);
        take(&l, c, 1, T0).await;
        l.set_allowance(800);
        assert_eq!(l.spend_now(1, T0 + 1), None, "{b}");
        // The next call's reservation refunds the 99 unspent in the same
        // transaction (and sizes its block on what it knew before: 700 left).
        take(&l, c, 1, T0 + 1).await;
        assert_eq!(l.block_size(), 87, "{b}");
        assert_eq!(charged(c, ORG, T0).await, 1 + 87, "{b}");
    }
}

#[tokio::test]
async fn a_block_reserved_ahead_is_installed_and_the_old_ones_rest_given_back() {
    for db in backends().await {
        let (c, b) = (&db.control, db.backend);
        let l = Ledger::new(ORG, 800);
        take(&l, c, 1, T0).await;
        // Half the block spent: the next call asks for the next block, once.
        let mut asked = 0;
        for _ in 0..60 {
            if take(&l, c, 1, T0 + 1).await.1 == After::Prefetch {
                asked += 1;
            }
        }
        assert_eq!(asked, 1, "{b}");
        assert_eq!(l.left(), 39, "{b}");
        l.prefetch(c, || T0 + 2).await;
        assert!(l.next_ready(), "{b}");
        // 800 - 61 spent: a block of 92, reserved now, not yet used.
        assert_eq!(charged(c, ORG, T0).await, 100 + 92, "{b}");
        assert_eq!(l.figures(T0 + 2).spent, 61, "{b}");
        // A call costing more than is left moves to it without the
        // database and leaves the 39 to give back in the background.
        let (s, after) = take(&l, c, 40, T0 + 3).await;
        assert_eq!(s.amount, 40, "{b}");
        assert_eq!(l.left(), 92 - 40, "{b}");
        let minute = store::minute(T0);
        assert_eq!(after, After::GiveBack { minute, amount: 39 }, "{b}");
        assert!(!l.next_ready(), "{b}");
        assert_eq!(charged(c, ORG, T0).await, 192, "{b}");
        l.give_back_block(c, minute, 39).await;
        assert_eq!(charged(c, ORG, T0).await, 153, "{b}");
        assert_eq!(l.figures(T0 + 3).spent, 101, "{b}");
    }
}

#[tokio::test]
async fn a_block_reserved_ahead_and_never_used_goes_back_when_it_expires() {
    for db in backends().await {
        let (c, b) = (&db.control, db.backend);
        let l = Ledger::new(ORG, 800);
        take(&l, c, 1, T0).await;
        l.prefetch(c, || T0 + 1).await;
        assert!(l.next_ready(), "{b}");
        let reserved = charged(c, ORG, T0).await;
        assert!(reserved > 100, "{b}");
        l.expire(c, T0 + 1 + LEASE_MS).await;
        assert!(!l.next_ready(), "{b}");
        assert_eq!(charged(c, ORG, T0).await, 1, "{b}");
    }
}

#[tokio::test]
async fn refunds_go_back_where_the_credits_came_from() {
    for db in backends().await {
        let (c, b) = (&db.control, db.backend);
        let l = Ledger::new(ORG, 800);
        let (s, _) = take(&l, c, 3, T0).await;
        assert_eq!(l.left(), 97, "{b}");
        l.refund(c, s).await;
        assert_eq!(l.left(), 100, "{b}");
        assert_eq!(charged(c, ORG, T0).await, 100, "{b}");
        // A call that cost nothing has nothing to give back.
        let (none, _) = take(&l, c, 0, T0).await;
        assert_eq!(none.amount, 0, "{b}");
        l.refund(c, none).await;
        assert_eq!(l.left(), 100, "{b}");
    }
}

#[tokio::test]
async fn a_refund_to_the_database_lets_a_refused_org_in_before_the_recheck() {
    for db in backends().await {
        let (c, b) = (&db.control, db.backend);
        let l = Ledger::new(ORG, 10);
        let (first, _) = take(&l, c, 1, T0).await;
        for i in 1..10 {
            take(&l, c, 1, T0 + i).await;
        }
        refused(&l, c, 1, T0 + 10).await;
        l.refund(c, first).await;
        assert_eq!(charged(c, ORG, T0).await, 9, "{b}");
        take(&l, c, 1, T0 + 11).await;
        assert_eq!(charged(c, ORG, T0).await, 10, "{b}");
    }
}
