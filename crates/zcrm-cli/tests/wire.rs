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

#[tokio::test]
async fn tag_body_errors_name_the_key_and_item() {
    let srv = TestServer::start().await;
    let t = srv.token(ALL_SCOPES).await;
    let r = srv
        .post(
            "/crm/v8/settings/tags?module=Leads",
            &t,
            json!({"tags": [{"name": "ok"}, {"name": 5}]}),
        )
        .await;
    assert_error(&r, 400, "INVALID_DATA");
    assert_eq!(
        r.body["details"],
        json!({"api_name": "name", "json_path": "$.tags[1].name", "expected_data_type": "text"})
    );
    let ids = srv
        .create("Leads", &t, vec![json!({"Last_Name": "Tagged"})])
        .await;
    let r = srv
        .post(
            "/crm/v8/Leads/actions/add_tags",
            &t,
            json!({"ids": [ids[0], "not-an-id"], "tags": [{"name": "vip"}]}),
        )
        .await;
    assert_error(&r, 400, "INVALID_DATA");
    assert_eq!(r.body["details"]["json_path"], "$.ids[1]");
    // Nothing was tagged by the refused call.
    let r = srv
        .post(
            "/crm/v8/Leads/actions/add_tags",
            &t,
            json!({"ids": [ids[0]], "tags": [{"name": "vip"}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test]
async fn a_bad_watch_item_fails_alone() {
    let srv = TestServer::start().await;
    let t = srv.token("ZohoCRM.notifications.ALL").await;
    let good = json!({"channel_id": "1", "events": ["Leads.create"], "notify_url": "http://127.0.0.1:9/h"});
    let bad = json!({"channel_id": "2", "events": ["Leads.create"], "notify_url": "http://127.0.0.1:9/h",
        "channel_expiry": 5, "notify_on_related_action": "yes"});
    let r = srv
        .post(
            "/crm/v8/actions/watch",
            &t,
            json!({"watch": [good, bad, 7]}),
        )
        .await;
    assert_eq!(r.status, 207, "{}", r.body);
    assert_eq!(r.body["watch"][0]["status"], "success");
    assert_eq!(r.body["watch"][1]["code"], "INVALID_DATA");
    assert_eq!(
        r.body["watch"][1]["details"]["json_path"],
        "$.watch[1].channel_expiry"
    );
    assert_eq!(
        r.body["watch"][1]["details"]["expected_data_type"],
        "datetime"
    );
    assert_eq!(
        r.body["watch"][2]["details"],
        json!({"json_path": "$.watch[2]", "expected_data_type": "jsonobject"})
    );
    let r = srv
        .post(
            "/crm/v8/actions/watch",
            &t,
            json!({"watch": {"channel_id": 1}}),
        )
        .await;
    assert_error(&r, 400, "INVALID_DATA");
    assert_eq!(r.body["details"]["expected_data_type"], "jsonarray");
}

#[tokio::test]
async fn bulk_job_body_errors_name_the_key_and_where() {
    let srv = TestServer::start().await;
    let t = srv.token(common::bulk::BULK_SCOPES).await;
    let r = srv
        .post(
            "/crm/bulk/v8/read",
            &t,
            json!({"query": {"module": {"api_name": "Leads"}, "fields": "Last_Name"}}),
        )
        .await;
    assert_error(&r, 400, "INVALID_DATA");
    assert_eq!(
        r.body["details"],
        json!({"api_name": "fields", "json_path": "$.query.fields", "expected_data_type": "jsonarray"})
    );
    let r = srv
        .post(
            "/crm/bulk/v8/write",
            &t,
            json!({"operation": "insert", "resource": [{"type": "data", "module": {"api_name": "Leads"},
                   "file_id": "4150000000000000001",
                   "field_mappings": [{"api_name": "Last_Name", "index": 0}, {"api_name": "Company", "index": "one"}]}]}),
        )
        .await;
    assert_error(&r, 400, "INVALID_DATA");
    assert_eq!(
        r.body["details"]["json_path"],
        "$.resource[0].field_mappings[1].index"
    );
    assert_eq!(r.body["details"]["expected_data_type"], "integer");
}

#[tokio::test]
async fn mass_update_ids_are_checked_one_by_one() {
    let srv = TestServer::start().await;
    let t = srv
        .token("ZohoCRM.modules.ALL,ZohoCRM.mass_update.ALL")
        .await;
    let r = srv
        .post(
            "/crm/v8/Leads/actions/mass_update",
            &t,
            json!({"data": [{"Lead_Status": "Contacted"}], "ids": ["4150000000000000001", "nope"]}),
        )
        .await;
    assert_error(&r, 400, "INVALID_DATA");
    assert_eq!(r.body["details"]["json_path"], "$.ids[1]");
    let r = srv
        .post(
            "/crm/v8/Leads/actions/mass_update",
            &t,
            json!({"data": {"Lead_Status": "Contacted"}, "ids": ["4150000000000000001"]}),
        )
        .await;
    assert_error(&r, 400, "INVALID_DATA");
    assert_eq!(r.body["details"]["expected_data_type"], "jsonarray");
}
