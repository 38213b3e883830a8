//! Activities as Zoho keeps them: Tasks (status, due date, closing), Events
//! (start/end, participants), Calls (type, start, duration), and their
//! polymorphic What_Id with `$se_module` (issue 6).

mod common;
use common::*;
use serde_json::json;

#[tokio::test]
async fn tasks_events_and_calls() {
    let srv = TestServer::start().await;
    let t = srv.token(ALL_SCOPES).await;
    let acc = srv
        .create("Accounts", &t, vec![json!({"Account_Name": "Act Co"})])
        .await
        .remove(0);
    let lead = srv
        .create("Leads", &t, vec![json!({"Last_Name": "Act"})])
        .await
        .remove(0);
    let contact = srv
        .create("Contacts", &t, vec![json!({"Last_Name": "Who"})])
        .await
        .remove(0);

    // A task on an Account (What_Id + $se_module) for a Contact (Who_Id).
    let task = srv
        .create(
            "Tasks",
            &t,
            vec![
                json!({"Subject": "Call back", "Status": "Not Started", "Priority": "High",
                        "Due_Date": "2026-12-01", "What_Id": {"id": acc}, "$se_module": "Accounts",
                        "Who_Id": {"id": contact}}),
            ],
        )
        .await
        .remove(0);
    let g = srv
        .get(
            &format!(
                "/crm/v8/Tasks/{task}?fields=Subject,Status,Due_Date,What_Id,Who_Id,Closed_Time"
            ),
            &t,
        )
        .await;
    let d = &g.body["data"][0];
    assert_eq!(d["Due_Date"], "2026-12-01", "{d}");
    assert_eq!(d["What_Id"]["id"], acc);
    assert_eq!(d["What_Id"]["name"], "Act Co");
    assert_eq!(d["$se_module"], "Accounts");
    assert_eq!(d["Who_Id"]["id"], contact);
    assert!(d["Closed_Time"].is_null());
    // Completing it stamps Closed_Time; reopening clears it.
    let r = srv
        .put(
            &format!("/crm/v8/Tasks/{task}"),
            &t,
            json!({"data": [{"Status": "Completed"}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let g = srv
        .get(
            &format!("/crm/v8/Tasks/{task}?fields=Status,Closed_Time"),
            &t,
        )
        .await;
    assert!(g.body["data"][0]["Closed_Time"].is_string(), "{}", g.body);
    srv.put(
        &format!("/crm/v8/Tasks/{task}"),
        &t,
        json!({"data": [{"Status": "In Progress"}]}),
    )
    .await;
    let g = srv
        .get(
            &format!("/crm/v8/Tasks/{task}?fields=Status,Closed_Time"),
            &t,
        )
        .await;
    assert!(g.body["data"][0]["Closed_Time"].is_null(), "{}", g.body);
    // The Account's and the Lead's Tasks related lists.
    let r = srv
        .get(&format!("/crm/v8/Accounts/{acc}/Tasks?fields=Subject"), &t)
        .await;
    assert_eq!(r.body["data"][0]["id"], task, "{}", r.body);
    let lt = srv
        .create(
            "Tasks",
            &t,
            vec![json!({"Subject": "Lead task", "What_Id": {"id": lead}, "$se_module": "Leads"})],
        )
        .await
        .remove(0);
    let r = srv
        .get(&format!("/crm/v8/Leads/{lead}/Tasks?fields=Subject"), &t)
        .await;
    assert_eq!(r.body["data"][0]["id"], lt, "{}", r.body);

    // Bad task values.
    let bad = |body: serde_json::Value| {
        let (srv, t) = (&srv, &t);
        async move { srv.post("/crm/v8/Tasks", t, json!({"data": [body]})).await }
    };
    let r = bad(json!({"Subject": "x", "Status": "Someday"})).await;
    assert_eq!(r.body["data"][0]["code"], "INVALID_DATA", "{}", r.body);
    assert_eq!(r.body["data"][0]["details"]["api_name"], "Status");
    let r = bad(json!({"Subject": "x", "Due_Date": "01/12/2026"})).await;
    assert_eq!(
        r.body["data"][0]["details"]["api_name"], "Due_Date",
        "{}",
        r.body
    );
    let r = bad(json!({"Subject": "x", "What_Id": {"id": acc}})).await;
    assert_eq!(
        r.body["data"][0]["code"], "MANDATORY_NOT_FOUND",
        "{}",
        r.body
    );
    assert_eq!(r.body["data"][0]["details"]["api_name"], "$se_module");
    let r =
        bad(json!({"Subject": "x", "What_Id": {"id": acc}, "$se_module": "Vendors_Nope"})).await;
    assert_eq!(r.body["data"][0]["code"], "INVALID_DATA", "{}", r.body);

    // Events: start before end, participants kept.
    let ev = srv
        .create(
            "Events",
            &t,
            vec![json!({"Event_Title": "Demo", "Start_DateTime": "2026-12-01T10:00:00+00:00",
                        "End_DateTime": "2026-12-01T11:00:00+00:00", "What_Id": {"id": acc}, "$se_module": "Accounts",
                        "Participants": [{"type": "email", "participant": "guest@example.com"},
                                         {"type": "contact", "participant": contact}]})],
        )
        .await
        .remove(0);
    let g = srv
        .get(
            &format!(
                "/crm/v8/Events/{ev}?fields=Event_Title,Start_DateTime,End_DateTime,Participants"
            ),
            &t,
        )
        .await;
    let d = &g.body["data"][0];
    assert!(
        d["Start_DateTime"]
            .as_str()
            .unwrap()
            .starts_with("2026-12-01T"),
        "{d}"
    );
    let parts = d["Participants"].as_array().expect("participants");
    assert_eq!(parts.len(), 2, "{d}");
    assert_eq!(parts[0]["participant"], "guest@example.com");
    let r = srv
        .post(
            "/crm/v8/Events",
            &t,
            json!({"data": [{"Event_Title": "Backwards", "Start_DateTime": "2026-12-01T11:00:00+00:00",
                              "End_DateTime": "2026-12-01T10:00:00+00:00"}]}),
        )
        .await;
    assert_eq!(r.body["data"][0]["code"], "INVALID_DATA", "{}", r.body);
    assert_eq!(r.body["data"][0]["details"]["api_name"], "End_DateTime");
    let r = srv
        .post("/crm/v8/Events", &t, json!({"data": [{"Event_Title": "No end", "Start_DateTime": "2026-12-01T11:00:00+00:00"}]}))
        .await;
    assert_eq!(
        r.body["data"][0]["code"], "MANDATORY_NOT_FOUND",
        "{}",
        r.body
    );

    // Calls: type, start, duration (mm:ss) with the seconds derived.
    let call = srv
        .create(
            "Calls",
            &t,
            vec![json!({"Subject": "Intro", "Call_Type": "Outbound", "Call_Start_Time": "2026-12-01T09:00:00+00:00",
                        "Call_Duration": "12:30", "Who_Id": {"id": contact}})],
        )
        .await
        .remove(0);
    let g = srv
        .get(
            &format!(
                "/crm/v8/Calls/{call}?fields=Call_Type,Call_Duration,Call_Duration_in_seconds"
            ),
            &t,
        )
        .await;
    let d = &g.body["data"][0];
    assert_eq!(d["Call_Type"], "Outbound");
    assert_eq!(d["Call_Duration"], "12:30");
    assert_eq!(d["Call_Duration_in_seconds"], 750, "{d}");
    let r = srv
        .post(
            "/crm/v8/Calls",
            &t,
            json!({"data": [{"Subject": "x", "Call_Type": "Outbound", "Call_Start_Time": "2026-12-01T09:00:00+00:00",
                              "Call_Duration": "twelve"}]}),
        )
        .await;
    assert_eq!(r.body["data"][0]["code"], "INVALID_DATA", "{}", r.body);
    assert_eq!(r.body["data"][0]["details"]["api_name"], "Call_Duration");
    let r = srv
        .post("/crm/v8/Calls", &t, json!({"data": [{"Subject": "x", "Call_Type": "Sideways", "Call_Start_Time": "2026-12-01T09:00:00+00:00"}]}))
        .await;
    assert_eq!(
        r.body["data"][0]["details"]["api_name"], "Call_Type",
        "{}",
        r.body
    );
}
