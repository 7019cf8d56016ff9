//! Spreadsheets (XLSX, XLS, ODS) through calamine: every sheet as rows of strings.

use std::io::Cursor;

use calamine::{Data, Ods, Reader, Xls, Xlsx};

use super::{ImportError, Kind};

/// One sheet: its non-blank rows with their spreadsheet row numbers (1-based).
pub(crate) struct Sheet {
    pub rows: Vec<(u64, Vec<String>)>,
}

/// Reads every sheet. calamine has been seen to panic on truncated files (an out-of-range
/// slice in its CFB reader, found by the fuzz loop); a panic is turned into `Corrupt` here.
/// Under `panic = "abort"` (cargo lambda's release profile) that cannot be caught: see
/// docs/parser.md.
pub(crate) fn read(bytes: &[u8], kind: Kind) -> Result<Vec<Sheet>, ImportError> {
    std::panic::catch_unwind(|| read_unguarded(bytes, kind)).unwrap_or_else(|_| {
        Err(ImportError::Corrupt(format!(
            "{}: the spreadsheet reader failed on this file",
            kind.name()
        )))
    })
}

fn read_unguarded(bytes: &[u8], kind: Kind) -> Result<Vec<Sheet>, ImportError> {
    let cursor = Cursor::new(bytes);
    let corrupt = |e: &dyn std::fmt::Display| ImportError::Corrupt(format!("{}: {e}", kind.name()));
    match kind {
        Kind::Xlsx => {
            let mut wb: Xlsx<_> = Xlsx::new(cursor).map_err(|e| corrupt(&e))?;
            sheets(&mut wb, |e| corrupt(e))
        }
        Kind::Xls => {
            let mut wb: Xls<_> = Xls::new(cursor).map_err(|e| corrupt(&e))?;
            sheets(&mut wb, |e| corrupt(e))
        }
        Kind::Ods => {
            let mut wb: Ods<_> = Ods::new(cursor).map_err(|e| corrupt(&e))?;
            sheets(&mut wb, |e| corrupt(e))
        }
        Kind::Text => Ok(Vec::new()),
    }
}

fn sheets<'a, R, F>(wb: &mut R, corrupt: F) -> Result<Vec<Sheet>, ImportError>
where
    R: Reader<Cursor<&'a [u8]>>,
    R::Error: std::fmt::Display,
    F: Fn(&dyn std::fmt::Display) -> ImportError,
{
    let mut out = Vec::new();
    for name in wb.sheet_names() {
        let range = wb.worksheet_range(&name).map_err(|e| corrupt(&e))?;
        let first_row = range.start().map(|(r, _)| u64::from(r)).unwrap_or(0);
        let first_col = range.start().map(|(_, c)| c as usize).unwrap_or(0);
        let mut rows = Vec::new();
        for (i, row) in range.rows().enumerate() {
            // Columns left of the used range are empty: keep column positions stable.
            let mut cells = vec![String::new(); first_col];
            cells.extend(row.iter().map(cell_text));
            if cells.iter().all(|c| c.trim().is_empty()) {
                continue;
            }
            rows.push((first_row + i as u64 + 1, cells));
        }
        out.push(Sheet { rows });
    }
    Ok(out)
}

/// A cell as the user sees it: whole numbers without ".0" or an exponent.
pub(crate) fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty | Data::Error(_) => String::new(),
        Data::String(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) => float_text(*f),
        Data::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
        Data::DateTime(dt) => dt.to_string(),
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
    }
}

/// 2025550123.0 -> "2025550123", 4.4207946e11 -> "442079460000", 1.5 -> "1.5".
pub(crate) fn float_text(f: f64) -> String {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e17 {
        format!("{f:.0}")
    } else {
        f.to_string()
    }
}
