//! Watch channels: each channel's subscription to a module, as
//! `/crm/v8/actions/watch` enables, lists, replaces and disables them.

use crate::db::{int, opt_int, opt_text, text};
use crate::org::OrgStore;
use crate::StoreError;
use serde_json::Value;
use zcrm_core::value::SqlValue;

/// A channel's subscription to one module.
#[derive(Debug, Clone, PartialEq)]
pub struct Channel {
    pub channel_id: String,
    pub module: String,
    /// `create`, `edit`, `delete` or `all`, as subscribed.
    pub events: Vec<String>,
    pub notify_url: String,
    pub token: Option<String>,
    pub expiry: i64,
    pub notify_on_related_action: bool,
    pub return_affected_field_values: bool,
    pub fields: Option<Value>,
    pub notification_condition: Option<Value>,
    /// The client (`client_id`) that made the channel; only it sees and
    /// changes it. `None` for channels made before owners were kept.
    pub owner: Option<String>,
}

fn channel_from(r: &[SqlValue]) -> Result<Channel, StoreError> {
    let parse = |v: &SqlValue| opt_text(v).and_then(|s| serde_json::from_str(&s).ok());
    Ok(Channel {
        channel_id: text(&r[0])?,
        module: text(&r[1])?,
        events: text(&r[2])?
            .split(',')
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect(),
        notify_url: text(&r[3])?,
        token: opt_text(&r[4]),
        expiry: int(&r[5])?,
        notify_on_related_action: opt_int(&r[6]) != Some(0),
        return_affected_field_values: opt_int(&r[7]) == Some(1),
        fields: parse(&r[8]),
        notification_condition: parse(&r[9]),
        owner: opt_text(&r[10]),
    })
}

const CHANNEL_COLS: &str = "channel_id, module, events, notify_url, token, expiry, notify_on_related, return_values, fields, conditions, client_id";

impl OrgStore {
    /// Live (unexpired) subscriptions, optionally of one channel / module, ordered.
    pub async fn channels(
        &self,
        channel_id: Option<String>,
        module: Option<String>,
        now: i64,
    ) -> Result<Vec<Channel>, StoreError> {
        let sql = format!(
            "SELECT {CHANNEL_COLS} FROM {}watch_channels WHERE expiry > ?1
               AND (?2 = '' OR channel_id = ?2) AND (?3 = '' OR module = ?3)
             ORDER BY created_time, channel_id, module",
            self.prefix
        );
        let args = vec![
            SqlValue::Int(now),
            channel_id.unwrap_or_default().into(),
            module.unwrap_or_default().into(),
        ];
        self.db
            .read(move |c| {
                c.rows(&sql, &args)?
                    .iter()
                    .map(|r| channel_from(r))
                    .collect()
            })
            .await
    }

    /// Replaces the subscriptions of each given channel (`replace`: all its
    /// modules go first, as PUT does) or upserts per module (POST, PATCH).
    pub async fn save_channels(
        &self,
        list: Vec<Channel>,
        replace: bool,
        now: i64,
    ) -> Result<(), StoreError> {
        let p = self.prefix.clone();
        self.db
            .write(move |c| {
                if replace {
                    for ch in &list {
                        c.exec(
                            &format!("DELETE FROM {p}watch_channels WHERE channel_id = ?1"),
                            &[ch.channel_id.as_str().into()],
                        )?;
                    }
                }
                for ch in list {
                    c.exec(
                        &format!(
                            "DELETE FROM {p}watch_channels WHERE channel_id = ?1 AND module = ?2"
                        ),
                        &[ch.channel_id.as_str().into(), ch.module.as_str().into()],
                    )?;
                    if ch.events.is_empty() {
                        continue;
                    }
                    c.exec(
                        &format!(
                            "INSERT INTO {p}watch_channels ({CHANNEL_COLS}, created_time)
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
                        ),
                        &[
                            ch.channel_id.into(),
                            ch.module.into(),
                            ch.events.join(",").into(),
                            ch.notify_url.into(),
                            ch.token.into(),
                            ch.expiry.into(),
                            ch.notify_on_related_action.into(),
                            ch.return_affected_field_values.into(),
                            ch.fields.map(|v| v.to_string()).into(),
                            ch.notification_condition.map(|v| v.to_string()).into(),
                            ch.owner.into(),
                            now.into(),
                        ],
                    )?;
                }
                Ok(())
            })
            .await
    }

    /// Removes channels; per id, whether it existed (and had not expired).
    pub async fn delete_channels(
        &self,
        ids: Vec<String>,
        now: i64,
    ) -> Result<Vec<bool>, StoreError> {
        let p = self.prefix.clone();
        self.db
            .write(move |c| {
                let mut out = Vec::with_capacity(ids.len());
                for id in ids {
                    let live = c
                        .row(
                            &format!("SELECT 1 FROM {p}watch_channels WHERE channel_id = ?1 AND expiry > ?2"),
                            &[id.as_str().into(), now.into()],
                        )?
                        .is_some();
                    c.exec(
                        &format!("DELETE FROM {p}watch_channels WHERE channel_id = ?1"),
                        &[id.as_str().into()],
                    )?;
                    out.push(live);
                }
                Ok(out)
            })
            .await
    }
}
