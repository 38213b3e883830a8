//! An uploaded ZIP: one CSV entry, streamed with the bytes it may unpack to
//! bounded, its delimiter sniffed and its rows counted.

use super::*;

/// What an uploaded ZIP holds.
#[derive(Debug)]
pub struct Inspected {
    pub header: Vec<String>,
    pub rows: i64,
}

/// Counts quote characters of what passes through, and refuses to pass more
/// than `limit` bytes (what a ZIP entry *says* it unpacks to can lie), or a
/// record longer than `MAX_RECORD_BYTES`: the CSV reader holds a whole record
/// in memory, so one 200 MB line would cost 200 MB.
struct Guard<R> {
    inner: R,
    read: u64,
    limit: u64,
    quotes: Rc<Cell<u64>>,
    /// Bytes since the last line end outside quotes (a record's end, as
    /// quotes pair up in a CSV, escaped ones included).
    in_record: u64,
}

impl<R: Read> Read for Guard<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if self.read > self.limit {
            return Err(std::io::Error::other(TOO_LARGE));
        }
        let mut quotes = self.quotes.get();
        for b in &buf[..n] {
            match b {
                b'"' => quotes += 1,
                b'\n' if quotes.is_multiple_of(2) => self.in_record = 0,
                _ => {}
            }
            self.in_record += 1;
            if self.in_record > MAX_RECORD_BYTES {
                return Err(std::io::Error::other(RECORD_TOO_LARGE));
            }
        }
        self.quotes.set(quotes);
        Ok(n)
    }
}

const TOO_LARGE: &str = "unpacks to more than allowed";
const RECORD_TOO_LARGE: &str = "a record is longer than allowed";

/// Most bytes of one CSV record (a row, or the header): 200 columns of
/// Zoho's longest text (a 32,000-character text area) fit with room.
pub const MAX_RECORD_BYTES: u64 = 8 * 1024 * 1024;

/// Most bytes of one column name in the header.
pub const MAX_COLUMN_NAME: usize = 255;

fn record_too_large() -> ApiError {
    ApiError::new(Code::FileTooLarge).message(format!(
        "a row of the CSV is longer than {} MB",
        MAX_RECORD_BYTES / (1024 * 1024)
    ))
}

/// The error of a CSV read that failed.
pub(super) fn read_error(e: &csv::Error) -> ApiError {
    let why = e.to_string();
    if why.contains(RECORD_TOO_LARGE) {
        record_too_large()
    } else if why.contains(TOO_LARGE) {
        ApiError::new(Code::FileTooLarge)
    } else {
        bad_zip("invalid file format. the CSV cannot be read")
    }
}

pub(super) fn bad_zip(msg: &str) -> ApiError {
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

pub(super) type CsvReader<'a> = csv::Reader<Box<dyn Read + 'a>>;

/// A streaming CSV reader over the ZIP's one CSV entry (delimiter sniffed
/// from the header line), and the count of quote characters read so far.
pub(super) fn open_csv<'a>(
    archive: &'a mut Archive<'_>,
) -> Result<(CsvReader<'a>, Rc<Cell<u64>>), ApiError> {
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
        in_record: 0,
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
            Err(e) if e.to_string().contains(RECORD_TOO_LARGE) => return Err(record_too_large()),
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

pub(super) fn blank(rec: &csv::ByteRecord) -> bool {
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
            Err(e) => return Err(read_error(&e)),
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
                if s.trim().len() > MAX_COLUMN_NAME {
                    return Err(ApiError::new(Code::FileNotSupported).message(format!(
                        "a column name of the CSV is longer than {MAX_COLUMN_NAME} bytes"
                    )));
                }
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
