//! One stored record as Zoho's record JSON: what `GET /{module}`, one
//! record, search, related lists and notification payloads answer.

use crate::state::OrgCtx;
use serde_json::Value;
use std::fmt::Write;
use zcrm_core::meta::{DataType, Module};
use zcrm_core::value::{write_json, write_json_str};
use zcrm_store::records::Row;

/// Appends a user lookup: `{"name","id"}`, with `email` for Owner as Zoho does.
fn write_user(out: &mut String, org: &OrgCtx, id: i64, with_email: bool) {
    let found = org.with_user(id, |u| {
        out.push_str("{\"name\":");
        write_json_str(out, &u.full_name());
        let _ = write!(out, ",\"id\":\"{}\"", u.id);
        if with_email {
            out.push_str(",\"email\":");
            write_json_str(out, &u.email);
        }
        out.push('}');
    });
    if found.is_none() {
        let _ = write!(out, "{{\"name\":null,\"id\":\"{id}\"}}");
    }
}

/// Record-level keys of a whole record that zcrm does not model yet, as Zoho
/// renders them for a record outside any approval, review or merge.
const FULL_RECORD_META: &str = r#""$approved":true,"$approval_state":"approved","$editable":true,"$state":"save","$process_flow":false,"$review_process":{"approve":false,"reject":false,"resubmit":false},"$review":null,"$in_merge":false,"$locked_for_me":false,"$is_duplicate":false,"$approval":{"delegate":false,"takeover":false,"approve":false,"reject":false,"resubmit":false},"$followed":false"#;

/// A stored row as Zoho's record JSON text, with `fields` (indices into the
/// module's fields). Written directly: building `serde_json::Value`s was most
/// of the cost of a record GET.
pub fn render_row(org: &OrgCtx, m: &Module, fields: &[usize], row: &Row, full: bool) -> String {
    let catalog = org.store.catalog();
    let tz = org.tz;
    let mut out = String::with_capacity(64 + fields.len() * 24);
    let mut se_module: Option<&str> = None;
    out.push('{');
    for (&i, cell) in fields.iter().zip(&row.cells) {
        let f = &m.fields[i];
        write_json_str(&mut out, &f.api_name);
        out.push(':');
        if f.is_user() {
            match cell.value.as_i64() {
                Some(id) => write_user(&mut out, org, id, f.api_name == "Owner"),
                None => out.push_str("null"),
            }
        } else if f.is_lookup() {
            match cell.value.as_i64() {
                Some(id) => {
                    out.push_str("{\"name\":");
                    match &cell.name {
                        Some(n) => write_json_str(&mut out, n),
                        None => out.push_str("null"),
                    }
                    let _ = write!(out, ",\"id\":\"{id}\"");
                    if let Some(target) = cell.module.as_deref().and_then(|n| catalog.module(n)) {
                        let _ = write!(
                            out,
                            ",\"module\":{{\"api_name\":\"{}\",\"id\":\"{}\"}}",
                            target.api_name, target.id
                        );
                        if m.se_module_applies(f) {
                            se_module = Some(&target.api_name);
                        }
                    }
                    out.push('}');
                }
                None => out.push_str("null"),
            }
        } else if f.data_type == DataType::Multiselectpicklist && f.api_name == "Tag" {
            out.push_str(&Value::Array(zcrm_store::tags::parse_tags(&cell.value)).to_string());
        } else {
            write_json(&mut out, f, &cell.value, tz);
        }
        out.push(',');
    }
    if let Some(se) = se_module {
        out.push_str("\"$se_module\":");
        write_json_str(&mut out, se);
        out.push(',');
    }
    if full {
        out.push_str(FULL_RECORD_META);
        out.push_str(",\"$currency_symbol\":");
        write_json_str(&mut out, &org.org.currency_symbol);
        if m.api_name == "Leads" {
            let converted = fields.iter().zip(&row.cells).any(|(&i, c)| {
                m.fields[i].api_name == "Converted__s" && c.value.as_i64() == Some(1)
            });
            let _ = write!(out, ",\"$converted\":{converted}");
        }
        out.push(',');
    }
    let _ = write!(out, "\"id\":\"{}\"}}", row.id);
    out
}

/// `{"data":[…rows…]` + the rest, from pre-rendered record texts.
pub fn data_body(rows: &[String], rest: Option<&Value>) -> String {
    let mut out = String::with_capacity(rows.iter().map(|r| r.len() + 1).sum::<usize>() + 256);
    out.push_str("{\"data\":[");
    out.push_str(&rows.join(","));
    out.push(']');
    if let Some(Value::Object(m)) = rest {
        for (k, v) in m {
            out.push(',');
            write_json_str(&mut out, k);
            out.push(':');
            out.push_str(&v.to_string());
        }
    }
    out.push('}');
    out
}
