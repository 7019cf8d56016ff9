//! Spreadsheets (XLSX, XLS, ODS): every sheet as rows of strings. XLSX through our own reader
//! ([`crate::xlsx`]) when it can answer exactly as calamine would, else through calamine.

use std::io::Cursor;

use calamine::{Data, Ods, Reader, Xls, Xlsx};

use super::{ImportError, Kind};

/// One sheet: its name and its non-blank rows with their spreadsheet row numbers (1-based).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Sheet {
    pub name: String,
    pub rows: Vec<(u64, Vec<String>)>,
}

/// Reads every sheet in this process. calamine has been seen to panic on truncated files (an
/// out-of-range slice in its CFB reader, found by the fuzz loop); a panic is turned into
/// `Corrupt` here. Under `panic = "abort"` (cargo lambda's release profile) that cannot be
/// caught, nor can an allocation failure: hosts read spreadsheets through
/// [`crate::worker`], which runs this in a child process.
pub(crate) fn read_in_process(bytes: &[u8], kind: Kind) -> Result<Vec<Sheet>, ImportError> {
    std::panic::catch_unwind(|| read_unguarded(bytes, kind)).unwrap_or_else(|_| {
        Err(ImportError::Corrupt(format!(
            "{}: the spreadsheet reader failed on this file",
            kind.name()
        )))
    })
}

fn read_unguarded(bytes: &[u8], kind: Kind) -> Result<Vec<Sheet>, ImportError> {
    if kind == Kind::Xlsx
        && let Ok(sheets) = crate::xlsx::read(bytes)
    {
        return Ok(sheets);
    }
    read_with_calamine(bytes, kind)
}

/// The calamine path (every XLSX before `crate::xlsx`, and those it leaves).
pub(crate) fn read_with_calamine(bytes: &[u8], kind: Kind) -> Result<Vec<Sheet>, ImportError> {
    let cursor = Cursor::new(bytes);
    let corrupt = |e: &dyn std::fmt::Display| ImportError::Corrupt(format!("{}: {e}", kind.name()));
    match kind {
        Kind::Xlsx => {
            let mut wb: Xlsx<_> = Xlsx::new(cursor).map_err(|e| corrupt(&e))?;
            sheets(&mut wb, |e| corrupt(e))
        }
        Kind::Xls => {
            if cfb_has_cycle(bytes) {
                return Err(ImportError::Corrupt(
                    "xls: its sector chains loop (a damaged or hostile file)".into(),
                ));
            }
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
        out.push(Sheet { name, rows });
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

const END_OF_CHAIN_OR_SPECIAL: u32 = 0xFFFF_FFFA;

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// Whether the OLE compound file's FAT or mini FAT links a chain into a loop. calamine
/// 0.38 follows chains until ENDOFCHAIN and, on a loop, grows a buffer until the process
/// runs out of memory (found by the fuzz loop). A DIFAT/FAT/mini-FAT sector that is not
/// wholly inside the file also counts: calamine zero-fills it, and zeros link sector 0 to
/// itself. A header too short to read returns false: calamine reports that itself.
pub(crate) fn cfb_has_cycle(bytes: &[u8]) -> bool {
    let Some(shift) = bytes.get(30..32).map(|b| u16::from_le_bytes([b[0], b[1]])) else {
        return false;
    };
    if !(7..=16).contains(&shift) {
        return false;
    }
    let size = 1usize << shift;
    let sector = |id: u32| -> Option<&[u8]> {
        let start = (id as usize).checked_add(1)?.checked_mul(size)?;
        bytes.get(start..start.checked_add(size)?)
    };
    // DIFAT: 109 entries in the header, then a chain of DIFAT sectors (bounded walk).
    let mut difat: Vec<u32> = (0..109).filter_map(|i| u32_at(bytes, 76 + 4 * i)).collect();
    let mut next = u32_at(bytes, 68).unwrap_or(u32::MAX);
    let mut steps = 0usize;
    while next < END_OF_CHAIN_OR_SPECIAL {
        steps += 1;
        let Some(sec) = sector(next) else {
            return true;
        };
        if steps > bytes.len() / size + 1 {
            return true;
        }
        let entries: Vec<u32> = sec.chunks_exact(4).filter_map(|c| u32_at(c, 0)).collect();
        let Some((&last, rest)) = entries.split_last() else {
            return true;
        };
        difat.extend_from_slice(rest);
        next = last;
    }
    let mut fat: Vec<u32> = Vec::new();
    for id in difat.into_iter().filter(|id| *id < END_OF_CHAIN_OR_SPECIAL) {
        let Some(sec) = sector(id) else { return true };
        fat.extend(sec.chunks_exact(4).filter_map(|c| u32_at(c, 0)));
    }
    if has_cycle(&fat) {
        return true;
    }
    // The mini FAT lives in a FAT chain (acyclic now, so this walk ends).
    let mut mini: Vec<u32> = Vec::new();
    let mut id = u32_at(bytes, 60).unwrap_or(u32::MAX);
    while id < END_OF_CHAIN_OR_SPECIAL {
        let Some(sec) = sector(id) else { return true };
        mini.extend(sec.chunks_exact(4).filter_map(|c| u32_at(c, 0)));
        id = fat.get(id as usize).copied().unwrap_or(u32::MAX);
    }
    has_cycle(&mini)
}

/// Whether following `next[i]` from any i (< len) ever comes back: iterative colouring.
fn has_cycle(next: &[u32]) -> bool {
    // 0 = unvisited, 1 = on the current path, 2 = known to end.
    let mut state = vec![0u8; next.len()];
    let mut path: Vec<usize> = Vec::new();
    for start in 0..next.len() {
        let mut i = start;
        loop {
            match state.get(i).copied() {
                Some(0) => {
                    if let Some(s) = state.get_mut(i) {
                        *s = 1;
                    }
                    path.push(i);
                    i = next.get(i).map(|&n| n as usize).unwrap_or(usize::MAX);
                }
                Some(1) => return true,
                _ => break,
            }
        }
        for j in path.drain(..) {
            if let Some(s) = state.get_mut(j) {
                *s = 2;
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cycle_detection() {
        assert!(!has_cycle(&[1, 2, 0xFFFF_FFFE]));
        assert!(has_cycle(&[1, 2, 0]));
        assert!(has_cycle(&[0xFFFF_FFFE, 1]));
        assert!(!has_cycle(&[]));
    }

    #[test]
    fn a_looping_xls_is_refused_not_followed() {
        let good = include_bytes!("../../tests/fixtures/contacts.xls");
        assert!(!cfb_has_cycle(good));
        // Point the directory's first FAT entry at itself.
        let mut bad = good.to_vec();
        let dir_start = u32_at(&bad, 48).unwrap_or(0) as usize;
        let fat0 = u32_at(&bad, 76).unwrap_or(0) as usize;
        let at = (fat0 + 1) * 512 + 4 * dir_start;
        bad[at..at + 4].copy_from_slice(&(dir_start as u32).to_le_bytes());
        assert!(cfb_has_cycle(&bad));
        let e = crate::parse_file(&bad, "f.xls", &Default::default());
        assert_eq!(e.map(|_| ()).map_err(|e| e.code()), Err("corrupt_file"));
    }
}
