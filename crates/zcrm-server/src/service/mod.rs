//! Work behind the handlers, free of HTTP.

pub mod activities;
pub mod records;
