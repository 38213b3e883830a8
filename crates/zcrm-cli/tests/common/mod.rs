//! The test kit (`zcrm-testkit`: a server per test, in-process or the `zcrm`
//! binary, and the calls a Zoho integration makes) and the helpers these
//! tests share.
#![allow(dead_code, unused_imports)]

pub mod bulk;
pub mod consent;

pub use zcrm_testkit::*;
