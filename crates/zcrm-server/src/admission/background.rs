//! The node's background work for the limits: settings re-read, expired
//! blocks given back, usage counts written.

use crate::state::App;
use std::sync::Arc;

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
            org.limits.refresh(&app.control, now).await;
            org.limits.ledger.expire(&app.control, now).await;
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
    for org in app.open_orgs() {
        org.limits.flush(&app.control, now).await;
    }
}
