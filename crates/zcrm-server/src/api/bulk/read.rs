//! Bulk read jobs: `POST /crm/bulk/v8/read`, `GET …/{job_id}` and its result.

use super::*;

pub async fn create_read(
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: Bytes,
) -> HttpResult<Response> {
    require_json(&headers)?;
    let (raw, body) = bodies::<body::ReadBody>(&body)?;
    let app = caller.app.clone();
    let q = body
        .query
        .ok_or_else(|| ApiError::new(Code::MandatoryNotFound).detail("api_name", "query"))?;
    let m = module_of(&caller, q.module.as_ref())?;
    module_scope(&caller, &m, Op::Read)?;
    let fields = read_fields(&m, q.fields)?;
    let page = match &q.page {
        None => 1,
        Some(p) => p
            .value()
            .filter(|p| *p >= 1 && *p <= 100_000)
            .ok_or_else(|| invalid("page", "page must be a positive integer"))?,
    };
    if q.page_token.is_some() {
        return Err(invalid("page_token", "the page token is not valid").into());
    }
    file_type(body.file_type.as_deref())?;
    let owner = match &q.cvid {
        None => None,
        Some(cv) => crate::service::views::owner_filter(&m, cv, caller.user_id)
            .ok_or_else(|| invalid("cvid", "the cvid given seems to be invalid"))?,
    };
    let cb = callback(body.callback.as_ref(), &app)?;
    let rr = ReadReq {
        module: m.api_name.clone(),
        fields,
        criteria: q.criteria,
        owner,
        page,
    };
    // Everything a job needs is checked now, so a job fails only for the server's
    // reasons; the service checks the scopes of what its fields and criteria reach.
    work::read_spec_for(&caller, &rr)?;
    let request = json!({"request": Value::Object(raw), "spec": rr});
    let job = NewJob {
        id: 0,
        kind: "read",
        operation: "read".into(),
        module: m.api_name.clone(),
        request: request.to_string(),
        created_by: caller.user_id,
        created_time: 0,
        total: 0,
        callback_url: cb.map(|c| c.0),
    };
    let (id, now) = start_job(&caller, job).await?;
    Ok(json_response(
        201,
        &json!({"data": [{"status": "success", "code": "ADDED_SUCCESSFULLY", "message": "Added successfully.",
                          "details": {"id": id.to_string(), "operation": "read", "state": "ADDED",
                                      "created_by": user_json(&app, &caller.org, caller.user_id),
                                      "created_time": time(&caller.org, now)}}],
                "info": {}}),
    ))
}

/// `query.fields`: the columns after `id` (always first); absent: every
/// field a CSV can hold.
fn read_fields(m: &Module, fields: Option<Vec<String>>) -> Result<Vec<String>, ApiError> {
    match fields {
        None => Ok(m
            .fields
            .iter()
            .filter(|f| {
                !matches!(
                    f.data_type,
                    DataType::Subform | DataType::Fileupload | DataType::Imageupload
                )
            })
            .map(|f| f.api_name.clone())
            .collect()),
        Some(list) => Ok(list
            .into_iter()
            .filter(|s| !s.eq_ignore_ascii_case("id"))
            .collect()),
    }
}

/// `file_type`: csv (the default); ics is Zoho's for Events, not served.
fn file_type(file_type: Option<&str>) -> Result<(), ApiError> {
    match file_type {
        None | Some("csv") => Ok(()),
        Some("ics") => Err(ApiError::new(Code::NotSupported)
            .detail("api_name", "file_type")
            .message("ics export is not supported; use csv")),
        Some(_) => Err(invalid("file_type", "file_type must be csv")),
    }
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
