//! Side paths to records need the scopes of every module they reach (issue
//! 14's findings): related lists and notes, bulk read fields and criteria
//! following lookups, bulk results, mass update. Each refusal is Zoho's
//! `OAUTH_SCOPE_MISMATCH`, and the data stays as it was.

mod common;
use common::bulk::*;
use common::*;
use reqwest::Method;
use serde_json::{json, Value};

const MISMATCH: &str = "OAUTH_SCOPE_MISMATCH";

/// An Account with a phone, a Contact of it, a Contact of none, a Lead with a note.
struct Data {
    admin: String,
    account: String,
    contact: String,
    loose: String,
    lead: String,
}

async fn data(srv: &TestServer) -> Data {
    let admin = srv
        .token(&format!("{BULK_SCOPES},ZohoCRM.mass_update.ALL"))
        .await;
    let account = srv
        .create(
            "Accounts",
            &admin,
            vec![json!({"Account_Name": "Acme", "Phone": "555-0100"})],
        )
        .await
        .remove(0);
    let contacts = srv
        .create(
            "Contacts",
            &admin,
            vec![
                json!({"Last_Name": "Linked", "Email": "linked@acme.example", "Account_Name": {"id": account}}),
                json!({"Last_Name": "Loose", "Email": "loose@acme.example"}),
            ],
        )
        .await;
    let lead = srv
        .create(
            "Leads",
            &admin,
            vec![json!({"Last_Name": "Noted", "Company": "Acme"})],
        )
        .await
        .remove(0);
    let r = srv
        .post(
            &format!("/crm/v8/Leads/{lead}/Notes"),
            &admin,
            json!({"data": [{"Note_Title": "private", "Note_Content": "the secret note"}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    Data {
        admin,
        account,
        contact: contacts[0].clone(),
        loose: contacts[1].clone(),
        lead,
    }
}

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

async fn account_of(srv: &TestServer, d: &Data, contact: &str) -> Value {
    let r = srv
        .get(&format!("/crm/v8/Contacts/{contact}"), &d.admin)
        .await;
    r.body["data"][0]["Account_Name"].clone()
}

#[tokio::test]
async fn related_lists_need_the_related_module_scope() {
    let srv = TestServer::start().await;
    let d = data(&srv).await;
    let contacts_of = format!(
        "/crm/v8/Accounts/{}/Contacts?fields=Last_Name,Email",
        d.account
    );
    // Only Accounts: the Contacts behind the related list are out of reach.
    let accounts = srv.token("ZohoCRM.modules.accounts.ALL").await;
    assert_error(&srv.get(&contacts_of, &accounts).await, 401, MISMATCH);
    let both = srv
        .token("ZohoCRM.modules.accounts.READ,ZohoCRM.modules.contacts.READ")
        .await;
    let r = srv.get(&contacts_of, &both).await;
    assert_eq!(ids(&r), vec![d.contact.clone()], "{}", r.body);

    // Linking rewrites the Contact's Account_Name: it needs Contacts' UPDATE.
    let one = format!("/crm/v8/Accounts/{}/Contacts/{}", d.account, d.loose);
    let many = format!("/crm/v8/Accounts/{}/Contacts", d.account);
    let unlink = format!("/crm/v8/Accounts/{}/Contacts/{}", d.account, d.contact);
    let body = json!({"data": [{"id": d.loose}]});
    for t in [&accounts, &both] {
        assert_error(&srv.call(Method::PUT, &one, t, None).await, 401, MISMATCH);
        assert_error(&srv.put(&many, t, body.clone()).await, 401, MISMATCH);
        let r = srv.call(Method::DELETE, &unlink, t, None).await;
        assert_error(&r, 401, MISMATCH);
    }
    assert!(account_of(&srv, &d, &d.loose).await.is_null());
    assert_eq!(
        account_of(&srv, &d, &d.contact).await["id"],
        d.account.as_str()
    );
    let writer = srv
        .token("ZohoCRM.modules.accounts.UPDATE,ZohoCRM.modules.contacts.UPDATE")
        .await;
    let r = srv.call(Method::PUT, &one, &writer, None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        account_of(&srv, &d, &d.loose).await["id"],
        d.account.as_str()
    );
}

#[tokio::test]
async fn notes_need_a_notes_scope() {
    let srv = TestServer::start().await;
    let d = data(&srv).await;
    let notes = format!(
        "/crm/v8/Leads/{}/Notes?fields=Note_Title,Note_Content",
        d.lead
    );
    let leads = srv.token("ZohoCRM.modules.leads.ALL").await;
    let r = srv.get(&notes, &leads).await;
    assert_error(&r, 401, MISMATCH);
    assert!(!r.body.to_string().contains("secret"));
    assert_error(
        &srv.get("/crm/v8/Notes?fields=Note_Content", &leads).await,
        401,
        MISMATCH,
    );
    for scopes in [
        "ZohoCRM.modules.leads.READ,ZohoCRM.modules.notes.READ",
        "ZohoCRM.modules.ALL",
    ] {
        let t = srv.token(scopes).await;
        let r = srv.get(&notes, &t).await;
        assert_eq!(r.status, 200, "{scopes}: {}", r.body);
        assert_eq!(r.body["data"][0]["Note_Content"], "the secret note");
    }
}

async fn read_job(srv: &TestServer, t: &str, query: Value) -> Resp {
    srv.post("/crm/bulk/v8/read", t, json!({"query": query}))
        .await
}

#[tokio::test]
async fn bulk_read_fields_and_criteria_do_not_follow_lookups_out_of_scope() {
    let srv = TestServer::start().await;
    let _d = data(&srv).await;
    let contacts = srv
        .token("ZohoCRM.modules.contacts.ALL,ZohoCRM.bulk.ALL")
        .await;
    let through_fields = json!({"module": {"api_name": "Contacts"},
        "fields": ["Last_Name", "Account_Name.Phone"]});
    let through_criteria = json!({"module": {"api_name": "Contacts"}, "fields": ["Last_Name"],
        "criteria": {"field": {"api_name": "Account_Name.Phone"}, "comparator": "equal", "value": "555-0100"}});
    for q in [&through_fields, &through_criteria] {
        assert_error(&read_job(&srv, &contacts, q.clone()).await, 401, MISMATCH);
    }
    // Contacts' own fields are fine; with Accounts' READ the lookups are too.
    let own = json!({"module": {"api_name": "Contacts"}, "fields": ["Last_Name", "Email"]});
    assert_eq!(read_job(&srv, &contacts, own).await.status, 201);
    let both = srv
        .token("ZohoCRM.modules.contacts.READ,ZohoCRM.modules.accounts.READ,ZohoCRM.bulk.READ")
        .await;
    for q in [through_fields, through_criteria] {
        let r = read_job(&srv, &both, q).await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
}

#[tokio::test]
async fn bulk_results_need_the_job_module_read_scope() {
    let srv = TestServer::start().await;
    let d = data(&srv).await;
    let r = read_job(
        &srv,
        &d.admin,
        json!({"module": {"api_name": "Contacts"}, "fields": ["Last_Name", "Email"]}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let read = r.body["data"][0]["details"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(wait_read(&srv, &d.admin, &read).await["state"], "COMPLETED");
    let csv = "Last_Name,Company\nBulk,Acme\n";
    let file_id = upload(&srv, &d.admin, zip_of(&[("leads.csv", csv.as_bytes())])).await;
    let r = srv
        .post(
            "/crm/bulk/v8/write",
            &d.admin,
            json!({"operation": "insert", "resource": [{"type": "data", "module": {"api_name": "Leads"},
                "file_id": file_id, "field_mappings": [
                    {"api_name": "Last_Name", "index": 0}, {"api_name": "Company", "index": 1}]}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let write = r.body["details"]["id"].as_str().unwrap().to_string();
    assert_eq!(
        wait_write(&srv, &d.admin, &write).await["status"],
        "COMPLETED"
    );

    let read_job_path = format!("/crm/bulk/v8/read/{read}");
    let read_result = format!("/crm/bulk/v8/read/{read}/result");
    let write_result = format!("/crm/bulk/v8/write/{write}/result");
    // The bulk scopes alone, or with another module's: no result file.
    let bulk_only = srv.token("ZohoCRM.bulk.ALL,ZohoFiles.files.ALL").await;
    let other = srv
        .token("ZohoCRM.bulk.ALL,ZohoCRM.modules.deals.ALL")
        .await;
    for t in [&bulk_only, &other] {
        for path in [&read_job_path, &read_result, &write_result] {
            let r = srv.get(path, t).await;
            assert_error(&r, 401, MISMATCH);
        }
    }
    let contacts = srv
        .token("ZohoCRM.bulk.READ,ZohoCRM.modules.contacts.READ")
        .await;
    assert_eq!(srv.get(&read_job_path, &contacts).await.status, 200);
    let (_, rows) = download_csv(&srv, &contacts, &read_result).await;
    assert_eq!(rows.len(), 2);
    assert_error(&srv.get(&write_result, &contacts).await, 401, MISMATCH);
    let leads = srv
        .token("ZohoCRM.bulk.CREATE,ZohoCRM.modules.leads.READ")
        .await;
    let (_, rows) = download_csv(&srv, &leads, &write_result).await;
    assert_eq!(rows.len(), 1);
    // An unknown job is not found, whatever the module scopes.
    let r = srv
        .get("/crm/bulk/v8/read/1234567/result", &bulk_only)
        .await;
    assert_error(&r, 404, "RESOURCE_NOT_FOUND");
}

async fn mass_update(srv: &TestServer, module: &str, t: &str, body: Value) -> Resp {
    srv.post(&format!("/crm/v8/{module}/actions/mass_update"), t, body)
        .await
}

#[tokio::test]
async fn mass_update_needs_the_module_scopes() {
    let srv = TestServer::start().await;
    let d = data(&srv).await;
    let by_ids = json!({"data": [{"Company": "Changed"}], "ids": [d.lead]});
    let by_criteria =
        json!({"data": [{"Company": "Changed"}], "criteria": "(Company:equals:Acme)"});
    // The finding: the mass update scope alone changed any module.
    let mass_only = srv.token("ZohoCRM.mass_update.ALL").await;
    for body in [&by_ids, &by_criteria] {
        assert_error(
            &mass_update(&srv, "Leads", &mass_only, body.clone()).await,
            401,
            MISMATCH,
        );
    }
    // UPDATE on the module updates by ids; criteria (a data oracle) also need READ.
    let update = srv
        .token("ZohoCRM.mass_update.ALL,ZohoCRM.modules.leads.UPDATE")
        .await;
    let r = mass_update(&srv, "Leads", &update, by_criteria.clone()).await;
    assert_error(&r, 401, MISMATCH);
    let lead = srv
        .get(&format!("/crm/v8/Leads/{}", d.lead), &d.admin)
        .await;
    assert_eq!(lead.body["data"][0]["Company"], "Acme", "nothing changed");
    let r = mass_update(&srv, "Leads", &update, by_ids.clone()).await;
    assert_eq!(r.status, 202, "{}", r.body);
    // Zoho's per-module mass update scope covers that module only.
    let per_module = srv
        .token("ZohoCRM.mass_update.leads.UPDATE,ZohoCRM.modules.leads.ALL,ZohoCRM.mass_update.leads.READ")
        .await;
    let r = mass_update(&srv, "Leads", &per_module, by_criteria).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let job = r.body["data"][0]["details"]["job_id"]
        .as_str()
        .unwrap()
        .to_string();
    let status = format!("/crm/v8/Leads/actions/mass_update?job_id={job}");
    assert_eq!(srv.get(&status, &per_module).await.status, 200);
    let contacts_body = json!({"data": [{"Title": "x"}], "ids": [d.contact]});
    let r = mass_update(&srv, "Contacts", &per_module, contacts_body).await;
    assert_error(&r, 401, MISMATCH);

    // Criteria following a lookup need READ on the module it reaches.
    let through = json!({"data": [{"Title": "Phoned"}],
        "criteria": {"field": {"api_name": "Account_Name.Phone"}, "comparator": "equal", "value": "555-0100"}});
    let contacts = srv
        .token("ZohoCRM.mass_update.ALL,ZohoCRM.modules.contacts.ALL")
        .await;
    let r = mass_update(&srv, "Contacts", &contacts, through.clone()).await;
    assert_error(&r, 401, MISMATCH);
    let with_accounts = srv
        .token("ZohoCRM.mass_update.ALL,ZohoCRM.modules.contacts.ALL,ZohoCRM.modules.accounts.READ")
        .await;
    let r = mass_update(&srv, "Contacts", &with_accounts, through).await;
    assert_eq!(r.status, 202, "{}", r.body);
}
