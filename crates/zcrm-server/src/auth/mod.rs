//! The auth layer of `/crm`: resolves `Authorization: Zoho-oauthtoken …` to
//! a caller and checks the operation's scope rule (its row of `ops`, judged
//! in `rule`) before any handler runs.

mod rule;

pub use rule::require_modules;

use crate::admission;
use crate::error::HttpError;
use crate::ops::{self, Operation};
use crate::state::{App, OrgCtx};
use crate::token_cache::CachedToken;
use axum::extract::{RawPathParams, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use zcrm_core::meta::Module;
use zcrm_core::scope::{Scope, Scopes};
use zcrm_core::{ApiError, Code};

/// Who is calling: the token's org, user and scopes.
#[derive(Clone)]
pub struct Caller {
    pub app: Arc<App>,
    pub org: Arc<OrgCtx>,
    pub user_id: i64,
    /// The client the token was issued to (channels belong to it).
    pub client_id: Arc<str>,
    /// The token's scopes, for needs known only from the request's body
    /// (COQL, bulk read, mass update criteria): see [`require_modules`].
    pub scopes: Arc<Scopes>,
}

impl Caller {
    /// `OAUTH_SCOPE_MISMATCH` unless the token has `op` on every module.
    pub fn require(
        &self,
        modules: &[Arc<Module>],
        op: zcrm_core::scope::Op,
    ) -> Result<(), ApiError> {
        require_modules(&self.scopes, modules, op)
    }
}

/// The module named in the path, resolved by the auth layer.
#[derive(Clone)]
pub struct PathModule(pub Arc<Module>);

fn bearer(req: &Request) -> Option<&str> {
    let v = req.headers().get("authorization")?.to_str().ok()?.trim();
    let (scheme, token) = v.split_once(' ')?;
    let ok =
        scheme.eq_ignore_ascii_case("Zoho-oauthtoken") || scheme.eq_ignore_ascii_case("Bearer");
    ok.then(|| token.trim()).filter(|t| !t.is_empty())
}

/// For zcrm's own operator endpoints outside `/crm/v8` (`/__zcrm/usage`,
/// `/__zcrm/deliveries`): the org of an Administrator's access token that
/// carries `scope`. They show that org only, and are not charged as calls.
pub async fn operator(
    app: &Arc<App>,
    headers: &axum::http::HeaderMap,
    scope: &str,
    what: &str,
) -> Result<Arc<OrgCtx>, ApiError> {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(s, t)| {
            (s.eq_ignore_ascii_case("Zoho-oauthtoken") || s.eq_ignore_ascii_case("Bearer"))
                && !t.trim().is_empty()
        })
        .map(|(_, t)| t.trim().to_string())
        .ok_or_else(|| ApiError::new(Code::AuthenticationFailure))?;
    let info = app
        .control
        .authenticate(&token, app.now())
        .await
        .map_err(crate::error::store)?
        .ok_or_else(|| ApiError::new(Code::InvalidToken))?;
    let scopes = Scopes::parse_list(&info.scopes).unwrap_or_default();
    let wanted = Scope::parse(scope).ok_or_else(|| ApiError::internal("scope"))?;
    if !scopes.allows(&wanted) {
        return Err(ApiError::new(Code::OauthScopeMismatch));
    }
    let org = app.org(info.org_id).await?;
    let admin = org
        .with_user(info.user_id, |u| u.profile == "Administrator")
        .unwrap_or(false);
    if !admin {
        return Err(ApiError::new(Code::NoPermission).message(format!(
            "permission denied: {what} are shown to administrators"
        )));
    }
    Ok(org)
}

/// Each operation's route carries this layer with the operation's own row.
pub async fn layer(
    State((app, op)): State<(Arc<App>, &'static Operation)>,
    params: RawPathParams,
    mut req: Request,
    next: Next,
) -> Response {
    let writes = req.method() != axum::http::Method::GET;
    match authorize(&app, op, &params, &mut req).await {
        Ok((org, client)) => {
            let admission = match admission::admit(&app, &org, op, &client).await {
                Ok(a) => a,
                Err(refused) => {
                    let (r, headers) = *refused;
                    let mut resp = HttpError(r.error).into_response();
                    resp.headers_mut().extend(headers);
                    return resp;
                }
            };
            if let Some(a) = &admission {
                req.extensions_mut().insert(a.budget());
            }
            let mut resp = next.run(req).await;
            if let Some(a) = admission {
                let status = resp.status().as_u16();
                a.finish(resp.headers_mut(), status);
            }
            if writes {
                app.outbox_wake.notify_one();
            }
            resp
        }
        Err(e) => HttpError(e).into_response(),
    }
}

async fn authorize(
    app: &Arc<App>,
    op: &'static Operation,
    params: &RawPathParams,
    req: &mut Request,
) -> Result<(Arc<OrgCtx>, Arc<str>), ApiError> {
    // A placeholder holding one of Zoho's fixed words is an unserved Zoho
    // path (`/crm/v8/settings/roles`), not a module or record.
    if params.iter().any(|(_, v)| ops::is_reserved(v)) {
        return Err(ApiError::new(Code::InvalidUrlPattern));
    }
    let token = bearer(req).ok_or_else(|| ApiError::new(Code::AuthenticationFailure))?;
    let info = token_info(app, token).await?;
    let param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    };
    let module = match param("module") {
        Some(name) => Some(
            app.catalog
                .module(&name)
                .cloned()
                .ok_or_else(|| ApiError::invalid_module(0))?,
        ),
        None => None,
    };
    let org = app.org(info.org_id).await?;
    let (related, job_id) = (param("related"), param("job_id"));
    let at = rule::At {
        catalog: &app.catalog,
        org: &org,
        module: module.as_ref(),
        related: related.as_deref(),
        job_id: job_id.as_deref(),
    };
    if !rule::allowed(op, &info.scopes, &at).await? {
        return Err(ApiError::new(Code::OauthScopeMismatch));
    }
    if let Some(m) = module {
        req.extensions_mut().insert(PathModule(m));
    }
    req.extensions_mut().insert(Caller {
        app: app.clone(),
        org: org.clone(),
        user_id: info.user_id,
        client_id: info.client_id.clone(),
        scopes: info.scopes.clone(),
    });
    Ok((org, info.client_id.clone()))
}

/// The token's org, user, client and scopes: from the cache, else the
/// control database (then cached for at most `token_cache::MAX_AGE_MS`).
async fn token_info(app: &Arc<App>, token: &str) -> Result<CachedToken, ApiError> {
    let now = app.now();
    if let Some(t) = app.tokens.get(token, now) {
        return Ok(t);
    }
    let info = app
        .control
        .authenticate(token, now)
        .await
        .map_err(crate::error::store)?
        .ok_or_else(|| ApiError::new(Code::InvalidToken))?;
    let entry = CachedToken {
        org_id: info.org_id,
        user_id: info.user_id,
        client_id: Arc::from(info.client_id.as_str()),
        scopes: Arc::new(Scopes::parse_list(&info.scopes).unwrap_or_default()),
        expires_at: info.expires_at,
        checked_at: now,
    };
    app.tokens.put(token, entry.clone());
    Ok(entry)
}
