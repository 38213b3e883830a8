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

#[tokio::test]
async fn lead_conversion_creates_links_and_moves_children() {
    let srv = TestServer::start().await;
    let t = srv.token(ALL_SCOPES).await;
    let lead = srv
        .create(
            "Leads",
            &t,
            vec![json!({"First_Name": "Pat", "Last_Name": "Boyle", "Email": "pat@zylker.com", "Company": "Zylker",
                        "Designation": "CTO", "City": "Austin", "Annual_Revenue": 5000})],
        )
        .await
        .remove(0);
    let note = srv
        .create("Notes", &t, vec![json!({"Note_Content": "met at fair", "Parent_Id": {"module": {"api_name": "Leads"}, "id": lead}})])
        .await
        .remove(0);
    let task = srv
        .create(
            "Tasks",
            &t,
            vec![json!({"Subject": "follow up", "What_Id": {"id": lead}, "$se_module": "Leads"})],
        )
        .await
        .remove(0);

    let r = srv
        .post(
            &format!("/crm/v8/Leads/{lead}/actions/convert"),
            &t,
            json!({"data": [{"overwrite": true, "Deals": {"Deal_Name": "Big deal", "Stage": "Qualification", "Closing_Date": "2026-12-31", "Amount": 1000}}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let item = &r.body["data"][0];
    assert_eq!(item["code"], "SUCCESS");
    assert_eq!(
        item["message"],
        "The record has been converted successfully"
    );
    let d = &item["details"];
    assert_eq!(d["Contacts"]["name"], "Pat Boyle");
    assert_eq!(d["Accounts"]["name"], "Zylker");
    assert_eq!(d["Deals"]["name"], "Big deal");
    let (contact, account, deal) = (
        d["Contacts"]["id"].as_str().unwrap().to_string(),
        d["Accounts"]["id"].as_str().unwrap().to_string(),
        d["Deals"]["id"].as_str().unwrap().to_string(),
    );
    let c = srv.get(&format!("/crm/v8/Contacts/{contact}"), &t).await;
    let c = &c.body["data"][0];
    assert_eq!(c["Title"], "CTO");
    assert_eq!(c["Mailing_City"], "Austin");
    assert_eq!(c["Account_Name"]["id"], account.as_str());
    let a = srv
        .get(
            &format!("/crm/v8/Accounts/{account}?fields=Account_Name,Annual_Revenue,Billing_City"),
            &t,
        )
        .await;
    assert_eq!(a.body["data"][0]["Annual_Revenue"], 5000.0);
    let dl = srv
        .get(
            &format!("/crm/v8/Deals/{deal}?fields=Contact_Name,Account_Name"),
            &t,
        )
        .await;
    assert_eq!(dl.body["data"][0]["Contact_Name"]["id"], contact.as_str());
    // Notes and open activities follow the lead.
    let n = srv
        .get(&format!("/crm/v8/Notes/{note}?fields=Parent_Id"), &t)
        .await;
    assert_eq!(n.body["data"][0]["Parent_Id"]["id"], contact.as_str());
    let tk = srv
        .get(&format!("/crm/v8/Tasks/{task}?fields=What_Id,Who_Id"), &t)
        .await;
    assert_eq!(tk.body["data"][0]["What_Id"]["id"], deal.as_str());
    // The lead is converted: hidden by default, listed with converted=true, detail on GET.
    assert_eq!(
        srv.get("/crm/v8/Leads?fields=Last_Name", &t).await.status,
        204
    );
    let conv = srv
        .get("/crm/v8/Leads?fields=Last_Name&converted=true", &t)
        .await;
    assert_eq!(conv.body["data"][0]["id"], lead.as_str());
    let l = srv.get(&format!("/crm/v8/Leads/{lead}"), &t).await;
    assert_eq!(l.body["data"][0]["$converted"], true);
    assert_eq!(
        l.body["data"][0]["$converted_detail"]["contact"],
        contact.as_str()
    );
    // Twice is Zoho's error.
    let again = srv
        .post(
            &format!("/crm/v8/Leads/{lead}/actions/convert"),
            &t,
            json!({"data": [{}]}),
        )
        .await;
    assert_error(&again, 400, "ID_ALREADY_CONVERTED");

    // A second lead of the same company links the existing account.
    let lead2 = srv
        .create(
            "Leads",
            &t,
            vec![json!({"Last_Name": "Two", "Company": "ZYLKER"})],
        )
        .await
        .remove(0);
    let r = srv
        .post(
            &format!("/crm/v8/Leads/{lead2}/actions/convert"),
            &t,
            json!({"data": [{}]}),
        )
        .await;
    assert_eq!(
        r.body["data"][0]["details"]["Accounts"]["id"],
        account.as_str()
    );
    assert!(r.body["data"][0]["details"]["Deals"].is_null());
}

#[tokio::test]
async fn failed_conversion_leaves_nothing_behind() {
    let srv = TestServer::start().await;
    let t = srv.token(ALL_SCOPES).await;
    let lead = srv
        .create(
            "Leads",
            &t,
            vec![json!({"Last_Name": "Orphan", "Company": "NewCo"})],
        )
        .await
        .remove(0);
    // The deal lacks its mandatory Stage: nothing may be created, the lead stays unconverted.
    let r = srv
        .post(
            &format!("/crm/v8/Leads/{lead}/actions/convert"),
            &t,
            json!({"data": [{"Deals": {"Deal_Name": "D", "Closing_Date": "2026-12-31"}}]}),
        )
        .await;
    assert_error(&r, 400, "MANDATORY_NOT_FOUND");
    assert_eq!(r.body["details"]["json_path"], "$.data[0].Deals.Stage");
    // A bad existing account id.
    let r = srv
        .post(
            &format!("/crm/v8/Leads/{lead}/actions/convert"),
            &t,
            json!({"data": [{"Accounts": {"id": "4150000000000000001"}}]}),
        )
        .await;
    assert_error(&r, 400, "INVALID_DATA");
    // A deal whose lookup is bad fails after the account and contact were written: they are rolled back.
    let r = srv
        .post(
            &format!("/crm/v8/Leads/{lead}/actions/convert"),
            &t,
            json!({"data": [{"Deals": {"Deal_Name": "D", "Stage": "Qualification", "Closing_Date": "2026-12-31",
                                        "Campaign_Source": {"id": "4150000000000000003"}}}]}),
        )
        .await;
    assert_error(&r, 400, "INVALID_DATA");
    assert_eq!(r.body["details"]["api_name"], "Campaign_Source");
    assert_eq!(
        srv.get("/crm/v8/Contacts?fields=Last_Name", &t)
            .await
            .status,
        204,
        "no orphan contact"
    );
    assert_eq!(
        srv.get("/crm/v8/Accounts?fields=Account_Name", &t)
            .await
            .status,
        204,
        "no orphan account"
    );
    assert_eq!(
        srv.get("/crm/v8/Leads?fields=Last_Name", &t).await.body["data"][0]["id"],
        lead.as_str()
    );
    assert_error(
        &srv.post(
            "/crm/v8/Leads/4150000000000000002/actions/convert",
            &t,
            json!({"data": [{}]}),
        )
        .await,
        400,
        "INVALID_DATA",
    );
    assert_error(
        &srv.post(
            &format!("/crm/v8/Contacts/{lead}/actions/convert"),
            &t,
            json!({"data": [{}]}),
        )
        .await,
        400,
        "NOT_SUPPORTED",
    );
    let no_scope = srv.token("ZohoCRM.modules.leads.READ").await;
    assert_error(
        &srv.post(
            &format!("/crm/v8/Leads/{lead}/actions/convert"),
            &no_scope,
            json!({}),
        )
        .await,
        401,
        "OAUTH_SCOPE_MISMATCH",
    );
}

#[tokio::test]
async fn related_lists_list_link_and_unlink() {
    let srv = TestServer::start().await;
    let t = srv.token(ALL_SCOPES).await;
    let acc = srv
        .create("Accounts", &t, vec![json!({"Account_Name": "Parent Co"})])
        .await
        .remove(0);
    let kids = srv
        .create(
            "Contacts",
            &t,
            vec![
                json!({"Last_Name": "A", "Account_Name": {"id": acc}}),
                json!({"Last_Name": "B"}),
                json!({"Last_Name": "C"}),
            ],
        )
        .await;
    let r = srv
        .get(
            &format!("/crm/v8/Accounts/{acc}/Contacts?fields=Last_Name"),
            &t,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["info"]["count"], 1);
    assert_eq!(r.body["data"][0]["Last_Name"], "A");
    assert!(r.body["info"]["more_records"].is_boolean());

    // Link B by the many form and C by the single form.
    let r = srv
        .put(
            &format!("/crm/v8/Accounts/{acc}/Contacts"),
            &t,
            json!({"data": [{"id": kids[1]}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body["data"][0],
        json!({"code": "SUCCESS", "details": {"id": kids[1]}, "message": "relation added", "status": "success"})
    );
    let r = srv
        .call(
            reqwest::Method::PUT,
            &format!("/crm/v8/Accounts/{acc}/Contacts/{}", kids[2]),
            &t,
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        srv.get(
            &format!("/crm/v8/Accounts/{acc}/Contacts?fields=Last_Name"),
            &t
        )
        .await
        .body["info"]["count"],
        3
    );
    let c = srv
        .get(
            &format!("/crm/v8/Contacts/{}?fields=Account_Name", kids[2]),
            &t,
        )
        .await;
    assert_eq!(c.body["data"][0]["Account_Name"]["name"], "Parent Co");

    // Unlink two, one of which is not linked to this parent.
    let other = srv
        .create("Contacts", &t, vec![json!({"Last_Name": "Other"})])
        .await
        .remove(0);
    let r = srv
        .delete(
            &format!("/crm/v8/Accounts/{acc}/Contacts?ids={},{other}", kids[0]),
            &t,
        )
        .await;
    assert_eq!(r.status, 207, "{}", r.body);
    assert_eq!(r.body["data"][0]["message"], "relation removed");
    assert_eq!(r.body["data"][1]["code"], "INVALID_DATA");
    assert_eq!(
        srv.get(
            &format!("/crm/v8/Accounts/{acc}/Contacts?fields=Last_Name"),
            &t
        )
        .await
        .body["info"]["count"],
        2
    );

    // Notes of a record, through the polymorphic Parent_Id; they cannot be unlinked.
    let lead = srv
        .create("Leads", &t, vec![json!({"Last_Name": "L"})])
        .await
        .remove(0);
    let note = srv
        .create("Notes", &t, vec![json!({"Note_Content": "hi", "Parent_Id": {"module": {"api_name": "Leads"}, "id": lead}})])
        .await
        .remove(0);
    let r = srv
        .get(
            &format!("/crm/v8/Leads/{lead}/Notes?fields=Note_Content"),
            &t,
        )
        .await;
    assert_eq!(r.body["data"][0]["id"], note.as_str());
    assert_eq!(
        srv.get(
            &format!("/crm/v8/Accounts/{acc}/Notes?fields=Note_Content"),
            &t
        )
        .await
        .status,
        204
    );
    assert_error(
        &srv.delete(&format!("/crm/v8/Leads/{lead}/Notes/{note}"), &t)
            .await,
        400,
        "NOT_ALLOWED",
    );

    // Errors: unknown list, unknown parent, fields required, scopes.
    assert_error(
        &srv.get(&format!("/crm/v8/Accounts/{acc}/Unicorns?fields=x"), &t)
            .await,
        400,
        "INVALID_DATA",
    );
    assert_error(
        &srv.get(
            "/crm/v8/Accounts/4150000000000000001/Contacts?fields=Last_Name",
            &t,
        )
        .await,
        400,
        "INVALID_DATA",
    );
    assert_error(
        &srv.get(&format!("/crm/v8/Accounts/{acc}/Contacts"), &t)
            .await,
        400,
        "REQUIRED_PARAM_MISSING",
    );
    let read = srv.token("ZohoCRM.modules.accounts.READ").await;
    assert_error(
        &srv.put(
            &format!("/crm/v8/Accounts/{acc}/Contacts"),
            &read,
            json!({"data": [{"id": other}]}),
        )
        .await,
        401,
        "OAUTH_SCOPE_MISMATCH",
    );
}

#[tokio::test]
async fn clone_copies_a_record_with_overrides() {
    let srv = TestServer::start().await;
    let t = srv.token(ALL_SCOPES).await;
    let acc = srv
        .create("Accounts", &t, vec![json!({"Account_Name": "Acme"})])
        .await
        .remove(0);
    let c = srv
        .create("Contacts", &t, vec![json!({"First_Name": "Ann", "Last_Name": "Lee", "Email": "ann@acme.com", "Account_Name": {"id": acc}})])
        .await
        .remove(0);
    let r = srv
        .call(
            reqwest::Method::POST,
            &format!("/crm/v8/Contacts/{c}/actions/clone"),
            &t,
            None,
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let copy = r.body["data"][0]["details"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(copy, c);
    let g = srv
        .get(
            &format!("/crm/v8/Contacts/{copy}?fields=Full_Name,Email,Account_Name"),
            &t,
        )
        .await;
    assert_eq!(g.body["data"][0]["Full_Name"], "Ann Lee");
    assert_eq!(g.body["data"][0]["Account_Name"]["id"], acc.as_str());
    let r = srv
        .post(
            &format!("/crm/v8/Contacts/{c}/actions/clone"),
            &t,
            json!({"data": [{"Email": "copy@acme.com"}]}),
        )
        .await;
    let copy2 = r.body["data"][0]["details"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let g = srv
        .get(&format!("/crm/v8/Contacts/{copy2}?fields=Email"), &t)
        .await;
    assert_eq!(g.body["data"][0]["Email"], "copy@acme.com");
    // A unique field cannot be cloned as is.
    let r = srv
        .call(
            reqwest::Method::POST,
            &format!("/crm/v8/Accounts/{acc}/actions/clone"),
            &t,
            None,
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["data"][0]["code"], "DUPLICATE_DATA");
    assert_error(
        &srv.call(
            reqwest::Method::POST,
            "/crm/v8/Contacts/4150000000000000001/actions/clone",
            &t,
            None,
        )
        .await,
        400,
        "INVALID_DATA",
    );
}

async fn mass_status(srv: &TestServer, t: &str, module: &str, job: &str) -> serde_json::Value {
    for _ in 0..300 {
        let r = srv
            .get(
                &format!("/crm/v8/{module}/actions/mass_update?job_id={job}"),
                t,
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let st = r.body["data"][0].clone();
        if st["Status"] == "COMPLETED" {
            return st;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("mass update {job} did not complete");
}

#[tokio::test]
async fn mass_update_by_ids_and_by_view_survives_kill9() {
    let mut srv = TestServer::start_process().await;
    let scopes = format!("{ALL_SCOPES},ZohoCRM.mass_update.ALL");
    let (t, refresh, cid, secret) = srv.tokens(&scopes).await;
    let ids = srv
        .create(
            "Leads",
            &t,
            (0..3)
                .map(|i| json!({"Last_Name": format!("m{i}")}))
                .collect(),
        )
        .await;
    let r = srv
        .post("/crm/v8/Leads/actions/mass_update", &t, json!({"data": [{"Lead_Status": "Contacted"}], "ids": [ids[0], ids[1], "4150000000000000001"]}))
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(
        r.body["data"][0]["message"],
        "mass update scheduled successfully"
    );
    let job = r.body["data"][0]["details"]["job_id"]
        .as_str()
        .unwrap()
        .to_string();
    let st = mass_status(&srv, &t, "Leads", &job).await;
    assert_eq!(
        st,
        json!({"Status": "COMPLETED", "Total_Count": 3, "Updated_Count": 2, "Not_Updated_Count": 1, "Failed_Count": 0})
    );
    let g = srv
        .get(&format!("/crm/v8/Leads/{}?fields=Lead_Status", ids[2]), &t)
        .await;
    assert!(
        g.body["data"][0]["Lead_Status"].is_null(),
        "a record not named is untouched"
    );

    // Thousands of records through a view; the server is killed while the job runs.
    for b in 0..30 {
        srv.create(
            "Contacts",
            &t,
            (0..100)
                .map(|i| json!({"Last_Name": format!("c{b}-{i}")}))
                .collect(),
        )
        .await;
    }
    let views = srv
        .get("/crm/v8/settings/custom_views?module=Contacts", &t)
        .await;
    let all = views.body["custom_views"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["system_name"] == "ALLVIEWS")
        .unwrap()["id"]
        .clone();
    let r = srv
        .post(
            "/crm/v8/Contacts/actions/mass_update",
            &t,
            json!({"data": [{"Department": "Sales"}], "cvid": all}),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    let job = r.body["data"][0]["details"]["job_id"]
        .as_str()
        .unwrap()
        .to_string();
    srv.restart(true).await;
    // The access token outlives the restart; the sweep (every 5 s) picks the job up once its lease lapses.
    srv.advance_clock(60).await;
    let r = srv
        .oauth(&[
            ("grant_type", "refresh_token"),
            ("client_id", &cid),
            ("client_secret", &secret),
            ("refresh_token", &refresh),
        ])
        .await;
    let t = r.body["access_token"].as_str().unwrap().to_string();
    let mut st = serde_json::Value::Null;
    for _ in 0..400 {
        let r = srv
            .get(
                &format!("/crm/v8/Contacts/actions/mass_update?job_id={job}"),
                &t,
            )
            .await;
        st = r.body["data"][0].clone();
        if st["Status"] == "COMPLETED" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        st,
        json!({"Status": "COMPLETED", "Total_Count": 3000, "Updated_Count": 3000, "Not_Updated_Count": 0, "Failed_Count": 0})
    );

    // Errors and scopes.
    assert_error(
        &srv.post(
            "/crm/v8/Leads/actions/mass_update",
            &t,
            json!({"data": [{"Lead_Status": "Contacted"}]}),
        )
        .await,
        400,
        "MANDATORY_NOT_FOUND",
    );
    assert_error(
        &srv.post(
            "/crm/v8/Leads/actions/mass_update",
            &t,
            json!({"data": [{"Lead_Status": "Nope"}], "ids": [ids[0]]}),
        )
        .await,
        400,
        "INVALID_DATA",
    );
    assert_error(
        &srv.get("/crm/v8/Leads/actions/mass_update", &t).await,
        400,
        "REQUIRED_PARAM_MISSING",
    );
    assert_error(
        &srv.get(
            "/crm/v8/Leads/actions/mass_update?job_id=4150000000000000001",
            &t,
        )
        .await,
        400,
        "INVALID_DATA",
    );
    let plain = srv.token(ALL_SCOPES).await;
    assert_error(
        &srv.post(
            "/crm/v8/Leads/actions/mass_update",
            &plain,
            json!({"data": [{"Company": "x"}], "ids": [ids[0]]}),
        )
        .await,
        401,
        "OAUTH_SCOPE_MISMATCH",
    );
}

#[tokio::test]
async fn notes_created_under_a_record() {
    let srv = TestServer::start().await;
    let t = srv.token(ALL_SCOPES).await;
    let deal = srv
        .create(
            "Deals",
            &t,
            vec![json!({"Deal_Name": "D", "Stage": "Qualification", "Closing_Date": "2026-12-31"})],
        )
        .await
        .remove(0);
    let r = srv
        .post(&format!("/crm/v8/Deals/{deal}/Notes"), &t, json!({"data": [{"Note_Title": "Call", "Note_Content": "went well"}, {"Note_Title": "empty"}]}))
        .await;
    assert_eq!(r.status, 207, "{}", r.body);
    assert_eq!(r.body["data"][0]["message"], "record added");
    assert_eq!(r.body["data"][1]["code"], "MANDATORY_NOT_FOUND");
    let list = srv
        .get(
            &format!("/crm/v8/Deals/{deal}/Notes?fields=Note_Title,Parent_Id"),
            &t,
        )
        .await;
    assert_eq!(list.body["info"]["count"], 1);
    assert_eq!(list.body["data"][0]["Parent_Id"]["id"], deal.as_str());
    assert_eq!(
        list.body["data"][0]["Parent_Id"]["module"]["api_name"],
        "Deals"
    );
    assert_error(
        &srv.post(
            "/crm/v8/Deals/4150000000000000001/Notes",
            &t,
            json!({"data": [{"Note_Content": "x"}]}),
        )
        .await,
        400,
        "INVALID_DATA",
    );
    assert_error(
        &srv.post(
            &format!("/crm/v8/Accounts/{deal}/Contacts"),
            &t,
            json!({"data": [{"Last_Name": "x"}]}),
        )
        .await,
        400,
        "INVALID_REQUEST_METHOD",
    );
    let deals_only = srv.token("ZohoCRM.modules.deals.ALL").await;
    assert_error(
        &srv.post(
            &format!("/crm/v8/Deals/{deal}/Notes"),
            &deals_only,
            json!({"data": [{"Note_Content": "x"}]}),
        )
        .await,
        401,
        "OAUTH_SCOPE_MISMATCH",
    );
}
