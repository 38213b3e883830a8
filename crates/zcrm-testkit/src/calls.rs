//! The calls a Zoho integration makes, and what it sees of the answers.

use crate::future::Boxed;
use crate::server::TestServer;
use reqwest::{Client, Method};
use serde_json::{json, Value};
use std::time::Duration;

pub struct Resp {
    pub status: u16,
    pub body: Value,
    pub content_type: String,
}

impl Resp {
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }
}

impl TestServer {
    /// A client that shows redirects instead of following them, as an
    /// integration's test sees the consent page's answers.
    pub fn browser(&self) -> Client {
        Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .expect("an HTTP client")
    }

    /// `POST /oauth/v2/token` with a form.
    pub fn oauth(&self, params: &[(&str, &str)]) -> Boxed<'static, Resp> {
        let req = self
            .http
            .post(format!("{}/oauth/v2/token", self.url))
            .form(params);
        Box::pin(async move { to_resp(req.send().await.expect("POST /oauth/v2/token")).await })
    }

    /// A fresh access token with exactly `scopes`.
    pub async fn token(&self, scopes: &str) -> String {
        self.tokens(scopes).await.0
    }

    /// (access, refresh, client_id, client_secret) of a new Self Client.
    pub async fn tokens(&self, scopes: &str) -> (String, String, String, String) {
        let c = self.self_client(scopes, 600);
        let (id, secret, code) = (
            c["client_id"].as_str().expect("client_id"),
            c["client_secret"].as_str().expect("client_secret"),
            c["code"].as_str().expect("code"),
        );
        let r = self
            .oauth(&[
                ("grant_type", "authorization_code"),
                ("client_id", id),
                ("client_secret", secret),
                ("code", code),
            ])
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        (
            r.body["access_token"]
                .as_str()
                .expect("access_token")
                .to_string(),
            r.body["refresh_token"].as_str().unwrap_or("").to_string(),
            id.to_string(),
            secret.to_string(),
        )
    }

    /// `method path` with the token, and `body` as JSON.
    pub fn call<'a>(
        &'a self,
        method: Method,
        path: &'a str,
        token: &'a str,
        body: Option<Value>,
    ) -> Boxed<'a, Resp> {
        let mut req = self
            .http
            .request(method, format!("{}{}", self.url, path))
            .header("Authorization", format!("Zoho-oauthtoken {token}"));
        if let Some(b) = body {
            req = req.json(&b);
        }
        Box::pin(async move { to_resp(req.send().await.expect("an answer")).await })
    }

    pub async fn get(&self, path: &str, token: &str) -> Resp {
        self.call(Method::GET, path, token, None).await
    }
    pub async fn post(&self, path: &str, token: &str, body: Value) -> Resp {
        self.call(Method::POST, path, token, Some(body)).await
    }
    pub async fn put(&self, path: &str, token: &str, body: Value) -> Resp {
        self.call(Method::PUT, path, token, Some(body)).await
    }
    pub async fn delete(&self, path: &str, token: &str) -> Resp {
        self.call(Method::DELETE, path, token, None).await
    }

    /// A call with `body` sent as it is, declared JSON.
    pub fn raw(&self, method: Method, path: &str, token: &str, body: &str) -> Boxed<'static, Resp> {
        let req = self
            .http
            .request(method, format!("{}{}", self.url, path))
            .header("Authorization", format!("Zoho-oauthtoken {token}"))
            .header("Content-Type", "application/json")
            .body(body.to_string());
        Box::pin(async move { to_resp(req.send().await.expect("an answer")).await })
    }

    /// Creates records and returns their ids (asserts all succeeded).
    pub async fn create(&self, module: &str, token: &str, records: Vec<Value>) -> Vec<String> {
        let r = self
            .post(
                &format!("/crm/v8/{module}"),
                token,
                json!({ "data": records }),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        r.body["data"]
            .as_array()
            .expect("data")
            .iter()
            .map(|d| d["details"]["id"].as_str().expect("an id").to_string())
            .collect()
    }
}

/// The answer's status, content type and body (JSON, else the text as a string).
pub fn to_resp(r: reqwest::Response) -> Boxed<'static, Resp> {
    Box::pin(read(r))
}

async fn read(r: reqwest::Response) -> Resp {
    let status = r.status().as_u16();
    let content_type = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let bytes = r.bytes().await.expect("the body");
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
    };
    Resp {
        status,
        body,
        content_type,
    }
}

/// Asserts a Zoho error envelope: exactly the four keys, the code and the status.
pub fn assert_error(r: &Resp, status: u16, code: &str) {
    assert_eq!(r.status, status, "status for {code}: {}", r.body);
    assert_eq!(r.body["code"], code, "{}", r.body);
    assert_eq!(r.body["status"], "error", "{}", r.body);
    assert!(r.body["details"].is_object(), "{}", r.body);
    assert!(r.body["message"].is_string(), "{}", r.body);
    assert_eq!(
        r.body.as_object().map(|o| o.len()),
        Some(4),
        "envelope has exactly 4 keys: {}",
        r.body
    );
    assert!(
        r.content_type.starts_with("application/json"),
        "content type {}",
        r.content_type
    );
}
