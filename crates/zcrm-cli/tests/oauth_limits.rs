//! The accounts server reads at most 16 kB of a form: a larger body is not
//! read, and the answer never echoes it.

mod common;
use common::*;

#[tokio::test]
async fn an_oversized_token_form_is_not_read() {
    let srv = TestServer::start().await;
    let (_, refresh, id, secret) = srv.tokens("ZohoCRM.modules.ALL").await;
    let form = |padding: &str| {
        vec![
            ("grant_type", "refresh_token".to_string()),
            ("client_id", id.clone()),
            ("client_secret", secret.clone()),
            ("refresh_token", refresh.clone()),
            ("padding", padding.to_string()),
        ]
    };
    // A fresh client each time: the server closes a connection whose body it
    // did not read, and a pooled one could be reused after that.
    let send = |path: &'static str, form: Vec<(&'static str, String)>| {
        let req = reqwest::Client::new()
            .post(format!("{}{path}", srv.url))
            .form(&form);
        async move {
            // The server may answer before the body is sent and close the
            // connection: the client then sees the write fail.
            match req.send().await {
                Ok(r) => (r.status().as_u16(), r.text().await.unwrap_or_default()),
                Err(_) => (0, String::new()),
            }
        }
    };
    // The same request, small, gets a token: the form itself is right.
    let (status, body) = send("/oauth/v2/token", form("")).await;
    assert_eq!(status, 200);
    assert!(body.contains("access_token"), "{body}");
    let big = "x".repeat(64 * 1024);
    for path in ["/oauth/v2/token", "/oauth/v2/token/revoke"] {
        let (status, body) = send(path, form(&big)).await;
        assert!(
            !body.contains("access_token") && !body.contains("success"),
            "{path}: {body}"
        );
        assert!(body.len() < 500, "{path}: {} bytes", body.len());
        assert!(matches!(status, 0 | 200 | 400 | 413), "{path}: {status}");
    }
    // Nothing was revoked by the unread form.
    let (_, body) = send("/oauth/v2/token", form("")).await;
    assert!(body.contains("access_token"), "{body}");
}
