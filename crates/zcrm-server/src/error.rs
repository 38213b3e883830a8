//! The one place a Zoho error becomes an HTTP response.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use zcrm_core::ApiError;

/// Newtype so the server can implement axum's trait for the core error.
pub struct HttpError(pub ApiError);

impl From<ApiError> for HttpError {
    fn from(e: ApiError) -> Self {
        HttpError(e)
    }
}

impl From<zcrm_store::StoreError> for HttpError {
    fn from(e: zcrm_store::StoreError) -> Self {
        HttpError(e.into())
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
