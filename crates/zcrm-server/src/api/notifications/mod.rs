//! `/crm/v8/actions/watch`: notification channels (enable, list, replace,
//! update, disable). Deliveries are the dispatcher's (`crate::notify`).

mod item;

use super::params::{batch_status, int_param, json_body, Params};
use crate::auth::Caller;
use crate::error::{json_response, HttpResult};
use crate::wire::body::decode_at;
use crate::wire::items;
use crate::wire::Success;
use axum::body::Bytes;
use axum::extract::{Extension, Query};
use axum::response::{IntoResponse, Response};
use item::WatchItem;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use zcrm_core::value::format_datetime;
use zcrm_core::{ApiError, Code};
use zcrm_store::outbox::Channel;

/// Watch items per request and channel ids per DELETE (D7 enable-notifications).
const MAX_ITEMS: usize = 50;

const SUBSCRIBED: &str = "Successfully subscribed for actions-watch of the given module";
const UPDATED: &str = "Successfully updated the subscribe details";
const REMOVED: &str = "Successfully removed the subscribe details";
const UNSUBSCRIBED: &str = "Successfully un-subscribed from actions-watch";

#[derive(Clone, Copy, PartialEq)]
pub(super) enum Mode {
    Enable,
    Replace,
    Patch,
}

pub(super) fn mandatory(i: usize, key: &str) -> ApiError {
    ApiError::new(Code::MandatoryNotFound)
        .detail("api_name", key)
        .detail("json_path", format!("$.watch[{i}].{key}"))
}

pub(super) fn invalid(i: usize, key: &str) -> ApiError {
    ApiError::new(Code::InvalidData)
        .detail("api_name", key)
        .detail("json_path", format!("$.watch[{i}].{key}"))
}

pub(super) fn not_subscribed(channel_id: &str) -> ApiError {
    ApiError::new(Code::NotSubscribed).detail("channel_id", channel_id)
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

/// The org's live channels split for the caller's client: those it may see
/// (its own, and any made before channels had owners) and the ids another
/// client holds.
struct Visible {
    mine: Vec<Channel>,
    taken: Vec<String>,
    org_ids: BTreeSet<String>,
}

async fn visible(caller: &Caller) -> Result<Visible, ApiError> {
    let all = caller
        .org
        .store
        .channels(None, None, caller.app.now())
        .await
        .map_err(crate::error::store)?;
    let org_ids = all.iter().map(|c| c.channel_id.clone()).collect();
    let (mine, others): (Vec<Channel>, Vec<Channel>) = all
        .into_iter()
        .partition(|c| c.owner.as_deref().is_none_or(|o| o == &*caller.client_id));
    let mut taken: Vec<String> = others.into_iter().map(|c| c.channel_id).collect();
    taken.dedup();
    Ok(Visible {
        mine,
        taken,
        org_ids,
    })
}

/// A new channel id must fit the client's and the org's caps.
fn within_caps(caller: &Caller, v: &Visible, id: &str) -> Result<(), ApiError> {
    let caps = caller.app.config.watch;
    let mine: BTreeSet<&str> = v.mine.iter().map(|c| c.channel_id.as_str()).collect();
    if mine.contains(id) {
        return Ok(());
    }
    let (limit, whose) = if mine.len() >= caps.channels_per_client {
        (caps.channels_per_client, "client")
    } else if v.org_ids.len() >= caps.channels_per_org {
        (caps.channels_per_org, "org")
    } else {
        return Ok(());
    };
    Err(ApiError::new(Code::LimitExceeded)
        .message(format!(
            "a {whose} may have at most {limit} notification channels"
        ))
        .detail("limit", limit)
        .detail("api_name", "channel_id"))
}

async fn save(caller: Caller, body: Bytes, mode: Mode) -> HttpResult<Response> {
    let body = json_body(&body)?;
    let items = items::list(&body, "watch", MAX_ITEMS, Code::InvalidData)?;
    let now = caller.app.now();
    let store = &caller.org.store;
    let mut seen = visible(&caller).await?;
    let mut out = Vec::with_capacity(items.len());
    let mut ok = 0;
    for (i, raw) in items.iter().enumerate() {
        let saved = decode_at::<WatchItem>(raw, &format!("$.watch[{i}]")).and_then(|item| {
            let taken: Vec<&str> = seen.taken.iter().map(String::as_str).collect();
            let (channels, removed) = item::channels(&caller, i, &item, mode, &seen.mine, &taken)?;
            if let Some(ch) = channels.first() {
                within_caps(&caller, &seen, &ch.channel_id)?;
            }
            Ok((channels, removed))
        });
        match saved {
            Err(e) => out.push(e.to_json()),
            Ok((channels, removed)) => {
                store
                    .save_channels(channels.clone(), mode == Mode::Replace, now)
                    .await?;
                seen = visible(&caller).await?;
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
        batch_status(ok, items.len(), all_ok),
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
    let all: Vec<Channel> = caller
        .org
        .store
        .channels(channel, module, caller.app.now())
        .await?
        .into_iter()
        .filter(|c| c.owner.as_deref().is_none_or(|o| o == &*caller.client_id))
        .collect();
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
    // Another client's channels answer as if they did not exist.
    let taken = visible(&caller).await?.taken;
    let own: Vec<String> = ids
        .iter()
        .filter(|id| !taken.contains(id))
        .cloned()
        .collect();
    let mut deleted = caller
        .org
        .store
        .delete_channels(own, caller.app.now())
        .await?
        .into_iter();
    let found: Vec<bool> = ids
        .iter()
        .map(|id| !taken.contains(id) && deleted.next().unwrap_or(false))
        .collect();
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
        batch_status(ok, ids.len(), 200),
        &json!({"watch": out}),
    ))
}
