//! What Zoho does for activities on write: `$se_module` names the module of
//! `What_Id` (and is required with it), a completed Task gets its
//! `Closed_Time`, an Event ends after it starts, and a Call's `Call_Duration`
//! (`mm:ss`) also gives `Call_Duration_in_seconds`.

use serde_json::{Map, Value};
use zcrm_core::meta::Module;
use zcrm_core::value::{Checked, SqlValue};
use zcrm_core::{ApiError, Code};

fn index(m: &Module, name: &str) -> Option<usize> {
    m.fields.iter().position(|f| f.api_name == name)
}

fn value<'a>(m: &Module, values: &'a [(usize, Checked)], name: &str) -> Option<&'a SqlValue> {
    let i = index(m, name)?;
    values.iter().find(|(j, _)| *j == i).map(|(_, c)| &c.value)
}

fn set(m: &Module, values: &mut Vec<(usize, Checked)>, name: &str, v: SqlValue) {
    if let Some(i) = index(m, name) {
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

fn invalid(api_name: &str, path: &str) -> ApiError {
    ApiError::new(Code::InvalidData)
        .detail("api_name", api_name)
        .detail("json_path", format!("{path}.{api_name}"))
}

/// `mm:ss` (or `hh:mm:ss`) as seconds.
fn duration_secs(s: &str) -> Option<i64> {
    let parts: Vec<&str> = s.trim().split(':').collect();
    if !(2..=3).contains(&parts.len()) {
        return None;
    }
    let nums: Option<Vec<i64>> = parts
        .iter()
        .map(|p| {
            (!p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
                .then(|| p.parse().ok())
                .flatten()
        })
        .collect();
    let nums = nums?;
    if nums[1..].iter().any(|n| *n >= 60) {
        return None;
    }
    Some(nums.iter().fold(0, |acc, n| acc * 60 + n))
}

/// Checks and derives the activity fields of one checked record.
pub fn check(
    m: &Module,
    obj: &Map<String, Value>,
    path: &str,
    values: &mut Vec<(usize, Checked)>,
    now: i64,
) -> Result<(), ApiError> {
    if let Some(what) = m.field("What_Id") {
        let given = obj.get("What_Id").is_some_and(|v| !v.is_null());
        match obj.get("$se_module") {
            None | Some(Value::Null) if given => {
                return Err(ApiError::new(Code::MandatoryNotFound)
                    .detail("api_name", "$se_module")
                    .detail("json_path", format!("{path}.$se_module")))
            }
            Some(Value::String(s))
                if !what
                    .lookup_modules
                    .iter()
                    .any(|n| n.eq_ignore_ascii_case(s)) =>
            {
                return Err(invalid("$se_module", path)
                    .detail("supported_values", what.lookup_modules.clone()))
            }
            Some(v) if !v.is_null() && !v.is_string() => return Err(invalid("$se_module", path)),
            _ => {}
        }
    }
    if m.api_name == "Tasks" {
        if let Some(status) = value(m, values, "Status").cloned() {
            let done = status.as_str() == Some("Completed");
            set(
                m,
                values,
                "Closed_Time",
                if done {
                    SqlValue::Int(now)
                } else {
                    SqlValue::Null
                },
            );
        }
    }
    if let (Some(SqlValue::Int(start)), Some(SqlValue::Int(end))) = (
        value(m, values, "Start_DateTime"),
        value(m, values, "End_DateTime"),
    ) {
        if end < start {
            return Err(invalid("End_DateTime", path)
                .message("End_DateTime must not be before Start_DateTime"));
        }
    }
    if m.field("Call_Duration_in_seconds").is_some() {
        match value(m, values, "Call_Duration").cloned() {
            Some(SqlValue::Text(d)) if !d.trim().is_empty() => {
                let secs = duration_secs(&d).ok_or_else(|| {
                    invalid("Call_Duration", path).detail("expected_data_type", "mm:ss")
                })?;
                set(m, values, "Call_Duration_in_seconds", SqlValue::Int(secs));
            }
            Some(_) => set(m, values, "Call_Duration_in_seconds", SqlValue::Null),
            None => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn durations() {
        assert_eq!(super::duration_secs("12:30"), Some(750));
        assert_eq!(super::duration_secs("1:00:05"), Some(3605));
        assert_eq!(super::duration_secs("12:75"), None);
        assert_eq!(super::duration_secs("twelve"), None);
        assert_eq!(super::duration_secs("12"), None);
    }
}
