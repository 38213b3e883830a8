//! Bad input gets Zoho's error, per record or for the whole call, and never a
//! partial write.

mod common;
use common::*;
use reqwest::Method;
use serde_json::{json, Value};

async fn one(srv: &TestServer, t: &str, module: &str, rec: Value) -> Value {
    let r = srv
        .post(&format!("/crm/v8/{module}"), t, json!({"data": [rec]}))
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    r.body["data"][0].clone()
}

#[tokio::test]
async fn per_field_type_errors() {
    let srv = TestServer::start().await;
    let t = srv.token(ALL_SCOPES).await;
    let cases: Vec<(&str, Value, &str, Value)> = vec![
        (
            "Leads",
            json!({"Company": "x"}),
            "MANDATORY_NOT_FOUND",
            json!({"api_name": "Last_Name", "json_path": "$.data[0].Last_Name"}),
        ),
        (
            "Leads",
            json!({"Last_Name": ""}),
            "MANDATORY_NOT_FOUND",
            json!({"api_name": "Last_Name", "json_path": "$.data[0].Last_Name"}),
        ),
        (
            "Leads",
            json!({"Last_Name": "x", "Email": "not-an-email"}),
            "INVALID_DATA",
            json!({"api_name": "Email", "json_path": "$.data[0].Email", "expected_data_type": "email"}),
        ),
        (
            "Leads",
            json!({"Last_Name": "x", "Phone": "call me"}),
            "INVALID_DATA",
            json!({"api_name": "Phone", "json_path": "$.data[0].Phone", "expected_data_type": "phone"}),
        ),
        (
            "Leads",
            json!({"Last_Name": "x", "Website": "no spaces allowed"}),
            "INVALID_DATA",
            json!({"api_name": "Website", "json_path": "$.data[0].Website", "expected_data_type": "website"}),
        ),
        (
            "Leads",
            json!({"Last_Name": "x", "No_of_Employees": "many"}),
            "INVALID_DATA",
            json!({"api_name": "No_of_Employees", "json_path": "$.data[0].No_of_Employees", "expected_data_type": "integer"}),
        ),
        (
            "Leads",
            json!({"Last_Name": "x", "Annual_Revenue": true}),
            "INVALID_DATA",
            json!({"api_name": "Annual_Revenue", "json_path": "$.data[0].Annual_Revenue", "expected_data_type": "currency"}),
        ),
        (
            "Leads",
            json!({"Last_Name": "x", "Email_Opt_Out": "yes"}),
            "INVALID_DATA",
            json!({"api_name": "Email_Opt_Out", "json_path": "$.data[0].Email_Opt_Out", "expected_data_type": "boolean"}),
        ),
        (
            "Leads",
            json!({"Last_Name": "x".repeat(81)}),
            "INVALID_DATA",
            json!({"api_name": "Last_Name", "json_path": "$.data[0].Last_Name", "maximum_length": 80}),
        ),
        (
            "Contacts",
            json!({"Last_Name": "x", "Date_of_Birth": "31/12/1990"}),
            "INVALID_DATA",
            json!({"api_name": "Date_of_Birth", "json_path": "$.data[0].Date_of_Birth", "expected_data_type": "date"}),
        ),
        (
            "Events",
            json!({"Event_Title": "x", "Start_DateTime": "2026-12-01 10:00", "End_DateTime": "2026-12-01T11:00:00+00:00"}),
            "INVALID_DATA",
            json!({"api_name": "Start_DateTime", "json_path": "$.data[0].Start_DateTime", "expected_data_type": "datetime"}),
        ),
        (
            "Contacts",
            json!({"Last_Name": "x", "Account_Name": {"id": "4150000000000000001"}}),
            "INVALID_DATA",
            json!({"api_name": "Account_Name", "json_path": "$.data[0].Account_Name"}),
        ),
        (
            "Contacts",
            json!({"Last_Name": "x", "Account_Name": {"id": "abc"}}),
            "INVALID_DATA",
            json!({"api_name": "Account_Name", "json_path": "$.data[0].Account_Name", "expected_data_type": "lookup"}),
        ),
        (
            "Leads",
            json!({"Last_Name": "x", "Owner": {"id": "4150000000000000001"}}),
            "INVALID_DATA",
            json!({"api_name": "Owner", "json_path": "$.data[0].Owner"}),
        ),
    ];
    for (module, rec, code, details) in cases {
        let item = one(&srv, &t, module, rec.clone()).await;
        assert_eq!(item["code"], code, "{rec}: {item}");
        assert_eq!(item["details"], details, "{rec}");
        assert_eq!(item["status"], "error");
    }
    let pick = one(
        &srv,
        &t,
        "Leads",
        json!({"Last_Name": "x", "Lead_Status": "Very Hot"}),
    )
    .await;
    assert_eq!(pick["code"], "INVALID_DATA");
    assert_eq!(pick["details"]["api_name"], "Lead_Status");
    assert!(pick["details"]["supported_values"]
        .as_array()
        .unwrap()
        .contains(&json!("Contacted")));
    // Nothing of the failed records was stored.
    assert_eq!(
        srv.get("/crm/v8/Leads?fields=Last_Name", &t).await.status,
        204
    );
}

#[tokio::test]
async fn unique_fields_reject_duplicates() {
    let srv = TestServer::start().await;
    let t = srv.token(ALL_SCOPES).await;
    let ids = srv
        .create("Accounts", &t, vec![json!({"Account_Name": "Zylker"})])
        .await;
    let r = srv
        .post(
            "/crm/v8/Accounts",
            &t,
            json!({"data": [{"Account_Name": "zylker"}, {"Account_Name": "Other"}]}),
        )
        .await;
    assert_eq!(r.status, 207);
    let e = &r.body["data"][0];
    assert_eq!(e["code"], "DUPLICATE_DATA");
    assert_eq!(e["details"]["api_name"], "Account_Name");
    assert_eq!(e["details"]["json_path"], "$.data[0].Account_Name");
    assert_eq!(e["details"]["id"], ids[0].as_str());
    assert_eq!(e["details"]["duplicate_record"]["id"], ids[0].as_str());
    assert_eq!(
        e["details"]["duplicate_record"]["module"]["api_name"],
        "Accounts"
    );
    // Two of the same name in one call: the second loses.
    let r = srv
        .post(
            "/crm/v8/Accounts",
            &t,
            json!({"data": [{"Account_Name": "Twin"}, {"Account_Name": "Twin"}]}),
        )
        .await;
    assert_eq!(r.status, 207);
    assert_eq!(r.body["data"][1]["code"], "DUPLICATE_DATA");
    // Renaming onto an existing name is a duplicate too; keeping one's own name is not.
    let other = r.body["data"][0]["details"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = srv
        .put(
            &format!("/crm/v8/Accounts/{other}"),
            &t,
            json!({"data": [{"Account_Name": "ZYLKER"}]}),
        )
        .await;
    assert_eq!(r.body["data"][0]["code"], "DUPLICATE_DATA");
    let r = srv
        .put(
            &format!("/crm/v8/Accounts/{other}"),
            &t,
            json!({"data": [{"Account_Name": "Twin", "Phone": "123"}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test]
async fn malformed_calls_get_their_envelope() {
    let srv = TestServer::start().await;
    let t = srv.token(ALL_SCOPES).await;
    assert_error(
        &srv.raw(Method::POST, "/crm/v8/Leads", &t, "{not json")
            .await,
        400,
        "INVALID_DATA",
    );
    assert_error(
        &srv.raw(Method::POST, "/crm/v8/Leads", &t, "[1,2]").await,
        400,
        "INVALID_DATA",
    );
    let r = srv
        .raw(Method::POST, "/crm/v8/Leads", &t, "{\"records\": []}")
        .await;
    assert_error(&r, 400, "MANDATORY_NOT_FOUND");
    assert_eq!(
        r.body["details"],
        json!({"api_name": "data", "json_path": "$.data"})
    );
    assert_error(
        &srv.raw(Method::POST, "/crm/v8/Leads", &t, "{\"data\": []}")
            .await,
        400,
        "REQUIRED_DATA_NOT_FOUND",
    );
    assert_error(
        &srv.raw(Method::POST, "/crm/v8/Leads", &t, "{\"data\": {}}")
            .await,
        400,
        "INVALID_DATA",
    );
    let recs: Vec<Value> = (0..101)
        .map(|i| json!({"Last_Name": format!("n{i}")}))
        .collect();
    let r = srv.post("/crm/v8/Leads", &t, json!({"data": recs})).await;
    assert_error(&r, 400, "LIMIT_EXCEEDED");
    assert_eq!(r.body["details"]["limit"], 100);
    let r = srv
        .post("/crm/v8/Leads", &t, json!({"data": ["text"]}))
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["data"][0]["code"], "INVALID_DATA");
    let r = srv.get("/crm/v8/Unicorns?fields=Name", &t).await;
    assert_error(&r, 400, "INVALID_MODULE");
    assert_eq!(r.body["details"], json!({"resource_path_index": 0}));
    assert_error(
        &srv.get("/crm/v8/Leads/x/y/z/w", &t).await,
        404,
        "INVALID_URL_PATTERN",
    );
    assert_error(
        &srv.get("/nothing/here", &t).await,
        404,
        "INVALID_URL_PATTERN",
    );
    assert_error(
        &srv.call(Method::PATCH, "/crm/v8/Leads", &t, None).await,
        400,
        "INVALID_REQUEST_METHOD",
    );
    assert_error(
        &srv.call(Method::POST, "/crm/v8/org", &t, None).await,
        400,
        "INVALID_REQUEST_METHOD",
    );
    assert_error(
        &srv.get("/crm/v8/Leads/12ab", &t).await,
        400,
        "INVALID_DATA",
    );
    // Still empty: nothing above wrote anything.
    assert_eq!(
        srv.get("/crm/v8/Leads?fields=Last_Name", &t).await.status,
        204
    );
}

#[tokio::test]
async fn module_names_are_case_insensitive_and_unknown_keys_ignored() {
    let srv = TestServer::start().await;
    let t = srv.token(ALL_SCOPES).await;
    let r = srv
        .post(
            "/crm/v8/leads",
            &t,
            json!({"data": [{"Last_Name": "x", "Foo": 1, "$bar": 2, "id": "5"}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["data"][0]["details"]["id"].as_str().unwrap();
    assert_ne!(id, "5", "a client cannot choose the id");
}
