//! `POST /crm/v8/upload`: a ZIP holding one CSV, checked and stored for a write job.

use super::*;

/// Upload bodies may be this large before the handler gives up reading
/// (the ZIP itself is refused past 25 MB with `FILE_TOO_LARGE`).
pub const UPLOAD_BODY_LIMIT: usize = work::MAX_ZIP_BYTES * 2;

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
