//! One item of a watch body (`POST`/`PUT`/`PATCH /actions/watch`), decoded
//! into its typed form and checked into per-module channel subscriptions.

use super::{invalid, mandatory, not_subscribed, Mode};
use crate::auth::Caller;
use crate::outbound::check_url;
use crate::wire::fields::{datetime, given};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use zcrm_core::value::parse_datetime;
use zcrm_core::{ApiError, Code};
use zcrm_store::outbox::Channel;

/// Zoho's limits (D7 enable-notifications; OAS8n): events per item, token
/// and URL lengths, how far ahead a channel may expire and how long it
/// lives when no expiry is given.
const MAX_EVENTS: usize = 50;
const MAX_TOKEN: usize = 50;
const MAX_URL: usize = 255;
const MAX_CHANNEL_ID: usize = 64;
const MAX_EXPIRY_MS: i64 = 7 * 24 * 3600 * 1000;
const DEFAULT_EXPIRY_MS: i64 = 3600 * 1000;
const MAX_CONDITIONS: usize = 2;
const MAX_CONDITION_FIELDS: usize = 10;

/// One watch item as sent. `Option<Option<_>>` keeps "absent" (PATCH keeps
/// the channel's value) apart from `null` (cleared, or the default).
#[derive(Deserialize)]
pub struct WatchItem {
    #[serde(default)]
    channel_id: Option<ChannelId>,
    #[serde(default)]
    events: Option<Vec<String>>,
    #[serde(default)]
    notify_url: Option<String>,
    #[serde(default, deserialize_with = "given")]
    token: Option<Option<String>>,
    #[serde(default, deserialize_with = "datetime")]
    channel_expiry: Option<Option<String>>,
    #[serde(default)]
    notify_on_related_action: Option<bool>,
    #[serde(default)]
    return_affected_field_values: Option<bool>,
    #[serde(default, rename = "_delete_events")]
    delete_events: Option<bool>,
    /// Names the org's modules and fields: kept as sent, checked below.
    #[serde(default)]
    notification_condition: Option<Value>,
    #[serde(default)]
    fields: Option<Value>,
}

/// `channel_id`: docs say a long, the OAS a string ≤ 64; both are accepted
/// and kept as a string.
#[derive(Deserialize)]
#[serde(untagged)]
enum ChannelId {
    Number(u64),
    Text(String),
}

impl WatchItem {
    fn channel_id(&self, i: usize) -> Result<String, ApiError> {
        match &self.channel_id {
            None => Err(mandatory(i, "channel_id")),
            Some(ChannelId::Number(n)) => Ok(n.to_string()),
            Some(ChannelId::Text(s)) if !s.trim().is_empty() && s.len() <= MAX_CHANNEL_ID => {
                Ok(s.trim().to_string())
            }
            Some(ChannelId::Text(_)) => Err(invalid(i, "channel_id")),
        }
    }

    /// `events` grouped by module: `{Module}.{create|edit|delete|all}`.
    fn events(&self, caller: &Caller, i: usize) -> Result<BTreeMap<String, Vec<String>>, ApiError> {
        let list = match &self.events {
            None => return Err(mandatory(i, "events")),
            Some(a) if a.is_empty() => {
                return Err(invalid(i, "events").detail("expected_data_type", "jsonarray"))
            }
            Some(a) => a,
        };
        if list.len() > MAX_EVENTS {
            return Err(ApiError::new(Code::LimitExceeded)
                .detail("limit", MAX_EVENTS)
                .detail("api_name", "events")
                .detail("json_path", format!("$.watch[{i}].events")));
        }
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for e in list {
            let parsed = e.rsplit_once('.').and_then(|(m, op)| {
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
}

fn notify_url(caller: &Caller, i: usize, s: &str) -> Result<String, ApiError> {
    let s = s.trim();
    if s.is_empty() || s.len() > MAX_URL {
        return Err(invalid(i, "notify_url").detail("maximum_length", MAX_URL));
    }
    check_url(s, caller.app.allow_private_webhooks)
        .map_err(|why| invalid(i, "notify_url").message(why))?;
    Ok(s.to_string())
}

fn token(i: usize, v: Option<&String>) -> Result<Option<String>, ApiError> {
    match v {
        Some(s) if s.chars().count() > MAX_TOKEN => {
            Err(invalid(i, "token").detail("maximum_length", MAX_TOKEN))
        }
        other => Ok(other.cloned()),
    }
}

fn expiry(i: usize, v: Option<&String>, now: i64) -> Result<i64, ApiError> {
    let Some(s) = v else {
        return Ok(now + DEFAULT_EXPIRY_MS);
    };
    match parse_datetime(s) {
        Some(t) if t > now && t <= now + MAX_EXPIRY_MS => Ok(t),
        Some(_) => Err(invalid(i, "channel_expiry")
            .message("the channel expiry must be in the future and at most one week ahead")),
        None => Err(invalid(i, "channel_expiry").detail("expected_data_type", "datetime")),
    }
}

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

/// What a watch item sets for the whole channel, PATCH's gaps filled from
/// the channel as it is.
struct Settings {
    url: String,
    token: Option<String>,
    expiry: i64,
    on_related: bool,
    return_values: bool,
}

fn settings(
    caller: &Caller,
    i: usize,
    item: &WatchItem,
    mode: Mode,
    base: Option<&Channel>,
) -> Result<Settings, ApiError> {
    let now = caller.app.now();
    let patched = base.filter(|_| mode == Mode::Patch);
    let url = match (&item.notify_url, patched) {
        (Some(u), _) => notify_url(caller, i, u)?,
        (None, Some(b)) => b.notify_url.clone(),
        (None, None) => return Err(mandatory(i, "notify_url")),
    };
    let token = match (&item.token, patched) {
        (Some(t), _) => token(i, t.as_ref())?,
        (None, Some(b)) => b.token.clone(),
        (None, None) => None,
    };
    let expiry = match (&item.channel_expiry, patched) {
        (Some(e), _) => expiry(i, e.as_ref(), now)?,
        (None, Some(b)) => b.expiry,
        (None, None) => expiry(i, None, now)?,
    };
    Ok(Settings {
        url,
        token,
        expiry,
        on_related: item
            .notify_on_related_action
            .unwrap_or_else(|| patched.is_none_or(|b| b.notify_on_related_action)),
        return_values: item
            .return_affected_field_values
            .unwrap_or_else(|| patched.is_some_and(|b| b.return_affected_field_values)),
    })
}

/// One watch item as per-module subscriptions of the caller's client, and
/// whether it removed events. `mine`: the live channels this client may
/// see; `taken`: channel ids another client holds.
pub fn channels(
    caller: &Caller,
    i: usize,
    item: &WatchItem,
    mode: Mode,
    mine: &[Channel],
    taken: &[&str],
) -> Result<(Vec<Channel>, bool), ApiError> {
    let id = item.channel_id(i)?;
    let by_module = item.events(caller, i)?;
    let current: Vec<&Channel> = mine.iter().filter(|c| c.channel_id == id).collect();
    if taken.contains(&id.as_str()) {
        return Err(if mode == Mode::Patch {
            not_subscribed(&id)
        } else {
            ApiError::new(Code::DuplicateData)
                .message("another client's channel has this channel_id")
                .detail("api_name", "channel_id")
                .detail("json_path", format!("$.watch[{i}].channel_id"))
        });
    }
    if mode == Mode::Patch && current.is_empty() {
        return Err(not_subscribed(&id));
    }
    let delete_events = item.delete_events.unwrap_or(false);
    let s = settings(caller, i, item, mode, current.first().copied())?;
    if let Some(c) = &item.notification_condition {
        check_conditions(caller, i, c, &by_module)?;
    }
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
            notify_url: s.url.clone(),
            token: s.token.clone(),
            expiry: s.expiry,
            notify_on_related_action: s.on_related,
            return_affected_field_values: s.return_values,
            fields: item
                .fields
                .clone()
                .or_else(|| was.and_then(|w| w.fields.clone())),
            notification_condition: item
                .notification_condition
                .clone()
                .or_else(|| was.and_then(|w| w.notification_condition.clone())),
            owner: Some(caller.client_id.to_string()),
        });
    }
    if mode == Mode::Patch && !delete_events {
        // Settings apply to the whole channel: its other modules follow them.
        let named: Vec<String> = out.iter().map(|o| o.module.clone()).collect();
        for other in current.iter().filter(|c| !named.contains(&c.module)) {
            out.push(Channel {
                notify_url: s.url.clone(),
                token: s.token.clone(),
                expiry: s.expiry,
                notify_on_related_action: s.on_related,
                return_affected_field_values: s.return_values,
                owner: Some(caller.client_id.to_string()),
                ..(*other).clone()
            });
        }
    }
    values_readable(caller, i, &out)?;
    Ok((out, delete_events))
}

/// A delivery with `return_affected_field_values` carries the records'
/// values: the channel's maker must be able to read its module.
fn values_readable(caller: &Caller, i: usize, out: &[Channel]) -> Result<(), ApiError> {
    use zcrm_core::scope::{Op, Scope};
    for ch in out.iter().filter(|c| c.return_affected_field_values) {
        let Some(m) = caller.app.catalog.module(&ch.module) else {
            continue;
        };
        if !caller
            .scopes
            .allows(&Scope::crm(&["modules", &m.scope_name()], Op::Read))
        {
            return Err(ApiError::new(Code::OauthScopeMismatch)
                .message("return_affected_field_values needs the module's READ scope")
                .detail("api_name", "return_affected_field_values")
                .detail(
                    "json_path",
                    format!("$.watch[{i}].return_affected_field_values"),
                )
                .detail("module", ch.module.clone()));
        }
    }
    Ok(())
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
