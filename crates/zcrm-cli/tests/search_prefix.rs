//! `starts_with` (search criteria, COQL `like 'x%'`) is compiled as a range
//! on the case-insensitive index beside the LIKE: the range must never lose
//! a record the LIKE would match, whatever the prefix's case and last
//! character, and must not let through one it would not.

mod common;
use common::*;
use serde_json::json;
use std::collections::BTreeSet;

const NAMES: [&str; 9] = [
    "Smith", "SMYTHE", "smi", "Smj", "Sm{", "O'Brien", "O Brien", "Zz", "Ünal",
];

fn names(r: &Resp) -> BTreeSet<String> {
    r.body["data"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|d| d["Last_Name"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[tokio::test]
async fn prefixes_match_exactly_what_like_matches() {
    let srv = TestServer::start().await;
    let t = srv.token(&format!("{ALL_SCOPES},ZohoCRM.coql.READ")).await;
    let records = NAMES.iter().map(|n| json!({ "Last_Name": n })).collect();
    srv.create("Leads", &t, records).await;
    let cases: &[(&str, &[&str])] = &[
        ("smi", &["Smith", "smi"]),
        ("SM", &["Smith", "SMYTHE", "smi", "Smj", "Sm{"]),
        ("smz", &[]),
        ("sm{", &["Sm{"]),
        ("o'", &["O'Brien"]),
        ("o ", &["O Brien"]),
        ("z", &["Zz"]),
        ("zz", &["Zz"]),
        ("Ü", &["Ünal"]),
    ];
    for (prefix, want) in cases {
        let want: BTreeSet<String> = want.iter().map(|s| s.to_string()).collect();
        let criteria = format!("(Last_Name:starts_with:{prefix})");
        let r = srv
            .get(
                &format!("/crm/v8/Leads/search?criteria={}", enc(&criteria)),
                &t,
            )
            .await;
        let status = if want.is_empty() { 204 } else { 200 };
        assert_eq!(r.status, status, "search {prefix:?}: {}", r.body);
        assert_eq!(names(&r), want, "search {prefix:?}");
        let q = format!(
            "select Last_Name from Leads where Last_Name like '{}%'",
            prefix.replace('\'', "\\'")
        );
        let r = srv
            .post("/crm/v8/coql", &t, json!({ "select_query": q }))
            .await;
        assert_eq!(r.status, status, "COQL {prefix:?}: {}", r.body);
        assert_eq!(names(&r), want, "COQL {prefix:?}");
    }
}
