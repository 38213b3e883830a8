//! The records API: create, read, list, update, delete, recycle bin.

mod common;
use common::*;
use serde_json::json;

#[tokio::test]
async fn create_then_get_renders_zoho_shapes() {
    let srv = TestServer::start().await;
    let t = srv.token(ALL_SCOPES).await;
    let acc = srv
        .create(
            "Accounts",
            &t,
            vec![json!({"Account_Name": "Zylker", "Annual_Revenue": 1200.5})],
        )
        .await;
    let r = srv
        .post(
            "/crm/v8/Contacts",
            &t,
            json!({"data": [{"Last_Name": "Boyle", "First_Name": "Patricia", "Email": "p.boyle@zylker.com",
                             "Account_Name": {"id": acc[0]}, "Date_of_Birth": "1990-02-28",
                             "Email_Opt_Out": true, "Lead_Source": "Web Download", "Unknown_Field": 5}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let item = &r.body["data"][0];
    assert_eq!(item["code"], "SUCCESS");
    assert_eq!(item["status"], "success");
    assert_eq!(item["message"], "record added");
    let d = &item["details"];
    let id = d["id"].as_str().unwrap();
    assert_eq!(id.len(), 19);
    assert!(
        d["Created_Time"].as_str().unwrap().len() == 25,
        "{}",
        d["Created_Time"]
    );
    assert!(d["Created_By"]["id"].is_string() && d["Created_By"]["name"].is_string());

    let g = srv.get(&format!("/crm/v8/Contacts/{id}"), &t).await;
    assert_eq!(g.status, 200);
    assert!(g.body.get("info").is_none(), "single GET has no info");
    let rec = &g.body["data"][0];
    assert_eq!(rec["id"], id);
    assert_eq!(rec["Full_Name"], "Patricia Boyle");
    assert_eq!(rec["Account_Name"], json!({"name": "Zylker", "id": acc[0]}));
    assert_eq!(rec["Date_of_Birth"], "1990-02-28");
    assert_eq!(rec["Email_Opt_Out"], true);
    assert_eq!(rec["Owner"]["email"], "admin@zylker.example");
    assert!(rec["Owner"]["id"].is_string());
    assert!(rec.get("Unknown_Field").is_none());
    assert!(
        rec["Created_Time"].as_str().unwrap().ends_with("-08:00")
            || rec["Created_Time"].as_str().unwrap().ends_with("-07:00")
    );
    assert_eq!(rec["$approved"], true);

    let a = srv
        .get(
            &format!(
                "/crm/v8/Accounts/{}?fields=Account_Name,Annual_Revenue",
                acc[0]
            ),
            &t,
        )
        .await;
    assert_eq!(
        a.body["data"][0],
        json!({"Account_Name": "Zylker", "Annual_Revenue": 1200.5, "id": acc[0]})
    );
}

#[tokio::test]
async fn list_paginates_sorts_and_filters() {
    let srv = TestServer::start().await;
    let t = srv.token(ALL_SCOPES).await;
    let mut ids = Vec::new();
    for chunk in 0..3 {
        let recs = (0..100)
            .map(|i| json!({"Last_Name": format!("L{:03}", chunk * 100 + i)}))
            .collect();
        ids.extend(srv.create("Leads", &t, recs).await);
    }
    let r = srv
        .get("/crm/v8/Leads?fields=Last_Name&per_page=120", &t)
        .await;
    assert_eq!(r.status, 200);
    let info = &r.body["info"];
    assert_eq!(info["count"], 120);
    assert_eq!(info["per_page"], 120);
    assert_eq!(info["page"], 1);
    assert_eq!(info["more_records"], true);
    assert_eq!(info["sort_by"], "id");
    assert_eq!(info["sort_order"], "desc");
    for k in [
        "call",
        "email",
        "next_page_token",
        "previous_page_token",
        "page_token_expiry",
    ] {
        assert!(info.get(k).is_some(), "info.{k}");
    }
    let data = r.body["data"].as_array().unwrap();
    assert_eq!(data[0]["id"], ids[299].as_str(), "newest first by default");
    assert_eq!(
        data[0].as_object().unwrap().len(),
        2,
        "only the asked fields and id: {}",
        data[0]
    );

    let p3 = srv
        .get("/crm/v8/Leads?fields=Last_Name&per_page=120&page=3", &t)
        .await;
    assert_eq!(p3.body["info"]["count"], 60);
    assert_eq!(p3.body["info"]["more_records"], false);
    let asc = srv
        .get(
            "/crm/v8/Leads?fields=Last_Name&sort_order=asc&sort_by=Created_Time&per_page=1",
            &t,
        )
        .await;
    assert_eq!(asc.body["data"][0]["Last_Name"], "L000");

    // Walk everything with page tokens.
    let mut seen = 0;
    let mut url = "/crm/v8/Leads?fields=Last_Name&per_page=200".to_string();
    loop {
        let r = srv.get(&url, &t).await;
        seen += r.body["data"].as_array().unwrap().len();
        match r.body["info"]["next_page_token"].as_str() {
            Some(tok) => {
                url = format!("/crm/v8/Leads?fields=Last_Name&per_page=200&page_token={tok}")
            }
            None => break,
        }
    }
    assert_eq!(seen, 300);

    let by_ids = srv
        .get(
            &format!("/crm/v8/Leads?fields=Last_Name&ids={},{}", ids[0], ids[5]),
            &t,
        )
        .await;
    assert_eq!(by_ids.body["info"]["count"], 2);

    assert_error(
        &srv.get("/crm/v8/Leads?fields=Last_Name&page=11", &t).await,
        400,
        "DISCRETE_PAGINATION_LIMIT_EXCEEDED",
    );
    assert_error(
        &srv.get("/crm/v8/Leads?fields=Last_Name&per_page=201", &t)
            .await,
        400,
        "INVALID_DATA",
    );
    assert_error(
        &srv.get("/crm/v8/Leads?fields=Nope", &t).await,
        400,
        "INVALID_DATA",
    );
    assert_error(
        &srv.get("/crm/v8/Leads?fields=Last_Name&sort_by=Last_Name", &t)
            .await,
        400,
        "INVALID_DATA",
    );
    let many: Vec<String> = (0..51).map(|i| format!("F{i}")).collect();
    let r = srv
        .get(&format!("/crm/v8/Leads?fields={}", many.join(",")), &t)
        .await;
    assert_error(&r, 400, "LIMIT_EXCEEDED");
    assert_eq!(
        r.body["details"],
        json!({"limit": 50, "param_name": "fields"})
    );
    let r = srv
        .get("/crm/v8/Leads?fields=Last_Name&page=1&page_token=abc", &t)
        .await;
    assert_error(&r, 400, "AMBIGUITY_DURING_PROCESSING");
    assert_error(
        &srv.get("/crm/v8/Leads?fields=Last_Name&page_token=zzz", &t)
            .await,
        400,
        "INVALID_DATA",
    );
}

#[tokio::test]
async fn page_tokens_are_bound_to_user_and_expire() {
    let srv = TestServer::start().await;
    let (t, refresh, id, secret) = srv.tokens(ALL_SCOPES).await;
    srv.create(
        "Leads",
        &t,
        (0..3)
            .map(|i| json!({"Last_Name": format!("x{i}")}))
            .collect(),
    )
    .await;
    let r = srv
        .get("/crm/v8/Leads?fields=Last_Name&per_page=1", &t)
        .await;
    let tok = r.body["info"]["next_page_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(tok.len() <= 200);
    let other_sort = srv
        .get(
            &format!("/crm/v8/Leads?fields=Last_Name&per_page=1&sort_order=asc&page_token={tok}"),
            &t,
        )
        .await;
    assert_error(&other_sort, 400, "TOKEN_BOUND_DATA_MISMATCH");
    srv.advance_clock(24 * 3600 + 1).await;
    let r = srv
        .oauth(&[
            ("grant_type", "refresh_token"),
            ("client_id", &id),
            ("client_secret", &secret),
            ("refresh_token", &refresh),
        ])
        .await;
    let t2 = r.body["access_token"].as_str().unwrap().to_string();
    let r = srv
        .get(
            &format!("/crm/v8/Leads?fields=Last_Name&per_page=1&page_token={tok}"),
            &t2,
        )
        .await;
    assert_error(&r, 400, "EXPIRED_VALUE");
}

#[tokio::test]
async fn empty_results_are_204_and_if_modified_since_is_304() {
    let srv = TestServer::start().await;
    let t = srv.token(ALL_SCOPES).await;
    let r = srv.get("/crm/v8/Deals?fields=Deal_Name", &t).await;
    assert_eq!(r.status, 204);
    assert!(r.body.is_null());
    assert_eq!(
        srv.get("/crm/v8/Deals/4150000000000000001", &t)
            .await
            .status,
        204
    );
    srv.create("Tasks", &t, vec![json!({"Subject": "Call back"})])
        .await;
    let r = srv
        .http
        .get(format!("{}/crm/v8/Tasks?fields=Subject", srv.url))
        .header("Authorization", format!("Zoho-oauthtoken {t}"))
        .header("If-Modified-Since", "2100-01-01T00:00:00+00:00")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 304);
    let r = srv
        .http
        .get(format!("{}/crm/v8/Tasks?fields=Subject", srv.url))
        .header("Authorization", format!("Zoho-oauthtoken {t}"))
        .header("If-Modified-Since", "2000-01-01T00:00:00+00:00")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
}

#[tokio::test]
async fn update_one_and_many() {
    let srv = TestServer::start().await;
    let t = srv.token(ALL_SCOPES).await;
    let ids = srv
        .create(
            "Leads",
            &t,
            vec![
                json!({"Last_Name": "A", "First_Name": "Ann"}),
                json!({"Last_Name": "B"}),
            ],
        )
        .await;
    let r = srv
        .put(
            &format!("/crm/v8/Leads/{}", ids[0]),
            &t,
            json!({"data": [{"Last_Name": "Smith", "Lead_Status": "Contacted"}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["data"][0]["message"], "record updated");
    let g = srv
        .get(
            &format!(
                "/crm/v8/Leads/{}?fields=Full_Name,Lead_Status,First_Name",
                ids[0]
            ),
            &t,
        )
        .await;
    assert_eq!(
        g.body["data"][0]["Full_Name"], "Ann Smith",
        "derived field follows the update"
    );
    assert_eq!(g.body["data"][0]["Lead_Status"], "Contacted");
    assert_eq!(
        g.body["data"][0]["First_Name"], "Ann",
        "fields not sent are kept"
    );

    let r = srv
        .put(
            "/crm/v8/Leads",
            &t,
            json!({"data": [{"id": ids[1], "Company": "Zylker"}, {"id": "4150000000000000009", "Company": "X"}, {"Company": "no id"}]}),
        )
        .await;
    assert_eq!(r.status, 207, "{}", r.body);
    assert_eq!(r.body["data"][0]["code"], "SUCCESS");
    assert_eq!(r.body["data"][1]["code"], "INVALID_DATA");
    assert_eq!(r.body["data"][1]["details"]["api_name"], "id");
    assert_eq!(r.body["data"][2]["code"], "MANDATORY_NOT_FOUND");
    assert_eq!(
        r.body["data"][2]["details"],
        json!({"api_name": "id", "json_path": "$.data[2].id"})
    );
    let r = srv
        .put(
            &format!("/crm/v8/Leads/{}", ids[1]),
            &t,
            json!({"data": [{"Last_Name": null}]}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["data"][0]["code"], "MANDATORY_NOT_FOUND");
}

#[tokio::test]
async fn delete_goes_to_recycle_bin() {
    let srv = TestServer::start().await;
    let t = srv.token(ALL_SCOPES).await;
    let ids = srv
        .create(
            "Accounts",
            &t,
            (0..3)
                .map(|i| json!({"Account_Name": format!("Acc {i}")}))
                .collect(),
        )
        .await;
    let r = srv
        .delete(&format!("/crm/v8/Accounts/{}", ids[0]), &t)
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.body["data"][0],
        json!({"code": "SUCCESS", "details": {"id": ids[0]}, "message": "record deleted", "status": "success"})
    );
    let r = srv
        .delete(
            &format!(
                "/crm/v8/Accounts?ids={},{},4150000000000000007",
                ids[1], ids[2]
            ),
            &t,
        )
        .await;
    assert_eq!(r.status, 207);
    assert_eq!(r.body["data"][2]["code"], "INVALID_DATA");
    assert_eq!(
        srv.get(&format!("/crm/v8/Accounts/{}", ids[1]), &t)
            .await
            .status,
        204
    );
    assert_error(
        &srv.delete("/crm/v8/Accounts", &t).await,
        400,
        "REQUIRED_PARAM_MISSING",
    );
    let many: Vec<String> = (0..101)
        .map(|i| (4150000000000000000u64 + i).to_string())
        .collect();
    assert_error(
        &srv.delete(&format!("/crm/v8/Accounts?ids={}", many.join(",")), &t)
            .await,
        400,
        "LIMIT_EXCEEDED",
    );

    let d = srv.get("/crm/v8/Accounts/deleted", &t).await;
    assert_eq!(d.status, 200, "{}", d.body);
    assert_eq!(d.body["info"]["count"], 3);
    let item = &d.body["data"][0];
    assert_eq!(item["type"], "recycle");
    assert!(item["display_name"].as_str().unwrap().starts_with("Acc "));
    assert!(item["deleted_by"]["id"].is_string());
    assert!(item["deleted_time"].is_string());
    assert_eq!(
        srv.get("/crm/v8/Accounts/deleted?type=permanent", &t)
            .await
            .status,
        204
    );
    assert_error(
        &srv.get("/crm/v8/Accounts/deleted?type=gone", &t).await,
        400,
        "PATTERN_NOT_MATCHED",
    );
    // A deleted account's name is free again.
    srv.create("Accounts", &t, vec![json!({"Account_Name": "Acc 0"})])
        .await;
}

#[tokio::test]
async fn every_standard_module_takes_its_mandatory_fields() {
    let srv = TestServer::start().await;
    let t = srv.token(ALL_SCOPES).await;
    let product = srv
        .create("Products", &t, vec![json!({"Product_Name": "Widget"})])
        .await;
    let vendor = srv
        .create("Vendors", &t, vec![json!({"Vendor_Name": "Acme"})])
        .await;
    let lead = srv
        .create("Leads", &t, vec![json!({"Last_Name": "Lead"})])
        .await;
    let items = json!([{"Product_Name": {"id": product[0]}, "Quantity": 2}]);
    let cases = vec![
        ("Contacts", json!({"Last_Name": "C"})),
        ("Accounts", json!({"Account_Name": "A"})),
        (
            "Deals",
            json!({"Deal_Name": "D", "Stage": "Qualification", "Closing_Date": "2026-12-31", "Amount": 1000}),
        ),
        ("Campaigns", json!({"Campaign_Name": "Camp"})),
        (
            "Tasks",
            json!({"Subject": "T", "What_Id": {"id": lead[0]}, "$se_module": "Leads"}),
        ),
        (
            "Events",
            json!({"Event_Title": "E", "Start_DateTime": "2026-12-01T10:00:00+05:30", "End_DateTime": "2026-12-01T11:00:00+05:30"}),
        ),
        (
            "Calls",
            json!({"Subject": "Call", "Call_Type": "Outbound", "Call_Start_Time": "2026-12-01T10:00:00+00:00", "Call_Duration": "10:00"}),
        ),
        (
            "Notes",
            json!({"Note_Content": "hello", "Parent_Id": {"module": {"api_name": "Leads"}, "id": lead[0]}}),
        ),
        (
            "Cases",
            json!({"Subject": "S", "Status": "New", "Case_Origin": "Email"}),
        ),
        ("Solutions", json!({"Solution_Title": "Sol"})),
        (
            "Price_Books",
            json!({"Price_Book_Name": "PB", "Pricing_Details": [{"From_Range": 1, "To_Range": 10, "Discount": 5}]}),
        ),
        ("Quotes", json!({"Subject": "Q", "Quoted_Items": items})),
        (
            "Sales_Orders",
            json!({"Subject": "SO", "Ordered_Items": items}),
        ),
        (
            "Purchase_Orders",
            json!({"Subject": "PO", "Vendor_Name": {"id": vendor[0]}, "Purchased_Items": items}),
        ),
        ("Invoices", json!({"Subject": "I", "Invoiced_Items": items})),
    ];
    for (module, rec) in cases {
        let r = srv
            .post(&format!("/crm/v8/{module}"), &t, json!({"data": [rec]}))
            .await;
        assert_eq!(r.status, 201, "{module}: {}", r.body);
        let id = r.body["data"][0]["details"]["id"].as_str().unwrap();
        let g = srv.get(&format!("/crm/v8/{module}/{id}"), &t).await;
        assert_eq!(g.status, 200, "{module}");
        let empty = srv
            .post(&format!("/crm/v8/{module}"), &t, json!({"data": [{}]}))
            .await;
        assert_eq!(empty.status, 400, "{module} without mandatory fields");
        assert_eq!(
            empty.body["data"][0]["code"], "MANDATORY_NOT_FOUND",
            "{module}"
        );
    }
    let deal = srv
        .get(
            "/crm/v8/Deals?fields=Probability,Expected_Revenue,Stage",
            &t,
        )
        .await;
    assert_eq!(deal.body["data"][0]["Probability"], 10);
    assert_eq!(deal.body["data"][0]["Expected_Revenue"], 100.0);
    let task = srv.get("/crm/v8/Tasks?fields=What_Id", &t).await;
    assert_eq!(task.body["data"][0]["What_Id"]["id"], lead[0].as_str());
    assert_eq!(task.body["data"][0]["What_Id"]["name"], "Lead");
    assert_eq!(task.body["data"][0]["$se_module"], "Leads");
    let quote = srv.get("/crm/v8/Quotes?fields=Quoted_Items", &t).await;
    let row = &quote.body["data"][0]["Quoted_Items"][0];
    assert!(row["id"].is_string(), "subform rows get ids: {row}");
    assert_eq!(row["Quantity"], 2);
}

#[tokio::test]
async fn recycle_bin_lists_across_modules_and_purges() {
    let srv = TestServer::start().await;
    let t = srv
        .token(&format!("{ALL_SCOPES},ZohoCRM.settings.recycle_bin.ALL"))
        .await;
    let lead = srv
        .create("Leads", &t, vec![json!({"Last_Name": "Gone"})])
        .await
        .remove(0);
    let deal = srv
        .create("Deals", &t, vec![json!({"Deal_Name": "Lost", "Stage": "Qualification", "Closing_Date": "2026-12-31"})])
        .await
        .remove(0);
    assert_eq!(
        srv.get("/crm/v8/settings/recycle_bin", &t).await.status,
        204
    );
    srv.delete(&format!("/crm/v8/Leads/{lead}"), &t).await;
    srv.delete(&format!("/crm/v8/Deals/{deal}"), &t).await;
    let r = srv.get("/crm/v8/settings/recycle_bin", &t).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["info"]["count"], 2);
    let lead_entry = r.body["recycle_bin"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == lead.as_str())
        .unwrap()
        .clone();
    assert_eq!(lead_entry["module"]["api_name"], "Leads");
    assert_eq!(lead_entry["display_name"], "Gone");
    assert!(lead_entry["owner"]["id"].is_string() && lead_entry["deleted_by"]["id"].is_string());
    assert_eq!(
        srv.get(&format!("/crm/v8/settings/recycle_bin/{deal}"), &t)
            .await
            .body["recycle_bin"][0]["module"]["api_name"],
        "Deals"
    );

    let r = srv
        .delete(
            &format!("/crm/v8/settings/recycle_bin?ids={lead},4150000000000000001"),
            &t,
        )
        .await;
    assert_eq!(r.status, 207, "{}", r.body);
    assert_eq!(r.body["data"][0]["code"], "SUCCESS");
    assert_eq!(
        srv.get("/crm/v8/settings/recycle_bin", &t).await.body["info"]["count"],
        1
    );
    let perm = srv.get("/crm/v8/Leads/deleted?type=permanent", &t).await;
    assert_eq!(perm.body["data"][0]["id"], lead.as_str());
    assert_error(
        &srv.delete("/crm/v8/settings/recycle_bin", &t).await,
        400,
        "REQUIRED_PARAM_MISSING",
    );
    let no = srv
        .token("ZohoCRM.modules.ALL,ZohoCRM.settings.modules.READ")
        .await;
    assert_error(
        &srv.get("/crm/v8/settings/recycle_bin", &no).await,
        401,
        "OAUTH_SCOPE_MISMATCH",
    );
}
