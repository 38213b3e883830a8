//! Work behind the handlers, free of HTTP.

pub mod records;
