//! Bulk APIs: `POST /crm/v8/upload` (a ZIP holding one CSV), bulk write jobs
//! (`/crm/bulk/v8/write[/{job_id}[/result]]`) and bulk read jobs
//! (`/crm/bulk/v8/read[/{job_id}[/result]]`). The work itself is `crate::bulk`.

use super::params::json_body;
use crate::auth::Caller;
use crate::bulk::{self as work, Mapping, ReadReq, WriteSpec};
use crate::error::{json_response, HttpResult};
use crate::state::App;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Multipart, Path, Request};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::Response;
use axum::Extension;
use serde_json::{json, Map, Value};
use std::sync::Arc;
use zcrm_core::meta::{stable_id, Catalog, DataType, Module};
use zcrm_core::query::{self, CmpOp, Filter, Kind, Pattern};
use zcrm_core::scope::{Op, Scope};
use zcrm_core::value::{format_datetime, SqlValue};
use zcrm_core::{ApiError, Code};
use zcrm_store::bulk::{BulkFile, BulkJob, LimitHit, Limits, NewJob};

/// Upload bodies may be this large before the handler gives up reading
/// (the ZIP itself is refused past 25 MB with `FILE_TOO_LARGE`).
pub const UPLOAD_BODY_LIMIT: usize = work::MAX_ZIP_BYTES * 2;

fn missing_key(key: &str) -> ApiError {
    ApiError::new(Code::MissingRequiredKey)
        .detail("api_name", key)
        .message(format!("required key {key} is not found in request body."))
}

fn invalid(key: &str, why: &str) -> ApiError {
    ApiError::new(Code::InvalidData)
        .detail("api_name", key)
        .message(why)
}

fn user_json(app: &App, org: &crate::state::OrgCtx, id: i64) -> Value {
    let _ = app;
    let name = org
        .with_user(id, |u| match &u.first_name {
            Some(f) if !f.is_empty() => format!("{f} {}", u.last_name),
            _ => u.last_name.clone(),
        })
        .unwrap_or_default();
    json!({"id": id.to_string(), "name": name})
}

fn time(org: &crate::state::OrgCtx, ms: i64) -> String {
    format_datetime(ms, org.tz)
}

// ---------------------------------------------------------------- upload

/// The error Zoho's content host gives for missing or wrong upload headers.
fn header_error() -> Response {
    json_response(
        400,
        &json!({"code": "INVALID_REQUEST", "status": "error",
                "message": "check if headers [feature, X-CRM-ORG] are present and valid",
                "details": {}, "x-error": "check if headers [feature, X-CRM-ORG] are present and valid",
                "info": "Forbidden", "x-info": "Link not valid"}),
    )
}

pub async fn upload(Extension(caller): Extension<Caller>, req: Request) -> HttpResult<Response> {
    let headers = req.headers().clone();
    let feature = headers.get("feature").and_then(|v| v.to_str().ok());
    let org_hdr = headers.get("x-crm-org").and_then(|v| v.to_str().ok());
    let org = &caller.org.org;
    let org_ok = org_hdr.is_some_and(|h| {
        let h = h.trim();
        h == org.zgid || h == org.id.to_string()
    });
    if !feature.is_some_and(|f| f.trim().eq_ignore_ascii_case("bulk-write")) || !org_ok {
        return Ok(header_error());
    }
    let too_large = || ApiError::new(Code::FileTooLarge);
    let mut multipart = Multipart::from_request(req, &()).await.map_err(|_| {
        ApiError::new(Code::InvalidFileFormat).message("the request is not multipart form data")
    })?;
    let mut file: Option<(String, Vec<u8>)> = None;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(too_large().into())
            }
            Err(_) => {
                return Err(ApiError::new(Code::InvalidFileFormat)
                    .message("the request is not valid multipart form data")
                    .into())
            }
        };
        if field.name() != Some("file") {
            continue;
        }
        let name = field.file_name().unwrap_or("upload.zip").to_string();
        let mut data = Vec::new();
        let mut field = field;
        loop {
            match field.chunk().await {
                Ok(Some(c)) => {
                    if data.len() + c.len() > work::MAX_ZIP_BYTES {
                        // Read the rest (within the body limit) so the client
                        // gets the answer rather than a closed connection.
                        while let Ok(Some(_)) = field.chunk().await {}
                        return Err(too_large().into());
                    }
                    data.extend_from_slice(&c);
                }
                Ok(None) => break,
                Err(e) if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
                    return Err(too_large().into())
                }
                Err(_) => {
                    return Err(ApiError::new(Code::InvalidFileFormat)
                        .message("the request is not valid multipart form data")
                        .into())
                }
            }
        }
        file = Some((name, data));
        break;
    }
    let (name, data) = file.ok_or_else(|| {
        ApiError::new(Code::InvalidFileFormat).message("no file given in the form field 'file'")
    })?;
    let max_rows = caller.app.config.bulk.write_max_rows;
    let data = Bytes::from(data);
    let d2 = data.clone();
    let inspected = tokio::task::spawn_blocking(move || work::inspect(&d2, max_rows))
        .await
        .map_err(ApiError::internal)??;
    let now = caller.app.now();
    let id = caller.app.ids.next(now);
    let key = format!("bulk/{}/upload-{id}.zip", org.id);
    caller.app.files.put(&key, data.clone()).await?;
    caller
        .org
        .store
        .save_bulk_file(BulkFile {
            id,
            name,
            file_key: key,
            size: data.len() as i64,
            rows: inspected.rows,
            header: inspected.header,
            created_by: caller.user_id,
            created_time: now,
        })
        .await?;
    Ok(json_response(
        200,
        &json!({"status": "success", "code": "FILE_UPLOAD_SUCCESS", "message": "file uploaded.",
                "details": {"file_id": id, "created_time": time(&caller.org, now)}}),
    ))
}

// ---------------------------------------------------------------- shared

/// `callback: {url, method}`: an http(s) URL that may be called (the
/// private-target guard as for notifications) and `post`.
fn callback(body: &Map<String, Value>, app: &App) -> Result<Option<(String, Value)>, ApiError> {
    let Some(cb) = body.get("callback").filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let url = cb.get("url").and_then(|v| v.as_str()).unwrap_or("").trim();
    let url_ok = url::Url::parse(url)
        .ok()
        .is_some_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
    if !url_ok || url.len() > 1024 {
        return Err(ApiError::new(Code::InvalidCallbackUrl).detail("api_name", "url"));
    }
    if let Err(why) = crate::notify::check_url(url, app.allow_private_webhooks) {
        return Err(ApiError::new(Code::InvalidCallbackUrl)
            .detail("api_name", "url")
            .message(why));
    }
    let method = cb.get("method").and_then(|v| v.as_str()).unwrap_or("");
    if !method.eq_ignore_ascii_case("post") {
        return Err(ApiError::new(Code::InvalidCallbackMethod)
            .detail("supported_callback_methods", json!(["post"])));
    }
    Ok(Some((
        url.to_string(),
        json!({"url": url, "method": "post"}),
    )))
}

fn limits(app: &App) -> Limits {
    Limits {
        concurrent: app.config.bulk.concurrent_jobs,
        per_day: app.config.bulk.jobs_per_day,
    }
}

fn limit_error(hit: LimitHit) -> ApiError {
    match hit {
        LimitHit::Concurrent(n) => ApiError::new(Code::TooManyRequests)
            .detail("limit", n)
            .message(format!("at most {n} bulk jobs may be in progress at once")),
        LimitHit::Daily(n) => ApiError::new(Code::LimitExceeded)
            .detail("limit", n)
            .message(format!("at most {n} bulk jobs may be created in 24 hours")),
    }
}

fn job_id(raw: &str) -> Result<i64, ApiError> {
    zcrm_core::ids::parse_id_str(raw).ok_or_else(not_found)
}

fn not_found() -> ApiError {
    ApiError::new(Code::ResourceNotFound)
        .detail("resource", "job_id")
        .message("The requested resource doesn't exist.")
}

fn module_scope(caller: &Caller, m: &Module, op: Op) -> Result<(), ApiError> {
    let wanted = Scope::crm(&["modules", &m.scope_name()], op);
    if caller.scopes.allows(&wanted) {
        Ok(())
    } else {
        Err(ApiError::new(Code::OauthScopeMismatch))
    }
}

fn module_of(caller: &Caller, v: Option<&Value>) -> Result<Arc<Module>, ApiError> {
    let name = match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Object(o)) => o
            .get("api_name")
            .and_then(|x| x.as_str())
            .ok_or_else(|| missing_key("module"))?
            .to_string(),
        _ => return Err(missing_key("module")),
    };
    caller.app.catalog.module(&name).cloned().ok_or_else(|| {
        ApiError::new(Code::ModuleNotAvailable)
            .detail("api_name", "module")
            .message(format!("Requested module '{name}' is not available."))
    })
}

/// A finished job's result file, streamed as Zoho's ZIP download.
async fn download(caller: &Caller, job: Option<BulkJob>) -> HttpResult<Response> {
    let job = job.ok_or_else(not_found)?;
    let key = job
        .result_key
        .filter(|_| job.state == "COMPLETED")
        .ok_or_else(not_found)?;
    let data = caller.app.files.get(&key).await?.ok_or_else(not_found)?;
    let mut r = Response::new(Body::from(data));
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/zip"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{}.zip\"", job.id)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(r)
}

/// The job as its GET renders it; a job's callback carries the same body.
pub fn bulk_job_json(app: &App, org: &crate::state::OrgCtx, job: &BulkJob) -> Value {
    if job.kind == "write" {
        write_json(app, org, job)
    } else {
        read_json(app, org, job)
    }
}

// ---------------------------------------------------------------- bulk write

pub async fn create_write(
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: Bytes,
) -> HttpResult<Response> {
    require_json(&headers)?;
    let body = json_body(&body)?;
    let app = caller.app.clone();
    let operation = match body.get("operation") {
        None | Some(Value::Null) => return Err(missing_key("operation").into()),
        Some(v) => v
            .as_str()
            .map(|s| s.to_ascii_lowercase())
            .filter(|s| matches!(s.as_str(), "insert" | "update" | "upsert"))
            .ok_or_else(|| invalid("operation", "operation must be insert, update or upsert"))?,
    };
    let cb = callback(&body, &app)?;
    let encoding = match body
        .get("character_encoding")
        .and_then(|v| v.as_str())
        .map(|s| s.trim().to_ascii_lowercase())
        .as_deref()
    {
        None | Some("utf-8") | Some("utf8") => "utf-8",
        Some("iso-8859-1") | Some("latin1") | Some("latin-1") => "iso-8859-1",
        Some(_) => {
            return Err(invalid(
                "character_encoding",
                "supported encodings are UTF-8 and ISO-8859-1",
            )
            .into())
        }
    };
    let resources = match body.get("resource") {
        Some(Value::Array(a)) if !a.is_empty() => a,
        _ => return Err(missing_key("resource").into()),
    };
    if resources.len() > 1 {
        return Err(ApiError::new(Code::NotSupported)
            .detail("api_name", "resource")
            .message("one resource per bulk write job is supported")
            .into());
    }
    let res = resources[0]
        .as_object()
        .ok_or_else(|| invalid("resource", "resource items must be objects"))?;
    if let Some(t) = res.get("type").and_then(|v| v.as_str()) {
        if t != "data" {
            return Err(invalid("type", "type must be data").into());
        }
    }
    let m = module_of(&caller, res.get("module"))?;
    match operation.as_str() {
        "insert" => module_scope(&caller, &m, Op::Create)?,
        "update" => module_scope(&caller, &m, Op::Update)?,
        _ => {
            module_scope(&caller, &m, Op::Create)?;
            module_scope(&caller, &m, Op::Update)?
        }
    }
    let file_id = match res.get("file_id") {
        None | Some(Value::Null) => return Err(missing_key("file_id").into()),
        Some(v) => zcrm_core::ids::parse_id(v),
    };
    let file = match file_id {
        Some(id) => caller.org.store.bulk_file(id).await?,
        None => None,
    }
    .ok_or_else(|| ApiError::new(Code::InvalidFileId).detail("api_name", "file_id"))?;
    let ignore_empty = res
        .get("ignore_empty")
        .or_else(|| body.get("ignore_empty"))
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    let find_by = res
        .get("find_by")
        .and_then(|v| v.as_str())
        .map(String::from);
    let find_by = match (&find_by, operation.as_str()) {
        (None, "insert") => None,
        (None, _) => return Err(missing_key("find_by").into()),
        (Some(f), _) if f.eq_ignore_ascii_case("id") => Some("id".to_string()),
        (Some(f), _) => {
            let fld = m
                .field(f)
                .filter(|x| x.unique)
                .ok_or_else(|| invalid("find_by", "find_by must be id or a unique field"))?;
            Some(fld.api_name.clone())
        }
    };
    let mappings = mappings(&m, res.get("field_mappings"), &file)?;
    if operation == "insert" || (operation == "upsert" && find_by.as_deref() != Some("id")) {
        let unmapped: Vec<&str> = m
            .fields
            .iter()
            .filter(|f| f.system_mandatory && !f.read_only)
            .filter(|f| !mappings.iter().any(|mp| mp.api_name == f.api_name))
            .map(|f| f.api_name.as_str())
            .collect();
        if !unmapped.is_empty() {
            return Err(ApiError::new(Code::MandatoryFieldsNotMapped)
                .detail("api_name", json!(unmapped))
                .into());
        }
    }
    if let Some(fb) = &find_by {
        if !mappings.iter().any(|mp| &mp.api_name == fb) {
            return Err(invalid("find_by", "the find_by field is not mapped to a column").into());
        }
    }
    let now = app.now();
    let id = app.ids.next(now);
    let spec = WriteSpec {
        operation: operation.clone(),
        module: m.api_name.clone(),
        file_id: file.id,
        file_key: file.file_key.clone(),
        file_name: file.name.clone(),
        mappings,
        find_by,
        ignore_empty,
        encoding: encoding.to_string(),
        header_len: file.header.len(),
    };
    let request = json!({"request": Value::Object(body.clone()), "spec": spec});
    let made = caller
        .org
        .store
        .create_bulk_job(
            NewJob {
                id,
                kind: "write",
                operation,
                module: m.api_name.clone(),
                request: request.to_string(),
                created_by: caller.user_id,
                created_time: now,
                total: file.rows,
                callback_url: cb.map(|c| c.0),
            },
            limits(&app),
        )
        .await?;
    made.map_err(limit_error)?;
    work::spawn_job(app.clone(), caller.org.clone(), id, "write".into());
    Ok(json_response(
        201,
        &json!({"status": "success", "code": "SUCCESS", "message": "success",
                "details": {"id": id.to_string(), "created_by": user_json(&app, &caller.org, caller.user_id)}}),
    ))
}

fn require_json(headers: &HeaderMap) -> Result<(), ApiError> {
    match headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    {
        Some(ct) if ct.to_ascii_lowercase().contains("json") => Ok(()),
        Some(_) | None => Err(ApiError::new(Code::MediaTypeNotSupported)
            .message("The Content-Type must be application/json")),
    }
}

/// `field_mappings` resolved against the module and the file's header. Absent:
/// every header column that names a field.
fn mappings(m: &Module, raw: Option<&Value>, file: &BulkFile) -> Result<Vec<Mapping>, ApiError> {
    let field_of = |name: &str| -> Result<(Option<usize>, String), ApiError> {
        if name.eq_ignore_ascii_case("id") {
            return Ok((None, "id".into()));
        }
        let bad = || {
            ApiError::new(Code::InvalidField)
                .detail("api_name", name)
                .message(format!("invalid mapping. invalid api_name {name}."))
        };
        let f = m.field(name).ok_or_else(bad)?;
        if f.read_only || f.system || f.data_type == DataType::Subform {
            return Err(bad());
        }
        let i = m
            .fields
            .iter()
            .position(|x| std::ptr::eq(x, f))
            .ok_or_else(bad)?;
        Ok((Some(i), f.api_name.clone()))
    };
    let column = |name: &str| {
        file.header
            .iter()
            .position(|h| h.eq_ignore_ascii_case(name))
    };
    let mut out: Vec<Mapping> = Vec::new();
    match raw {
        None | Some(Value::Null) => {
            for (i, h) in file.header.iter().enumerate() {
                let (field, api_name) = field_of(h)?;
                out.push(Mapping {
                    field,
                    api_name,
                    index: Some(i),
                    default: None,
                    format: None,
                });
            }
        }
        Some(Value::Array(items)) => {
            for item in items {
                let o = item
                    .as_object()
                    .ok_or_else(|| invalid("field_mappings", "mappings must be objects"))?;
                let name = o
                    .get("api_name")
                    .and_then(|v| v.as_str())
                    .ok_or_else(|| missing_key("api_name"))?;
                let (field, api_name) = field_of(name)?;
                if let Some(fb) = o.get("find_by").and_then(|v| v.as_str()) {
                    if !fb.eq_ignore_ascii_case("id") {
                        return Err(ApiError::new(Code::NotSupported)
                            .detail("api_name", api_name.as_str())
                            .message("lookups are matched by id"));
                    }
                }
                let default = o
                    .get("default_value")
                    .and_then(|d| d.get("value").cloned().or_else(|| d.get("name").cloned()));
                let index = match o.get("index") {
                    None | Some(Value::Null) => None,
                    Some(v) => {
                        let i = v.as_u64().ok_or_else(|| {
                            invalid("index", "index must be a non-negative integer")
                        })? as usize;
                        if i >= file.header.len() {
                            return Err(ApiError::new(Code::ColumnIndexNotFound)
                                .detail("api_name", api_name.as_str())
                                .detail("index", i as i64)
                                .message(format!("column index {i} is not in the file")));
                        }
                        Some(i)
                    }
                };
                let index = match (index, &default) {
                    (Some(i), _) => Some(i),
                    (None, Some(_)) => None,
                    (None, None) => Some(column(&api_name).ok_or_else(|| {
                        ApiError::new(Code::MissingRequiredKey)
                            .detail("api_name", api_name.as_str())
                            .message(format!(
                                "required key index for field {api_name} is not found in request body."
                            ))
                    })?),
                };
                if out.iter().any(|x| x.api_name == api_name) {
                    return Err(ApiError::new(Code::InvalidField)
                        .detail("api_name", api_name.as_str())
                        .message(format!("invalid mapping. {api_name} is mapped twice.")));
                }
                out.push(Mapping {
                    field,
                    api_name,
                    index,
                    default,
                    format: o.get("format").and_then(|v| v.as_str()).map(String::from),
                });
            }
        }
        Some(_) => return Err(invalid("field_mappings", "field_mappings must be an array")),
    }
    Ok(out)
}

fn job_state_write(job: &BulkJob) -> &str {
    job.state.as_str()
}

fn write_json(app: &App, org: &crate::state::OrgCtx, job: &BulkJob) -> Value {
    let req: Value = serde_json::from_str(&job.request).unwrap_or(Value::Null);
    let spec: Option<WriteSpec> = serde_json::from_value(req["spec"].clone()).ok();
    let original = &req["request"];
    let res0 = &original["resource"][0];
    let m = app.catalog.module(&job.module);
    let state = job_state_write(job);
    let mut resource = json!({
        "status": state,
        "type": "data",
        "module": {"api_name": job.module, "id": m.map(|m| m.id.clone()).unwrap_or_default()},
        "field_mappings": spec.as_ref().map(|s| s.mappings.iter().map(|mp| {
            let mut o = json!({"api_name": mp.api_name});
            if let Some(i) = mp.index { o["index"] = json!(i); }
            if let Some(d) = &mp.default { o["default_value"] = json!({"value": d}); }
            if let Some(f) = &mp.format { o["format"] = json!(f); }
            o
        }).collect::<Vec<_>>()).unwrap_or_default(),
        "file": {
            "status": state,
            "name": spec.as_ref().map(|s| s.file_name.clone()).unwrap_or_default(),
            "added_count": job.added,
            "skipped_count": job.skipped,
            "updated_count": job.updated,
            "total_count": job.total,
        },
    });
    if let Some(fb) = spec.as_ref().and_then(|s| s.find_by.clone()) {
        resource["find_by"] = json!(fb);
    }
    if let Some(fid) = res0.get("file_id") {
        resource["file_id"] = fid.clone();
    }
    let mut out = json!({
        "status": state,
        "character_encoding": original.get("character_encoding").and_then(|v| v.as_str()).unwrap_or("UTF-8"),
        "id": job.id.to_string(),
        "operation": job.operation,
        "created_time": time(org, job.created_time),
        "created_by": user_json(app, org, job.created_by),
        "resource": [resource],
    });
    if let Some(cb) = original.get("callback").filter(|v| !v.is_null()) {
        out["callback"] = cb.clone();
    }
    if job.state == "COMPLETED" {
        out["result"] = json!({"download_url": format!("{}/crm/bulk/v8/write/{}/result", app.public_url, job.id)});
    }
    if let Some(e) = &job.error {
        out["result"] =
            json!({"error_message": serde_json::from_str::<Value>(e).unwrap_or(json!(e))});
    }
    out
}

pub async fn get_write(
    Extension(caller): Extension<Caller>,
    Path(raw): Path<String>,
) -> HttpResult<Response> {
    let id = job_id(&raw)?;
    let job = caller
        .org
        .store
        .bulk_job(id, "write")
        .await?
        .ok_or_else(not_found)?;
    Ok(json_response(
        200,
        &write_json(&caller.app, &caller.org, &job),
    ))
}

pub async fn write_result(
    Extension(caller): Extension<Caller>,
    Path(raw): Path<String>,
) -> HttpResult<Response> {
    let id = job_id(&raw)?;
    let job = caller.org.store.bulk_job(id, "write").await?;
    download(&caller, job).await
}

// ---------------------------------------------------------------- bulk read

/// Zoho's JSON criteria (`{field, comparator, value}` or `{group_operator, group}`).
pub fn bulk_criteria(
    catalog: &Catalog,
    m: &Arc<Module>,
    v: &Value,
    depth: usize,
) -> Result<Filter, ApiError> {
    let bad = |why: &str| ApiError::new(Code::InvalidCriteria).message(why);
    if depth > 5 {
        return Err(bad("criteria nest too deep"));
    }
    let o = v
        .as_object()
        .ok_or_else(|| bad("criteria must be an object"))?;
    if let Some(g) = o.get("group") {
        let op = o
            .get("group_operator")
            .and_then(|x| x.as_str())
            .unwrap_or("");
        let items = g
            .as_array()
            .filter(|a| !a.is_empty())
            .ok_or_else(|| bad("group must be a non-empty array"))?;
        if items.len() > 25 {
            return Err(ApiError::new(Code::CriteriaLimitExceeded).detail("limit", 25));
        }
        let parts = items
            .iter()
            .map(|i| bulk_criteria(catalog, m, i, depth + 1))
            .collect::<Result<Vec<_>, _>>()?;
        return match op.to_ascii_lowercase().as_str() {
            "and" => Ok(Filter::And(parts)),
            "or" => Ok(Filter::Or(parts)),
            _ => Err(ApiError::new(Code::GroupOperatorNotSupported)
                .detail("group_operator", op)
                .message("group_operator must be and or or")),
        };
    }
    let name = match o.get("field") {
        Some(Value::Object(f)) => f.get("api_name").and_then(|x| x.as_str()),
        Some(Value::String(s)) => Some(s.as_str()),
        _ => o.get("api_name").and_then(|x| x.as_str()),
    }
    .ok_or_else(|| bad("a criteria item needs a field"))?;
    let path: Vec<&str> = name.split('.').collect();
    let col = query::resolve(catalog, m, &path).map_err(|_| {
        ApiError::new(Code::InvalidCriteria)
            .detail("api_name", name)
            .message("the field in the criteria is not available")
    })?;
    let comparator = o
        .get("comparator")
        .and_then(|x| x.as_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let kind = col.kind();
    let supported: &[&str] = match kind {
        Kind::Text => &[
            "equal",
            "not_equal",
            "in",
            "not_in",
            "contains",
            "not_contains",
            "starts_with",
            "ends_with",
        ],
        Kind::Number | Kind::Integer => &[
            "equal",
            "not_equal",
            "in",
            "not_in",
            "less_than",
            "less_equal",
            "greater_than",
            "greater_equal",
        ],
        Kind::Date | Kind::DateTime => &[
            "equal",
            "not_equal",
            "in",
            "not_in",
            "less_than",
            "less_equal",
            "greater_than",
            "greater_equal",
            "between",
            "not_between",
        ],
        Kind::Boolean => &["equal", "not_equal"],
        Kind::Id => &["equal", "not_equal", "in", "not_in"],
        Kind::Json => &["equal", "not_equal"],
    };
    if !supported.contains(&comparator.as_str()) {
        return Err(ApiError::new(Code::FieldComparatorInCriteriaNotSupported)
            .detail("comparator", comparator.as_str())
            .detail("api_name", col.name.as_str())
            .detail("supported", json!(supported)));
    }
    let value = o.get("value").cloned().unwrap_or(Value::Null);
    let incompatible = || {
        ApiError::new(Code::ComparatorAndValueInCriteriaNotCompatible)
            .detail("comparator", comparator.as_str())
            .detail("api_name", col.name.as_str())
    };
    let text = |v: &Value| -> Option<String> {
        match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Object(o) => o.get("id").and_then(|x| match x {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            }),
            _ => None,
        }
    };
    let typed = |v: &Value| -> Result<SqlValue, ApiError> {
        let s = text(v).ok_or_else(incompatible)?;
        query::typed_value(&col, &s).map_err(|_| incompatible())
    };
    // `${EMPTY}` tests emptiness.
    if value.as_str() == Some("${EMPTY}") {
        return match comparator.as_str() {
            "equal" => Ok(Filter::Null {
                col,
                negated: false,
            }),
            "not_equal" => Ok(Filter::Null { col, negated: true }),
            _ => Err(incompatible()),
        };
    }
    if kind == Kind::Json {
        return Err(incompatible());
    }
    Ok(match comparator.as_str() {
        "equal" | "not_equal" | "less_than" | "less_equal" | "greater_than" | "greater_equal" => {
            let op = match comparator.as_str() {
                "equal" => CmpOp::Eq,
                "not_equal" => CmpOp::Ne,
                "less_than" => CmpOp::Lt,
                "less_equal" => CmpOp::Le,
                "greater_than" => CmpOp::Gt,
                _ => CmpOp::Ge,
            };
            let value = typed(&value)?;
            Filter::Cmp { col, op, value }
        }
        "in" | "not_in" => {
            let items = value.as_array().ok_or_else(incompatible)?;
            if items.is_empty() || items.len() > 100 {
                return Err(incompatible());
            }
            let values = items.iter().map(typed).collect::<Result<Vec<_>, _>>()?;
            Filter::In {
                col,
                values,
                negated: comparator == "not_in",
            }
        }
        "between" | "not_between" => {
            let items = value
                .as_array()
                .filter(|a| a.len() == 2)
                .ok_or_else(incompatible)?;
            Filter::Between {
                low: typed(&items[0])?,
                high: typed(&items[1])?,
                col,
                negated: comparator == "not_between",
            }
        }
        _ => {
            let s = text(&value)
                .filter(|s| !s.is_empty() && s.chars().count() <= 255)
                .ok_or_else(incompatible)?;
            let (pattern, negated) = match comparator.as_str() {
                "starts_with" => (Pattern::StartsWith(s), false),
                "ends_with" => (Pattern::EndsWith(s), false),
                "contains" => (Pattern::Contains(s), false),
                _ => (Pattern::Contains(s), true),
            };
            Filter::Like {
                col,
                pattern,
                negated,
            }
        }
    })
}

pub async fn create_read(
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: Bytes,
) -> HttpResult<Response> {
    require_json(&headers)?;
    let body = json_body(&body)?;
    let app = caller.app.clone();
    let q = match body.get("query") {
        Some(Value::Object(q)) => q,
        _ => {
            return Err(ApiError::new(Code::MandatoryNotFound)
                .detail("api_name", "query")
                .into())
        }
    };
    let m = module_of(&caller, q.get("module"))?;
    module_scope(&caller, &m, Op::Read)?;
    let fields: Vec<String> = match q.get("fields") {
        None | Some(Value::Null) => m
            .fields
            .iter()
            .filter(|f| {
                !matches!(
                    f.data_type,
                    DataType::Subform | DataType::Fileupload | DataType::Imageupload
                )
            })
            .map(|f| f.api_name.clone())
            .collect(),
        Some(Value::Array(a)) => {
            let mut out = Vec::new();
            for f in a {
                let s = f
                    .as_str()
                    .ok_or_else(|| invalid("fields", "fields must be strings"))?;
                // `id` is always the first column.
                if !s.eq_ignore_ascii_case("id") {
                    out.push(s.to_string());
                }
            }
            out
        }
        Some(_) => return Err(invalid("fields", "fields must be an array").into()),
    };
    let page = match q.get("page") {
        None | Some(Value::Null) => 1,
        Some(v) => v
            .as_i64()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            .filter(|p| *p >= 1 && *p <= 100_000)
            .ok_or_else(|| invalid("page", "page must be a positive integer"))?,
    };
    if q.get("page_token").is_some_and(|v| !v.is_null()) {
        return Err(invalid("page_token", "the page token is not valid").into());
    }
    match body.get("file_type").and_then(|v| v.as_str()) {
        None | Some("csv") => {}
        Some("ics") => {
            return Err(ApiError::new(Code::NotSupported)
                .detail("api_name", "file_type")
                .message("ics export is not supported; use csv")
                .into())
        }
        Some(_) => return Err(invalid("file_type", "file_type must be csv").into()),
    }
    let owner = match q.get("cvid").filter(|v| !v.is_null()) {
        None => None,
        Some(cv) => {
            let cvid = cv
                .as_str()
                .map(String::from)
                .or_else(|| cv.as_i64().map(|i| i.to_string()))
                .unwrap_or_default();
            let view = m
                .custom_views
                .iter()
                .find(|v| stable_id("custom_view", &format!("{}.{}", m.api_name, v.name)) == cvid)
                .ok_or_else(|| invalid("cvid", "the cvid given seems to be invalid"))?;
            let mine = view
                .system_name
                .as_deref()
                .is_some_and(|s| s.starts_with("MY"))
                || view.name.starts_with("My ");
            mine.then_some(caller.user_id)
        }
    };
    let cb = callback(&body, &app)?;
    let rr = ReadReq {
        module: m.api_name.clone(),
        fields,
        criteria: q.get("criteria").filter(|v| !v.is_null()).cloned(),
        owner,
        page,
    };
    // Everything a job needs is checked now, so a job fails only for the server's reasons.
    work::read_spec(&app, &caller.org, &rr)?;
    let now = app.now();
    let id = app.ids.next(now);
    let request = json!({"request": Value::Object(body.clone()), "spec": rr});
    caller
        .org
        .store
        .create_bulk_job(
            NewJob {
                id,
                kind: "read",
                operation: "read".into(),
                module: m.api_name.clone(),
                request: request.to_string(),
                created_by: caller.user_id,
                created_time: now,
                total: 0,
                callback_url: cb.map(|c| c.0),
            },
            limits(&app),
        )
        .await?
        .map_err(limit_error)?;
    work::spawn_job(app.clone(), caller.org.clone(), id, "read".into());
    Ok(json_response(
        201,
        &json!({"data": [{"status": "success", "code": "ADDED_SUCCESSFULLY", "message": "Added successfully.",
                          "details": {"id": id.to_string(), "operation": "read", "state": "ADDED",
                                      "created_by": user_json(&app, &caller.org, caller.user_id),
                                      "created_time": time(&caller.org, now)}}],
                "info": {}}),
    ))
}

fn read_json(app: &App, org: &crate::state::OrgCtx, job: &BulkJob) -> Value {
    let req: Value = serde_json::from_str(&job.request).unwrap_or(Value::Null);
    let original = &req["request"];
    let page = req["spec"]["page"].as_i64().unwrap_or(1);
    let state = if job.state == "FAILED" {
        "FAILURE"
    } else {
        job.state.as_str()
    };
    let mut out = json!({
        "id": job.id.to_string(),
        "operation": "read",
        "state": state,
        "query": original.get("query").cloned().unwrap_or(json!({})),
        "created_by": user_json(app, org, job.created_by),
        "created_time": time(org, job.created_time),
        "file_type": "csv",
    });
    if let Some(cb) = original.get("callback").filter(|v| !v.is_null()) {
        out["callback"] = cb.clone();
    }
    if job.state == "COMPLETED" {
        out["result"] = json!({
            "page": page,
            "per_page": work::READ_PAGE,
            "count": job.result_count,
            "download_url": format!("/crm/bulk/v8/read/{}/result", job.id),
            "more_records": job.more_records,
            "next_page_token": Value::Null,
        });
    } else if let Some(e) = &job.error {
        out["result"] =
            json!({"error_message": serde_json::from_str::<Value>(e).unwrap_or(json!(e))});
    }
    out
}

pub async fn get_read(
    Extension(caller): Extension<Caller>,
    Path(raw): Path<String>,
) -> HttpResult<Response> {
    let id = job_id(&raw)?;
    let job = caller
        .org
        .store
        .bulk_job(id, "read")
        .await?
        .ok_or_else(not_found)?;
    Ok(json_response(
        200,
        &json!({"data": [read_json(&caller.app, &caller.org, &job)]}),
    ))
}

pub async fn read_result(
    Extension(caller): Extension<Caller>,
    Path(raw): Path<String>,
) -> HttpResult<Response> {
    let id = job_id(&raw)?;
    let job = caller.org.store.bulk_job(id, "read").await?;
    download(&caller, job).await
}
