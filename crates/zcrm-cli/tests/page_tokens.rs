//! Page tokens are signed with a rotating server key: a changed token is
//! refused, a token lives out its day across a key rotation, and every node
//! takes the tokens another node made.

mod common;
use common::*;
use serde_json::json;

const LIST: &str = "/crm/v8/Leads?fields=Last_Name&per_page=1";

async fn first_token(srv: &TestServer, t: &str, base: &str) -> String {
    let r = srv
        .http
        .get(format!("{base}{LIST}"))
        .header("Authorization", format!("Zoho-oauthtoken {t}"))
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = r.json().await.unwrap();
    body["info"]["next_page_token"]
        .as_str()
        .expect("a next page token")
        .to_string()
}

async fn page(srv: &TestServer, t: &str, base: &str, token: &str) -> Resp {
    let r = srv
        .http
        .get(format!("{base}{LIST}&page_token={token}"))
        .header("Authorization", format!("Zoho-oauthtoken {t}"))
        .send()
        .await
        .unwrap();
    to_resp(r).await
}

async fn three_leads(srv: &TestServer, t: &str) {
    let leads = (0..3)
        .map(|i| json!({"Last_Name": format!("p{i}")}))
        .collect();
    srv.create("Leads", t, leads).await;
}

#[tokio::test]
async fn a_changed_token_is_refused() {
    let srv = TestServer::start().await;
    let t = srv.token(ALL_SCOPES).await;
    three_leads(&srv, &t).await;
    let tok = first_token(&srv, &t, &srv.url).await;
    assert_eq!(page(&srv, &t, &srv.url, &tok).await.status, 200);
    // The same fields with another offset, the signature kept.
    let (kid, rest) = tok.split_once('.').unwrap();
    let (body, mac) = rest.split_once('.').unwrap();
    let raw = String::from_utf8(hex::decode(body).unwrap()).unwrap();
    let moved = raw.replacen('1', "2", 1);
    let forged = format!("{kid}.{}.{mac}", hex::encode(moved));
    let r = page(&srv, &t, &srv.url, &forged).await;
    assert_error(&r, 400, "INVALID_DATA");
}

#[tokio::test]
async fn a_token_outlives_the_rotation_of_its_key() {
    let srv = TestServer::start().await;
    let t = srv.token(ALL_SCOPES).await;
    three_leads(&srv, &t).await;
    let first = first_token(&srv, &t, &srv.url).await;
    // Just before the weekly rotation, a token is made with the first key…
    srv.advance_clock(7 * 86_400 - 3_600).await;
    let t = srv.token(ALL_SCOPES).await;
    let before = first_token(&srv, &t, &srv.url).await;
    assert_eq!(before.split('.').next(), first.split('.').next());
    // …and still takes its page once the key has rotated.
    srv.advance_clock(2 * 3_600).await;
    let t = srv.token(ALL_SCOPES).await;
    let after = first_token(&srv, &t, &srv.url).await;
    assert_ne!(
        after.split('.').next(),
        before.split('.').next(),
        "a new key signs"
    );
    assert_eq!(page(&srv, &t, &srv.url, &before).await.status, 200);
    assert_eq!(page(&srv, &t, &srv.url, &after).await.status, 200);
}

#[tokio::test]
async fn another_node_takes_the_token() {
    let srv = TestServer::start_process().await;
    let t = srv.token(ALL_SCOPES).await;
    three_leads(&srv, &t).await;
    let tok = first_token(&srv, &t, &srv.url).await;
    let node = srv.extra_node();
    let r = page(&srv, &t, &node.url, &tok).await;
    assert_eq!(r.status, 200, "{}", r.body);
}
