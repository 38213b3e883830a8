//! API limits over HTTP: daily credits over a rolling 24-hour window (moved
//! with the injected clock), concurrency and the heavy-call cap, the headers,
//! the usage endpoint and CLI, and switching limits off.

mod common;
use common::*;
use reqwest::header::HeaderMap;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;

struct Hit {
    status: u16,
    headers: HeaderMap,
    body: Value,
}

impl Hit {
    fn h(&self, name: &str) -> Option<i64> {
        self.headers.get(name)?.to_str().ok()?.parse().ok()
    }
}

async fn hit(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    token: &str,
    body: Option<Value>,
) -> Hit {
    let mut req = http
        .request(method, url)
        .header("Authorization", format!("Zoho-oauthtoken {token}"));
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let bytes = r.bytes().await.unwrap();
    Hit {
        status,
        headers,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    }
}

async fn get_org(srv: &TestServer, token: &str) -> Hit {
    hit(
        &srv.http,
        reqwest::Method::GET,
        &format!("{}/crm/v8/org", srv.url),
        token,
        None,
    )
    .await
}

async fn usage(srv: &TestServer, token: &str) -> Value {
    let r = srv.get("/__zcrm/usage", token).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

/// `zcrm admin org set …` while the server runs; waits until the server
/// applies it (it promises to within a second).
async fn org_set(srv: &TestServer, token: &str, args: &[&str]) -> Value {
    let mut full = vec!["org", "set"];
    full.extend_from_slice(args);
    let out = srv.admin_cmd(&full).expect("org set");
    let want: Value = serde_json::from_str(out.trim()).unwrap();
    let start = Instant::now();
    loop {
        let u = usage(srv, token).await;
        if u["credits"]["limit"] == want["credits"]
            && u["concurrency"]["limit"] == want["concurrency"]
            && u["limits"] == want["limits"]
            && u["edition"] == want["edition"]
        {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "server did not apply {want} within the bound: {u}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    want
}

/// Waits (at most 10 s) until this node has `calls` calls, `heavy` of them
/// heavy, in flight: held calls take their slots as the server reads them,
/// and a call made before that would take one of theirs.
async fn wait_in_flight(srv: &TestServer, token: &str, calls: u64, heavy: u64) {
    let start = Instant::now();
    loop {
        let u = usage(srv, token).await;
        let sum = |k: &str| -> u64 {
            u["concurrency"]["in_flight"]
                .as_array()
                .map(|a| a.iter().map(|c| c[k].as_u64().unwrap_or(0)).sum())
                .unwrap_or(0)
        };
        if sum("calls") == calls && sum("heavy_calls") == heavy {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "waiting for {calls} calls ({heavy} heavy) in flight: {u}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn assert_429(h: &Hit) {
    assert_eq!(h.status, 429, "{}", h.body);
    assert_eq!(h.body["code"], "TOO_MANY_REQUESTS");
    assert_eq!(h.body["status"], "error");
    assert_eq!(h.body["details"], json!({}));
    assert!(h.body["message"].is_string());
    assert!(
        h.h("retry-after").unwrap_or(0) >= 1,
        "Retry-After on every 429"
    );
}

#[tokio::test]
async fn credits_run_out_answer_429_and_return_after_24_hours() {
    let srv = TestServer::start().await;
    let (t, refresh, cid, secret) = srv.tokens(ALL_SCOPES).await;
    let set = org_set(&srv, &t, &["--credits", "10"]).await;
    assert_eq!(set["credits"], 10);

    for i in 1..=10 {
        let h = get_org(&srv, &t).await;
        assert_eq!(h.status, 200, "call {i}: {}", h.body);
        assert_eq!(h.h("x-ratelimit-limit"), Some(10));
        assert_eq!(h.h("x-ratelimit-remaining"), Some(10 - i));
        let reset = h.h("x-ratelimit-reset").unwrap();
        assert!((86_340..=86_460).contains(&reset), "reset {reset}");
        // Zoho's header appears once half the credits are used.
        if i >= 5 {
            assert_eq!(h.h("x-api-credits-remaining"), Some(10 - i), "call {i}");
        } else {
            assert!(
                h.headers.get("x-api-credits-remaining").is_none(),
                "call {i}"
            );
        }
    }
    let over = get_org(&srv, &t).await;
    assert_429(&over);
    assert_eq!(over.h("x-ratelimit-remaining"), Some(0));
    let wait = over.h("retry-after").unwrap();
    assert!((86_340..=86_460).contains(&wait), "Retry-After {wait}");
    // Other APIs are refused too: the allowance is the org's.
    assert_429(
        &hit(
            &srv.http,
            reqwest::Method::GET,
            &format!("{}/crm/v8/Leads", srv.url),
            &t,
            None,
        )
        .await,
    );

    // Refused calls are not charged; the usage says so.
    let u = usage(&srv, &t).await;
    assert_eq!(u["credits"]["used"], 10, "{u}");
    assert_eq!(u["credits"]["remaining"], 0);
    let org_line = u["by_api"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["api"] == "GET /crm/v8/org")
        .unwrap();
    assert_eq!(org_line["calls"], 10);
    assert_eq!(org_line["credits"], 10);
    assert_eq!(org_line["refused"], 1, "{org_line}");
    assert_eq!(u["by_client"].as_array().unwrap().len(), 1);
    assert_eq!(u["by_client"][0]["credits"], 10);

    // A rolling window: still refused just before 24 h, free again after.
    srv.advance_clock(86_400 - 120).await;
    // The access token has expired by now: a fresh one (refreshing is not an API call).
    let r = srv
        .oauth(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh),
            ("client_id", &cid),
            ("client_secret", &secret),
        ])
        .await;
    let t = r.body["access_token"].as_str().unwrap().to_string();
    assert_429(&get_org(&srv, &t).await);
    srv.advance_clock(200).await;
    let back = get_org(&srv, &t).await;
    assert_eq!(back.status, 200, "{}", back.body);
    assert_eq!(back.h("x-ratelimit-remaining"), Some(9));
    let u = usage(&srv, &t).await;
    assert_eq!(u["credits"]["used"], 1, "{u}");
}

#[tokio::test]
async fn concurrent_callers_never_overspend_on_any_node() {
    let srv = TestServer::start_process().await;
    let node = srv.extra_node();
    let t = srv.token(ALL_SCOPES).await;
    org_set(&srv, &t, &["--credits", "25", "--concurrency", "1000"]).await;
    // The other node applies settings within the same bound.
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let urls = [srv.url.clone(), node.url.clone()];
    let mut tasks = Vec::new();
    for i in 0..100 {
        let (http, url, t) = (srv.http.clone(), urls[i % 2].clone(), t.clone());
        tasks.push(tokio::spawn(async move {
            hit(
                &http,
                reqwest::Method::GET,
                &format!("{url}/crm/v8/org"),
                &t,
                None,
            )
            .await
        }));
    }
    let (mut ok, mut refused) = (0, 0);
    for task in tasks {
        let h = task.await.unwrap();
        match h.status {
            200 => ok += 1,
            429 => {
                assert_429(&h);
                refused += 1
            }
            s => panic!("unexpected {s}: {}", h.body),
        }
    }
    assert!(ok <= 25, "overspent: {ok} calls let through");
    assert_eq!(ok + refused, 100);
    // A node gives back what it reserved and did not spend within a second:
    // afterwards the allowance is spent exactly, to the credit.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut misses = 0;
    let mut i = 0;
    while misses < 6 && i < 60 {
        let h = hit(
            &srv.http,
            reqwest::Method::GET,
            &format!("{}/crm/v8/org", urls[i % 2]),
            &t,
            None,
        )
        .await;
        i += 1;
        match h.status {
            200 => {
                ok += 1;
                misses = 0
            }
            _ => {
                assert_429(&h);
                misses += 1;
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        }
    }
    assert_eq!(ok, 25, "exactly the allowance is let through");
    tokio::time::sleep(Duration::from_millis(600)).await;
    let u = usage(&srv, &t).await;
    assert_eq!(u["credits"]["used"], 25, "{u}");
    let line = &u["by_api"][0];
    assert_eq!(line["api"], "GET /crm/v8/org");
    assert_eq!(line["calls"], 25);
}

/// Sends the headers of a POST and only part of its body: the call is
/// admitted and holds its slot until the connection goes away.
async fn hanging_post(srv: &TestServer, path: &str, token: &str) -> tokio::net::TcpStream {
    let addr = srv.url.trim_start_matches("http://").to_string();
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Zoho-oauthtoken {token}\r\n\
         Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{"
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s.flush().await.unwrap();
    s
}

#[tokio::test]
async fn concurrency_caps_calls_and_heavy_calls_and_frees_slots() {
    let srv = TestServer::start().await;
    let t = srv.token(&format!("{ALL_SCOPES},ZohoCRM.coql.READ")).await;
    org_set(&srv, &t, &["--concurrency", "3"]).await;

    let held1 = hanging_post(&srv, "/crm/v8/Leads", &t).await;
    let held2 = hanging_post(&srv, "/crm/v8/Leads", &t).await;
    let held3 = hanging_post(&srv, "/crm/v8/Leads", &t).await;
    wait_in_flight(&srv, &t, 3, 0).await;
    let over = get_org(&srv, &t).await;
    assert_429(&over);
    assert_eq!(over.h("retry-after"), Some(1));
    assert!(over.h("x-ratelimit-limit").is_some());

    // A client that goes away frees its slot.
    drop(held1);
    wait_in_flight(&srv, &t, 2, 0).await;
    assert_eq!(get_org(&srv, &t).await.status, 200);
    drop((held2, held3));
    wait_in_flight(&srv, &t, 0, 0).await;
    // Calls that fail free theirs too: more failures than slots, then success.
    for _ in 0..5 {
        let r = srv
            .post(
                "/crm/v8/Leads",
                &t,
                json!({"data": [{"Email": "no-last-name"}]}),
            )
            .await;
        assert_eq!(r.status, 400, "{}", r.body);
    }
    for _ in 0..5 {
        assert_eq!(get_org(&srv, &t).await.status, 200);
    }

    // Heavy calls (COQL, search, inserts of more than 10 records) share a
    // lower cap: 10 of Enterprise's 20.
    org_set(&srv, &t, &["--concurrency", "auto"]).await;
    let mut held = Vec::new();
    for _ in 0..10 {
        held.push(hanging_post(&srv, "/crm/v8/coql", &t).await);
    }
    wait_in_flight(&srv, &t, 10, 10).await;
    let coql = srv
        .post(
            "/crm/v8/coql",
            &t,
            json!({"select_query": "select Last_Name from Leads where Last_Name is not null limit 5"}),
        )
        .await;
    assert_eq!(coql.status, 429, "{}", coql.body);
    assert_eq!(coql.code(), "TOO_MANY_REQUESTS");
    let search = srv.get("/crm/v8/Leads/search?word=abc", &t).await;
    assert_eq!(search.status, 429, "{}", search.body);
    let big: Vec<Value> = (0..11)
        .map(|i| json!({"Last_Name": format!("b{i}")}))
        .collect();
    let r = srv.post("/crm/v8/Leads", &t, json!({"data": big})).await;
    assert_eq!(r.status, 429, "{}", r.body);
    // Light calls still go through, and so does a small insert.
    assert_eq!(get_org(&srv, &t).await.status, 200);
    srv.create("Leads", &t, vec![json!({"Last_Name": "small"})])
        .await;
    drop(held);
    wait_in_flight(&srv, &t, 0, 0).await;
    let big: Vec<Value> = (0..11)
        .map(|i| json!({"Last_Name": format!("b{i}")}))
        .collect();
    assert_eq!(srv.create("Leads", &t, big).await.len(), 11);
    let u = usage(&srv, &t).await;
    let refused: i64 = u["by_api"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["refused"].as_i64().unwrap())
        .sum();
    assert!(refused >= 4, "{u}");
}

#[tokio::test]
async fn coql_costs_by_limit_and_a_refused_query_costs_nothing() {
    let srv = TestServer::start().await;
    let t = srv.token(&format!("{ALL_SCOPES},ZohoCRM.coql.READ")).await;
    // One credit, charged before the allowance drops to 9.
    srv.create("Leads", &t, vec![json!({"Last_Name": "Q"})])
        .await;
    org_set(&srv, &t, &["--credits", "9"]).await;
    let q = |limit: u32| json!({"select_query": format!("select Last_Name from Leads where Last_Name is not null limit {limit}")});
    let url = format!("{}/crm/v8/coql", srv.url);
    let coql = |limit| hit(&srv.http, reqwest::Method::POST, &url, &t, Some(q(limit)));
    let h = coql(200).await;
    assert_eq!(h.status, 200, "{}", h.body);
    assert_eq!(h.h("x-ratelimit-remaining"), Some(7));
    let h = coql(1000).await;
    assert_eq!(h.h("x-ratelimit-remaining"), Some(5));
    let h = coql(2000).await;
    assert_eq!(h.status, 200, "{}", h.body);
    assert_eq!(h.h("x-ratelimit-remaining"), Some(2));
    // 3 credits wanted, 2 left: refused, and nothing charged.
    let h = coql(2000).await;
    assert_429(&h);
    assert_eq!(h.h("x-ratelimit-remaining"), Some(2));
    let h = get_org(&srv, &t).await;
    assert_eq!(h.status, 200);
    assert_eq!(h.h("x-ratelimit-remaining"), Some(1));
    let u = usage(&srv, &t).await;
    assert_eq!(u["credits"]["used"], 8, "{u}");
    let line = u["by_api"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["api"] == "POST /crm/v8/coql")
        .unwrap()
        .clone();
    assert_eq!(
        line,
        json!({"api": "POST /crm/v8/coql", "calls": 3, "credits": 6, "refused": 1})
    );
    // The same table feeds GET /__apis.
    let apis = srv.get("/crm/v8/__apis", &t).await;
    let text = apis.body.to_string();
    assert!(text.contains("coql"), "{text}");
}

#[tokio::test]
async fn limits_can_be_switched_off_and_on() {
    let srv = TestServer::start().await;
    let t = srv.token(ALL_SCOPES).await;
    org_set(&srv, &t, &["--credits", "3"]).await;
    for _ in 0..3 {
        assert_eq!(get_org(&srv, &t).await.status, 200);
    }
    assert_429(&get_org(&srv, &t).await);
    org_set(&srv, &t, &["--limits", "off"]).await;
    for _ in 0..20 {
        let h = get_org(&srv, &t).await;
        assert_eq!(h.status, 200, "{}", h.body);
        assert!(h.headers.get("x-ratelimit-limit").is_none());
    }
    org_set(&srv, &t, &["--limits", "on"]).await;
    let h = get_org(&srv, &t).await;
    assert_429(&h);
    // Calls made while off were not counted.
    let u = usage(&srv, &t).await;
    assert_eq!(u["credits"]["used"], 3, "{u}");
}

#[tokio::test]
async fn editions_and_users_set_the_allowance_and_usage_needs_an_admin_token() {
    let srv = TestServer::start().await;
    let t = srv.token(ALL_SCOPES).await;
    // A fresh org: Enterprise, one user.
    let u = usage(&srv, &t).await;
    assert_eq!(u["edition"], "Enterprise");
    assert_eq!(u["users"], 1);
    assert_eq!(u["credits"]["limit"], 51_000);
    assert_eq!(u["concurrency"]["limit"], 20);
    assert_eq!(u["concurrency"]["heavy_limit"], 10);
    assert_eq!(u["limits"], "on");

    let cases: &[(&[&str], i64, i64)] = &[
        (&["--edition", "free", "--users", "3"], 5_000, 5),
        (&["--edition", "Standard", "--users", "10"], 52_500, 10),
        (&["--edition", "standard", "--users", "1000"], 100_000, 10),
        (
            &["--edition", "Professional", "--users", "100"],
            100_000,
            15,
        ),
        (
            &["--edition", "Professional", "--users", "9000"],
            3_000_000,
            15,
        ),
        (&["--edition", "Enterprise", "--users", "100"], 150_000, 20),
        (
            &["--edition", "Ultimate", "--users", "5000"],
            10_050_000,
            25,
        ),
        (&["--credits", "777", "--concurrency", "4"], 777, 4),
    ];
    for (args, credits, conc) in cases {
        let set = org_set(&srv, &t, args).await;
        assert_eq!(set["credits"], *credits, "{args:?}");
        assert_eq!(set["concurrency"], *conc, "{args:?}");
        let h = get_org(&srv, &t).await;
        assert_eq!(h.h("x-ratelimit-limit"), Some(*credits), "{args:?}");
    }
    // GET /org shows the edition set.
    let org = srv.get("/crm/v8/org", &t).await;
    assert!(org.body.to_string().contains("Ultimate") || org.status == 200);
    // Bad input to the CLI is refused, nothing changed.
    assert!(srv
        .admin_cmd(&["org", "set", "--edition", "Platinum"])
        .unwrap_err()
        .contains("unknown edition"));
    assert!(srv.admin_cmd(&["org", "set", "--credits", "lots"]).is_err());
    assert!(srv.admin_cmd(&["org", "set", "--users", "0"]).is_err());
    let shown: Value =
        serde_json::from_str(srv.admin_cmd(&["org", "show"]).unwrap().trim()).unwrap();
    assert_eq!(shown["credits"], 777);

    // The CLI shows the same usage as the endpoint (a running server writes
    // its counts once a second).
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let cli: Value =
        serde_json::from_str(srv.admin_cmd(&["usage", "--json"]).unwrap().trim()).unwrap();
    let api = usage(&srv, &t).await;
    assert_eq!(cli["by_api"], api["by_api"]);
    assert_eq!(cli["credits"], api["credits"]);
    assert!(srv
        .admin_cmd(&["usage"])
        .unwrap()
        .contains("GET /crm/v8/org"));

    // The endpoint wants an admin's token with the org scope.
    let r = srv
        .http
        .get(format!("{}/__zcrm/usage", srv.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = srv.get("/__zcrm/usage", "1000.bogus.token").await;
    assert_error(&r, 401, "INVALID_TOKEN");
    let narrow = srv.token("ZohoCRM.modules.ALL").await;
    let r = srv.get("/__zcrm/usage", &narrow).await;
    assert_error(&r, 401, "OAUTH_SCOPE_MISMATCH");
}
