//! Reading catalogs, orders and NDJSON event files; writing NDJSON outputs.
//!
//! Reference data (catalog, orders) is strict: the first bad row is an error
//! naming the file and line. Event files are not parsed here at all: each
//! line goes to the core as bytes, where bad records become dead letters.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::catalog::{CatalogItem, Order};
use crate::dead_letter::Truncation;
use crate::tables::{CatalogTable, OrdersTable};
use crate::time::{Millis, parse_rfc3339};

/// A problem with an input file; `line` is 1-based where known.
#[derive(Debug, thiserror::Error)]
pub struct FileError {
    pub path: PathBuf,
    pub line: Option<u64>,
    pub message: String,
}

impl std::fmt::Display for FileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.path.display(), self.message),
            None => write!(f, "{}: {}", self.path.display(), self.message),
        }
    }
}

impl FileError {
    pub fn new(path: &Path, line: Option<u64>, message: impl Into<String>) -> Self {
        FileError {
            path: path.to_path_buf(),
            line,
            message: message.into(),
        }
    }
}

/// Opens a file for reading, with an error that names it.
pub fn open(path: &Path) -> Result<BufReader<File>, FileError> {
    File::open(path)
        .map(|f| BufReader::with_capacity(READ_BUFFER, f))
        .map_err(|e| FileError::new(path, None, format!("cannot open: {e}")))
}

/// Large reads, as an event file is read once, start to end, but not too
/// large: `replay` reads several files at once, and their buffers with
/// the core's tables stay in a core's L2 cache at 64 KiB each (256 KiB
/// each cost 3–4 % more time, though fewer calls into the kernel).
const READ_BUFFER: usize = 64 << 10;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Csv,
    Ndjson,
    JsonArray,
}

fn format_of(path: &Path) -> Result<Format, FileError> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("csv") => Ok(Format::Csv),
        Some("ndjson" | "jsonl") => Ok(Format::Ndjson),
        Some("json") => Ok(Format::JsonArray),
        _ => Err(FileError::new(
            path,
            None,
            "unknown format: use a .csv, .json (array), .ndjson or .jsonl file",
        )),
    }
}

/// Reads rows of `T` from a CSV (with header), NDJSON or JSON-array file,
/// checking each with `check`. Errors name the file and the line.
fn read_rows<T: DeserializeOwned>(
    path: &Path,
    check: impl FnMut(&T) -> Result<(), String>,
) -> Result<Vec<T>, FileError> {
    read_rows_from(path, open(path)?, check)
}

/// [`read_rows`] over any reader; `path` names the format and the errors.
fn read_rows_from<T: DeserializeOwned>(
    path: &Path,
    reader: impl BufRead,
    mut check: impl FnMut(&T) -> Result<(), String>,
) -> Result<Vec<T>, FileError> {
    let mut rows = Vec::new();
    let mut push = |row: T, line: Option<u64>| {
        check(&row).map_err(|m| FileError::new(path, line, m))?;
        rows.push(row);
        Ok::<_, FileError>(())
    };
    match format_of(path)? {
        Format::Csv => {
            let mut csv = csv::ReaderBuilder::new()
                .trim(csv::Trim::All)
                .from_reader(reader);
            let headers = csv
                .headers()
                .map_err(|e| FileError::new(path, Some(1), e.to_string()))?
                .clone();
            for record in csv.records() {
                let record = record.map_err(|e| {
                    FileError::new(path, e.position().map(csv_line), csv_message(&e, &headers))
                })?;
                let line = record.position().map(csv_line);
                let row = record
                    .deserialize(Some(&headers))
                    .map_err(|e| FileError::new(path, line, csv_message(&e, &headers)))?;
                push(row, line)?;
            }
        }
        Format::Ndjson => {
            for (i, line) in reader.lines().enumerate() {
                let n = i as u64 + 1;
                let line = line.map_err(|e| FileError::new(path, Some(n), e.to_string()))?;
                if line.trim().is_empty() {
                    continue;
                }
                let row = serde_json::from_str(&line)
                    .map_err(|e| FileError::new(path, Some(n), strip_location(&e)))?;
                push(row, Some(n))?;
            }
        }
        Format::JsonArray => {
            let values: Vec<serde_json::Value> = serde_json::from_reader(reader)
                .map_err(|e| FileError::new(path, Some(e.line() as u64), strip_location(&e)))?;
            for (i, v) in values.into_iter().enumerate() {
                let row = serde_json::from_value(v)
                    .map_err(|e| FileError::new(path, None, format!("entry #{}: {e}", i + 1)))?;
                push(row, None).map_err(|e| {
                    FileError::new(path, None, format!("entry #{}: {}", i + 1, e.message))
                })?;
            }
        }
    }
    Ok(rows)
}

fn strip_location(e: &serde_json::Error) -> String {
    let s = e.to_string();
    match s.rfind(" at line ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// The 1-based line of a CSV record. The reader's own line count can lag by
/// one for the first record after the header, so take the larger of it and
/// the record number (records are one line each unless quoted across lines).
fn csv_line(p: &csv::Position) -> u64 {
    p.line().max(p.record() + 1)
}

fn csv_message(e: &csv::Error, headers: &csv::StringRecord) -> String {
    match e.kind() {
        csv::ErrorKind::Deserialize { err, .. } => {
            match err.field().and_then(|i| headers.get(i as usize)) {
                Some(column) => format!("column `{column}`: {}", err.kind()),
                None => err.kind().to_string(),
            }
        }
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("{len} fields, but the header has {expected_len}"),
        _ => e.to_string(),
    }
}

/// Loads a catalog file (.csv, .json, .ndjson). Every item is validated and
/// product ids must be unique.
pub fn load_catalog(path: &Path) -> Result<CatalogTable, FileError> {
    Ok(read_catalog_items(path)?.into_iter().collect())
}

/// Reads catalog items in file order, validated, with unique product ids.
pub fn read_catalog_items(path: &Path) -> Result<Vec<CatalogItem>, FileError> {
    parse_catalog(path, open(path)?)
}

/// Catalog items from `reader`, in the format `path`'s extension names
/// (errors name `path`); the checks of [`read_catalog_items`].
pub fn parse_catalog(path: &Path, reader: impl BufRead) -> Result<Vec<CatalogItem>, FileError> {
    let mut seen = std::collections::HashSet::new();
    let items = read_rows_from::<CatalogItem>(path, reader, |item| {
        item.validate()?;
        if !seen.insert(item.product_id.clone()) {
            return Err(format!("duplicate product_id {:?}", item.product_id));
        }
        Ok(())
    })?;
    if items.is_empty() {
        return Err(FileError::new(path, None, "the catalog has no items"));
    }
    Ok(items)
}

/// An order row as written in files: `order_time` as RFC 3339 or epoch ms.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OrderRow {
    order_id: String,
    product_id: String,
    quantity: u32,
    unit_price: f64,
    order_time: TimeCell,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum TimeCell {
    Millis(Millis),
    Text(String),
}

/// Loads an orders file (.csv, .json, .ndjson).
pub fn load_orders(path: &Path) -> Result<OrdersTable, FileError> {
    let rows = read_rows::<OrderRow>(path, |row| {
        if row.quantity == 0 {
            return Err("`quantity` must be at least 1".into());
        }
        if !(row.unit_price.is_finite() && row.unit_price >= 0.0) {
            return Err(format!("`unit_price` must be >= 0, got {}", row.unit_price));
        }
        if let TimeCell::Text(t) = &row.order_time
            && t.parse::<Millis>().is_err()
            && parse_rfc3339(t).is_none()
        {
            return Err(format!(
                "`order_time` {t:?} is not RFC 3339 or epoch milliseconds"
            ));
        }
        Ok(())
    })?;
    let orders: Vec<Order> = rows
        .into_iter()
        .map(|r| Order {
            order_id: r.order_id,
            product_id: r.product_id,
            quantity: r.quantity,
            unit_price: r.unit_price,
            order_time: match r.order_time {
                TimeCell::Millis(ms) => ms,
                TimeCell::Text(t) => t.parse().ok().or_else(|| parse_rfc3339(&t)).unwrap_or(0),
            },
        })
        .collect();
    Ok(orders.iter().collect())
}

/// One non-blank line of an NDJSON file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    /// 1-based line number.
    pub number: u64,
    /// The line without its terminator; only its start when `truncated`.
    pub bytes: Vec<u8>,
    /// Set when the line was longer than the reader's limit.
    pub truncated: Option<Truncation>,
}

/// Lines of an NDJSON event file as raw bytes (any encoding), with 1-based
/// line numbers. A trailing `\r` is removed; blank lines are skipped and counted.
/// At most `limit` bytes of a line are buffered: the rest is only measured and
/// hashed, so a file without newlines needs no more memory than a short one.
pub struct NdjsonLines<R> {
    reader: R,
    line: u64,
    blank: u64,
    limit: usize,
}

impl<R: BufRead> NdjsonLines<R> {
    /// Lines buffered whole, however long (for trusted files).
    pub fn new(reader: R) -> Self {
        Self::with_limit(reader, usize::MAX)
    }

    /// Lines longer than `limit` bytes come back truncated to their first `limit`.
    pub fn with_limit(reader: R, limit: usize) -> Self {
        NdjsonLines {
            reader,
            line: 0,
            blank: 0,
            limit,
        }
    }

    /// Blank lines skipped so far.
    pub fn blank_lines(&self) -> u64 {
        self.blank
    }

    /// The next non-blank line, or `None` at end of file.
    pub fn next_line(&mut self) -> io::Result<Option<Line>> {
        self.next_line_into(Vec::new())
    }

    /// [`NdjsonLines::next_line`], reading into `buf` (cleared first), so
    /// a reader that hands its line buffers back allocates none per line.
    pub fn next_line_into(&mut self, mut buf: Vec<u8>) -> io::Result<Option<Line>> {
        loop {
            buf.clear();
            let Some(long) = self.read_line(&mut buf)? else {
                return Ok(None);
            };
            self.line += 1;
            let truncated = match long {
                Some(long) => Some(long.finish()),
                None => {
                    strip_terminator(&mut buf);
                    if buf.iter().all(u8::is_ascii_whitespace) {
                        self.blank += 1;
                        continue;
                    }
                    (buf.len() > self.limit).then(|| {
                        let t = Truncation::of(&buf);
                        buf.truncate(self.limit);
                        t
                    })
                }
            };
            return Ok(Some(Line {
                number: self.line,
                bytes: buf,
                truncated,
            }));
        }
    }

    /// [`NdjsonLines::next_line_into`] for a caller that can often tell
    /// where a record ends by reading it: `measure` gets the buffered
    /// bytes from the line's start and gives the record's length and what
    /// it learned. A record of at most `limit` bytes followed by `\n` is
    /// then the line, with no search for the newline; otherwise the line is
    /// read as usual and comes with `None`.
    pub fn next_line_measured<T>(
        &mut self,
        mut buf: Vec<u8>,
        measure: impl FnOnce(&[u8]) -> Option<(usize, T)>,
    ) -> io::Result<Option<(Line, Option<T>)>> {
        let chunk = self.reader.fill_buf()?;
        if let Some((len, learned)) = measure(chunk)
            && len > 0
            && len <= self.limit
            && chunk.get(len) == Some(&b'\n')
            && chunk[len - 1] != b'\r'
            && !chunk[..len].iter().all(u8::is_ascii_whitespace)
        {
            buf.clear();
            buf.extend_from_slice(&chunk[..len]);
            self.reader.consume(len + 1);
            self.line += 1;
            let line = Line {
                number: self.line,
                bytes: buf,
                truncated: None,
            };
            return Ok(Some((line, Some(learned))));
        }
        Ok(self.next_line_into(buf)?.map(|line| (line, None)))
    }

    /// Reads up to and including the next `\n`, keeping at most `limit`
    /// bytes of the record (plus room for its `\r\n`).
    fn read_line(&mut self, buf: &mut Vec<u8>) -> io::Result<Option<Option<LongLine>>> {
        let mut long: Option<LongLine> = None;
        let keep = self.limit.saturating_add(2);
        let mut any = false;
        loop {
            let chunk = self.reader.fill_buf()?;
            if chunk.is_empty() {
                break;
            }
            any = true;
            let (take, done) = match memchr::memchr(b'\n', chunk) {
                Some(i) => (i + 1, true),
                None => (chunk.len(), false),
            };
            let part = &chunk[..take];
            match &mut long {
                Some(l) => l.update(part),
                None if buf.len() + part.len() <= keep => buf.extend_from_slice(part),
                None => {
                    let mut l = LongLine::default();
                    l.update(buf);
                    l.update(part);
                    let room = keep - buf.len();
                    buf.extend_from_slice(&part[..room]);
                    buf.truncate(self.limit);
                    long = Some(l);
                }
            }
            self.reader.consume(take);
            if done {
                break;
            }
        }
        Ok(any.then_some(long))
    }
}

fn strip_terminator(buf: &mut Vec<u8>) {
    if buf.last() == Some(&b'\n') {
        buf.pop();
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
    }
}

/// Length and SHA-256 of a line too long to keep, computed as it streams
/// by. The last two bytes are held back so that the terminator is not hashed.
#[derive(Default)]
struct LongLine {
    hasher: sha2::Sha256,
    len: u64,
    tail: Vec<u8>,
}

impl LongLine {
    fn update(&mut self, part: &[u8]) {
        use sha2::Digest;
        self.tail.extend_from_slice(part);
        if self.tail.len() > 2 {
            let cut = self.tail.len() - 2;
            self.hasher.update(&self.tail[..cut]);
            self.len += cut as u64;
            self.tail.drain(..cut);
        }
    }

    fn finish(mut self) -> Truncation {
        use sha2::Digest;
        strip_terminator(&mut self.tail);
        self.hasher.update(&self.tail);
        Truncation {
            len: self.len + self.tail.len() as u64,
            sha256: self.hasher.finalize().into(),
        }
    }
}

impl<R: Read> NdjsonLines<BufReader<R>> {
    pub fn from_reader(r: R) -> Self {
        NdjsonLines::new(BufReader::new(r))
    }
}

/// Writes one value as a line of NDJSON.
pub fn write_ndjson<W: Write + ?Sized, T: Serialize>(w: &mut W, value: &T) -> io::Result<()> {
    serde_json::to_writer(&mut *w, value)?;
    w.write_all(b"\n")
}

/// [`write_ndjson`] through `scratch`: the record is serialized into memory
/// and written with one call, where a `dyn Write` would pay per token.
pub fn write_ndjson_via<W: Write + ?Sized, T: Serialize>(
    w: &mut W,
    value: &T,
    scratch: &mut Vec<u8>,
) -> io::Result<()> {
    scratch.clear();
    serde_json::to_writer(&mut *scratch, value)?;
    scratch.push(b'\n');
    w.write_all(scratch)
}

/// Applied price changes from an audit log (NDJSON audit records as
/// `pricestream run --report` and `pricestream audit` write them); records
/// that were not applied are skipped.
pub fn load_price_changes(path: &Path) -> Result<Vec<crate::pricer::PriceUpdate>, FileError> {
    let mut out = Vec::new();
    let mut lines = NdjsonLines::new(open(path)?);
    while let Some(line) = lines
        .next_line()
        .map_err(|e| FileError::new(path, None, e.to_string()))?
    {
        let a: crate::audit::AuditRecord = serde_json::from_slice(&line.bytes)
            .map_err(|e| FileError::new(path, Some(line.number), e.to_string()))?;
        out.extend(a.applied_update());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_keep_bytes_and_skip_blanks() {
        let data = b"a\r\n\n  \n\xff\xfe\nlast".to_vec();
        let mut l = NdjsonLines::from_reader(&data[..]);
        let mut next = || l.next_line().unwrap().map(|l| (l.number, l.bytes));
        assert_eq!(next(), Some((1, b"a".to_vec())));
        assert_eq!(next(), Some((4, vec![0xff, 0xfe])));
        assert_eq!(next(), Some((5, b"last".to_vec())));
        assert_eq!(next(), None);
        assert_eq!(l.blank_lines(), 2);
    }

    /// A tiny read buffer so that long lines span many reads.
    fn lines(data: &[u8], limit: usize) -> Vec<Line> {
        let mut l = NdjsonLines::with_limit(BufReader::with_capacity(3, data), limit);
        std::iter::from_fn(|| l.next_line().unwrap()).collect()
    }

    #[test]
    fn long_lines_keep_their_start_length_and_digest() {
        let long = "x".repeat(100);
        let data = format!("ab\r\n{long}\r\n{long}\nabcd\nabcdef");
        let got = lines(data.as_bytes(), 4);
        let plain = |n, b: &str| Line {
            number: n,
            bytes: b.as_bytes().to_vec(),
            truncated: None,
        };
        let cut = |n| Line {
            number: n,
            bytes: b"xxxx".to_vec(),
            truncated: Some(Truncation::of(long.as_bytes())),
        };
        assert_eq!(
            got,
            vec![plain(1, "ab"), cut(2), cut(3), plain(4, "abcd"), {
                let mut l = plain(5, "abcd");
                l.truncated = Some(Truncation::of(b"abcdef"));
                l
            }]
        );
    }

    proptest::proptest! {
        /// A reader told where some records end (never past a newline)
        /// gives the lines, numbers, truncations and blank count of one
        /// that searches every line, across reads that split lines.
        #[test]
        fn measured_lines_are_the_lines(
            data in proptest::collection::vec(proptest::sample::select(b"ab \r\n".to_vec()), 0..80),
            capacity in 1usize..12,
            limit in 1usize..8,
            lengths in proptest::collection::vec(0usize..10, 1..20),
        ) {
            let mut plain = NdjsonLines::with_limit(BufReader::with_capacity(capacity, &data[..]), limit);
            let want: Vec<Line> = std::iter::from_fn(|| plain.next_line().unwrap()).collect();
            let mut measured =
                NdjsonLines::with_limit(BufReader::with_capacity(capacity, &data[..]), limit);
            let mut got = Vec::new();
            let mut taken = 0;
            let mut lengths = lengths.iter().cycle();
            // A length up to the first newline: often exactly at it.
            let mut measure = |rest: &[u8]| {
                let line = rest.iter().position(|&c| c == b'\n').unwrap_or(rest.len());
                let len = (*lengths.next().unwrap()).min(line);
                Some((if len % 2 == 0 { line } else { len }, ()))
            };
            while let Some((line, learned)) = measured.next_line_measured(Vec::new(), &mut measure).unwrap() {
                taken += usize::from(learned.is_some());
                got.push(line);
            }
            proptest::prop_assert_eq!(&got, &want);
            proptest::prop_assert_eq!(measured.blank_lines(), plain.blank_lines());
            proptest::prop_assert!(taken <= got.len());
        }
    }

    #[test]
    fn a_measured_line_is_taken_where_it_lies() {
        let data = b"{a}\n{bc}\r\n\n{d}";
        let mut l = NdjsonLines::from_reader(&data[..]);
        let brace = |rest: &[u8]| rest.iter().position(|&c| c == b'}').map(|i| (i + 1, ()));
        let mut next = || {
            let (line, learned) = l.next_line_measured(Vec::new(), brace).unwrap()?;
            Some((line.number, line.bytes, learned.is_some()))
        };
        assert_eq!(next(), Some((1, b"{a}".to_vec(), true)));
        // Before `\r\n`, or at the end of the file: read as usual.
        assert_eq!(next(), Some((2, b"{bc}".to_vec(), false)));
        assert_eq!(next(), Some((4, b"{d}".to_vec(), false)));
        assert_eq!(next(), None);
        assert_eq!(l.blank_lines(), 1);
    }

    #[test]
    fn a_line_at_the_limit_with_crlf_is_whole() {
        assert_eq!(lines(b"abcd\r\nz", 4)[0].truncated, None);
        assert_eq!(lines(b"abcde\r\nz", 4)[0].truncated.unwrap().len, 5);
    }
}
