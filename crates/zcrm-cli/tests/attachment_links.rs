//! Link attachments (`attachmentUrl`): kept as a URL and a title, never
//! fetched, listed as `Link URL`, not downloadable (issue 6).

mod common;
use common::*;
use serde_json::json;

async fn post_link(
    srv: &TestServer,
    t: &str,
    path: &str,
    form: Option<reqwest::multipart::Form>,
) -> Resp {
    let mut req = srv
        .http
        .post(format!("{}{}", srv.url, path))
        .header("Authorization", format!("Zoho-oauthtoken {t}"));
    if let Some(f) = form {
        req = req.multipart(f);
    }
    to_resp(req.send().await.unwrap()).await
}

#[tokio::test]
async fn link_attachments() {
    let srv = TestServer::start().await;
    let t = srv.token(ALL_SCOPES).await;
    let lead = srv
        .create("Leads", &t, vec![json!({"Last_Name": "Linked"})])
        .await
        .remove(0);
    let base = format!("/crm/v8/Leads/{lead}/Attachments");

    // As the SDKs send it: query parameters, no body.
    let r = post_link(
        &srv,
        &t,
        &format!("{base}?attachmentUrl=https%3A%2F%2Fwww.example.com%2Fq4.pdf&title=Q4%20report"),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body["data"][0]["message"],
        "attachment uploaded successfully"
    );
    let link_id = r.body["data"][0]["details"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    // As multipart form fields; without a title the host names it. A private
    // address is fine: the server never requests it.
    let form = reqwest::multipart::Form::new().text("attachmentUrl", "http://127.0.0.1:9/internal");
    let r = post_link(&srv, &t, &base, Some(form)).await;
    assert_eq!(r.status, 200, "{}", r.body);

    let list = srv
        .get(&format!("{base}?fields=File_Name,Size,$link_url"), &t)
        .await;
    assert_eq!(list.status, 200, "{}", list.body);
    let items = list.body["data"].as_array().unwrap();
    let link = items.iter().find(|a| a["id"] == link_id).unwrap();
    assert_eq!(link["$type"], "Link URL", "{link}");
    assert_eq!(link["$link_url"], "https://www.example.com/q4.pdf");
    assert_eq!(link["File_Name"], "Q4 report");
    assert_eq!(link["Size"], "0");
    assert!(link["$file_id"].is_null());
    assert!(items.iter().any(|a| a["File_Name"] == "127.0.0.1"));

    let r = srv.get(&format!("{base}/{link_id}"), &t).await;
    assert_error(&r, 400, "DOWNLOAD_NOT_ALLOWED");
    let r = srv.delete(&format!("{base}/{link_id}"), &t).await;
    assert_eq!(r.status, 200, "{}", r.body);

    // Refused: not http(s), no host, too long, and nothing at all.
    for bad in ["ftp://example.com/x", "javascript:alert(1)", "not a url"] {
        let form = reqwest::multipart::Form::new().text("attachmentUrl", bad.to_string());
        let r = post_link(&srv, &t, &base, Some(form)).await;
        assert_error(&r, 400, "INVALID_DATA");
        assert_eq!(r.body["details"]["param_name"], "attachmentUrl");
    }
    let long = format!("https://example.com/{}", "a".repeat(2000));
    let form = reqwest::multipart::Form::new().text("attachmentUrl", long);
    assert_error(
        &post_link(&srv, &t, &base, Some(form)).await,
        400,
        "INVALID_DATA",
    );
    let r = post_link(&srv, &t, &base, None).await;
    assert_error(&r, 400, "REQUIRED_PARAM_MISSING");
    // A missing parent record.
    let r = post_link(
        &srv,
        &t,
        "/crm/v8/Leads/999999/Attachments?attachmentUrl=https%3A%2F%2Fx.io",
        None,
    )
    .await;
    assert_error(&r, 400, "INVALID_DATA");
}
