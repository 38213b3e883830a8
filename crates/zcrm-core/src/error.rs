//! The catalogue of Zoho error codes. Every failure anywhere in zcrm ends as an
//! [`ApiError`] carrying one of these codes; the HTTP layer renders it once.

use serde_json::{Map, Value};

macro_rules! codes {
    ($($variant:ident => ($code:literal, $status:literal, $message:literal),)*) => {
        /// A Zoho error code with its HTTP status and default message.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Code { $($variant,)* }

        impl Code {
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $code,)* }
            }
            pub fn http_status(self) -> u16 {
                match self { $(Code::$variant => $status,)* }
            }
            pub fn default_message(self) -> &'static str {
                match self { $(Code::$variant => $message,)* }
            }
        }
    };
}

codes! {
    AuthenticationFailure => ("AUTHENTICATION_FAILURE", 401, "Authentication failed"),
    InvalidToken => ("INVALID_TOKEN", 401, "invalid oauth token"),
    OauthScopeMismatch => ("OAUTH_SCOPE_MISMATCH", 401, "Unauthorized"),
    NoPermission => ("NO_PERMISSION", 403, "permission denied"),
    InvalidUrlPattern => ("INVALID_URL_PATTERN", 404, "Please check if the URL trying to access is a correct one"),
    InvalidModule => ("INVALID_MODULE", 400, "the module name given seems to be invalid"),
    InvalidRequestMethod => ("INVALID_REQUEST_METHOD", 400, "The http request method type is not a valid one"),
    RequiredParamMissing => ("REQUIRED_PARAM_MISSING", 400, "required param is missing"),
    ExpectedParamMissing => ("EXPECTED_PARAM_MISSING", 400, "One of the expected parameter is missing"),
    InvalidData => ("INVALID_DATA", 400, "invalid data"),
    MandatoryNotFound => ("MANDATORY_NOT_FOUND", 400, "required field not found"),
    RequiredDataNotFound => ("REQUIRED_DATA_NOT_FOUND", 400, "required data not found"),
    DuplicateData => ("DUPLICATE_DATA", 400, "duplicate data"),
    AmbiguityDuringProcessing => ("AMBIGUITY_DURING_PROCESSING", 400, "ambiguity while processing the request"),
    LimitExceeded => ("LIMIT_EXCEEDED", 400, "limit exceeded"),
    DiscretePaginationLimitExceeded => ("DISCRETE_PAGINATION_LIMIT_EXCEEDED", 400, "The limit of discrete pagination has been exceeded"),
    PaginationLimitExceeded => ("PAGINATION_LIMIT_EXCEEDED", 400, "pagination limit exceeded"),
    TokenBoundDataMismatch => ("TOKEN_BOUND_DATA_MISMATCH", 400, "the page token does not belong to this request"),
    ExpiredValue => ("EXPIRED_VALUE", 400, "Page token expired"),
    PatternNotMatched => ("PATTERN_NOT_MATCHED", 400, "Please check whether the input values are correct"),
    NotSupported => ("NOT_SUPPORTED", 400, "not supported"),
    NotAllowed => ("NOT_ALLOWED", 400, "not allowed"),
    AuthorizationFailed => ("AUTHORIZATION_FAILED", 400, "User does not have sufficient privilege to perform this action"),
    ResourceNotFound => ("RESOURCE_NOT_FOUND", 404, "the requested resource was not found"),
    MediaTypeNotSupported => ("MEDIA_TYPE_NOT_SUPPORTED", 415, "The media type is not supported"),
    TooManyRequests => ("TOO_MANY_REQUESTS", 429, "too many requests"),
    IdAlreadyConverted => ("ID_ALREADY_CONVERTED", 400, "id already converted"),
    NotSubscribed => ("NOT_SUBSCRIBED", 400, "Not subscribed for actions-watch of the given channel"),
    InvalidQuery => ("INVALID_QUERY", 400, "invalid query formed"),
    SyntaxError => ("SYNTAX_ERROR", 400, "unexpected token"),
    LimitReached => ("LIMIT_REACHED", 400, "maximum response iteration limit reached"),
    CriteriaLimitExceeded => ("CRITERIA_LIMIT_EXCEEDED", 400, "no of criterium that can be given exceed the limit 15"),
    InvalidAlias => ("INVALID_ALIAS", 400, "invalid alias"),
    DuplicateAlias => ("DUPLICATE_ALIAS", 400, "duplicate alias"),
    InvalidReference => ("INVALID_REFERENCE", 400, "the reference given is invalid"),
    LoopingFound => ("LOOPING_FOUND", 400, "sub-requests reference each other in a loop"),
    RequestTimeout => ("REQUEST_TIMEOUT", 400, "the sub-request took too long"),
    RollbackPerformed => ("ROLLBACK_PERFORMED", 400, "rolled back because another sub-request failed"),
    ProcessingStopped => ("PROCESSING_STOPPED", 400, "not run because an earlier sub-request failed"),
    FailureInAttachmentHandling => ("failure_in_attachment_handling", 400, "Problem in uploading attachment. kindly upload the file properly"),
    InvalidRequest => ("INVALID_REQUEST", 400, "unable to process your request. please verify whether you have entered proper method name, parameter and parameter values."),
    FileSizeMoreThanAllowedSize => ("FILE_SIZE_MORE_THAN_ALLOWED_SIZE", 415, "Please check if the size of the file is in the correct range"),
    DownloadNotAllowed => ("DOWNLOAD_NOT_ALLOWED", 400, "As it is a linked attachment, you can not download it"),
    InvalidFileFormat => ("INVALID_FILE_FORMAT", 400, "invalid file format. only zip format is supported"),
    FileTooLarge => ("FILE_TOO_LARGE", 413, "File size too large to process"),
    InvalidFileId => ("INVALID_FILE_ID", 400, "improper file id"),
    InvalidField => ("INVALID_FIELD", 400, "invalid mapping"),
    ColumnIndexNotFound => ("COLUMN_INDEX_NOT_FOUND", 400, "column index not found in the file"),
    ModuleNotAvailable => ("MODULE_NOT_AVAILABLE", 400, "Requested module is not available."),
    MissingRequiredKey => ("MISSING_REQUIRED_KEY", 400, "required key is not found in request body."),
    MandatoryFieldsNotMapped => ("MANDATORY_FIELDS_NOT_MAPPED", 400, "All mandatory fields are not mapped for the layout"),
    InvalidCallbackUrl => ("INVALID_CALLBACK_URL", 400, "Invalid callback URL provided"),
    InvalidCallbackMethod => ("INVALID_CALLBACK_METHOD", 400, "Invalid callback method provided"),
    FileNotSupported => ("FILE_NOT_SUPPORTED", 400, "File not supported for bulk write"),
    HeaderLimitExceeded => ("HEADER_LIMIT_EXCEEDED", 400, "the file has more columns than allowed"),
    InvalidCriteria => ("INVALID_CRITERIA", 400, "invalid criteria"),
    FieldNotAvailable => ("FIELD_NOT_AVAILABLE", 400, "the field is not available"),
    FieldComparatorInCriteriaNotSupported => ("FIELD_COMPARATOR_IN_CRITERIA_NOT_SUPPORTED", 400, "the comparator is not supported for the field"),
    ComparatorAndValueInCriteriaNotCompatible => ("COMPARATOR_AND_VALUE_IN_CRITERIA_NOT_COMPATIBLE", 400, "the value does not suit the comparator or the field"),
    GroupOperatorNotSupported => ("GROUP_OPERATOR_NOT_SUPPORTED", 400, "group operator not supported"),
    CannotProcess => ("CANNOT_PROCESS", 400, "the row cannot be processed"),
    InternalError => ("INTERNAL_ERROR", 500, "Internal Server Error"),
}

/// A Zoho error: `{"code","details","message","status":"error"}`. Used both as a
/// whole response and as a per-record item inside `data[]`.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub code: Code,
    pub details: Map<String, Value>,
    pub message: String,
}

impl ApiError {
    pub fn new(code: Code) -> Self {
        ApiError {
            code,
            details: Map::new(),
            message: code.default_message().to_string(),
        }
    }

    pub fn detail(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.details.insert(key.to_string(), value.into());
        self
    }

    pub fn message(mut self, message: impl Into<String>) -> Self {
        self.message = message.into();
        self
    }

    pub fn http_status(&self) -> u16 {
        self.code.http_status()
    }

    pub fn internal(what: impl std::fmt::Display) -> Self {
        // The cause goes to the log, never to the client.
        eprintln!("internal error: {what}");
        ApiError::new(Code::InternalError)
    }

    // Common shapes, named after what the client did wrong.

    pub fn param_missing(param: &str) -> Self {
        ApiError::new(Code::RequiredParamMissing).detail("param_name", param)
    }

    pub fn invalid_param(param: &str) -> Self {
        ApiError::new(Code::InvalidData).detail("param_name", param)
    }

    /// An id in the URL that names nothing (Zoho points at its path segment).
    pub fn invalid_id_at(index: u32) -> Self {
        ApiError::new(Code::InvalidData)
            .detail("resource_path_index", index)
            .message("the id given seems to be invalid")
    }

    pub fn invalid_module(index: u32) -> Self {
        ApiError::new(Code::InvalidModule).detail("resource_path_index", index)
    }

    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("code".into(), self.code.as_str().into());
        let mut details = Value::Object(self.details.clone());
        shorten(&mut details);
        m.insert("details".into(), details);
        m.insert("message".into(), cut(&self.message, MAX_MESSAGE).into());
        m.insert("status".into(), "error".into());
        Value::Object(m)
    }
}

/// Error bodies name what was wrong, never echo it whole: a detail may hold
/// part of the input (a CSV column, a field value), so text is cut here, the
/// one place every error is written.
const MAX_DETAIL: usize = 200;
const MAX_MESSAGE: usize = 500;

fn cut(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

fn shorten(v: &mut Value) {
    match v {
        Value::String(s) if s.len() > MAX_DETAIL => *s = cut(s, MAX_DETAIL),
        Value::Array(a) => {
            a.truncate(MAX_DETAIL);
            a.iter_mut().for_each(shorten);
        }
        Value::Object(o) => o.values_mut().for_each(shorten),
        _ => {}
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for ApiError {}

pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_input_in_an_error_is_cut() {
        let column = "é".repeat(100_000);
        let e = ApiError::new(Code::InvalidData)
            .message(format!("unknown column {column}"))
            .detail("api_name", column.as_str())
            .detail("columns", vec![column.clone(); 5_000]);
        let body = e.to_json().to_string();
        assert!(body.len() < 100_000, "{} bytes", body.len());
        let details = &e.to_json()["details"];
        assert!(details["api_name"].as_str().unwrap().ends_with('…'));
        assert_eq!(details["columns"].as_array().unwrap().len(), MAX_DETAIL);
        // Short values are untouched.
        let e = ApiError::new(Code::InvalidData).detail("api_name", "Last_Name");
        assert_eq!(e.to_json()["details"]["api_name"], "Last_Name");
    }
}
