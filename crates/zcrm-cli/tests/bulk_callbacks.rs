//! Bulk jobs' callbacks and the notifications their writes raise, with a
//! receiver started by the test.

mod common;
use common::bulk::*;
use common::*;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Default)]
struct Hooks {
    hits: Mutex<Vec<Value>>,
    status: Mutex<u16>,
}

async fn hook(
    axum::extract::State(s): axum::extract::State<Arc<Hooks>>,
    body: axum::body::Bytes,
) -> axum::http::StatusCode {
    s.hits
        .lock()
        .unwrap()
        .push(serde_json::from_slice(&body).unwrap_or(Value::Null));
    axum::http::StatusCode::from_u16(*s.status.lock().unwrap()).unwrap()
}

/// A callback receiver on loopback answering `status`: its hits and URL.
async fn receiver(status: u16) -> (Arc<Hooks>, String) {
    let hooks = Arc::new(Hooks {
        hits: Mutex::new(Vec::new()),
        status: Mutex::new(status),
    });
    let app = axum::Router::new()
        .route("/cb", axum::routing::post(hook))
        .with_state(hooks.clone());
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/cb", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    (hooks, url)
}

#[tokio::test]
async fn callbacks_on_job_end_with_retries() {
    let srv = TestServer::start().await;
    let t = srv.token(BULK_SCOPES).await;
    let (hooks, url) = receiver(500).await;
    let f = upload(&srv, &t, zip_of(&[("a.csv", b"Last_Name\nx\ny\n")])).await;
    let job = write_job(
        &srv,
        &t,
        json!({"operation": "insert", "callback": {"url": url, "method": "post"},
               "resource": [{"module": {"api_name": "Leads"}, "file_id": f}]}),
    )
    .await;
    wait_write(&srv, &t, &job).await;
    let r = srv
        .post(
            "/crm/bulk/v8/read",
            &t,
            json!({"callback": {"url": url, "method": "post"},
              "query": {"module": {"api_name": "Leads"}, "fields": ["Last_Name"]}}),
        )
        .await;
    let read_job = r.body["data"][0]["details"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let wait = |n: usize| {
        let hooks = hooks.clone();
        async move {
            let start = Instant::now();
            loop {
                let h = hooks.hits.lock().unwrap().clone();
                if h.len() >= n {
                    return h;
                }
                assert!(
                    start.elapsed() < Duration::from_secs(20),
                    "{n} callbacks, got {h:?}"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    // Both fail first; after the backoff (test clock) they come again. The
    // receiver sees a request a moment before the server records its failure
    // and the next try's time, so the clock is moved on until both came back.
    let first = wait(2).await;
    *hooks.status.lock().unwrap() = 200;
    let start = Instant::now();
    while hooks.hits.lock().unwrap().len() < 4 && start.elapsed() < Duration::from_secs(20) {
        srv.advance_clock(120).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let all = wait(4).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(hooks.hits.lock().unwrap().len(), 4, "no more after success");
    let write_cb = all.iter().find(|h| h["id"] == job.as_str()).unwrap();
    assert_eq!(write_cb["status"], "COMPLETED");
    assert_eq!(write_cb["resource"][0]["file"]["added_count"], 2);
    assert!(write_cb["result"]["download_url"].is_string());
    let read_cb = all.iter().find(|h| h["id"] == read_job.as_str()).unwrap();
    assert_eq!(read_cb["state"], "COMPLETED");
    assert_eq!(read_cb["result"]["count"], 2, "{all:?}");
    assert_eq!(first.len(), 2);
}

#[tokio::test]
async fn bulk_write_notifies_watchers() {
    let srv = TestServer::start().await;
    let t = srv
        .token(&format!("{BULK_SCOPES},ZohoCRM.notifications.ALL"))
        .await;
    let (hooks, url) = receiver(200).await;
    let r = srv
        .post(
            "/crm/v8/actions/watch",
            &t,
            json!({"watch": [{"channel_id": "7", "events": ["Leads.create"], "notify_url": url}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let f = upload(&srv, &t, zip_of(&[("a.csv", b"Last_Name\nx\ny\nz\n")])).await;
    let job = write_job(&srv, &t, json!({"operation": "insert", "resource": [{"module": {"api_name": "Leads"}, "file_id": f}]})).await;
    wait_write(&srv, &t, &job).await;
    let start = Instant::now();
    loop {
        let ids: usize = hooks
            .hits
            .lock()
            .unwrap()
            .iter()
            .map(|h| h["ids"].as_array().map(|a| a.len()).unwrap_or(0))
            .sum();
        if ids == 3 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "notified ids: {ids}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(hooks.hits.lock().unwrap()[0]["operation"], "insert");
}
