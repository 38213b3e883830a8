//! One item of a write answer's `data` array in Zoho's success form:
//! `{"code":"SUCCESS","details":{…},"message":…,"status":"success"}`.

use serde::Serialize;
use serde_json::{Map, Value};

#[derive(Debug, Clone, Serialize)]
pub struct Success {
    code: &'static str,
    details: Map<String, Value>,
    message: String,
    status: &'static str,
}

impl Success {
    pub fn new(message: impl Into<String>) -> Success {
        Success {
            code: "SUCCESS",
            details: Map::new(),
            message: message.into(),
            status: "success",
        }
    }

    pub fn detail(mut self, key: &str, value: impl Into<Value>) -> Success {
        self.details.insert(key.to_string(), value.into());
        self
    }

    /// `details` given whole (a record's `id`, times and users).
    pub fn details(mut self, details: Map<String, Value>) -> Success {
        self.details = details;
        self
    }

    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

impl From<Success> for Value {
    fn from(s: Success) -> Value {
        s.to_value()
    }
}
