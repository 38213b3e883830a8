//! Property tests for both query grammars: whatever a client sends, the
//! parsers answer with a query or a Zoho error, never a panic. Inputs are
//! random text and random sequences of each grammar's own tokens (which reach
//! deeper than random bytes). `PROPTEST_CASES=200000 cargo test -p zcrm-core
//! --release --test fuzz_parsers` runs them for minutes.

use proptest::prelude::*;
use std::sync::OnceLock;
use zcrm_core::meta::Catalog;
use zcrm_core::query::{coql, criteria};

fn catalog() -> &'static Catalog {
    static C: OnceLock<Catalog> = OnceLock::new();
    C.get_or_init(|| Catalog::standard().unwrap())
}

const CRITERIA_TOKENS: &[&str] = &[
    "(",
    ")",
    "(",
    ")",
    ":",
    ",",
    "\\",
    "\\(",
    "\\,",
    "and",
    "or",
    " ",
    "Last_Name",
    "Email",
    "Annual_Revenue",
    "Created_Time",
    "Owner",
    "Email_Opt_Out",
    "No_of_Employees",
    "Lead_Status",
    "equals",
    "not_equal",
    "starts_with",
    "ends_with",
    "contains",
    "not_contains",
    "in",
    "not_in",
    "between",
    "greater_than",
    "less_equal",
    "is_empty",
    "is_not_empty",
    "x",
    "1",
    "1.5",
    "-3",
    "true",
    "2024-01-01",
    "2024-01-01T00:00:00+05:30",
    "%",
    "_",
    "'",
    "é",
    "\u{0}",
];

const COQL_TOKENS: &[&str] = &[
    "select",
    "from",
    "where",
    "order by",
    "group by",
    "limit",
    "offset",
    "and",
    "or",
    "not",
    "like",
    "in",
    "between",
    "is",
    "null",
    "as",
    "asc",
    "desc",
    "(",
    ")",
    ",",
    ".",
    "=",
    "!=",
    "<",
    ">=",
    "'",
    "''",
    "'x'",
    "'%a%'",
    "'2024-01-01'",
    "'2024-01-01T00:00:00+05:30'",
    "1",
    "2000",
    "100000",
    "-1",
    "0",
    "true",
    "*",
    "Leads",
    "Contacts",
    "Deals",
    "Last_Name",
    "Account_Name",
    "Account_Name.Account_Name",
    "Account_Name.Parent_Account.Account_Name",
    "Owner.last_name",
    "Owner",
    "id",
    "Annual_Revenue",
    "Lead_Status",
    "Date_of_Birth",
    "COUNT(id)",
    "SUM(Annual_Revenue)",
    "max(",
    "avg(",
    ";",
    "union",
    "\\",
    "`",
    "\"",
    "#",
    "->",
    "What_Id->Leads.Last_Name",
    "What_Id->Leads",
    "Tasks",
    "What_Id->Accounts.Parent_Account.Account_Name",
];

/// 2,000 cases per property by default; `PROPTEST_CASES` for longer runs.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2000)
}

fn sentence(tokens: &'static [&'static str], max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(tokens), 0..max).prop_map(|v| v.join(" "))
}

fn glued(tokens: &'static [&'static str], max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(tokens), 0..max).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn criteria_never_panics_on_text(s in "\\PC{0,200}") {
        let m = catalog().module("Leads").unwrap();
        let _ = criteria::parse(catalog(), m, &s);
    }

    #[test]
    fn criteria_never_panics_on_tokens(s in glued(CRITERIA_TOKENS, 60)) {
        let m = catalog().module("Leads").unwrap();
        let _ = criteria::parse(catalog(), m, &s);
    }

    #[test]
    fn coql_never_panics_on_text(s in "\\PC{0,200}") {
        let _ = coql::parse(catalog(), &s);
    }

    #[test]
    fn coql_never_panics_on_tokens(s in sentence(COQL_TOKENS, 40)) {
        let _ = coql::parse(catalog(), &s);
    }

    #[test]
    fn coql_never_panics_on_near_valid(
        cols in sentence(&["Last_Name", "Account_Name.Account_Name", "COUNT(id)", "Owner.last_name", ",", "as 'a'"], 6),
        cond in sentence(COQL_TOKENS, 20),
        tail in sentence(&["order by", "Last_Name", "desc", ",", "limit", "5", "offset", "2", "group by"], 8),
    ) {
        let q = format!("select {cols} from Contacts where {cond} {tail}");
        let _ = coql::parse(catalog(), &q);
    }
}

/// Inputs that once broke a parser, kept as regressions.
#[test]
fn found_crashers_stay_fixed() {
    let m = catalog().module("Leads").unwrap();
    for s in [
        // a multi-byte character right after an escape
        "(Last_Name:equals:\\é)",
        "",
        // deep nesting
        &"(".repeat(10_000),
    ] {
        let _ = criteria::parse(catalog(), m, s);
    }
    for s in [
        "select Last_Name from Leads where Last_Name like '%'",
        "select Last_Name from Leads where Last_Name like '%%'",
        &format!(
            "select Last_Name from Leads where {}Last_Name = 'x'{}",
            "(".repeat(5000),
            ")".repeat(5000)
        ),
        "select Last_Name from Leads limit 9223372036854775807",
        "select Last_Name from Leads limit 1 offset 9223372036854775807",
        "select Last_Name from Leads where Annual_Revenue = -9223372036854775808",
    ] {
        let _ = coql::parse(catalog(), s);
    }
}
