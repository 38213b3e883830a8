//! `/crm/v8/settings/...`: modules, fields, layouts, related lists and custom
//! views, rendered from the built-in catalog.

use super::params::module_param;
use super::params::Params;
use super::users_org::no_content;
use crate::auth::Caller;
use crate::error::{json_response, HttpResult};
use axum::extract::{Path, Query};
use axum::response::Response;
use axum::Extension;
use serde_json::{json, Value};
use zcrm_core::meta::{stable_id, Catalog, DataType, Module};
use zcrm_core::ApiError;

const STAMP: &str = "2026-01-01T00:00:00+00:00";

fn admin_ref(caller: &Caller) -> Value {
    caller
        .org
        .org
        .primary_user
        .and_then(|id| caller.org.user(id))
        .map(|u| json!({"name": u.full_name(), "id": u.id.to_string()}))
        .unwrap_or(Value::Null)
}

pub async fn modules(Extension(caller): Extension<Caller>) -> HttpResult<Response> {
    let list: Vec<Value> = caller
        .org
        .store
        .catalog()
        .modules()
        .iter()
        .map(|m| m.to_zoho_json())
        .collect();
    Ok(json_response(200, &json!({"modules": list})))
}

pub async fn module(
    Extension(caller): Extension<Caller>,
    Path(name): Path<String>,
) -> HttpResult<Response> {
    let catalog = caller.org.store.catalog();
    let m = catalog
        .module(&name)
        .ok_or_else(|| ApiError::invalid_module(3))?;
    let mut v = m.to_zoho_json();
    let display = m.field(&m.display_field);
    v["display_field"] = json!({"api_name": m.display_field, "id": display.map(|f| f.id.clone())});
    v["related_lists"] = Value::Array(related_list_items(catalog, m));
    v["fields"] = Value::Array(
        m.fields
            .iter()
            .map(|f| f.to_zoho_json(m, catalog))
            .collect(),
    );
    v["layouts"] = json!([{"id": layout_id(m), "name": "Standard", "display_label": "Standard", "status": "active"}]);
    v["custom_view"] = custom_view_items(m, &admin_ref(&caller))
        .into_iter()
        .next()
        .unwrap_or(Value::Null);
    Ok(json_response(200, &json!({"modules": [v]})))
}

pub async fn fields(
    Extension(caller): Extension<Caller>,
    Query(q): Query<Params>,
) -> HttpResult<Response> {
    let m = module_param(&caller, &q)?;
    let catalog = caller.org.store.catalog();
    let list: Vec<Value> = m
        .fields
        .iter()
        .map(|f| f.to_zoho_json(&m, catalog))
        .collect();
    Ok(json_response(200, &json!({"fields": list})))
}

pub async fn field(
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    Query(q): Query<Params>,
) -> HttpResult<Response> {
    let m = module_param(&caller, &q)?;
    let catalog = caller.org.store.catalog();
    match m
        .fields
        .iter()
        .find(|f| f.id == id || f.api_name.eq_ignore_ascii_case(&id))
    {
        Some(f) => Ok(json_response(
            200,
            &json!({"fields": [f.to_zoho_json(&m, catalog)]}),
        )),
        None => Err(ApiError::invalid_id_at(3).into()),
    }
}

fn layout_id(m: &Module) -> String {
    stable_id("layout", &m.api_name)
}

fn layout_json(catalog: &Catalog, m: &Module, by: &Value) -> Value {
    let field_json = |f: &zcrm_core::meta::Field| f.to_zoho_json(m, catalog);
    let main: Vec<Value> = m
        .fields
        .iter()
        .filter(|f| f.data_type != DataType::Subform && f.api_name != "Tag")
        .map(field_json)
        .collect();
    let mut sections = vec![json!({
        "display_label": format!("{} Information", m.singular_label),
        "sequence_number": 1, "issubformsection": false, "tab_traversal": 1,
        "api_name": format!("{} Information", m.singular_label), "column_count": 2,
        "name": format!("{} Information", m.singular_label), "generated_type": "default",
        "type": "used", "isSubformSection": false, "fields": main,
    })];
    for (i, f) in m
        .fields
        .iter()
        .filter(|f| f.data_type == DataType::Subform)
        .enumerate()
    {
        sections.push(json!({
            "display_label": f.field_label, "sequence_number": i + 2, "issubformsection": true,
            "tab_traversal": i + 2, "api_name": f.api_name, "column_count": 1, "name": f.field_label,
            "generated_type": "default", "type": "used", "isSubformSection": true,
            "fields": [field_json(f)],
        }));
    }
    json!({
        "id": layout_id(m), "name": "Standard", "display_label": "Standard", "api_name": "Standard",
        "status": "active", "visible": true, "source": "crm", "generated_type": "default",
        "created_time": null, "modified_time": STAMP, "created_by": null, "modified_by": by,
        "has_more_profiles": false, "show_business_card": true, "mode": null, "created_for": null,
        "convert_mapping": {}, "profiles": [{"default": true, "name": "Administrator", "id": stable_id("profile", "Administrator"), "_default_view": {"name": "Standard", "id": layout_id(m), "type": "layout"}}],
        "sections": sections,
    })
}

pub async fn layouts(
    Extension(caller): Extension<Caller>,
    Query(q): Query<Params>,
) -> HttpResult<Response> {
    let m = module_param(&caller, &q)?;
    let l = layout_json(caller.org.store.catalog(), &m, &admin_ref(&caller));
    Ok(json_response(200, &json!({"layouts": [l]})))
}

pub async fn layout(
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    Query(q): Query<Params>,
) -> HttpResult<Response> {
    let m = module_param(&caller, &q)?;
    if id != layout_id(&m) {
        return Ok(no_content());
    }
    let l = layout_json(caller.org.store.catalog(), &m, &admin_ref(&caller));
    Ok(json_response(200, &json!({"layouts": [l]})))
}

fn related_list_items(catalog: &Catalog, m: &Module) -> Vec<Value> {
    m.related_lists
        .iter()
        .enumerate()
        .map(|(i, rl)| {
            let target = catalog.module(&rl.module);
            json!({
                "id": stable_id("related_list", &format!("{}.{}", m.api_name, rl.api_name)),
                "sequence_number": (i + 1).to_string(),
                "display_label": rl.display_label,
                "api_name": rl.api_name,
                "module": target.map(|t| json!({"api_name": t.api_name, "id": t.id})),
                "name": rl.api_name,
                "action": null,
                "href": format!("{}/{{ENTITYID}}/{}", m.api_name, rl.api_name),
                "type": rl.r#type,
                "connectedmodule": null,
                "linkingmodule": null,
                "visible": true,
                "status": "visible",
            })
        })
        .collect()
}

pub async fn related_lists(
    Extension(caller): Extension<Caller>,
    Query(q): Query<Params>,
) -> HttpResult<Response> {
    let m = module_param(&caller, &q)?;
    let items = related_list_items(caller.org.store.catalog(), &m);
    Ok(json_response(200, &json!({"related_lists": items})))
}

fn custom_view_items(m: &Module, by: &Value) -> Vec<Value> {
    m.custom_views
        .iter()
        .map(|cv| {
            json!({
                "id": stable_id("custom_view", &format!("{}.{}", m.api_name, cv.name)),
                "name": cv.name,
                "display_value": cv.name,
                "system_name": cv.system_name,
                "default": cv.default,
                "system_defined": true,
                "category": "public_views",
                "favorite": null,
                "locked": false,
                "offline": false,
                "access_type": "public",
                "created_by": by,
                "modified_by": by,
                "created_time": null,
                "modified_time": STAMP,
                "last_accessed_time": null,
            })
        })
        .collect()
}

pub async fn custom_views(
    Extension(caller): Extension<Caller>,
    Query(q): Query<Params>,
) -> HttpResult<Response> {
    let m = module_param(&caller, &q)?;
    let items = custom_view_items(&m, &admin_ref(&caller));
    let default = items
        .iter()
        .find(|v| v["default"] == json!(true))
        .map(|v| v["id"].clone());
    Ok(json_response(
        200,
        &json!({
            "custom_views": items,
            "info": {"per_page": 200, "count": m.custom_views.len(), "page": 1, "more_records": false,
                     "default": default,
                     "translation": {"public_views": "Public Views", "other_users_views": "Other Users' Views",
                                     "shared_with_me": "Shared With Me", "created_by_me": "Created By Me"}},
        }),
    ))
}

pub async fn custom_view(
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    Query(q): Query<Params>,
) -> HttpResult<Response> {
    let m = module_param(&caller, &q)?;
    let items = custom_view_items(&m, &admin_ref(&caller));
    match items.into_iter().find(|v| v["id"] == json!(id)) {
        Some(mut v) => {
            let fields: Vec<Value> = m
                .fields
                .iter()
                .take(8)
                .map(|f| json!({"api_name": f.api_name, "id": f.id}))
                .collect();
            v["fields"] = Value::Array(fields);
            v["sort_by"] = Value::Null;
            v["sort_order"] = Value::Null;
            v["criteria"] = Value::Null;
            Ok(json_response(200, &json!({"custom_views": [v]})))
        }
        None => Ok(no_content()),
    }
}
