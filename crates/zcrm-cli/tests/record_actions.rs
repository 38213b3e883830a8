//! Record actions: upsert (issue 6).

mod common;
use common::*;
use serde_json::json;

#[tokio::test]
async fn upsert_inserts_or_updates_by_duplicate_check_fields() {
    let srv = TestServer::start().await;
    let t = srv.token(ALL_SCOPES).await;
    let existing = srv
        .create(
            "Leads",
            &t,
            vec![json!({"Last_Name": "Old", "Email": "pat@zylker.com", "Company": "Z"})],
        )
        .await;

    // Leads match on Email by default; the second record is new.
    let r = srv
        .post(
            "/crm/v8/Leads/upsert",
            &t,
            json!({"data": [{"Last_Name": "Boyle", "Email": "PAT@zylker.com"}, {"Last_Name": "New", "Email": "new@zylker.com"}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let (a, b) = (&r.body["data"][0], &r.body["data"][1]);
    assert_eq!(a["action"], "update");
    assert_eq!(a["duplicate_field"], "Email");
    assert_eq!(a["message"], "record updated");
    assert_eq!(a["details"]["id"], existing[0].as_str());
    assert_eq!(b["action"], "insert");
    assert!(b["duplicate_field"].is_null());
    assert_eq!(b["message"], "record added");
    let g = srv
        .get(
            &format!(
                "/crm/v8/Leads/{}?fields=Last_Name,Company,Full_Name",
                existing[0]
            ),
            &t,
        )
        .await;
    assert_eq!(g.body["data"][0]["Last_Name"], "Boyle");
    assert_eq!(
        g.body["data"][0]["Company"], "Z",
        "fields not sent are kept"
    );
    assert_eq!(g.body["data"][0]["Full_Name"], "Boyle");

    // A record that would be inserted still needs the mandatory fields; one that updates does not.
    let r = srv
        .post(
            "/crm/v8/Leads/upsert",
            &t,
            json!({"data": [{"Email": "nobody@zylker.com", "Company": "X"}, {"Email": "new@zylker.com", "Company": "Updated"}]}),
        )
        .await;
    assert_eq!(r.status, 207, "{}", r.body);
    assert_eq!(r.body["data"][0]["code"], "MANDATORY_NOT_FOUND");
    assert_eq!(r.body["data"][0]["details"]["api_name"], "Last_Name");
    assert_eq!(r.body["data"][1]["action"], "update");

    // Accounts: the system field (also unique) is Account_Name.
    let acc = srv
        .create("Accounts", &t, vec![json!({"Account_Name": "Zylker"})])
        .await;
    let r = srv
        .post(
            "/crm/v8/Accounts/upsert",
            &t,
            json!({"data": [{"Account_Name": "ZYLKER", "Phone": "555"}]}),
        )
        .await;
    assert_eq!(r.body["data"][0]["details"]["id"], acc[0].as_str());
    assert_eq!(r.body["data"][0]["duplicate_field"], "Account_Name");

    // Only duplicate-check and unique fields may be named.
    let r = srv
        .post(
            "/crm/v8/Leads/upsert",
            &t,
            json!({"data": [{"Last_Name": "x"}], "duplicate_check_fields": ["Company"]}),
        )
        .await;
    assert_error(&r, 400, "INVALID_DATA");
    assert_eq!(r.body["details"]["api_name"], "duplicate_check_fields");
    // All new, all failed, scopes.
    let r = srv
        .post(
            "/crm/v8/Leads/upsert",
            &t,
            json!({"data": [{"Company": "no name"}]}),
        )
        .await;
    assert_eq!(r.status, 400);
    let read_only = srv.token("ZohoCRM.modules.leads.READ").await;
    let r = srv
        .post(
            "/crm/v8/Leads/upsert",
            &read_only,
            json!({"data": [{"Last_Name": "x"}]}),
        )
        .await;
    assert_error(&r, 401, "OAUTH_SCOPE_MISMATCH");
}
