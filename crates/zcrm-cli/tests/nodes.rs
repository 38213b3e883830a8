//! Several zcrm processes sharing one database (PostgreSQL when the suite runs
//! there, one SQLite data dir otherwise), driven at once.

mod common;
use common::*;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

async fn send(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = http
        .request(method, url)
        .header("Authorization", format!("Zoho-oauthtoken {token}"));
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let bytes = r.bytes().await.unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn three_nodes_share_records_unique_checks_ids_and_revocations() {
    let srv = TestServer::start_process().await;
    let (n2, n3) = (srv.extra_node(), srv.extra_node());
    let urls = [srv.url.clone(), n2.url.clone(), n3.url.clone()];
    let (t, refresh, cid, secret) = srv.tokens(ALL_SCOPES).await;
    let http = srv.http.clone();

    // Written through one node, read through the others.
    let ids = srv
        .create(
            "Contacts",
            &t,
            vec![json!({"Last_Name": "Shared", "Email": "s@x.com"})],
        )
        .await;
    for url in &urls[1..] {
        let (status, body) = send(
            &http,
            reqwest::Method::GET,
            format!("{url}/crm/v8/Contacts/{}", ids[0]),
            &t,
            None,
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(body["data"][0]["Last_Name"], "Shared");
    }

    // The same unique value from all nodes at once: exactly one wins, each time.
    for round in 0..5 {
        let name = format!("Race Co {round}");
        let mut tasks = Vec::new();
        for i in 0..12 {
            let (http, url, t, name) = (http.clone(), urls[i % 3].clone(), t.clone(), name.clone());
            tasks.push(tokio::spawn(async move {
                send(
                    &http,
                    reqwest::Method::POST,
                    format!("{url}/crm/v8/Accounts"),
                    &t,
                    Some(json!({"data": [{"Account_Name": name}]})),
                )
                .await
            }));
        }
        let mut won = 0;
        for task in tasks {
            let (status, body) = task.await.unwrap();
            match status {
                201 => won += 1,
                400 => assert_eq!(body["data"][0]["code"], "DUPLICATE_DATA", "{body}"),
                other => panic!("unexpected {other}: {body}"),
            }
        }
        assert_eq!(won, 1, "round {round}: exactly one insert of {name} wins");
    }

    // Concurrent writes through every node: ids never collide, nothing is lost.
    let mut tasks = Vec::new();
    for i in 0..30 {
        let (http, url, t) = (http.clone(), urls[i % 3].clone(), t.clone());
        tasks.push(tokio::spawn(async move {
            let recs: Vec<Value> = (0..50)
                .map(|j| json!({"Last_Name": format!("n{i}-{j}")}))
                .collect();
            send(
                &http,
                reqwest::Method::POST,
                format!("{url}/crm/v8/Leads"),
                &t,
                Some(json!({"data": recs})),
            )
            .await
        }));
    }
    let mut all_ids = std::collections::HashSet::new();
    for task in tasks {
        let (status, body) = task.await.unwrap();
        assert_eq!(status, 201, "{body}");
        for d in body["data"].as_array().unwrap() {
            assert!(
                all_ids.insert(d["details"]["id"].as_str().unwrap().to_string()),
                "duplicate id"
            );
        }
    }
    assert_eq!(all_ids.len(), 1500);
    let mut counted = 0;
    let mut url = format!("{}/crm/v8/Leads?fields=Last_Name&per_page=200", urls[2]);
    loop {
        let (_, body) = send(&http, reqwest::Method::GET, url.clone(), &t, None).await;
        counted += body["data"].as_array().unwrap().len();
        match body["info"]["next_page_token"].as_str() {
            Some(tok) => {
                url = format!(
                    "{}/crm/v8/Leads?fields=Last_Name&per_page=200&page_token={tok}",
                    urls[2]
                )
            }
            None => break,
        }
    }
    assert_eq!(counted, 1500);

    // A revocation on one node reaches the others within the token cache's bound (2 s).
    let r = srv
        .oauth(&[
            ("grant_type", "refresh_token"),
            ("client_id", &cid),
            ("client_secret", &secret),
            ("refresh_token", &refresh),
        ])
        .await;
    let fresh = r.body["access_token"].as_str().unwrap().to_string();
    for url in &urls {
        let (status, _) = send(
            &http,
            reqwest::Method::GET,
            format!("{url}/crm/v8/org"),
            &fresh,
            None,
        )
        .await;
        assert_eq!(status, 200, "cached on every node now");
    }
    let revoked = http
        .post(format!("{}/oauth/v2/token/revoke?token={refresh}", urls[0]))
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status().as_u16(), 200);
    let start = Instant::now();
    for url in &urls {
        loop {
            let (status, body) = send(
                &http,
                reqwest::Method::GET,
                format!("{url}/crm/v8/org"),
                &fresh,
                None,
            )
            .await;
            if status == 401 {
                assert_eq!(body["code"], "INVALID_TOKEN");
                break;
            }
            assert!(
                start.elapsed() < Duration::from_millis(3_000),
                "revocation not seen by {url} after 3 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
