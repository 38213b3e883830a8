//! The one place a Zoho error becomes an HTTP response, and the one place the
//! store's errors and refusals become Zoho's errors.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use zcrm_core::{ApiError, Code};
use zcrm_store::{Refusal, Rejected, StoreError};

/// Newtype so the server can implement axum's trait for the core error.
pub struct HttpError(pub ApiError);

impl From<ApiError> for HttpError {
    fn from(e: ApiError) -> Self {
        HttpError(e)
    }
}

impl From<StoreError> for HttpError {
    fn from(e: StoreError) -> Self {
        HttpError(store(e))
    }
}

/// Storage failures are the server's fault: the client sees `INTERNAL_ERROR`,
/// the log sees the cause. A refusal that rolled a transaction back is that
/// refusal's error.
pub fn store(e: StoreError) -> ApiError {
    match e {
        StoreError::Refused(r) => refusal(*r),
        e => {
            tracing::error!("store: {e}");
            ApiError::new(Code::InternalError)
        }
    }
}

/// Zoho's error for what the store refused.
pub fn refusal(r: Refusal) -> ApiError {
    let at = |code, field: String, json_path: String| {
        ApiError::new(code)
            .detail("api_name", field)
            .detail("json_path", json_path)
    };
    const NO_ID: &str = "the id given seems to be invalid";
    match r {
        Refusal::NoRecordAtPath(i) => ApiError::invalid_id_at(i),
        Refusal::NoRecord { json_path } => {
            at(Code::InvalidData, "id".into(), json_path).message(NO_ID)
        }
        Refusal::NoRecordId(id) => ApiError::new(Code::InvalidData)
            .detail("id", id.to_string())
            .message(NO_ID),
        Refusal::Invalid { field, json_path } => at(Code::InvalidData, field, json_path),
        Refusal::Missing { field, json_path } => at(Code::MandatoryNotFound, field, json_path),
        Refusal::TooLong {
            field,
            json_path,
            max,
        } => at(Code::InvalidData, field, json_path).detail("maximum_length", max),
        Refusal::NotOneOf {
            field,
            json_path,
            allowed,
        } => at(Code::InvalidData, field, json_path).detail("supported_values", allowed),
        Refusal::Duplicate {
            field,
            json_path,
            id,
            holder,
        } => {
            let mut e = ApiError::new(Code::DuplicateData);
            if let Some(f) = field {
                e = e.detail("api_name", f);
            }
            if let Some(p) = json_path {
                e = e.detail("json_path", p);
            }
            if let Some(id) = id {
                e = e.detail("id", id.to_string());
            }
            if let (Some(h), Some(id)) = (holder, id) {
                let mut rec = json!({"id": id.to_string(), "module": {"api_name": h.module, "id": h.module_id}});
                if let Some(o) = h.owner {
                    rec["Owner"] = json!({"id": o.to_string()});
                }
                e = e
                    .detail("duplicate_record", rec)
                    .detail("more_records", false);
            }
            e
        }
        Refusal::AlreadyConverted => {
            ApiError::new(Code::IdAlreadyConverted).detail("resource_path_index", 1)
        }
        Refusal::NotFoundBy { field } => {
            ApiError::new(Code::ResourceNotFound).detail("api_name", field)
        }
    }
}

/// An item not written: the handler's own error, or the store's refusal.
pub fn rejected(r: Rejected<ApiError>) -> ApiError {
    match r {
        Rejected::Input(e) => e,
        Rejected::Store(r) => refusal(r),
    }
}

impl From<Refusal> for HttpError {
    fn from(r: Refusal) -> Self {
        HttpError(refusal(r))
    }
}

pub type HttpResult<T> = Result<T, HttpError>;

pub const JSON_UTF8: &str = "application/json;charset=UTF-8";

/// A JSON body with Zoho's content type (the SDKs pick their parser by it).
pub fn json_response(status: u16, body: &serde_json::Value) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        [(header::CONTENT_TYPE, JSON_UTF8)],
        body.to_string(),
    )
        .into_response()
}

/// A JSON body already rendered to text.
pub fn raw_json_response(status: u16, body: String) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, [(header::CONTENT_TYPE, JSON_UTF8)], body).into_response()
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        json_response(self.0.http_status(), &self.0.to_json())
    }
}
