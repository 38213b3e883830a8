//! Bulk write jobs: `POST /crm/bulk/v8/write`, `GET …/{job_id}` and its result.

use super::*;
use crate::wire::Success;

pub async fn create_write(
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: Bytes,
) -> HttpResult<Response> {
    require_json(&headers)?;
    let body = json_body(&body)?;
    let app = caller.app.clone();
    let operation = operation(&body)?;
    let cb = callback(&body, &app)?;
    let encoding = encoding(&body)?;
    let res = resource(&body)?;
    let m = module_of(&caller, res.get("module"))?;
    write_scopes(&caller, &m, &operation)?;
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
    let find_by = find_by(&m, res, &operation)?;
    let mappings = mappings(&m, res.get("field_mappings"), &file)?;
    check_mapped(&m, &operation, find_by.as_deref(), &mappings)?;
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
    let job = NewJob {
        id: 0,
        kind: "write",
        operation,
        module: m.api_name.clone(),
        request: request.to_string(),
        created_by: caller.user_id,
        created_time: 0,
        total: file.rows,
        callback_url: cb.map(|c| c.0),
    };
    let (id, _) = start_job(&caller, job).await?;
    Ok(json_response(
        201,
        &Success::new("success")
            .detail("id", id.to_string())
            .detail("created_by", user_json(&app, &caller.org, caller.user_id))
            .to_value(),
    ))
}

/// `operation`: insert, update or upsert.
fn operation(body: &Map<String, Value>) -> Result<String, ApiError> {
    match body.get("operation") {
        None | Some(Value::Null) => Err(missing_key("operation")),
        Some(v) => v
            .as_str()
            .map(|s| s.to_ascii_lowercase())
            .filter(|s| matches!(s.as_str(), "insert" | "update" | "upsert"))
            .ok_or_else(|| invalid("operation", "operation must be insert, update or upsert")),
    }
}

/// `character_encoding`: UTF-8 (the default) or ISO-8859-1.
fn encoding(body: &Map<String, Value>) -> Result<&'static str, ApiError> {
    match body
        .get("character_encoding")
        .and_then(|v| v.as_str())
        .map(|s| s.trim().to_ascii_lowercase())
        .as_deref()
    {
        None | Some("utf-8") | Some("utf8") => Ok("utf-8"),
        Some("iso-8859-1") | Some("latin1") | Some("latin-1") => Ok("iso-8859-1"),
        Some(_) => Err(invalid(
            "character_encoding",
            "supported encodings are UTF-8 and ISO-8859-1",
        )),
    }
}

/// The one `resource` of type `data` a job writes.
fn resource(body: &Map<String, Value>) -> Result<&Map<String, Value>, ApiError> {
    let resources = match body.get("resource") {
        Some(Value::Array(a)) if !a.is_empty() => a,
        _ => return Err(missing_key("resource")),
    };
    if resources.len() > 1 {
        return Err(ApiError::new(Code::NotSupported)
            .detail("api_name", "resource")
            .message("one resource per bulk write job is supported"));
    }
    let res = resources[0]
        .as_object()
        .ok_or_else(|| invalid("resource", "resource items must be objects"))?;
    if let Some(t) = res.get("type").and_then(|v| v.as_str()) {
        if t != "data" {
            return Err(invalid("type", "type must be data"));
        }
    }
    Ok(res)
}

/// The module scopes an operation writes with (upsert: both).
fn write_scopes(caller: &Caller, m: &Module, operation: &str) -> Result<(), ApiError> {
    match operation {
        "insert" => module_scope(caller, m, Op::Create),
        "update" => module_scope(caller, m, Op::Update),
        _ => {
            module_scope(caller, m, Op::Create)?;
            module_scope(caller, m, Op::Update)
        }
    }
}

/// `find_by`: `id` or a unique field; needed unless inserting.
fn find_by(
    m: &Module,
    res: &Map<String, Value>,
    operation: &str,
) -> Result<Option<String>, ApiError> {
    let find_by = res.get("find_by").and_then(|v| v.as_str());
    match (find_by, operation) {
        (None, "insert") => Ok(None),
        (None, _) => Err(missing_key("find_by")),
        (Some(f), _) if f.eq_ignore_ascii_case("id") => Ok(Some("id".to_string())),
        (Some(f), _) => {
            let fld = m
                .field(f)
                .filter(|x| x.unique)
                .ok_or_else(|| invalid("find_by", "find_by must be id or a unique field"))?;
            Ok(Some(fld.api_name.clone()))
        }
    }
}

/// New records need every mandatory field mapped; `find_by` must be mapped.
fn check_mapped(
    m: &Module,
    operation: &str,
    find_by: Option<&str>,
    mappings: &[Mapping],
) -> Result<(), ApiError> {
    if operation == "insert" || (operation == "upsert" && find_by != Some("id")) {
        let unmapped: Vec<&str> = m
            .fields
            .iter()
            .filter(|f| f.system_mandatory && !f.read_only)
            .filter(|f| !mappings.iter().any(|mp| mp.api_name == f.api_name))
            .map(|f| f.api_name.as_str())
            .collect();
        if !unmapped.is_empty() {
            return Err(
                ApiError::new(Code::MandatoryFieldsNotMapped).detail("api_name", json!(unmapped))
            );
        }
    }
    if let Some(fb) = find_by {
        if !mappings.iter().any(|mp| mp.api_name == fb) {
            return Err(invalid(
                "find_by",
                "the find_by field is not mapped to a column",
            ));
        }
    }
    Ok(())
}

/// A mapping's `index`: a column the file has.
fn column_index(
    v: Option<&Value>,
    api_name: &str,
    file: &BulkFile,
) -> Result<Option<usize>, ApiError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(v) => {
            let i = v
                .as_u64()
                .ok_or_else(|| invalid("index", "index must be a non-negative integer"))?
                as usize;
            if i >= file.header.len() {
                return Err(ApiError::new(Code::ColumnIndexNotFound)
                    .detail("api_name", api_name)
                    .detail("index", i as i64)
                    .message(format!("column index {i} is not in the file")));
            }
            Ok(Some(i))
        }
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
                let index = column_index(o.get("index"), &api_name, file)?;
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
