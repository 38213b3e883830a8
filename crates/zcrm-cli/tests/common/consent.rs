//! The consent page as a browser sees it: the authorization request, the
//! form, the redirects (a client that does not follow them, so each Location
//! can be read), and the code exchange.

use super::*;
use reqwest::Url;
use std::collections::HashMap;

pub const CB: &str = "https://app.example/oauth/callback";
/// A second registered URI, with a query of its own that must survive.
pub const CB2: &str = "https://other.example/cb?tenant=7";

/// A server with a web client registered for `CB`: (server, client id, secret).
pub async fn setup() -> (TestServer, String, String) {
    let srv = TestServer::start().await;
    let (id, secret) = srv.web_client(&format!("{CB},{CB2}"), "Zylker Sync");
    (srv, id, secret)
}

/// The authorization request an integration sends the browser to.
pub fn auth_params<'a>(
    client_id: &'a str,
    extra: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut p = vec![
        ("client_id", client_id),
        ("response_type", "code"),
        ("redirect_uri", CB),
        ("scope", "ZohoCRM.modules.ALL,ZohoCRM.org.READ"),
        ("access_type", "offline"),
        ("prompt", "consent"),
        ("state", "st-123"),
    ];
    for (k, v) in extra {
        match p.iter_mut().find(|(pk, _)| pk == k) {
            Some(slot) => slot.1 = v,
            None => p.push((k, v)),
        }
    }
    p.retain(|(_, v)| !v.is_empty());
    p
}

pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

pub async fn page(r: reqwest::Response) -> Page {
    Page {
        status: r.status().as_u16(),
        location: r
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_string()),
        headers: r.headers().clone(),
        body: r.text().await.unwrap(),
    }
}

pub async fn get_auth(srv: &TestServer, params: &[(&str, &str)]) -> Page {
    let url = Url::parse_with_params(&format!("{}/oauth/v2/auth", srv.url), params).unwrap();
    page(srv.browser().get(url).send().await.unwrap()).await
}

/// Submits the consent form: the request's parameters plus the sign-in and button.
pub async fn post_auth(srv: &TestServer, params: &[(&str, &str)], form: &[(&str, &str)]) -> Page {
    let mut all: Vec<(&str, &str)> = params.to_vec();
    all.extend_from_slice(form);
    let r = srv
        .browser()
        .post(format!("{}/oauth/v2/auth", srv.url))
        .form(&all)
        .send()
        .await
        .unwrap();
    page(r).await
}

pub async fn accept(srv: &TestServer, params: &[(&str, &str)]) -> Page {
    let (email, password) = (srv.admin.0.clone(), srv.admin.1.clone());
    post_auth(
        srv,
        params,
        &[
            ("email", &email),
            ("password", &password),
            ("action", "accept"),
        ],
    )
    .await
}

/// The redirect's target without its query, and its query parameters.
pub fn redirect_parts(p: &Page) -> (String, HashMap<String, String>) {
    assert_eq!(p.status, 302, "expected a redirect: {}", p.body);
    let url = Url::parse(p.location.as_deref().expect("Location")).unwrap();
    let q = url.query_pairs().into_owned().collect();
    let mut base = url.clone();
    base.set_query(None);
    (base.to_string(), q)
}

/// Accepts and returns the code from the redirect.
pub async fn code_for(srv: &TestServer, params: &[(&str, &str)]) -> String {
    let (_, q) = redirect_parts(&accept(srv, params).await);
    q.get("code").expect("code in redirect").clone()
}

pub async fn exchange(
    srv: &TestServer,
    id: &str,
    secret: &str,
    code: &str,
    redirect: Option<&str>,
) -> Resp {
    let mut p = vec![
        ("grant_type", "authorization_code"),
        ("client_id", id),
        ("client_secret", secret),
        ("code", code),
    ];
    if let Some(r) = redirect {
        p.push(("redirect_uri", r));
    }
    srv.oauth(&p).await
}

pub fn assert_html_error(p: &Page, needle: &str) {
    assert_eq!(p.status, 400, "{}", p.body);
    assert!(p.location.is_none(), "an error page, not a redirect");
    assert!(
        p.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"),
        "{:?}",
        p.headers
    );
    assert!(p.body.contains(needle), "{needle:?} in {}", p.body);
}
