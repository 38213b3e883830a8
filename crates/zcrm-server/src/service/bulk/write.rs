//! A write job: CSV rows checked as the records API checks them, saved in
//! batches, and the result ZIP of every row.

use super::archive::{blank, open_csv};
use super::*;

fn decode(bytes: &[u8], encoding: &str) -> Option<String> {
    if encoding == "iso-8859-1" {
        return Some(bytes.iter().map(|b| *b as char).collect());
    }
    std::str::from_utf8(bytes).ok().map(str::to_string)
}

/// A CSV cell as the JSON value the records API would take for the field.
fn cell_json(m: &Module, field: usize, raw: &str, format: Option<&str>) -> Value {
    let f = &m.fields[field];
    match f.data_type {
        DataType::Boolean => match raw.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Value::Bool(true),
            "false" | "0" | "no" => Value::Bool(false),
            _ => Value::String(raw.to_string()),
        },
        DataType::Multiselectpicklist => Value::Array(
            raw.split(';')
                .map(|s| Value::String(s.trim().to_string()))
                .filter(|v| v.as_str() != Some(""))
                .collect(),
        ),
        DataType::Date => {
            let fmt = match format.unwrap_or("MM/dd/yyyy") {
                "yyyy-MM-dd" => "%Y-%m-%d",
                "dd/MM/yyyy" => "%d/%m/%Y",
                "dd-MM-yyyy" => "%d-%m-%Y",
                "MM-dd-yyyy" => "%m-%d-%Y",
                _ => "%m/%d/%Y",
            };
            match chrono::NaiveDate::parse_from_str(raw.trim(), fmt)
                .or_else(|_| chrono::NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d"))
            {
                Ok(d) => Value::String(d.format("%Y-%m-%d").to_string()),
                Err(_) => Value::String(raw.to_string()),
            }
        }
        _ => Value::String(raw.to_string()),
    }
}

/// One CSV row as a checked write: the records API's validation.
fn row_to_write(
    spec: &WriteSpec,
    m: &Module,
    rec: &csv::ByteRecord,
    row_no: i64,
    app: &App,
    now: i64,
) -> (Result<WriteRow, ApiError>, Option<(usize, SqlValue)>) {
    let err = |e: ApiError| (Err(e), None);
    if rec.len() != spec.header_len {
        return err(ApiError::new(Code::CannotProcess).message(format!(
            "row has {} columns, the header {}",
            rec.len(),
            spec.header_len
        )));
    }
    let mut obj = Map::new();
    let mut id_cell: Option<String> = None;
    for mp in &spec.mappings {
        let raw = match mp.index {
            Some(i) => match decode(rec.get(i).unwrap_or(b""), &spec.encoding) {
                Some(s) => Some(s),
                None => {
                    return err(ApiError::new(Code::InvalidData)
                        .detail("api_name", mp.api_name.as_str())
                        .message(format!("not valid {} text", spec.encoding)))
                }
            },
            None => None,
        };
        let raw = raw.filter(|s| !s.trim().is_empty());
        let Some(fi) = mp.field else {
            id_cell = raw;
            continue;
        };
        let v = match (raw, &mp.default) {
            (Some(s), _) => cell_json(m, fi, &s, mp.format.as_deref()),
            (None, Some(d)) => d.clone(),
            (None, None) => {
                // Empty: left as it is, or (update, ignore_empty off) cleared.
                if spec.operation != "insert" && !spec.ignore_empty {
                    obj.insert(mp.api_name.clone(), Value::Null);
                }
                continue;
            }
        };
        obj.insert(mp.api_name.clone(), v);
    }
    let record = Value::Object(obj);
    let by_id = spec.find_by.as_deref() == Some("id");
    let id = match (&id_cell, by_id) {
        (Some(s), true) => match zcrm_core::ids::parse_id_str(s.trim()) {
            Some(i) => Some(i),
            None => {
                return err(ApiError::new(Code::InvalidData)
                    .detail("api_name", "id")
                    .message("the id given seems to be invalid"))
            }
        },
        _ => None,
    };
    let mode = match spec.operation.as_str() {
        "insert" => Mode::Create,
        "update" => Mode::Update,
        _ if by_id && id.is_none() => Mode::Create,
        _ if by_id => Mode::Update,
        _ => Mode::Upsert,
    };
    if spec.operation == "update" && by_id && id.is_none() {
        return err(ApiError::new(Code::MandatoryNotFound).detail("api_name", "id"));
    }
    let idx = (row_no - 1) as usize;
    let mut row = match check_record(m, &record, idx, mode, id, &app.ids, now) {
        Ok(r) => r,
        Err(e) => return err(e),
    };
    let mut find = None;
    if let Some(fb) = spec.find_by.as_deref().filter(|f| *f != "id") {
        let fi = m.fields.iter().position(|f| f.api_name == fb);
        let val = fi.and_then(|fi| row.values.iter().find(|(i, _)| *i == fi));
        match (spec.operation.as_str(), fi, val) {
            ("update", Some(fi), Some((_, c))) if !c.value.is_null() => {
                find = Some((fi, c.value.clone()))
            }
            ("update", _, _) => {
                return err(ApiError::new(Code::MandatoryNotFound).detail("api_name", fb))
            }
            (_, Some(fi), _) => row.upsert_on = vec![fi],
            _ => {}
        }
    }
    (Ok(row), find)
}

pub(super) async fn run_write(app: &Arc<App>, org: &Arc<OrgCtx>, id: i64) -> Result<(), String> {
    let Some(job) = org
        .store
        .claim_bulk_job(id, app.node, app.now())
        .await
        .map_err(store_err)?
    else {
        return Ok(());
    };
    let req: Value = serde_json::from_str(&job.request).map_err(store_err)?;
    let spec: WriteSpec = serde_json::from_value(req["spec"].clone()).map_err(store_err)?;
    let Some(m) = app.catalog.module(&spec.module).cloned() else {
        return fail(app, org, id, "module not found").await;
    };
    let Some(zip_bytes) = app.files.get(&spec.file_key).await.map_err(store_err)? else {
        return fail(app, org, id, "the uploaded file is gone").await;
    };
    let start = job.checkpoint;
    let t0 = std::time::Instant::now();
    // A blocking thread parses and validates (the records API's checks), so
    // the next batch is ready while this one commits; batches come over a
    // small channel.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<BatchRow>>(2);
    let parser = spawn_parser(
        app.clone(),
        m.clone(),
        spec.clone(),
        zip_bytes.clone(),
        start,
        tx,
    );
    let mut checkpoint = start;
    let user = job.created_by;
    while let Some(rows) = rx.recv().await {
        let now = app.now();
        let n = rows.len() as i64;
        tracing::debug!("bulk job {id}: batch of {n} checked at {:?}", t0.elapsed());
        let ctx = WriteCtx {
            now,
            user,
            users: org.user_ids(),
        };
        let ok = org
            .store
            .bulk_write_batch(id, app.node, checkpoint, m.clone(), rows, ctx, |r| {
                row_error(&crate::error::refusal(r.clone()))
            })
            .await
            .map_err(store_err)?;
        if !ok {
            return Ok(()); // Another worker holds the job now.
        }
        checkpoint += n;
        tracing::debug!(
            "bulk job {id}: {checkpoint} rows committed at {:?}",
            t0.elapsed()
        );
        app.outbox_wake.notify_one();
    }
    match parser.await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return fail(app, org, id, &e).await,
        Err(e) => return fail(app, org, id, &e.to_string()).await,
    }
    // Every row is in: the result file, then the job's end.
    let key = format!("bulk/{}/write-{id}.zip", org.org.id);
    let zip = match write_result(org, id, zip_bytes).await {
        Ok(z) => z,
        Err(e) => return fail(app, org, id, &e).await,
    };
    app.files
        .put(&key, bytes::Bytes::from(zip))
        .await
        .map_err(store_err)?;
    org.store
        .finish_bulk_job(
            id,
            app.node,
            COMPLETED,
            Some(key),
            checkpoint,
            false,
            None,
            app.now(),
        )
        .await
        .map_err(store_err)?;
    Ok(())
}

/// Reads the job's CSV from row `start` on a blocking thread, checking each
/// row as the records API does, and sends batches of `WRITE_BATCH` rows.
fn spawn_parser(
    app2: Arc<App>,
    m2: Arc<Module>,
    spec2: WriteSpec,
    zb: bytes::Bytes,
    start: i64,
    tx: tokio::sync::mpsc::Sender<Vec<BatchRow>>,
) -> tokio::task::JoinHandle<Result<(), String>> {
    tokio::task::spawn_blocking(move || -> Result<(), String> {
        let mut archive = archive(&zb).map_err(|e| e.message)?;
        let (mut rdr, _) = open_csv(&mut archive).map_err(|e| e.message)?;
        let mut rec = csv::ByteRecord::new();
        let mut row_no = 0i64;
        let mut header_seen = false;
        let mut batch = Vec::with_capacity(WRITE_BATCH);
        let mut now = app2.now();
        while rdr.read_byte_record(&mut rec).map_err(store_err)? {
            if !header_seen {
                header_seen = true;
                continue;
            }
            if blank(&rec) {
                continue;
            }
            row_no += 1;
            if row_no <= start {
                continue;
            }
            if batch.is_empty() {
                now = app2.now();
            }
            let (row, find) = row_to_write(&spec2, &m2, &rec, row_no, &app2, now);
            batch.push(BatchRow {
                row_no,
                row: row.map_err(|e| row_error(&e)),
                find,
                new_id: app2.ids.next(now),
            });
            if batch.len() == WRITE_BATCH && tx.blocking_send(std::mem::take(&mut batch)).is_err() {
                return Ok(());
            }
        }
        if !batch.is_empty() {
            let _ = tx.blocking_send(batch);
        }
        Ok(())
    })
}

/// The result ZIP of a write: each input row, then `STATUS`, `RECORD_ID`, `ERRORS`.
async fn write_result(org: &OrgCtx, job: i64, zip_bytes: bytes::Bytes) -> Result<Vec<u8>, String> {
    // Outcomes by row number, read in pages.
    let mut results = Vec::new();
    let mut after = 0;
    loop {
        let page = org
            .store
            .bulk_write_results(job, after, 10_000)
            .await
            .map_err(store_err)?;
        let Some(last) = page.last() else { break };
        after = last.row_no;
        results.extend(page);
    }
    tokio::task::spawn_blocking(move || -> Result<Vec<u8>, String> {
        let mut archive = archive(&zip_bytes).map_err(|e| e.message)?;
        let (mut rdr, _) = open_csv(&mut archive).map_err(|e| e.message)?;
        let mut out = csv::WriterBuilder::new()
            .flexible(true)
            .from_writer(Vec::new());
        let mut rec = csv::ByteRecord::new();
        let mut header_seen = false;
        let mut width = 0;
        let mut row_no = 0i64;
        let mut it = results.into_iter().peekable();
        while rdr.read_byte_record(&mut rec).map_err(store_err)? {
            if !header_seen {
                header_seen = true;
                width = rec.len();
                let mut h = rec.clone();
                if let Some(first) = rec.get(0) {
                    // The header without a byte-order mark.
                    let first = first
                        .strip_prefix(b"\xEF\xBB\xBF")
                        .unwrap_or(first)
                        .to_vec();
                    let mut fixed = csv::ByteRecord::new();
                    fixed.push_field(&first);
                    for f in rec.iter().skip(1) {
                        fixed.push_field(f);
                    }
                    h = fixed;
                }
                h.push_field(b"STATUS");
                h.push_field(b"RECORD_ID");
                h.push_field(b"ERRORS");
                out.write_byte_record(&h).map_err(store_err)?;
                continue;
            }
            if blank(&rec) {
                continue;
            }
            row_no += 1;
            while it.peek().is_some_and(|r| r.row_no < row_no) {
                it.next();
            }
            // Ragged rows are cut or padded to the header, so the status columns line up.
            let mut line = csv::ByteRecord::new();
            for k in 0..width {
                line.push_field(rec.get(k).unwrap_or(b""));
            }
            match it.peek().filter(|r| r.row_no == row_no) {
                Some(r) => {
                    line.push_field(r.status.as_bytes());
                    line.push_field(
                        r.record_id
                            .map(|i| i.to_string())
                            .unwrap_or_default()
                            .as_bytes(),
                    );
                    line.push_field(r.errors.clone().unwrap_or_default().as_bytes());
                }
                None => {
                    line.push_field(b"UNPROCESSED");
                    line.push_field(b"");
                    line.push_field(b"");
                }
            }
            out.write_byte_record(&line).map_err(store_err)?;
        }
        let csv_bytes = out.into_inner().map_err(store_err)?;
        zip_one(&format!("{job}.csv"), &csv_bytes)
    })
    .await
    .map_err(store_err)?
}

/// A ZIP holding one file.
pub(super) fn zip_one(name: &str, data: &[u8]) -> Result<Vec<u8>, String> {
    let mut z = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(1));
    z.start_file(name, opts).map_err(store_err)?;
    z.write_all(data).map_err(store_err)?;
    Ok(z.finish().map_err(store_err)?.into_inner())
}

/// A row's error as Zoho's result files write it: `CODE-api_name`.
fn row_error(e: &ApiError) -> String {
    match e.details.get("api_name").and_then(|v| v.as_str()) {
        Some(f) => format!("{}-{f}", e.code.as_str()),
        None => e.code.as_str().to_string(),
    }
}
