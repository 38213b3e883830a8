//! Metadata, users, org and __apis as the SDKs read them before any record call.

mod common;
use common::*;
use serde_json::{json, Value};

const MODULES: [&str; 18] = [
    "Leads",
    "Contacts",
    "Accounts",
    "Deals",
    "Tasks",
    "Events",
    "Calls",
    "Notes",
    "Products",
    "Campaigns",
    "Cases",
    "Solutions",
    "Vendors",
    "Price_Books",
    "Quotes",
    "Sales_Orders",
    "Purchase_Orders",
    "Invoices",
];

#[tokio::test]
async fn modules_and_fields() {
    let srv = TestServer::start().await;
    let t = srv.token(ALL_SCOPES).await;
    let r = srv.get("/crm/v8/settings/modules", &t).await;
    assert_eq!(r.status, 200);
    assert!(r.content_type.starts_with("application/json"));
    let modules = r.body["modules"].as_array().unwrap();
    for name in MODULES {
        let m = modules
            .iter()
            .find(|m| m["api_name"] == name)
            .unwrap_or_else(|| panic!("{name} listed"));
        assert_eq!(m["api_supported"], true);
        assert_eq!(m["generated_type"], "default");
        assert!(
            m["id"].is_string() && m["plural_label"].is_string() && m["module_name"].is_string()
        );
        let f = srv
            .get(&format!("/crm/v8/settings/fields?module={name}"), &t)
            .await;
        assert_eq!(f.status, 200, "{name}");
        let fields = f.body["fields"].as_array().unwrap();
        for field in fields {
            for key in [
                "id",
                "api_name",
                "data_type",
                "json_type",
                "field_label",
                "length",
            ] {
                assert!(
                    !field[key].is_null(),
                    "{name}.{} has {key}",
                    field["api_name"]
                );
            }
        }
        for system in ["Created_Time", "Modified_Time", "Created_By", "Modified_By"] {
            assert!(
                fields.iter().any(|f| f["api_name"] == system),
                "{name}.{system}"
            );
        }
    }
    let f = srv.get("/crm/v8/settings/fields?module=Leads", &t).await;
    let fields = f.body["fields"].as_array().unwrap();
    let get = |n: &str| {
        fields
            .iter()
            .find(|f| f["api_name"] == n)
            .cloned()
            .unwrap_or(Value::Null)
    };
    assert_eq!(get("Last_Name")["system_mandatory"], true);
    assert_eq!(get("Last_Name")["data_type"], "text");
    assert_eq!(get("Email")["data_type"], "email");
    assert_eq!(get("Owner")["data_type"], "ownerlookup");
    assert_eq!(get("Owner")["json_type"], "jsonobject");
    let status: Vec<String> = get("Lead_Status")["pick_list_values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["actual_value"].as_str().unwrap().to_string())
        .collect();
    assert!(status.iter().any(|s| s == "Contacted") && status.iter().any(|s| s == "Junk Lead"));
    let deals = srv.get("/crm/v8/settings/fields?module=Deals", &t).await;
    let stage = deals.body["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["api_name"] == "Stage")
        .unwrap()
        .clone();
    let won = stage["pick_list_values"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["actual_value"] == "Closed Won")
        .unwrap()
        .clone();
    assert_eq!(won["probability"], 100);
    let contacts = srv.get("/crm/v8/settings/fields?module=Contacts", &t).await;
    let acc = contacts.body["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["api_name"] == "Account_Name")
        .unwrap()
        .clone();
    assert_eq!(acc["lookup"]["module"]["api_name"], "Accounts");

    let id = get("Email")["id"].as_str().unwrap().to_string();
    let one = srv
        .get(&format!("/crm/v8/settings/fields/{id}?module=Leads"), &t)
        .await;
    assert_eq!(one.body["fields"][0]["api_name"], "Email");
    assert_error(
        &srv.get("/crm/v8/settings/fields", &t).await,
        400,
        "REQUIRED_PARAM_MISSING",
    );
    assert_error(
        &srv.get("/crm/v8/settings/fields?module=Nope", &t).await,
        400,
        "INVALID_MODULE",
    );

    let single = srv.get("/crm/v8/settings/modules/Deals", &t).await;
    assert_eq!(single.body["modules"][0]["api_name"], "Deals");
    assert_error(
        &srv.get("/crm/v8/settings/modules/Nope", &t).await,
        400,
        "INVALID_MODULE",
    );
    // Ids are stable across restarts: SDKs cache them.
    let before = srv.get("/crm/v8/settings/modules", &t).await.body;
    let mut srv = srv;
    srv.restart(false).await;
    assert_eq!(srv.get("/crm/v8/settings/modules", &t).await.body, before);
}

#[tokio::test]
async fn layouts_related_lists_custom_views() {
    let srv = TestServer::start().await;
    let t = srv.token(ALL_SCOPES).await;
    let l = srv.get("/crm/v8/settings/layouts?module=Leads", &t).await;
    let layout = &l.body["layouts"][0];
    assert_eq!(layout["name"], "Standard");
    let fields: Vec<&Value> = layout["sections"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["fields"].as_array().unwrap())
        .collect();
    assert!(fields.iter().any(|f| f["api_name"] == "Last_Name"));
    let lid = layout["id"].as_str().unwrap();
    assert_eq!(
        srv.get(&format!("/crm/v8/settings/layouts/{lid}?module=Leads"), &t)
            .await
            .status,
        200
    );

    let rl = srv
        .get("/crm/v8/settings/related_lists?module=Accounts", &t)
        .await;
    let lists = rl.body["related_lists"].as_array().unwrap();
    let contacts = lists
        .iter()
        .find(|l| l["api_name"] == "Contacts")
        .expect("Accounts have Contacts");
    assert_eq!(contacts["module"]["api_name"], "Contacts");
    assert_eq!(contacts["href"], "Accounts/{ENTITYID}/Contacts");

    let cv = srv
        .get("/crm/v8/settings/custom_views?module=Leads", &t)
        .await;
    let views = cv.body["custom_views"].as_array().unwrap();
    assert!(!views.is_empty());
    let default = cv.body["info"]["default"].as_str().unwrap();
    assert!(views.iter().any(|v| v["id"] == default));
    assert_eq!(
        srv.get(
            &format!("/crm/v8/settings/custom_views/{default}?module=Leads"),
            &t
        )
        .await
        .status,
        200
    );
    let r = srv
        .get(
            &format!("/crm/v8/Leads?fields=Last_Name&cvid={default}"),
            &t,
        )
        .await;
    assert_eq!(r.status, 204);
    assert_error(
        &srv.get("/crm/v8/Leads?fields=Last_Name&cvid=123", &t).await,
        400,
        "INVALID_DATA",
    );
}

#[tokio::test]
async fn users_org_and_apis() {
    let srv = TestServer::start().await;
    let t = srv.token(ALL_SCOPES).await;
    let me = srv.get("/crm/v8/users?type=CurrentUser", &t).await;
    assert_eq!(me.status, 200);
    let u = &me.body["users"][0];
    assert_eq!(u["email"], "admin@zylker.example");
    assert_eq!(u["status"], "active");
    assert!(u["role"]["id"].is_string() && u["profile"]["name"].is_string());
    assert_eq!(me.body["info"]["count"], 1);
    let id = u["id"].as_str().unwrap();
    assert_eq!(
        srv.get(&format!("/crm/v8/users/{id}"), &t).await.body["users"][0]["id"],
        id
    );
    assert_eq!(srv.get("/crm/v8/users?type=AllUsers", &t).await.status, 200);
    assert_error(
        &srv.get("/crm/v8/users?type=Robots", &t).await,
        400,
        "INVALID_DATA",
    );
    assert_eq!(
        srv.get("/crm/v8/users?type=DeletedUsers", &t).await.status,
        204
    );

    let org = srv.get("/crm/v8/org", &t).await;
    let o = &org.body["org"][0];
    assert!(o["zgid"].is_string() && o["id"].is_string());
    assert_eq!(o["time_zone"], "America/Los_Angeles");
    assert_eq!(o["iso_code"], "USD");
    assert_eq!(o["license_details"]["paid_type"], "enterprise");

    let apis = srv.get("/crm/v8/__apis", &t).await;
    let list = apis.body["__apis"].as_array().unwrap();
    let leads = list.iter().find(|a| a["path"] == "/crm/v8/Leads").unwrap();
    let post = leads["operation_types"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["method"] == "POST")
        .unwrap();
    assert_eq!(post["oauth_scope"], "ZohoCRM.modules.leads.CREATE");
    assert_eq!(post["min_credits"], json!(1));
}
