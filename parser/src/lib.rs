//! The contact parser: formats, columns, phone numbers, report.
//!
//! `parse_file` takes the bytes of an uploaded file and its name, and returns the contacts
//! it could import (E.164, deduplicated, in file order) with a report of what it did, or an
//! [`ImportError`] when the file as a whole cannot be imported. It never panics on any input.
//! See docs/parser.md for the formats, rules, limits and measurements.

mod columns;
mod contacts;
mod nanp;
mod nanp_metadata;
pub mod phone;
mod records;
mod sheet;
mod text;
pub mod worker;
mod xlsx;

#[cfg(test)]
mod test_rng;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod xlsx_differential;
#[cfg(test)]
mod xlsx_writer;

use std::collections::HashMap;

pub use contacts::{Chunk, Contact, Contacts, Metadata, ParsedContact};

use rlibphonenumber::Region;
use serde::{Deserialize, Serialize};

use columns::NameSource;

/// Caps that protect the parser (and the Lambda running it) from oversized input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    pub max_file_bytes: u64,
    pub max_rows: u64,
    pub max_cell_bytes: usize,
    /// Filled columns besides phone and name that one contact may carry (its metadata keys),
    /// and distinct metadata columns a file may use.
    pub max_metadata_columns: usize,
    /// Bytes of metadata (keys and values) one contact may carry.
    pub max_contact_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_file_bytes: 100 * 1024 * 1024,
            max_rows: 1_000_000,
            max_cell_bytes: 4096,
            max_metadata_columns: 100,
            max_contact_bytes: 16 * 1024,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseOptions {
    /// Region for numbers written without a country code (ISO 3166 alpha-2).
    pub default_region: String,
    /// The phone column's header, instead of detecting it.
    pub phone_column: Option<String>,
    /// The name column's header, instead of detecting it.
    pub name_column: Option<String>,
    pub limits: Limits,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            default_region: "US".to_string(),
            phone_column: None,
            name_column: None,
            limits: Limits::default(),
        }
    }
}

/// At most this many row errors are listed; the rest are counted in `errors_truncated`.
pub const MAX_REPORTED_ERRORS: usize = 100;

/// A row error's value is cut to this many characters (an ellipsis marks the cut).
pub const MAX_ERROR_VALUE_CHARS: usize = 64;

/// The most a serialized [`ImportReport`] can take, whatever the file: 100 errors of 64
/// characters (4 bytes each at worst) with their reasons, 100 metadata keys of 64
/// characters, headers and sheet names cut likewise. The report is stored on the campaign's
/// item, which DynamoDB caps at 400 KB; a unit test checks a worst-case file against this.
pub const MAX_REPORT_BYTES: usize = 96 * 1024;

fn cut(s: &str, max_chars: usize) -> String {
    match s.char_indices().nth(max_chars) {
        Some((at, _)) => format!("{}…", s.get(..at).unwrap_or(s)),
        None => s.to_string(),
    }
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct ImportReport {
    /// csv, tsv, txt (one number a line), csv-semicolon, csv-pipe, xlsx, xls, ods.
    pub format: String,
    /// Data rows seen (blank rows and the header excluded).
    pub rows: u64,
    pub imported: u64,
    pub duplicates: u64,
    pub invalid: u64,
    /// The phone column's header as written in the file (None for a file without a header).
    pub phone_column: Option<String>,
    /// The name column's header, or "First + Last" when the name joins two columns.
    pub name_column: Option<String>,
    /// Metadata keys that received at least one value.
    pub metadata_columns: Vec<String>,
    /// Rejected and duplicate rows, in file order, at most [`MAX_REPORTED_ERRORS`].
    pub errors: Vec<RowError>,
    /// How many more errors there were than listed.
    pub errors_truncated: u64,
    /// The sheet the contacts came from (spreadsheets only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sheet: Option<String>,
    /// Why that sheet was chosen, naming the sheets skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sheet_reason: Option<String>,
    /// The file's columns in file order, as written, and what each became: what an export
    /// writes back (empty for a file of bare numbers and for reports stored before it existed).
    #[serde(default)]
    pub columns: Vec<FileColumn>,
}

/// One column of the file and where its values went.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct FileColumn {
    /// The header as written.
    pub header: String,
    /// `phone` (the text as written is kept), `name`, `first_name`, `last_name`, or `metadata`.
    pub role: String,
    /// The metadata key the column's values are stored under (role `metadata`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct RowError {
    /// The row number as a spreadsheet shows it (the header is its own row).
    pub row: u64,
    /// The raw phone value.
    pub value: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    pub report: ImportReport,
    /// The imported contacts, in file order (one arena for the file: see [`Contacts`]).
    pub contacts: Contacts,
}

#[derive(thiserror::Error, Debug, Clone, PartialEq)]
pub enum ImportError {
    #[error("the file is {bytes} bytes, over the {limit}-byte limit; split it into smaller files")]
    TooLarge { bytes: u64, limit: u64 },
    #[error("the file has more than {limit} data rows; split it into smaller files")]
    TooManyRows { limit: u64 },
    #[error(
        "row {row}, column {column:?}: a cell of {bytes} bytes is over the {limit}-byte limit; \
         shorten it or remove the column"
    )]
    CellTooLarge {
        row: u64,
        column: String,
        bytes: usize,
        limit: usize,
    },
    #[error(
        "row {row} has {columns} filled columns besides phone and name (or the file uses that \
         many), over the limit of {limit} per file; remove the columns you do not need"
    )]
    TooManyColumns {
        row: u64,
        columns: usize,
        limit: usize,
    },
    #[error(
        "row {row}: its columns besides phone and name hold {bytes} bytes, over the \
         {limit}-byte limit per contact; shorten or remove columns"
    )]
    ContactTooLarge {
        row: u64,
        bytes: usize,
        limit: usize,
    },
    #[error("the file is empty: it has no rows")]
    Empty,
    #[error(
        "no phone column found; the headers seen were {headers:?}: name a column phone, \
         mobile, cell or tel, or pass the phone column explicitly"
    )]
    NoPhoneColumn { headers: Vec<String> },
    #[error("there is no column {wanted:?}; the headers seen were {headers:?}")]
    UnknownColumn {
        wanted: String,
        headers: Vec<String>,
    },
    #[error("the spreadsheet cannot be read ({0}); re-save it or export it as CSV")]
    Corrupt(String),
    #[error("unsupported file type {0:?}: upload CSV, TSV, TXT, XLSX, XLS or ODS")]
    UnsupportedFormat(String),
    #[error("unsupported default region {0:?}: use a two-letter ISO country code such as US")]
    InvalidRegion(String),
    /// The spreadsheet reader (a child process) could not be started: not the file's fault.
    #[error("the spreadsheet reader could not be started ({0}); try again")]
    ReaderUnavailable(String),
}

impl ImportError {
    /// A stable snake_case code for API errors.
    pub fn code(&self) -> &'static str {
        match self {
            ImportError::TooLarge { .. } => "file_too_large",
            ImportError::TooManyRows { .. } => "too_many_rows",
            ImportError::CellTooLarge { .. } => "cell_too_large",
            ImportError::TooManyColumns { .. } => "too_many_columns",
            ImportError::ContactTooLarge { .. } => "contact_too_large",
            ImportError::Empty => "empty_file",
            ImportError::NoPhoneColumn { .. } => "no_phone_column",
            ImportError::UnknownColumn { .. } => "unknown_column",
            ImportError::Corrupt(_) => "corrupt_file",
            ImportError::UnsupportedFormat(_) => "unsupported_format",
            ImportError::InvalidRegion(_) => "invalid_region",
            ImportError::ReaderUnavailable(_) => "reader_unavailable",
        }
    }

    /// Whether the error is about this process, not the file: the import should be retried.
    pub fn is_transient(&self) -> bool {
        matches!(self, ImportError::ReaderUnavailable(_))
    }
}

/// What the bytes are, after looking at both the name and the content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Text,
    Xlsx,
    Xls,
    Ods,
}

impl Kind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Text => "text",
            Kind::Xlsx => "xlsx",
            Kind::Xls => "xls",
            Kind::Ods => "ods",
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<Kind> {
        [Kind::Text, Kind::Xlsx, Kind::Xls, Kind::Ods]
            .into_iter()
            .find(|k| k.name() == name)
    }
}

const ZIP_MAGIC: &[u8] = b"PK\x03\x04";
const OLE_MAGIC: &[u8] = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1";
const ODS_MIME: &[u8] = b"application/vnd.oasis.opendocument.spreadsheet";

fn extension(file_name: &str) -> String {
    let base = file_name.rsplit(['/', '\\']).next().unwrap_or(file_name);
    match base.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => ext.to_ascii_lowercase(),
        _ => String::new(),
    }
}

/// Content first (magic numbers), then the extension.
fn detect(bytes: &[u8], ext: &str) -> Result<Kind, ImportError> {
    if bytes.starts_with(ZIP_MAGIC) {
        let head = bytes.get(..bytes.len().min(200)).unwrap_or(bytes);
        let is_ods = head.windows(ODS_MIME.len()).any(|w| w == ODS_MIME) || ext == "ods";
        return Ok(if is_ods { Kind::Ods } else { Kind::Xlsx });
    }
    if bytes.starts_with(OLE_MAGIC) {
        return Ok(Kind::Xls);
    }
    match ext {
        "csv" | "tsv" | "txt" | "tab" | "psv" | "" if text::looks_like_text(bytes) => {
            Ok(Kind::Text)
        }
        // Binary content is not a CSV whatever its name.
        "csv" | "tsv" | "txt" | "tab" | "psv" | "" => {
            Err(ImportError::UnsupportedFormat(if ext.is_empty() {
                "binary content".to_string()
            } else {
                format!("binary content named .{ext}")
            }))
        }
        // A spreadsheet name on text content (a CSV saved as .xls, a common export trick).
        "xlsx" | "xlsm" | "xls" | "ods" if text::looks_like_text(bytes) => Ok(Kind::Text),
        "xlsx" | "xlsm" => Err(ImportError::Corrupt("xlsx: not a zip archive".into())),
        "xls" => Err(ImportError::Corrupt("xls: not an OLE compound file".into())),
        "ods" => Err(ImportError::Corrupt("ods: not a zip archive".into())),
        // Text under an unknown extension (contacts.dat, export.list) is still text.
        _ if text::looks_like_text(bytes) => Ok(Kind::Text),
        other => Err(ImportError::UnsupportedFormat(other.to_string())),
    }
}

/// Parses a contact file. `file_name` gives the extension; the content decides when the
/// two disagree.
pub fn parse_file(
    bytes: &[u8],
    file_name: &str,
    opts: &ParseOptions,
) -> Result<Parsed, ImportError> {
    let limits = &opts.limits;
    let size = bytes.len() as u64;
    if size > limits.max_file_bytes {
        return Err(ImportError::TooLarge {
            bytes: size,
            limit: limits.max_file_bytes,
        });
    }
    let region = phone::region_of(opts.default_region.trim())
        .ok_or_else(|| ImportError::InvalidRegion(opts.default_region.clone()))?;
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(ImportError::Empty);
    }
    let ext = extension(file_name);
    match detect(bytes, &ext)? {
        Kind::Text => parse_text(bytes, &ext, region, opts),
        kind => parse_sheets(bytes, kind, region, opts),
    }
}

fn parse_text(
    bytes: &[u8],
    ext: &str,
    region: Region,
    opts: &ParseOptions,
) -> Result<Parsed, ImportError> {
    let (text, _encoding) = text::decode(bytes);
    if text.trim().is_empty() {
        return Err(ImportError::Empty);
    }
    let delimiter = text::sniff_delimiter(&text, ext == "tsv" || ext == "tab");
    let format = match delimiter {
        Some(b',') => "csv",
        Some(b'\t') => "tsv",
        Some(b';') => "csv-semicolon",
        Some(b'|') => "csv-pipe",
        _ => "txt",
    };
    // One value a line: a delimiter that cannot occur in decoded text keeps each line whole.
    let mut rows = records::Records::new(&text, delimiter.unwrap_or(0x1F));
    let mut head = Vec::new();
    while head.len() < HEADER_SCAN_ROWS {
        match rows.next_record(&opts.limits)? {
            Some(row) => head.push((row, rows.owned())),
            None => break,
        }
    }
    if head.is_empty() {
        return Err(ImportError::Empty);
    }
    let layout = Layout::find(&head, opts, region)?;
    let mut acc = Accumulator::new(format, &layout, region, opts);
    for (row, cells) in head.iter().skip(layout.first_data) {
        acc.row(*row, cells.as_slice())?;
    }
    while let Some(row) = rows.next_record(&opts.limits)? {
        acc.row(row, &rows)?;
    }
    Ok(acc.finish())
}

fn parse_sheets(
    bytes: &[u8],
    kind: Kind,
    region: Region,
    opts: &ParseOptions,
) -> Result<Parsed, ImportError> {
    let sheets = worker::read(bytes, kind)?;
    let mut first_error = None;
    // The first sheet whose phone column holds phone numbers. A sheet with a phone header but
    // no numbers under it (instructions, a cover page) is skipped; if no sheet qualifies, the
    // first sheet with a phone header, else the first whose rows are bare numbers.
    let mut chosen: Option<(usize, Layout, &'static str)> = None;
    let mut fallback: Option<(usize, Layout, &'static str)> = None;
    let mut skipped: Vec<String> = Vec::new();
    for (i, s) in sheets.iter().enumerate() {
        for (row, cells) in &s.rows {
            check_cells(*row, cells.iter().map(String::as_str), &opts.limits)?;
        }
        let head: Vec<(u64, Vec<String>)> = s.rows.iter().take(HEADER_SCAN_ROWS).cloned().collect();
        let name = cut(&s.name, columns::MAX_KEY_CHARS);
        if head.is_empty() {
            skipped.push(format!("{name:?} (empty)"));
            continue;
        }
        match Layout::find(&head, opts, region) {
            Ok(layout) if layout.header.is_some() => {
                if holds_phone_numbers(&s.rows, &layout, region) {
                    chosen = Some((i, layout, "its phone column holds phone numbers"));
                    break;
                }
                skipped.push(format!(
                    "{name:?} (no phone numbers under its phone column)"
                ));
                if fallback.as_ref().is_none_or(|(_, l, _)| l.header.is_none()) {
                    fallback = Some((
                        i,
                        layout,
                        "it has a phone column, though no sheet's holds valid numbers",
                    ));
                }
            }
            Ok(layout) => {
                skipped.push(format!("{name:?} (no phone column)"));
                if fallback.is_none() {
                    fallback = Some((i, layout, "its rows are phone numbers without a header"));
                }
            }
            Err(e) => {
                skipped.push(format!("{name:?} (no phone column)"));
                if first_error.is_none() {
                    first_error = Some(e);
                }
            }
        }
    }
    let Some((index, layout, why)) = chosen.or(fallback) else {
        return Err(first_error.unwrap_or(ImportError::Empty));
    };
    let sheet = sheets.get(index);
    let rows = sheet.map(|s| s.rows.as_slice()).unwrap_or(&[]);
    let mut acc = Accumulator::new(kind.name(), &layout, region, opts);
    for (row, cells) in rows.iter().skip(layout.first_data) {
        acc.row(*row, cells.as_slice())?;
    }
    let mut parsed = acc.finish();
    let name = sheet
        .map(|s| cut(&s.name, columns::MAX_KEY_CHARS))
        .unwrap_or_default();
    // Only the sheets before the chosen one were looked at; at most five are named.
    let before: Vec<&String> = skipped.iter().take(index.min(5)).collect();
    parsed.report.sheet_reason = Some(match (index, before.is_empty()) {
        (0, _) | (_, true) => format!("sheet {name:?}: the first sheet, and {why}"),
        _ => format!(
            "sheet {name:?}: {why}; skipped {}{}",
            before
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            if index > 5 { ", ..." } else { "" }
        ),
    });
    parsed.report.sheet = Some(name);
    Ok(parsed)
}

/// Whether the phone column under `layout`'s header holds phone numbers: among the first
/// 50 filled cells, at least one valid number and at least half of them valid.
fn holds_phone_numbers(rows: &[(u64, Vec<String>)], layout: &Layout, region: Region) -> bool {
    let (mut filled, mut valid) = (0usize, 0usize);
    for (_, cells) in rows.iter().skip(layout.first_data) {
        let raw = cells.get(layout.phone).map(|c| c.trim()).unwrap_or("");
        if raw.is_empty() {
            continue;
        }
        filled += 1;
        if phone::normalize(raw, region).is_ok() {
            valid += 1;
        }
        if filled >= 50 {
            break;
        }
    }
    valid > 0 && valid * 2 >= filled
}

/// How many leading non-blank rows are searched for the header row (title rows above it).
const HEADER_SCAN_ROWS: usize = 20;

fn check_cells<'a>(
    row: u64,
    cells: impl Iterator<Item = &'a str>,
    limits: &Limits,
) -> Result<(), ImportError> {
    for (i, c) in cells.enumerate() {
        if c.len() > limits.max_cell_bytes {
            return Err(ImportError::CellTooLarge {
                row,
                column: format!("column {}", i + 1),
                bytes: c.len(),
                limit: limits.max_cell_bytes,
            });
        }
    }
    Ok(())
}

/// A row's cells, from a CSV record or a spreadsheet row.
trait Cells {
    fn len(&self) -> usize;
    fn cell(&self, i: usize) -> &str;
}

impl Cells for [String] {
    fn len(&self) -> usize {
        <[String]>::len(self)
    }
    fn cell(&self, i: usize) -> &str {
        self.get(i).map(String::as_str).unwrap_or("")
    }
}

impl Cells for records::Records<'_> {
    fn len(&self) -> usize {
        records::Records::len(self)
    }
    fn cell(&self, i: usize) -> &str {
        records::Records::cell(self, i)
    }
}

/// Where the header is and what each column is for.
#[derive(Debug)]
struct Layout {
    /// The header row's cells, or None when the file is bare numbers.
    header: Option<Vec<String>>,
    /// Index (among the scanned rows) of the first data row.
    first_data: usize,
    phone: usize,
    name: NameSource,
    keys: Vec<String>,
}

impl Layout {
    fn find(
        head: &[(u64, Vec<String>)],
        opts: &ParseOptions,
        region: Region,
    ) -> Result<Layout, ImportError> {
        let first_headers = || {
            head.first()
                .map(|(_, c)| c.iter().map(|s| s.trim().to_string()).collect())
                .unwrap_or_default()
        };
        let (header_index, phone) = match &opts.phone_column {
            Some(wanted) => head
                .iter()
                .enumerate()
                .find_map(|(i, (_, cells))| columns::find_named(cells, wanted).map(|p| (i, p)))
                .ok_or_else(|| ImportError::UnknownColumn {
                    wanted: wanted.clone(),
                    headers: first_headers(),
                })?,
            None => match head
                .iter()
                .enumerate()
                .find_map(|(i, (_, cells))| columns::find_phone(cells).map(|p| (i, p)))
            {
                Some(found) => found,
                None => {
                    return Layout::headerless(head, region).ok_or_else(|| {
                        ImportError::NoPhoneColumn {
                            headers: first_headers(),
                        }
                    });
                }
            },
        };
        let header: Vec<String> = head
            .get(header_index)
            .map(|(_, c)| c.iter().map(|s| s.trim().to_string()).collect())
            .unwrap_or_default();
        let name = match &opts.name_column {
            Some(wanted) => match columns::find_named(&header, wanted) {
                Some(i) => NameSource::Single(i),
                None => {
                    return Err(ImportError::UnknownColumn {
                        wanted: wanted.clone(),
                        headers: header,
                    });
                }
            },
            None => columns::find_name(&header, phone),
        };
        let keys = columns::metadata_keys(&header);
        Ok(Layout {
            header: Some(header),
            first_data: header_index + 1,
            phone,
            name,
            keys,
        })
    }

    /// A file without a header: the phone column is the first cell of the first rows that
    /// libphonenumber accepts.
    fn headerless(head: &[(u64, Vec<String>)], region: Region) -> Option<Layout> {
        let width = head.iter().map(|(_, c)| c.len()).max().unwrap_or(0);
        let phone = head.iter().take(5).find_map(|(_, cells)| {
            cells
                .iter()
                .position(|c| phone::normalize(c, region).is_ok())
        })?;
        let keys = (0..width).map(|i| format!("column_{}", i + 1)).collect();
        Some(Layout {
            header: None,
            first_data: 0,
            phone,
            name: NameSource::None,
            keys,
        })
    }
}

const TIMEZONE_KEYS: [&str; 3] = ["timezone", "time_zone", "tz"];

/// Builds the contacts and the report, row by row.
struct Accumulator<'a> {
    layout: &'a Layout,
    region: Region,
    limits: &'a Limits,
    report: ImportReport,
    contacts: Contacts,
    /// E.164 digits as a number (an E.164 never starts with 0, so this is exact) -> the
    /// row that imported it.
    seen: HashMap<u64, u64, phone::BuildNumberHasher>,
    /// Metadata columns that received a value.
    used: Vec<bool>,
    /// Columns past the header's width that received a value.
    extra_used: std::collections::BTreeSet<usize>,
    used_extension: bool,
    /// Distinct metadata columns that received a value.
    used_columns: usize,
    timezone_col: Option<usize>,
    /// The metadata columns of the header (not phone, not name) in the order of their keys:
    /// a contact's entries are written in this order, already sorted.
    sorted_columns: Vec<usize>,
}

/// `str::trim`, without its Unicode tables for the common cell that starts and ends with
/// an ASCII character other than white space.
fn trim(s: &str) -> &str {
    let plain = |b: u8| b.is_ascii() && !b.is_ascii_whitespace() && b != 0x0B;
    match (s.as_bytes().first(), s.as_bytes().last()) {
        // ASCII white space for `str::trim` is `is_ascii_whitespace` plus vertical tab.
        (Some(&a), Some(&z)) if plain(a) && plain(z) => s,
        _ => s.trim(),
    }
}

/// The arena passed 4 GiB: only a spreadsheet repeating huge cells by reference gets there.
fn arena_full() -> ImportError {
    ImportError::TooLarge {
        bytes: u64::from(u32::MAX) + 1,
        limit: u64::from(u32::MAX),
    }
}

impl<'a> Accumulator<'a> {
    fn new(format: &str, layout: &'a Layout, region: Region, opts: &'a ParseOptions) -> Self {
        let header = layout.header.as_ref();
        let name_column = match (&layout.name, header) {
            (NameSource::Single(i), Some(h)) => h.get(*i).cloned(),
            (NameSource::FirstLast(f, l), Some(h)) => Some(format!(
                "{} + {}",
                h.get(*f).map(String::as_str).unwrap_or(""),
                h.get(*l).map(String::as_str).unwrap_or("")
            )),
            _ => None,
        }
        .map(|n| cut(&n, 2 * columns::MAX_KEY_CHARS));
        let timezone_col = layout
            .keys
            .iter()
            .position(|k| TIMEZONE_KEYS.contains(&k.as_str()));
        let mut acc = Accumulator {
            layout,
            region,
            limits: &opts.limits,
            report: ImportReport {
                format: format.to_string(),
                rows: 0,
                imported: 0,
                duplicates: 0,
                invalid: 0,
                phone_column: header
                    .and_then(|h| h.get(layout.phone))
                    .map(|h| cut(h, columns::MAX_KEY_CHARS)),
                name_column,
                metadata_columns: Vec::new(),
                errors: Vec::new(),
                errors_truncated: 0,
                sheet: None,
                sheet_reason: None,
                columns: Vec::new(),
            },
            // Key i is column i's: a header column's entry needs no lookup.
            contacts: Contacts::with_keys(layout.keys.clone()),
            seen: HashMap::default(),
            used: vec![false; layout.keys.len()],
            extra_used: std::collections::BTreeSet::new(),
            used_extension: false,
            used_columns: 0,
            timezone_col,
            sorted_columns: Vec::new(),
        };
        let mut sorted: Vec<usize> = (0..layout.keys.len())
            .filter(|&i| i != layout.phone && !acc.is_name_column(i))
            .collect();
        sorted.sort_by(|&a, &b| layout.keys.get(a).cmp(&layout.keys.get(b)));
        acc.sorted_columns = sorted;
        acc
    }

    fn error(&mut self, row: u64, value: &str, reason: impl FnOnce() -> String) {
        if self.report.errors.len() < MAX_REPORTED_ERRORS {
            self.report.errors.push(RowError {
                row,
                value: cut(value, MAX_ERROR_VALUE_CHARS),
                reason: reason(),
            });
        } else {
            self.report.errors_truncated += 1;
        }
    }

    fn is_name_column(&self, i: usize) -> bool {
        match self.layout.name {
            NameSource::None => false,
            NameSource::Single(n) => n == i,
            NameSource::FirstLast(f, l) => f == i || l == i,
        }
    }

    fn row<C: Cells + ?Sized>(&mut self, row: u64, cells: &C) -> Result<(), ImportError> {
        self.report.rows += 1;
        if self.report.rows > self.limits.max_rows {
            return Err(ImportError::TooManyRows {
                limit: self.limits.max_rows,
            });
        }
        let raw = cells.cell(self.layout.phone);
        let number = match phone::verdict(raw, self.region) {
            Ok(n) => n,
            Err(rejection) => {
                self.report.invalid += 1;
                self.error(row, trim(raw), || rejection.reason().to_string());
                return Ok(());
            }
        };
        let key = number.key();
        match self.seen.entry(key) {
            std::collections::hash_map::Entry::Occupied(first) => {
                let first = *first.get();
                self.report.duplicates += 1;
                self.error(row, trim(raw), || format!("duplicate of row {first}"));
                return Ok(());
            }
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(row);
            }
        }

        let (name, name_parts) = match self.layout.name {
            NameSource::None => (None, None),
            NameSource::Single(i) => {
                let n = trim(cells.cell(i));
                let span = if n.is_empty() {
                    None
                } else {
                    Some(self.contacts.push_text(n).map_err(|_| arena_full())?)
                };
                (span, None)
            }
            NameSource::FirstLast(f, l) => {
                let (f, l) = (trim(cells.cell(f)), trim(cells.cell(l)));
                let fs = self.contacts.push_text(f).map_err(|_| arena_full())?;
                let ls = self.contacts.push_text(l).map_err(|_| arena_full())?;
                let name = match (f.is_empty(), l.is_empty()) {
                    (false, false) => Some(
                        self.contacts
                            .push_joined(&[f, " ", l])
                            .map_err(|_| arena_full())?,
                    ),
                    (false, true) => Some(fs),
                    (true, false) => Some(ls),
                    (true, true) => None,
                };
                (name, Some((fs, ls)))
            }
        };

        let mark = self.contacts.entries_mark();
        if cells.len() > self.layout.keys.len() {
            // Cells past the header (or past the widest row of a headerless file): keys made
            // per cell, possibly equal to a header's; the map semantics, exactly.
            self.metadata_with_extra_columns(row, cells)?;
        } else {
            self.metadata_of_header_columns(row, cells)?;
        }
        if let Some(ext) = number.extension.as_deref() {
            let key = self.contacts.key("extension");
            if !self.contacts.pending_has_key(mark, key) {
                let span = self.contacts.push_text(ext).map_err(|_| arena_full())?;
                self.contacts.push_entry(key, span);
                self.contacts.sort_pending(mark);
                self.used_extension = true;
            }
        }
        let phone_span = match number.nanp {
            Some(nsn) => self.contacts.push_plus_digits(10_000_000_000 + nsn),
            None => self.contacts.push_text(&number.e164),
        }
        .map_err(|_| arena_full())?;
        let timezone = self
            .timezone_col
            .map(|i| trim(cells.cell(i)))
            .and_then(|tz| tz.parse::<chrono_tz::Tz>().ok())
            .map(|tz| tz.name());
        let phone_text = self.contacts.push_text(trim(raw)).map_err(|_| arena_full())?;

        self.report.imported += 1;
        self.contacts
            .push_contact(row, phone_span, phone_text, name, name_parts, mark, timezone)
            .map_err(|_| arena_full())?;
        Ok(())
    }

    /// Counts a metadata value against the caps, in column order (the error names the
    /// count and bytes at the column that passed a cap).
    fn count_value(
        &mut self,
        row: u64,
        i: usize,
        columns: usize,
        bytes: usize,
    ) -> Result<(), ImportError> {
        let first_use = match self.used.get_mut(i) {
            Some(u) => !std::mem::replace(u, true),
            None => self.extra_used.insert(i),
        };
        if first_use {
            self.used_columns += 1;
        }
        // Caps that keep every contact item, and the report's column list, far below
        // DynamoDB's 400 KB item limit.
        let limit = self.limits.max_metadata_columns;
        if columns > limit || self.used_columns > limit {
            return Err(ImportError::TooManyColumns {
                row,
                columns: columns.max(self.used_columns),
                limit,
            });
        }
        if bytes > self.limits.max_contact_bytes {
            return Err(ImportError::ContactTooLarge {
                row,
                bytes,
                limit: self.limits.max_contact_bytes,
            });
        }
        Ok(())
    }

    /// The common row: every cell under a header column, whose keys are distinct.
    fn metadata_of_header_columns<C: Cells + ?Sized>(
        &mut self,
        row: u64,
        cells: &C,
    ) -> Result<(), ImportError> {
        let (mut columns, mut bytes) = (0usize, 0usize);
        for i in 0..cells.len() {
            if i == self.layout.phone || self.is_name_column(i) {
                continue;
            }
            let value = trim(cells.cell(i));
            if value.is_empty() {
                continue;
            }
            let key_len = self.layout.keys.get(i).map(String::len).unwrap_or(0);
            columns += 1;
            bytes += key_len + value.len();
            self.count_value(row, i, columns, bytes)?;
        }
        // Written in key order: the entries are sorted without sorting.
        for k in 0..self.sorted_columns.len() {
            let Some(&i) = self.sorted_columns.get(k) else { break };
            let value = trim(cells.cell(i));
            if value.is_empty() {
                continue;
            }
            let span = self
                .contacts
                .push_text(value)
                .map_err(|_| arena_full())?;
            self.contacts.push_entry(i as u32, span);
        }
        Ok(())
    }

    /// A row with cells past the header: the map a contact held before the arena, built
    /// the same way (later equal keys replace earlier ones, caps counted per insert).
    fn metadata_with_extra_columns<C: Cells + ?Sized>(
        &mut self,
        row: u64,
        cells: &C,
    ) -> Result<(), ImportError> {
        let mut metadata: std::collections::BTreeMap<String, &str> = std::collections::BTreeMap::new();
        let mut bytes = 0usize;
        for i in 0..cells.len() {
            if i == self.layout.phone || self.is_name_column(i) {
                continue;
            }
            let value = trim(cells.cell(i));
            if value.is_empty() {
                continue;
            }
            let key = match self.layout.keys.get(i) {
                Some(k) => k.clone(),
                None => format!("column_{}", i + 1),
            };
            bytes += key.len() + value.len();
            metadata.insert(key, value);
            self.count_value(row, i, metadata.len(), bytes)?;
        }
        for (key, value) in metadata {
            let id = self.contacts.key(&key);
            let span = self
                .contacts
                .push_text(value)
                .map_err(|_| arena_full())?;
            self.contacts.push_entry(id, span);
        }
        // In the map's order: sorted.
        Ok(())
    }

    /// The header's columns in file order and the role of each (see [`FileColumn`]).
    fn file_columns(&self) -> Vec<FileColumn> {
        let Some(header) = self.layout.header.as_ref() else { return Vec::new() };
        header
            .iter()
            .enumerate()
            .map(|(i, h)| {
                let (role, key) = match self.layout.name {
                    _ if i == self.layout.phone => ("phone", None),
                    NameSource::Single(n) if n == i => ("name", None),
                    NameSource::FirstLast(f, _) if f == i => ("first_name", None),
                    NameSource::FirstLast(_, l) if l == i => ("last_name", None),
                    _ => ("metadata", self.layout.keys.get(i).cloned()),
                };
                // Headers as written, but cut like metadata keys: the report is stored on the
                // campaign item and must stay under MAX_REPORT_BYTES whatever the file.
                FileColumn { header: cut(h, columns::MAX_KEY_CHARS), role: role.to_string(), key }
            })
            // Beyond phone, name (or first + last) and the metadata cap, a column can hold no
            // value of an imported contact (the import fails over the cap), so listing it adds
            // nothing to the export and only grows the stored report.
            .take(self.limits.max_metadata_columns + 4)
            .collect()
    }

    fn finish(mut self) -> Parsed {
        let mut columns: Vec<String> = self
            .layout
            .keys
            .iter()
            .zip(&self.used)
            .filter(|(_, used)| **used)
            .map(|(k, _)| k.clone())
            .collect();
        columns.extend(self.extra_used.iter().map(|i| format!("column_{}", i + 1)));
        if self.used_extension && !columns.iter().any(|c| c == "extension") {
            columns.push("extension".to_string());
        }
        self.report.metadata_columns = columns;
        self.report.columns = self.file_columns();
        Parsed {
            report: self.report,
            contacts: self.contacts,
        }
    }
}
