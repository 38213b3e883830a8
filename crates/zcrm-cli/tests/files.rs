//! `/crm/v8/files`: upload to the file store and get back by id (issue 6).

mod common;
use common::*;

const FILE_SCOPES: &str = "ZohoCRM.files.ALL";

fn part(name: &str, data: Vec<u8>, mime: &str) -> reqwest::multipart::Part {
    reqwest::multipart::Part::bytes(data)
        .file_name(name.to_string())
        .mime_str(mime)
        .unwrap()
}

async fn send(srv: &TestServer, t: &str, path: &str, form: reqwest::multipart::Form) -> Resp {
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

async fn download(srv: &TestServer, t: &str, id: &str) -> (u16, String, String, Vec<u8>) {
    let r = srv
        .http
        .get(format!("{}/crm/v8/files?id={id}", srv.url))
        .header("Authorization", format!("Zoho-oauthtoken {t}"))
        .send()
        .await
        .unwrap();
    let h = |k: &str| {
        r.headers()
            .get(k)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let (ct, cd) = (h("content-type"), h("content-disposition"));
    (
        r.status().as_u16(),
        ct,
        cd,
        r.bytes().await.unwrap().to_vec(),
    )
}

#[tokio::test]
async fn upload_several_and_get_each_back_after_restart() {
    let mut srv = TestServer::start_process().await;
    let t = srv.token(FILE_SCOPES).await;
    let png = vec![0x89, b'P', b'N', b'G', 0, 1, 2, 3];
    let form = reqwest::multipart::Form::new()
        .part(
            "file",
            part("notes.txt", b"hello files".to_vec(), "text/plain"),
        )
        .part("file", part("pic.png", png.clone(), "image/png"));
    let r = send(&srv, &t, "/crm/v8/files", form).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let data = r.body["data"].as_array().unwrap();
    assert_eq!(data.len(), 2);
    assert_eq!(data[0]["code"], "SUCCESS");
    assert_eq!(data[0]["status"], "success");
    assert_eq!(data[0]["details"]["name"], "notes.txt");
    assert_eq!(data[0]["message"], "notes.txt uploaded successfully");
    let ids: Vec<String> = data
        .iter()
        .map(|d| d["details"]["id"].as_str().unwrap().to_string())
        .collect();
    assert_ne!(ids[0], ids[1]);
    assert_eq!(ids[0].len(), 40);

    let (status, ct, cd, body) = download(&srv, &t, &ids[1]).await;
    assert_eq!(status, 200);
    assert_eq!(ct, "image/png");
    assert!(cd.contains("pic.png"), "{cd}");
    assert_eq!(body, png);

    srv.restart(true).await;
    let (status, _, _, body) = download(&srv, &t, &ids[0]).await;
    assert_eq!(status, 200);
    assert_eq!(body, b"hello files");
    // Inline images are uploaded the same way.
    let form = reqwest::multipart::Form::new().part("file", part("in.png", png, "image/png"));
    let r = send(&srv, &t, "/crm/v8/files?type=inline", form).await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test]
async fn upload_and_get_errors() {
    let srv = TestServer::start().await;
    let t = srv.token(FILE_SCOPES).await;
    // No file part, an empty file.
    let form = reqwest::multipart::Form::new().text("other", "x");
    assert_error(
        &send(&srv, &t, "/crm/v8/files", form).await,
        400,
        "failure_in_attachment_handling",
    );
    let form = reqwest::multipart::Form::new().part("file", part("e.txt", vec![], "text/plain"));
    assert_error(
        &send(&srv, &t, "/crm/v8/files", form).await,
        400,
        "failure_in_attachment_handling",
    );
    // Eleven files: refused, and none of the ten before it is kept.
    let mut form = reqwest::multipart::Form::new();
    for i in 0..11 {
        form = form.part(
            "file",
            part(&format!("{i}.txt"), b"x".to_vec(), "text/plain"),
        );
    }
    assert_error(
        &send(&srv, &t, "/crm/v8/files", form).await,
        400,
        "INVALID_REQUEST",
    );
    let stored = walk(&srv.data_dir().join("files").join("files"));
    assert_eq!(stored, 0, "a refused upload left files behind");
    // Over 20 MB.
    let form = reqwest::multipart::Form::new().part(
        "file",
        part(
            "big.bin",
            vec![7u8; 20 * 1024 * 1024 + 1],
            "application/octet-stream",
        ),
    );
    assert_error(
        &send(&srv, &t, "/crm/v8/files", form).await,
        415,
        "FILE_SIZE_MORE_THAN_ALLOWED_SIZE",
    );
    let form =
        reqwest::multipart::Form::new().part("file", part("a.txt", b"a".to_vec(), "text/plain"));
    assert_error(
        &send(&srv, &t, "/crm/v8/files?type=weird", form).await,
        400,
        "INVALID_DATA",
    );
    // Get: id missing, unknown, malformed.
    let r = srv.get("/crm/v8/files", &t).await;
    assert_error(&r, 400, "REQUIRED_PARAM_MISSING");
    assert_eq!(r.body["details"]["param_name"], "id");
    let unknown = "ab".repeat(20);
    assert_eq!(download(&srv, &t, &unknown).await.0, 204);
    assert_eq!(download(&srv, &t, "../../etc/passwd").await.0, 204);
    // Scopes: files.READ cannot upload; module scopes cannot read files.
    let read = srv.token("ZohoCRM.files.READ").await;
    let form =
        reqwest::multipart::Form::new().part("file", part("a.txt", b"a".to_vec(), "text/plain"));
    assert_error(
        &send(&srv, &read, "/crm/v8/files", form).await,
        401,
        "OAUTH_SCOPE_MISMATCH",
    );
    let other = srv.token(ALL_SCOPES).await;
    assert_error(
        &srv.get(&format!("/crm/v8/files?id={unknown}"), &other)
            .await,
        401,
        "OAUTH_SCOPE_MISMATCH",
    );
}

fn walk(dir: &std::path::Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| {
            if e.path().is_dir() {
                walk(&e.path())
            } else {
                1
            }
        })
        .sum()
}
