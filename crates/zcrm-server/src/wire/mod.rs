//! The wire: how zcrm's data is written in Zoho's JSON, shared by handlers
//! and workers (a notification payload renders a record as `GET` does).

pub mod body;
pub mod download;
pub mod fields;
pub mod item;
pub mod items;
pub mod record;

pub use body::Body;
pub use item::Success;
