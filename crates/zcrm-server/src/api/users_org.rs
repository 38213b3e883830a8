//! `GET /crm/v8/users`, `/users/{id}` and `/org`.

use super::params::{int_param, Params};
use crate::auth::Caller;
use crate::error::{json_response, HttpResult};
use axum::extract::{Path, Query};
use axum::response::Response;
use axum::Extension;
use serde_json::{json, Value};
use zcrm_core::meta::stable_id;
use zcrm_core::value::format_datetime;
use zcrm_core::ApiError;
use zcrm_store::control::User;

fn user_json(u: &User, caller: &Caller) -> Value {
    let tz = caller.org.tz;
    let admin = caller.org.org.primary_user;
    let by = admin
        .and_then(|id| caller.org.user(id))
        .map(|a| json!({"name": a.full_name(), "id": a.id.to_string()}))
        .unwrap_or(Value::Null);
    json!({
        "id": u.id.to_string(),
        "zuid": u.zuid,
        "first_name": u.first_name,
        "last_name": u.last_name,
        "full_name": u.full_name(),
        "name": u.full_name(),
        "email": u.email,
        "status": u.status,
        "confirm": true,
        "role": {"name": u.role, "id": stable_id("role", &u.role)},
        "profile": {"name": u.profile, "id": stable_id("profile", &u.profile)},
        "time_zone": u.time_zone,
        "locale": "en_US",
        "country_locale": "en_US",
        "language": "en_US",
        "country": "US",
        "time_format": "hh:mm a",
        "date_format": "MM/dd/yyyy",
        "decimal_separator": "Period",
        "sort_order_preference__s": "First Name,Last Name",
        "name_format__s": "Salutation,First Name,Last Name",
        "status_reason__s": null,
        "microsoft": false,
        "isonline": false,
        "personal_account": false,
        "default_tab_group": "0",
        "Isonline": false,
        "created_time": format_datetime(u.created_time, tz),
        "Modified_Time": format_datetime(u.modified_time, tz),
        "created_by": by.clone(),
        "Modified_By": by,
        "Reporting_To": null,
        "territories": [],
        "customize_info": {"notes_desc": null, "show_right_panel": null, "bc_view": null, "show_home": false, "show_detail_view": true, "unpin_recent_item": null},
        "theme": {"normal_tab": {"font_color": "#FFFFFF", "background": "#222222"}, "selected_tab": {"font_color": "#FFFFFF", "background": "#222222"}, "new_background": null, "background": "#F3F0EB", "screen": "fixed", "type": "default"},
    })
}

pub async fn users(
    Extension(caller): Extension<Caller>,
    Query(q): Query<Params>,
) -> HttpResult<Response> {
    let kind = q.get("type").map(String::as_str).unwrap_or("AllUsers");
    let all = caller.org.users();
    let admin = caller.org.org.primary_user;
    let selected: Vec<&User> = match kind {
        "AllUsers" | "ActiveUsers" | "ConfirmedUsers" | "ActiveConfirmedUsers" => all
            .iter()
            .filter(|u| kind == "AllUsers" || u.status == "active")
            .collect(),
        "AdminUsers" | "ActiveConfirmedAdmins" => all
            .iter()
            .filter(|u| Some(u.id) == admin || u.profile == "Administrator")
            .collect(),
        "CurrentUser" => all.iter().filter(|u| u.id == caller.user_id).collect(),
        "DeactiveUsers" | "NotConfirmedUsers" | "DeletedUsers" => {
            all.iter().filter(|u| u.status != "active").collect()
        }
        _ => return Err(ApiError::invalid_param("type").into()),
    };
    let per_page = int_param(&q, "per_page", 200, 200)?;
    let page = int_param(&q, "page", 1, 10_000)?;
    let start = ((page - 1) * per_page) as usize;
    let items: Vec<Value> = selected
        .iter()
        .skip(start)
        .take(per_page as usize)
        .map(|u| user_json(u, &caller))
        .collect();
    if items.is_empty() {
        return Ok(no_content());
    }
    let more = selected.len() > start + items.len();
    Ok(json_response(
        200,
        &json!({
            "users": items,
            "info": {"per_page": per_page, "count": items.len(), "page": page, "more_records": more},
        }),
    ))
}

pub fn no_content() -> Response {
    let mut r = Response::new(axum::body::Body::empty());
    *r.status_mut() = axum::http::StatusCode::NO_CONTENT;
    r
}

pub async fn user(
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> HttpResult<Response> {
    let id = zcrm_core::ids::parse_id_str(&id).ok_or_else(|| ApiError::invalid_param("id"))?;
    match caller.org.user(id) {
        Some(u) => Ok(json_response(
            200,
            &json!({"users": [user_json(&u, &caller)]}),
        )),
        None => Ok(no_content()),
    }
}

pub async fn org(Extension(caller): Extension<Caller>) -> HttpResult<Response> {
    let o = &caller.org.org;
    let primary = o.primary_user.and_then(|id| caller.org.user(id));
    let users = caller.org.users().len();
    Ok(json_response(
        200,
        &json!({"org": [{
            "id": o.id.to_string(),
            "company_name": o.company_name,
            "alias": null,
            "zgid": o.zgid,
            "primary_zuid": primary.as_ref().map(|u| u.zuid.clone()),
            "primary_email": primary.as_ref().map(|u| u.email.clone()),
            "time_zone": o.time_zone,
            "currency": o.currency,
            "iso_code": o.iso_code,
            "currency_symbol": o.currency_symbol,
            "currency_locale": "en_US",
            "country_code": o.country_code,
            "country": "United States",
            "domain_name": format!("org{}", o.zgid),
            "type": "production",
            "mc_status": false,
            "gapps_enabled": false,
            "zia_portal_id": null,
            "privacy_settings": false,
            "hipaa_compliance_enabled": false,
            "lite_users_enabled": false,
            "deletable_org_account": false,
            "translation_enabled": false,
            "photo_id": null,
            "phone": null, "mobile": null, "fax": null, "website": null, "description": null,
            "employee_count": null, "street": null, "city": null, "state": null, "zip": null,
            "hierarchy_preferences": {"type": "Role_Hierarchy", "strictly_reporting": false},
            "license_details": {
                "paid": o.edition != "Free",
                "paid_type": o.edition.to_ascii_lowercase(),
                "paid_expiry": null,
                "trial_type": null,
                "trial_action": null,
                "trial_expiry": null,
                "users_license_purchased": users.max(1),
                "portal_users_license_purchased": 0,
            },
        }]}),
    ))
}
