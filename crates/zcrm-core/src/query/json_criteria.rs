//! Zoho's JSON criteria, as bulk read (`query.criteria`) and mass update
//! (`criteria`) take them: a condition `{field, comparator, value}` (`field`
//! an object with `api_name`, or a name; `api_name` also accepted), a
//! `{group_operator, group: [...]}` (`and` when the operator is left out),
//! or, at the top, a list of them that must all hold. Compiled to the query
//! AST that search and COQL also compile to. One implementation, one set of
//! errors: Zoho's bulk read criteria codes.

use crate::error::{ApiError, Code};
use crate::meta::{Catalog, Module};
use crate::query::{self, CmpOp, Column, Filter, Kind, Pattern};
use crate::value::SqlValue;
use serde_json::{json, Value};
use std::sync::Arc;

/// Most conditions in one group, and groups nested in each other.
const MAX_GROUP: usize = 25;
const MAX_DEPTH: usize = 5;

/// The filter a JSON criteria selects.
pub fn parse(catalog: &Catalog, m: &Arc<Module>, v: &Value) -> Result<Filter, ApiError> {
    match v {
        Value::Array(items) => group(catalog, m, items, "and", 0),
        _ => node(catalog, m, v, 0),
    }
}

fn group(
    catalog: &Catalog,
    m: &Arc<Module>,
    items: &[Value],
    op: &str,
    depth: usize,
) -> Result<Filter, ApiError> {
    if items.is_empty() {
        return Err(ApiError::new(Code::InvalidCriteria).message("group must be a non-empty array"));
    }
    if items.len() > MAX_GROUP {
        return Err(ApiError::new(Code::CriteriaLimitExceeded).detail("limit", MAX_GROUP));
    }
    let parts = items
        .iter()
        .map(|i| node(catalog, m, i, depth + 1))
        .collect::<Result<Vec<_>, _>>()?;
    match op.to_ascii_lowercase().as_str() {
        "and" => Ok(Filter::And(parts)),
        "or" => Ok(Filter::Or(parts)),
        _ => Err(ApiError::new(Code::GroupOperatorNotSupported)
            .detail("group_operator", op)
            .message("group_operator must be and or or")),
    }
}

/// One condition or group.
fn node(catalog: &Catalog, m: &Arc<Module>, v: &Value, depth: usize) -> Result<Filter, ApiError> {
    let bad = |why: &str| ApiError::new(Code::InvalidCriteria).message(why);
    if depth > MAX_DEPTH {
        return Err(bad("criteria nest too deep"));
    }
    let o = v
        .as_object()
        .ok_or_else(|| bad("criteria must be an object"))?;
    if let Some(g) = o.get("group") {
        let op = match o.get("group_operator") {
            None | Some(Value::Null) => "and",
            Some(x) => x.as_str().unwrap_or(""),
        };
        let items = g
            .as_array()
            .ok_or_else(|| bad("group must be a non-empty array"))?;
        return group(catalog, m, items, op, depth);
    }
    let name = match o.get("field") {
        Some(Value::Object(f)) => f.get("api_name").and_then(|x| x.as_str()),
        Some(Value::String(s)) => Some(s.as_str()),
        _ => o.get("api_name").and_then(|x| x.as_str()),
    }
    .ok_or_else(|| bad("a criteria item needs a field"))?;
    let path: Vec<&str> = name.split('.').collect();
    let col = query::resolve(catalog, m, &path).map_err(|_| {
        ApiError::new(Code::InvalidCriteria)
            .detail("api_name", name)
            .message("the field in the criteria is not available")
    })?;
    let comparator = o
        .get("comparator")
        .and_then(|x| x.as_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let supported = comparators(col.kind());
    if !supported.contains(&comparator.as_str()) {
        return Err(ApiError::new(Code::FieldComparatorInCriteriaNotSupported)
            .detail("comparator", comparator.as_str())
            .detail("api_name", col.name.as_str())
            .detail("supported", json!(supported)));
    }
    let value = o.get("value").cloned().unwrap_or(Value::Null);
    condition(col, &comparator, &value)
}

/// The comparators a field of this kind takes, as Zoho lists them.
fn comparators(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Text => &[
            "equal",
            "not_equal",
            "in",
            "not_in",
            "contains",
            "not_contains",
            "starts_with",
            "ends_with",
        ],
        Kind::Number | Kind::Integer => &[
            "equal",
            "not_equal",
            "in",
            "not_in",
            "less_than",
            "less_equal",
            "greater_than",
            "greater_equal",
        ],
        Kind::Date | Kind::DateTime => &[
            "equal",
            "not_equal",
            "in",
            "not_in",
            "less_than",
            "less_equal",
            "greater_than",
            "greater_equal",
            "between",
            "not_between",
        ],
        Kind::Boolean => &["equal", "not_equal"],
        Kind::Id => &["equal", "not_equal", "in", "not_in"],
        Kind::Json => &["equal", "not_equal"],
    }
}

/// A value's text: a string, number or boolean, or a record's `{"id": …}`.
fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Object(o) => o.get("id").and_then(|x| match x {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }),
        _ => None,
    }
}

/// The condition `col` `comparator` `value`, the comparator already
/// supported for the column's type.
fn condition(col: Column, comparator: &str, value: &Value) -> Result<Filter, ApiError> {
    let incompatible = || {
        ApiError::new(Code::ComparatorAndValueInCriteriaNotCompatible)
            .detail("comparator", comparator)
            .detail("api_name", col.name.as_str())
    };
    let typed = |v: &Value| -> Result<SqlValue, ApiError> {
        let s = text(v).ok_or_else(incompatible)?;
        query::typed_value(&col, &s).map_err(|_| incompatible())
    };
    // `${EMPTY}` tests emptiness.
    if value.as_str() == Some("${EMPTY}") {
        return match comparator {
            "equal" => Ok(Filter::Null {
                col,
                negated: false,
            }),
            "not_equal" => Ok(Filter::Null { col, negated: true }),
            _ => Err(incompatible()),
        };
    }
    if col.kind() == Kind::Json {
        return Err(incompatible());
    }
    Ok(match comparator {
        "equal" | "not_equal" | "less_than" | "less_equal" | "greater_than" | "greater_equal" => {
            let op = match comparator {
                "equal" => CmpOp::Eq,
                "not_equal" => CmpOp::Ne,
                "less_than" => CmpOp::Lt,
                "less_equal" => CmpOp::Le,
                "greater_than" => CmpOp::Gt,
                _ => CmpOp::Ge,
            };
            let value = typed(value)?;
            Filter::Cmp { col, op, value }
        }
        "in" | "not_in" => {
            let items = value.as_array().ok_or_else(incompatible)?;
            if items.is_empty() || items.len() > 100 {
                return Err(incompatible());
            }
            let values = items.iter().map(typed).collect::<Result<Vec<_>, _>>()?;
            Filter::In {
                col,
                values,
                negated: comparator == "not_in",
            }
        }
        "between" | "not_between" => {
            let items = value
                .as_array()
                .filter(|a| a.len() == 2)
                .ok_or_else(incompatible)?;
            Filter::Between {
                low: typed(&items[0])?,
                high: typed(&items[1])?,
                col,
                negated: comparator == "not_between",
            }
        }
        _ => {
            let s = text(value)
                .filter(|s| !s.is_empty() && s.chars().count() <= 255)
                .ok_or_else(incompatible)?;
            let (pattern, negated) = match comparator {
                "starts_with" => (Pattern::StartsWith(s), false),
                "ends_with" => (Pattern::EndsWith(s), false),
                "contains" => (Pattern::Contains(s), false),
                _ => (Pattern::Contains(s), true),
            };
            Filter::Like {
                col,
                pattern,
                negated,
            }
        }
    })
}
