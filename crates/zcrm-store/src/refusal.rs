//! Why the store refused one item: a fact about the data (no such record, a
//! value another record holds), not a failure of the database. The server
//! turns each into Zoho's error in one place (`zcrm-server`'s `error.rs`).

/// The record already holding a unique value.
#[derive(Debug, Clone, PartialEq)]
pub struct Holder {
    pub module: String,
    pub module_id: String,
    pub owner: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    /// The URL's segment at this index (Zoho's `resource_path_index`) names no record.
    NoRecordAtPath(u32),
    /// The `id` key at `json_path` names no record.
    NoRecord { json_path: String },
    /// A record id in a list names no record.
    NoRecordId(i64),
    /// `field`'s value at `json_path` names nothing or is not accepted.
    Invalid { field: String, json_path: String },
    /// `field` is required at `json_path`.
    Missing { field: String, json_path: String },
    /// `field`'s value is longer than `max` characters.
    TooLong {
        field: String,
        json_path: String,
        max: usize,
    },
    /// `field`'s value is not one of `allowed`.
    NotOneOf {
        field: String,
        json_path: String,
        allowed: Vec<&'static str>,
    },
    /// A unique `field`'s value is held by another record: its `id` and,
    /// for records, its module and owner (`holder`), when known.
    Duplicate {
        field: Option<String>,
        json_path: Option<String>,
        id: Option<i64>,
        holder: Option<Holder>,
    },
    /// The lead is converted already.
    AlreadyConverted,
    /// No record has this value in `field` (bulk write's `find_by`).
    NotFoundBy { field: String },
}

impl Refusal {
    pub fn invalid(field: &str, json_path: impl Into<String>) -> Refusal {
        Refusal::Invalid {
            field: field.to_string(),
            json_path: json_path.into(),
        }
    }

    pub fn missing(field: &str, json_path: impl Into<String>) -> Refusal {
        Refusal::Missing {
            field: field.to_string(),
            json_path: json_path.into(),
        }
    }
}

/// An item the store did not write: the caller's own refusal of its input,
/// passed through unchanged, or the store's.
#[derive(Debug, Clone)]
pub enum Rejected<E> {
    Input(E),
    Store(Refusal),
}
