//! serde's errors in the user's words. serde says "invalid type: string \"ten\", expected i64
//! at line 1 column 82"; a person needs "pacing.delay_seconds must be a whole number of
//! seconds from 0 to 3600, not the text \"ten\"". Known request fields have their own
//! description of what they take; anything else falls back to a plain rendering of serde's
//! expectation.

/// What a request field takes, in plain words. Array elements are looked up as `path[]`.
fn expected_for(path: &str) -> Option<&'static str> {
    Some(match path {
        // campaign settings
        "name" => "text (at most 200 characters)",
        "agent_id" => "the id of one of your agents, as text",
        "timezone" => "an IANA timezone name as text, such as \"America/New_York\"",
        "scheduled_start_time" => "an RFC 3339 date and time as text, such as \"2026-12-01T14:00:00Z\"",
        "pacing" => "an object such as {\"delay_seconds\": 10}",
        "pacing.delay_seconds" => "a whole number of seconds from 0 to 3600",
        "business_hours" => {
            "an object such as {\"enabled\": true, \"days\": [1, 2, 3, 4, 5], \"start_time\": \"09:00\", \"end_time\": \"17:00\"}"
        }
        "business_hours.enabled" | "machine_detection" => "true or false",
        "business_hours.days" => "a list of weekday numbers, 1 (Monday) to 7 (Sunday), such as [1, 2, 3, 4, 5]",
        "business_hours.days[]" => "a weekday number, 1 (Monday) to 7 (Sunday)",
        "business_hours.start_time" | "business_hours.end_time" => "a time as text, \"HH:MM\", such as \"09:00\"",
        "retry_policy" => "an object such as {\"max_retries\": 3, \"backoff_hours\": [1, 4, 24]}",
        "retry_policy.max_retries" => "a whole number from 0 to 10",
        "retry_policy.backoff_hours" => "a list of hours, such as [1, 4, 24]",
        "retry_policy.backoff_hours[]" => "a number of hours from 0 to 720 (fractions allowed)",
        "retry_policy.retryable_outcomes" => "a list of outcomes, such as [\"no-answer\", \"busy\"]",
        "retry_policy.retryable_outcomes[]" => "one of \"no-answer\", \"busy\", \"failed\", \"canceled\", \"machine\"",
        "max_concurrent_calls" => "a whole number from 1 to 50",
        "default_region" => "a two-letter region code as text, such as \"US\"",
        "phone_column" | "name_column" => "a column header of the file, as text",
        // agents
        "prompt_text" => "text: what the agent says and how it behaves",
        _ => return None,
    })
}

/// `business_hours.days[1]` → `business_hours.days[]`.
fn pattern_of(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut in_index = false;
    for c in path.chars() {
        match c {
            '[' => {
                in_index = true;
                out.push('[');
            }
            ']' => {
                in_index = false;
                out.push(']');
            }
            _ if in_index => {}
            _ => out.push(c),
        }
    }
    out
}

/// serde's "expected ..." in plain words.
fn plain_expected(serde: &str) -> String {
    let s = serde.trim();
    let known = match s {
        "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => "a whole number",
        "u8" | "u16" | "u32" | "u64" | "u128" | "usize" => "a whole number, 0 or more",
        "f32" | "f64" => "a number",
        "a boolean" => "true or false",
        "a string" | "a borrowed string" => "text in double quotes",
        "a sequence" => "a list in square brackets",
        "a map" => "an object in curly braces",
        _ if s.starts_with("struct ") => "an object in curly braces",
        _ if s.starts_with("enum ") || s.starts_with("variant identifier") => "one of the listed values",
        _ => return s.replace('`', "\""),
    };
    known.to_string()
}

/// serde's "invalid type: X" in plain words: what was sent.
fn plain_got(serde: &str) -> String {
    let s = serde.trim();
    if let Some(v) = s.strip_prefix("string ") {
        return format!("the text {v}");
    }
    for prefix in ["integer ", "floating point ", "boolean "] {
        if let Some(v) = s.strip_prefix(prefix) {
            return v.trim_matches('`').to_string();
        }
    }
    match s {
        "null" | "unit value" => "null".into(),
        "map" => "an object".into(),
        "sequence" => "a list".into(),
        other => other.replace('`', "\""),
    }
}

/// The names inside serde's "`a`, `b`, `c`" list, joined plainly.
fn names_in(list: &str) -> String {
    let names: Vec<&str> = list.split('`').skip(1).step_by(2).collect();
    names.join(", ")
}

/// serde_json appends " at line L column C"; the field path says more than that to a person.
fn without_position(message: &str) -> &str {
    match message.rfind(" at line ") {
        Some(i) => &message[..i],
        None => message,
    }
}

/// A data error (the JSON is well-formed, a value is wrong) in plain words. `path` is
/// serde_path_to_error's (`pacing.delay_seconds`, `business_hours.days[1]`).
pub fn data_error(path: &str, serde_message: &str) -> String {
    let message = without_position(serde_message);
    let field = if path.is_empty() || path == "." { "the value" } else { path };
    let expected = |serde_expected: &str| {
        expected_for(&pattern_of(path)).map_or_else(|| plain_expected(serde_expected), str::to_string)
    };
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let (name, accepted) = rest.split_once('`').unwrap_or((rest, ""));
        let accepted = accepted.trim_start_matches(", expected ").trim_start_matches("one of ");
        let accepted = if accepted.contains('`') { names_in(accepted) } else { String::new() };
        return if accepted.is_empty() {
            format!("{field}: there is no setting named \"{name}\" here")
        } else {
            format!("{field}: there is no setting named \"{name}\" here; the settings are {accepted}")
        };
    }
    if let Some(rest) = message.strip_prefix("unknown variant `") {
        let (value, accepted) = rest.split_once('`').unwrap_or((rest, ""));
        let accepted = names_in(accepted.trim_start_matches(", expected "));
        return format!("{field} must be one of {accepted}, not \"{value}\"");
    }
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = message.strip_prefix(prefix)
            && let Some((got, want)) = rest.rsplit_once(", expected ")
        {
            return format!("{field} must be {}, not {}", expected(want), plain_got(got));
        }
    }
    if let Some(rest) = message.strip_prefix("invalid length ") {
        let want = rest.split_once(", expected ").map_or("", |(_, w)| w);
        return format!("{field} must be {}", expected(want));
    }
    if let Some(name) = message.strip_prefix("missing field `") {
        let name = name.trim_end_matches('`');
        let inner = if field == "the value" { name.to_string() } else { format!("{field}.{name}") };
        return format!("{inner} is required");
    }
    // Anything else (a custom message from a parser, such as chrono's): say what the field
    // takes when we know it, and keep the parser's reason.
    match expected_for(&pattern_of(path)) {
        Some(want) => format!("{field} must be {want} ({message})"),
        None => format!("{field}: {message}"),
    }
}

/// A syntax error (the text is not JSON) in plain words, with where it is.
pub fn syntax_error(e: &serde_json::Error) -> String {
    let message = without_position(&e.to_string()).to_string();
    let what = if e.is_eof() {
        "it ends before the JSON is complete (a closing } or ] or \" may be missing)"
    } else if message.starts_with("key must be a string") {
        "a key is not in double quotes (write {\"delay_seconds\": 10})"
    } else if message.starts_with("expected `,` or `}`") {
        "a comma or a closing } is missing"
    } else if message.starts_with("expected `,` or `]`") {
        "a comma or a closing ] is missing"
    } else if message.starts_with("expected `:`") {
        "a colon is missing after a key"
    } else if message.starts_with("expected value") || message.starts_with("expected ident") {
        "a value was expected (text goes in double quotes; true, false and null in lower case)"
    } else if message.starts_with("trailing comma") {
        "there is a comma before a closing bracket"
    } else if message.starts_with("trailing characters") {
        "there is more text after the JSON value"
    } else if message.starts_with("control character") {
        "a text value contains a raw line break or control character (write \\n)"
    } else if message.starts_with("invalid escape") || message.starts_with("invalid unicode") {
        "a text value has an invalid backslash escape"
    } else if message.starts_with("invalid number") || message.starts_with("number out of range") {
        "a number cannot be read"
    } else {
        "it cannot be read as JSON"
    };
    if e.line() == 0 {
        what.to_string()
    } else {
        format!("{what} (line {}, character {})", e.line(), e.column())
    }
}

/// Query-string errors as axum reports them ("state: unknown variant `x`, expected one of
/// ..."; "limit: invalid digit found in string"), as (field, plain message).
pub fn query_error(detail: &str) -> (Option<String>, String) {
    let Some((field, message)) = detail.split_once(": ") else {
        return (None, format!("the query string cannot be read: {detail}"));
    };
    let field = field.trim();
    if message.starts_with("unknown variant") || message.starts_with("invalid type") {
        return (Some(field.to_string()), data_error(field, message));
    }
    let plain = match field {
        "limit" => "limit must be a whole number from 1 to 100".to_string(),
        _ if message.contains("digit") || message.contains("number") => format!("{field} must be a whole number"),
        _ => format!("{field}: {message}"),
    };
    (Some(field.to_string()), plain)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serde_words(s: &str) -> bool {
        ["invalid type", "expected i64", "expected u32", "line 1 column", "unknown variant", "EOF while", "`", "struct "]
            .iter()
            .any(|w| s.contains(w))
    }

    #[test]
    fn wrong_types_in_plain_words() {
        let m = data_error("pacing.delay_seconds", "invalid type: string \"ten\", expected i64 at line 1 column 82");
        assert_eq!(m, "pacing.delay_seconds must be a whole number of seconds from 0 to 3600, not the text \"ten\"");
        let m = data_error("business_hours.days[1]", "invalid type: string \"mon\", expected i64 at line 1 column 34");
        assert_eq!(m, "business_hours.days[1] must be a weekday number, 1 (Monday) to 7 (Sunday), not the text \"mon\"");
        let m = data_error("max_concurrent_calls", "invalid value: integer `-1`, expected u32 at line 1 column 26");
        assert_eq!(m, "max_concurrent_calls must be a whole number from 1 to 50, not -1");
        let m = data_error("pacing", "invalid type: integer `5`, expected struct PacingInput at line 1 column 11");
        assert_eq!(m, "pacing must be an object such as {\"delay_seconds\": 10}, not 5");
        let m = data_error("some.other", "invalid type: string \"x\", expected a boolean at line 1 column 3");
        assert_eq!(m, "some.other must be true or false, not the text \"x\"");
        let m = data_error("scheduled_start_time", "input contains invalid characters at line 1 column 34");
        assert!(m.starts_with("scheduled_start_time must be an RFC 3339 date and time"), "{m}");
        for m in [
            data_error("[0]", "invalid type: integer `1`, expected a string at line 1 column 2"),
            data_error("pacing_seconds", "unknown field `pacing_seconds`, expected one of `name`, `agent_id` at line 1 column 17"),
            data_error("pacing.x", "unknown field `x`, expected `delay_seconds` at line 1 column 14"),
        ] {
            assert!(!serde_words(&m), "{m}");
        }
        assert_eq!(
            data_error("pacing_seconds", "unknown field `pacing_seconds`, expected one of `name`, `agent_id` at line 1 column 17"),
            "pacing_seconds: there is no setting named \"pacing_seconds\" here; the settings are name, agent_id"
        );
    }

    #[test]
    fn syntax_errors_say_what_is_missing_and_where() {
        let e = serde_json::from_str::<serde_json::Value>("{\"agent_id\": \"x\", ").expect_err("eof");
        let m = syntax_error(&e);
        assert!(m.starts_with("it ends before the JSON is complete"), "{m}");
        assert!(m.ends_with("(line 1, character 18)"), "{m}");
        let e = serde_json::from_str::<serde_json::Value>("{a: 1}").expect_err("key");
        assert!(syntax_error(&e).starts_with("a key is not in double quotes"));
        let e = serde_json::from_str::<serde_json::Value>("{\"a\": nope}").expect_err("value");
        assert!(syntax_error(&e).starts_with("a value was expected"));
    }

    #[test]
    fn query_errors_name_the_parameter() {
        let (f, m) = query_error("state: unknown variant `bogus`, expected one of `draft`, `pending`");
        assert_eq!(f.as_deref(), Some("state"));
        assert_eq!(m, "state must be one of draft, pending, not \"bogus\"");
        let (f, m) = query_error("limit: invalid digit found in string");
        assert_eq!(f.as_deref(), Some("limit"));
        assert_eq!(m, "limit must be a whole number from 1 to 100");
    }
}
