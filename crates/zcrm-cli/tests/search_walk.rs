//! A filtered page in id order is first looked for by walking the newest
//! (or oldest) 20,000 rows in id order; the usual plan answers when the walk
//! falls short. Either way the page must be exactly the records the filter
//! matches, in order: checked here against COQL (a different path) over more
//! records than the walk's window, for a common prefix (the walk answers), a
//! rare one (the usual plan answers), pages past the first and both orders.

mod common;
use common::*;
use serde_json::json;

fn ids(r: &Resp) -> Vec<String> {
    r.body["data"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|d| d["id"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn walked_pages_are_the_filters_own() {
    let srv = TestServer::start().await;
    let t = srv.token(&format!("{ALL_SCOPES},ZohoCRM.coql.READ")).await;
    srv.admin_cmd(&[
        "seed",
        "--leads",
        "26000",
        "--accounts",
        "0",
        "--contacts",
        "0",
    ])
    .expect("seed");
    for (prefix, order) in [
        ("Smi", "desc"),
        ("Smi", "asc"),
        ("Wils", "desc"),
        ("Ann.Kim12", "desc"),
    ] {
        let field = if prefix.contains('.') {
            "Email"
        } else {
            "Last_Name"
        };
        let q = format!(
            "select Last_Name from Leads where {field} like '{prefix}%' order by id {order} limit 600"
        );
        let all = ids(&srv
            .post("/crm/v8/coql", &t, json!({ "select_query": q }))
            .await);
        assert!(!all.is_empty(), "{prefix}: COQL found none");
        for page in 1..=3 {
            let r = srv
                .get(
                    &format!(
                        "/crm/v8/Leads/search?criteria=({field}:starts_with:{prefix})\
                         &fields=Last_Name&per_page=200&page={page}&sort_order={order}"
                    ),
                    &t,
                )
                .await;
            let want: Vec<String> = all
                .iter()
                .skip((page - 1) * 200)
                .take(200)
                .cloned()
                .collect();
            if want.is_empty() {
                assert_eq!(r.status, 204, "{prefix} {order} page {page}");
                continue;
            }
            assert_eq!(ids(&r), want, "{prefix} {order} page {page}");
        }
    }
}
