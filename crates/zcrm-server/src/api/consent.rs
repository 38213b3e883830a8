//! `GET/POST /oauth/v2/auth`: Zoho Accounts' authorization endpoint for web
//! apps. GET shows the consent page (client, scopes, a sign-in form, Accept and
//! Reject); POST signs the user in and sends the browser back to the client's
//! redirect URI with a two-minute, single-use code, or with an error.
//!
//! The page holds no session and sets no cookie, so there is no ambient
//! authority for a cross-site request to ride on: the POST carries the whole
//! authorization request plus the user's email and password, and every
//! parameter is validated again as if it were a new GET. A forged Accept needs
//! the password; a forged Reject only sends the browser to the client's own
//! registered URI with `access_denied`. Framing is refused (`html::page`).

use super::html::{self, Consent};
use super::oauth::params;
use crate::error::HttpError;
use crate::state::App;
use axum::extract::{RawQuery, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::Semaphore;
use zcrm_core::scope::Scopes;
use zcrm_store::control::{Approval, ClientInfo};

/// Codes from the consent page live two minutes (Zoho's web-app codes).
pub const WEB_CODE_TTL_MS: i64 = 120_000;

/// Each password check costs ~19 MiB and a core for a while (Argon2): run at
/// most this many at once so a flood of sign-ins cannot exhaust the machine.
static SIGN_INS: Semaphore = Semaphore::const_new(2);

/// An authorization request that passed every check.
struct AuthRequest {
    client_id: String,
    client: ClientInfo,
    redirect_uri: String,
    scopes: Scopes,
    offline: bool,
    state: Option<String>,
    /// The parameters as received, to post back from the page.
    raw: Vec<(&'static str, String)>,
}

/// Why a request cannot go on.
enum Refusal {
    /// No trustworthy redirect URI: tell the person on an error page.
    Page(&'static str, String),
    /// The client is known and the URI registered: tell the client.
    Redirect(String),
}

/// `uri` with `params` appended to its query string.
fn with_query(uri: &str, params: &[(&str, &str)]) -> String {
    let q = serde_urlencoded::to_string(params).unwrap_or_default();
    let sep = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{sep}{q}")
}

fn error_redirect(redirect_uri: &str, error: &str, state: Option<&str>) -> Refusal {
    let mut p = vec![("error", error)];
    if let Some(s) = state {
        p.push(("state", s));
    }
    Refusal::Redirect(with_query(redirect_uri, &p))
}

/// The checks of the authorization request, in the order that decides who
/// hears about a failure: the person (bad client or URI) or the client.
async fn validate(app: &App, p: &HashMap<String, String>) -> Result<AuthRequest, Refusal> {
    let get = |k: &str| p.get(k).map(|s| s.trim()).filter(|s| !s.is_empty());
    let client_id = get("client_id")
        .ok_or_else(|| Refusal::Page("Invalid client", "The request names no client_id.".into()))?;
    let client = match app.control.client_info(client_id).await {
        Ok(Some(c)) => c,
        Ok(None) => {
            return Err(Refusal::Page(
                "Invalid client",
                format!(
                    "No client is registered with the id {}.",
                    client_id.chars().take(80).collect::<String>()
                ),
            ))
        }
        Err(e) => {
            tracing::error!("store: {e}");
            return Err(Refusal::Page("Error", "Please try again later.".into()));
        }
    };
    // Exact match with a registered URI, never a prefix: anything looser lets
    // a crafted link deliver the code elsewhere.
    let redirect_uri = get("redirect_uri")
        .filter(|u| client.redirect_uris.iter().any(|r| r == u))
        .ok_or_else(|| {
            Refusal::Page(
                "Invalid redirect URI",
                format!(
                    "The redirect_uri is not one registered for {}.",
                    client.name
                ),
            )
        })?;
    let state = p.get("state").filter(|s| !s.is_empty()).cloned();
    if get("response_type") != Some("code") {
        return Err(error_redirect(
            redirect_uri,
            "unsupported_response_type",
            state.as_deref(),
        ));
    }
    let scopes = get("scope")
        .and_then(|s| Scopes::parse_request(s).ok())
        .ok_or_else(|| error_redirect(redirect_uri, "invalid_scope", state.as_deref()))?;
    // Zoho: online unless offline is asked for.
    let offline = match get("access_type") {
        None | Some("online") => false,
        Some("offline") => true,
        Some(_) => {
            return Err(error_redirect(
                redirect_uri,
                "invalid_request",
                state.as_deref(),
            ))
        }
    };
    let mut raw = Vec::new();
    for k in [
        "client_id",
        "response_type",
        "redirect_uri",
        "scope",
        "access_type",
        "prompt",
        "state",
    ] {
        if let Some(v) = p.get(k) {
            raw.push((k, v.clone()));
        }
    }
    Ok(AuthRequest {
        client_id: client_id.to_string(),
        redirect_uri: redirect_uri.to_string(),
        client,
        scopes,
        offline,
        state,
        raw,
    })
}

fn refuse(r: Refusal) -> Response {
    match r {
        Refusal::Page(title, msg) => html::error_page(400, title, &msg),
        Refusal::Redirect(url) => redirect(&url),
    }
}

fn redirect(url: &str) -> Response {
    match HeaderValue::from_str(url) {
        Ok(loc) => {
            let mut r = StatusCode::FOUND.into_response();
            let h = r.headers_mut();
            h.insert(header::LOCATION, loc);
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            h.insert(
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            );
            r
        }
        // Unreachable for a registered URI plus urlencoded parameters.
        Err(_) => html::error_page(400, "Invalid redirect URI", "It cannot be redirected to."),
    }
}

async fn render(app: &App, req: &AuthRequest, email: &str, error: Option<&str>) -> Response {
    let company = app
        .org(req.client.org_id)
        .await
        .map(|o| o.org.company_name.clone())
        .unwrap_or_default();
    let scopes: Vec<String> = req.scopes.0.iter().map(|s| s.to_string()).collect();
    let hidden: Vec<(&str, &str)> = req.raw.iter().map(|(k, v)| (*k, v.as_str())).collect();
    html::consent_page(&Consent {
        client_name: &req.client.name,
        company: &company,
        scopes: &scopes,
        offline: req.offline,
        redirect_uri: &req.redirect_uri,
        hidden: &hidden,
        email,
        error,
    })
}

pub async fn show(State(app): State<Arc<App>>, RawQuery(q): RawQuery) -> Response {
    let p: HashMap<String, String> = q
        .and_then(|q| serde_urlencoded::from_str(&q).ok())
        .unwrap_or_default();
    match validate(&app, &p).await {
        Ok(req) => render(&app, &req, "", None).await,
        Err(r) => refuse(r),
    }
}

pub async fn decide(State(app): State<Arc<App>>, request: Request) -> Result<Response, HttpError> {
    let p = params(request).await;
    let req = match validate(&app, &p).await {
        Ok(r) => r,
        Err(r) => return Ok(refuse(r)),
    };
    let state = req.state.as_deref();
    match p.get("action").map(String::as_str) {
        Some("reject") => {
            return Ok(refuse(error_redirect(
                &req.redirect_uri,
                "access_denied",
                state,
            )))
        }
        Some("accept") => {}
        _ => {
            return Ok(html::error_page(
                400,
                "Bad request",
                "Choose Accept or Reject on the consent page.",
            ))
        }
    }
    let email = p
        .get("email")
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    let password = p.get("password").cloned().unwrap_or_default();
    // No address is longer (RFC 5321); a longer one matches no user and is
    // neither tracked nor logged.
    if email.len() > 320 {
        return Ok(render(&app, &req, "", Some("Wrong email or password.")).await);
    }
    if let Some(left) = app.sign_ins.locked_for(&email, app.now()) {
        tracing::warn!("consent sign-in refused: {email:?} is locked");
        let minutes = (left + 59_999) / 60_000;
        let why = format!("Too many failed sign-ins. Try again in {minutes} minutes.");
        return Ok(render(&app, &req, &email, Some(&why)).await);
    }
    let user = {
        let _permit = SIGN_INS.acquire().await.ok();
        let app = app.clone();
        let email = email.clone();
        app.control.check_password(&email, &password).await?
    };
    // Only a user of the client's own org may grant access to it.
    let Some(user) = user.filter(|u| u.org_id == req.client.org_id) else {
        app.sign_ins.failed(&email, app.now());
        tracing::warn!("consent sign-in failed for {email:?}");
        return Ok(render(&app, &req, &email, Some("Wrong email or password.")).await);
    };
    app.sign_ins.succeeded(&email);
    let code = app
        .control
        .approve(
            Approval {
                client_id: req.client_id.clone(),
                org_id: user.org_id,
                user_id: user.id,
                scopes: req.scopes.to_list(),
                redirect_uri: req.redirect_uri.clone(),
                offline: req.offline,
                ttl_ms: WEB_CODE_TTL_MS,
            },
            app.now(),
        )
        .await?;
    // Zoho appends the user's data centre and its accounts server.
    let mut q = vec![
        ("code", code.as_str()),
        ("location", "us"),
        ("accounts-server", app.public_url.as_str()),
    ];
    if let Some(s) = state {
        q.push(("state", s));
    }
    Ok(redirect(&with_query(&req.redirect_uri, &q)))
}
