//! Helpers of the bulk API tests: ZIPs, uploads, waiting for jobs, result files.

use super::*;
use reqwest::multipart::{Form, Part};
use serde_json::Value;
use std::collections::HashMap;
use std::io::{Cursor, Read, Write};
use std::time::{Duration, Instant};

pub const BULK_SCOPES: &str = "ZohoCRM.modules.ALL,ZohoCRM.settings.ALL,ZohoCRM.users.ALL,ZohoCRM.org.ALL,ZohoCRM.bulk.ALL,ZohoFiles.files.ALL";

pub fn zip_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut z = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, data) in files {
        z.start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        z.write_all(data).unwrap();
    }
    z.finish().unwrap().into_inner()
}

pub async fn zgid(srv: &TestServer, t: &str) -> String {
    let r = srv.get("/crm/v8/org", t).await;
    r.body["org"][0]["zgid"].as_str().unwrap().to_string()
}

pub async fn upload_with(
    srv: &TestServer,
    t: &str,
    zip: Vec<u8>,
    feature: Option<&str>,
    org: Option<&str>,
) -> Resp {
    let form = Form::new().part("file", Part::bytes(zip).file_name("data.zip"));
    let mut req = srv
        .http
        .post(format!("{}/crm/v8/upload", srv.url))
        .header("Authorization", format!("Zoho-oauthtoken {t}"))
        .multipart(form);
    if let Some(f) = feature {
        req = req.header("feature", f);
    }
    if let Some(o) = org {
        req = req.header("X-CRM-ORG", o);
    }
    to_resp(req.send().await.unwrap()).await
}

/// Uploads a ZIP and returns its file id (asserts success).
pub async fn upload(srv: &TestServer, t: &str, zip: Vec<u8>) -> String {
    let org = zgid(srv, t).await;
    let r = upload_with(srv, t, zip, Some("bulk-write"), Some(&org)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["code"], "FILE_UPLOAD_SUCCESS");
    assert_eq!(r.body["message"], "file uploaded.");
    // A number, as Zoho's (the SDK reads it as a Long).
    r.body["details"]["file_id"].as_i64().unwrap().to_string()
}

pub async fn wait_write(srv: &TestServer, t: &str, id: &str) -> Value {
    let start = Instant::now();
    loop {
        let r = srv.get(&format!("/crm/bulk/v8/write/{id}"), t).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let s = r.body["status"].as_str().unwrap().to_string();
        if s == "COMPLETED" || s == "FAILED" {
            return r.body;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "job stuck: {}",
            r.body
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub async fn wait_read(srv: &TestServer, t: &str, id: &str) -> Value {
    let start = Instant::now();
    loop {
        let r = srv.get(&format!("/crm/bulk/v8/read/{id}"), t).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let job = r.body["data"][0].clone();
        let s = job["state"].as_str().unwrap().to_string();
        if s == "COMPLETED" || s == "FAILURE" {
            return job;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "job stuck: {}",
            r.body
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Downloads a result ZIP and returns its one CSV as rows of (header → cell).
pub async fn download_csv(
    srv: &TestServer,
    t: &str,
    url: &str,
) -> (Vec<String>, Vec<HashMap<String, String>>) {
    let full = if url.starts_with("http") {
        url.to_string()
    } else {
        format!("{}{url}", srv.url)
    };
    let r = srv
        .http
        .get(full)
        .header("Authorization", format!("Zoho-oauthtoken {t}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/zip");
    assert!(r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains(".zip"));
    let bytes = r.bytes().await.unwrap();
    let mut z = zip::ZipArchive::new(Cursor::new(bytes.to_vec())).unwrap();
    assert_eq!(z.len(), 1);
    let mut f = z.by_index(0).unwrap();
    assert!(f.name().unwrap().ends_with(".csv"));
    let mut raw = Vec::new();
    f.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw);
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.as_bytes());
    let header: Vec<String> = rdr.headers().unwrap().iter().map(String::from).collect();
    let rows = rdr
        .records()
        .map(|r| {
            let r = r.unwrap();
            header
                .iter()
                .cloned()
                .zip(r.iter().map(String::from))
                .collect()
        })
        .collect();
    (header, rows)
}

/// Creates a bulk write job and returns its id (asserts Zoho's answer).
pub async fn write_job(srv: &TestServer, t: &str, body: Value) -> String {
    let r = srv.post("/crm/bulk/v8/write", t, body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["code"], "SUCCESS");
    assert_eq!(r.body["status"], "success");
    assert!(r.body["details"]["created_by"]["id"].is_string());
    r.body["details"]["id"].as_str().unwrap().to_string()
}
