//! Bulk read jobs: `POST /crm/bulk/v8/read`, `GET …/{job_id}` and its result.

use super::*;

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
