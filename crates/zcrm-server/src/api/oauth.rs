//! The accounts server: `POST /oauth/v2/token` (authorization-code,
//! refresh-token and client-credentials grants) and `POST /oauth/v2/token/revoke`.
//! The consent page, `/oauth/v2/auth`, is in `consent`. Parameters come in
//! the query string, an urlencoded form or multipart form data (Zoho's SDKs use
//! each); failures answer as Zoho Accounts does, `{"error":"…"}` with HTTP 200.

use crate::error::{json_response, HttpError};
use crate::state::App;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::header;
use axum::response::Response;
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;
use zcrm_core::scope::Scopes;
use zcrm_store::control::{Issued, OAuthErr, OAuthError, ACCESS_TTL_MS};

/// Collects parameters from the query string and whichever body form was sent.
/// The accounts server's forms are a few hundred bytes; more is not read.
pub const OAUTH_BODY_LIMIT: usize = 16 * 1024;

pub(super) async fn params(req: Request) -> HashMap<String, String> {
    let mut out: HashMap<String, String> = req
        .uri()
        .query()
        .and_then(|q| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default();
    let ctype = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if ctype.starts_with("multipart/form-data") {
        if let Ok(mut mp) = Multipart::from_request(req, &()).await {
            while let Ok(Some(field)) = mp.next_field().await {
                let name = field.name().unwrap_or("").to_string();
                if let Ok(text) = field.text().await {
                    out.insert(name, text);
                }
            }
        }
    } else if let Ok(body) = axum::body::to_bytes(req.into_body(), OAUTH_BODY_LIMIT).await {
        if let Ok(form) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body) {
            out.extend(form);
        }
    }
    out
}

fn oauth_error(code: &str) -> Response {
    json_response(200, &json!({"error": code}))
}

fn issued(app: &App, t: Issued) -> Response {
    let mut body = json!({
        "access_token": t.access_token,
        "scope": t.scopes.replace(',', " "),
        "api_domain": app.public_url,
        "token_type": "Bearer",
        "expires_in": ACCESS_TTL_MS / 1000,
    });
    if let Some(r) = t.refresh_token {
        body["refresh_token"] = r.into();
    }
    json_response(200, &body)
}

pub async fn token(State(app): State<Arc<App>>, req: Request) -> Result<Response, HttpError> {
    let p = params(req).await;
    let get = |k: &str| {
        p.get(k)
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    };
    let (Some(client_id), Some(secret)) = (get("client_id"), get("client_secret")) else {
        return Ok(oauth_error("invalid_client"));
    };
    let now = app.now();
    let result = match get("grant_type").as_deref() {
        Some("authorization_code") => {
            let Some(code) = get("code") else {
                return Ok(oauth_error("invalid_code"));
            };
            app.control
                .exchange_code(client_id, secret, code, get("redirect_uri"), now)
                .await
        }
        Some("refresh_token") => {
            let Some(refresh) = get("refresh_token") else {
                return Ok(oauth_error("invalid_code"));
            };
            app.control.refresh(client_id, secret, refresh, now).await
        }
        Some("client_credentials") => {
            let scopes = get("scope")
                .and_then(|s| Scopes::parse_request(&s).ok())
                .map(|s| s.to_list());
            app.control
                .client_credentials(client_id, secret, scopes, get("soid"), now)
                .await
        }
        _ => return Ok(oauth_error("unsupported_grant_type")),
    };
    match result {
        Ok(t) => Ok(issued(&app, t)),
        Err(OAuthErr::OAuth(e)) => {
            if e == OAuthError::CodeReused {
                // The code's tokens were just revoked: none may outlive it in the cache.
                app.tokens.clear();
                tracing::warn!("a grant code was used twice: the tokens it gave are revoked");
            }
            Ok(oauth_error(e.as_str()))
        }
        Err(OAuthErr::Store(e)) => Err(e.into()),
    }
}

pub async fn revoke(State(app): State<Arc<App>>, req: Request) -> Result<Response, HttpError> {
    let p = params(req).await;
    let Some(token) = p.get("token").filter(|t| !t.is_empty()) else {
        return Ok(json_response(
            400,
            &json!({"status": "failure", "error": "invalid_request"}),
        ));
    };
    let revoked = app.control.revoke(token.clone()).await?;
    if revoked {
        // Cached tokens must not outlive a revocation made here (a refresh
        // token's access tokens are not known by it, so all go); a token
        // that revoked nothing leaves the cache alone.
        app.tokens.clear();
        Ok(json_response(200, &json!({"status": "success"})))
    } else {
        Ok(json_response(
            400,
            &json!({"status": "failure", "error": "invalid_token"}),
        ))
    }
}
