//! XLSX sheets read straight from the zip, without calamine's per-cell path (issue 12 item 3).
//!
//! calamine 0.38 turns every cell into quick-xml events, a `DataRef`, a dense `Range` and then
//! a `Data`; `sheet::cell_text` made a `String` of that. This reader produces the very rows the
//! calamine path produces ([`crate::sheet::Sheet`]) for the workbooks it accepts, and accepts a
//! workbook only when it can be sure of that:
//!
//! - the small parts (`_rels/.rels`, the workbook, its relationships, `styles.xml`) go through
//!   quick-xml with calamine's reader settings, in loops that follow calamine's own, so that
//!   the same paths, sheet names and number formats come out;
//! - the shared strings and each sheet's `<sheetData>` are scanned by hand over a strict
//!   subset of XML: the elements and attributes spreadsheet writers put there (checked with
//!   our test writer, openpyxl and XlsxWriter), text with the five XML entities and character
//!   references, elements properly nested. Whatever lies
//!   outside that subset (comments, CDATA, namespace prefixes, unknown elements, a carriage
//!   return in text, a number that is not plainly written, cells out of order, a date-styled
//!   number, ...) makes the whole workbook [`Unhandled`], and the caller reads it with
//!   calamine as before. Falling back is always right; answering differently never is.
//!
//! Memory: the sheet is inflated in chunks of [`CHUNK`] bytes and scanned a row at a time;
//! the shared strings are held once, decoded. Past the caps below the workbook is left to
//! calamine, which behaves there as it did before this reader existed.

use std::collections::HashMap;
use std::io::{Cursor, Read};

use quick_xml::events::{BytesStart, Event};
use zip::ZipArchive;
use zip::result::ZipError;

use crate::sheet::{Sheet, float_text};

/// Why a workbook is left to calamine (named for tests and for debugging, not shown to users).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Unhandled(pub &'static str);

type Res<T> = Result<T, Unhandled>;

/// Inflated size of a small part (workbook, relationships, styles).
const MAX_PART_BYTES: u64 = 16 << 20;
/// Inflated size of the shared-string table (the file limit is 100 MiB compressed).
const MAX_SHARED_STRINGS_BYTES: u64 = 256 << 20;
/// Bytes of a sheet before its `<sheetData>`, and of one row.
const MAX_PROLOG_BYTES: usize = 16 << 20;
const MAX_ROW_BYTES: usize = 64 << 20;
/// Inflated sheet XML read at a time, at least (a row longer than the bytes held doubles them,
/// so that rescanning it from its start stays linear).
const CHUNK: usize = 256 << 10;
/// calamine allocates rows x columns cells for a sheet's used range (a hostile file with A1
/// and XFD1048576 asks for 687 GB and aborts the process: docs/parser.md, "Robustness").
/// Past this many the workbook goes to calamine, so such a file fails as it did before.
const MAX_DENSE_CELLS: u64 = 16 << 20;
/// Excel's last column is XFD (16,384 columns).
const MAX_COLUMNS: u32 = 16_384;
/// Text produced for all sheets together (the sheet worker answers at most 1 GiB).
const MAX_OUTPUT_BYTES: u64 = 1 << 30;
/// calamine reserves `uniqueCount` strings up front: a huge count aborts it, so leave that
/// to calamine too.
const MAX_UNIQUE_COUNT: u64 = 1 << 24;

fn un<T>(why: &'static str) -> Res<T> {
    Err(Unhandled(why))
}

/// Every sheet of an XLSX, as [`crate::sheet`]'s calamine path would return them, or why not.
pub(crate) fn read(bytes: &[u8]) -> Res<Vec<Sheet>> {
    let mut pkg = Package::open(bytes)?;
    let (xl_path, workbook_name) = package_relationships(&mut pkg)?;
    let strings = shared_strings(&mut pkg, &xl_path)?;
    let dates = date_styles(&mut pkg, &xl_path)?;
    let rels = workbook_relationships(&mut pkg, &xl_path, &workbook_name)?;
    let sheets = workbook_sheets(&mut pkg, &xl_path, &workbook_name, &rels)?;
    let mut budget = MAX_OUTPUT_BYTES;
    let mut out = Vec::with_capacity(sheets.len());
    for (name, path) in sheets {
        let rows = {
            let Some(file) = pkg.open_part(&path)? else {
                return un("a sheet's part is missing");
            };
            read_sheet(file, &strings, &dates, &mut budget)?
        };
        out.push(Sheet { name, rows });
    }
    Ok(out)
}

/// The zip with calamine's case-insensitive part lookup.
struct Package<'a> {
    zip: ZipArchive<Cursor<&'a [u8]>>,
    names: HashMap<String, String>,
}

impl<'a> Package<'a> {
    fn open(bytes: &'a [u8]) -> Res<Self> {
        let zip = ZipArchive::new(Cursor::new(bytes)).map_err(|_| Unhandled("zip"))?;
        // As calamine's `build_zip_path_cache`: the last entry of a normalized name wins.
        let mut names = HashMap::with_capacity(zip.len());
        for name in zip.file_names() {
            let name = name.map_err(|_| Unhandled("zip entry name"))?;
            names.insert(
                name.replace('\\', "/").to_ascii_lowercase(),
                name.into_owned(),
            );
        }
        Ok(Package { zip, names })
    }

    fn open_part(&mut self, path: &str) -> Res<Option<zip::read::ZipFile<'_, Cursor<&'a [u8]>>>> {
        let name = self
            .names
            .get(&path.to_ascii_lowercase())
            .map(String::as_str)
            .unwrap_or(path)
            .to_owned();
        match self.zip.by_name(&name) {
            Ok(f) => Ok(Some(f)),
            Err(ZipError::FileNotFound) => Ok(None),
            Err(_) => un("zip entry"),
        }
    }

    /// A whole part, inflated (at most `cap` bytes), or None when it is absent.
    fn part(&mut self, path: &str, cap: u64) -> Res<Option<Vec<u8>>> {
        let Some(file) = self.open_part(path)? else {
            return Ok(None);
        };
        let mut bytes = Vec::new();
        file.take(cap + 1)
            .read_to_end(&mut bytes)
            .map_err(|_| Unhandled("inflating a part"))?;
        if bytes.len() as u64 > cap {
            return un("a part is larger than the cap");
        }
        Ok(Some(bytes))
    }
}

// ---------------------------------------------------------------------------------------------
// The small parts, through quick-xml as calamine reads them.

/// An event of a small part, owned, with every attribute of a start tag already checked.
enum Ev {
    Start {
        local: String,
        name: String,
        attrs: Vec<(String, String)>,
    },
    End {
        local: String,
        name: String,
    },
    Ref(String),
    Eof,
    Other,
}

struct Xml<'b> {
    reader: quick_xml::Reader<&'b [u8]>,
    buf: Vec<u8>,
}

impl<'b> Xml<'b> {
    fn new(bytes: &'b [u8]) -> Self {
        Xml {
            reader: calamine_reader(bytes),
            buf: Vec::new(),
        }
    }

    fn next(&mut self) -> Res<Ev> {
        self.buf.clear();
        let ev = self
            .reader
            .read_event_into(&mut self.buf)
            .map_err(|_| Unhandled("xml"))?;
        if self.reader.encoding() != encoding_rs::UTF_8 {
            return un("not UTF-8");
        }
        Ok(match ev {
            Event::Start(e) => Ev::Start {
                local: e.local_name().as_ref().to_owned(),
                name: e.name().as_ref().to_owned(),
                attrs: checked_attrs(&e)?,
            },
            Event::End(e) => Ev::End {
                local: e.local_name().as_ref().to_owned(),
                name: e.name().as_ref().to_owned(),
            },
            Event::GeneralRef(r) => Ev::Ref(r.as_ref().to_owned()),
            Event::Eof => Ev::Eof,
            _ => Ev::Other,
        })
    }

    /// Events up to the end tag whose local name is `local` (calamine's inner loops).
    fn skip_to_end(&mut self, local: &str) -> Res<()> {
        loop {
            match self.next()? {
                Ev::End { local: l, .. } if l == local => return Ok(()),
                Ev::Eof => return un("eof"),
                _ => {}
            }
        }
    }
}

/// quick-xml configured as calamine's `xml_reader`.
fn calamine_reader(bytes: &[u8]) -> quick_xml::Reader<&[u8]> {
    let mut r = quick_xml::Reader::from_reader(bytes);
    let c = r.config_mut();
    c.check_end_names = false;
    c.trim_text(false);
    c.check_comments = false;
    c.expand_empty_elements = true;
    r
}

/// A start tag's attributes as calamine's raw iterator would yield them. Anything its
/// iterator or `decode_attr` could fail on, or a repeated name (calamine's lookups then
/// depend on attribute order), leaves the workbook to calamine.
fn checked_attrs(e: &BytesStart) -> Res<Vec<(String, String)>> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (k, v) in Attrs(e.attributes_raw().as_bytes()) {
        let (k, v) = (utf8(k?)?, utf8(v)?);
        if quick_xml::escape::unescape(v).is_err() {
            return un("attribute escape");
        }
        if out.iter().any(|(seen, _)| seen == k) {
            return un("repeated attribute");
        }
        out.push((k.to_owned(), v.to_owned()));
    }
    Ok(out)
}

fn utf8(b: &[u8]) -> Res<&str> {
    std::str::from_utf8(b).map_err(|_| Unhandled("not UTF-8"))
}

fn attr<'x>(attrs: &'x [(String, String)], key: &str) -> Option<&'x str> {
    attrs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn decode_attr(v: &str) -> Res<String> {
    quick_xml::escape::unescape(v)
        .map(|s| s.into_owned())
        .map_err(|_| Unhandled("attribute escape"))
}

/// `_rels/.rels`: where the workbook part is (calamine's `read_package_relationships`).
fn package_relationships(pkg: &mut Package) -> Res<(String, String)> {
    let Some(bytes) = pkg.part("_rels/.rels", MAX_PART_BYTES)? else {
        return un("no _rels/.rels");
    };
    let mut xml = Xml::new(&bytes);
    loop {
        match xml.next()? {
            Ev::Start { local, .. } if local == "Relationships" => break,
            Ev::Eof => return un("eof"),
            _ => {}
        }
    }
    let mut target = None;
    loop {
        match xml.next()? {
            Ev::Start { local, attrs, .. } if local == "Relationship" => {
                let office = attr(&attrs, "Type")
                    .is_some_and(|t| t.ends_with("/relationships/officeDocument"));
                if let (true, Some(t)) = (office, attr(&attrs, "Target")) {
                    target = Some(decode_attr(t)?);
                }
            }
            Ev::End { local, .. } if local == "Relationships" => break,
            Ev::Eof => return un("eof"),
            _ => {}
        }
    }
    let Some(target) = target else {
        return un("no officeDocument relationship");
    };
    let (dir, name) = match target.rfind('/') {
        Some(i) => target.split_at(i + 1),
        None => ("", target.as_str()),
    };
    let name = if name.is_empty() {
        "workbook.xml"
    } else {
        name
    };
    Ok((
        dir.strip_prefix('/').unwrap_or(dir).to_owned(),
        name.to_owned(),
    ))
}

/// The workbook's relationships: id -> (target, type), raw as calamine keeps them.
fn workbook_relationships(
    pkg: &mut Package,
    xl_path: &str,
    workbook_name: &str,
) -> Res<HashMap<String, (String, String)>> {
    let path = format!("{xl_path}_rels/{workbook_name}.rels");
    let Some(bytes) = pkg.part(&path, MAX_PART_BYTES)? else {
        return un("no workbook relationships");
    };
    let mut xml = Xml::new(&bytes);
    let mut rels = HashMap::new();
    loop {
        match xml.next()? {
            Ev::Start { local, attrs, .. } if local == "Relationship" => {
                if let Some(id) = attr(&attrs, "Id") {
                    let target = attr(&attrs, "Target").unwrap_or_default().to_owned();
                    let typ = attr(&attrs, "Type").unwrap_or_default().to_owned();
                    rels.insert(id.to_owned(), (target, typ));
                }
            }
            Ev::End { local, .. } if local == "Relationships" => break,
            Ev::Eof => return un("eof"),
            _ => {}
        }
    }
    Ok(rels)
}

/// The worksheets in workbook order: (name, part path). Chart and dialog sheets, repeated
/// names and anything calamine would refuse are left to calamine.
fn workbook_sheets(
    pkg: &mut Package,
    xl_path: &str,
    workbook_name: &str,
    rels: &HashMap<String, (String, String)>,
) -> Res<Vec<(String, String)>> {
    let Some(bytes) = pkg.part(&format!("{xl_path}{workbook_name}"), MAX_PART_BYTES)? else {
        return un("no workbook part");
    };
    let mut xml = Xml::new(&bytes);
    let mut sheets: Vec<(String, String)> = Vec::new();
    loop {
        match xml.next()? {
            Ev::Start { local, attrs, .. } if local == "sheet" => {
                let mut name = String::new();
                let mut rel_id = "";
                for (k, v) in &attrs {
                    match k.as_str() {
                        "name" => name = decode_attr(v)?,
                        "state" if !matches!(v.as_str(), "visible" | "hidden" | "veryHidden") => {
                            return un("sheet state");
                        }
                        k if k == "id" || k.ends_with(":id") => rel_id = v,
                        _ => {}
                    }
                }
                let Some((target, typ)) = rels.get(rel_id) else {
                    return un("sheet relationship missing");
                };
                if typ.rsplit('/').next() != Some("worksheet") {
                    return un("not a worksheet");
                }
                let path = match target.strip_prefix('/') {
                    Some(abs) => abs.to_owned(),
                    None => format!("{xl_path}{target}"),
                };
                if sheets.iter().any(|(n, _)| *n == name) {
                    return un("repeated sheet name");
                }
                sheets.push((name, path));
            }
            // calamine decodes a defined name's text; a bad entity fails the workbook.
            Ev::Start { local, name, attrs }
                if local == "definedName" && attr(&attrs, "name").is_some() =>
            {
                loop {
                    match xml.next()? {
                        Ev::Ref(r) => {
                            entity(&r)?;
                        }
                        Ev::End { name: n, .. } if n == name => break,
                        Ev::Eof => return un("eof"),
                        _ => {}
                    }
                }
            }
            Ev::End { local, .. } if local == "workbook" => break,
            Ev::Eof => return un("eof"),
            _ => {}
        }
    }
    Ok(sheets)
}

/// For each cell format (`cellXfs`), whether calamine might read a number in it as a date
/// (it then gives `DateTime`, which this reader leaves to calamine). It errs towards "might":
/// a wrong "might" costs a fall-back, a wrong "not" would change a cell.
fn date_styles(pkg: &mut Package, xl_path: &str) -> Res<Vec<bool>> {
    let Some(bytes) = pkg.part(&format!("{xl_path}styles.xml"), MAX_PART_BYTES)? else {
        return Ok(Vec::new());
    };
    // Every custom format in the file, wherever it is: calamine only knows those read before
    // the `cellXfs`, so a format id counts as a date if either reading says so.
    let mut custom: HashMap<String, bool> = HashMap::new();
    let mut xfs: Vec<Option<String>> = Vec::new();
    let mut xml = Xml::new(&bytes);
    loop {
        match xml.next()? {
            Ev::Start { local, .. } if local == "numFmts" => loop {
                match xml.next()? {
                    Ev::Start { local, attrs, .. } if local == "numFmt" => {
                        if let (Some(id), Some(code)) =
                            (attr(&attrs, "numFmtId"), attr(&attrs, "formatCode"))
                        {
                            let code = decode_attr(code)?;
                            let date = custom.get(id).copied().unwrap_or(false);
                            custom.insert(id.to_owned(), date || might_be_date(&code));
                        }
                    }
                    Ev::End { local, .. } if local == "numFmts" => break,
                    Ev::Eof => return un("eof"),
                    _ => {}
                }
            },
            Ev::Start { local, .. } if local == "fonts" => {
                items(&mut xml, "fonts", "font", &[])?;
            }
            Ev::Start { local, .. } if local == "fills" => {
                items(&mut xml, "fills", "fill", &[])?;
            }
            Ev::Start { local, .. } if local == "borders" => {
                items(
                    &mut xml,
                    "borders",
                    "border",
                    &["left", "right", "top", "bottom", "diagonal"],
                )?;
            }
            Ev::Start { local, .. } if local == "cellXfs" => loop {
                match xml.next()? {
                    Ev::Start { local, attrs, .. } if local == "xf" => {
                        xfs.push(attr(&attrs, "numFmtId").map(str::to_owned));
                        xml.skip_to_end("xf")?;
                    }
                    Ev::End { local, .. } if local == "cellXfs" => break,
                    Ev::Eof => return un("eof"),
                    _ => {}
                }
            },
            Ev::End { local, .. } if local == "styleSheet" => break,
            Ev::Eof => return un("eof"),
            _ => {}
        }
    }
    Ok(xfs
        .iter()
        .map(|id| {
            id.as_deref()
                .is_some_and(|id| builtin_date(id) || custom.get(id).copied().unwrap_or(false))
        })
        .collect())
}

/// calamine's `fonts`/`fills`/`borders` loops: each item read up to its end tag; a border's
/// sides up to theirs.
fn items(xml: &mut Xml, list: &str, item: &str, sides: &[&str]) -> Res<()> {
    loop {
        match xml.next()? {
            Ev::Start { local, .. } if local == item => loop {
                match xml.next()? {
                    Ev::Start { local, .. } if sides.contains(&local.as_str()) => {
                        xml.skip_to_end(&local)?;
                    }
                    Ev::End { local, .. } if local == item => break,
                    Ev::Eof => return un("eof"),
                    _ => {}
                }
            },
            Ev::End { local, .. } if local == list => return Ok(()),
            Ev::Eof => return un("eof"),
            _ => {}
        }
    }
}

/// calamine's built-in date and time formats (`builtin_format_by_id`).
fn builtin_date(id: &str) -> bool {
    matches!(
        id,
        "14" | "15"
            | "16"
            | "17"
            | "18"
            | "19"
            | "20"
            | "21"
            | "22"
            | "27"
            | "28"
            | "29"
            | "30"
            | "31"
            | "32"
            | "33"
            | "34"
            | "35"
            | "36"
            | "45"
            | "46"
            | "47"
            | "50"
            | "51"
            | "52"
            | "53"
            | "54"
            | "55"
            | "56"
            | "57"
            | "58"
    )
}

/// Over-approximates calamine's `detect_custom_number_format`: it can only answer DateTime or
/// TimeDelta on a letter of d, m, h, y, s (or a/p after "a"), in either case.
fn might_be_date(code: &str) -> bool {
    code.chars().any(|c| {
        matches!(
            c.to_ascii_lowercase(),
            'd' | 'm' | 'h' | 'y' | 's' | 'a' | 'p'
        )
    })
}

// ---------------------------------------------------------------------------------------------
// The hand scanner: a strict subset of XML over complete, in-memory bytes.

/// Why a scan stopped: the bytes ended inside an element (read more and retry), or the
/// input is outside the subset.
enum Halt {
    More,
    Un(&'static str),
}

type Scan<T> = Result<T, Halt>;

impl From<Unhandled> for Halt {
    fn from(u: Unhandled) -> Self {
        Halt::Un(u.0)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Open,
    Close,
    /// `<x/>`: calamine's reader expands it to an open and a close tag.
    Empty,
}

struct Tag<'a> {
    name: &'a [u8],
    attrs: &'a [u8],
    kind: Kind,
}

struct Cur<'a> {
    b: &'a [u8],
    i: usize,
}

fn is_ws(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r')
}

impl<'a> Cur<'a> {
    fn skip_ws(&mut self) {
        while self.b.get(self.i).copied().is_some_and(is_ws) {
            self.i += 1;
        }
    }

    /// Whitespace, then a tag; any other text before it is outside the subset.
    fn tag_after_ws(&mut self) -> Scan<Tag<'a>> {
        self.skip_ws();
        match self.b.get(self.i) {
            Some(b'<') => self.tag(),
            Some(_) => Err(Halt::Un("text between elements")),
            None => Err(Halt::More),
        }
    }

    /// The tag at `<`. Comments, CDATA, processing instructions and prefixed names are
    /// outside the subset.
    fn tag(&mut self) -> Scan<Tag<'a>> {
        let b = self.b;
        let start = self.i + 1;
        let close = b.get(start) == Some(&b'/');
        let name_start = start + usize::from(close);
        let after = b.get(name_start..).unwrap_or_default();
        let len = after
            .iter()
            .position(|c| !c.is_ascii_alphanumeric())
            .ok_or(Halt::More)?;
        let mut j = name_start + len;
        match after[len] {
            _ if len == 0 => return Err(Halt::Un("element name")),
            b'>' if close => {
                self.i = j + 1;
                return Ok(Tag {
                    name: &after[..len],
                    attrs: &[],
                    kind: Kind::Close,
                });
            }
            c if is_ws(c) || c == b'>' || c == b'/' => {}
            _ => return Err(Halt::Un("element name")),
        }
        let name = &after[..len];
        if close {
            while b.get(j).copied().is_some_and(is_ws) {
                j += 1;
            }
            return match b.get(j) {
                Some(b'>') => {
                    self.i = j + 1;
                    Ok(Tag {
                        name,
                        attrs: &[],
                        kind: Kind::Close,
                    })
                }
                Some(_) => Err(Halt::Un("end tag")),
                None => Err(Halt::More),
            };
        }
        // Attributes: name="value" or name='value', whitespace before each.
        let attrs_start = j;
        loop {
            let ws = b.get(j).copied().is_some_and(is_ws);
            while b.get(j).copied().is_some_and(is_ws) {
                j += 1;
            }
            match b.get(j) {
                None => return Err(Halt::More),
                Some(b'>') => {
                    self.i = j + 1;
                    return Ok(Tag {
                        name,
                        attrs: &b[attrs_start..j],
                        kind: Kind::Open,
                    });
                }
                Some(b'/') => {
                    return match b.get(j + 1) {
                        Some(b'>') => {
                            self.i = j + 2;
                            Ok(Tag {
                                name,
                                attrs: &b[attrs_start..j],
                                kind: Kind::Empty,
                            })
                        }
                        Some(_) => Err(Halt::Un("tag")),
                        None => Err(Halt::More),
                    };
                }
                Some(_) if !ws => return Err(Halt::Un("attribute spacing")),
                Some(_) => {}
            }
            let key = j;
            while let Some(&c) = b.get(j) {
                if c == b'=' || is_ws(c) || matches!(c, b'>' | b'/' | b'"' | b'\'' | b'<') {
                    break;
                }
                j += 1;
            }
            if j == key {
                return Err(Halt::Un("attribute name"));
            }
            while b.get(j).copied().is_some_and(is_ws) {
                j += 1;
            }
            match b.get(j) {
                Some(b'=') => j += 1,
                Some(_) => return Err(Halt::Un("attribute without value")),
                None => return Err(Halt::More),
            }
            while b.get(j).copied().is_some_and(is_ws) {
                j += 1;
            }
            let quote = match b.get(j) {
                Some(&q @ (b'"' | b'\'')) => q,
                Some(_) => return Err(Halt::Un("unquoted attribute")),
                None => return Err(Halt::More),
            };
            let Some(len) = b.get(j + 1..).and_then(|rest| memchr::memchr(quote, rest)) else {
                return Err(Halt::More);
            };
            let value = &b[j + 1..j + 1 + len];
            if value.iter().any(|&c| c == b'<' || c == b'&') {
                return Err(Halt::Un("attribute value"));
            }
            j += len + 2;
        }
    }

    /// Text up to the next `<` (which must be there).
    fn text(&mut self) -> Scan<&'a [u8]> {
        let rest = self.b.get(self.i..).unwrap_or_default();
        let Some(n) = memchr::memchr(b'<', rest) else {
            return Err(Halt::More);
        };
        self.i += n;
        Ok(&rest[..n])
    }

    /// The end tag `</name>` must come next.
    fn close(&mut self, name: &[u8]) -> Scan<()> {
        let rest = self.b.get(self.i..).unwrap_or_default();
        if let Some(after) = rest.strip_prefix(b"</")
            && after
                .strip_prefix(name)
                .is_some_and(|a| a.first() == Some(&b'>'))
        {
            self.i += name.len() + 3;
            return Ok(());
        }
        let t = self.tag_after_ws()?;
        if t.kind == Kind::Close && t.name == name {
            Ok(())
        } else {
            Err(Halt::Un("unexpected element"))
        }
    }
}

/// The attributes of a checked tag (the scanner has validated their shape).
struct Attrs<'a>(&'a [u8]);

impl<'a> Iterator for Attrs<'a> {
    type Item = (Res<&'a [u8]>, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let b = self.0;
        let start = b.iter().position(|&c| !is_ws(c))?;
        let Some(eq) = b[start..]
            .iter()
            .position(|&c| c == b'=')
            .map(|n| start + n)
        else {
            self.0 = &[];
            return Some((Err(Unhandled("attribute without value")), &[]));
        };
        let key = b[start..eq].trim_ascii_end();
        let after = b[eq + 1..].trim_ascii_start();
        let Some(&q) = after.first().filter(|&&q| q == b'"' || q == b'\'') else {
            self.0 = &[];
            return Some((Err(Unhandled("unquoted attribute")), &[]));
        };
        let Some(len) = memchr::memchr(q, &after[1..]) else {
            self.0 = &[];
            return Some((Err(Unhandled("unclosed attribute")), &[]));
        };
        self.0 = &after[len + 2..];
        let key = if key.is_empty() || key.iter().any(|&c| is_ws(c) || c == b'"' || c == b'\'') {
            Err(Unhandled("attribute name"))
        } else {
            Ok(key)
        };
        Some((key, &after[1..1 + len]))
    }
}

/// Appends text with its entities decoded as calamine does (the five XML entities and
/// character references); a carriage return (which quick-xml would normalize) or anything
/// else is outside the subset.
fn decode_text(raw: &[u8], out: &mut String) -> Scan<()> {
    let s = std::str::from_utf8(raw).map_err(|_| Halt::Un("not UTF-8"))?;
    if memchr::memchr2(b'&', b'\r', raw).is_none() {
        out.push_str(s);
        return Ok(());
    }
    if memchr::memchr(b'\r', raw).is_some() {
        return Err(Halt::Un("carriage return"));
    }
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let Some(semi) = after.find(';') else {
            return Err(Halt::Un("entity"));
        };
        match entity(&after[..semi])? {
            EntityText::Str(e) => out.push_str(e),
            EntityText::Char(c) => out.push(c),
        }
        rest = &after[semi + 1..];
    }
    out.push_str(rest);
    Ok(())
}

/// quick-xml's `resolve_xml_entity` and `resolve_char_ref`, as calamine uses them.
fn entity(name: &str) -> Res<EntityText> {
    Ok(match name {
        "lt" => EntityText::Str("<"),
        "gt" => EntityText::Str(">"),
        "amp" => EntityText::Str("&"),
        "apos" => EntityText::Str("'"),
        "quot" => EntityText::Str("\""),
        _ => {
            let Some(num) = name.strip_prefix('#') else {
                return un("unknown entity");
            };
            let (digits, radix) = match num.strip_prefix('x') {
                Some(hex) => (hex, 16),
                None => (num, 10),
            };
            if digits.starts_with(['+', '-']) {
                return un("char reference");
            }
            let code = u32::from_str_radix(digits, radix).map_err(|_| Unhandled("char ref"))?;
            match char::from_u32(code) {
                Some(c) if code != 0 => EntityText::Char(c),
                _ => return un("char reference"),
            }
        }
    })
}

enum EntityText {
    Str(&'static str),
    Char(char),
}

/// calamine's `unescape_xml`: Excel's `_xHHHH_` escapes (UTF-16 code units, surrogate pairs
/// as two escapes, lone surrogates as U+FFFD), appended to `out`.
fn push_unescaped(s: &str, out: &mut String) {
    let bytes = s.as_bytes();
    let mut copied = 0;
    let mut i = 0;
    while let Some(off) = memchr::memchr(b'_', bytes.get(i..).unwrap_or_default()) {
        let at = i + off;
        let Some(unit) = xml_escape(bytes, at) else {
            i = at + 1;
            continue;
        };
        out.push_str(s.get(copied..at).unwrap_or_default());
        let mut next = at + 7;
        let c = match unit {
            0xD800..=0xDBFF => match xml_escape(bytes, next) {
                Some(low @ 0xDC00..=0xDFFF) => {
                    next += 7;
                    let code =
                        0x10000 + ((u32::from(unit) - 0xD800) << 10) + (u32::from(low) - 0xDC00);
                    char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER)
                }
                _ => char::REPLACEMENT_CHARACTER,
            },
            0xDC00..=0xDFFF => char::REPLACEMENT_CHARACTER,
            _ => char::from_u32(u32::from(unit)).unwrap_or(char::REPLACEMENT_CHARACTER),
        };
        out.push(c);
        copied = next;
        i = next;
    }
    out.push_str(s.get(copied..).unwrap_or_default());
}

fn xml_escape(bytes: &[u8], at: usize) -> Option<u16> {
    let e = bytes.get(at..at + 7)?;
    if e[0] != b'_' || e[1] != b'x' || e[6] != b'_' {
        return None;
    }
    let hex = std::str::from_utf8(&e[2..6]).ok()?;
    if !hex.bytes().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    u16::from_str_radix(hex, 16).ok()
}

/// A rich or plain string (`<is>` or `<si>`) after its start tag, up to `</closing>`: the
/// text of every `<t>` outside phonetic runs (`<rPh>`), each trimmed of ASCII whitespace
/// unless `xml:space="preserve"`, each with Excel's escapes decoded, concatenated (calamine's
/// `read_string_with_bufs`). `scratch` is reused between calls.
fn rich_string(cur: &mut Cur, closing: &[u8], out: &mut String, scratch: &mut String) -> Scan<()> {
    // Most strings are `<t>text</t></closing>`: read those without the general loop (the
    // same steps, a third of a string cell's instructions).
    let rest = cur.b.get(cur.i..).unwrap_or_default();
    if let Some(after) = rest.strip_prefix(b"<t>")
        && let Some(n) = memchr::memchr(b'<', after)
    {
        let (raw, tail) = after.split_at(n);
        let end = 6 + closing.len();
        if tail.starts_with(b"</t></")
            && tail.get(6..end) == Some(closing)
            && tail.get(end) == Some(&b'>')
        {
            scratch.clear();
            decode_text(raw, scratch)?;
            push_piece(scratch, false, out);
            cur.i += 3 + n + end + 1;
            return Ok(());
        }
    }
    // The elements open inside the string, which must nest properly: quick-xml refuses an end
    // tag with nothing open, so an unbalanced string could fail calamine's read of the file.
    let mut open: Vec<&[u8]> = Vec::new();
    loop {
        let t = cur.tag_after_ws()?;
        let phonetic = open.contains(&&b"rPh"[..]);
        match (t.kind, t.name) {
            (Kind::Close, n) if n == closing && open.is_empty() => return Ok(()),
            (Kind::Open, b"t") if !phonetic => {
                let mut preserve = false;
                for (k, v) in Attrs(t.attrs) {
                    if k? == b"xml:space" {
                        preserve = v == b"preserve";
                    }
                }
                let raw = cur.text()?;
                cur.close(b"t")?;
                scratch.clear();
                decode_text(raw, scratch)?;
                push_piece(scratch, preserve, out);
            }
            (Kind::Open, b"t") => {
                // Phonetic text is skipped by calamine without decoding it.
                let raw = cur.text()?;
                if raw.contains(&b'&') || std::str::from_utf8(raw).is_err() {
                    return Err(Halt::Un("phonetic text"));
                }
                cur.close(b"t")?;
            }
            // calamine's phonetic flag is not a stack: a run inside a run is left to it.
            (Kind::Open, b"rPh") if phonetic => return Err(Halt::Un("nested phonetic run")),
            (Kind::Open, name) if RICH_TEXT_ELEMENTS.contains(&name) && open.len() < 8 => {
                open.push(name);
            }
            (Kind::Close, name) if open.last() == Some(&name) => {
                open.pop();
            }
            (Kind::Empty, name) if RICH_TEXT_ELEMENTS.contains(&name) => {}
            _ => return Err(Halt::Un("element in a string")),
        }
    }
}

/// What calamine trims from a `<t>` without `xml:space="preserve"` (ASCII whitespace only).
const WS: [char; 4] = [' ', '\t', '\r', '\n'];

/// One `<t>`'s decoded text, trimmed unless preserved, Excel's escapes decoded, onto `out`.
fn push_piece(text: &str, preserve: bool, out: &mut String) {
    let trimmed = !preserve && (text.starts_with(WS) || text.ends_with(WS));
    push_unescaped(if trimmed { text.trim_matches(WS) } else { text }, out);
}

/// Elements a string may hold besides `<t>`: runs, phonetic runs and their properties.
const RICH_TEXT_ELEMENTS: &[&[u8]] = &[
    b"t",
    b"rPh",
    b"r",
    b"rPr",
    b"phoneticPr",
    b"rFont",
    b"charset",
    b"family",
    b"b",
    b"i",
    b"strike",
    b"outline",
    b"shadow",
    b"condense",
    b"extend",
    b"color",
    b"sz",
    b"u",
    b"vertAlign",
    b"scheme",
];

// ---------------------------------------------------------------------------------------------
// Shared strings.

/// The shared-string table, decoded once: one buffer, each string's end offset.
#[derive(Default)]
struct Strings {
    text: String,
    ends: Vec<usize>,
}

impl Strings {
    fn get(&self, i: usize) -> Option<&str> {
        let end = *self.ends.get(i)?;
        let start = match i.checked_sub(1) {
            Some(p) => *self.ends.get(p)?,
            None => 0,
        };
        self.text.get(start..end)
    }
}

/// `{xl_path}sharedStrings.xml` (calamine looks there, not in the relationships).
fn shared_strings(pkg: &mut Package, xl_path: &str) -> Res<Strings> {
    let Some(bytes) = pkg.part(
        &format!("{xl_path}sharedStrings.xml"),
        MAX_SHARED_STRINGS_BYTES,
    )?
    else {
        return Ok(Strings::default());
    };
    // Up to the `<sst>` start tag with quick-xml, as calamine reads it.
    let mut reader = calamine_reader(&bytes);
    let mut buf = Vec::new();
    let empty = loop {
        buf.clear();
        match reader.read_event_into(&mut buf) {
            Ok(Event::Start(e)) if e.local_name().as_ref() == "sst" => {
                let attrs = checked_attrs(&e)?;
                if e.name().as_ref() != "sst" {
                    return un("prefixed sst");
                }
                if let Some(n) = attr(&attrs, "uniqueCount") {
                    let small = n.len() <= 9
                        && n.bytes().all(|c| c.is_ascii_digit())
                        && n.parse::<u64>().is_ok_and(|n| n <= MAX_UNIQUE_COUNT);
                    if !small {
                        return un("uniqueCount");
                    }
                }
                break bytes
                    .get(..usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX))
                    .is_some_and(|b| b.ends_with(b"/>"));
            }
            Ok(Event::Start(e)) => {
                checked_attrs(&e)?;
            }
            Ok(Event::Eof) | Err(_) => return un("sst start"),
            Ok(_) => {}
        }
        if reader.encoding() != encoding_rs::UTF_8 {
            return un("not UTF-8");
        }
    };
    if reader.encoding() != encoding_rs::UTF_8 {
        return un("not UTF-8");
    }
    // The scan below checks the text it keeps; quick-xml would refuse invalid UTF-8 anywhere.
    if std::str::from_utf8(&bytes).is_err() {
        return un("not UTF-8");
    }
    let mut strings = Strings::default();
    if empty {
        return Ok(strings);
    }
    let start = usize::try_from(reader.buffer_position()).map_err(|_| Unhandled("position"))?;
    let mut cur = Cur {
        b: &bytes,
        i: start,
    };
    let mut scratch = String::new();
    let scan = (|| -> Scan<()> {
        loop {
            let t = cur.tag_after_ws()?;
            match (t.kind, t.name) {
                (Kind::Open, b"si") => {
                    rich_string(&mut cur, b"si", &mut strings.text, &mut scratch)?;
                }
                (Kind::Empty, b"si") => {}
                (Kind::Close, b"sst") => return Ok(()),
                _ => return Err(Halt::Un("element in sst")),
            }
            if strings.ends.len() as u64 >= MAX_UNIQUE_COUNT {
                return Err(Halt::Un("too many shared strings"));
            }
            strings.ends.push(strings.text.len());
        }
    })();
    match scan {
        Ok(()) => Ok(strings),
        Err(Halt::More) => un("sst truncated"),
        Err(Halt::Un(why)) => un(why),
    }
}

// ---------------------------------------------------------------------------------------------
// Sheets.

/// A cell's value, as calamine would hold it before `sheet::cell_text`.
enum Value {
    /// calamine's `DataRef::Empty`: not part of the sheet's used range.
    Empty,
    /// Text produced into the row's buffer (`start..end`).
    Text(usize, usize),
    /// A shared string.
    Shared(usize),
}

/// Positions (0-based) as calamine tracks them between rows and cells.
#[derive(Clone, Copy)]
struct Pos {
    row: u32,
    col: u32,
}

/// What one sheet produced so far.
struct Rows {
    rows: Vec<(u64, Vec<String>)>,
    current: Vec<String>,
    current_row: Option<u32>,
    current_blank: bool,
    last: Option<(u32, u32)>,
    first_row: u32,
    col_min: u32,
    col_max: u32,
}

impl Rows {
    fn push(&mut self, row: u32, col: u32, text: &str, budget: &mut u64) -> Res<()> {
        // calamine places cells in a dense range whatever their order; in order, each
        // lands in its own slot and rows come out as here.
        if self.last.is_some_and(|last| (row, col) <= last) {
            return un("cells out of order");
        }
        if col >= MAX_COLUMNS {
            return un("column past XFD");
        }
        let first_row = if self.last.is_some() {
            self.first_row
        } else {
            row
        };
        let (col_min, col_max) = if self.last.is_some() {
            (self.col_min.min(col), self.col_max.max(col))
        } else {
            (col, col)
        };
        let dense =
            (u64::from(row) - u64::from(first_row) + 1) * (u64::from(col_max - col_min) + 1);
        if dense > MAX_DENSE_CELLS {
            return un("used range too large");
        }
        *budget = budget
            .checked_sub(text.len() as u64 + 8)
            .ok_or(Unhandled("too much text"))?;
        (self.first_row, self.col_min, self.col_max) = (first_row, col_min, col_max);
        self.last = Some((row, col));
        if self.current_row != Some(row) {
            self.flush();
            self.current_row = Some(row);
        }
        let col = col as usize;
        if self.current.len() < col {
            self.current.resize(col, String::new());
        }
        if self.current_blank {
            self.current_blank = text.trim().is_empty();
        }
        self.current.push(text.to_owned());
        Ok(())
    }

    /// The current row, unless all its cells are blank (`sheet::sheets` skips those).
    fn flush(&mut self) {
        if let Some(row) = self.current_row.take() {
            let width = self.current.len();
            let cells = std::mem::replace(&mut self.current, Vec::with_capacity(width));
            if !self.current_blank {
                self.rows.push((u64::from(row) + 1, cells));
            }
        }
        self.current_blank = true;
    }

    /// Every row as wide as the used range's last column, as calamine's range makes them.
    fn finish(mut self) -> Vec<(u64, Vec<String>)> {
        self.flush();
        let width = self.col_max as usize + 1;
        for (_, cells) in &mut self.rows {
            cells.resize(width, String::new());
        }
        self.rows
    }
}

/// One sheet part, inflated a chunk at a time and scanned a row at a time.
fn read_sheet(
    mut src: impl Read,
    strings: &Strings,
    dates: &[bool],
    budget: &mut u64,
) -> Res<Vec<(u64, Vec<String>)>> {
    let mut buf: Vec<u8> = Vec::with_capacity(CHUNK);
    let mut eof = false;
    let (mut at, empty) = loop {
        match sheet_prolog(&buf)? {
            Some(found) => break found,
            None if eof || buf.len() > MAX_PROLOG_BYTES => return un("no sheetData"),
            None => eof = fill(&mut src, &mut buf)?,
        }
    };
    let mut out = Rows {
        rows: Vec::new(),
        current: Vec::new(),
        current_row: None,
        current_blank: true,
        last: None,
        first_row: 0,
        col_min: 0,
        col_max: 0,
    };
    if empty {
        return Ok(out.finish());
    }
    let mut pos = Pos { row: 0, col: 0 };
    let mut row = RowScan::default();
    loop {
        let mut cur = Cur {
            b: buf.get(at..).unwrap_or_default(),
            i: 0,
        };
        match row.scan(&mut cur, pos, strings, dates) {
            Ok(None) => break,
            Ok(Some(next)) => {
                let consumed = cur.i;
                std::str::from_utf8(buf.get(at..at + consumed).unwrap_or_default())
                    .map_err(|_| Unhandled("not UTF-8"))?;
                row.commit(&mut out, strings, budget)?;
                pos = next;
                at += consumed;
            }
            Err(Halt::Un(why)) => return un(why),
            Err(Halt::More) => {
                if eof {
                    return un("sheet truncated");
                }
                buf.drain(..at);
                at = 0;
                if buf.len() > MAX_ROW_BYTES {
                    return un("row too large");
                }
                eof = fill(&mut src, &mut buf)?;
            }
        }
    }
    Ok(out.finish())
}

/// Inflates [`CHUNK`] more bytes, or as many as are held; true at the end of the part.
fn fill(src: &mut impl Read, buf: &mut Vec<u8>) -> Res<bool> {
    let n = src
        .take(CHUNK.max(buf.len()) as u64)
        .read_to_end(buf)
        .map_err(|_| Unhandled("inflating a sheet"))?;
    Ok(n == 0)
}

/// Where `<sheetData>` ends in the bytes so far (and whether it is `<sheetData/>`), read
/// with quick-xml as calamine's `XlsxCellReader::new` reads it; None if more bytes are needed.
fn sheet_prolog(bytes: &[u8]) -> Res<Option<(usize, bool)>> {
    let mut reader = calamine_reader(bytes);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let ev = match reader.read_event_into(&mut buf) {
            Ok(ev) => ev,
            // Perhaps only cut short: decide once all bytes are in.
            Err(_) => return Ok(None),
        };
        if reader.encoding() != encoding_rs::UTF_8 {
            return un("not UTF-8");
        }
        match ev {
            Event::Start(e) => {
                let attrs = checked_attrs(&e)?;
                match e.local_name().as_ref() {
                    "dimension" => match attr(&attrs, "ref") {
                        Some(r) if dimension_ok(r) => {}
                        _ => return un("dimension"),
                    },
                    "sheetData" => {
                        if e.name().as_ref() != "sheetData" {
                            return un("prefixed sheetData");
                        }
                        let end = usize::try_from(reader.buffer_position())
                            .map_err(|_| Unhandled("position"))?;
                        let empty = bytes.get(..end).is_some_and(|b| b.ends_with(b"/>"));
                        return Ok(Some((end, empty)));
                    }
                    _ => {}
                }
            }
            Event::Eof => return Ok(None),
            _ => {}
        }
    }
}

/// A `ref` calamine's `get_dimension` takes without error and without overflow: "A1" or
/// "A1:D20", the second corner not before the first.
fn dimension_ok(r: &str) -> bool {
    let mut parts = r.split(':').map(|p| cell_ref(p.as_bytes()));
    match (parts.next(), parts.next(), parts.next()) {
        (Some(Some(_)), None, None) => true,
        (Some(Some(a)), Some(Some(b)), None) => b.0 >= a.0 && b.1 >= a.1,
        _ => false,
    }
}

/// "C5" -> (row 4, column 2): 1 to 3 capital letters, then a row number from 1 without a
/// leading zero, at most 7 digits (calamine also takes other spellings; those fall back).
fn cell_ref(r: &[u8]) -> Option<(u32, u32)> {
    let letters = r.iter().take_while(|c| c.is_ascii_uppercase()).count();
    if !(1..=3).contains(&letters) {
        return None;
    }
    let col = r[..letters]
        .iter()
        .fold(0u32, |acc, &c| acc * 26 + u32::from(c - b'A') + 1);
    Some((row_number(&r[letters..])?, col - 1))
}

/// "5" -> 4 (0-based).
fn row_number(d: &[u8]) -> Option<u32> {
    if d.is_empty() || d.len() > 7 || d[0] == b'0' || !d.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(
        d.iter()
            .fold(0u32, |acc, &c| acc * 10 + u32::from(c - b'0'))
            - 1,
    )
}

/// A small non-negative index as calamine's `atoi_simd` reads it: "0", or digits without a
/// leading zero.
fn index(v: &[u8]) -> Option<usize> {
    if v.is_empty() || v.len() > 9 || (v.len() > 1 && v[0] == b'0') {
        return None;
    }
    v.iter().try_fold(0usize, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + usize::from(c - b'0'))
    })
}

/// One row element's cells, held until the row is complete (a row cut by the end of a
/// chunk is scanned again from its start).
#[derive(Default)]
struct RowScan {
    cells: Vec<(u32, u32, Value)>,
    text: String,
    scratch: String,
}

impl RowScan {
    /// The next `<row>` from `cur`: Some(position after it), or None at `</sheetData>`.
    fn scan(
        &mut self,
        cur: &mut Cur,
        mut pos: Pos,
        strings: &Strings,
        dates: &[bool],
    ) -> Scan<Option<Pos>> {
        self.cells.clear();
        self.text.clear();
        let t = cur.tag_after_ws()?;
        match (t.kind, t.name) {
            (Kind::Close, b"sheetData") => return Ok(None),
            (Kind::Open | Kind::Empty, b"row") => {}
            _ => return Err(Halt::Un("element in sheetData")),
        }
        for (k, v) in Attrs(t.attrs) {
            if k? == b"r" {
                pos.row = row_number(v).ok_or(Halt::Un("row number"))?;
            }
        }
        if t.kind == Kind::Open {
            loop {
                let c = cur.tag_after_ws()?;
                match (c.kind, c.name) {
                    (Kind::Close, b"row") => break,
                    (Kind::Open | Kind::Empty, b"c") => {
                        self.cell(cur, &c, &mut pos, strings, dates)?;
                    }
                    _ => return Err(Halt::Un("element in a row")),
                }
            }
        }
        pos.row = pos.row.checked_add(1).ok_or(Halt::Un("row overflow"))?;
        pos.col = 0;
        Ok(Some(pos))
    }

    /// A `<c>` element after its start tag (calamine's `next_cell` and `read_value`).
    fn cell(
        &mut self,
        cur: &mut Cur,
        tag: &Tag,
        pos: &mut Pos,
        strings: &Strings,
        dates: &[bool],
    ) -> Scan<()> {
        let (mut r, mut s, mut t) = (None, None, None);
        for (k, v) in Attrs(tag.attrs) {
            let slot = match k? {
                b"r" => &mut r,
                b"s" => &mut s,
                b"t" => &mut t,
                _ => continue,
            };
            if slot.replace(v).is_some() {
                return Err(Halt::Un("repeated attribute"));
            }
        }
        let (row, col) = match r {
            Some(r) => {
                let (row, col) = cell_ref(r).ok_or(Halt::Un("cell reference"))?;
                pos.col = col;
                (row, col)
            }
            None => (pos.row, pos.col),
        };
        let typ = match t {
            None => Type::Number,
            Some(b"n") => Type::Number,
            Some(b"s") => Type::Shared,
            Some(b"inlineStr") => Type::Inline,
            Some(b"str") => Type::FormulaString,
            Some(b"b") => Type::Bool,
            Some(b"e") => Type::Error,
            Some(b"d") => Type::Date,
            Some(_) => return Err(Halt::Un("cell type")),
        };
        let mut value = Value::Empty;
        if tag.kind == Kind::Open {
            loop {
                let child = cur.tag_after_ws()?;
                match (child.kind, child.name) {
                    (Kind::Close, b"c") => break,
                    (Kind::Open, b"is") => {
                        let start = self.text.len();
                        rich_string(cur, b"is", &mut self.text, &mut self.scratch)?;
                        value = Value::Text(start, self.text.len());
                    }
                    (Kind::Empty, b"is") => value = Value::Text(self.text.len(), self.text.len()),
                    (Kind::Open, b"v") => {
                        let raw = cur.text()?;
                        cur.close(b"v")?;
                        value = self.v(raw, typ, s, strings, dates)?;
                    }
                    (Kind::Empty, b"v") => value = self.v(b"", typ, s, strings, dates)?,
                    (Kind::Open, b"f") => {
                        // A formula: calamine skips it, and the cell is empty unless a value
                        // follows.
                        let raw = cur.text()?;
                        self.scratch.clear();
                        decode_text(raw, &mut self.scratch)?;
                        cur.close(b"f")?;
                        value = Value::Empty;
                    }
                    (Kind::Empty, b"f") => value = Value::Empty,
                    _ => return Err(Halt::Un("element in a cell")),
                }
            }
        }
        pos.col = pos.col.checked_add(1).ok_or(Halt::Un("column overflow"))?;
        if !matches!(value, Value::Empty) {
            self.cells.push((row, col, value));
        }
        Ok(())
    }

    /// A `<v>` by the cell's type (calamine's `read_v`). Text is produced into `self.text`.
    fn v(
        &mut self,
        raw: &[u8],
        typ: Type,
        style: Option<&[u8]>,
        strings: &Strings,
        dates: &[bool],
    ) -> Scan<Value> {
        let start = self.text.len();
        let text = |this: &Self| Value::Text(start, this.text.len());
        // calamine reads these types from the raw text: an empty `<v>` is an empty cell,
        // and text it would split (entities) is outside the subset.
        if matches!(typ, Type::Number | Type::Shared | Type::Bool | Type::Error) {
            if raw.is_empty() {
                return Ok(Value::Empty);
            }
            if raw.contains(&b'&') || raw.contains(&b'\r') {
                return Err(Halt::Un("entity in a value"));
            }
        }
        match typ {
            // calamine skips it (the value is in `<is>`); an entity there is not looked at.
            Type::Inline if raw.contains(&b'&') => Err(Halt::Un("entity in a value")),
            Type::Inline => Ok(Value::Empty),
            Type::Shared => {
                let i = index(raw).ok_or(Halt::Un("shared string index"))?;
                if strings.get(i).is_none() {
                    return Err(Halt::Un("shared string index out of range"));
                }
                Ok(Value::Shared(i))
            }
            Type::Bool => {
                self.text.push_str(match raw {
                    b"0" | b"false" => "FALSE",
                    b"1" | b"true" => "TRUE",
                    _ => return Err(Halt::Un("boolean")),
                });
                Ok(text(self))
            }
            Type::Error => match raw {
                b"#DIV/0!" | b"#N/A" | b"#NAME?" | b"#NULL!" | b"#NUM!" | b"#REF!" | b"#VALUE!" => {
                    Ok(text(self))
                }
                _ => Err(Halt::Un("error value")),
            },
            Type::FormulaString => {
                self.scratch.clear();
                decode_text(raw, &mut self.scratch)?;
                let scratch = std::mem::take(&mut self.scratch);
                push_unescaped(&scratch, &mut self.text);
                self.scratch = scratch;
                Ok(text(self))
            }
            Type::Date => {
                decode_text(raw, &mut self.text)?;
                Ok(text(self))
            }
            Type::Number => {
                if let Some(s) = style {
                    let i = index(s).ok_or(Halt::Un("style index"))?;
                    if dates.get(i).copied().unwrap_or(false) {
                        return Err(Halt::Un("a number in a date format"));
                    }
                }
                number(raw, &mut self.text)?;
                Ok(text(self))
            }
        }
    }

    /// The row's cells into the sheet.
    fn commit(&mut self, out: &mut Rows, strings: &Strings, budget: &mut u64) -> Res<()> {
        for (row, col, value) in &self.cells {
            let text = match value {
                Value::Text(a, b) => self.text.get(*a..*b),
                Value::Shared(i) => strings.get(*i),
                Value::Empty => continue,
            };
            out.push(*row, *col, text.unwrap_or_default(), budget)?;
        }
        Ok(())
    }
}

#[derive(Clone, Copy)]
enum Type {
    Number,
    Shared,
    Inline,
    FormulaString,
    Bool,
    Error,
    Date,
}

/// A number cell's text as `sheet::float_text` prints calamine's f64. Only plain decimal
/// spellings are taken (`-?digits[.digits][e[+-]digits]`): Rust's parser and calamine's
/// (fast-float) both round those correctly, so they agree; other spellings fall back.
fn number(raw: &[u8], out: &mut String) -> Scan<()> {
    let digits = raw.strip_prefix(b"-").unwrap_or(raw);
    let int_len = digits.iter().take_while(|c| c.is_ascii_digit()).count();
    // The common case: an integer that f64 holds exactly prints as written.
    if int_len == digits.len() && (1..=15).contains(&int_len) && (int_len == 1 || digits[0] != b'0')
    {
        out.push_str(std::str::from_utf8(raw).map_err(|_| Halt::Un("not UTF-8"))?);
        return Ok(());
    }
    let mut rest = &digits[int_len..];
    if int_len == 0 || raw.len() > 64 {
        return Err(Halt::Un("number spelling"));
    }
    if let Some(frac) = rest.strip_prefix(b".") {
        let n = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return Err(Halt::Un("number spelling"));
        }
        rest = &frac[n..];
    }
    if let Some(exp) = rest.strip_prefix(b"e").or_else(|| rest.strip_prefix(b"E")) {
        let exp = exp
            .strip_prefix(b"+")
            .or_else(|| exp.strip_prefix(b"-"))
            .unwrap_or(exp);
        if exp.is_empty() || !exp.iter().all(u8::is_ascii_digit) {
            return Err(Halt::Un("number spelling"));
        }
        rest = &[];
    }
    if !rest.is_empty() {
        return Err(Halt::Un("number spelling"));
    }
    let f: f64 = std::str::from_utf8(raw)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or(Halt::Un("number spelling"))?;
    out.push_str(&float_text(f));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cell_references() {
        assert_eq!(cell_ref(b"A1"), Some((0, 0)));
        assert_eq!(cell_ref(b"C5"), Some((4, 2)));
        assert_eq!(cell_ref(b"XFD1048576"), Some((1_048_575, 16_383)));
        for bad in [
            &b"a1"[..],
            b"A0",
            b"A01",
            b"1",
            b"A",
            b"ABCD1",
            b"A12345678",
        ] {
            assert_eq!(cell_ref(bad), None, "{}", String::from_utf8_lossy(bad));
        }
        assert!(dimension_ok("A1:D20"));
        assert!(!dimension_ok("D20:A1"));
    }

    #[test]
    fn numbers_print_as_float_text() {
        for (raw, want) in [
            ("2025550123", "2025550123"),
            ("-0", "-0"),
            ("007", "7"),
            ("1.5", "1.5"),
            ("1.0E+10", "10000000000"),
            ("4.4207946E11", "442079460000"),
            ("1e17", "100000000000000000"),
            ("123456789012345678", "123456789012345680"),
            ("0.1", "0.1"),
        ] {
            let mut out = String::new();
            assert!(number(raw.as_bytes(), &mut out).is_ok(), "{raw}");
            let f: f64 = raw.parse().unwrap_or(f64::NAN);
            assert_eq!(out, float_text(f), "{raw}");
            assert_eq!(out, want, "{raw}");
        }
        for bad in ["", "+1", ".5", "1.", "1e", "inf", "NaN", " 1", "1 "] {
            assert!(number(bad.as_bytes(), &mut String::new()).is_err(), "{bad}");
        }
    }

    #[test]
    fn excel_escapes_decode_as_calamine_does() {
        let mut out = String::new();
        push_unescaped(
            "a_x000D_b_x005F_x0041_ _xD83D__xDE00_ _xD800_ _x00",
            &mut out,
        );
        assert_eq!(out, "a\rb_x0041_ \u{1F600} \u{FFFD} _x00");
    }
}
