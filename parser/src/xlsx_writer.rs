//! A minimal XLSX writer for tests and the benchmark (inline strings or, as Excel writes
//! them, shared strings; numbers; several sheets). Not part of the library: included by
//! `#[cfg(test)]` and by benches/parser.rs.

use std::io::{Cursor, Write};

#[derive(Clone, Debug)]
pub enum XCell {
    Str(String),
    Num(f64),
    Empty,
}

/// 0 -> "A", 25 -> "Z", 26 -> "AA": a column's letters.
pub fn col_name(mut i: usize) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b'A' + (i % 26) as u8);
        if i < 26 {
            break;
        }
        i = i / 26 - 1;
    }
    s.reverse();
    String::from_utf8(s).unwrap_or_default()
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Sheets of rows, strings written inline (`t="inlineStr"`).
pub fn write_xlsx(sheets: &[(&str, Vec<Vec<XCell>>)]) -> Vec<u8> {
    write(sheets, false)
}

/// Sheets of rows, strings in the shared-string table (`t="s"`), as Excel, LibreOffice and
/// openpyxl write them.
pub fn write_xlsx_shared_strings(sheets: &[(&str, Vec<Vec<XCell>>)]) -> Vec<u8> {
    write(sheets, true)
}

fn write(sheets: &[(&str, Vec<Vec<XCell>>)], shared: bool) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let mut put = |name: &str, body: &str| {
        let _ = zip.start_file(name, opts);
        let _ = zip.write_all(body.as_bytes());
    };
    let mut types = String::from(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>"#,
    );
    let mut book = String::from(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>"#,
    );
    let mut rels = String::from(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">"#,
    );
    if shared {
        types.push_str(r#"<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>"#);
        rels.push_str(r#"<Relationship Id="rIdSst" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>"#);
    }
    for (i, (name, _)) in sheets.iter().enumerate() {
        let n = i + 1;
        types.push_str(&format!(r#"<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>"#));
        book.push_str(&format!(
            r#"<sheet name="{}" sheetId="{n}" r:id="rId{n}"/>"#,
            esc(name)
        ));
        rels.push_str(&format!(r#"<Relationship Id="rId{n}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet{n}.xml"/>"#));
    }
    types.push_str("</Types>");
    book.push_str("</sheets></workbook>");
    rels.push_str("</Relationships>");
    put("[Content_Types].xml", &types);
    put(
        "_rels/.rels",
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#,
    );
    put("xl/workbook.xml", &book);
    put("xl/_rels/workbook.xml.rels", &rels);
    let mut strings: Vec<&str> = Vec::new();
    let mut index: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for (i, (_, rows)) in sheets.iter().enumerate() {
        let mut xml = String::from(
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"#,
        );
        for (r, row) in rows.iter().enumerate() {
            let rn = r + 1;
            xml.push_str(&format!(r#"<row r="{rn}">"#));
            for (c, cell) in row.iter().enumerate() {
                let at = format!("{}{rn}", col_name(c));
                match cell {
                    XCell::Str(s) if shared => {
                        let next = strings.len();
                        let n = *index.entry(s.as_str()).or_insert(next);
                        if n == next {
                            strings.push(s.as_str());
                        }
                        xml.push_str(&format!(r#"<c r="{at}" t="s"><v>{n}</v></c>"#));
                    }
                    XCell::Str(s) => xml.push_str(&format!(
                        r#"<c r="{at}" t="inlineStr"><is><t>{}</t></is></c>"#,
                        esc(s)
                    )),
                    XCell::Num(f) => xml.push_str(&format!(r#"<c r="{at}"><v>{f}</v></c>"#)),
                    XCell::Empty => {}
                }
            }
            xml.push_str("</row>");
        }
        xml.push_str("</sheetData></worksheet>");
        put(&format!("xl/worksheets/sheet{}.xml", i + 1), &xml);
    }
    if shared {
        let mut sst = format!(
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="{0}" uniqueCount="{0}">"#,
            strings.len()
        );
        for s in &strings {
            sst.push_str(&format!("<si><t>{}</t></si>", esc(s)));
        }
        sst.push_str("</sst>");
        put("xl/sharedStrings.xml", &sst);
    }
    zip.finish().map(|c| c.into_inner()).unwrap_or_default()
}
