//! Text files: encoding detection and the delimiter sniffer.

use std::borrow::Cow;

/// Decodes a text file: UTF-8 (BOM or not), UTF-16 LE/BE with a BOM, and Windows-1252 for
/// anything that is not valid UTF-8 (every byte sequence decodes, so this never fails).
pub(crate) fn decode(bytes: &[u8]) -> (Cow<'_, str>, &'static str) {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        let (text, _) = encoding_rs::UTF_8.decode_without_bom_handling(rest);
        return (text, "utf-8");
    }
    if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
        let (text, enc, _) = encoding_rs::Encoding::decode(encoding_rs::UTF_16LE, bytes);
        return (
            text,
            if enc == encoding_rs::UTF_16BE {
                "utf-16be"
            } else {
                "utf-16le"
            },
        );
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => (Cow::Borrowed(s), "utf-8"),
        Err(_) => {
            let (text, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(bytes);
            (text, "windows-1252")
        }
    }
}

/// True when the bytes look like text rather than a binary format: a UTF-16 BOM, or no NUL
/// and (almost) no control bytes in the first 8 KiB. Text files hold tabs, line breaks and
/// form feeds; binary data holds every byte value, about one in eight of them a control byte.
/// The bytes Windows-1252 leaves undefined count as control bytes when the text is not UTF-8.
pub(crate) fn looks_like_text(bytes: &[u8]) -> bool {
    if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
        return true;
    }
    let head = bytes.get(..bytes.len().min(8192)).unwrap_or(bytes);
    if memchr::memchr(0, head).is_some() {
        return false;
    }
    // A UTF-8 sequence cut by the 8 KiB window is still UTF-8.
    let utf8 = match std::str::from_utf8(head) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none(),
    };
    let control = head
        .iter()
        .filter(|&&b| {
            (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0C | 0x1A))
                || b == 0x7F
                || (!utf8 && matches!(b, 0x81 | 0x8D | 0x8F | 0x90 | 0x9D))
        })
        .count();
    // More than 1 in 100 (and more than a stray one or two) is not text.
    control <= 2 || control * 100 <= head.len()
}

/// Candidate delimiters, in order of preference on a tie.
const CANDIDATES: [u8; 4] = [b',', b'\t', b';', b'|'];

/// Picks the delimiter from the first lines: for each candidate, the number of times it
/// appears (outside quotes) on most lines, and on how many lines; the candidate that is
/// consistent on the most lines wins, if that is at least half of them (title rows above
/// a header have no delimiter). `None` means one value a line.
pub(crate) fn sniff_delimiter(text: &str, prefer_tab: bool) -> Option<u8> {
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(30)
        .collect();
    let mut best: Option<(usize, usize, u8)> = None;
    for &c in &CANDIDATES {
        let mut counts: Vec<usize> = lines
            .iter()
            .map(|l| count_outside_quotes(l, c))
            .filter(|&n| n > 0)
            .collect();
        if counts.is_empty() {
            continue;
        }
        counts.sort_unstable();
        // The most frequent non-zero count (the larger one on a tie).
        let mut modal = (0, 0);
        let mut i = 0;
        while let Some(&n) = counts.get(i) {
            let run = counts.iter().skip(i).take_while(|&&m| m == n).count();
            if run >= modal.0 {
                modal = (run, n);
            }
            i += run.max(1);
        }
        let (consistent, n) = modal;
        if consistent * 2 < lines.len() && consistent < 2 {
            continue;
        }
        let key = (consistent + usize::from(prefer_tab && c == b'\t') * 1000, n);
        match best {
            Some((bc, bn, _)) if (bc, bn) >= key => {}
            _ => best = Some((key.0, key.1, c)),
        }
    }
    best.map(|(_, _, c)| c)
}

fn count_outside_quotes(line: &str, c: u8) -> usize {
    let mut quoted = false;
    let mut n = 0;
    for b in line.bytes() {
        if b == b'"' {
            quoted = !quoted;
        } else if b == c && !quoted {
            n += 1;
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_boms_and_fallback() {
        assert_eq!(decode(b"\xEF\xBB\xBFphone\n").0, "phone\n");
        let utf16le: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain("tel\n".encode_utf16().flat_map(|u| u.to_le_bytes()))
            .collect();
        assert_eq!(decode(&utf16le), (Cow::Borrowed("tel\n"), "utf-16le"));
        let utf16be: Vec<u8> = [0xFE, 0xFF]
            .into_iter()
            .chain("tel\n".encode_utf16().flat_map(|u| u.to_be_bytes()))
            .collect();
        assert_eq!(decode(&utf16be).0, "tel\n");
        // "José" in Windows-1252: 0xE9 is not valid UTF-8 on its own.
        assert_eq!(decode(b"Jos\xE9").0, "José");
        assert_eq!(decode(b"Jos\xE9").1, "windows-1252");
    }

    #[test]
    fn sniffs_delimiters() {
        assert_eq!(sniff_delimiter("a,b\n1,2\n", false), Some(b','));
        assert_eq!(sniff_delimiter("a;b;c\n1;2;3\n", false), Some(b';'));
        assert_eq!(sniff_delimiter("a\tb\n1\t2\n", false), Some(b'\t'));
        assert_eq!(sniff_delimiter("a|b\n1|2\n", false), Some(b'|'));
        assert_eq!(
            sniff_delimiter("+1 202 555 0123\n2025550124\n", false),
            None
        );
        // A comma inside quotes does not count.
        assert_eq!(sniff_delimiter("\"a,b\";c\n\"1,2\";3\n", false), Some(b';'));
        assert_eq!(sniff_delimiter("", false), None);
    }
}
