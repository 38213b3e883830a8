//! Composite requests (issue 6): sub-requests through the real router,
//! references between them, parallel execution, and rollback_on_fail as one
//! database transaction.

mod common;
use common::*;
use serde_json::{json, Value};

const PATH: &str = "/crm/v8/__composite_requests";

async fn token(srv: &TestServer) -> String {
    srv.token(&format!("{ALL_SCOPES},ZohoCRM.composite_requests.CUSTOM"))
        .await
}

fn items(r: &Resp) -> &Vec<Value> {
    r.body["__composite_requests"]
        .as_array()
        .unwrap_or_else(|| panic!("no __composite_requests: {}", r.body))
}

fn response(item: &Value) -> &Value {
    assert_eq!(item["code"], "SUCCESS", "{item}");
    assert_eq!(item["status"], "success", "{item}");
    &item["details"]["response"]
}

async fn count_named(srv: &TestServer, t: &str, name: &str) -> usize {
    let r = srv
        .get(
            &format!("/crm/v8/Leads/search?criteria=(Last_Name:equals:{name})"),
            t,
        )
        .await;
    match r.status {
        204 => 0,
        200 => r.body["data"].as_array().unwrap().len(),
        s => panic!("search {s}: {}", r.body),
    }
}

#[tokio::test]
async fn create_then_get_by_reference() {
    let srv = TestServer::start().await;
    let t = token(&srv).await;
    let r = srv
        .post(
            PATH,
            &t,
            json!({"rollback_on_fail": false, "parallel_execution": false, "__composite_requests": [
                {"sub_request_id": "1", "method": "POST", "uri": "/crm/v8/Leads",
                 "body": {"data": [{"Last_Name": "Comp", "Company": "C1"}]}},
                {"sub_request_id": "2", "method": "GET", "uri": "/crm/v8/Leads/@{1:$.data[0].details.id}",
                 "params": {"fields": "Last_Name,Company"}},
                {"method": "GET", "uri": "/crm/v8/Leads", "params": {"fields": "Last_Name"}},
            ]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.content_type.starts_with("application/json"));
    let it = items(&r);
    assert_eq!(it.len(), 3);
    let created = response(&it[0]);
    assert_eq!(created["status_code"], 201);
    assert!(created["headers"].is_object());
    let id = created["body"]["data"][0]["details"]["id"]
        .as_str()
        .unwrap();
    let fetched = response(&it[1]);
    assert_eq!(fetched["status_code"], 200);
    assert_eq!(fetched["body"]["data"][0]["id"], id);
    assert_eq!(fetched["body"]["data"][0]["Company"], "C1");
    // Reads inside a composite return at most 25 records a page.
    assert_eq!(response(&it[2])["body"]["info"]["per_page"], 25);
    // Committed: a direct call sees it.
    let direct = srv.get(&format!("/crm/v8/Leads/{id}"), &t).await;
    assert_eq!(direct.status, 200);
}

#[tokio::test]
async fn parallel_runs_independent_ones_and_dependents_after() {
    let srv = TestServer::start().await;
    let t = token(&srv).await;
    let r = srv
        .post(
            PATH,
            &t,
            json!({"__composite_requests": [
                {"sub_request_id": "a", "method": "POST", "uri": "/crm/v8/Accounts",
                 "body": {"data": [{"Account_Name": "Par Acc"}]}},
                {"sub_request_id": "b", "method": "POST", "uri": "/crm/v8/Leads",
                 "body": {"data": [{"Last_Name": "ParLead"}]}},
                // Depends on "a": a Contact under the new Account.
                {"sub_request_id": "c", "method": "POST", "uri": "/crm/v8/Contacts",
                 "body": {"data": [{"Last_Name": "ParContact",
                                     "Account_Name": {"id": "@{a:$.data[0].details.id}"}}]}},
                {"sub_request_id": "d", "method": "GET", "uri": "/crm/v8/Contacts/@{c:$.data[0].details.id}",
                 "params": {"fields": "Account_Name"}},
            ]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let it = items(&r);
    let acc = response(&it[0])["body"]["data"][0]["details"]["id"].clone();
    assert_eq!(response(&it[1])["status_code"], 201);
    assert_eq!(response(&it[2])["status_code"], 201);
    assert_eq!(
        response(&it[3])["body"]["data"][0]["Account_Name"]["id"],
        acc
    );
}

#[tokio::test]
async fn rollback_on_fail_undoes_every_sub_request() {
    let srv = TestServer::start().await;
    let t = token(&srv).await;
    let acc = srv
        .create("Accounts", &t, vec![json!({"Account_Name": "Keep"})])
        .await;
    let r = srv
        .post(
            PATH,
            &t,
            json!({"rollback_on_fail": true, "__composite_requests": [
                {"sub_request_id": "1", "method": "POST", "uri": "/crm/v8/Leads",
                 "body": {"data": [{"Last_Name": "Gone"}]}},
                {"sub_request_id": "2", "method": "PUT", "uri": format!("/crm/v8/Accounts/{}", acc[0]),
                 "body": {"data": [{"Account_Name": "Changed"}]}},
                {"sub_request_id": "3", "method": "POST", "uri": "/crm/v8/Leads/@{1:$.data[0].details.id}/Notes",
                 "body": {"data": [{"Note_Content": "note on a lead that will vanish"}]}},
                // Fails: Last_Name is mandatory.
                {"sub_request_id": "4", "method": "POST", "uri": "/crm/v8/Leads",
                 "body": {"data": [{"Company": "no name"}]}},
                {"sub_request_id": "5", "method": "POST", "uri": "/crm/v8/Leads",
                 "body": {"data": [{"Last_Name": "NeverRun"}]}},
            ]}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    let it = items(&r);
    for item in &it[..3] {
        assert_eq!(item["code"], "ROLLBACK_PERFORMED", "{item}");
        assert_eq!(item["status"], "error");
        assert_eq!(item["details"]["rollbacked_by_sub_request_index"], 3);
    }
    let failed = response(&it[3]);
    assert_eq!(failed["status_code"], 400);
    assert_eq!(failed["body"]["data"][0]["code"], "MANDATORY_NOT_FOUND");
    assert_eq!(it[4]["code"], "PROCESSING_STOPPED");
    assert_eq!(it[4]["details"]["rollbacked_by_sub_request_index"], 3);
    // Nothing of it is left.
    assert_eq!(count_named(&srv, &t, "Gone").await, 0);
    assert_eq!(count_named(&srv, &t, "NeverRun").await, 0);
    let a = srv.get(&format!("/crm/v8/Accounts/{}", acc[0]), &t).await;
    assert_eq!(a.body["data"][0]["Account_Name"], "Keep");
    let notes = srv.get("/crm/v8/Notes?fields=Note_Content", &t).await;
    assert_eq!(notes.status, 204, "{}", notes.body);
    // The server keeps working after the rollback (the writer was released).
    srv.create("Leads", &t, vec![json!({"Last_Name": "After"})])
        .await;
}

#[tokio::test]
async fn rollback_on_fail_commits_when_all_succeed_and_reads_see_own_writes() {
    let srv = TestServer::start().await;
    let t = token(&srv).await;
    let r = srv
        .post(
            PATH,
            &t,
            json!({"rollback_on_fail": true, "__composite_requests": [
                {"sub_request_id": "1", "method": "POST", "uri": "/crm/v8/Leads",
                 "body": {"data": [{"Last_Name": "TxLead", "Company": "Before"}]}},
                {"sub_request_id": "2", "method": "PUT", "uri": "/crm/v8/Leads/@{1:$.data[0].details.id}",
                 "body": {"data": [{"Company": "After"}]}},
                {"sub_request_id": "3", "method": "GET", "uri": "/crm/v8/Leads/@{1:$.data[0].details.id}",
                 "params": {"fields": "Company"}},
            ]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let it = items(&r);
    assert_eq!(response(&it[1])["status_code"], 200);
    // The read inside the transaction sees the update before the commit.
    assert_eq!(response(&it[2])["body"]["data"][0]["Company"], "After");
    assert_eq!(count_named(&srv, &t, "TxLead").await, 1);
}

#[tokio::test]
async fn rollback_sessions_and_direct_writes_interleave() {
    let srv = TestServer::start().await;
    let t = token(&srv).await;
    let composite = |n: usize, fail: bool| {
        let mut subs = vec![json!({"method": "POST", "uri": "/crm/v8/Leads",
             "body": {"data": [{"Last_Name": format!("Mix{n}")}]}})];
        if fail {
            subs.push(json!({"method": "POST", "uri": "/crm/v8/Leads", "body": {"data": [{}]}}));
        }
        json!({"rollback_on_fail": true, "__composite_requests": subs})
    };
    let mut tasks = Vec::new();
    for n in 0..8 {
        let srv_url = srv.url.clone();
        let t = t.clone();
        let body = composite(n, n % 2 == 1);
        tasks.push(tokio::spawn(async move {
            let r = reqwest::Client::new()
                .post(format!("{srv_url}{PATH}"))
                .header("Authorization", format!("Zoho-oauthtoken {t}"))
                .json(&body)
                .send()
                .await
                .unwrap();
            r.status().as_u16()
        }));
    }
    for n in 0..8 {
        srv.create(
            "Leads",
            &t,
            vec![json!({"Last_Name": format!("Direct{n}")})],
        )
        .await;
    }
    for (n, task) in tasks.into_iter().enumerate() {
        let status = task.await.unwrap();
        assert_eq!(status, if n % 2 == 1 { 400 } else { 200 }, "composite {n}");
    }
    for n in 0..8 {
        let want = if n % 2 == 1 { 0 } else { 1 };
        assert_eq!(count_named(&srv, &t, &format!("Mix{n}")).await, want);
        assert_eq!(count_named(&srv, &t, &format!("Direct{n}")).await, 1);
    }
}

#[tokio::test]
async fn mixed_results_are_207_and_failed_references_do_not_run() {
    let srv = TestServer::start().await;
    let t = token(&srv).await;
    let r = srv
        .post(
            PATH,
            &t,
            json!({"parallel_execution": false, "__composite_requests": [
                {"sub_request_id": "ok", "method": "POST", "uri": "/crm/v8/Leads",
                 "body": {"data": [{"Last_Name": "Fine"}]}},
                {"sub_request_id": "bad", "method": "GET", "uri": "/crm/v8/NoSuchModule/123"},
                {"sub_request_id": "dep", "method": "GET", "uri": "/crm/v8/Leads/@{bad:$.data[0].id}"},
            ]}),
        )
        .await;
    assert_eq!(r.status, 207, "{}", r.body);
    let it = items(&r);
    assert_eq!(response(&it[0])["status_code"], 201);
    let bad = response(&it[1]);
    assert_eq!(bad["status_code"], 400);
    assert_eq!(bad["body"]["code"], "INVALID_MODULE");
    assert_eq!(it[2]["code"], "INVALID_REFERENCE");
    assert_eq!(it[2]["details"]["reference"], "@{bad:$.data[0].id}");
    // Without rollback the good one stays.
    assert_eq!(count_named(&srv, &t, "Fine").await, 1);
}

#[tokio::test]
async fn scopes_are_checked_for_the_call_and_each_sub_request() {
    let srv = TestServer::start().await;
    let body = json!({"__composite_requests": [
        {"method": "POST", "uri": "/crm/v8/Leads", "body": {"data": [{"Last_Name": "S"}]}}]});
    let without = srv.token(ALL_SCOPES).await;
    assert_error(
        &srv.post(PATH, &without, body.clone()).await,
        401,
        "OAUTH_SCOPE_MISMATCH",
    );
    let read_only = srv
        .token("ZohoCRM.modules.leads.READ,ZohoCRM.composite_requests.CUSTOM")
        .await;
    let r = srv.post(PATH, &read_only, body).await;
    assert_eq!(r.status, 400, "{}", r.body);
    let inner = response(&items(&r)[0]);
    assert_eq!(inner["status_code"], 401);
    assert_eq!(inner["body"]["code"], "OAUTH_SCOPE_MISMATCH");
    let none = srv.post(PATH, "nonsense", json!({})).await;
    assert_eq!(none.status, 401);
}

#[tokio::test]
async fn malformed_calls_get_zoho_errors() {
    let srv = TestServer::start().await;
    let t = token(&srv).await;
    let get = |uri: &str| json!({"method": "GET", "uri": uri});
    let r = srv.post(PATH, &t, json!({})).await;
    assert_error(&r, 400, "MANDATORY_NOT_FOUND");
    assert_eq!(r.body["details"]["api_name"], "__composite_requests");
    let r = srv
        .post(
            PATH,
            &t,
            json!({"__composite_requests": vec![get("/crm/v8/org"); 6]}),
        )
        .await;
    assert_error(&r, 400, "INVALID_DATA");
    assert_eq!(r.body["details"]["maximum_length"], 5);
    let r = srv
        .post(
            PATH,
            &t,
            json!({"rollback_on_fail": true, "parallel_execution": true,
                   "__composite_requests": [get("/crm/v8/org")]}),
        )
        .await;
    assert_error(&r, 400, "AMBIGUITY_DURING_PROCESSING");
    assert_eq!(
        r.body["details"]["ambiguity_due_to"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let r = srv
        .post(
            PATH,
            &t,
            json!({"rollback_on_fail": "yes", "__composite_requests": [get("/crm/v8/org")]}),
        )
        .await;
    assert_error(&r, 400, "INVALID_DATA");
    let r = srv.raw(reqwest::Method::POST, PATH, &t, "not json").await;
    assert_error(&r, 400, "INVALID_DATA");

    // Per sub-request validation: nothing runs, each error names its place.
    let cases: Vec<(Value, &str, &str, &str)> = vec![
        (get("/api/v8/Leads"), "INVALID_DATA", "uri", "regex"),
        (
            get("/crm/v2/Leads"),
            "NOT_SUPPORTED",
            "uri",
            "sub_request_version",
        ),
        (
            json!({"uri": "/crm/v8/org"}),
            "MANDATORY_NOT_FOUND",
            "method",
            "json_path",
        ),
        (
            json!({"method": "HEAD", "uri": "/crm/v8/org"}),
            "INVALID_DATA",
            "method",
            "json_path",
        ),
        (
            json!({"method": "GET"}),
            "MANDATORY_NOT_FOUND",
            "uri",
            "json_path",
        ),
        (
            json!({"method": "GET", "uri": "/crm/v8/org", "sub_request_id": "_x"}),
            "INVALID_DATA",
            "sub_request_id",
            "regex",
        ),
        (
            json!({"method": "GET", "uri": "/crm/v8/org", "headers": {"Authorization": "x"}}),
            "NOT_SUPPORTED",
            "headers",
            "restricted_headers",
        ),
        (
            json!({"method": "GET", "uri": "/crm/v8/Leads/@{nobody:$.data[0].id}"}),
            "INVALID_REFERENCE",
            "uri",
            "reference",
        ),
        (
            json!({"method": "GET", "uri": "/crm/v8/Leads/@{1:data}"}),
            "INVALID_REFERENCE",
            "uri",
            "reference",
        ),
        (
            json!({"method": "POST", "uri": "/crm/v8/Leads", "body": {"data": [{"Last_Name": "a"}, {"Last_Name": "b"}]}}),
            "LIMIT_EXCEEDED",
            "data",
            "limit",
        ),
        (
            json!({"method": "DELETE", "uri": "/crm/v8/Leads", "params": {"ids": "1,2"}}),
            "NOT_SUPPORTED",
            "params",
            "restricted_params",
        ),
        (
            json!({"method": "POST", "uri": "/crm/v8/__composite_requests", "body": {}}),
            "NOT_SUPPORTED",
            "uri",
            "json_path",
        ),
        (
            json!({"method": "POST", "uri": "/crm/v8/Leads/actions/mass_update", "body": {}}),
            "NOT_SUPPORTED",
            "uri",
            "json_path",
        ),
        (
            get("/crm/v8/files?id=abc"),
            "NOT_SUPPORTED",
            "uri",
            "json_path",
        ),
        (
            get("/crm/v8/Leads/1/Attachments/2"),
            "NOT_SUPPORTED",
            "uri",
            "json_path",
        ),
        (
            json!({"method": "POST", "uri": "/crm/v8/Leads", "body": [1]}),
            "INVALID_DATA",
            "body",
            "expected_data_type",
        ),
    ];
    for (sub, code, api_name, detail) in cases {
        let r = srv
            .post(
                PATH,
                &t,
                json!({"__composite_requests": [get("/crm/v8/org"), sub.clone()]}),
            )
            .await;
        assert_eq!(r.status, 400, "{sub}: {}", r.body);
        let it = items(&r);
        assert_eq!(it.len(), 1, "{sub}: {}", r.body);
        assert_eq!(it[0]["code"], code, "{sub}: {}", r.body);
        assert_eq!(it[0]["details"]["api_name"], api_name, "{sub}: {}", r.body);
        assert!(it[0]["details"].get(detail).is_some(), "{sub}: {}", r.body);
        assert!(
            it[0]["details"]["json_path"]
                .as_str()
                .unwrap()
                .starts_with("$.__composite_requests[1]"),
            "{}",
            r.body
        );
    }
    // Duplicate ids and loops.
    let r = srv
        .post(
            PATH,
            &t,
            json!({"__composite_requests": [
            {"sub_request_id": "x", "method": "GET", "uri": "/crm/v8/org"},
            {"sub_request_id": "x", "method": "GET", "uri": "/crm/v8/org"}]}),
        )
        .await;
    assert_eq!(items(&r)[0]["code"], "DUPLICATE_DATA", "{}", r.body);
    assert_eq!(
        items(&r)[0]["details"]["sub_request_indexes"],
        json!([0, 1])
    );
    let r = srv
        .post(
            PATH,
            &t,
            json!({"__composite_requests": [
            {"sub_request_id": "p", "method": "GET", "uri": "/crm/v8/Leads/@{q:$.data[0].id}"},
            {"sub_request_id": "q", "method": "GET", "uri": "/crm/v8/Leads/@{p:$.data[0].id}"},
            {"sub_request_id": "r", "method": "GET", "uri": "/crm/v8/org"}]}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(items(&r)[0]["code"], "LOOPING_FOUND", "{}", r.body);
    assert_eq!(
        items(&r)[0]["details"]["sub_request_indexes"],
        json!([0, 1])
    );
    // A read asking for more than 25 records.
    let r = srv
        .post(PATH, &t, json!({"__composite_requests": [
            {"method": "GET", "uri": "/crm/v8/Leads", "params": {"per_page": 200, "fields": "Last_Name"}}]}))
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(items(&r)[0]["code"], "LIMIT_EXCEEDED");
}
