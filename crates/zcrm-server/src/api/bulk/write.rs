//! Bulk write jobs: `POST /crm/bulk/v8/write`, `GET …/{job_id}` and its result.

use super::*;
use crate::wire::Success;

pub async fn create_write(
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: Bytes,
) -> HttpResult<Response> {
    require_json(&headers)?;
    let (raw, body) = bodies::<body::WriteBody>(&body)?;
    let app = caller.app.clone();
    let operation = operation(body.operation.as_deref())?;
    let cb = callback(body.callback.as_ref(), &app)?;
    let encoding = encoding(body.character_encoding.as_deref())?;
    let res = resource(body.resource)?;
    let m = module_of(&caller, res.module.as_ref())?;
    write_scopes(&caller, &m, &operation)?;
    let file_id = res.file_id.ok_or_else(|| missing_key("file_id"))?;
    let file = caller
        .org
        .store
        .bulk_file(file_id.0)
        .await?
        .ok_or_else(|| ApiError::new(Code::InvalidFileId).detail("api_name", "file_id"))?;
    let ignore_empty = res.ignore_empty.or(body.ignore_empty).unwrap_or(false);
    let find_by = find_by(&m, res.find_by.as_deref(), &operation)?;
    let mappings = mappings(&m, res.field_mappings, &file)?;
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
    let request = json!({"request": Value::Object(raw), "spec": spec});
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
fn operation(op: Option<&str>) -> Result<String, ApiError> {
    let op = op
        .ok_or_else(|| missing_key("operation"))?
        .to_ascii_lowercase();
    if matches!(op.as_str(), "insert" | "update" | "upsert") {
        Ok(op)
    } else {
        Err(invalid(
            "operation",
            "operation must be insert, update or upsert",
        ))
    }
}

/// `character_encoding`: UTF-8 (the default) or ISO-8859-1.
fn encoding(e: Option<&str>) -> Result<&'static str, ApiError> {
    match e.map(|s| s.trim().to_ascii_lowercase()).as_deref() {
        None | Some("utf-8") | Some("utf8") => Ok("utf-8"),
        Some("iso-8859-1") | Some("latin1") | Some("latin-1") => Ok("iso-8859-1"),
        Some(_) => Err(invalid(
            "character_encoding",
            "supported encodings are UTF-8 and ISO-8859-1",
        )),
    }
}

/// The one `resource` of type `data` a job writes.
fn resource(resources: Option<Vec<body::WriteResource>>) -> Result<body::WriteResource, ApiError> {
    let mut resources = resources
        .filter(|r| !r.is_empty())
        .ok_or_else(|| missing_key("resource"))?;
    if resources.len() > 1 {
        return Err(ApiError::new(Code::NotSupported)
            .detail("api_name", "resource")
            .message("one resource per bulk write job is supported"));
    }
    let res = resources.remove(0);
    if res.kind.as_deref().is_some_and(|t| t != "data") {
        return Err(invalid("type", "type must be data"));
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
fn find_by(m: &Module, find_by: Option<&str>, operation: &str) -> Result<Option<String>, ApiError> {
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
    i: Option<u64>,
    api_name: &str,
    file: &BulkFile,
) -> Result<Option<usize>, ApiError> {
    match i {
        None => Ok(None),
        Some(i) if (i as usize) < file.header.len() => Ok(Some(i as usize)),
        Some(i) => Err(ApiError::new(Code::ColumnIndexNotFound)
            .detail("api_name", api_name)
            .detail("index", i as i64)
            .message(format!("column index {i} is not in the file"))),
    }
}

/// A mapping's field: `id`, or a field of the module a file may write.
fn mapped_field(m: &Module, name: &str) -> Result<(Option<usize>, String), ApiError> {
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
}

/// `field_mappings` resolved against the module and the file's header. Absent:
/// every header column that names a field.
fn mappings(
    m: &Module,
    given: Option<Vec<body::FieldMapping>>,
    file: &BulkFile,
) -> Result<Vec<Mapping>, ApiError> {
    let Some(given) = given else {
        return file
            .header
            .iter()
            .enumerate()
            .map(|(i, h)| {
                let (field, api_name) = mapped_field(m, h)?;
                Ok(Mapping {
                    field,
                    api_name,
                    index: Some(i),
                    default: None,
                    format: None,
                })
            })
            .collect();
    };
    let mut out: Vec<Mapping> = Vec::new();
    for item in given {
        let name = item
            .api_name
            .as_deref()
            .ok_or_else(|| missing_key("api_name"))?;
        let (field, api_name) = mapped_field(m, name)?;
        if item
            .find_by
            .as_deref()
            .is_some_and(|fb| !fb.eq_ignore_ascii_case("id"))
        {
            return Err(ApiError::new(Code::NotSupported)
                .detail("api_name", api_name.as_str())
                .message("lookups are matched by id"));
        }
        let default = item.default_value.and_then(|d| d.value.or(d.name));
        let index = match (column_index(item.index, &api_name, file)?, &default) {
            (Some(i), _) => Some(i),
            (None, Some(_)) => None,
            (None, None) => Some(
                file.header
                    .iter()
                    .position(|h| h.eq_ignore_ascii_case(&api_name))
                    .ok_or_else(|| {
                        ApiError::new(Code::MissingRequiredKey)
                            .detail("api_name", api_name.as_str())
                            .message(format!(
                                "required key index for field {api_name} is not found in request body."
                            ))
                    })?,
            ),
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
            format: item.format,
        });
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
