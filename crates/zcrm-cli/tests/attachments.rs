//! Attachments: upload, list, download, delete; content kept in the file store (issue 6, issue 3).

mod common;
use common::*;
use serde_json::json;

async fn upload(srv: &TestServer, t: &str, path: &str, name: &str, data: Vec<u8>) -> Resp {
    let part = reqwest::multipart::Part::bytes(data)
        .file_name(name.to_string())
        .mime_str("text/plain")
        .unwrap();
    let form = reqwest::multipart::Form::new().part("file", part);
    let r = srv
        .http
        .post(format!("{}{}", srv.url, path))
        .header("Authorization", format!("Zoho-oauthtoken {t}"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    to_resp(r).await
}

#[tokio::test]
async fn attachments_round_trip_and_survive_restart() {
    let mut srv = TestServer::start_process().await;
    let t = srv.token(ALL_SCOPES).await;
    let lead = srv
        .create("Leads", &t, vec![json!({"Last_Name": "Att"})])
        .await
        .remove(0);
    let content = b"quarterly numbers \x00\x01 binary ok".to_vec();
    let r = upload(
        &srv,
        &t,
        &format!("/crm/v8/Leads/{lead}/Attachments"),
        "q3.txt",
        content.clone(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body["data"][0]["message"],
        "attachment uploaded successfully"
    );
    let att = r.body["data"][0]["details"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let other = upload(
        &srv,
        &t,
        &format!("/crm/v8/Leads/{lead}/Attachments"),
        "b.txt",
        b"b".to_vec(),
    )
    .await;
    let other = other.body["data"][0]["details"]["id"]
        .as_str()
        .unwrap()
        .to_string();

    let list = srv
        .get(
            &format!("/crm/v8/Leads/{lead}/Attachments?fields=File_Name,Size"),
            &t,
        )
        .await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert_eq!(list.body["info"]["count"], 2);
    let item = list.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == att.as_str())
        .unwrap()
        .clone();
    assert_eq!(item["File_Name"], "q3.txt");
    assert_eq!(item["Size"], content.len().to_string());
    assert_error(
        &srv.get(&format!("/crm/v8/Leads/{lead}/Attachments"), &t)
            .await,
        400,
        "REQUIRED_PARAM_MISSING",
    );

    // Another node serves the same content (shared data dir, or the shared S3 store on PostgreSQL).
    srv.restart(true).await;
    let node = srv.extra_node();
    let dl = srv
        .http
        .get(format!(
            "{}/crm/v8/Leads/{lead}/Attachments/{att}",
            node.url
        ))
        .header("Authorization", format!("Zoho-oauthtoken {t}"))
        .send()
        .await
        .unwrap();
    assert_eq!(dl.status().as_u16(), 200);
    assert_eq!(
        dl.headers()["content-disposition"],
        "attachment; filename=\"q3.txt\""
    );
    assert_eq!(dl.bytes().await.unwrap().to_vec(), content);

    let r = srv
        .delete(&format!("/crm/v8/Leads/{lead}/Attachments/{att}"), &t)
        .await;
    assert_eq!(r.body["data"][0]["code"], "SUCCESS");
    let r = srv
        .delete(
            &format!("/crm/v8/Leads/{lead}/Attachments?ids={other},4150000000000000001"),
            &t,
        )
        .await;
    assert_eq!(r.status, 207);
    assert_eq!(
        srv.get(
            &format!("/crm/v8/Leads/{lead}/Attachments?fields=File_Name"),
            &t
        )
        .await
        .status,
        204
    );
    assert_eq!(
        srv.get(&format!("/crm/v8/Leads/{lead}/Attachments/{att}"), &t)
            .await
            .status,
        204
    );

    // Errors: unknown record, no file, too large.
    let r = upload(
        &srv,
        &t,
        "/crm/v8/Leads/4150000000000000001/Attachments",
        "x.txt",
        b"x".to_vec(),
    )
    .await;
    assert_error(&r, 400, "INVALID_DATA");
    let form = reqwest::multipart::Form::new().text("other", "x");
    let r = to_resp(
        srv.http
            .post(format!("{}/crm/v8/Leads/{lead}/Attachments", srv.url))
            .header("Authorization", format!("Zoho-oauthtoken {t}"))
            .multipart(form)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_error(&r, 400, "REQUIRED_PARAM_MISSING");
    let big = vec![b'x'; 20 * 1024 * 1024 + 10];
    let r = upload(
        &srv,
        &t,
        &format!("/crm/v8/Leads/{lead}/Attachments"),
        "big.bin",
        big,
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.body["code"], "LIMIT_EXCEEDED");
    let read = srv.token("ZohoCRM.modules.leads.READ").await;
    let r = upload(
        &srv,
        &read,
        &format!("/crm/v8/Leads/{lead}/Attachments"),
        "x.txt",
        b"x".to_vec(),
    )
    .await;
    assert_error(&r, 401, "OAUTH_SCOPE_MISMATCH");
}

/// An uploaded page is saved by a browser, never shown as a page of zcrm's
/// origin: every download is an attachment, whatever its name, and no
/// answer is sniffed into another type.
#[tokio::test]
async fn downloads_are_attachments_and_never_sniffed() {
    let srv = TestServer::start().await;
    let t = srv.token(ALL_SCOPES).await;
    let lead = srv
        .create("Leads", &t, vec![json!({"Last_Name": "Att"})])
        .await
        .remove(0);
    let path = format!("/crm/v8/Leads/{lead}/Attachments");
    let r = upload(
        &srv,
        &t,
        &path,
        "résumé.html",
        b"<script>x</script>".to_vec(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let att = r.body["data"][0]["details"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let dl = srv
        .http
        .get(format!("{}{path}/{att}", srv.url))
        .header("Authorization", format!("Zoho-oauthtoken {t}"))
        .send()
        .await
        .unwrap();
    assert_eq!(dl.status().as_u16(), 200);
    assert_eq!(
        dl.headers()["content-disposition"],
        "attachment; filename=\"r_sum_.html\"; filename*=UTF-8''r%C3%A9sum%C3%A9.html"
    );
    assert_eq!(dl.headers()["x-content-type-options"], "nosniff");
    let health = srv
        .http
        .get(format!("{}/__zcrm/health", srv.url))
        .send()
        .await
        .unwrap();
    assert_eq!(health.headers()["x-content-type-options"], "nosniff");
}
