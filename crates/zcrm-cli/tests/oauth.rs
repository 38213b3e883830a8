//! The accounts server as Zoho's SDKs and integrations use it.

mod common;
use common::*;

#[tokio::test]
async fn first_start_banner_code_exchanges_for_tokens() {
    let srv = TestServer::start_process().await;
    let (id, secret, code) = srv.boot_client.clone();
    assert!(id.starts_with("1000."), "client id {id}");
    let r = srv
        .oauth(&[
            ("grant_type", "authorization_code"),
            ("client_id", &id),
            ("client_secret", &secret),
            ("code", &code),
        ])
        .await;
    assert_eq!(r.status, 200);
    assert!(r.content_type.starts_with("application/json"));
    let b = &r.body;
    let access = b["access_token"].as_str().unwrap();
    assert!(
        access.starts_with("1000.") && access.split('.').count() == 3,
        "{access}"
    );
    assert!(b["refresh_token"].as_str().unwrap().starts_with("1000."));
    assert_eq!(
        b["api_domain"],
        srv.url.as_str(),
        "api_domain must be our own public URL"
    );
    assert_eq!(b["token_type"], "Bearer");
    assert_eq!(b["expires_in"], 3600);
    assert!(b["scope"].as_str().unwrap().contains("ZohoCRM.modules.ALL"));
    // The token works.
    let org = srv.get("/crm/v8/org", access).await;
    assert_eq!(org.status, 200, "{}", org.body);
    // The code is single use.
    let again = srv
        .oauth(&[
            ("grant_type", "authorization_code"),
            ("client_id", &id),
            ("client_secret", &secret),
            ("code", &code),
        ])
        .await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body, serde_json::json!({"error": "invalid_code"}));
}

#[tokio::test]
async fn grant_code_expires_and_client_errors_use_zoho_words() {
    let srv = TestServer::start().await;
    let c = srv.self_client("ZohoCRM.modules.ALL", 120);
    let (id, secret, code) = (
        c["client_id"].as_str().unwrap(),
        c["client_secret"].as_str().unwrap(),
        c["code"].as_str().unwrap(),
    );
    let bad_client = srv
        .oauth(&[
            ("grant_type", "authorization_code"),
            ("client_id", "1000.NOPE"),
            ("client_secret", secret),
            ("code", code),
        ])
        .await;
    assert_eq!(bad_client.body["error"], "invalid_client");
    let bad_secret = srv
        .oauth(&[
            ("grant_type", "authorization_code"),
            ("client_id", id),
            ("client_secret", "wrong"),
            ("code", code),
        ])
        .await;
    assert_eq!(bad_secret.body["error"], "invalid_client_secret");
    let bad_grant = srv
        .oauth(&[
            ("grant_type", "password"),
            ("client_id", id),
            ("client_secret", secret),
        ])
        .await;
    assert_eq!(bad_grant.body["error"], "unsupported_grant_type");
    srv.advance_clock(121).await;
    let expired = srv
        .oauth(&[
            ("grant_type", "authorization_code"),
            ("client_id", id),
            ("client_secret", secret),
            ("code", code),
        ])
        .await;
    assert_eq!(expired.body["error"], "invalid_code");
    assert!(expired.body.get("access_token").is_none());
}

#[tokio::test]
async fn parameters_in_query_string_and_multipart() {
    let srv = TestServer::start().await;
    let c = srv.self_client("ZohoCRM.org.READ", 600);
    let (id, secret, code) = (
        c["client_id"].as_str().unwrap(),
        c["client_secret"].as_str().unwrap(),
        c["code"].as_str().unwrap(),
    );
    let url = format!(
        "{}/oauth/v2/token?grant_type=authorization_code&client_id={id}&client_secret={secret}&code={code}",
        srv.url
    );
    let r = to_resp(srv.http.post(url).send().await.unwrap()).await;
    let refresh = r.body["refresh_token"]
        .as_str()
        .expect("query-string grant works")
        .to_string();
    let form = reqwest::multipart::Form::new()
        .text("grant_type", "refresh_token")
        .text("client_id", id.to_string())
        .text("client_secret", secret.to_string())
        .text("refresh_token", refresh);
    let r = to_resp(
        srv.http
            .post(format!("{}/oauth/v2/token", srv.url))
            .multipart(form)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(
        r.body["access_token"].is_string(),
        "multipart refresh works: {}",
        r.body
    );
    assert!(
        r.body.get("refresh_token").is_none(),
        "refresh grant returns no refresh token"
    );
}

#[tokio::test]
async fn access_token_expires_after_an_hour_and_refresh_gives_a_new_one() {
    let srv = TestServer::start().await;
    let (access, refresh, id, secret) = srv.tokens("ZohoCRM.org.READ").await;
    assert_eq!(srv.get("/crm/v8/org", &access).await.status, 200);
    srv.advance_clock(3601).await;
    assert_error(&srv.get("/crm/v8/org", &access).await, 401, "INVALID_TOKEN");
    let r = srv
        .oauth(&[
            ("grant_type", "refresh_token"),
            ("client_id", &id),
            ("client_secret", &secret),
            ("refresh_token", &refresh),
        ])
        .await;
    let fresh = r.body["access_token"].as_str().unwrap();
    assert_eq!(r.body["scope"], "ZohoCRM.org.READ");
    assert_eq!(srv.get("/crm/v8/org", fresh).await.status, 200);
    // A refresh token belongs to its client.
    let other = srv.self_client("ZohoCRM.org.READ", 600);
    let r = srv
        .oauth(&[
            ("grant_type", "refresh_token"),
            ("client_id", other["client_id"].as_str().unwrap()),
            ("client_secret", other["client_secret"].as_str().unwrap()),
            ("refresh_token", &refresh),
        ])
        .await;
    assert_eq!(r.body["error"], "invalid_code");
}

#[tokio::test]
async fn revoking_a_refresh_token_kills_its_access_tokens() {
    let srv = TestServer::start().await;
    let (access, refresh, id, secret) = srv.tokens("ZohoCRM.org.READ").await;
    let r = to_resp(
        srv.http
            .post(format!("{}/oauth/v2/token/revoke?token={refresh}", srv.url))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["status"], "success");
    assert_error(&srv.get("/crm/v8/org", &access).await, 401, "INVALID_TOKEN");
    let r = srv
        .oauth(&[
            ("grant_type", "refresh_token"),
            ("client_id", &id),
            ("client_secret", &secret),
            ("refresh_token", &refresh),
        ])
        .await;
    assert_eq!(r.body["error"], "invalid_code");
    let again = to_resp(
        srv.http
            .post(format!("{}/oauth/v2/token/revoke?token={refresh}", srv.url))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(again.status, 400);
}

#[tokio::test]
async fn api_auth_errors() {
    let srv = TestServer::start().await;
    let token = srv.token("ZohoCRM.org.READ").await;
    let none = to_resp(
        srv.http
            .get(format!("{}/crm/v8/org", srv.url))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_error(&none, 401, "AUTHENTICATION_FAILURE");
    assert_error(
        &srv.get("/crm/v8/org", "1000.deadbeef.deadbeef").await,
        401,
        "INVALID_TOKEN",
    );
    let bearer = to_resp(
        srv.http
            .get(format!("{}/crm/v8/org", srv.url))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(bearer.status, 200, "Bearer is accepted too");
    let health = to_resp(
        srv.http
            .get(format!("{}/__zcrm/health", srv.url))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(health.status, 200);
}

#[tokio::test]
async fn secrets_are_not_stored_in_clear() {
    let srv = TestServer::start().await;
    let (access, refresh, id, secret) = srv.tokens("ZohoCRM.org.READ").await;
    let hay = srv.stored_bytes();
    let contains = |needle: &str| hay.windows(needle.len()).any(|w| w == needle.as_bytes());
    assert!(contains(&id), "client ids are not secret and are stored");
    for s in [&access, &refresh, &secret] {
        assert!(!contains(s), "secret {s} found in the database files");
    }
}
