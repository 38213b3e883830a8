//! An operation's scope rule (`ops::Need`, its row of the table) judged
//! against a token's scopes. A rule may name modules the path reaches besides
//! `{module}`: the module behind a related list, the module of a bulk job.
//! Needs that only a request's body reveals (COQL, bulk read fields and
//! criteria, mass update criteria) are checked by the service with
//! [`require_modules`].

use crate::ops::{Need, Operation};
use crate::state::OrgCtx;
use std::sync::Arc;
use zcrm_core::meta::{Catalog, Module};
use zcrm_core::scope::{Op, Scope, Scopes};
use zcrm_core::{ApiError, Code};

/// What the path names, for the rule's module-dependent needs.
pub(super) struct At<'a> {
    pub catalog: &'a Catalog,
    pub org: &'a OrgCtx,
    /// `{module}`, resolved.
    pub module: Option<&'a Arc<Module>>,
    /// `{related}`: a related list of `{module}`.
    pub related: Option<&'a str>,
    /// `{job_id}`: a bulk job.
    pub job_id: Option<&'a str>,
}

/// `OAUTH_SCOPE_MISMATCH` unless the scopes allow `op` on every module.
pub fn require_modules(scopes: &Scopes, modules: &[Arc<Module>], op: Op) -> Result<(), ApiError> {
    if modules.iter().all(|m| scopes.allows(&module_scope(m, op))) {
        Ok(())
    } else {
        Err(ApiError::new(Code::OauthScopeMismatch))
    }
}

fn module_scope(m: &Module, op: Op) -> Scope {
    Scope::crm(&["modules", &m.scope_name()], op)
}

fn flatten(need: Need, out: &mut Vec<Need>) {
    match need {
        Need::All(needs) => needs.iter().for_each(|n| flatten(*n, out)),
        n => out.push(n),
    }
}

/// Whether the scopes meet every need of the operation's rule.
pub(super) async fn allowed(
    op: &Operation,
    scopes: &Scopes,
    at: &At<'_>,
) -> Result<bool, ApiError> {
    let mut needs = Vec::new();
    flatten(op.need, &mut needs);
    for need in needs {
        let Some(wanted) = wanted(op, need, at).await? else {
            continue;
        };
        if !wanted.iter().any(|w| scopes.allows(w)) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The scopes one need accepts (any of them will do). `None` when what it
/// names is not there (no such related list or job): the handler answers
/// for that as for any token, and no data is reached.
async fn wanted(op: &Operation, need: Need, at: &At<'_>) -> Result<Option<Vec<Scope>>, ApiError> {
    let no_rule = || ApiError::internal(format!("no scope rule for {}", op.key()));
    let module = || at.module.ok_or_else(no_rule);
    let fixed = |s: &str| Scope::parse(s).ok_or_else(no_rule);
    Ok(Some(match need {
        Need::Module(o) => vec![module_scope(module()?, o)],
        Need::ModuleOr(o, alt) => vec![module_scope(module()?, o), fixed(alt)?],
        Need::Scope(s) => vec![fixed(s)?],
        Need::Family(family, o) => vec![Scope::crm(&[family, &module()?.scope_name()], o)],
        Need::Related(o) => match related_module(at.catalog, module()?, at.related) {
            Some(child) => vec![module_scope(&child, o)],
            None => return Ok(None),
        },
        Need::JobModule(kind, o) => match job_module(at, kind).await? {
            Some(m) => vec![module_scope(&m, o)],
            None => return Ok(None),
        },
        Need::All(_) => return Err(no_rule()),
    }))
}

/// The module behind the related list `name` of `parent` (as `api::related`
/// resolves it).
fn related_module(catalog: &Catalog, parent: &Module, name: Option<&str>) -> Option<Arc<Module>> {
    let name = name?;
    let rl = parent
        .related_lists
        .iter()
        .find(|rl| rl.api_name.eq_ignore_ascii_case(name))?;
    catalog.module(&rl.module).cloned()
}

/// The module of the bulk job `{job_id}` of this kind, if there is one.
async fn job_module(at: &At<'_>, kind: &str) -> Result<Option<Arc<Module>>, ApiError> {
    let Some(id) = at.job_id.and_then(zcrm_core::ids::parse_id_str) else {
        return Ok(None);
    };
    let job = at
        .org
        .store
        .bulk_job(id, kind)
        .await
        .map_err(crate::error::store)?;
    Ok(job.and_then(|j| at.catalog.module(&j.module).cloned()))
}
