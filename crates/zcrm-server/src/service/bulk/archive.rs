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
