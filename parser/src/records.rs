//! The records of a delimited text file (CSV, TSV, one value a line), with their row
//! numbers as a spreadsheet shows them.
//!
//! A line without a quote character is split on the delimiter where it lies: its cells are
//! slices of the text, nothing is copied. A record that has a quote character anywhere on
//! its first line goes through `csv_core` (the state machine of the `csv` crate), which
//! handles quoted delimiters, doubled quotes and newlines inside quotes; its cells are
//! copied into a buffer reused for every record. Both give what `csv::Reader` (flexible,
//! no headers, CRLF or LF) gave before this reader existed: the unit test
//! `records_match_the_csv_reader` compares the two on generated files.
//!
//! Row numbers: 1 + the line breaks before the record that are not inside a quoted field,
//! so blank lines count and a quoted field spanning lines is one row.

use csv_core::ReadRecordResult;

use super::{ImportError, Limits, check_cells};

/// Where a cell's text is: in the file's text, or in the quoted-record buffer.
#[derive(Debug, Clone, Copy)]
enum CellAt {
    Text(usize, usize),
    Buffer(usize, usize),
}

pub(crate) struct Records<'t> {
    text: &'t str,
    pos: usize,
    delimiter: u8,
    core: csv_core::Reader,
    /// The current record's cells.
    cells: Vec<CellAt>,
    /// A quoted record's field bytes and field ends (csv_core's output).
    buffer: Vec<u8>,
    ends: Vec<usize>,
    /// Line breaks before `pos` that are not inside a quoted field.
    lines: u64,
}

impl<'t> Records<'t> {
    pub(crate) fn new(text: &'t str, delimiter: u8) -> Self {
        let core = csv_core::ReaderBuilder::new()
            .delimiter(delimiter)
            .terminator(csv_core::Terminator::CRLF)
            .build();
        // csv strips a UTF-8 byte order mark at the very start (left after decoding a file
        // that had two).
        let pos = if text.starts_with('\u{FEFF}') { 3 } else { 0 };
        Records {
            text,
            pos,
            delimiter,
            core,
            cells: Vec::new(),
            buffer: vec![0; 1024],
            ends: vec![0; 64],
            lines: 0,
        }
    }

    /// Reads the next non-blank record; returns its row number. Its cells are then
    /// [`Records::cell`] 0..[`Records::len`].
    pub(crate) fn next_record(&mut self, limits: &Limits) -> Result<Option<u64>, ImportError> {
        let bytes = self.text.as_bytes();
        loop {
            // Line breaks between records (blank lines, the last record's terminator).
            while let Some(&b) = bytes.get(self.pos) {
                match b {
                    b'\n' => self.lines += 1,
                    b'\r' => {}
                    _ => break,
                }
                self.pos += 1;
            }
            let Some(rest) = bytes.get(self.pos..).filter(|r| !r.is_empty()) else {
                return Ok(None);
            };
            let row = self.lines + 1;
            let eol = memchr::memchr2(b'\n', b'\r', rest).unwrap_or(rest.len());
            let line = rest.get(..eol).unwrap_or(rest);
            self.cells.clear();
            if memchr::memchr(b'"', line).is_none() {
                let mut start = 0;
                for at in memchr::memchr_iter(self.delimiter, line) {
                    self.cells
                        .push(CellAt::Text(self.pos + start, self.pos + at));
                    start = at + 1;
                }
                self.cells
                    .push(CellAt::Text(self.pos + start, self.pos + eol));
                self.pos += eol;
            } else {
                self.quoted_record()?;
            }
            check_cells(row, (0..self.len()).map(|i| self.cell(i)), limits)?;
            if (0..self.len()).all(|i| super::trim(self.cell(i)).is_empty()) {
                continue;
            }
            return Ok(Some(row));
        }
    }

    /// One record through csv_core, from `pos`.
    fn quoted_record(&mut self) -> Result<(), ImportError> {
        let bytes = self.text.as_bytes();
        self.core.reset();
        let start = self.pos;
        let (mut nout, mut nend) = (0usize, 0usize);
        loop {
            let input = bytes.get(self.pos..).unwrap_or(&[]);
            let output = self.buffer.get_mut(nout..).unwrap_or(&mut []);
            let ends = self.ends.get_mut(nend..).unwrap_or(&mut []);
            let (result, nin, out, end) = self.core.read_record(input, output, ends);
            self.pos += nin;
            nout += out;
            nend += end;
            match result {
                // The whole rest of the text was given: no more input means the end.
                ReadRecordResult::InputEmpty => {
                    let (result, _, out, end) = self.core.read_record(
                        &[],
                        self.buffer.get_mut(nout..).unwrap_or(&mut []),
                        self.ends.get_mut(nend..).unwrap_or(&mut []),
                    );
                    nout += out;
                    nend += end;
                    match result {
                        ReadRecordResult::OutputFull => self.grow_buffer(),
                        ReadRecordResult::OutputEndsFull => self.grow_ends(),
                        _ => break,
                    }
                }
                ReadRecordResult::OutputFull => self.grow_buffer(),
                ReadRecordResult::OutputEndsFull => self.grow_ends(),
                ReadRecordResult::Record | ReadRecordResult::End => break,
            }
        }
        // Line breaks consumed, less those inside fields (the quoted ones).
        let raw = bytes.get(start..self.pos).unwrap_or(&[]);
        let fields = self.buffer.get(..nout).unwrap_or(&[]);
        let inside = memchr::memchr_iter(b'\n', fields).count() as u64;
        self.lines += (memchr::memchr_iter(b'\n', raw).count() as u64).saturating_sub(inside);
        let mut from = 0;
        for &to in self.ends.get(..nend).unwrap_or(&[]) {
            self.cells.push(CellAt::Buffer(from, to));
            from = to;
        }
        if self.cells.is_empty() {
            return Err(ImportError::Corrupt("text: a record without fields".into()));
        }
        Ok(())
    }

    fn grow_buffer(&mut self) {
        let len = self.buffer.len().max(1) * 2;
        self.buffer.resize(len, 0);
    }

    fn grow_ends(&mut self) {
        let len = self.ends.len().max(1) * 2;
        self.ends.resize(len, 0);
    }

    pub(crate) fn len(&self) -> usize {
        self.cells.len()
    }

    pub(crate) fn cell(&self, i: usize) -> &str {
        match self.cells.get(i) {
            Some(&CellAt::Text(a, b)) => self.text.get(a..b).unwrap_or(""),
            Some(&CellAt::Buffer(a, b)) => self
                .buffer
                .get(a..b)
                .and_then(|f| std::str::from_utf8(f).ok())
                .unwrap_or(""),
            None => "",
        }
    }

    /// The current record's cells, owned (the header scan keeps the first rows).
    pub(crate) fn owned(&self) -> Vec<String> {
        (0..self.len()).map(|i| self.cell(i).to_string()).collect()
    }
}

/// The reader as it was (csv::Reader and row numbers from byte offsets): the reference
/// for `records_match_the_csv_reader`.
#[cfg(test)]
pub(crate) fn reference(text: &str, delimiter: u8) -> Result<Vec<(u64, Vec<String>)>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let mut record = csv::StringRecord::new();
    let (mut prev_end, mut lines_before, mut embedded) = (0usize, 0u64, 0u64);
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => return Ok(out),
            Ok(true) => {}
            Err(e) => return Err(e.to_string()),
        }
        let end = usize::try_from(reader.position().byte()).unwrap_or(usize::MAX);
        let span = bytes.get(prev_end..end.min(bytes.len())).unwrap_or(&[]);
        let leading = span.iter().take_while(|b| **b == b'\r' || **b == b'\n');
        let leading_newlines = leading.filter(|b| **b == b'\n').count() as u64;
        let line = lines_before + leading_newlines + 1;
        lines_before += memchr::memchr_iter(b'\n', span).count() as u64;
        prev_end = end.max(prev_end);
        let row = line.saturating_sub(embedded).max(1);
        embedded += memchr::memchr_iter(b'\n', record.as_slice().as_bytes()).count() as u64;
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        out.push((row, record.iter().map(str::to_string).collect()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ours(text: &str, delimiter: u8) -> Result<Vec<(u64, Vec<String>)>, String> {
        let limits = Limits::default();
        let mut records = Records::new(text, delimiter);
        let mut out = Vec::new();
        while let Some(row) = records.next_record(&limits).map_err(|e| e.to_string())? {
            out.push((row, records.owned()));
        }
        Ok(out)
    }

    /// Generated files over an alphabet of delimiters, quotes, CR, LF, spaces, letters and a
    /// multi-byte character: the same records, cells and row numbers as csv::Reader.
    #[test]
    fn records_match_the_csv_reader() {
        let alphabet: Vec<&str> = vec![
            ",", ",", "\"", "\"", "\r", "\n", "\n", "\r\n", " ", "a", "b", "7", "é", "\t", ";",
            "\"\"", "x,y", "\n\n",
        ];
        let mut rng = 0x51_7CC1_B727_220Au64;
        let mut next = || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        for case in 0..20_000 {
            let len = (next() % 40) as usize;
            let mut text = String::new();
            if case % 50 == 0 {
                // A byte order mark left after decoding (a file with two). Followed by a
                // record: before a blank line the old reader numbered the next record one
                // line early (its line count started after the mark); this one does not.
                text.push_str("\u{FEFF}a");
            }
            for _ in 0..len {
                text.push_str(alphabet[(next() % alphabet.len() as u64) as usize]);
            }
            for delimiter in [b',', b'\t', 0x1F] {
                assert_eq!(
                    ours(&text, delimiter),
                    reference(&text, delimiter),
                    "{text:?}"
                );
            }
        }
        // And the files of the unit tests' kind.
        for text in [
            "phone,name\n(202) 555-0123,Ada\r\n\r\n\"+1 202\n555 0199\",\"Lee, \"\"Al\"\"\"\n2025550111,x",
            "title\n\nphone\n2025550123\n",
            "\"unterminated,2025550123\nphone\n",
        ] {
            assert_eq!(ours(text, b','), reference(text, b','), "{text:?}");
        }
    }
}
