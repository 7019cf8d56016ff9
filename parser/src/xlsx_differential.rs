//! Our XLSX reader against calamine on the same bytes: every workbook our reader accepts must
//! come out exactly as calamine reads it (docs/parser.md, "XLSX"). Inputs: both writers of
//! `xlsx_writer.rs` with random content, randomly shaped workbooks written here (gaps, rows and
//! cells without references, every cell type, rich text, escapes, styles with date formats,
//! several and empty sheets), byte-level mutations of those, files written by openpyxl and
//! XlsxWriter (tests/fixtures/xlsx), and every XLSX among the fuzz regressions.

use std::io::{Cursor, Write};

use crate::Kind;
use crate::sheet::{self, Sheet};
use crate::xlsx::{self, Unhandled};
use crate::test_rng::Rng;
use crate::xlsx_writer::{XCell, col_name, write_xlsx, write_xlsx_shared_strings};

#[derive(Default, Debug)]
struct Tally {
    compared: usize,
    ours: usize,
    fell_back: usize,
    mismatches: Vec<String>,
    reasons: std::collections::BTreeMap<String, usize>,
}

impl Tally {
    /// Both readers on `bytes`. Ours may decline (calamine then reads the file in production);
    /// when it answers, calamine must give exactly that.
    fn compare(&mut self, label: &str, bytes: &[u8]) {
        self.compared += 1;
        let ours: Result<Vec<Sheet>, Unhandled> = xlsx::read(bytes);
        let ours = match ours {
            Ok(ours) => ours,
            Err(Unhandled(why)) => {
                self.fell_back += 1;
                let kind = label.split(' ').next().unwrap_or_default();
                *self.reasons.entry(format!("{kind}: {why}")).or_default() += 1;
                return;
            }
        };
        self.ours += 1;
        let theirs = std::panic::catch_unwind(|| sheet::read_with_calamine(bytes, Kind::Xlsx));
        match theirs {
            Ok(Ok(theirs)) if theirs == ours => {}
            Ok(Ok(theirs)) => self.mismatches.push(format!(
                "{label}: ours {:?}\n  calamine {:?}",
                summary(&ours),
                summary(&theirs)
            )),
            Ok(Err(e)) => self
                .mismatches
                .push(format!("{label}: ours read it, calamine failed: {e}")),
            Err(_) => self
                .mismatches
                .push(format!("{label}: ours read it, calamine panicked")),
        }
    }
}

type Rows = Vec<(u64, Vec<String>)>;

fn summary(sheets: &[Sheet]) -> Vec<(String, Rows)> {
    sheets
        .iter()
        .map(|s| (s.name.clone(), s.rows.iter().take(40).cloned().collect()))
        .collect()
}

fn zip_parts(parts: &[(String, String)]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, body) in parts {
        let _ = zip.start_file(name.as_str(), opts);
        let _ = zip.write_all(body.as_bytes());
    }
    zip.finish().map(|c| c.into_inner()).unwrap_or_default()
}

/// Text as it appears inside `<t>` or `<v>`: raw XML, entities and Excel escapes included.
const TEXTS: &[&str] = &[
    "Ada",
    "+1 202 555 0123",
    "2025550123",
    "  padded  ",
    "   ",
    "",
    "Zoë 日本語 😀",
    "a &amp; b &lt;c&gt; &quot;q&quot; &apos;",
    "&#233;t&#xE9; &#x1F600;",
    "line\nbreak",
    "tab\there",
    "_x000D_cr _x005F_x0041_ _xD83D__xDE00_ _xD800_ _x00",
    "user_x@example.com",
    "\u{a0}nbsp\u{a0}",
    "&#32;spaced&#32;",
    "semi;colon, comma",
];

const NUMBERS: &[&str] = &[
    "0",
    "7",
    "-3",
    "2025550123",
    "12025550123",
    "1.5",
    "-0.25",
    "1.0E+10",
    "4.4207946E11",
    "1e17",
    "123456789012345678",
    "007",
    "-0",
    "3.0000000000000004",
    "1E-5",
];

/// A random workbook written part by part, in the shapes Excel, LibreOffice and openpyxl use
/// and a few they do not.
fn random_workbook(rng: &mut Rng) -> Vec<u8> {
    let sheets = if rng.chance(3) { 0 } else { 1 + rng.below(3) };
    let with_styles = rng.chance(50);
    let mut shared: Vec<String> = Vec::new();
    let mut parts: Vec<(String, String)> = Vec::new();
    let mut book = String::from(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><workbookPr/><sheets>"#,
    );
    let mut rels = String::from(
        r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">"#,
    );
    let names = ["Contacts", "Sheet &amp; Co", "Ünïcode", "Empty", "Leads"];
    let repeat = rng.chance(3);
    for i in 0..sheets {
        let n = i + 1;
        let name = if repeat { names[0] } else { names[i] };
        book.push_str(&format!(
            r#"<sheet name="{name}" sheetId="{n}" r:id="rId{n}"/>"#
        ));
        let target = if rng.chance(20) {
            format!("/xl/worksheets/sheet{n}.xml")
        } else {
            format!("worksheets/sheet{n}.xml")
        };
        rels.push_str(&format!(r#"<Relationship Id="rId{n}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="{target}"/>"#));
        let xml = random_sheet(rng, &mut shared);
        let part = if rng.chance(5) {
            format!("xl/worksheets/Sheet{n}.xml")
        } else {
            format!("xl/worksheets/sheet{n}.xml")
        };
        parts.push((part, xml));
    }
    book.push_str("</sheets>");
    if rng.chance(20) {
        book.push_str(r#"<definedNames><definedName name="_xlnm.Print_Area" localSheetId="0">Contacts!$A$1:$D$10</definedName></definedNames>"#);
    }
    book.push_str("</workbook>");
    rels.push_str("</Relationships>");
    parts.push(("xl/workbook.xml".into(), book));
    parts.push(("xl/_rels/workbook.xml.rels".into(), rels));
    parts.push(("_rels/.rels".into(), r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#.into()));
    if with_styles {
        parts.push(("xl/styles.xml".into(), r#"<?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><numFmts count="2"><numFmt numFmtId="164" formatCode="0.00"/><numFmt numFmtId="165" formatCode="yyyy\-mm\-dd"/></numFmts><fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts><fills count="1"><fill><patternFill patternType="none"/></fill></fills><borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders><cellStyleXfs count="1"><xf numFmtId="0" fontId="0"/></cellStyleXfs><cellXfs count="5"><xf numFmtId="0" fontId="0" xfId="0"/><xf numFmtId="14" fontId="0" xfId="0" applyNumberFormat="1"/><xf numFmtId="164" fontId="0" xfId="0" applyNumberFormat="1"/><xf numFmtId="165" fontId="0" xfId="0" applyNumberFormat="1"/><xf numFmtId="49" fontId="0" xfId="0"><alignment horizontal="left"/></xf></cellXfs></styleSheet>"#.into()));
    }
    if !shared.is_empty() || rng.chance(10) {
        let mut sst = format!(
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>{}<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="{0}" uniqueCount="{0}">"#,
            shared.len()
        );
        sst = sst.replacen("{}", if rng.chance(10) { "\n" } else { "" }, 1);
        for s in &shared {
            sst.push_str(s);
        }
        sst.push_str("</sst>");
        parts.push(("xl/sharedStrings.xml".into(), sst));
    }
    if rng.chance(5) {
        parts.swap(0, 1);
    }
    zip_parts(&parts)
}

/// A shared string entry (`<si>...</si>`) or inline content (`<is>...</is>`).
fn rich(rng: &mut Rng, tag: &str) -> String {
    let t = |rng: &mut Rng| {
        let text = rng.pick(TEXTS);
        if rng.chance(20) {
            format!(r#"<t xml:space="preserve">{text}</t>"#)
        } else {
            format!("<t>{text}</t>")
        }
    };
    match rng.below(6) {
        0 => format!(
            "<{tag}><r><rPr><b/><sz val=\"11\"/><color rgb=\"FF0000\"/><rFont val=\"Calibri\"/></rPr>{}</r><r>{}</r></{tag}>",
            t(rng),
            t(rng)
        ),
        1 => format!(
            "<{tag}>{}<rPh sb=\"0\" eb=\"1\"><t>ふりがな</t></rPh><phoneticPr fontId=\"1\"/></{tag}>",
            t(rng)
        ),
        2 if rng.chance(30) => format!("<{tag}/>"),
        _ => format!("<{tag}>{}</{tag}>", t(rng)),
    }
}

fn random_sheet(rng: &mut Rng, shared: &mut Vec<String>) -> String {
    // Per sheet, so that most sheets are read by ours: cells out of order, numbers in a
    // date format (styles 1 and 3).
    let disorder = rng.chance(10);
    let dated = rng.chance(15);
    let mut xml = String::from(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">"#,
    );
    if rng.chance(50) {
        xml.push_str(r#"<dimension ref="A1:H40"/>"#);
    }
    xml.push_str(r#"<sheetViews><sheetView workbookViewId="0"/></sheetViews><sheetFormatPr defaultRowHeight="15"/>"#);
    let rows = rng.below(30);
    if rows == 0 && rng.chance(50) {
        xml.push_str("<sheetData/></worksheet>");
        return xml;
    }
    xml.push_str("<sheetData>");
    let nl = if rng.chance(20) { "\n  " } else { "" };
    let mut r = 0usize;
    for _ in 0..rows {
        r += 1 + if rng.chance(15) { rng.below(5) } else { 0 };
        let with_r = !rng.chance(10);
        let cells = rng.below(9);
        if cells == 0 && rng.chance(50) {
            xml.push_str(&format!(r#"{nl}<row r="{r}" spans="1:4"/>"#));
            continue;
        }
        if with_r {
            xml.push_str(&format!(
                r#"{nl}<row r="{r}" spans="1:8" x14ac:dyDescent="0.25">"#
            ));
        } else {
            xml.push_str(&format!("{nl}<row>"));
        }
        let mut c = 0usize;
        for k in 0..cells {
            if k > 0 {
                c += 1 + if rng.chance(20) { rng.below(4) } else { 0 };
            } else {
                c = rng.below(3);
            }
            // Out of order now and then: calamine still reads it; we must decline.
            let col = if disorder && rng.chance(10) && c > 0 {
                c - 1
            } else {
                c
            };
            let at = if rng.chance(8) {
                String::new()
            } else {
                format!(r#" r="{}{r}""#, col_name(col))
            };
            let style = if rng.chance(30) {
                let s = if dated {
                    rng.below(6)
                } else {
                    *rng.pick(&[0, 2, 4, 5])
                };
                format!(r#" s="{s}""#)
            } else {
                String::new()
            };
            let cell = match rng.below(14) {
                0 | 1 => {
                    shared.push(rich(rng, "si"));
                    format!(r#"<c{at}{style} t="s"><v>{}</v></c>"#, shared.len() - 1)
                }
                2 if !shared.is_empty() => {
                    format!(r#"<c{at} t="s"><v>{}</v></c>"#, rng.below(shared.len()))
                }
                3 | 4 => format!(r#"<c{at}{style} t="inlineStr">{}</c>"#, rich(rng, "is")),
                5 | 6 => format!(r#"<c{at}{style}><v>{}</v></c>"#, rng.pick(NUMBERS)),
                7 => format!(r#"<c{at}{style} t="n"><v>{}</v></c>"#, rng.pick(NUMBERS)),
                8 => format!(
                    r#"<c{at} t="b"><v>{}</v></c>"#,
                    rng.pick(&["0", "1", "true", "false"])
                ),
                9 => format!(
                    r#"<c{at} t="e"><f>1/0</f><v>{}</v></c>"#,
                    rng.pick(&["#DIV/0!", "#N/A", "#REF!", "#VALUE!"])
                ),
                10 => format!(
                    r#"<c{at} t="str"><f>CONCAT("a","b")</f><v>{}</v></c>"#,
                    rng.pick(TEXTS)
                ),
                11 => format!(
                    r#"<c{at} t="d"><v>{}</v></c>"#,
                    rng.pick(&["2026-12-06T10:00:00", "2026-12-06", ""])
                ),
                12 => format!(
                    r#"<c{at}{style}>{}</c>"#,
                    rng.pick(&[
                        "",
                        "<v/>",
                        "<v></v>",
                        "<f>A1+1</f>",
                        "<f t=\"shared\" si=\"0\"/>"
                    ])
                ),
                _ => format!(
                    r#"<c{at}{style}><f>SUM(A1:A2)</f><v>{}</v></c>"#,
                    rng.pick(NUMBERS)
                ),
            };
            xml.push_str(&cell);
        }
        xml.push_str("</row>");
    }
    xml.push_str("</sheetData>");
    if rng.chance(30) {
        xml.push_str(r#"<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>"#);
    }
    xml.push_str("</worksheet>");
    xml
}

/// A workbook through our test writers, with random text, numbers and gaps.
fn random_writer_workbook(rng: &mut Rng) -> Vec<u8> {
    let plain: Vec<String> = TEXTS
        .iter()
        .map(|t| {
            t.replace("&amp;", "&")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&apos;", "'")
        })
        .collect();
    let sheets: Vec<(String, Vec<Vec<XCell>>)> = (0..1 + rng.below(3))
        .map(|i| {
            let rows = (0..rng.below(25))
                .map(|_| {
                    (0..rng.below(7))
                        .map(|_| match rng.below(5) {
                            0 => XCell::Empty,
                            1 => XCell::Num(
                                [2025550123.0, 1.5, -0.0, 1e21, 4.4207946e11, 0.1][rng.below(6)],
                            ),
                            _ => XCell::Str(rng.pick(&plain).clone()),
                        })
                        .collect()
                })
                .collect();
            (format!("S{i}"), rows)
        })
        .collect();
    let refs: Vec<(&str, Vec<Vec<XCell>>)> = sheets
        .iter()
        .map(|(n, r)| (n.as_str(), r.clone()))
        .collect();
    if rng.chance(50) {
        write_xlsx(&refs)
    } else {
        write_xlsx_shared_strings(&refs)
    }
}

/// Damages one part of a random workbook at the byte level (both readers see the same bytes).
fn mutated_workbook(rng: &mut Rng) -> Vec<u8> {
    let bytes = random_workbook(rng);
    let Ok(mut zip) = zip::ZipArchive::new(Cursor::new(bytes.as_slice())) else {
        return bytes;
    };
    let mut parts: Vec<(String, String)> = Vec::new();
    for i in 0..zip.len() {
        let Ok(mut f) = zip.by_index(i) else { continue };
        let mut body = String::new();
        let _ = std::io::Read::read_to_string(&mut f, &mut body);
        let Ok(name) = f.name().map(|n| n.into_owned()) else {
            continue;
        };
        parts.push((name, body));
    }
    let which = rng.below(parts.len());
    let body = &mut parts[which].1;
    for _ in 0..1 + rng.below(3) {
        if body.is_empty() {
            break;
        }
        let mut at = rng.below(body.len());
        while !body.is_char_boundary(at) {
            at -= 1;
        }
        let insert = *rng.pick(&[
            "<",
            ">",
            "&",
            "\"",
            "'",
            "/",
            " ",
            "\r",
            "<!-- c -->",
            "<![CDATA[x]]>",
            "</row>",
            "<row>",
            "<c>",
            "</c>",
            "<v>1</v>",
            "x:",
            "_x0041_",
            "&#0;",
            "&bogus;",
            "\u{FEFF}",
            "r=\"A1\"",
            "t=\"s\"",
            "</sheetData>",
            "1",
        ]);
        match rng.below(3) {
            0 => body.insert_str(at, insert),
            1 => {
                let mut end = (at + 1 + rng.below(8)).min(body.len());
                while !body.is_char_boundary(end) {
                    end -= 1;
                }
                body.replace_range(at..end, "");
            }
            _ => {
                let mut end = (at + 1 + rng.below(8)).min(body.len());
                while !body.is_char_boundary(end) {
                    end -= 1;
                }
                body.replace_range(at..end, insert);
            }
        }
    }
    zip_parts(&parts)
}

const ZIP_MAGIC: &[u8] = b"PK\x03\x04";

#[test]
fn our_xlsx_reader_answers_exactly_as_calamine_or_declines() {
    let mut tally = Tally::default();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let count: usize = std::env::var("XLSX_DIFFERENTIAL_COUNT")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1500);
    for i in 0..count {
        tally.compare(&format!("random #{i}"), &random_workbook(&mut rng));
        tally.compare(&format!("writer #{i}"), &random_writer_workbook(&mut rng));
        tally.compare(&format!("mutated #{i}"), &mutated_workbook(&mut rng));
    }
    // Files as openpyxl and XlsxWriter write them (tests/fixtures/xlsx/make.py): ours must
    // read those without date formats itself.
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut real = 0;
    if let Ok(dir) = std::fs::read_dir(root.join("tests/fixtures/xlsx")) {
        for path in dir.filter_map(|e| e.ok().map(|e| e.path())) {
            let name = path.display().to_string();
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            if !name.ends_with(".xlsx") {
                continue;
            }
            real += 1;
            let before = tally.ours;
            tally.compare(&name, &bytes);
            if !name.contains("dates") {
                assert_eq!(
                    tally.ours,
                    before + 1,
                    "{name}: {:?}",
                    xlsx::read(&bytes).err()
                );
            }
        }
    }
    assert_eq!(real, 5, "tests/fixtures/xlsx");
    // The fuzz corpus (its first byte picks the options; the rest is the file).
    let mut files = vec![root.join("fuzz/regressions/parse/seed-contacts.xlsx")];
    if let Ok(dir) = std::fs::read_dir(root.join("fuzz/regressions/parse")) {
        files.extend(dir.filter_map(|e| e.ok().map(|e| e.path())));
    }
    for path in files {
        let Ok(data) = std::fs::read(&path) else {
            continue;
        };
        for bytes in [&data[..], data.get(1..).unwrap_or_default()] {
            if bytes.starts_with(ZIP_MAGIC) {
                tally.compare(&path.display().to_string(), bytes);
            }
        }
    }
    // calamine aborts the process on this one (docs/parser.md, "Robustness"): ours must
    // leave it to calamine, which runs in the sheet worker.
    let far = include_bytes!("../../tests/fixtures/hostile/far-apart-cells.xlsx");
    assert_eq!(
        xlsx::read(far).map(|_| ()),
        Err(Unhandled("used range too large"))
    );
    eprintln!(
        "xlsx differential: {} workbooks compared, {} read by ours (identical to calamine), {} left to calamine, {} mismatches",
        tally.compared,
        tally.ours,
        tally.fell_back,
        tally.mismatches.len()
    );
    assert!(
        tally.mismatches.is_empty(),
        "{} mismatches:\n{}",
        tally.mismatches.len(),
        tally.mismatches[..tally.mismatches.len().min(10)].join("\n")
    );
    // The comparison must bite: most generated workbooks are read by ours.
    assert!(tally.ours * 2 > tally.compared, "{tally:?}");
}

/// Found by the mutations at 30,000 workbooks: an end tag with nothing open inside a string
/// made quick-xml (so calamine) fail the file while ours, ignoring run tags, read it.
#[test]
fn an_unbalanced_string_is_left_to_calamine() {
    let workbook = |si: &str| {
        zip_parts(&[
            ("_rels/.rels".into(), r#"<Relationships><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#.into()),
            ("xl/workbook.xml".into(), r#"<workbook xmlns:r="r"><sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>"#.into()),
            ("xl/_rels/workbook.xml.rels".into(), r#"<Relationships><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#.into()),
            ("xl/sharedStrings.xml".into(), format!("<sst>{si}</sst>")),
            ("xl/worksheets/sheet1.xml".into(), r#"<worksheet><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c></row></sheetData></worksheet>"#.into()),
        ])
    };
    let good = workbook("<si><r><rPr><b/></rPr><t>a</t></r></si>");
    let ours = xlsx::read(&good).map(|s| s[0].rows.clone());
    assert_eq!(ours, Ok(vec![(1, vec!["a".to_string()])]));
    assert_eq!(
        sheet::read_with_calamine(&good, Kind::Xlsx).map(|s| s[0].rows.clone()),
        Ok(vec![(1, vec!["a".to_string()])])
    );
    let bad = workbook("<si></r><t>a</t></si>");
    assert_eq!(
        xlsx::read(&bad).map(|_| ()),
        Err(Unhandled("element in a string"))
    );
    assert!(sheet::read_with_calamine(&bad, Kind::Xlsx).is_err());
}

/// Damaged zips (bytes flipped, cut, repeated) for $XLSX_FUZZ_SECONDS (default 60): our
/// reader must decline or answer, never panic or abort, and when it answers calamine must
/// agree. The `fuzz_loop` in tests.rs also feeds calamine what ours declines, and calamine's
/// known aborts (docs/parser.md, "Robustness") can end that loop; this one isolates ours.
/// `cargo test -p contacts-parser --lib damaged_zips -- --ignored --nocapture`
#[test]
#[ignore = "long-running; run explicitly"]
fn our_reader_survives_damaged_zips() {
    let seconds: u64 = std::env::var("XLSX_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let mut rng = Rng(std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1)
        | 1);
    eprintln!("damaged zips: seed {:#x}", rng.0);
    let start = std::time::Instant::now();
    let mut tally = Tally::default();
    while start.elapsed().as_secs() < seconds {
        let mut bytes = if rng.chance(50) {
            random_workbook(&mut rng)
        } else {
            random_writer_workbook(&mut rng)
        };
        for _ in 0..1 + rng.below(4) {
            let i = rng.below(bytes.len());
            match rng.below(4) {
                0 => bytes[i] ^= 1 << rng.below(8),
                1 => bytes[i] = rng.next() as u8,
                2 => bytes.truncate(i.max(4)),
                _ => {
                    let end = (i + rng.below(64)).min(bytes.len());
                    let chunk = bytes[i..end].to_vec();
                    bytes.splice(i..i, chunk);
                }
            }
        }
        tally.compare("damaged", &bytes);
    }
    eprintln!(
        "damaged zips: {} workbooks, {} read by ours, {} mismatches, no panic",
        tally.compared,
        tally.ours,
        tally.mismatches.len()
    );
    assert!(tally.mismatches.is_empty(), "{:?}", tally.mismatches);
}
