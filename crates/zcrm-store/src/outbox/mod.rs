//! Notifications: watch channels, the transactional outbox and its delivery
//! log. Events are inserted by [`enqueue`] inside the same write transaction
//! as the record change, so a change and its notifications commit (or vanish)
//! together; a dispatcher claims due rows with [`OrgStore::claim_due`] and
//! reports each attempt with [`OrgStore::finish_attempts`].
//!
//! The tables are `migrate::org`'s. `enqueue`: events of a write, with the
//! changed values; `channels`: the subscriptions; `claim`: claiming due events under a
//! lease and recording attempts; `log`: the delivery log and its pruning.
//!
//! [`OrgStore::claim_due`]: crate::records::OrgStore::claim_due
//! [`OrgStore::finish_attempts`]: crate::records::OrgStore::finish_attempts

mod channels;
mod claim;
mod enqueue;
mod log;
#[cfg(test)]
mod tests;

pub use channels::Channel;
pub use claim::{Due, Finished, LEASE_MS};
pub use enqueue::{enqueue, selected_fields, Change, Op, Values};
pub use log::Attempt;
