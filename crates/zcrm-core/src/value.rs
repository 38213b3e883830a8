//! Field values: checking what a client sends against the field's type (Zoho's
//! per-record `INVALID_DATA` rules) and rendering stored values back to Zoho's JSON.

use crate::error::{ApiError, Code};
use crate::ids::parse_id;
use crate::meta::{DataType, Field, Storage};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use serde_json::Value;

/// A value as kept in a typed column.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum SqlValue {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
}

impl SqlValue {
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            SqlValue::Int(i) => Some(*i),
            _ => None,
        }
    }
    pub fn as_str(&self) -> Option<&str> {
        match self {
            SqlValue::Text(s) => Some(s),
            _ => None,
        }
    }
    pub fn is_null(&self) -> bool {
        matches!(self, SqlValue::Null)
    }
}

/// A checked field value ready to store. Lookups still need an existence check
/// against the database, which the store does in the same transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    pub value: SqlValue,
    /// For multi-module lookups: the module named by the client, if any.
    pub lookup_module: Option<String>,
}

fn invalid(field: &Field, path: &str) -> ApiError {
    ApiError::new(Code::InvalidData)
        .detail("api_name", field.api_name.as_str())
        .detail("json_path", path)
}

fn wrong_type(field: &Field, path: &str) -> ApiError {
    invalid(field, path).detail("expected_data_type", field.data_type.as_str())
}

fn too_long(field: &Field, path: &str) -> ApiError {
    invalid(field, path).detail("maximum_length", field.length)
}

fn check_len(field: &Field, path: &str, s: &str) -> Result<(), ApiError> {
    if s.chars().count() > field.length as usize {
        Err(too_long(field, path))
    } else {
        Ok(())
    }
}

fn valid_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && !s.chars().any(|c| c.is_whitespace() || c == ',' || c == ';')
}

fn valid_phone(s: &str) -> bool {
    s.chars().any(|c| c.is_ascii_digit())
        && s.chars()
            .all(|c| c.is_ascii_digit() || " +-().x/#*".contains(c) || c == 'X')
}

fn valid_website(s: &str) -> bool {
    !s.is_empty()
        && s.contains('.')
        && !s
            .chars()
            .any(|c| c.is_whitespace() || c == '"' || c == '<' || c == '>')
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
        _ => None,
    }
}

fn integer(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    }
}

fn digits(n: i64) -> u32 {
    n.unsigned_abs().checked_ilog10().map_or(1, |d| d + 1)
}

/// Parses a Zoho date-time (ISO 8601 with an offset) to epoch milliseconds.
pub fn parse_datetime(s: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(s.trim())
        .ok()
        .map(|d| d.timestamp_millis())
}

pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    if s.len() != 10 {
        return None;
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

/// Checks one client value for `field`; `path` is its JSON path for error details.
pub fn check(field: &Field, v: &Value, path: &str) -> Result<Checked, ApiError> {
    let plain = |value| {
        Ok(Checked {
            value,
            lookup_module: None,
        })
    };
    if v.is_null() {
        return plain(SqlValue::Null);
    }
    use DataType::*;
    match field.data_type {
        Text | Textarea | Autonumber | Other | Formula | Email | Phone | Website => {
            plain(text_value(field, v, path)?)
        }
        Integer | Bigint | Double | Percent | Currency | Decimal => {
            plain(number_value(field, v, path)?)
        }
        Boolean => match v {
            Value::Bool(b) => plain(SqlValue::Int(*b as i64)),
            _ => Err(wrong_type(field, path)),
        },
        Date => {
            let s = v.as_str().ok_or_else(|| wrong_type(field, path))?;
            let d = parse_date(s).ok_or_else(|| wrong_type(field, path))?;
            plain(SqlValue::Text(d.format("%Y-%m-%d").to_string()))
        }
        Datetime => {
            let s = v.as_str().ok_or_else(|| wrong_type(field, path))?;
            let ms = parse_datetime(s).ok_or_else(|| wrong_type(field, path))?;
            plain(SqlValue::Int(ms))
        }
        Picklist | Multiselectpicklist => plain(pick_value(field, v, path)?),
        Lookup | Ownerlookup | Userlookup => lookup_value(field, v, path),
        Subform | Fileupload | Imageupload | Profileimage => {
            if !v.is_array() && field.data_type != Profileimage {
                return Err(wrong_type(field, path));
            }
            plain(SqlValue::Text(v.to_string()))
        }
    }
}

/// Text, email, phone and website values: within the field's length, and
/// well formed when not empty.
fn text_value(field: &Field, v: &Value, path: &str) -> Result<SqlValue, ApiError> {
    use DataType::*;
    let s = match (field.data_type, v) {
        (_, Value::String(s)) => s.clone(),
        (Email | Website, _) => return Err(wrong_type(field, path)),
        (_, Value::Number(n)) => n.to_string(),
        _ => return Err(wrong_type(field, path)),
    };
    check_len(field, path, &s)?;
    let valid = match field.data_type {
        Email => valid_email(&s),
        Phone => valid_phone(&s),
        Website => valid_website(&s),
        _ => true,
    };
    if !s.is_empty() && !valid {
        return Err(wrong_type(field, path));
    }
    Ok(SqlValue::Text(s))
}

/// Integers within the field's digits (and 32 bits for `integer`); decimals
/// within its digits, rounded to its decimal places.
fn number_value(field: &Field, v: &Value, path: &str) -> Result<SqlValue, ApiError> {
    match field.data_type {
        DataType::Integer | DataType::Bigint => {
            let n = integer(v).ok_or_else(|| wrong_type(field, path))?;
            let small = field.data_type == DataType::Integer;
            if digits(n) > field.length.max(1) || (small && n.abs() > i32::MAX as i64) {
                return Err(too_long(field, path));
            }
            Ok(SqlValue::Int(n))
        }
        _ => {
            let f = number(v).ok_or_else(|| wrong_type(field, path))?;
            if f.abs() >= 10f64.powi(field.length.clamp(1, 18) as i32) {
                return Err(too_long(field, path));
            }
            let f = match field.decimal_place {
                Some(p) if p <= 9 => {
                    let m = 10f64.powi(p as i32);
                    (f * m).round() / m
                }
                _ => f,
            };
            Ok(SqlValue::Real(f))
        }
    }
}

/// A pick list value (or a list of them), one of the field's when it has any.
fn pick_value(field: &Field, v: &Value, path: &str) -> Result<SqlValue, ApiError> {
    let pick = |s: &str| {
        if !field.pick_list_values.is_empty() && !field.picklist_has(s) {
            return Err(invalid_pick(field, path));
        }
        Ok(s.to_string())
    };
    if field.data_type == DataType::Picklist {
        let s = v.as_str().ok_or_else(|| wrong_type(field, path))?;
        return Ok(SqlValue::Text(pick(s)?));
    }
    let arr = v.as_array().ok_or_else(|| wrong_type(field, path))?;
    let mut out = Vec::with_capacity(arr.len());
    for item in arr {
        let s = item.as_str().ok_or_else(|| wrong_type(field, path))?;
        out.push(Value::String(pick(s)?));
    }
    Ok(SqlValue::Text(Value::Array(out).to_string()))
}

/// A lookup: an id, or `{"id": …, "module": {"api_name": …}}`.
fn lookup_value(field: &Field, v: &Value, path: &str) -> Result<Checked, ApiError> {
    let (id, module) = match v {
        Value::Object(o) => (
            o.get("id").and_then(parse_id),
            o.get("module")
                .and_then(|m| m.get("api_name"))
                .and_then(|n| n.as_str())
                .map(str::to_string),
        ),
        other => (parse_id(other), None),
    };
    let id = id.ok_or_else(|| wrong_type(field, path))?;
    Ok(Checked {
        value: SqlValue::Int(id),
        lookup_module: module,
    })
}

fn invalid_pick(field: &Field, path: &str) -> ApiError {
    let supported: Vec<Value> = field
        .pick_list_values
        .iter()
        .map(|p| Value::String(p.actual_value.clone()))
        .collect();
    invalid(field, path)
        .detail("expected_data_type", field.data_type.as_str())
        .detail("supported_values", Value::Array(supported))
}

/// Formats an instant in the org's time zone, as Zoho does: `2026-11-24T10:15:00+05:30`.
pub fn format_datetime(ms: i64, tz: chrono_tz::Tz) -> String {
    use chrono::{Datelike, Offset, Timelike};
    let Some(t) = Utc.timestamp_millis_opt(ms).single() else {
        return String::new();
    };
    let t = t.with_timezone(&tz);
    let off = t.offset().fix().local_minus_utc();
    let (sign, off) = if off < 0 { ('-', -off) } else { ('+', off) };
    // Written out by hand: strftime parsing showed up in the GET profile.
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{sign}{:02}:{:02}",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        off / 3600,
        off % 3600 / 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes_render_in_the_org_zone() {
        let ms = parse_datetime("2026-11-24T10:15:00+05:30").unwrap();
        assert_eq!(
            format_datetime(ms, chrono_tz::Asia::Kolkata),
            "2026-11-24T10:15:00+05:30"
        );
        assert_eq!(
            format_datetime(ms, chrono_tz::UTC),
            "2026-11-24T04:45:00+00:00"
        );
        assert_eq!(
            format_datetime(ms, chrono_tz::America::Los_Angeles),
            "2026-11-23T20:45:00-08:00"
        );
        assert_eq!(
            format_datetime(ms, chrono_tz::America::St_Johns),
            "2026-11-24T01:15:00-03:30"
        );
    }
}

/// Appends `s` as a JSON string literal. Runs of plain characters are copied
/// whole: this sits on the hot path of every record GET.
pub fn write_json_str(out: &mut String, s: &str) {
    out.reserve(s.len() + 2);
    out.push('"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &str = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        // Escapes are ASCII, so `i` is always a char boundary here.
        out.push_str(&s[start..i]);
        if esc.is_empty() {
            use std::fmt::Write;
            let _ = write!(out, "\\u{:04x}", b);
        } else {
            out.push_str(esc);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// Appends a stored value as Zoho's JSON, without building a `serde_json::Value`
/// (record rendering dominated the GET profile when it did). Lookups and users
/// are rendered by the caller, which knows their names.
pub fn write_json(out: &mut String, field: &Field, v: &SqlValue, tz: chrono_tz::Tz) {
    use std::fmt::Write;
    use DataType::*;
    match (field.data_type, v) {
        (Multiselectpicklist, SqlValue::Null) => out.push_str("[]"),
        (Boolean, SqlValue::Null) => out.push_str("false"),
        (_, SqlValue::Null) => out.push_str("null"),
        (Datetime, SqlValue::Int(ms)) => write_json_str(out, &format_datetime(*ms, tz)),
        (Boolean, SqlValue::Int(i)) => out.push_str(if *i != 0 { "true" } else { "false" }),
        (Bigint, SqlValue::Int(i)) => {
            let _ = write!(out, "\"{i}\"");
        }
        (Double | Percent | Currency | Decimal, SqlValue::Int(i)) => {
            let _ = write!(out, "{}", Value::from(*i as f64));
        }
        (_, SqlValue::Int(i)) => {
            let _ = write!(out, "{i}");
        }
        (_, SqlValue::Real(f)) => {
            let _ = write!(out, "{}", Value::from(*f));
        }
        (_, SqlValue::Text(s)) if field.data_type.storage() == Storage::Json => {
            // Stored by us as JSON text; re-checked so a damaged value cannot break the document.
            if serde_json::from_str::<serde::de::IgnoredAny>(s).is_ok() {
                out.push_str(s);
            } else {
                out.push_str("null");
            }
        }
        (_, SqlValue::Text(s)) => write_json_str(out, s),
    }
}

#[cfg(test)]
mod write_tests {
    use super::*;
    use crate::meta::Catalog;
    use serde_json::json;

    #[test]
    fn values_are_written_as_zoho_renders_them() {
        let cat = Catalog::standard().unwrap();
        let leads = cat.module("Leads").unwrap();
        let cases = [
            (
                "Last_Name",
                SqlValue::Text("Bo\"yle\n\u{1}é".into()),
                json!("Bo\"yle\n\u{1}é"),
            ),
            ("Annual_Revenue", SqlValue::Real(1200.5), json!(1200.5)),
            ("Annual_Revenue", SqlValue::Int(7), json!(7.0)),
            ("No_of_Employees", SqlValue::Int(42), json!(42)),
            ("Email_Opt_Out", SqlValue::Int(1), json!(true)),
            ("Email_Opt_Out", SqlValue::Null, json!(false)),
            (
                "Created_Time",
                SqlValue::Int(1_764_000_000_000),
                json!("2025-11-24T16:00:00+00:00"),
            ),
            (
                "Tag",
                SqlValue::Text("[\"a\",\"b\"]".into()),
                json!(["a", "b"]),
            ),
            ("Tag", SqlValue::Null, json!([])),
            ("Email", SqlValue::Null, Value::Null),
        ];
        for (name, v, want) in cases {
            let f = leads.field(name).unwrap();
            let mut s = String::new();
            write_json(&mut s, f, &v, chrono_tz::UTC);
            let parsed: Value = serde_json::from_str(&s).unwrap();
            assert_eq!(parsed, want, "{name}: {s}");
        }
    }
}

impl From<i64> for SqlValue {
    fn from(v: i64) -> Self {
        SqlValue::Int(v)
    }
}

impl From<bool> for SqlValue {
    fn from(v: bool) -> Self {
        SqlValue::Int(v as i64)
    }
}

impl From<f64> for SqlValue {
    fn from(v: f64) -> Self {
        SqlValue::Real(v)
    }
}

impl From<&str> for SqlValue {
    fn from(v: &str) -> Self {
        SqlValue::Text(v.to_string())
    }
}

impl From<String> for SqlValue {
    fn from(v: String) -> Self {
        SqlValue::Text(v)
    }
}

impl From<&String> for SqlValue {
    fn from(v: &String) -> Self {
        SqlValue::Text(v.clone())
    }
}

impl<T: Into<SqlValue>> From<Option<T>> for SqlValue {
    fn from(v: Option<T>) -> Self {
        v.map(Into::into).unwrap_or(SqlValue::Null)
    }
}
