//! The bodies of bulk job requests, typed. A value of the wrong type answers
//! Zoho's `INVALID_DATA` naming the key (`wire::body`); the checks that need
//! the org (modules, fields, files) stay with the handlers. `criteria` and a
//! mapping's default value name the org's fields and values, so they stay
//! JSON, checked where they are compiled.

use crate::wire::fields::Id;
use serde::Deserialize;
use serde_json::Value;

/// `callback: {url, method}`.
#[derive(Deserialize)]
pub struct Callback {
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub method: Option<String>,
}

/// A module named by its API name, or as `{"api_name": …}`.
#[derive(Deserialize)]
#[serde(untagged)]
pub enum ModuleRef {
    Name(String),
    Object {
        #[serde(default)]
        api_name: Option<String>,
    },
}

impl ModuleRef {
    pub fn name(&self) -> Option<&str> {
        match self {
            ModuleRef::Name(n) => Some(n),
            ModuleRef::Object { api_name } => api_name.as_deref(),
        }
    }
}

/// A page number, sent as a number or as digits.
#[derive(Deserialize)]
#[serde(untagged)]
pub enum PageNo {
    Number(i64),
    Text(String),
}

impl PageNo {
    pub fn value(&self) -> Option<i64> {
        match self {
            PageNo::Number(n) => Some(*n),
            PageNo::Text(s) => s.trim().parse().ok(),
        }
    }
}

/// `POST /crm/bulk/v8/read`.
#[derive(Deserialize)]
pub struct ReadBody {
    #[serde(default)]
    pub query: Option<ReadQuery>,
    #[serde(default)]
    pub callback: Option<Callback>,
    #[serde(default)]
    pub file_type: Option<String>,
}

#[derive(Deserialize)]
pub struct ReadQuery {
    #[serde(default)]
    pub module: Option<ModuleRef>,
    #[serde(default)]
    pub fields: Option<Vec<String>>,
    #[serde(default)]
    pub page: Option<PageNo>,
    /// Refused when given: zcrm pages bulk reads by number.
    #[serde(default)]
    pub page_token: Option<Value>,
    /// A custom view id, as a number or text (checked against the module).
    #[serde(default)]
    pub cvid: Option<Value>,
    #[serde(default)]
    pub criteria: Option<Value>,
}

/// `POST /crm/bulk/v8/write`.
#[derive(Deserialize)]
pub struct WriteBody {
    #[serde(default)]
    pub operation: Option<String>,
    #[serde(default)]
    pub character_encoding: Option<String>,
    #[serde(default)]
    pub ignore_empty: Option<bool>,
    #[serde(default)]
    pub callback: Option<Callback>,
    #[serde(default)]
    pub resource: Option<Vec<WriteResource>>,
}

#[derive(Deserialize)]
pub struct WriteResource {
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub module: Option<ModuleRef>,
    #[serde(default)]
    pub file_id: Option<Id>,
    #[serde(default)]
    pub find_by: Option<String>,
    #[serde(default)]
    pub ignore_empty: Option<bool>,
    #[serde(default)]
    pub field_mappings: Option<Vec<FieldMapping>>,
}

#[derive(Deserialize)]
pub struct FieldMapping {
    #[serde(default)]
    pub api_name: Option<String>,
    #[serde(default)]
    pub index: Option<u64>,
    #[serde(default)]
    pub format: Option<String>,
    #[serde(default)]
    pub find_by: Option<String>,
    #[serde(default)]
    pub default_value: Option<DefaultValue>,
}

/// `{"value": …}` (or a lookup's `{"name": …}`): a value of the org's field.
#[derive(Deserialize)]
pub struct DefaultValue {
    #[serde(default)]
    pub value: Option<Value>,
    #[serde(default)]
    pub name: Option<Value>,
}
