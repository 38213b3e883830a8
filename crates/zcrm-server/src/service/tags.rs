//! Tags of a module: names and colours checked here, then created, changed,
//! merged or put on records by the store in one transaction each (the store
//! refuses what needs the data to know: a name taken, an id not there).

use crate::auth::Caller;
use crate::error::refusal;
use std::sync::Arc;
use zcrm_core::meta::Module;
use zcrm_core::ApiError;
use zcrm_store::records::WriteCtx;
use zcrm_store::tags::{NewTag, TagChange, TagRef, TagRow, Tagging};
use zcrm_store::Refusal;

/// Zoho's tag colours.
pub const COLORS: &[&str] = &[
    "#57B1FD", "#879BFC", "#658BA8", "#FD87BD", "#969696", "#F48435", "#1DB9B4", "#E7A826",
    "#63C57E", "#F17574", "#D297EE", "#A8C026", "#B88562",
];
/// Zoho's longest tag name.
pub const MAX_NAME: usize = 25;

fn name_error(path: &str, name: &str) -> Option<Refusal> {
    let trimmed = name.trim();
    if trimmed.is_empty() {
        Some(Refusal::missing("name", format!("{path}.name")))
    } else if trimmed.chars().count() > MAX_NAME {
        Some(Refusal::TooLong {
            field: "name".into(),
            json_path: format!("{path}.name"),
            max: MAX_NAME,
        })
    } else {
        None
    }
}

fn color_error(path: &str, color: Option<&str>) -> Option<Refusal> {
    match color {
        Some(c) if !COLORS.contains(&c) => Some(Refusal::NotOneOf {
            field: "color_code".into(),
            json_path: format!("{path}.color_code"),
            allowed: COLORS.to_vec(),
        }),
        _ => None,
    }
}

pub fn ctx(caller: &Caller) -> WriteCtx {
    WriteCtx {
        now: caller.app.now(),
        user: caller.user_id,
        users: caller.org.user_ids(),
    }
}

/// Answers in request order: the items refused here, and the store's
/// answers for the others (`at` their places).
fn in_order<T>(
    refused: Vec<(usize, ApiError)>,
    at: Vec<usize>,
    done: Vec<Result<T, Refusal>>,
) -> Vec<Result<T, ApiError>> {
    let mut out: Vec<(usize, Result<T, ApiError>)> =
        refused.into_iter().map(|(i, e)| (i, Err(e))).collect();
    out.extend(
        at.into_iter()
            .zip(done)
            .map(|(i, r)| (i, r.map_err(refusal))),
    );
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, r)| r).collect()
}

/// Creates tags `(name, colour)`; one outcome per tag, in order.
pub async fn create(
    caller: &Caller,
    module: String,
    specs: Vec<(String, Option<String>)>,
) -> Result<Vec<Result<TagRow, ApiError>>, ApiError> {
    let mut refused = Vec::new();
    let mut valid = Vec::new();
    for (at, (name, color)) in specs.into_iter().enumerate() {
        let path = format!("$.tags[{at}]");
        match name_error(&path, &name).or_else(|| color_error(&path, color.as_deref())) {
            Some(e) => refused.push((at, refusal(e))),
            None => valid.push(NewTag { at, name, color }),
        }
    }
    let now = caller.app.now();
    let ids = valid.iter().map(|_| caller.app.ids.next(now)).collect();
    let at = valid.iter().map(|t| t.at).collect();
    let done = caller
        .org
        .store
        .create_tags(module, valid, ids, ctx(caller))
        .await
        .map_err(crate::error::store)?;
    Ok(in_order(refused, at, done))
}

/// Renames or recolours tags `(id, name, colour)`; records carrying them
/// follow. One outcome per change, in order.
pub async fn update(
    caller: &Caller,
    m: Arc<Module>,
    changes: Vec<(Option<i64>, Option<String>, Option<String>)>,
) -> Result<Vec<Result<TagRow, ApiError>>, ApiError> {
    let mut refused = Vec::new();
    let mut valid = Vec::new();
    for (at, (id, name, color)) in changes.into_iter().enumerate() {
        let path = format!("$.tags[{at}]");
        let bad = name
            .as_deref()
            .and_then(|n| name_error(&path, n))
            .or_else(|| color_error(&path, color.as_deref()));
        match bad {
            Some(e) => refused.push((at, refusal(e))),
            None => valid.push(TagChange {
                at,
                id,
                name,
                color,
            }),
        }
    }
    let at = valid.iter().map(|t| t.at).collect();
    let done = caller
        .org
        .store
        .update_tags(m, valid, ctx(caller))
        .await
        .map_err(crate::error::store)?;
    Ok(in_order(refused, at, done))
}

/// Deletes tag `id` (off every record), or merges it into `into`.
pub async fn delete_or_merge(
    caller: &Caller,
    id: i64,
    into: Option<i64>,
) -> Result<TagRow, ApiError> {
    let catalog = caller.org.store.catalog().clone();
    caller
        .org
        .store
        .delete_or_merge_tag(move |n| catalog.module(n).cloned(), id, into, ctx(caller))
        .await
        .map_err(crate::error::store)?
        .map_err(refusal)
}

/// Puts tags on records (creating names not seen before) or takes them
/// off; per record, its tags after.
pub async fn tag_records(
    caller: &Caller,
    m: Arc<Module>,
    tagging: Tagging,
) -> Result<Vec<Result<Vec<serde_json::Value>, ApiError>>, ApiError> {
    if tagging.add {
        for (i, t) in tagging.tags.iter().enumerate() {
            if let TagRef::Name(n) = t {
                if let Some(e) = name_error(&format!("$.tags[{i}]"), n) {
                    return Err(refusal(e));
                }
            }
        }
    }
    let done = caller
        .org
        .store
        .tag_records(m, tagging, ctx(caller))
        .await
        .map_err(crate::error::store)?
        .map_err(refusal)?;
    Ok(done.into_iter().map(|r| r.map_err(refusal)).collect())
}
