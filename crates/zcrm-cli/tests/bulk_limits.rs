//! Bulk jobs under crashes and limits: servers configured for 100,000-row
//! files, at most 2 jobs at once and 4 a day per org, no private callback
//! targets.

mod common;
use common::*;
use serde_json::json;
use std::collections::HashSet;
use std::time::{Duration, Instant};

use common::bulk::*;

fn limited(c: &mut Config) {
    c.bulk.write_max_rows = 100_000;
    c.bulk.concurrent_jobs = 2;
    c.bulk.jobs_per_day = 4;
    c.allow_private_webhooks = Some(false);
}

fn leads_csv(n: usize, tag: &str) -> Vec<u8> {
    let mut s = String::from("Last_Name,Company,Email\n");
    for i in 0..n {
        s.push_str(&format!("{tag}{i},Co{},{tag}{i}@example.com\n", i % 97));
    }
    s.into_bytes()
}

#[tokio::test]
async fn kill9_mid_write_resumes_without_duplicates_or_losses() {
    let mut srv = TestServer::start_process_with(limited).await;
    let t = srv.token(BULK_SCOPES).await;
    const N: usize = 100_000;
    let f = upload(&srv, &t, zip_of(&[("big.csv", &leads_csv(N, "k"))])).await;
    let r = srv
        .post(
            "/crm/bulk/v8/write",
            &t,
            json!({"operation": "insert", "resource": [{"module": {"api_name": "Leads"}, "file_id": f,
                   "field_mappings": [{"api_name": "Last_Name", "index": 0}, {"api_name": "Company", "index": 1},
                                      {"api_name": "Email", "index": 2}]}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let job = r.body["details"]["id"].as_str().unwrap().to_string();
    // Wait until some batches are committed, then crash the server.
    let start = Instant::now();
    let done_at_kill = loop {
        let r = srv.get(&format!("/crm/bulk/v8/write/{job}"), &t).await;
        let added = r.body["resource"][0]["file"]["added_count"]
            .as_i64()
            .unwrap();
        if added > 0 {
            break added;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "{}", r.body);
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    srv.restart(true).await;
    assert!(
        (done_at_kill as usize) < N,
        "the crash came in the middle: {done_at_kill}"
    );
    // The dead process's lease runs out; the new one takes the job over.
    srv.advance_clock(60).await;
    let j = wait_write(&srv, &t, &job).await;
    assert_eq!(j["status"], "COMPLETED", "{j}");
    let file = &j["resource"][0]["file"];
    assert_eq!(file["added_count"], N as i64, "{j}");
    assert_eq!(file["skipped_count"], 0);
    assert_eq!(file["total_count"], N as i64);
    // Every row once: the result file and the records themselves.
    let (_, rows) = download_csv(&srv, &t, j["result"]["download_url"].as_str().unwrap()).await;
    assert_eq!(rows.len(), N);
    assert!(rows.iter().all(|r| r["STATUS"] == "ADDED"));
    let ids: HashSet<&str> = rows.iter().map(|r| r["RECORD_ID"].as_str()).collect();
    assert_eq!(ids.len(), N);
    let r = srv
        .post(
            "/crm/bulk/v8/read",
            &t,
            json!({"query": {"module": {"api_name": "Leads"}, "fields": ["Last_Name"]}}),
        )
        .await;
    let read = wait_read(
        &srv,
        &t,
        r.body["data"][0]["details"]["id"].as_str().unwrap(),
    )
    .await;
    assert_eq!(read["result"]["count"], N as i64, "{read}");
    let (_, recs) = download_csv(&srv, &t, read["result"]["download_url"].as_str().unwrap()).await;
    let names: HashSet<&str> = recs.iter().map(|r| r["Last_Name"].as_str()).collect();
    assert_eq!(names.len(), N, "no row written twice");
    let rec_ids: HashSet<&str> = recs.iter().map(|r| r["Id"].as_str()).collect();
    assert_eq!(rec_ids, ids, "the result file names the records that exist");
}

#[tokio::test]
async fn per_org_job_limits() {
    let srv = TestServer::start_with(limited).await;
    let (t, refresh, cid, secret) = srv.tokens(BULK_SCOPES).await;
    let f = upload(&srv, &t, zip_of(&[("big.csv", &leads_csv(20_000, "l"))])).await;
    let body = json!({"operation": "insert", "resource": [{"module": {"api_name": "Leads"}, "file_id": f}]});
    let mut jobs = Vec::new();
    for _ in 0..2 {
        let r = srv.post("/crm/bulk/v8/write", &t, body.clone()).await;
        assert_eq!(r.status, 201, "{}", r.body);
        jobs.push(r.body["details"]["id"].as_str().unwrap().to_string());
    }
    // Two jobs of 20,000 rows are still running: a third waits.
    let r = srv.post("/crm/bulk/v8/write", &t, body.clone()).await;
    assert_error(&r, 429, "TOO_MANY_REQUESTS");
    assert_eq!(r.body["details"]["limit"], 2);
    // Reads are counted apart from writes.
    let read = json!({"query": {"module": {"api_name": "Accounts"}}});
    let r = srv.post("/crm/bulk/v8/read", &t, read.clone()).await;
    assert_eq!(r.status, 201, "{}", r.body);
    for j in &jobs {
        assert_eq!(wait_write(&srv, &t, j).await["status"], "COMPLETED");
    }
    // 4 write jobs a day: two more, then no more until a day has passed.
    let small = upload(&srv, &t, zip_of(&[("s.csv", b"Last_Name\nx\n")])).await;
    let body = json!({"operation": "insert", "resource": [{"module": {"api_name": "Leads"}, "file_id": small}]});
    for _ in 0..2 {
        let r = srv.post("/crm/bulk/v8/write", &t, body.clone()).await;
        assert_eq!(r.status, 201, "{}", r.body);
        wait_write(&srv, &t, r.body["details"]["id"].as_str().unwrap()).await;
    }
    let r = srv.post("/crm/bulk/v8/write", &t, body.clone()).await;
    assert_error(&r, 400, "LIMIT_EXCEEDED");
    assert_eq!(r.body["details"]["limit"], 4);
    srv.advance_clock(86_401).await;
    let r = srv
        .oauth(&[
            ("grant_type", "refresh_token"),
            ("client_id", &cid),
            ("client_secret", &secret),
            ("refresh_token", &refresh),
        ])
        .await;
    let t = r.body["access_token"].as_str().unwrap().to_string();
    let r = srv.post("/crm/bulk/v8/write", &t, body.clone()).await;
    assert_eq!(r.status, 201, "{}", r.body);
}

#[tokio::test]
async fn private_callback_targets_refused() {
    let srv = TestServer::start_with(limited).await;
    let t = srv.token(BULK_SCOPES).await;
    for url in [
        "http://127.0.0.1:9/cb",
        "http://localhost/cb",
        "http://10.1.2.3/cb",
        "http://169.254.169.254/latest/meta-data",
    ] {
        let r = srv
            .post(
                "/crm/bulk/v8/read",
                &t,
                json!({"callback": {"url": url, "method": "post"}, "query": {"module": {"api_name": "Leads"}}}),
            )
            .await;
        assert_error(&r, 400, "INVALID_CALLBACK_URL");
    }
    let r = srv
        .post(
            "/crm/bulk/v8/read",
            &t,
            json!({"callback": {"url": "https://hooks.example.com/cb", "method": "post"},
                   "query": {"module": {"api_name": "Leads"}}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
}

/// A 1 MB ZIP whose CSV header is one 200 MB line used to be read whole,
/// stored, and echoed in a 419 MB error body.
#[tokio::test]
async fn a_huge_header_line_is_refused_in_bounded_memory() {
    let srv = TestServer::start_process().await;
    let t = srv.token(BULK_SCOPES).await;
    let org = zgid(&srv, &t).await;
    let up = |zip: Vec<u8>| upload_with(&srv, &t, zip, Some("bulk-write"), Some(&org));
    let mut csv = Vec::with_capacity(200 * 1024 * 1024 + 64);
    csv.extend_from_slice(b"Last_Name,");
    csv.resize(200 * 1024 * 1024, b'x');
    csv.extend_from_slice(b"\nSmith,a\n");
    let zip = zip_of(&[("leads.csv", &csv)]);
    drop(csv);
    assert!(zip.len() < 2 * 1024 * 1024, "{} bytes", zip.len());
    let r = up(zip).await;
    assert_eq!(r.status, 413, "{}", r.body);
    assert_eq!(r.code(), "FILE_TOO_LARGE", "{}", r.body);
    assert!(r.body.to_string().len() < 1_000, "{}", r.body);
    let peak = srv.peak_rss().expect("the server's peak memory");
    assert!(peak < 300 * 1024 * 1024, "peak RSS {} MB", peak >> 20);

    // A long column name is refused without echoing it.
    let name = "y".repeat(100_000);
    let zip = zip_of(&[(
        "leads.csv",
        format!("Last_Name,{name}\nSmith,a\n").as_bytes(),
    )]);
    let r = up(zip).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.to_string().len() < 1_000, "{}", r.body);
    // And the server still takes a good file.
    let zip = zip_of(&[("leads.csv", b"Last_Name,Company\nSmith,Zylker\n")]);
    let r = up(zip).await;
    assert_eq!(r.status, 200, "{}", r.body);
}
