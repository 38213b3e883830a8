//! `POST /crm/v8/coql`: a COQL `select_query`, parsed and checked in zcrm-core,
//! run in the database by the store, rendered as Zoho does
//! (`{"data":[…],"info":{"count","more_records"}}`, 204 when nothing matches).

use super::users_org::no_content;
use crate::auth::Caller;
use crate::error::{raw_json_response, HttpResult};
use crate::wire::Body;
use axum::response::Response;
use axum::Extension;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::fmt::Write;
use zcrm_core::query::{coql, Aggregate, Column, Query, SelectExpr, Target, UserInfo};
use zcrm_core::scope::{Op, Scope};
use zcrm_core::value::{write_json, write_json_str, SqlValue};
use zcrm_core::{ApiError, Code};

/// The body of `POST /coql`.
#[derive(Deserialize)]
pub struct CoqlRequest {
    select_query: String,
    #[serde(default)]
    include_meta: Option<Vec<IncludeMeta>>,
}

#[derive(Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
enum IncludeMeta {
    Fields,
}

pub async fn query(
    Extension(caller): Extension<Caller>,
    budget: Option<Extension<crate::admission::Budget>>,
    Body(body): Body<CoqlRequest>,
) -> HttpResult<Response> {
    let include_fields = body
        .include_meta
        .is_some_and(|m| m.contains(&IncludeMeta::Fields));
    let q = coql::parse(caller.org.store.catalog(), &body.select_query)?;
    // Read on every module the query touches (Zoho's COQL page), and the fields
    // scope for `include_meta`.
    caller.require(&coql::modules_touched(&q), Op::Read)?;
    if include_fields
        && !caller
            .scopes
            .allows(&Scope::crm(&["settings", "fields"], Op::Read))
    {
        return Err(ApiError::new(Code::OauthScopeMismatch).into());
    }
    let users: Vec<UserInfo> = caller
        .org
        .users()
        .iter()
        .map(|u| UserInfo {
            id: u.id,
            first_name: u.first_name.clone(),
            last_name: u.last_name.clone(),
            email: u.email.clone(),
            status: u.status.clone(),
        })
        .collect();
    if let Some(Extension(b)) = &budget {
        b.charge(crate::admission::coql_credits(q.limit)).await?;
    }
    let (rows, more) = caller.org.store.query(&q, &users).await?;
    if rows.is_empty() {
        return Ok(no_content());
    }
    let data: Vec<String> = rows.iter().map(|r| render_row(&caller, &q, r)).collect();
    let mut rest = Map::new();
    if include_fields {
        rest.insert("fields".into(), fields_meta(&q));
    }
    rest.insert(
        "info".into(),
        json!({"count": rows.len(), "more_records": more}),
    );
    let body = crate::wire::record::data_body(&data, Some(&Value::Object(rest)));
    Ok(raw_json_response(200, body))
}

fn write_id(out: &mut String, v: &SqlValue) {
    match v {
        SqlValue::Int(i) => {
            let _ = write!(out, "\"{i}\"");
        }
        _ => out.push_str("null"),
    }
}

/// A column's value: lookups and users as `{"id"}` (COQL does not resolve
/// their names), ids as strings, the rest as the records API writes them.
fn write_column(out: &mut String, caller: &Caller, c: &Column, v: &SqlValue) {
    match &c.target {
        Target::Id => write_id(out, v),
        Target::User { .. } => match v {
            SqlValue::Text(s) => write_json_str(out, s),
            _ => out.push_str("null"),
        },
        Target::Field { module, index } => {
            let f = &module.fields[*index];
            if f.is_lookup() || f.is_user() {
                match v {
                    SqlValue::Int(i) => {
                        let _ = write!(out, "{{\"id\":\"{i}\"}}");
                    }
                    _ => out.push_str("null"),
                }
            } else {
                write_json(out, f, v, caller.org.tz)
            }
        }
    }
}

/// One result row as JSON text, keyed as selected, then `id` unless the
/// query aggregates.
fn render_row(caller: &Caller, q: &Query, row: &[SqlValue]) -> String {
    let mut out = String::from("{");
    let aggregate = q.is_aggregate();
    let values = if aggregate {
        row
    } else {
        &row[1.min(row.len())..]
    };
    for (item, v) in q.select.iter().zip(values) {
        write_json_str(&mut out, &item.key);
        out.push(':');
        match (&item.expr, v) {
            (SelectExpr::Column(c), _) => write_column(&mut out, caller, c, v),
            (SelectExpr::Aggregate(Aggregate::Count, _), SqlValue::Int(i)) => {
                let _ = write!(out, "{i}");
            }
            (SelectExpr::Aggregate(Aggregate::Count, _), _) => out.push('0'),
            (SelectExpr::Aggregate(Aggregate::Sum | Aggregate::Avg, _), SqlValue::Int(i)) => {
                let _ = write!(out, "{i}");
            }
            (SelectExpr::Aggregate(Aggregate::Sum | Aggregate::Avg, _), SqlValue::Real(f)) => {
                let _ = write!(out, "{}", Value::from(*f));
            }
            (SelectExpr::Aggregate(Aggregate::Sum | Aggregate::Avg, _), _) => out.push_str("null"),
            (SelectExpr::Aggregate(_, c), _) => write_column(&mut out, caller, c, v),
        }
        out.push(',');
    }
    if aggregate {
        out.pop();
        if out.is_empty() {
            out.push('{');
        }
    } else {
        out.push_str("\"id\":");
        match row.first() {
            Some(v) => write_id(&mut out, v),
            None => out.push_str("null"),
        }
    }
    out.push('}');
    out
}

/// `include_meta: ["fields"]`: the selected fields' metadata, by key.
fn fields_meta(q: &Query) -> Value {
    let mut out = Map::new();
    for item in &q.select {
        if let SelectExpr::Column(c) = &item.expr {
            if let Some(f) = c.field() {
                out.insert(
                    item.key.clone(),
                    json!({"api_name": f.api_name, "data_type": f.data_type.as_str(),
                           "json_type": f.data_type.json_type(), "field_label": f.field_label}),
                );
            }
        }
    }
    Value::Object(out)
}
