//! What a 2xx reported survives a crash; nothing is half-written.

mod common;
use common::*;
use serde_json::json;
use std::sync::{Arc, Mutex};

#[tokio::test]
async fn records_survive_clean_restart_and_kill9() {
    let mut srv = TestServer::start_process().await;
    let (t, refresh, cid, secret) = srv.tokens(ALL_SCOPES).await;
    let ids = srv
        .create(
            "Leads",
            &t,
            (0..50)
                .map(|i| json!({"Last_Name": format!("n{i}"), "Company": "C"}))
                .collect(),
        )
        .await;
    srv.restart(false).await;
    assert_eq!(
        srv.get("/crm/v8/Leads?fields=Last_Name&per_page=200", &t)
            .await
            .body["info"]["count"],
        50
    );
    srv.restart(true).await;
    let r = srv.get(&format!("/crm/v8/Leads/{}", ids[7]), &t).await;
    assert_eq!(r.body["data"][0]["Last_Name"], "n7");
    // Tokens survive too, and so does the refresh grant.
    let r = srv
        .oauth(&[
            ("grant_type", "refresh_token"),
            ("client_id", &cid),
            ("client_secret", &secret),
            ("refresh_token", &refresh),
        ])
        .await;
    assert!(r.body["access_token"].is_string());
}

#[tokio::test]
async fn kill9_under_concurrent_writes_loses_no_acknowledged_record() {
    let mut srv = TestServer::start_process().await;
    let t = srv.token(ALL_SCOPES).await;
    let acked: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for w in 0..8 {
        let (http, url, t, acked) = (srv.http.clone(), srv.url.clone(), t.clone(), acked.clone());
        tasks.push(tokio::spawn(async move {
            for b in 0..200 {
                let recs: Vec<_> = (0..20)
                    .map(|i| json!({"Last_Name": format!("w{w}b{b}i{i}"), "Company": format!("co{w}{b}{i}"), "Email": format!("w{w}b{b}i{i}@x.com")}))
                    .collect();
                let r = http
                    .post(format!("{url}/crm/v8/Leads"))
                    .header("Authorization", format!("Zoho-oauthtoken {t}"))
                    .json(&json!({"data": recs}))
                    .send()
                    .await;
                let Ok(r) = r else { return };
                if r.status().as_u16() != 201 {
                    return;
                }
                let Ok(body) = r.json::<serde_json::Value>().await else { return };
                let mut a = acked.lock().unwrap();
                for d in body["data"].as_array().unwrap() {
                    a.push(d["details"]["id"].as_str().unwrap().to_string());
                }
            }
        }));
    }
    // Let writes pile up, then crash the server in the middle of them.
    while acked.lock().unwrap().len() < 2_000 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    srv.restart(true).await;
    for task in tasks {
        let _ = task.await;
    }
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= 2_000);
    // Every acknowledged record is there, whole.
    for chunk in acked.chunks(100) {
        let r = srv
            .get(
                &format!(
                    "/crm/v8/Leads?fields=Last_Name,Company,Email&per_page=100&ids={}",
                    chunk.join(",")
                ),
                &t,
            )
            .await;
        assert_eq!(
            r.body["info"]["count"],
            chunk.len(),
            "acknowledged records missing after kill -9"
        );
    }
    // And no stored record is partial: every one has all three fields.
    let mut url = "/crm/v8/Leads?fields=Last_Name,Company,Email&per_page=200".to_string();
    let mut total = 0;
    loop {
        let r = srv.get(&url, &t).await;
        for rec in r.body["data"].as_array().unwrap() {
            total += 1;
            for f in ["Last_Name", "Company", "Email"] {
                assert!(rec[f].is_string(), "half-written record {rec}");
            }
        }
        match r.body["info"]["next_page_token"].as_str() {
            Some(tok) => {
                url = format!(
                    "/crm/v8/Leads?fields=Last_Name,Company,Email&per_page=200&page_token={tok}"
                )
            }
            None => break,
        }
    }
    assert!(total >= acked.len());
    assert_eq!(total % 20, 0, "batches are all-or-nothing: {total}");
}
