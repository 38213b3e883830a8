//! `POST /crm/v8/coql`: a COQL `select_query`, parsed and checked in zcrm-core,
//! run in the database by the store, rendered as Zoho does
//! (`{"data":[…],"info":{"count","more_records"}}`, 204 when nothing matches).

use super::users_org::no_content;
use crate::auth::Caller;
use crate::error::{json_response, HttpResult};
use crate::wire::Body;
use axum::response::Response;
use axum::Extension;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use zcrm_core::query::{coql, Aggregate, Column, Query, SelectExpr, Target, UserInfo};
use zcrm_core::scope::{Op, Scope};
use zcrm_core::value::{render, SqlValue};
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
    let data: Vec<Value> = rows.iter().map(|r| render_row(&caller, &q, r)).collect();
    let mut out = Map::new();
    out.insert("data".into(), Value::Array(data));
    if include_fields {
        out.insert("fields".into(), fields_meta(&q));
    }
    out.insert(
        "info".into(),
        json!({"count": rows.len(), "more_records": more}),
    );
    Ok(json_response(200, &Value::Object(out)))
}

fn id_value(v: &SqlValue) -> Value {
    match v {
        SqlValue::Int(i) => Value::String(i.to_string()),
        _ => Value::Null,
    }
}

/// A column's value: lookups as `{"id"}`, ids as strings, the rest as the
/// records API renders them.
fn column_value(caller: &Caller, c: &Column, v: &SqlValue) -> Value {
    match &c.target {
        Target::Id => id_value(v),
        Target::User { .. } => match v {
            SqlValue::Text(s) => Value::String(s.clone()),
            _ => Value::Null,
        },
        Target::Field { module, index } => {
            let f = &module.fields[*index];
            if f.is_lookup() || f.is_user() {
                match v {
                    SqlValue::Int(i) => json!({"id": i.to_string()}),
                    _ => Value::Null,
                }
            } else {
                render(f, v, caller.org.tz)
            }
        }
    }
}

fn render_row(caller: &Caller, q: &Query, row: &[SqlValue]) -> Value {
    let mut out = Map::new();
    let aggregate = q.is_aggregate();
    let values = if aggregate {
        row
    } else {
        &row[1.min(row.len())..]
    };
    for (item, v) in q.select.iter().zip(values) {
        let value = match &item.expr {
            SelectExpr::Column(c) => column_value(caller, c, v),
            SelectExpr::Aggregate(Aggregate::Count, _) => match v {
                SqlValue::Int(i) => json!(i),
                _ => json!(0),
            },
            SelectExpr::Aggregate(Aggregate::Sum | Aggregate::Avg, _) => match v {
                SqlValue::Int(i) => json!(i),
                SqlValue::Real(f) => json!(f),
                _ => Value::Null,
            },
            SelectExpr::Aggregate(_, c) => column_value(caller, c, v),
        };
        out.insert(item.key.clone(), value);
    }
    if !aggregate {
        out.insert(
            "id".into(),
            row.first().map(id_value).unwrap_or(Value::Null),
        );
    }
    Value::Object(out)
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
