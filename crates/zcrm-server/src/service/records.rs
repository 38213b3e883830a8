//! Turning a client's record JSON into checked columns: Zoho's per-record
//! validation (mandatory fields, types, lengths, pick lists) and the fields
//! Zoho derives itself (Full_Name, a deal's Probability and Expected_Revenue).

use serde_json::{Map, Value};
use zcrm_core::ids::IdGen;
use zcrm_core::meta::{DataType, Field, Module};
use zcrm_core::value::{self, Checked, SqlValue};
use zcrm_core::{ApiError, Code};
use zcrm_store::records::WriteRow;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Create,
    Update,
    /// Insert or update: mandatory fields are checked only if it inserts (by the store).
    Upsert,
}

fn is_blank(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.trim().is_empty(),
        Some(Value::Array(a)) => a.is_empty(),
        _ => false,
    }
}

fn mandatory(f: &Field, path: &str) -> ApiError {
    ApiError::new(Code::MandatoryNotFound)
        .detail("api_name", f.api_name.as_str())
        .detail("json_path", format!("{path}.{}", f.api_name))
}

/// Subform rows: each an object, checked against the subform's own fields, given an id.
fn check_subform(
    f: &Field,
    v: &Value,
    path: &str,
    ids: &IdGen,
    now: i64,
) -> Result<Checked, ApiError> {
    let Some(rows) = v.as_array() else {
        return value::check(f, v, path);
    };
    let mut out = Vec::with_capacity(rows.len());
    for (i, row) in rows.iter().enumerate() {
        let rpath = format!("{path}[{i}]");
        let obj = row.as_object().ok_or_else(|| {
            ApiError::new(Code::InvalidData)
                .detail("api_name", f.api_name.as_str())
                .detail("json_path", rpath.clone())
                .detail("expected_data_type", "jsonobject")
        })?;
        let mut clean = Map::new();
        let id = obj
            .get("id")
            .and_then(zcrm_core::ids::parse_id)
            .unwrap_or_else(|| ids.next(now));
        clean.insert("id".into(), Value::String(id.to_string()));
        for sf in &f.subform_fields {
            let sv = obj.get(&sf.api_name);
            if sf.system_mandatory && is_blank(sv) {
                return Err(mandatory(sf, &rpath));
            }
            if let Some(sv) = sv {
                if sf.read_only {
                    continue;
                }
                value::check(sf, sv, &format!("{rpath}.{}", sf.api_name))?;
                clean.insert(sf.api_name.clone(), sv.clone());
            }
        }
        out.push(Value::Object(clean));
    }
    Ok(Checked {
        value: SqlValue::Text(Value::Array(out).to_string()),
        lookup_module: None,
    })
}

/// Checks `data[index]` of a write body for module `m`.
pub fn check_record(
    m: &Module,
    record: &Value,
    index: usize,
    mode: Mode,
    id: Option<i64>,
    ids: &IdGen,
    now: i64,
) -> Result<WriteRow, ApiError> {
    let path = format!("$.data[{index}]");
    let obj = record.as_object().ok_or_else(|| {
        ApiError::new(Code::InvalidData)
            .detail("json_path", path.clone())
            .detail("expected_data_type", "jsonobject")
    })?;
    for f in m
        .fields
        .iter()
        .filter(|f| f.system_mandatory && !f.read_only)
    {
        let v = obj.get(&f.api_name);
        let missing = match mode {
            Mode::Create => is_blank(v),
            Mode::Update | Mode::Upsert => v.is_some() && is_blank(v),
        };
        if missing {
            return Err(mandatory(f, &path));
        }
    }
    let se_module = obj
        .get("$se_module")
        .and_then(|v| v.as_str())
        .map(String::from);
    let mut values: Vec<(usize, Checked)> = Vec::with_capacity(obj.len());
    for (key, v) in obj {
        let Some(f) = m.field(key) else {
            continue; // Zoho ignores keys that are not fields.
        };
        if f.read_only || f.system {
            continue;
        }
        let idx = m
            .fields
            .iter()
            .position(|x| std::ptr::eq(x, f))
            .unwrap_or(0);
        let fpath = format!("{path}.{}", f.api_name);
        let mut checked = if f.data_type == DataType::Subform {
            check_subform(f, v, &fpath, ids, now)?
        } else {
            value::check(f, v, &fpath)?
        };
        if m.se_module_applies(f) && checked.lookup_module.is_none() {
            checked.lookup_module = se_module.clone();
        }
        values.push((idx, checked));
    }
    super::activities::check(m, obj, &path, &mut values, now)?;
    derive(m, &mut values, mode);
    Ok(WriteRow {
        values,
        json_path: path,
        id,
        upsert_on: Vec::new(),
    })
}

fn set(m: &Module, values: &mut Vec<(usize, Checked)>, name: &str, v: SqlValue) {
    if let Some(i) = m.fields.iter().position(|f| f.api_name == name) {
        values.retain(|(j, _)| *j != i);
        values.push((
            i,
            Checked {
                value: v,
                lookup_module: None,
            },
        ));
    }
}

fn get<'a>(m: &Module, values: &'a [(usize, Checked)], name: &str) -> Option<&'a SqlValue> {
    let i = m.fields.iter().position(|f| f.api_name == name)?;
    values.iter().find(|(j, _)| *j == i).map(|(_, c)| &c.value)
}

/// Fields Zoho computes on write.
fn derive(m: &Module, values: &mut Vec<(usize, Checked)>, mode: Mode) {
    if mode != Mode::Update && m.field("Full_Name").is_some() {
        let first = get(m, values, "First_Name")
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string();
        let last = get(m, values, "Last_Name")
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string();
        let full = format!("{first} {last}").trim().to_string();
        set(m, values, "Full_Name", SqlValue::Text(full));
    }
    if let (Some(stage_f), Some(_)) = (m.field("Stage"), m.field("Probability")) {
        let stage = get(m, values, "Stage")
            .and_then(|v| v.as_str())
            .map(String::from);
        if let Some(stage) = stage {
            if get(m, values, "Probability").is_none() {
                let p = stage_f
                    .pick_list_values
                    .iter()
                    .find(|p| p.actual_value == stage)
                    .and_then(|p| p.extra.get("probability"))
                    .and_then(|v| v.as_i64());
                if let Some(p) = p {
                    set(m, values, "Probability", SqlValue::Int(p));
                }
            }
        }
        let amount = match get(m, values, "Amount") {
            Some(SqlValue::Real(a)) => Some(*a),
            _ => None,
        };
        let prob = get(m, values, "Probability").and_then(|v| v.as_i64());
        if let (Some(a), Some(p), Some(_)) = (amount, prob, m.field("Expected_Revenue")) {
            set(
                m,
                values,
                "Expected_Revenue",
                SqlValue::Real((a * p as f64 / 100.0 * 100.0).round() / 100.0),
            );
        }
    }
}
