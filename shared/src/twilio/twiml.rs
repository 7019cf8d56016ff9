//! TwiML the answer URL returns.

/// `<Connect><Stream>` to the voice gateway, with `params` as `<Parameter>`s (in the given
/// order). Every value is escaped for an XML attribute; characters XML 1.0 cannot carry
/// (NUL and other control characters) are dropped rather than sent as a broken document.
pub fn connect_stream(stream_url: &str, params: &[(String, String)]) -> String {
    let mut out = String::with_capacity(160 + params.len() * 48);
    out.push_str(r#"<?xml version="1.0" encoding="UTF-8"?><Response><Connect><Stream url=""#);
    escape_attr(stream_url, &mut out);
    out.push_str("\">");
    for (name, value) in params {
        out.push_str(r#"<Parameter name=""#);
        escape_attr(name, &mut out);
        out.push_str(r#"" value=""#);
        escape_attr(value, &mut out);
        out.push_str("\"/>");
    }
    out.push_str("</Stream></Connect></Response>");
    out
}

/// TwiML that ends the call at once: the answer for a call whose claim was superseded.
pub fn hangup() -> String {
    r#"<?xml version="1.0" encoding="UTF-8"?><Response><Hangup/></Response>"#.to_string()
}

/// Escape for a double-quoted XML attribute value. Tab, newline and carriage return are
/// written as character references: a parser would otherwise normalise them to spaces.
fn escape_attr(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c if is_xml_char(c) => out.push(c),
            _ => {}
        }
    }
}

/// XML 1.0 `Char` production.
fn is_xml_char(c: char) -> bool {
    matches!(c, '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn plain_document() {
        let xml = connect_stream(
            "wss://gw.example.com/stream",
            &p(&[("agent", "a1"), ("name", "Ann")]),
        );
        assert_eq!(
            xml,
            r#"<?xml version="1.0" encoding="UTF-8"?><Response><Connect><Stream url="wss://gw.example.com/stream"><Parameter name="agent" value="a1"/><Parameter name="name" value="Ann"/></Stream></Connect></Response>"#
        );
    }

    #[test]
    fn no_parameters() {
        let xml = connect_stream("wss://gw/s", &[]);
        assert!(xml.ends_with(r#"<Stream url="wss://gw/s"></Stream></Connect></Response>"#));
    }

    #[test]
    fn hostile_values_cannot_break_out() {
        let hostile = r#""/><Hangup/><Parameter name="x" value="&amp; 'quoted' <b>"#;
        let xml = connect_stream(
            "wss://gw/s?a=1&b=2",
            &p(&[("name", hostile), ("k\"ey<", "multi\nline\ttab\r")]),
        );
        assert!(!xml.contains("<Hangup/>"));
        assert!(xml.contains(r#"url="wss://gw/s?a=1&amp;b=2""#));
        assert!(xml.contains(
            r#"value="&quot;/&gt;&lt;Hangup/&gt;&lt;Parameter name=&quot;x&quot; value=&quot;&amp;amp; &apos;quoted&apos; &lt;b&gt;""#
        ));
        assert!(xml.contains(r#"name="k&quot;ey&lt;" value="multi&#10;line&#9;tab&#13;""#));
        // Exactly the elements we wrote, and every attribute quote balanced.
        assert_eq!(xml.matches("<Parameter ").count(), 2);
        assert_eq!(xml.matches('"').count() % 2, 0);
    }

    #[test]
    fn control_characters_are_dropped_and_unicode_kept() {
        let xml = connect_stream(
            "wss://gw/s",
            &p(&[("name", "Zoë\u{0}\u{1b}[31m 李 😀\u{FFFE}")]),
        );
        assert!(xml.contains(r#"value="Zoë[31m 李 😀""#));
    }
}
