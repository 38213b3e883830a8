//! Notifications end to end: channels through `/crm/v8/actions/watch`, and
//! deliveries to a real HTTP receiver started by the test.

mod common;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use common::*;
use reqwest::Method;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SCOPES: &str = "ZohoCRM.modules.ALL,ZohoCRM.notifications.ALL";

#[derive(Debug, Clone)]
struct Hit {
    body: Value,
    raw: Vec<u8>,
    event_id: String,
    signature: String,
}

#[derive(Default)]
struct Inner {
    hits: Mutex<Vec<Hit>>,
    /// Status to answer with (0: 200).
    status: AtomicU16,
    /// Milliseconds to wait before answering.
    delay_ms: AtomicU64,
}

/// A webhook receiver on 127.0.0.1:0, recording what it gets.
struct Receiver {
    url: String,
    inner: Arc<Inner>,
}

async fn hook(State(s): State<Arc<Inner>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let h = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    s.hits.lock().unwrap().push(Hit {
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        raw: body.to_vec(),
        event_id: h("x-zcrm-event-id"),
        signature: h("x-zcrm-signature"),
    });
    let delay = s.delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    match s.status.load(Ordering::SeqCst) {
        0 => StatusCode::OK,
        n => StatusCode::from_u16(n).unwrap(),
    }
}

impl Receiver {
    async fn start() -> Receiver {
        let inner = Arc::new(Inner::default());
        let app = axum::Router::new()
            .route("/hook", post(hook))
            .with_state(inner.clone());
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
        Receiver {
            url: format!("http://{addr}/hook"),
            inner,
        }
    }
    fn hits(&self) -> Vec<Hit> {
        self.inner.hits.lock().unwrap().clone()
    }
    fn answer(&self, status: u16) {
        self.inner.status.store(status, Ordering::SeqCst);
    }
    /// Waits until `n` requests arrived (or panics after 10 s).
    async fn wait(&self, n: usize) -> Vec<Hit> {
        let start = Instant::now();
        loop {
            let hits = self.hits();
            if hits.len() >= n {
                return hits;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "waited for {n} deliveries, got {}: {hits:?}",
                hits.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn hmac(key: &[u8], msg: &[u8]) -> String {
    let mut k = [0u8; 64];
    k[..key.len()].copy_from_slice(key);
    let ipad: Vec<u8> = k.iter().map(|b| b ^ 0x36).collect();
    let opad: Vec<u8> = k.iter().map(|b| b ^ 0x5c).collect();
    let inner = Sha256::new()
        .chain_update(ipad)
        .chain_update(msg)
        .finalize();
    hex::encode(
        Sha256::new()
            .chain_update(opad)
            .chain_update(inner)
            .finalize(),
    )
}

async fn watch(srv: &TestServer, t: &str, channel: &str, events: &[&str], url: &str) -> Value {
    let r = srv
        .post(
            "/crm/v8/actions/watch",
            t,
            json!({"watch": [{"channel_id": channel, "events": events, "notify_url": url,
                "token": format!("tok-{channel}")}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body
}

/// The delivery log once it holds at least `n` attempts (the receiver sees a
/// request a moment before its attempt is recorded).
async fn deliveries_n(srv: &TestServer, n: usize) -> Vec<Value> {
    let start = Instant::now();
    loop {
        let d = deliveries(srv).await;
        if d.len() >= n || start.elapsed() > Duration::from_secs(10) {
            return d;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// An Administrator's token for the delivery log, one per server.
/// Per server: (url, access token, refresh token, client id, secret). A token
/// lives an hour; tests that move the clock further refresh it (a new grant
/// code would be issued on the real clock, already expired on the server's).
type Operator = (String, String, String, String, String);
static TOKENS: Mutex<Vec<Operator>> = Mutex::new(Vec::new());

async fn operator_token(srv: &TestServer, stale: bool) -> String {
    let known = TOKENS
        .lock()
        .unwrap()
        .iter()
        .find(|o| o.0 == srv.url)
        .cloned();
    match known {
        Some(o) if !stale => o.1,
        Some(o) => {
            let r = srv
                .oauth(&[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", &o.2),
                    ("client_id", &o.3),
                    ("client_secret", &o.4),
                ])
                .await;
            let access = r.body["access_token"]
                .as_str()
                .expect("refreshed")
                .to_string();
            for x in TOKENS.lock().unwrap().iter_mut().filter(|x| x.0 == srv.url) {
                x.1 = access.clone();
            }
            access
        }
        None => {
            let (a, r, id, secret) = srv.tokens("ZohoCRM.notifications.READ").await;
            TOKENS
                .lock()
                .unwrap()
                .push((srv.url.clone(), a.clone(), r, id, secret));
            a
        }
    }
}

async fn deliveries(srv: &TestServer) -> Vec<Value> {
    let mut r = None;
    for stale in [false, true] {
        let t = operator_token(srv, stale).await;
        let got = srv
            .http
            .get(format!("{}/__zcrm/deliveries", srv.url))
            .header("authorization", format!("Zoho-oauthtoken {t}"))
            .send()
            .await
            .unwrap();
        if got.status() == StatusCode::UNAUTHORIZED {
            continue;
        }
        r = Some(got);
        break;
    }
    let r = r.expect("a fresh token is accepted");
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    v["deliveries"].as_array().unwrap().clone()
}

#[tokio::test]
async fn channels_enable_list_update_disable_and_errors() {
    let srv = TestServer::start().await;
    let t = srv.token(SCOPES).await;
    let body = watch(
        &srv,
        &t,
        "1000000068001",
        &["Leads.create", "Contacts.all"],
        "http://127.0.0.1:9/hook?k=v",
    )
    .await;
    let item = &body["watch"][0];
    assert_eq!(item["code"], "SUCCESS");
    assert_eq!(
        item["message"],
        "Successfully subscribed for actions-watch of the given module"
    );
    let events = item["details"]["events"].as_array().unwrap();
    let names: Vec<&str> = events
        .iter()
        .map(|e| e["resource_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Contacts", "Leads"]);
    assert_eq!(
        events[1]["resource_uri"],
        format!("{}/crm/v8/Leads", srv.url)
    );
    assert_eq!(events[1]["channel_id"], "1000000068001");

    let r = srv.get("/crm/v8/actions/watch?module=Leads", &t).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let got = &r.body["watch"][0];
    assert_eq!(got["events"], json!(["Leads.create"]));
    assert_eq!(got["token"], "tok-1000000068001");
    assert_eq!(got["notify_url"], "http://127.0.0.1:9/hook?k=v");
    assert_eq!(got["notify_on_related_action"], true);
    assert_eq!(r.body["info"]["count"], 1);

    // PATCH changes only what it names; `_delete_events` removes events.
    let r = srv
        .call(Method::PATCH, "/crm/v8/actions/watch", &t,
            Some(json!({"watch": [{"channel_id": "1000000068001", "events": ["Leads.edit"], "token": "new"}]})))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body["watch"][0]["message"],
        "Successfully updated the subscribe details"
    );
    let r = srv
        .get("/crm/v8/actions/watch?channel_id=1000000068001", &t)
        .await;
    assert_eq!(r.body["watch"].as_array().unwrap().len(), 2);
    assert!(r.body["watch"]
        .as_array()
        .unwrap()
        .iter()
        .all(|w| w["token"] == "new"));
    let r = srv
        .call(Method::PATCH, "/crm/v8/actions/watch", &t,
            Some(json!({"watch": [{"channel_id": "1000000068001", "events": ["Contacts.delete"], "_delete_events": true}]})))
        .await;
    assert_eq!(
        r.body["watch"][0]["message"], "Successfully removed the subscribe details",
        "{}",
        r.body
    );
    let r = srv.get("/crm/v8/actions/watch?module=Contacts", &t).await;
    assert_eq!(
        r.body["watch"][0]["events"],
        json!(["Contacts.create", "Contacts.edit"])
    );

    // Errors, per item.
    let far = "2099-01-01T00:00:00+00:00";
    let cases = [
        (
            json!({"events": ["Leads.create"], "notify_url": "http://127.0.0.1:9/"}),
            "MANDATORY_NOT_FOUND",
            "channel_id",
        ),
        (
            json!({"channel_id": "5", "notify_url": "http://127.0.0.1:9/"}),
            "MANDATORY_NOT_FOUND",
            "events",
        ),
        (
            json!({"channel_id": "5", "events": ["Leads.create"]}),
            "MANDATORY_NOT_FOUND",
            "notify_url",
        ),
        (
            json!({"channel_id": "5", "events": ["Nope.create"], "notify_url": "http://127.0.0.1:9/"}),
            "INVALID_DATA",
            "events",
        ),
        (
            json!({"channel_id": "5", "events": ["Leads.explode"], "notify_url": "http://127.0.0.1:9/"}),
            "INVALID_DATA",
            "events",
        ),
        (
            json!({"channel_id": "5", "events": ["Leads.create"], "notify_url": "ftp://127.0.0.1/"}),
            "INVALID_DATA",
            "notify_url",
        ),
        (
            json!({"channel_id": "5", "events": ["Leads.create"], "notify_url": "http://127.0.0.1:9/", "token": "x".repeat(51)}),
            "INVALID_DATA",
            "token",
        ),
        (
            json!({"channel_id": "5", "events": ["Leads.create"], "notify_url": "http://127.0.0.1:9/", "channel_expiry": far}),
            "INVALID_DATA",
            "channel_expiry",
        ),
    ];
    for (item, code, field) in cases {
        let r = srv
            .post("/crm/v8/actions/watch", &t, json!({"watch": [item]}))
            .await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert_eq!(r.body["watch"][0]["code"], code, "{}", r.body);
        assert_eq!(
            r.body["watch"][0]["details"]["api_name"], field,
            "{}",
            r.body
        );
    }
    let r = srv
        .call(
            Method::PATCH,
            "/crm/v8/actions/watch",
            &t,
            Some(json!({"watch": [{"channel_id": "404", "events": ["Leads.edit"]}]})),
        )
        .await;
    assert_eq!(r.body["watch"][0]["code"], "NOT_SUBSCRIBED", "{}", r.body);

    // Scopes: a token without the notifications scope is refused.
    let other = srv.token("ZohoCRM.modules.ALL").await;
    assert_error(
        &srv.get("/crm/v8/actions/watch", &other).await,
        401,
        "OAUTH_SCOPE_MISMATCH",
    );

    let r = srv
        .delete("/crm/v8/actions/watch?channel_ids=1000000068001,404", &t)
        .await;
    assert_eq!(r.status, 207, "{}", r.body);
    assert_eq!(
        r.body["watch"][0]["message"],
        "Successfully un-subscribed from actions-watch"
    );
    assert_eq!(r.body["watch"][1]["code"], "NOT_SUBSCRIBED");
    assert_eq!(srv.get("/crm/v8/actions/watch", &t).await.status, 204);
}

#[tokio::test]
async fn payload_per_operation_signed_and_grouped() {
    let srv = TestServer::start().await;
    let rx = Receiver::start().await;
    let t = srv.token(SCOPES).await;
    let url = format!("{}?tenant=acme", rx.url);
    watch(&srv, &t, "77", &["Leads.all"], &url).await;

    // One create call with two records: one callback listing both.
    let ids = srv
        .create(
            "Leads",
            &t,
            vec![
                json!({"Last_Name": "A", "Company": "C"}),
                json!({"Last_Name": "B", "Company": "C"}),
            ],
        )
        .await;
    let hits = rx.wait(1).await;
    let b = &hits[0].body;
    assert_eq!(b["operation"], "insert");
    assert_eq!(b["module"], "Leads");
    assert_eq!(b["ids"], json!(ids));
    assert_eq!(b["channel_id"], "77");
    assert_eq!(b["token"], "tok-77");
    assert_eq!(b["query_params"], json!({"tenant": "acme"}));
    assert_eq!(b["resource_uri"], format!("{}/crm/v8/Leads", srv.url));
    assert_eq!(b["affected_fields"], json!([]));
    assert!(b["server_time"].as_i64().unwrap() > 1_600_000_000_000);
    // The signature is HMAC-SHA256 of the raw body, keyed by the channel token.
    assert_eq!(hits[0].signature, hmac(b"tok-77", &hits[0].raw));
    assert!(!hits[0].event_id.is_empty());

    let r = srv
        .put(
            &format!("/crm/v8/Leads/{}", ids[0]),
            &t,
            json!({"data": [{"Email": "a@example.com"}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let hits = rx.wait(2).await;
    assert_eq!(hits[1].body["operation"], "update");
    assert_eq!(hits[1].body["ids"], json!([ids[0]]));
    assert_eq!(
        hits[1].body["affected_fields"],
        json!([{ ids[0].clone(): ["Email"] }])
    );
    assert_ne!(hits[1].event_id, hits[0].event_id);

    let r = srv
        .delete(&format!("/crm/v8/Leads?ids={},{}", ids[0], ids[1]), &t)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let hits = rx.wait(3).await;
    assert_eq!(hits[2].body["operation"], "delete");
    assert_eq!(hits[2].body["ids"], json!(ids));

    // Upsert of an existing record is an update.
    let up = srv
        .post(
            "/crm/v8/Leads/upsert",
            &t,
            json!({"data": [{"Last_Name": "U", "Company": "C", "Email": "u@example.com"}]}),
        )
        .await;
    assert!(up.status == 200 || up.status == 201, "{}", up.body);
    let hits = rx.wait(4).await;
    assert_eq!(hits[3].body["operation"], "insert");
    let up = srv
        .post(
            "/crm/v8/Leads/upsert",
            &t,
            json!({"data": [{"Last_Name": "U2", "Email": "u@example.com"}]}),
        )
        .await;
    assert_eq!(up.status, 200, "{}", up.body);
    let hits = rx.wait(5).await;
    assert_eq!(hits[4].body["operation"], "update");

    // A channel on another module hears nothing of Leads.
    assert_eq!(rx.hits().len(), 5);
    let all = deliveries_n(&srv, 5).await;
    assert_eq!(all.len(), 5);
    assert!(all
        .iter()
        .all(|d| d["outcome"] == "delivered" && d["status_code"] == 200));
    // The log never shows the query of a notify_url (it may hold secrets).
    assert!(all.iter().all(|d| d["notify_url"] == rx.url.as_str()));
}

#[tokio::test]
async fn retries_on_the_injected_clock_then_dead() {
    let srv = TestServer::start().await;
    let rx = Receiver::start().await;
    let t = srv.token(SCOPES).await;
    watch(&srv, &t, "88", &["Accounts.create"], &rx.url).await;

    // A receiver that recovers gets the event on its retry, same id, same bytes.
    rx.answer(503);
    srv.create("Accounts", &t, vec![json!({"Account_Name": "E"})])
        .await;
    rx.wait(1).await;
    rx.answer(0);
    // The attempt is recorded (and its retry scheduled) a moment after the
    // receiver sees it: only then move the clock.
    deliveries_n(&srv, 1).await;
    srv.advance_clock(40).await;
    let hits = rx.wait(2).await;
    assert_eq!(hits[0].event_id, hits[1].event_id);
    assert_eq!(hits[0].raw, hits[1].raw, "a retry sends the same bytes");

    rx.answer(500);
    srv.create("Accounts", &t, vec![json!({"Account_Name": "D"})])
        .await;
    rx.wait(3).await;
    // Nothing more until the clock reaches the backoff (30 s, doubling, ±20 %).
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(rx.hits().len(), 3);
    for (n, secs) in [(4, 40), (5, 80), (6, 150), (7, 300), (8, 600)] {
        deliveries_n(&srv, n - 1).await;
        srv.advance_clock(secs).await;
        rx.wait(n).await;
    }
    srv.advance_clock(3600).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let hits = rx.hits();
    assert_eq!(hits.len(), 8, "1 attempt + 5 retries");
    // Every attempt carries the same event id: receivers deduplicate on it.
    assert!(hits[2..].iter().all(|h| h.event_id == hits[2].event_id));
    let d = deliveries_n(&srv, 8).await;
    assert_eq!(d.len(), 8);
    let dead: Vec<&Value> = d
        .iter()
        .filter(|a| a["event_id"] == hits[2].event_id.as_str())
        .collect();
    assert_eq!(dead.len(), 6);
    assert!(dead
        .iter()
        .all(|a| a["event_status"] == "dead" && a["status_code"] == 500));
    assert_eq!(dead[0]["outcome"], "dead");
    assert_eq!(dead[0]["attempt"], 6);
    assert_eq!(dead[0]["error"], "HTTP 500");
    let out = srv.admin_cmd(&["deliveries", "--json"]).unwrap();
    assert_eq!(out.lines().count(), 8, "{out}");
    let out = srv
        .admin_cmd(&["deliveries", "--event-id", &hits[2].event_id])
        .unwrap();
    assert_eq!(out.lines().count(), 6, "{out}");

    // The log forgets delivered events after 3 days, dead ones after 30.
    srv.advance_clock(3 * 86_400 + 3_600).await;
    let left = wait_log(&srv, 6).await;
    assert!(left
        .iter()
        .all(|a| a["event_id"] == hits[2].event_id.as_str()));
    srv.advance_clock(30 * 86_400).await;
    wait_log(&srv, 0).await;
}

/// The delivery log once it has shrunk to `n` attempts (or panics after 10 s).
async fn wait_log(srv: &TestServer, n: usize) -> Vec<Value> {
    let start = Instant::now();
    loop {
        let d = deliveries(srv).await;
        if d.len() == n {
            return d;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "log still holds {}: {d:?}",
            d.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn kill9_mid_delivery_then_restart_delivers() {
    let mut srv = TestServer::start_process().await;
    let rx = Receiver::start().await;
    rx.inner.delay_ms.store(30_000, Ordering::SeqCst);
    let t = srv.token(SCOPES).await;
    watch(&srv, &t, "99", &["Accounts.create"], &rx.url).await;
    let ids = srv
        .create("Accounts", &t, vec![json!({"Account_Name": "K"})])
        .await;
    let first = rx.wait(1).await;
    srv.restart(true).await;
    rx.inner.delay_ms.store(0, Ordering::SeqCst);
    // The killed node's claim runs out; the restarted one sends it again.
    srv.advance_clock(120).await;
    let hits = rx.wait(2).await;
    assert_eq!(hits[1].event_id, first[0].event_id);
    assert_eq!(hits[1].body["ids"], json!(ids));
    let d = deliveries_n(&srv, 1).await;
    assert_eq!(d[0]["event_status"], "delivered", "{d:?}");
}

#[tokio::test]
async fn expired_channels_stop() {
    let srv = TestServer::start().await;
    let rx = Receiver::start().await;
    let t = srv.token(SCOPES).await;
    let expiry = (chrono::Utc::now() + chrono::Duration::minutes(10)).to_rfc3339();
    let r = srv
        .post(
            "/crm/v8/actions/watch",
            &t,
            json!({"watch": [{"channel_id": "55", "events": ["Leads.create"],
            "notify_url": rx.url, "channel_expiry": expiry}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    srv.create("Leads", &t, vec![json!({"Last_Name": "A", "Company": "C"})])
        .await;
    rx.wait(1).await;
    srv.advance_clock(601).await;
    srv.create("Leads", &t, vec![json!({"Last_Name": "B", "Company": "C"})])
        .await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(rx.hits().len(), 1, "an expired channel hears nothing");
    assert_eq!(srv.get("/crm/v8/actions/watch", &t).await.status, 204);
}

#[tokio::test]
async fn conversion_and_related_list_changes_notify() {
    let srv = TestServer::start().await;
    let rx = Receiver::start().await;
    let t = srv.token(SCOPES).await;
    watch(
        &srv,
        &t,
        "11",
        &["Leads.edit", "Contacts.all", "Accounts.create"],
        &rx.url,
    )
    .await;
    let lead = srv
        .create(
            "Leads",
            &t,
            vec![json!({"Last_Name": "Conv", "Company": "Conv Co"})],
        )
        .await
        .remove(0);
    let r = srv
        .post(
            &format!("/crm/v8/Leads/{lead}/actions/convert"),
            &t,
            json!({"data": [{}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let contact = r.body["data"][0]["details"]["Contacts"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let hits = rx.wait(3).await;
    let mut seen: Vec<(String, String)> = hits
        .iter()
        .map(|h| {
            (
                h.body["module"].as_str().unwrap().into(),
                h.body["operation"].as_str().unwrap().into(),
            )
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            ("Accounts".into(), "insert".into()),
            ("Contacts".into(), "insert".into()),
            ("Leads".into(), "update".into())
        ]
    );
    assert!(hits.iter().any(|h| h.body["ids"] == json!([contact])));

    // Linking a contact to an account is an edit of the contact.
    let acc = srv
        .create("Accounts", &t, vec![json!({"Account_Name": "Parent"})])
        .await
        .remove(0);
    let kid = srv
        .create("Contacts", &t, vec![json!({"Last_Name": "Kid"})])
        .await
        .remove(0);
    let hits = rx.wait(5).await;
    let r = srv
        .call(
            Method::PUT,
            &format!("/crm/v8/Accounts/{acc}/Contacts/{kid}"),
            &t,
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let after = rx.wait(hits.len() + 1).await;
    let last = &after.last().unwrap().body;
    assert_eq!(last["module"], "Contacts");
    assert_eq!(last["operation"], "update");
    assert_eq!(
        last["affected_fields"],
        json!([{ kid.clone(): ["Account_Name"] }])
    );
}

#[tokio::test]
async fn a_slow_receiver_does_not_delay_others() {
    let srv = TestServer::start().await;
    let (slow, fast) = (Receiver::start().await, Receiver::start().await);
    slow.inner.delay_ms.store(8_000, Ordering::SeqCst);
    let t = srv.token(SCOPES).await;
    watch(&srv, &t, "1", &["Leads.create"], &slow.url).await;
    watch(&srv, &t, "2", &["Leads.create"], &fast.url).await;
    for i in 0..20 {
        srv.create(
            "Leads",
            &t,
            vec![json!({"Last_Name": format!("L{i}"), "Company": "C"})],
        )
        .await;
    }
    let started = Instant::now();
    fast.wait(20).await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "fast receiver waited {:?}",
        started.elapsed()
    );
    assert!(
        slow.hits().len() <= 8,
        "at most 8 sends in flight per receiver"
    );
}

#[tokio::test]
async fn two_nodes_send_each_event_once() {
    let srv = TestServer::start_process().await;
    let n2 = srv.extra_node();
    let rx = Receiver::start().await;
    let t = srv.token(SCOPES).await;
    watch(&srv, &t, "3", &["Leads.create"], &rx.url).await;
    for i in 0..30 {
        let base = if i % 2 == 0 {
            srv.url.clone()
        } else {
            format!("http://{}", n2.url.trim_start_matches("http://"))
        };
        let r = srv
            .http
            .post(format!("{base}/crm/v8/Leads"))
            .header("Authorization", format!("Zoho-oauthtoken {t}"))
            .json(&json!({"data": [{"Last_Name": format!("N{i}"), "Company": "C"}]}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
    }
    rx.wait(30).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let hits = rx.hits();
    let mut ids: Vec<&str> = hits.iter().map(|h| h.event_id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!((hits.len(), ids.len()), (30, 30));
}

#[tokio::test]
async fn clean_restart_frees_claims_at_once() {
    let mut srv = TestServer::start().await;
    let rx = Receiver::start().await;
    rx.inner.delay_ms.store(30_000, Ordering::SeqCst);
    let t = srv.token(SCOPES).await;
    watch(&srv, &t, "4", &["Accounts.create"], &rx.url).await;
    srv.create("Accounts", &t, vec![json!({"Account_Name": "R"})])
        .await;
    let first = rx.wait(1).await;
    rx.inner.delay_ms.store(0, Ordering::SeqCst);
    srv.restart(false).await;
    // No clock advance: the stopping node released its claim.
    let hits = rx.wait(2).await;
    assert_eq!(hits[1].event_id, first[0].event_id);
}

#[tokio::test]
async fn field_selection_limits_updates_to_the_chosen_fields() {
    let srv = TestServer::start().await;
    let rx = Receiver::start().await;
    let t = srv.token(SCOPES).await;
    let cond = json!([{"type": "field_selection", "module": {"api_name": "Leads"},
        "field_selection": {"group_operator": "or", "group": [{"field": {"api_name": "Lead_Status"}}, {"field": {"api_name": "Email"}}]}}]);
    let r = srv
        .post(
            "/crm/v8/actions/watch",
            &t,
            json!({"watch": [{"channel_id": "6", "events": ["Leads.edit"],
            "notify_url": rx.url, "notification_condition": cond}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let got = srv.get("/crm/v8/actions/watch?channel_id=6", &t).await;
    assert_eq!(got.body["watch"][0]["notification_condition"], cond);
    let id = srv
        .create("Leads", &t, vec![json!({"Last_Name": "F", "Company": "C"})])
        .await
        .remove(0);
    let r = srv
        .put(
            &format!("/crm/v8/Leads/{id}"),
            &t,
            json!({"data": [{"Company": "D"}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = srv
        .put(
            &format!("/crm/v8/Leads/{id}"),
            &t,
            json!({"data": [{"Email": "f@example.com"}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let hits = rx.wait(1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(rx.hits().len(), 1, "only the update of a selected field");
    assert_eq!(
        hits[0].body["affected_fields"],
        json!([{ id.clone(): ["Email"] }])
    );

    let bad = json!([{"type": "field_selection", "module": {"api_name": "Leads"},
        "field_selection": {"field": {"api_name": "No_Such_Field"}}}]);
    let r = srv
        .post(
            "/crm/v8/actions/watch",
            &t,
            json!({"watch": [{"channel_id": "7", "events": ["Leads.edit"],
            "notify_url": rx.url, "notification_condition": bad}]}),
        )
        .await;
    assert_eq!(r.body["watch"][0]["code"], "INVALID_DATA", "{}", r.body);
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let srv = TestServer::start().await;
    let rx = Receiver::start().await;
    rx.answer(307);
    let t = srv.token(SCOPES).await;
    watch(&srv, &t, "8", &["Leads.create"], &rx.url).await;
    srv.create("Leads", &t, vec![json!({"Last_Name": "R", "Company": "C"})])
        .await;
    rx.wait(1).await;
    let d = deliveries_n(&srv, 1).await;
    assert_eq!(d[0]["status_code"], 307);
    assert_eq!(d[0]["error"], "HTTP 307");
    assert_eq!(d[0]["outcome"], "retry");
    assert_eq!(d[0]["event_status"], "pending");
}

#[tokio::test]
async fn affected_values_carry_the_committed_values_when_asked() {
    let srv = TestServer::start().await;
    let rx = Receiver::start().await;
    let t = srv.token(SCOPES).await;
    for (channel, values) in [("8", true), ("9", false)] {
        let r = srv
            .post(
                "/crm/v8/actions/watch",
                &t,
                json!({"watch": [{"channel_id": channel, "events": ["Leads.all"],
                "notify_url": rx.url, "return_affected_field_values": values}]}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let account = srv
        .create("Accounts", &t, vec![json!({"Account_Name": "Values Inc"})])
        .await
        .remove(0);
    let ids = srv
        .create(
            "Leads",
            &t,
            vec![
                json!({"Last_Name": "V1", "Company": "C"}),
                json!({"Last_Name": "V2", "Company": "C"}),
            ],
        )
        .await;
    rx.wait(2).await;
    // The receiver fails the first attempts: the values reach it only on the
    // retry, after a later change, which must not leak into them.
    rx.answer(503);
    let r = srv
        .put(
            "/crm/v8/Leads",
            &t,
            json!({"data": [
                {"id": ids[0], "Lead_Status": "Contacted", "Annual_Revenue": 1500.5},
                {"id": ids[1], "Email": "v2@example.com"}
            ]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = srv
        .put(
            &format!("/crm/v8/Leads/{}", ids[0]),
            &t,
            json!({"data": [{"Lead_Status": "Junk Lead"}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    rx.wait(6).await;
    deliveries_n(&srv, 6).await;
    rx.answer(0);
    srv.advance_clock(40).await;
    let hits = rx.wait(10).await;
    let updates: Vec<&Hit> = hits[6..]
        .iter()
        .filter(|h| h.body["operation"] == "update")
        .collect();
    assert_eq!(updates.len(), 4, "the retries: {updates:?}");
    let first = |ch: &str| {
        updates
            .iter()
            .find(|h| h.body["channel_id"] == ch && h.body["ids"].as_array().unwrap().len() == 2)
            .unwrap_or_else(|| panic!("no batch update for channel {ch}: {updates:?}"))
    };
    assert!(first("9").body.get("affected_values").is_none());
    let vals = &first("8").body["affected_values"];
    assert_eq!(
        *vals,
        json!([
            {"record_id": ids[0], "values": {"Lead_Status": "Contacted", "Annual_Revenue": 1500.5}},
            {"record_id": ids[1], "values": {"Email": "v2@example.com"}}
        ]),
        "{vals}"
    );
    // Lookups render as a record GET renders them.
    let r = srv
        .post(
            "/crm/v8/actions/watch",
            &t,
            json!({"watch": [{"channel_id": "10", "events": ["Contacts.edit"],
            "notify_url": rx.url, "return_affected_field_values": true}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let contact = srv
        .create("Contacts", &t, vec![json!({"Last_Name": "Lk"})])
        .await
        .remove(0);
    let r = srv
        .put(
            &format!("/crm/v8/Contacts/{contact}"),
            &t,
            json!({"data": [{"Account_Name": {"id": account}}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let hits = rx.wait(11).await;
    let c = hits.iter().find(|h| h.body["channel_id"] == "10").unwrap();
    assert_eq!(
        c.body["affected_values"],
        json!([{"record_id": contact, "values": {"Account_Name": {"name": "Values Inc", "id": account}}}])
    );
}

#[tokio::test]
async fn the_delivery_log_needs_an_administrators_token_with_the_scope() {
    let srv = TestServer::start().await;
    let log = |t: Option<String>| {
        let mut req = srv.http.get(format!("{}/__zcrm/deliveries", srv.url));
        if let Some(t) = t {
            req = req.header("authorization", format!("Zoho-oauthtoken {t}"));
        }
        async move {
            let r = req.send().await.unwrap();
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap())
        }
    };
    let (status, body) = log(None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("AUTHENTICATION_FAILURE")),
        "{body}"
    );
    let (status, body) = log(Some("1000.nope.nope".into())).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("INVALID_TOKEN")),
        "{body}"
    );
    let t = srv.token("ZohoCRM.modules.ALL").await;
    let (status, body) = log(Some(t)).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("OAUTH_SCOPE_MISMATCH")),
        "{body}"
    );
    let t = srv.token("ZohoCRM.notifications.READ").await;
    let (status, body) = log(Some(t)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["deliveries"], json!([]));
}

#[tokio::test]
async fn many_to_many_links_notify_both_sides_as_related_actions() {
    let srv = TestServer::start().await;
    let rx = Receiver::start().await;
    let t = srv.token(SCOPES).await;
    watch(&srv, &t, "21", &["Deals.edit", "Products.edit"], &rx.url).await;
    let r = srv
        .post(
            "/crm/v8/actions/watch",
            &t,
            json!({"watch": [{"channel_id": "22", "events": ["Deals.edit"], "notify_url": rx.url,
                "notify_on_related_action": false}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let deal = srv
        .create(
            "Deals",
            &t,
            vec![
                json!({"Deal_Name": "Big", "Stage": "Qualification", "Closing_Date": "2026-12-31"}),
            ],
        )
        .await
        .remove(0);
    let product = srv
        .create("Products", &t, vec![json!({"Product_Name": "P1"})])
        .await
        .remove(0);
    let r = srv
        .call(
            Method::PUT,
            &format!("/crm/v8/Deals/{deal}/Products/{product}"),
            &t,
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let hits = rx.wait(2).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let hits_now = rx.hits();
    assert_eq!(
        hits_now.len(),
        2,
        "channel 22 opted out of related actions: {hits_now:?}"
    );
    let mut seen: Vec<(String, Value)> = hits
        .iter()
        .map(|h| {
            (
                h.body["module"].as_str().unwrap().to_string(),
                h.body["ids"].clone(),
            )
        })
        .collect();
    seen.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        seen,
        vec![
            ("Deals".to_string(), json!([deal])),
            ("Products".to_string(), json!([product]))
        ]
    );
    assert!(hits
        .iter()
        .all(|h| h.body["channel_id"] == "21" && h.body["operation"] == "update"));
}
