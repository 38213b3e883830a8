//! Work behind the handlers, free of HTTP.

pub mod activities;
pub mod attachments;
pub mod bulk;
pub mod convert;
pub mod mass_update;
pub mod page_token;
pub mod records;
pub mod tags;
pub mod views;
pub mod writes;
