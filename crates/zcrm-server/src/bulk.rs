//! Bulk jobs' work: reading uploaded ZIPs (one CSV, streamed, bounded),
//! running write and read jobs in batches, building result ZIPs, and sending
//! job callbacks with retries. The HTTP side is `api/bulk.rs`.

use crate::service::records::{check_record, Mode};
use crate::state::{App, OrgCtx};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::cell::Cell;
use std::io::{Cursor, Read, Write};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;
use zcrm_core::meta::{DataType, Module};
use zcrm_core::query::{Column, Filter, UserInfo};
use zcrm_core::value::{format_datetime, SqlValue};
use zcrm_core::{ApiError, Code};
use zcrm_store::bulk::{BatchRow, ReadSpec, COMPLETED};
use zcrm_store::records::{WriteCtx, WriteRow};

/// Zoho's upload limit: a ZIP of at most 25 MB.
pub const MAX_ZIP_BYTES: usize = 25 * 1024 * 1024;
/// Most CSV bytes one ZIP may unpack to: a ZIP bomb stops here.
pub const MAX_CSV_BYTES: u64 = 256 * 1024 * 1024;
/// Zoho's column limit.
pub const MAX_COLUMNS: usize = 200;
/// Rows per write transaction.
const WRITE_BATCH: usize = 5_000;
/// Records per bulk-read page (Zoho: 200,000).
pub const READ_PAGE: i64 = 200_000;
/// Records read from the database at a time while building a read result.
const READ_CHUNK: i64 = 20_000;
/// Callback attempts: the first and 5 retries.
const CALLBACK_ATTEMPTS: i64 = 6;

/// What an uploaded ZIP holds.
#[derive(Debug)]
pub struct Inspected {
    pub header: Vec<String>,
    pub rows: i64,
}

/// Counts quote characters of what passes through, and refuses to pass more
/// than `limit` bytes (what a ZIP entry *says* it unpacks to can lie).
struct Guard<R> {
    inner: R,
    read: u64,
    limit: u64,
    quotes: Rc<Cell<u64>>,
}

impl<R: Read> Read for Guard<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if self.read > self.limit {
            return Err(std::io::Error::other(TOO_LARGE));
        }
        let q = buf[..n].iter().filter(|b| **b == b'"').count() as u64;
        self.quotes.set(self.quotes.get() + q);
        Ok(n)
    }
}

const TOO_LARGE: &str = "unpacks to more than allowed";

fn bad_zip(msg: &str) -> ApiError {
    ApiError::new(Code::InvalidFileFormat).message(msg)
}

type Archive<'a> = zip::ZipArchive<Cursor<&'a [u8]>>;

pub fn archive(zip_bytes: &[u8]) -> Result<Archive<'_>, ApiError> {
    zip::ZipArchive::new(Cursor::new(zip_bytes))
        .map_err(|_| bad_zip("invalid file format. only zip format is supported"))
}

/// The one CSV entry of a ZIP (directories and macOS metadata ignored).
fn csv_entry(archive: &mut Archive<'_>) -> Result<usize, ApiError> {
    let mut found = Vec::new();
    for i in 0..archive.len() {
        let f = archive
            .by_index_raw(i)
            .map_err(|_| bad_zip("invalid file format. only zip format is supported"))?;
        let name = f.name().map(|n| n.to_string()).unwrap_or_default();
        if f.is_dir() || name.starts_with("__MACOSX/") {
            continue;
        }
        found.push((i, name));
    }
    match found.as_slice() {
        [(i, name)] if name.to_ascii_lowercase().ends_with(".csv") => Ok(*i),
        [_] => Err(bad_zip("invalid file format. the ZIP must hold a CSV file")),
        [] => Err(bad_zip("invalid file format. the ZIP holds no file")),
        _ => Err(bad_zip(
            "invalid file format. the ZIP must hold exactly one CSV file",
        )),
    }
}

/// Zoho takes `,` `;` `:` `|` as delimiters: the one the header line uses most.
fn sniff(first_line: &[u8]) -> u8 {
    let mut best = (b',', 0);
    for d in [b',', b';', b'|', b':'] {
        let n = first_line.iter().filter(|b| **b == d).count();
        if n > best.1 {
            best = (d, n);
        }
    }
    best.0
}

type CsvReader<'a> = csv::Reader<Box<dyn Read + 'a>>;

/// A streaming CSV reader over the ZIP's one CSV entry (delimiter sniffed
/// from the header line), and the count of quote characters read so far.
fn open_csv<'a>(archive: &'a mut Archive<'_>) -> Result<(CsvReader<'a>, Rc<Cell<u64>>), ApiError> {
    let i = csv_entry(archive)?;
    let entry = archive
        .by_index(i)
        .map_err(|_| bad_zip("invalid file format. only zip format is supported"))?;
    if entry.size() > MAX_CSV_BYTES {
        return Err(ApiError::new(Code::FileTooLarge));
    }
    let quotes = Rc::new(Cell::new(0));
    let mut guard = Guard {
        inner: entry,
        read: 0,
        limit: MAX_CSV_BYTES,
        quotes: quotes.clone(),
    };
    // The first line (up to 64 kB) decides the delimiter.
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while head.len() < 65_536 {
        match guard.read(&mut byte) {
            Ok(0) => break,
            Ok(_) => {
                head.push(byte[0]);
                if byte[0] == b'\n' {
                    break;
                }
            }
            Err(_) => return Err(ApiError::new(Code::FileTooLarge)),
        }
    }
    let delim = sniff(&head);
    let reader: Box<dyn Read + 'a> = Box::new(Cursor::new(head).chain(guard));
    let rdr = csv::ReaderBuilder::new()
        .delimiter(delim)
        .flexible(true)
        .has_headers(false)
        .from_reader(reader);
    Ok((rdr, quotes))
}

fn blank(rec: &csv::ByteRecord) -> bool {
    rec.len() <= 1 && rec.iter().all(|f| f.is_empty())
}

/// Checks an uploaded ZIP: one CSV, not too large unpacked, quotes closed,
/// a header of at most 200 columns, at most `max_rows` data rows.
pub fn inspect(zip_bytes: &[u8], max_rows: i64) -> Result<Inspected, ApiError> {
    let mut archive = archive(zip_bytes)?;
    let (mut rdr, quotes) = open_csv(&mut archive)?;
    let mut rec = csv::ByteRecord::new();
    let mut header: Option<Vec<String>> = None;
    let mut rows = 0i64;
    loop {
        match rdr.read_byte_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                return Err(if e.to_string().contains(TOO_LARGE) {
                    ApiError::new(Code::FileTooLarge)
                } else {
                    bad_zip("invalid file format. the CSV cannot be read")
                })
            }
        }
        if header.is_none() {
            let mut cols = Vec::with_capacity(rec.len());
            for (k, f) in rec.iter().enumerate() {
                let f = if k == 0 {
                    f.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(f)
                } else {
                    f
                };
                let s = std::str::from_utf8(f).map_err(|_| {
                    ApiError::new(Code::FileNotSupported)
                        .message("the CSV header is not valid UTF-8")
                })?;
                cols.push(s.trim().to_string());
            }
            if cols.iter().all(|c| c.is_empty()) {
                return Err(bad_zip("invalid file format. the CSV has no header"));
            }
            if cols.len() > MAX_COLUMNS {
                return Err(
                    ApiError::new(Code::HeaderLimitExceeded).detail("limit", MAX_COLUMNS as i64)
                );
            }
            header = Some(cols);
            continue;
        }
        if blank(&rec) {
            continue;
        }
        rows += 1;
        if rows > max_rows {
            return Err(ApiError::new(Code::LimitExceeded)
                .detail("limit", max_rows)
                .message(format!("the file has more than {max_rows} rows")));
        }
    }
    // Quote characters come in pairs in a well-formed CSV; an odd count means
    // a quoted field ran to the end of the file.
    if quotes.get() % 2 == 1 {
        return Err(bad_zip(
            "invalid file format. a quoted field of the CSV is not closed",
        ));
    }
    let header = header.ok_or_else(|| bad_zip("invalid file format. the CSV is empty"))?;
    Ok(Inspected { header, rows })
}

/// Where a mapped field's value comes from.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Mapping {
    /// Index into the module's fields; `None` for `id`.
    pub field: Option<usize>,
    pub api_name: String,
    pub index: Option<usize>,
    pub default: Option<Value>,
    /// Date format of the column (`MM/dd/yyyy` by default, as Zoho).
    pub format: Option<String>,
}

/// A write job as resolved when it was created.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WriteSpec {
    pub operation: String,
    pub module: String,
    pub file_id: i64,
    pub file_key: String,
    pub file_name: String,
    pub mappings: Vec<Mapping>,
    /// `id`, or a unique field's api name.
    pub find_by: Option<String>,
    pub ignore_empty: bool,
    /// `utf-8` or `iso-8859-1`.
    pub encoding: String,
    pub header_len: usize,
}

/// A read job as resolved when it was created.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReadReq {
    pub module: String,
    pub fields: Vec<String>,
    pub criteria: Option<Value>,
    /// Only records owned by this user (a "My …" custom view).
    pub owner: Option<i64>,
    pub page: i64,
}

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

/// Runs one job until it ends (or another node holds it).
pub fn spawn_job(app: Arc<App>, org: Arc<OrgCtx>, job: i64, kind: String) {
    if !app.claim_local(job) {
        return;
    }
    tokio::spawn(async move {
        let r = match kind.as_str() {
            "write" => run_write(&app, &org, job).await,
            _ => run_read(&app, &org, job).await,
        };
        if let Err(e) = r {
            // The database may be restarting: the sweep picks the job up again.
            tracing::warn!("bulk job {job}: {e}");
        }
        app.release_local(job);
    });
}

fn store_err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

async fn fail(app: &App, org: &OrgCtx, job: i64, why: &str) -> Result<(), String> {
    let error = json!({"code": "INTERNAL_ERROR", "message": why}).to_string();
    org.store
        .finish_bulk_job(
            job,
            app.node,
            "FAILED",
            None,
            0,
            false,
            Some(error),
            app.now(),
        )
        .await
        .map_err(store_err)?;
    Ok(())
}

async fn run_write(app: &Arc<App>, org: &Arc<OrgCtx>, id: i64) -> Result<(), String> {
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
    // A blocking thread parses; batches come over a small channel.
    // A blocking thread parses and validates (the records API's checks), so
    // the next batch is ready while this one commits; batches come over a
    // small channel.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<BatchRow>>(2);
    let zb = zip_bytes.clone();
    let (app2, m2, spec2) = (app.clone(), m.clone(), spec.clone());
    let parser = tokio::task::spawn_blocking(move || -> Result<(), String> {
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
                row,
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
    });
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
            .bulk_write_batch(id, app.node, checkpoint, m.clone(), rows, ctx)
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
fn zip_one(name: &str, data: &[u8]) -> Result<Vec<u8>, String> {
    let mut z = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(1));
    z.start_file(name, opts).map_err(store_err)?;
    z.write_all(data).map_err(store_err)?;
    Ok(z.finish().map_err(store_err)?.into_inner())
}

/// The users of an org as the query compiler needs them.
pub fn user_infos(org: &OrgCtx) -> Vec<UserInfo> {
    org.users()
        .iter()
        .map(|u| UserInfo {
            id: u.id,
            first_name: u.first_name.clone(),
            last_name: u.last_name.clone(),
            email: u.email.clone(),
            status: u.status.clone(),
        })
        .collect()
}

/// The columns and filter of a read, from its stored request.
pub fn read_spec(
    app: &App,
    org: &OrgCtx,
    req: &ReadReq,
) -> Result<(ReadSpec, Vec<String>), ApiError> {
    let m = app
        .catalog
        .module(&req.module)
        .cloned()
        .ok_or_else(|| ApiError::new(Code::ModuleNotAvailable))?;
    let mut columns: Vec<Column> = Vec::new();
    let mut names = vec!["Id".to_string()];
    for f in &req.fields {
        let path: Vec<&str> = f.split('.').collect();
        let c = zcrm_core::query::resolve(&app.catalog, &m, &path).map_err(|_| {
            ApiError::new(Code::FieldNotAvailable)
                .detail("api_name", f.as_str())
                .detail("module", m.api_name.as_str())
        })?;
        names.push(c.name.clone());
        columns.push(c);
    }
    let mut filters = Vec::new();
    if let Some(c) = &req.criteria {
        filters.push(crate::api::bulk_criteria(&app.catalog, &m, c, 0)?);
    }
    if let Some(owner) = req.owner {
        if let Ok(c) = zcrm_core::query::resolve(&app.catalog, &m, &["Owner"]) {
            filters.push(Filter::Cmp {
                col: c,
                op: zcrm_core::query::CmpOp::Eq,
                value: SqlValue::Int(owner),
            });
        }
    }
    let filter = match filters.len() {
        0 => None,
        1 => filters.pop(),
        _ => Some(Filter::And(filters)),
    };
    Ok((
        ReadSpec {
            module: m,
            columns,
            filter,
            users: user_infos(org),
        },
        names,
    ))
}

/// A read value as the CSV shows it.
fn csv_cell(col: &Column, v: &SqlValue, tz: chrono_tz::Tz) -> String {
    use zcrm_core::query::Kind;
    match v {
        SqlValue::Null => String::new(),
        SqlValue::Int(i) => match col.kind() {
            Kind::DateTime => format_datetime(*i, tz),
            Kind::Boolean => (*i != 0).to_string(),
            _ => i.to_string(),
        },
        SqlValue::Real(f) => f.to_string(),
        SqlValue::Text(s) => match col.kind() {
            Kind::Json => match serde_json::from_str::<Value>(s) {
                Ok(Value::Array(a)) => a
                    .iter()
                    .map(|x| {
                        x.as_str()
                            .map(String::from)
                            .unwrap_or_else(|| x.to_string())
                    })
                    .collect::<Vec<_>>()
                    .join(";"),
                _ => s.clone(),
            },
            _ => s.clone(),
        },
    }
}

async fn run_read(app: &Arc<App>, org: &Arc<OrgCtx>, id: i64) -> Result<(), String> {
    let Some(job) = org
        .store
        .claim_bulk_job(id, app.node, app.now())
        .await
        .map_err(store_err)?
    else {
        return Ok(());
    };
    let req: Value = serde_json::from_str(&job.request).map_err(store_err)?;
    let rr: ReadReq = serde_json::from_value(req["spec"].clone()).map_err(store_err)?;
    let (spec, names) = match read_spec(app, org, &rr) {
        Ok(s) => s,
        Err(e) => return fail(app, org, id, &e.message).await,
    };
    let skip = (rr.page - 1) * READ_PAGE;
    let start = org
        .store
        .bulk_read_start(&spec, skip)
        .await
        .map_err(store_err)?;
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(&names).map_err(store_err)?;
    let mut count = 0i64;
    let mut more = false;
    if let Some(mut after) = start {
        let tz = org.tz;
        loop {
            let want = (READ_PAGE - count).min(READ_CHUNK) + 1;
            let rows = org
                .store
                .bulk_read_chunk(&spec, after, want)
                .await
                .map_err(store_err)?;
            let got = rows.len() as i64;
            let take = got.min(READ_PAGE - count).min(READ_CHUNK);
            for r in rows.iter().take(take as usize) {
                let mut line: Vec<String> = Vec::with_capacity(r.len());
                line.push(r[0].as_i64().map(|i| i.to_string()).unwrap_or_default());
                for (c, v) in spec.columns.iter().zip(&r[1..]) {
                    line.push(csv_cell(c, v, tz));
                }
                out.write_record(&line).map_err(store_err)?;
            }
            count += take;
            if let Some(last) = (take as usize).checked_sub(1).and_then(|i| rows.get(i)) {
                after = last[0].as_i64().unwrap_or(after);
            }
            if count >= READ_PAGE {
                more = got > take;
                break;
            }
            if got <= take {
                break;
            }
            if !org
                .store
                .renew_bulk_job(id, app.node, app.now())
                .await
                .map_err(store_err)?
            {
                return Ok(());
            }
        }
    }
    let csv_bytes = out.into_inner().map_err(store_err)?;
    let zip = tokio::task::spawn_blocking(move || zip_one(&format!("{id}.csv"), &csv_bytes))
        .await
        .map_err(store_err)??;
    let key = format!("bulk/{}/read-{id}.zip", org.org.id);
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
            count,
            more,
            None,
            app.now(),
        )
        .await
        .map_err(store_err)?;
    Ok(())
}

/// Every few seconds: unfinished jobs of every org (a restart, a dead node),
/// and due callbacks.
pub async fn sweep(app: Arc<App>) {
    let client = crate::notify::guarded_client(app.allow_private_webhooks, "zcrm-bulk");
    loop {
        for org in app.open_orgs() {
            if let Ok(jobs) = org.store.pending_bulk_jobs().await {
                for (job, kind) in jobs {
                    spawn_job(app.clone(), org.clone(), job, kind);
                }
            }
            if let Some(client) = &client {
                send_callbacks(&app, &org, client).await;
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
            _ = app.bulk_wake.notified() => {}
        }
    }
}

async fn send_callbacks(app: &Arc<App>, org: &Arc<OrgCtx>, client: &reqwest::Client) {
    let now = app.now();
    let Ok(due) = org.store.claim_bulk_callbacks(now, 60_000, 50).await else {
        return;
    };
    for job in due {
        let Some(url) = job.callback_url.clone() else {
            continue;
        };
        let body = crate::api::bulk_job_json(app, org, &job);
        let sent = match crate::notify::check_url(&url, app.allow_private_webhooks) {
            Err(e) => Err(e),
            Ok(()) => match client
                .post(&url)
                .header("content-type", "application/json")
                .body(body.to_string())
                .send()
                .await
            {
                Ok(r) if r.status().is_success() => Ok(()),
                Ok(r) => Err(format!("HTTP {}", r.status().as_u16())),
                Err(e) => Err(e.to_string()),
            },
        };
        let attempts = job.callback_attempts + 1;
        let (state, next) = match sent {
            Ok(()) => ("sent", 0),
            Err(e) if attempts < CALLBACK_ATTEMPTS => {
                tracing::info!("bulk job {} callback failed: {e}", job.id);
                ("pending", app.now() + crate::notify::backoff_ms(attempts))
            }
            Err(e) => {
                tracing::warn!("bulk job {} callback given up: {e}", job.id);
                ("dead", 0)
            }
        };
        let _ = org
            .store
            .finish_bulk_callback(job.id, attempts, state, next)
            .await;
    }
}
