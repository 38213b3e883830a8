//! Mass update by criteria (alone, or narrowing a view), as a job (issue 6).

mod common;
use common::*;
use serde_json::{json, Value};

async fn finished(srv: &TestServer, t: &str, module: &str, job: &str) -> Value {
    for _ in 0..300 {
        let r = srv
            .get(
                &format!("/crm/v8/{module}/actions/mass_update?job_id={job}"),
                t,
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        if r.body["data"][0]["Status"] == "COMPLETED" {
            return r.body["data"][0].clone();
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("mass update {job} did not complete");
}

async fn schedule(srv: &TestServer, t: &str, body: Value) -> String {
    let r = srv.post("/crm/v8/Leads/actions/mass_update", t, body).await;
    assert_eq!(r.status, 202, "{}", r.body);
    r.body["data"][0]["details"]["job_id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn statuses(srv: &TestServer, t: &str) -> Vec<(String, Value)> {
    let r = srv
        .get("/crm/v8/Leads?fields=Last_Name,Lead_Status&per_page=200", t)
        .await;
    let mut v: Vec<(String, Value)> = r.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["Last_Name"].as_str().unwrap().to_string(),
                d["Lead_Status"].clone(),
            )
        })
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

#[tokio::test]
async fn criteria_select_the_records_a_job_updates() {
    let srv = TestServer::start().await;
    let t = srv
        .token(&format!("{ALL_SCOPES},ZohoCRM.mass_update.ALL"))
        .await;
    let leads: Vec<Value> = (0..12)
        .map(|i| {
            json!({"Last_Name": format!("L{i:02}"), "Company": if i % 3 == 0 { "Zylker (EU)" } else { "Other" },
                   "Annual_Revenue": i * 1000})
        })
        .collect();
    srv.create("Leads", &t, leads).await;

    // Zoho's JSON form: conditions that must all hold; a value with ( ) in it.
    let job = schedule(
        &srv,
        &t,
        json!({"data": [{"Lead_Status": "Contacted"}],
               "criteria": [{"api_name": "Company", "comparator": "equal", "value": "Zylker (EU)"},
                            {"api_name": "Annual_Revenue", "comparator": "greater_than", "value": 0}]}),
    )
    .await;
    let st = finished(&srv, &t, "Leads", &job).await;
    assert_eq!(st["Total_Count"], 3, "{st}");
    assert_eq!(st["Updated_Count"], 3, "{st}");
    let now = statuses(&srv, &t).await;
    for (name, status) in &now {
        let n: usize = name[1..].parse().unwrap();
        let want = if n.is_multiple_of(3) && n > 0 {
            json!("Contacted")
        } else {
            Value::Null
        };
        assert_eq!(*status, want, "{name}");
    }

    // The search API's string form, narrowing a view.
    let views = srv
        .get("/crm/v8/settings/custom_views?module=Leads", &t)
        .await;
    let all = views.body["custom_views"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["system_name"] == "ALLVIEWS")
        .unwrap()["id"]
        .clone();
    let job = schedule(
        &srv,
        &t,
        json!({"data": [{"Lead_Status": "Not Contacted"}], "cvid": all,
               "criteria": "(Annual_Revenue:less_than:2000)"}),
    )
    .await;
    let st = finished(&srv, &t, "Leads", &job).await;
    assert_eq!(st["Updated_Count"], 2, "{st}");
    // The SDK's form: `field`, and groups with an operator.
    let job = schedule(
        &srv,
        &t,
        json!({"data": [{"Description": "grouped"}],
               "criteria": [{"group_operator": "or", "group": [
                   {"field": "Last_Name", "comparator": "equal", "value": "L05"},
                   {"field": {"api_name": "Last_Name"}, "comparator": "in", "value": ["L07", "L08"]}]}]}),
    )
    .await;
    let st = finished(&srv, &t, "Leads", &job).await;
    assert_eq!(st["Updated_Count"], 3, "{st}");
    let now = statuses(&srv, &t).await;
    assert_eq!(now[0].1, "Not Contacted");
    assert_eq!(now[1].1, "Not Contacted");
    assert_eq!(now[3].1, "Contacted");
}

#[tokio::test]
async fn bad_criteria_are_refused_before_a_job_exists() {
    let srv = TestServer::start().await;
    let t = srv
        .token(&format!("{ALL_SCOPES},ZohoCRM.mass_update.ALL"))
        .await;
    let post = |body: Value| {
        let (srv, t) = (&srv, &t);
        async move { srv.post("/crm/v8/Leads/actions/mass_update", t, body).await }
    };
    let data = json!([{"Lead_Status": "Contacted"}]);
    let r = post(json!({"data": data, "criteria": "(No_Such_Field:equals:1)"})).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.body["details"]["api_name"], "criteria", "{}", r.body);
    let r = post(json!({"data": data, "criteria": "Company:equals"})).await;
    assert_error(&r, 400, "INVALID_QUERY");
    // JSON criteria: one implementation with bulk read, so bulk read's codes.
    let r = post(json!({"data": data, "criteria": [{"comparator": "equal", "value": "x"}]})).await;
    assert_error(&r, 400, "INVALID_CRITERIA");
    let r = post(json!({"data": data, "criteria": {"group_operator": "xor",
        "group": [{"field": {"api_name": "City"}, "comparator": "equal", "value": "x"}]}}))
    .await;
    assert_error(&r, 400, "GROUP_OPERATOR_NOT_SUPPORTED");
    let many: Vec<Value> = (0..26)
        .map(|i| json!({"api_name": "City", "comparator": "equal", "value": format!("c{i}")}))
        .collect();
    let r = post(json!({"data": data, "criteria": {"group_operator": "or", "group": many}})).await;
    assert_error(&r, 400, "CRITERIA_LIMIT_EXCEEDED");
    let r = post(json!({"data": data, "criteria": 5})).await;
    assert_error(&r, 400, "INVALID_DATA");
    let r = post(json!({"data": data, "criteria": "(Company:equals:x)", "ids": ["1"]})).await;
    assert_error(&r, 400, "AMBIGUITY_DURING_PROCESSING");
    let r = post(json!({"data": data})).await;
    assert_error(&r, 400, "MANDATORY_NOT_FOUND");
}
