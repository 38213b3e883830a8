//! Zoho's figures by edition, and overrides.

use super::settings;
use crate::limits::{edition_concurrency, edition_credits, Effective};

#[test]
fn figures_follow_zohos_table() {
    assert_eq!(edition_credits("Enterprise", 1), 51_000);
    assert_eq!(edition_credits("enterprise", 10_000), 5_000_000);
    assert_eq!(edition_credits("Free", 50), 5_000);
    assert_eq!(edition_credits("Standard", 1_000), 100_000);
    assert_eq!(edition_credits("Professional", 10), 55_000);
    assert_eq!(edition_credits("Ultimate", 10), 70_000);
    assert_eq!(edition_credits("Enterprise", -5), 50_000);
    assert_eq!(edition_concurrency("Free"), 5);
    assert_eq!(edition_concurrency("Standard"), 10);
    assert_eq!(edition_concurrency("Professional"), 15);
    assert_eq!(edition_concurrency("Enterprise"), 20);
    assert_eq!(edition_concurrency("CRM Plus"), 25);
}

#[test]
fn overrides_win_and_the_heavy_cap_is_at_most_ten() {
    let e = Effective::of(settings(1, 123, 30));
    assert_eq!((e.credits, e.concurrency, e.heavy), (123, 30, 10));
    let e = Effective::of(settings(1, 7, 4));
    assert_eq!((e.credits, e.concurrency, e.heavy), (7, 4, 4));
    let mut s = settings(1, 0, 0);
    s.credits_override = None;
    s.concurrency_override = None;
    s.edition = "Professional".into();
    s.users = 4;
    let e = Effective::of(s);
    assert_eq!((e.credits, e.concurrency, e.heavy), (52_000, 15, 10));
}
