//! Typed request bodies: a body that does not fit its shape answers Zoho's
//! error naming the key and where it is, never echoing the input.

mod common;
use common::*;
use serde_json::json;

#[tokio::test]
async fn coql_body_errors_name_the_key() {
    let srv = TestServer::start().await;
    let t = srv.token(&format!("{ALL_SCOPES},ZohoCRM.coql.READ")).await;
    let r = srv
        .post("/crm/v8/coql", &t, json!({"select_query": 5}))
        .await;
    assert_error(&r, 400, "INVALID_DATA");
    assert_eq!(
        r.body["details"],
        json!({"api_name": "select_query", "json_path": "$.select_query", "expected_data_type": "text"})
    );
    let r = srv.post("/crm/v8/coql", &t, json!({})).await;
    assert_error(&r, 400, "MANDATORY_NOT_FOUND");
    assert_eq!(r.body["details"]["api_name"], "select_query");
    let r = srv
        .post(
            "/crm/v8/coql",
            &t,
            json!({"select_query": "select Last_Name from Leads where id is not null", "include_meta": ["nope"]}),
        )
        .await;
    assert_error(&r, 400, "INVALID_DATA");
    assert_eq!(r.body["details"]["supported_values"], json!(["fields"]));
    let long = "x".repeat(100_000);
    let r = srv
        .raw(
            reqwest::Method::POST,
            "/crm/v8/coql",
            &t,
            &format!("{{\"select_query\": \"{long}"),
        )
        .await;
    assert_error(&r, 400, "INVALID_DATA");
    assert!(r.body.to_string().len() < 500, "{}", r.body);
}
