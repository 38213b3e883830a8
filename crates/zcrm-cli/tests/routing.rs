//! Routing from the operation table: every Zoho v8 path zcrm does not serve
//! answers `INVALID_URL_PATTERN` or `INVALID_REQUEST_METHOD` (never an error
//! about a module, an id or a related list), and `HEAD` answers wherever `GET` does.

mod common;
use common::*;
use reqwest::Method;
use std::path::PathBuf;
use zcrm_server::ops::{self, OPERATIONS};

/// A concrete path for one of Zoho's templates.
fn fill(template: &str) -> String {
    template
        .split('/')
        .map(|s| {
            let name = s.trim_start_matches('{').trim_end_matches('}');
            match s {
                s if !s.starts_with('{') => s.to_string(),
                _ if name.starts_with("module") => "Leads".into(),
                _ if name.starts_with("related_list") => "Notes".into(),
                _ => "4876876000000123001".into(),
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn spec_operations() -> Vec<(String, String, String)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/zoho-crm-oas/v8");
    if !dir.is_dir() {
        assert!(
            std::env::var_os("ZCRM_REQUIRE_SPEC").is_none(),
            "ZCRM_REQUIRE_SPEC is set but {} is missing",
            dir.display()
        );
        eprintln!("Zoho's OpenAPI documents not beside the checkout: skipped");
        return Vec::new();
    }
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        for (p, item) in v["paths"].as_object().into_iter().flatten() {
            for m in ["get", "post", "put", "patch", "delete"] {
                if item.get(m).is_some() {
                    let doc = path.file_name().unwrap().to_string_lossy().to_string();
                    out.push((doc, m.to_ascii_uppercase(), p.clone()));
                }
            }
        }
    }
    out
}

#[tokio::test]
async fn unserved_zoho_operations_answer_url_or_method_errors() {
    let srv = TestServer::start().await;
    let t = srv.token(ALL_SCOPES).await;
    let mut unserved = 0;
    for (doc, method, template) in spec_operations() {
        // `/{download_url}` stands for URLs the server hands out; `/` is a placeholder entry.
        if template == "/" || template.starts_with("/{") {
            continue;
        }
        let path = fill(&template);
        let m = ops::Method::of(&method).unwrap();
        if ops::matching(m, &path).is_some() {
            continue;
        }
        unserved += 1;
        let body = Some(serde_json::json!({"data": [{}]}));
        let r = srv
            .call(
                Method::from_bytes(method.as_bytes()).unwrap(),
                &path,
                &t,
                body,
            )
            .await;
        let want = if ops::path_known(&path) {
            (400, "INVALID_REQUEST_METHOD")
        } else {
            (404, "INVALID_URL_PATTERN")
        };
        assert_eq!(
            (r.status, r.code()),
            want,
            "{doc}: {method} {template} ({path}): {}",
            r.body
        );
    }
    if spec_operations().is_empty() {
        return;
    }
    assert!(
        unserved > 250,
        "only {unserved} unserved operations checked"
    );
}

#[tokio::test]
async fn paths_named_in_the_issue_are_not_taken_for_modules() {
    let srv = TestServer::start().await;
    let t = srv.token(ALL_SCOPES).await;
    for (m, p) in [
        (Method::GET, "/crm/v8/settings/roles"),
        (Method::POST, "/crm/v8/settings/roles"),
        (Method::GET, "/crm/v8/Leads/4876876000000123001/photo"),
        (Method::GET, "/crm/v8/Contacts/roles"),
        (Method::GET, "/crm/v8/Leads/actions/mass_convert"),
    ] {
        let r = srv.call(m.clone(), p, &t, None).await;
        assert_error(&r, 404, "INVALID_URL_PATTERN");
    }
    // Also without a token: the URL is checked first.
    let r = srv
        .call(Method::GET, "/crm/v8/settings/roles", "x", None)
        .await;
    assert_error(&r, 404, "INVALID_URL_PATTERN");
    // A served path with another method.
    let r = srv
        .call(
            Method::POST,
            "/crm/v8/settings/fields?module=Leads",
            &t,
            None,
        )
        .await;
    assert_error(&r, 400, "INVALID_REQUEST_METHOD");
}

/// `HEAD` on every GET operation is that GET without a body: same status, never 500.
#[tokio::test]
async fn head_is_get_without_a_body() {
    let srv = TestServer::start().await;
    let t = srv.token(ALL_SCOPES).await;
    let lead = srv
        .create("Leads", &t, vec![serde_json::json!({"Last_Name": "Head"})])
        .await
        .remove(0);
    let client = &srv.http;
    for op in OPERATIONS.iter().filter(|o| o.method == ops::Method::Get) {
        let path = op
            .path
            .replace("{module}", "Leads")
            .replace("{related}", "Notes")
            .replace("{id}", &lead)
            .replace("{attachment_id}", "1")
            .replace("{job_id}", "1");
        let get = srv.get(&path, &t).await;
        let head = client
            .head(format!("{}{path}", srv.url))
            .header("Authorization", format!("Zoho-oauthtoken {t}"))
            .send()
            .await
            .unwrap();
        assert_eq!(head.status().as_u16(), get.status, "HEAD {path}");
        assert!(get.status < 500, "GET {path}: {}", get.body);
        assert!(
            head.bytes().await.unwrap().is_empty(),
            "HEAD {path} has a body"
        );
    }
}
