//! References between composite sub-requests: `@{<sub_request_id>:<JSONPath>}`
//! inside a sub-request's uri, params, headers or body, resolved against the
//! body of the referenced sub-request's response. The JSONPath subset is what
//! Zoho's examples use: `$`, `.name`, `[n]` and `['name']`.

use serde_json::Value;

/// One `@{id:path}` found in a string.
#[derive(Debug, Clone, PartialEq)]
pub struct Ref {
    /// The whole expression, as written (for error details).
    pub text: String,
    pub id: String,
    pub path: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Key(String),
    Index(usize),
}

/// Zoho's pattern for sub_request_id: `[a-zA-Z0-9][a-zA-Z0-9_]*`.
pub fn valid_id(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn parse_path(p: &str) -> Option<Vec<Step>> {
    let rest = p.strip_prefix('$')?;
    let b = rest.as_bytes();
    let mut i = 0;
    let mut steps = Vec::new();
    while i < b.len() {
        match b[i] {
            b'.' => {
                let start = i + 1;
                let mut j = start;
                while j < b.len() && b[j] != b'.' && b[j] != b'[' {
                    j += 1;
                }
                if j == start {
                    return None;
                }
                steps.push(Step::Key(rest[start..j].to_string()));
                i = j;
            }
            b'[' => {
                let close = rest[i..].find(']')? + i;
                let inner = rest[i + 1..close].trim();
                let quoted = inner
                    .strip_prefix('\'')
                    .and_then(|s| s.strip_suffix('\''))
                    .or_else(|| inner.strip_prefix('"').and_then(|s| s.strip_suffix('"')));
                match quoted {
                    Some(k) => steps.push(Step::Key(k.to_string())),
                    None => steps.push(Step::Index(inner.parse().ok()?)),
                }
                i = close + 1;
            }
            _ => return None,
        }
    }
    Some(steps)
}

/// Every reference in `s`; `Err(text)` for an `@{` that does not parse.
pub fn find_refs(s: &str) -> Result<Vec<Ref>, String> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(at) = rest.find("@{") {
        let after = &rest[at + 2..];
        let Some(end) = after.find('}') else {
            return Err(rest[at..].to_string());
        };
        let text = &rest[at..at + 2 + end + 1];
        let inner = &after[..end];
        let parsed = inner.split_once(':').and_then(|(id, path)| {
            let id = id.trim();
            (valid_id(id) && id.len() <= 100)
                .then(|| parse_path(path.trim()))
                .flatten()
                .map(|p| (id.to_string(), p))
        });
        match parsed {
            Some((id, path)) => out.push(Ref {
                text: text.to_string(),
                id,
                path,
            }),
            None => return Err(text.to_string()),
        }
        rest = &after[end + 1..];
    }
    Ok(out)
}

/// Every reference in a JSON value's strings (keys stay as written).
pub fn refs_in(v: &Value, out: &mut Vec<Ref>) -> Result<(), String> {
    match v {
        Value::String(s) => out.extend(find_refs(s)?),
        Value::Array(a) => {
            for x in a {
                refs_in(x, out)?;
            }
        }
        Value::Object(m) => {
            for x in m.values() {
                refs_in(x, out)?;
            }
        }
        _ => {}
    }
    Ok(())
}

pub fn eval<'a>(root: &'a Value, path: &[Step]) -> Option<&'a Value> {
    path.iter().try_fold(root, |v, step| match step {
        Step::Key(k) => v.get(k.as_str()),
        Step::Index(i) => v.get(*i),
    })
}

/// A scalar as it reads inside a longer string.
fn as_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// `s` with each reference replaced; `lookup` gives the referenced
/// sub-request's response body. `Err(reference)` when one does not resolve.
pub fn substitute_str(s: &str, lookup: &dyn Fn(&str) -> Option<Value>) -> Result<String, String> {
    let mut out = s.to_string();
    for r in find_refs(s)? {
        let body = lookup(&r.id).ok_or_else(|| r.text.clone())?;
        let v = eval(&body, &r.path)
            .and_then(as_text)
            .ok_or_else(|| r.text.clone())?;
        out = out.replacen(&r.text, &v, 1);
    }
    Ok(out)
}

/// A JSON value with its references replaced. A string that is exactly one
/// reference takes the referenced value itself (an object stays an object).
pub fn substitute(v: &Value, lookup: &dyn Fn(&str) -> Option<Value>) -> Result<Value, String> {
    Ok(match v {
        Value::String(s) => {
            let refs = find_refs(s)?;
            match refs.as_slice() {
                [r] if r.text == *s => {
                    let body = lookup(&r.id).ok_or_else(|| r.text.clone())?;
                    eval(&body, &r.path)
                        .filter(|v| !v.is_null())
                        .cloned()
                        .ok_or_else(|| r.text.clone())?
                }
                [] => v.clone(),
                _ => Value::String(substitute_str(s, lookup)?),
            }
        }
        Value::Array(a) => Value::Array(
            a.iter()
                .map(|x| substitute(x, lookup))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| Ok((k.clone(), substitute(x, lookup)?)))
                .collect::<Result<_, String>>()?,
        ),
        other => other.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_and_resolves() {
        let refs = find_refs("/crm/v8/Leads/@{1:$.data[0].details.id}/x").unwrap();
        assert_eq!(refs.len(), 1);
        assert_eq!(refs[0].id, "1");
        let body = json!({"data": [{"details": {"id": "42"}}]});
        let look = |id: &str| (id == "1").then(|| body.clone());
        assert_eq!(
            substitute_str("/crm/v8/Leads/@{1:$.data[0].details.id}", &look).unwrap(),
            "/crm/v8/Leads/42"
        );
        let v = substitute(&json!({"a": "@{1:$['data'][0].details}"}), &look).unwrap();
        assert_eq!(v, json!({"a": {"id": "42"}}));
        assert!(substitute_str("@{1:$.data[3].id}", &look).is_err());
        assert!(find_refs("@{bad id:$.x}").is_err());
        assert!(find_refs("@{1:data}").is_err());
        assert!(find_refs("@{1:$.x").is_err());
    }
}
