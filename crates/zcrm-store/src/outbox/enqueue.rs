//! Queuing a write's notifications in its own transaction: one event per
//! channel and operation, with the changed fields' values for channels that
//! ask for them.

use crate::db::{opt_int, opt_text, text, Conn};
use crate::rows::{read_row, select_list, table, Cell};
use crate::StoreError;
use serde_json::{json, Value};
use zcrm_core::meta::{Catalog, Module};
use zcrm_core::value::SqlValue;

/// The three kinds of change a channel can watch, as Zoho names them in
/// `events` (`create`/`edit`/`delete`) and in callbacks (`insert`/`update`/`delete`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Insert,
    Update,
    Delete,
}

impl Op {
    pub fn event(self) -> &'static str {
        match self {
            Op::Insert => "create",
            Op::Update => "edit",
            Op::Delete => "delete",
        }
    }
    pub fn operation(self) -> &'static str {
        match self {
            Op::Insert => "insert",
            Op::Update => "update",
            Op::Delete => "delete",
        }
    }
}

/// One changed record of a write.
#[derive(Debug, Clone)]
pub struct Change {
    pub op: Op,
    pub id: i64,
    /// API names of the fields the change set (updates only).
    pub fields: Vec<String>,
}

/// Values of the changed fields, per record id, as stored at commit time
/// (rendered in the org's zone and with user names when the event is sent).
pub type Values = std::collections::HashMap<String, Vec<(String, Cell)>>;

/// Reads the current (just written) values of each update's changed fields.
fn changed_values(
    c: &mut dyn Conn,
    prefix: &str,
    catalog: &Catalog,
    m: &Module,
    batch: &[&Change],
) -> Result<Values, StoreError> {
    let mut fields: Vec<usize> = batch
        .iter()
        .flat_map(|x| x.fields.iter())
        .filter_map(|n| m.field_index(n))
        .collect();
    fields.sort_unstable();
    fields.dedup();
    let mut out = Values::new();
    if fields.is_empty() {
        return Ok(out);
    }
    let select = select_list(prefix, catalog, m, &fields);
    for chunk in batch.chunks(500) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("?{i}")).collect();
        let ids: Vec<SqlValue> = chunk.iter().map(|x| x.id.into()).collect();
        let rows = c.rows(
            &format!(
                "SELECT {select} FROM {} t WHERE t.id IN ({})",
                table(prefix, m),
                marks.join(", ")
            ),
            &ids,
        )?;
        for r in rows {
            let row = read_row(catalog, m, &fields, r)?;
            let Some(change) = chunk.iter().find(|x| x.id == row.id) else {
                continue;
            };
            let cells = fields
                .iter()
                .zip(row.cells)
                .map(|(&i, cell)| (m.fields[i].api_name.clone(), cell))
                .filter(|(name, _)| change.fields.contains(name))
                .collect();
            out.insert(row.id.to_string(), cells);
        }
    }
    Ok(out)
}

/// Queues the notifications of one write (a change batch) in its transaction:
/// per channel watching the module, one event per operation listing every
/// record of the batch, as Zoho groups them. `related`: the change comes from a
/// related-list action (link/unlink), which channels may opt out of.
pub fn enqueue(
    c: &mut dyn Conn,
    prefix: &str,
    catalog: &Catalog,
    module: &str,
    changes: &[Change],
    now: i64,
    related: bool,
) -> Result<usize, StoreError> {
    if changes.is_empty() {
        return Ok(0);
    }
    let channels = c.rows(
        &format!(
            "SELECT channel_id, events, notify_url, token, notify_on_related, conditions, return_values FROM {prefix}watch_channels
             WHERE module = ?1 AND expiry > ?2"
        ),
        &[module.into(), now.into()],
    )?;
    let mut queued = 0;
    // Read once per write, shared by every channel that asks for values.
    let mut values: Option<Values> = None;
    for ch in channels {
        let events = text(&ch[1])?;
        if related && opt_int(&ch[4]) == Some(0) {
            continue;
        }
        for op in [Op::Insert, Op::Update, Op::Delete] {
            if !events.split(',').any(|e| e == op.event() || e == "all") {
                continue;
            }
            let watched = opt_text(&ch[5])
                .and_then(|s| serde_json::from_str::<Value>(&s).ok())
                .map(|c| selected_fields(&c, module))
                .unwrap_or_default();
            // With a field selection, an update notifies only when it touches a selected field.
            let batch: Vec<&Change> = changes
                .iter()
                .filter(|x| x.op == op)
                .filter(|x| {
                    op != Op::Update
                        || watched.is_empty()
                        || x.fields.iter().any(|f| watched.contains(f))
                })
                .collect();
            if batch.is_empty() {
                continue;
            }
            let ids: Vec<String> = batch.iter().map(|x| x.id.to_string()).collect();
            let affected: Vec<Value> = if op == Op::Update {
                batch
                    .iter()
                    .map(|x| json!({ x.id.to_string(): x.fields }))
                    .collect()
            } else {
                Vec::new()
            };
            let vals: SqlValue = match catalog.module(module) {
                Some(m) if op == Op::Update && opt_int(&ch[6]) == Some(1) => {
                    if values.is_none() {
                        let updates: Vec<&Change> =
                            changes.iter().filter(|x| x.op == Op::Update).collect();
                        values = Some(changed_values(c, prefix, catalog, m, &updates)?);
                    }
                    let all = values.as_ref().expect("just read");
                    let mine: Values = batch
                        .iter()
                        .filter_map(|x| {
                            let key = x.id.to_string();
                            all.get(&key).map(|v| (key, v.clone()))
                        })
                        .collect();
                    serde_json::to_string(&mine).ok().into()
                }
                _ => SqlValue::Null,
            };
            c.exec(
                &format!(
                    "INSERT INTO {prefix}outbox (channel_id, module, operation, ids, affected, notify_url, token,
                       server_time, status, attempts, next_at, vals)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'pending', 0, ?8, ?9)"
                ),
                &[
                    ch[0].clone(),
                    module.into(),
                    op.operation().into(),
                    Value::from(ids).to_string().into(),
                    Value::from(affected).to_string().into(),
                    ch[2].clone(),
                    ch[3].clone(),
                    now.into(),
                    vals,
                ],
            )?;
            queued += 1;
        }
    }
    Ok(queued)
}

/// The fields a channel's `notification_condition` selects for `module`
/// (`field_selection` with one `field` or a `group` of them, nested groups too).
pub fn selected_fields(conditions: &Value, module: &str) -> Vec<String> {
    fn walk(c: &Value, out: &mut Vec<String>) {
        if let Some(name) = c["field"]["api_name"].as_str() {
            out.push(name.to_string());
        }
        for g in c["group"].as_array().into_iter().flatten() {
            walk(g, out);
        }
    }
    let mut out = Vec::new();
    for cond in conditions.as_array().into_iter().flatten() {
        let m = cond["module"]["api_name"].as_str().unwrap_or(module);
        if m.eq_ignore_ascii_case(module) {
            walk(&cond["field_selection"], &mut out);
        }
    }
    out
}
