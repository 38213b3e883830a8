//! Request bodies of a fixed shape, decoded with serde: a body that does not
//! fit answers as Zoho does, naming the key and where it is (`api_name`,
//! `json_path`), never serde's own words or the input itself.

use axum::async_trait;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_path_to_error::Segment;
use zcrm_core::{ApiError, Code};

/// A JSON body of type `T`; see [`decode`] for the errors.
pub struct Body<T>(pub T);

#[async_trait]
impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Response> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        decode(&bytes)
            .map(Body)
            .map_err(|e| crate::error::HttpError(e).into_response())
    }
}

/// Zoho's name for the type serde expected, from serde_json's message.
fn expected_type(message: &str) -> Option<&'static str> {
    let expected = message.split(", expected ").nth(1)?;
    Some(match expected {
        e if e.starts_with("a boolean") => "boolean",
        e if e.starts_with("a datetime") => "datetime",
        e if e.starts_with("a string") => "text",
        e if e.starts_with('i') || e.starts_with('u') || e.contains("integer") => "integer",
        e if e.starts_with("a sequence") => "jsonarray",
        e if e.starts_with("a map") || e.starts_with("struct") => "jsonobject",
        _ => return None,
    })
}

/// The values an enum takes, from serde's "unknown variant `x`, expected
/// `a` or `b`" (the names are ours, never the input).
fn supported_values(message: &str) -> Option<Vec<String>> {
    let expected = message
        .strip_prefix("unknown variant ")?
        .split_once(", expected ")?
        .1;
    let names: Vec<String> = expected
        .split('`')
        .skip(1)
        .step_by(2)
        .map(String::from)
        .collect();
    (!names.is_empty()).then_some(names)
}

/// `T` from a JSON body. Not JSON: `INVALID_DATA`; a required key missing:
/// `MANDATORY_NOT_FOUND`; a value of the wrong type or form: `INVALID_DATA`
/// with `expected_data_type` where serde says which.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| zoho_error(e, "$"))
}

/// `T` from one item of a list already read as JSON, `at` being the item's
/// own path (`$.watch[2]`): each item of a batch fails alone, as Zoho's 207
/// answers do, with the same errors as [`decode`].
pub fn decode_at<T: DeserializeOwned>(value: &serde_json::Value, at: &str) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|e| zoho_error(e, at))
}

fn zoho_error(err: serde_path_to_error::Error<serde_json::Error>, at: &str) -> ApiError {
    if !err.inner().is_data() {
        return ApiError::new(Code::InvalidData).message("body is not a valid JSON object");
    }
    let mut path = String::from(at);
    let mut key = String::new();
    for seg in err.path().iter() {
        match seg {
            Segment::Map { key: k } => {
                path.push('.');
                path.push_str(k);
                key.clone_from(k);
            }
            Segment::Seq { index } => path.push_str(&format!("[{index}]")),
            Segment::Enum { .. } | Segment::Unknown => {}
        }
    }
    let message = err.inner().to_string();
    if let Some(missing) = message
        .strip_prefix("missing field `")
        .and_then(|m| m.split('`').next())
    {
        return ApiError::new(Code::MandatoryNotFound)
            .detail("api_name", missing)
            .detail("json_path", format!("{path}.{missing}"));
    }
    if key.is_empty() && at == "$" {
        return ApiError::new(Code::InvalidData).message("body is not a valid JSON object");
    }
    let mut e = ApiError::new(Code::InvalidData);
    if !key.is_empty() {
        e = e.detail("api_name", key);
    }
    e = e.detail("json_path", path);
    if let Some(values) = supported_values(&message) {
        e = e.detail("supported_values", values);
    } else if let Some(t) = expected_type(&message) {
        e = e.detail("expected_data_type", t);
    }
    e
}

#[cfg(test)]
mod tests {
    use super::decode;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    struct Inner {
        flag: bool,
    }
    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    struct Outer {
        name: String,
        items: Vec<Inner>,
    }

    fn err(body: &str) -> serde_json::Value {
        decode::<Outer>(body.as_bytes()).unwrap_err().to_json()
    }

    #[test]
    fn wrong_type_names_key_path_and_type() {
        let e = err(r#"{"name":"a","items":[{"flag":true},{"flag":"yes"}]}"#);
        assert_eq!(e["code"], "INVALID_DATA");
        assert_eq!(
            e["details"],
            json!({"api_name": "flag", "json_path": "$.items[1].flag", "expected_data_type": "boolean"})
        );
    }

    #[test]
    fn missing_key_is_mandatory_not_found() {
        let e = err(r#"{"items":[]}"#);
        assert_eq!(e["code"], "MANDATORY_NOT_FOUND");
        assert_eq!(
            e["details"],
            json!({"api_name": "name", "json_path": "$.name"})
        );
    }

    #[test]
    fn not_json_never_echoes_input() {
        let e = err(&format!("{{\"name\": \"{}", "x".repeat(10_000)));
        assert_eq!(e["code"], "INVALID_DATA");
        assert!(e.to_string().len() < 300, "{e}");
    }

    #[derive(Deserialize, Debug)]
    #[serde(rename_all = "snake_case")]
    enum Kind {
        Fields,
        Layouts,
    }
    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    struct WithEnum {
        kinds: Vec<Kind>,
    }

    #[test]
    fn unknown_enum_value_lists_supported_values() {
        let e = decode::<WithEnum>(br#"{"kinds":["fields","<script>"]}"#)
            .unwrap_err()
            .to_json();
        assert_eq!(
            e["details"],
            json!({"api_name": "kinds", "json_path": "$.kinds[1]", "supported_values": ["fields", "layouts"]})
        );
    }

    #[test]
    fn decodes() {
        let o: Outer = decode(br#"{"name":"a","items":[{"flag":false}]}"#).unwrap();
        assert_eq!(o.name, "a");
    }
}
