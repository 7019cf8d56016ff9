//! The audit in one line: what the export's `audit` column carries for a contact's latest
//! dial (the attempts route carries the full [`Audit`]).

use super::decide::{Audit, Verdict};
use super::location::Source;

fn source_name(s: Source) -> &'static str {
    match s {
        Source::Number => "number",
        Source::TimezoneColumn => "timezone column",
        Source::ZipColumn => "zip column",
        Source::StateColumn => "state column",
        Source::Campaign => "campaign",
    }
}

fn sources(list: &[Source]) -> String {
    list.iter()
        .map(|s| source_name(*s))
        .collect::<Vec<_>>()
        .join("+")
}

impl Audit {
    /// One line: the instant used, each zone with the recipient's local time there and its
    /// sources, the states, then every rule with its verdict (the cap with its count).
    ///
    /// `at 2026-01-14T18:00:00Z; zones America/Adak 2026-01-14 08:00 (number); states AK
    /// (number); blocked_dates allowed, ..., frequency_cap allowed 1/3 per 24h`
    pub fn compact(&self) -> String {
        let zones: Vec<String> = self
            .zones
            .iter()
            .map(|z| {
                let local = z
                    .local_time
                    .get(..16)
                    .unwrap_or(&z.local_time)
                    .replace('T', " ");
                format!("{} {} ({})", z.zone, local, sources(&z.sources))
            })
            .collect();
        let states: Vec<String> = self
            .states
            .iter()
            .map(|s| format!("{} ({})", s.state, sources(&s.sources)))
            .collect();
        let rules: Vec<String> = self
            .rules
            .iter()
            .map(|r| {
                let name = serde_json::to_value(r.rule)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default();
                let verdict = match r.verdict {
                    Verdict::Allowed => "allowed",
                    Verdict::Wait => "wait",
                    Verdict::Skip => "skip",
                };
                let mut out = format!("{name} {verdict}");
                if let Some(c) = r.calls {
                    out.push_str(&format!(" {}/{} per 24h", c.in_24h, c.max_24h));
                    if let Some(m) = c.max_7_days {
                        out.push_str(&format!(" {}/{m} per 7d", c.in_7_days));
                    }
                }
                if let Some(t) = r.until {
                    out.push_str(&format!(" until {}", t.format("%Y-%m-%dT%H:%M:%SZ")));
                }
                out
            })
            .collect();
        let mut line = format!(
            "at {}; zones {}",
            self.checked_at.format("%Y-%m-%dT%H:%M:%SZ"),
            if zones.is_empty() {
                "none".to_string()
            } else {
                zones.join(", ")
            }
        );
        if !states.is_empty() {
            line.push_str(&format!("; states {}", states.join(", ")));
        }
        line.push_str(&format!("; {}", rules.join(", ")));
        line
    }
}
