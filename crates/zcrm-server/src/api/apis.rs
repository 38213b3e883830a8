//! `GET /crm/v8/__apis`: the operations this server supports, with their scope
//! and credits, from the same table the auth layer enforces.

use crate::auth::Caller;
use crate::error::json_response;
use crate::ops::{Need, OPERATIONS};
use axum::response::Response;
use axum::Extension;
use serde_json::{json, Value};
use zcrm_core::meta::Module;

/// A rule's scopes for one module of the path (`None`: a path without
/// `{module}`); several, comma-separated, when it needs more than one.
fn scope_text(need: Need, m: Option<&Module>) -> String {
    let module = m.map_or("{module_api_name}".to_string(), |m| m.scope_name());
    match need {
        Need::Module(o) | Need::ModuleOr(o, _) => {
            format!("ZohoCRM.modules.{module}.{}", o.as_str())
        }
        Need::Scope(s) => s.to_string(),
        Need::Family(f, o) => format!("ZohoCRM.{f}.{module}.{}", o.as_str()),
        Need::Related(o) => format!("ZohoCRM.modules.{{related_list_module}}.{}", o.as_str()),
        Need::JobModule(_, o) => format!("ZohoCRM.modules.{{job_module}}.{}", o.as_str()),
        Need::All(needs) => needs
            .iter()
            .map(|n| scope_text(*n, m))
            .collect::<Vec<_>>()
            .join(","),
    }
}

pub async fn list(Extension(caller): Extension<Caller>) -> Response {
    let mut paths: Vec<(String, Vec<Value>)> = Vec::new();
    let catalog = caller.org.store.catalog();
    for op in OPERATIONS {
        let concrete: Vec<(String, String)> = if op.path.contains("{module}") {
            catalog
                .modules()
                .iter()
                .map(|m| {
                    (
                        op.path.replace("{module}", &m.api_name),
                        scope_text(op.need, Some(m)),
                    )
                })
                .collect()
        } else {
            vec![(op.path.to_string(), scope_text(op.need, None))]
        };
        for (path, scope) in concrete {
            let item = json!({"method": op.method.as_str(), "oauth_scope": scope,
                              "max_credits": op.credits.1, "min_credits": op.credits.0});
            match paths.iter_mut().find(|(p, _)| *p == path) {
                Some((_, ops)) => ops.push(item),
                None => paths.push((path, vec![item])),
            }
        }
    }
    let apis: Vec<Value> = paths
        .into_iter()
        .map(|(path, ops)| json!({"path": path, "operation_types": ops}))
        .collect();
    json_response(200, &json!({"__apis": apis}))
}
