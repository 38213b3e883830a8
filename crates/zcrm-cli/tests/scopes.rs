//! The scope matrix: every operation refuses a token without its scope and
//! accepts one with exactly that scope.

mod common;
use common::*;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn each_operation_needs_its_scope() {
    let srv = TestServer::start().await;
    let admin = srv.token(ALL_SCOPES).await;
    let lead = srv
        .create("Leads", &admin, vec![json!({"Last_Name": "Scoped"})])
        .await
        .remove(0);
    let body = json!({"data": [{"Last_Name": "New"}]});
    let upd = json!({"data": [{"id": lead, "Company": "C"}]});
    let cases: Vec<(Method, String, Option<serde_json::Value>, &str)> = vec![
        (
            Method::GET,
            "/crm/v8/Leads?fields=Last_Name".into(),
            None,
            "ZohoCRM.modules.leads.READ",
        ),
        (
            Method::GET,
            format!("/crm/v8/Leads/{lead}"),
            None,
            "ZohoCRM.modules.leads.READ",
        ),
        (
            Method::GET,
            "/crm/v8/Leads/deleted".into(),
            None,
            "ZohoCRM.modules.leads.READ",
        ),
        (
            Method::POST,
            "/crm/v8/Leads".into(),
            Some(body.clone()),
            "ZohoCRM.modules.leads.CREATE",
        ),
        (
            Method::PUT,
            "/crm/v8/Leads".into(),
            Some(upd.clone()),
            "ZohoCRM.modules.leads.UPDATE",
        ),
        (
            Method::PUT,
            format!("/crm/v8/Leads/{lead}"),
            Some(json!({"data": [{"Company": "D"}]})),
            "ZohoCRM.modules.leads.UPDATE",
        ),
        (
            Method::GET,
            "/crm/v8/settings/modules".into(),
            None,
            "ZohoCRM.settings.modules.READ",
        ),
        (
            Method::GET,
            "/crm/v8/settings/modules/Leads".into(),
            None,
            "ZohoCRM.settings.modules.READ",
        ),
        (
            Method::GET,
            "/crm/v8/settings/fields?module=Leads".into(),
            None,
            "ZohoCRM.settings.fields.READ",
        ),
        (
            Method::GET,
            "/crm/v8/settings/layouts?module=Leads".into(),
            None,
            "ZohoCRM.settings.layouts.READ",
        ),
        (
            Method::GET,
            "/crm/v8/settings/related_lists?module=Leads".into(),
            None,
            "ZohoCRM.settings.related_lists.READ",
        ),
        (
            Method::GET,
            "/crm/v8/settings/custom_views?module=Leads".into(),
            None,
            "ZohoCRM.settings.custom_views.READ",
        ),
        (
            Method::GET,
            "/crm/v8/users?type=CurrentUser".into(),
            None,
            "ZohoCRM.users.READ",
        ),
        (Method::GET, "/crm/v8/org".into(), None, "ZohoCRM.org.READ"),
        (
            Method::GET,
            "/crm/v8/__apis".into(),
            None,
            "ZohoCRM.apis.READ",
        ),
        (
            Method::DELETE,
            format!("/crm/v8/Leads/{lead}"),
            None,
            "ZohoCRM.modules.leads.DELETE",
        ),
    ];
    // One token with a scope that covers none of the above.
    let unrelated = srv.token("ZohoCRM.modules.deals.ALL").await;
    for (method, path, body, scope) in &cases {
        let r = srv
            .call(method.clone(), path, &unrelated, body.clone())
            .await;
        assert_error(&r, 401, "OAUTH_SCOPE_MISMATCH");
        let exact = srv.token(scope).await;
        let r = srv.call(method.clone(), path, &exact, body.clone()).await;
        assert!(
            r.status < 300,
            "{method} {path} with {scope}: {} {}",
            r.status,
            r.body
        );
    }
}

#[tokio::test]
async fn scope_families_and_operations() {
    let srv = TestServer::start().await;
    let read_all = srv.token("ZohoCRM.modules.READ").await;
    assert_eq!(
        srv.get("/crm/v8/Sales_Orders?fields=Subject", &read_all)
            .await
            .status,
        204
    );
    let r = srv
        .post(
            "/crm/v8/Leads",
            &read_all,
            json!({"data": [{"Last_Name": "x"}]}),
        )
        .await;
    assert_error(&r, 401, "OAUTH_SCOPE_MISMATCH");
    let write = srv.token("ZohoCRM.modules.salesorders.WRITE").await;
    assert_error(
        &srv.get("/crm/v8/Sales_Orders?fields=Subject", &write).await,
        401,
        "OAUTH_SCOPE_MISMATCH",
    );
    let r = srv
        .post(
            "/crm/v8/Price_Books",
            &write,
            json!({"data": [{"Price_Book_Name": "x"}]}),
        )
        .await;
    assert_error(&r, 401, "OAUTH_SCOPE_MISMATCH");
    let pb = srv.token("ZohoCRM.modules.pricebooks.CREATE").await;
    let r = srv
        .post(
            "/crm/v8/Price_Books",
            &pb,
            json!({"data": [{"Price_Book_Name": "x", "Pricing_Details": []}]}),
        )
        .await;
    assert_ne!(r.status, 401, "{}", r.body);
    let settings = srv.token("ZohoCRM.settings.ALL").await;
    assert_eq!(
        srv.get("/crm/v8/settings/fields?module=Deals", &settings)
            .await
            .status,
        200
    );
    assert_error(
        &srv.get("/crm/v8/Deals?fields=Deal_Name", &settings).await,
        401,
        "OAUTH_SCOPE_MISMATCH",
    );
}

#[test]
fn admin_rejects_malformed_scopes() {
    let srv_dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(bin())
        .args(["admin", "self-client", "--data-dir"])
        .arg(srv_dir.path())
        .args(["--scope", "ZohoCRM.modules", "--json"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid scope"));
}
