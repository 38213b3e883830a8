//! OAuth clients: a client's scopes are fixed when it is made and no token of
//! it exceeds them; `zcrm admin client list` and `client revoke` (every token
//! of the client dies, on every node); expired access tokens are pruned.

mod common;
use common::*;
use reqwest::Method;
use serde_json::Value;
use std::time::{Duration, Instant};

/// `soid` naming the server's org.
async fn soid(srv: &TestServer) -> String {
    let t = srv.token("ZohoCRM.org.READ").await;
    let org = srv.get("/crm/v8/org", &t).await;
    format!(
        "ZohoCRM.{}",
        org.body["org"][0]["id"].as_str().expect("org id")
    )
}

/// The client-credentials grant.
async fn credentials(srv: &TestServer, id: &str, secret: &str, scope: &str, soid: &str) -> Resp {
    srv.oauth(&[
        ("grant_type", "client_credentials"),
        ("client_id", id),
        ("client_secret", secret),
        ("scope", scope),
        ("soid", soid),
    ])
    .await
}

fn clients(srv: &TestServer) -> Vec<Value> {
    let out = srv
        .admin_cmd(&["client", "list", "--json"])
        .expect("admin client list");
    let v: Value = serde_json::from_str(&out).expect("client list's JSON");
    v.as_array().expect("an array").clone()
}

fn client<'a>(list: &'a [Value], id: &str) -> Option<&'a Value> {
    list.iter().find(|c| c["client_id"] == id)
}

#[tokio::test]
async fn a_self_client_never_mints_more_than_its_scopes() {
    let srv = TestServer::start().await;
    let soid = soid(&srv).await;
    let (access, refresh, id, secret) = srv.tokens("ZohoCRM.modules.leads.READ").await;
    // The finding: this client's secret minted ZohoCRM.modules.ALL.
    for wider in [
        "ZohoCRM.modules.ALL",
        "ZohoCRM.modules.READ",
        "ZohoCRM.modules.leads.ALL",
        "ZohoCRM.modules.contacts.READ",
        "ZohoCRM.modules.leads.READ,ZohoCRM.org.READ",
        "ZohoCRM.settings.ALL",
    ] {
        let r = credentials(&srv, &id, &secret, wider, &soid).await;
        assert_eq!(r.status, 200, "errors are HTTP 200 like Zoho's");
        assert_eq!(
            r.body,
            serde_json::json!({"error": "invalid_scope"}),
            "{wider}"
        );
    }
    // What it was made with, it may have.
    let r = credentials(&srv, &id, &secret, "ZohoCRM.modules.leads.READ", &soid).await;
    let minted = r.body["access_token"]
        .as_str()
        .expect("a token")
        .to_string();
    assert_eq!(r.body["scope"], "ZohoCRM.modules.leads.READ");
    for t in [&access, &minted] {
        assert!(srv.get("/crm/v8/Leads?fields=Last_Name", t).await.status < 300);
        let r = srv.get("/crm/v8/Contacts?fields=Last_Name", t).await;
        assert_error(&r, 401, "OAUTH_SCOPE_MISMATCH");
        assert_error(
            &srv.get("/crm/v8/org", t).await,
            401,
            "OAUTH_SCOPE_MISMATCH",
        );
    }
    // A refresh carries the scopes of its grant, no more.
    let r = srv
        .oauth(&[
            ("grant_type", "refresh_token"),
            ("client_id", &id),
            ("client_secret", &secret),
            ("refresh_token", &refresh),
            ("scope", "ZohoCRM.modules.ALL"),
        ])
        .await;
    assert_eq!(r.body["scope"], "ZohoCRM.modules.leads.READ", "{}", r.body);
    let t = r.body["access_token"].as_str().expect("a token");
    let r = srv.get("/crm/v8/Contacts?fields=Last_Name", t).await;
    assert_error(&r, 401, "OAUTH_SCOPE_MISMATCH");

    // The first start's Self Client keeps every scope, as Zoho's does.
    let (boot_id, boot_secret) = (srv.boot_client.0.clone(), srv.boot_client.1.clone());
    let all = "ZohoCRM.modules.ALL,ZohoCRM.users.ALL,ZohoCRM.settings.ALL,ZohoCRM.org.ALL";
    let r = credentials(&srv, &boot_id, &boot_secret, all, &soid).await;
    assert!(r.body["access_token"].is_string(), "{}", r.body);

    // The list shows each client's scopes, never a secret.
    let list = clients(&srv);
    let mine = client(&list, &id).expect("the new client is listed");
    assert_eq!(mine["kind"], "self");
    assert_eq!(mine["scopes"], "ZohoCRM.modules.leads.READ");
    assert_eq!(
        client(&list, &boot_id).expect("the first client")["scopes"],
        "*"
    );
    let text = serde_json::to_string(&list).unwrap();
    assert!(!text.contains(&secret) && !text.contains(&boot_secret));
    let table = srv.admin_cmd(&["client", "list"]).expect("client list");
    assert!(
        table.contains(&id) && table.contains("ZohoCRM.modules.leads.READ"),
        "{table}"
    );
}

/// `method url` with the token: (status, body).
async fn call(http: &reqwest::Client, method: Method, url: String, token: &str) -> (u16, Value) {
    let r = http
        .request(method, url)
        .header("Authorization", format!("Zoho-oauthtoken {token}"))
        .send()
        .await
        .expect("an answer");
    let status = r.status().as_u16();
    let body = r.json().await.unwrap_or(Value::Null);
    (status, body)
}

#[tokio::test]
async fn a_revoked_client_loses_every_token_on_every_node() {
    let srv = TestServer::start_process().await;
    let node = srv.extra_node();
    let urls = [srv.url.clone(), node.url.clone()];
    let soid = soid(&srv).await;
    let (access, refresh, id, secret) = srv.tokens(ALL_SCOPES).await;
    let minted = credentials(&srv, &id, &secret, "ZohoCRM.org.READ", &soid).await;
    let minted = minted.body["access_token"]
        .as_str()
        .expect("a token")
        .to_string();
    let (other, ..) = srv.tokens("ZohoCRM.org.READ").await;
    // Each node has seen (and cached) the tokens.
    for url in &urls {
        for t in [&access, &minted, &other] {
            let (status, body) = call(&srv.http, Method::GET, format!("{url}/crm/v8/org"), t).await;
            assert_eq!(status, 200, "{body}");
        }
    }
    let listed = clients(&srv);
    let before = client(&listed, &id).expect("listed");
    assert_eq!(before["live_access_tokens"], 2, "{before}");
    assert_eq!(before["refresh_tokens"], 1, "{before}");

    let out = srv.admin_cmd(&["client", "revoke", &id]).expect("revoke");
    assert!(out.contains("revoked") && out.contains(&id), "{out}");
    let revoked_at = Instant::now();
    // Every node refuses both tokens within the token cache's bound (2 s).
    for url in &urls {
        for t in [&access, &minted] {
            loop {
                let (status, body) =
                    call(&srv.http, Method::GET, format!("{url}/crm/v8/org"), t).await;
                if status == 401 {
                    assert_eq!(body["code"], "INVALID_TOKEN", "{body}");
                    break;
                }
                assert!(
                    revoked_at.elapsed() < Duration::from_secs(4),
                    "{url} still takes a revoked client's token: {status} {body}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    // Nor can it get new ones.
    let r = srv
        .oauth(&[
            ("grant_type", "refresh_token"),
            ("client_id", &id),
            ("client_secret", &secret),
            ("refresh_token", &refresh),
        ])
        .await;
    assert_eq!(r.body, serde_json::json!({"error": "invalid_client"}));
    let r = credentials(&srv, &id, &secret, "ZohoCRM.org.READ", &soid).await;
    assert_eq!(r.body, serde_json::json!({"error": "invalid_client"}));
    // Other clients are untouched; the revoked one is gone from the list.
    for url in &urls {
        let (status, _) = call(&srv.http, Method::GET, format!("{url}/crm/v8/org"), &other).await;
        assert_eq!(status, 200);
    }
    assert!(client(&clients(&srv), &id).is_none());
    let again = srv.admin_cmd(&["client", "revoke", &id]).unwrap_err();
    assert!(again.contains("no client"), "{again}");
}

#[tokio::test]
async fn expired_access_tokens_are_pruned() {
    let srv = TestServer::start().await;
    let soid = soid(&srv).await;
    let c = srv.self_client("ZohoCRM.org.READ", 600);
    let (id, secret) = (
        c["client_id"].as_str().unwrap().to_string(),
        c["client_secret"].as_str().unwrap().to_string(),
    );
    let mut first = String::new();
    for i in 0..100 {
        let r = credentials(&srv, &id, &secret, "ZohoCRM.org.READ", &soid).await;
        let t = r.body["access_token"].as_str().expect("a token");
        if i == 0 {
            first = t.to_string();
        }
    }
    let stored = |srv: &TestServer| {
        client(&clients(srv), &id).expect("listed")["stored_access_tokens"].clone()
    };
    assert_eq!(stored(&srv), 100);
    assert_eq!(srv.get("/crm/v8/org", &first).await.status, 200);
    // An hour later they have expired; the next token issued takes them away.
    srv.advance_clock(3_601).await;
    assert_error(&srv.get("/crm/v8/org", &first).await, 401, "INVALID_TOKEN");
    let r = credentials(&srv, &id, &secret, "ZohoCRM.org.READ", &soid).await;
    let fresh = r.body["access_token"]
        .as_str()
        .expect("a token")
        .to_string();
    assert_eq!(stored(&srv), 1);
    assert_eq!(srv.get("/crm/v8/org", &fresh).await.status, 200);
}
