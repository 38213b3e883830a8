//! `/crm/v8/actions/watch`: notification channels (enable, list, replace,
//! update, disable). Deliveries are the dispatcher's (`crate::notify`).

use super::params::{int_param, json_body, Params};
use crate::auth::Caller;
use crate::error::{json_response, HttpResult};
use crate::notify::check_url;
use crate::wire::Success;
use axum::body::Bytes;
use axum::extract::{Extension, Query};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use zcrm_core::value::{format_datetime, parse_datetime};
use zcrm_core::{ApiError, Code};
use zcrm_store::outbox::Channel;

/// Zoho's limits (D7 enable-notifications; OAS8n): watch items per request,
/// events per item, token and URL lengths, how far ahead a channel may expire
/// and how long it lives when no expiry is given.
const MAX_ITEMS: usize = 50;
const MAX_EVENTS: usize = 50;
const MAX_TOKEN: usize = 50;
const MAX_URL: usize = 255;
const MAX_CHANNEL_ID: usize = 64;
const MAX_EXPIRY_MS: i64 = 7 * 24 * 3600 * 1000;
const DEFAULT_EXPIRY_MS: i64 = 3600 * 1000;
const MAX_CONDITIONS: usize = 2;
const MAX_CONDITION_FIELDS: usize = 10;

const SUBSCRIBED: &str = "Successfully subscribed for actions-watch of the given module";
const UPDATED: &str = "Successfully updated the subscribe details";
const REMOVED: &str = "Successfully removed the subscribe details";
const UNSUBSCRIBED: &str = "Successfully un-subscribed from actions-watch";

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Enable,
    Replace,
    Patch,
}

fn mandatory(i: usize, key: &str) -> ApiError {
    ApiError::new(Code::MandatoryNotFound)
        .detail("api_name", key)
        .detail("json_path", format!("$.watch[{i}].{key}"))
}

fn invalid(i: usize, key: &str) -> ApiError {
    ApiError::new(Code::InvalidData)
        .detail("api_name", key)
        .detail("json_path", format!("$.watch[{i}].{key}"))
}

fn not_subscribed(channel_id: &str) -> ApiError {
    ApiError::new(Code::NotSubscribed).detail("channel_id", channel_id)
}

/// `channel_id`: docs say a long, the OAS a string ≤ 64; both are accepted and
/// rendered as a string.
fn channel_id(i: usize, item: &Map<String, Value>) -> Result<String, ApiError> {
    match item.get("channel_id") {
        None | Some(Value::Null) => Err(mandatory(i, "channel_id")),
        Some(Value::Number(n)) if n.is_u64() => Ok(n.to_string()),
        Some(Value::String(s)) if !s.trim().is_empty() && s.len() <= MAX_CHANNEL_ID => {
            Ok(s.trim().to_string())
        }
        Some(_) => Err(invalid(i, "channel_id")),
    }
}

/// `events` grouped by module: `{Module}.{create|edit|delete|all}`.
fn events(
    caller: &Caller,
    i: usize,
    item: &Map<String, Value>,
) -> Result<BTreeMap<String, Vec<String>>, ApiError> {
    let list = match item.get("events") {
        None | Some(Value::Null) => return Err(mandatory(i, "events")),
        Some(Value::Array(a)) if !a.is_empty() => a,
        Some(_) => {
            return Err(invalid(i, "events").detail("expected_data_type", "jsonarray"));
        }
    };
    if list.len() > MAX_EVENTS {
        return Err(ApiError::new(Code::LimitExceeded)
            .detail("limit", MAX_EVENTS)
            .detail("api_name", "events")
            .detail("json_path", format!("$.watch[{i}].events")));
    }
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for e in list {
        let parsed = e
            .as_str()
            .and_then(|s| s.rsplit_once('.'))
            .and_then(|(m, op)| {
                let module = caller.app.catalog.module(m)?;
                let op = op.to_ascii_lowercase();
                ["create", "edit", "delete", "all"]
                    .contains(&op.as_str())
                    .then(|| (module.api_name.clone(), op))
            });
        let Some((module, op)) = parsed else {
            return Err(invalid(i, "events"));
        };
        let ops = out.entry(module).or_default();
        if !ops.contains(&op) {
            ops.push(op);
        }
    }
    Ok(out)
}

fn notify_url(caller: &Caller, i: usize, v: &Value) -> Result<String, ApiError> {
    let s = v.as_str().map(str::trim).unwrap_or("");
    if s.is_empty() || s.len() > MAX_URL {
        return Err(invalid(i, "notify_url").detail("maximum_length", MAX_URL));
    }
    check_url(s, caller.app.allow_private_webhooks)
        .map_err(|why| invalid(i, "notify_url").message(why))?;
    Ok(s.to_string())
}

fn token(i: usize, v: &Value) -> Result<Option<String>, ApiError> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) if s.chars().count() <= MAX_TOKEN => Ok(Some(s.clone())),
        Value::String(_) => Err(invalid(i, "token").detail("maximum_length", MAX_TOKEN)),
        _ => Err(invalid(i, "token").detail("expected_data_type", "string")),
    }
}

fn expiry(i: usize, v: &Value, now: i64) -> Result<i64, ApiError> {
    let at = match v {
        Value::Null => return Ok(now + DEFAULT_EXPIRY_MS),
        Value::String(s) => parse_datetime(s),
        _ => None,
    };
    match at {
        Some(t) if t > now && t <= now + MAX_EXPIRY_MS => Ok(t),
        Some(_) => Err(invalid(i, "channel_expiry")
            .message("the channel expiry must be in the future and at most one week ahead")),
        None => Err(invalid(i, "channel_expiry").detail("expected_data_type", "datetime")),
    }
}

fn boolean(i: usize, key: &str, v: Option<&Value>, default: bool) -> Result<bool, ApiError> {
    match v {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(invalid(i, key).detail("expected_data_type", "boolean")),
    }
}

/// Validates one watch item into per-module subscriptions; for PATCH,
/// unspecified values come from the channel as it is.
/// A channel's events after `_delete_events` removes `ops`: removing `all`
/// removes everything; removing one op from `all` keeps the other two.
fn remaining_events(was: &Channel, ops: &[String]) -> Vec<String> {
    let have: Vec<String> = if was.events.iter().any(|e| e == "all") {
        vec!["create".into(), "edit".into(), "delete".into()]
    } else {
        was.events.clone()
    };
    if ops.iter().any(|o| o == "all") {
        Vec::new()
    } else {
        have.into_iter().filter(|e| !ops.contains(e)).collect()
    }
}

fn item_channels(
    caller: &Caller,
    i: usize,
    raw: &Value,
    mode: Mode,
    existing: &[Channel],
) -> Result<(Vec<Channel>, bool), ApiError> {
    let item = raw.as_object().ok_or_else(|| {
        ApiError::new(Code::InvalidData).detail("json_path", format!("$.watch[{i}]"))
    })?;
    let id = channel_id(i, item)?;
    let by_module = events(caller, i, item)?;
    let now = caller.app.now();
    let current: Vec<&Channel> = existing.iter().filter(|c| c.channel_id == id).collect();
    if mode == Mode::Patch && current.is_empty() {
        return Err(not_subscribed(&id));
    }
    let delete_events = boolean(i, "_delete_events", item.get("_delete_events"), false)?;
    let base = current.first().copied();
    let url = match (item.get("notify_url"), base) {
        (Some(v), _) if !v.is_null() => notify_url(caller, i, v)?,
        (_, Some(b)) if mode == Mode::Patch => b.notify_url.clone(),
        _ => return Err(mandatory(i, "notify_url")),
    };
    let token = match (item.get("token"), base) {
        (Some(v), _) => token(i, v)?,
        (None, Some(b)) if mode == Mode::Patch => b.token.clone(),
        _ => None,
    };
    let expiry = match (item.get("channel_expiry"), base) {
        (Some(v), _) => expiry(i, v, now)?,
        (None, Some(b)) if mode == Mode::Patch => b.expiry,
        _ => expiry(i, &Value::Null, now)?,
    };
    let on_related = boolean(
        i,
        "notify_on_related_action",
        item.get("notify_on_related_action"),
        base.filter(|_| mode == Mode::Patch)
            .is_none_or(|b| b.notify_on_related_action),
    )?;
    let return_values = boolean(
        i,
        "return_affected_field_values",
        item.get("return_affected_field_values"),
        base.filter(|_| mode == Mode::Patch)
            .is_some_and(|b| b.return_affected_field_values),
    )?;
    let conditions = item
        .get("notification_condition")
        .filter(|v| !v.is_null())
        .cloned();
    if let Some(c) = &conditions {
        check_conditions(caller, i, c, &by_module)?;
    }
    let fields = item.get("fields").filter(|v| !v.is_null()).cloned();
    let mut out = Vec::new();
    for (module, ops) in by_module {
        let was = current.iter().find(|c| c.module == module);
        let events = match (delete_events, was) {
            (false, _) => ops,
            (true, Some(was)) => remaining_events(was, &ops),
            (true, None) => return Err(not_subscribed(&id)),
        };
        out.push(Channel {
            channel_id: id.clone(),
            module,
            events,
            notify_url: url.clone(),
            token: token.clone(),
            expiry,
            notify_on_related_action: on_related,
            return_affected_field_values: return_values,
            fields: fields
                .clone()
                .or_else(|| was.and_then(|w| w.fields.clone())),
            notification_condition: conditions
                .clone()
                .or_else(|| was.and_then(|w| w.notification_condition.clone())),
        });
    }
    if mode == Mode::Patch && !delete_events {
        // Settings apply to the whole channel: its other modules follow them.
        let named: Vec<String> = out.iter().map(|o| o.module.clone()).collect();
        for other in current.iter().filter(|c| !named.contains(&c.module)) {
            out.push(Channel {
                notify_url: url.clone(),
                token: token.clone(),
                expiry,
                notify_on_related_action: on_related,
                return_affected_field_values: return_values,
                ..(*other).clone()
            });
        }
    }
    Ok((out, delete_events))
}

/// `notification_condition` (D8 enable-notifications): at most 2 conditions,
/// each a `field_selection` on a module of the item's events, naming at most
/// 10 existing fields.
fn check_conditions(
    caller: &Caller,
    i: usize,
    c: &Value,
    by_module: &BTreeMap<String, Vec<String>>,
) -> Result<(), ApiError> {
    let path = format!("$.watch[{i}].notification_condition");
    let list = c.as_array().ok_or_else(|| {
        invalid(i, "notification_condition").detail("expected_data_type", "jsonarray")
    })?;
    if list.len() > MAX_CONDITIONS {
        return Err(ApiError::new(Code::LimitExceeded)
            .detail("limit", MAX_CONDITIONS)
            .detail("api_name", "notification_condition")
            .detail("json_path", path));
    }
    for cond in list {
        let module = cond["module"]["api_name"]
            .as_str()
            .and_then(|m| caller.app.catalog.module(m))
            .filter(|m| by_module.contains_key(&m.api_name))
            .ok_or_else(|| {
                ApiError::new(Code::InvalidData)
                    .detail("api_name", "module")
                    .detail("json_path", format!("{path}.module"))
            })?;
        if cond.get("field_selection").is_none_or(|f| !f.is_object()) {
            return Err(ApiError::new(Code::MandatoryNotFound)
                .detail("api_name", "field_selection")
                .detail("json_path", format!("{path}.field_selection")));
        }
        let fields = zcrm_store::outbox::selected_fields(
            &Value::Array(vec![cond.clone()]),
            &module.api_name,
        );
        if fields.is_empty() || fields.len() > MAX_CONDITION_FIELDS {
            return Err(ApiError::new(Code::LimitExceeded)
                .detail("limit", MAX_CONDITION_FIELDS)
                .detail("api_name", "field_selection")
                .detail("json_path", format!("{path}.field_selection")));
        }
        if let Some(unknown) = fields.iter().find(|f| module.field(f).is_none()) {
            return Err(ApiError::new(Code::InvalidData)
                .detail("api_name", unknown.as_str())
                .detail("json_path", format!("{path}.field_selection")));
        }
    }
    Ok(())
}

fn resource_uri(caller: &Caller, module: &str) -> String {
    format!("{}/crm/v8/{module}", caller.app.public_url)
}

fn module_id(caller: &Caller, module: &str) -> String {
    caller
        .app
        .catalog
        .module(module)
        .map(|m| m.id.to_string())
        .unwrap_or_default()
}

fn event_detail(caller: &Caller, ch: &Channel) -> Value {
    json!({
        "channel_expiry": format_datetime(ch.expiry, caller.org.tz),
        "resource_uri": resource_uri(caller, &ch.module),
        "resource_id": module_id(caller, &ch.module),
        "resource_name": ch.module,
        "channel_id": ch.channel_id,
    })
}

fn status(ok: usize, total: usize, all_ok: u16) -> u16 {
    if ok == total {
        all_ok
    } else if ok == 0 {
        400
    } else {
        207
    }
}

async fn save(caller: Caller, body: Bytes, mode: Mode) -> HttpResult<Response> {
    let body = json_body(&body)?;
    let items = match body.get("watch") {
        None | Some(Value::Null) => {
            return Err(ApiError::new(Code::MandatoryNotFound)
                .detail("api_name", "watch")
                .detail("json_path", "$.watch")
                .into())
        }
        Some(Value::Array(a)) if !a.is_empty() => a.clone(),
        Some(_) => {
            return Err(ApiError::new(Code::InvalidData)
                .detail("api_name", "watch")
                .detail("json_path", "$.watch")
                .detail("expected_data_type", "jsonarray")
                .into())
        }
    };
    if items.len() > MAX_ITEMS {
        return Err(ApiError::new(Code::LimitExceeded)
            .detail("limit", MAX_ITEMS)
            .detail("api_name", "watch")
            .detail("json_path", "$.watch")
            .into());
    }
    let now = caller.app.now();
    let store = &caller.org.store;
    let existing = store.channels(None, None, now).await?;
    let mut out = Vec::with_capacity(items.len());
    let mut ok = 0;
    for (i, raw) in items.iter().enumerate() {
        match item_channels(&caller, i, raw, mode, &existing) {
            Err(e) => out.push(e.to_json()),
            Ok((channels, removed)) => {
                store
                    .save_channels(channels.clone(), mode == Mode::Replace, now)
                    .await?;
                ok += 1;
                let message = match (mode, removed) {
                    (Mode::Patch, true) => REMOVED,
                    (Mode::Patch, false) => UPDATED,
                    _ => SUBSCRIBED,
                };
                let events: Vec<Value> = channels
                    .iter()
                    .filter(|c| !c.events.is_empty())
                    .map(|c| event_detail(&caller, c))
                    .collect();
                out.push(Success::new(message).detail("events", events).to_value());
            }
        }
    }
    let all_ok = if mode == Mode::Enable { 201 } else { 200 };
    Ok(json_response(
        status(ok, items.len(), all_ok),
        &json!({"watch": out}),
    ))
}

/// `POST /crm/v8/actions/watch`
pub async fn enable(Extension(caller): Extension<Caller>, body: Bytes) -> HttpResult<Response> {
    save(caller, body, Mode::Enable).await
}

/// `PUT /crm/v8/actions/watch`: the given channels are replaced as a whole.
pub async fn replace(Extension(caller): Extension<Caller>, body: Bytes) -> HttpResult<Response> {
    save(caller, body, Mode::Replace).await
}

/// `PATCH /crm/v8/actions/watch`: only what is given changes; with
/// `"_delete_events": true` the given events are removed.
pub async fn patch(Extension(caller): Extension<Caller>, body: Bytes) -> HttpResult<Response> {
    save(caller, body, Mode::Patch).await
}

/// `GET /crm/v8/actions/watch[?channel_id&module&page&per_page]`: one item
/// per channel and module; 204 when there is none.
pub async fn list(
    Extension(caller): Extension<Caller>,
    Query(q): Query<Params>,
) -> HttpResult<Response> {
    let page = int_param(&q, "page", 1, 10_000)?;
    let per_page = int_param(&q, "per_page", 200, 200)?;
    let module = match q.get("module").filter(|m| !m.is_empty()) {
        Some(m) => Some(
            caller
                .app
                .catalog
                .module(m)
                .map(|m| m.api_name.clone())
                .ok_or_else(|| ApiError::invalid_param("module"))?,
        ),
        None => None,
    };
    let channel = q.get("channel_id").filter(|c| !c.is_empty()).cloned();
    let all = caller
        .org
        .store
        .channels(channel, module, caller.app.now())
        .await?;
    let start = ((page - 1) * per_page) as usize;
    let items: Vec<Value> = all
        .iter()
        .skip(start)
        .take(per_page as usize)
        .map(|ch| {
            json!({
                "notify_on_related_action": ch.notify_on_related_action,
                "channel_expiry": format_datetime(ch.expiry, caller.org.tz),
                "resource_uri": resource_uri(&caller, &ch.module),
                "resource_id": module_id(&caller, &ch.module),
                "notify_url": ch.notify_url,
                "resource_name": ch.module,
                "fields": ch.fields,
                "channel_id": ch.channel_id,
                "events": ch.events.iter().map(|e| format!("{}.{e}", ch.module)).collect::<Vec<_>>(),
                "token": ch.token,
                "return_affected_field_values": ch.return_affected_field_values,
                "notification_condition": ch.notification_condition,
            })
        })
        .collect();
    if items.is_empty() {
        return Ok(axum::http::StatusCode::NO_CONTENT.into_response());
    }
    let count = items.len();
    Ok(json_response(
        200,
        &json!({
            "watch": items,
            "info": {
                "per_page": per_page,
                "count": count,
                "page": page,
                "more_records": start + count < all.len(),
            }
        }),
    ))
}

/// `DELETE /crm/v8/actions/watch?channel_ids=a,b`
pub async fn disable(
    Extension(caller): Extension<Caller>,
    Query(q): Query<Params>,
) -> HttpResult<Response> {
    let ids: Vec<String> = q
        .get("channel_ids")
        .map(|s| {
            s.split(',')
                .map(|x| x.trim().to_string())
                .filter(|x| !x.is_empty())
                .collect()
        })
        .unwrap_or_default();
    if ids.is_empty() {
        return Err(ApiError::param_missing("channel_ids").into());
    }
    if ids.len() > MAX_ITEMS {
        return Err(ApiError::new(Code::LimitExceeded)
            .detail("limit", MAX_ITEMS)
            .detail("param_name", "channel_ids")
            .into());
    }
    let found = caller
        .org
        .store
        .delete_channels(ids.clone(), caller.app.now())
        .await?;
    let ok = found.iter().filter(|f| **f).count();
    let out: Vec<Value> = ids
        .iter()
        .zip(&found)
        .map(|(id, f)| {
            if *f {
                Success::new(UNSUBSCRIBED)
                    .detail("channel_id", id.clone())
                    .to_value()
            } else {
                not_subscribed(id).to_json()
            }
        })
        .collect();
    Ok(json_response(
        status(ok, ids.len(), 200),
        &json!({"watch": out}),
    ))
}
