//! A grant code is good once: used a second time, the tokens it gave are
//! revoked (RFC 6749 §4.1.2), and the other tokens of the client live on.

mod common;
use common::*;

async fn exchange(srv: &TestServer, id: &str, secret: &str, code: &str) -> Resp {
    srv.oauth(&[
        ("grant_type", "authorization_code"),
        ("client_id", id),
        ("client_secret", secret),
        ("code", code),
    ])
    .await
}

#[tokio::test]
async fn a_reused_code_revokes_what_it_gave() {
    let srv = TestServer::start().await;
    let c = srv.self_client("ZohoCRM.modules.ALL", 600);
    let (id, secret, code) = (
        c["client_id"].as_str().unwrap(),
        c["client_secret"].as_str().unwrap(),
        c["code"].as_str().unwrap(),
    );
    let first = exchange(&srv, id, secret, code).await;
    assert_eq!(first.status, 200, "{}", first.body);
    let access = first.body["access_token"].as_str().unwrap().to_string();
    let refresh = first.body["refresh_token"].as_str().unwrap().to_string();
    // An access token minted from the refresh token is the code's too.
    let from_refresh = refreshed(&srv, id, secret, &refresh).await;
    // Another grant's token.
    let other = srv.token("ZohoCRM.modules.ALL").await;
    let list = "/crm/v8/Leads?fields=Last_Name";
    for t in [&access, &from_refresh, &other] {
        assert_eq!(srv.get(list, t).await.status, 204);
    }

    let again = exchange(&srv, id, secret, code).await;
    assert_eq!(again.body["error"], "invalid_code", "{}", again.body);
    for t in [&access, &from_refresh] {
        let r = srv.get(list, t).await;
        assert_eq!((r.status, r.code()), (401, "INVALID_TOKEN"), "{}", r.body);
    }
    let r = refresh_with(&srv, id, secret, &refresh).await;
    assert!(r.body.get("access_token").is_none(), "{}", r.body);
    assert_eq!(
        srv.get(list, &other).await.status,
        204,
        "other grants live on"
    );
}

async fn refresh_with(srv: &TestServer, id: &str, secret: &str, refresh: &str) -> Resp {
    srv.oauth(&[
        ("grant_type", "refresh_token"),
        ("client_id", id),
        ("client_secret", secret),
        ("refresh_token", refresh),
    ])
    .await
}

async fn refreshed(srv: &TestServer, id: &str, secret: &str, refresh: &str) -> String {
    let r = refresh_with(srv, id, secret, refresh).await;
    r.body["access_token"]
        .as_str()
        .expect("an access token")
        .to_string()
}

async fn revoke(srv: &TestServer, token: &str) -> Resp {
    let r = srv
        .http
        .post(format!("{}/oauth/v2/token/revoke", srv.url))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    to_resp(r).await
}

#[tokio::test]
async fn revoking_touches_only_the_token_given() {
    let srv = TestServer::start().await;
    let (a, refresh, id, secret) = srv.tokens("ZohoCRM.modules.ALL").await;
    let b = refreshed(&srv, &id, &secret, &refresh).await;
    let (other, ..) = srv.tokens("ZohoCRM.modules.ALL").await;
    let list = "/crm/v8/Leads?fields=Last_Name";

    // An access token: only it dies; its sibling and its refresh token live.
    assert_eq!(revoke(&srv, &a).await.status, 200);
    assert_eq!(srv.get(list, &a).await.status, 401);
    assert_eq!(srv.get(list, &b).await.status, 204);
    let c = refreshed(&srv, &id, &secret, &refresh).await;

    // A refresh token: it and the access tokens made from it die, no other.
    assert_eq!(revoke(&srv, &refresh).await.status, 200);
    for t in [&b, &c] {
        assert_eq!(srv.get(list, t).await.status, 401);
    }
    assert_eq!(srv.get(list, &other).await.status, 204);
}
