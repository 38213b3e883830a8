//! Writing records: the use cases behind create, update, upsert and clone
//! (and a record's notes), free of HTTP. Rows come checked by
//! `service::records`; the store writes them in one transaction with their
//! notification events.

use crate::auth::Caller;
use serde_json::Value;
use std::sync::Arc;
use zcrm_core::meta::{DataType, Module};
use zcrm_core::value::Checked;
use zcrm_core::{ApiError, Code};
use zcrm_store::records::{Row, Saved, WriteCtx, WriteRow};

/// Saves rows (new ones get fresh ids) as the caller; per-row outcomes in
/// input order, a row's own error passed through.
pub async fn save(
    caller: &Caller,
    m: &Arc<Module>,
    rows: Vec<Result<WriteRow, ApiError>>,
) -> Result<Vec<Result<Saved, ApiError>>, ApiError> {
    let now = caller.app.now();
    let new_ids: Vec<i64> = rows.iter().map(|_| caller.app.ids.next(now)).collect();
    let ctx = WriteCtx {
        now,
        user: caller.user_id,
        users: caller.org.user_ids(),
    };
    let results = caller
        .org
        .store
        .write(m.clone(), rows, ctx, new_ids)
        .await
        .map_err(crate::error::store)?;
    Ok(results
        .into_iter()
        .map(|r| r.map_err(crate::error::rejected))
        .collect())
}

/// The fields an upsert matches existing records on, in order: the module's
/// duplicate-check field, then its unique fields; or the ones
/// `duplicate_check_fields` names, then the unique fields it left out.
pub fn upsert_order(m: &Module, named: Option<&Value>) -> Result<Vec<usize>, ApiError> {
    let allowed: Vec<usize> = m
        .fields
        .iter()
        .enumerate()
        .filter(|(_, f)| {
            f.unique || m.duplicate_check_field.as_deref() == Some(f.api_name.as_str())
        })
        .map(|(i, _)| i)
        .collect();
    match named {
        None | Some(Value::Null) => {
            let mut order = allowed.clone();
            order.sort_by_key(|&i| {
                m.duplicate_check_field.as_deref() != Some(m.fields[i].api_name.as_str())
            });
            Ok(order)
        }
        Some(Value::Array(names)) => {
            let mut out = Vec::new();
            for (k, n) in names.iter().enumerate() {
                let idx = n
                    .as_str()
                    .and_then(|n| {
                        m.fields
                            .iter()
                            .position(|f| f.api_name.eq_ignore_ascii_case(n))
                    })
                    .filter(|i| allowed.contains(i))
                    .ok_or_else(|| {
                        ApiError::new(Code::InvalidData)
                            .detail("api_name", "duplicate_check_fields")
                            .detail("json_path", format!("$.duplicate_check_fields[{k}]"))
                    })?;
                out.push(idx);
            }
            let rest: Vec<usize> = allowed
                .iter()
                .filter(|i| m.fields[**i].unique && !out.contains(i))
                .copied()
                .collect();
            out.extend(rest);
            Ok(out)
        }
        Some(_) => Err(ApiError::new(Code::InvalidData)
            .detail("api_name", "duplicate_check_fields")
            .detail("json_path", "$.duplicate_check_fields")
            .detail("expected_data_type", "jsonarray")),
    }
}

/// The values a clone of `row` starts with: every value a user gave, without
/// system fields, conversion state or auto-numbers.
pub fn clone_values(m: &Module, row: &Row) -> Vec<(usize, Checked)> {
    m.fields
        .iter()
        .zip(&row.cells)
        .enumerate()
        .filter(|(_, (f, c))| {
            !f.system
                && !c.value.is_null()
                && !matches!(f.api_name.as_str(), "Converted__s" | "Converted_Date_Time")
                && f.data_type != DataType::Autonumber
        })
        .map(|(i, (_, c))| {
            (
                i,
                Checked {
                    value: c.value.clone(),
                    lookup_module: c.module.clone(),
                },
            )
        })
        .collect()
}
