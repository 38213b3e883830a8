//! `GET /crm/v8/__apis`: the operations this server supports, with their scope
//! and credits, from the same table the auth layer enforces.

use crate::auth::Caller;
use crate::error::json_response;
use crate::ops::{Need, OPERATIONS};
use axum::response::Response;
use axum::Extension;
use serde_json::{json, Value};

pub async fn list(Extension(caller): Extension<Caller>) -> Response {
    let mut paths: Vec<(String, Vec<Value>)> = Vec::new();
    let catalog = caller.org.store.catalog();
    for op in OPERATIONS {
        let concrete: Vec<(String, String)> = match op.need {
            Need::Module(o) | Need::ModuleOr(o, _) => catalog
                .modules()
                .iter()
                .map(|m| {
                    (
                        op.path.replace("{module}", &m.api_name),
                        format!("ZohoCRM.modules.{}.{}", m.scope_name(), o.as_str()),
                    )
                })
                .collect(),
            Need::Scope(s) => vec![(
                op.path.replace("{module}", "{module_api_name}"),
                s.to_string(),
            )],
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
