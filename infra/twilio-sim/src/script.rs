//! What the simulator does with a call to a given number.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// How a call ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SimOutcome {
    /// Answered (by a person, `AnsweredBy=human` with detection on), talks `duration` seconds.
    #[default]
    Completed,
    Busy,
    #[serde(alias = "no_answer")]
    NoAnswer,
    Failed,
    /// Answered by a machine: `AnsweredBy=machine_start` (or `answered_by`) with detection on.
    Machine,
}

/// How the status callbacks of a call are delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CallbackMode {
    /// Each requested event once, in order, at its time.
    #[default]
    Normal,
    /// Each callback delivered twice in a row (same SequenceNumber).
    Twice,
    /// `initiated` on time; `ringing` and `in-progress` held back and delivered after the
    /// terminal callback.
    OutOfOrder,
    /// Every callback held until the call ends, then delivered newest first (terminal,
    /// in-progress, ringing, initiated): only `SequenceNumber` tells the order.
    Reverse,
    /// The terminal callback never comes (the call still ends: fetch shows it).
    LoseTerminal,
    /// No callback at all.
    None,
}

/// One call's behaviour. Unknown fields are refused, so a typo in a script fails loudly.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Behaviour {
    #[serde(default)]
    pub outcome: SimOutcome,
    /// Seconds in progress once answered (completed, machine). Default 30 (machine: 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<u32>,
    /// Seconds of ringing before the answer / busy / no-answer. Defaults: answered 3, busy 2,
    /// no-answer the request's `Timeout`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ring: Option<f64>,
    /// `AnsweredBy` value when detection is on (default `human`, machine `machine_start`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered_by: Option<String>,
    /// The first N creates for this number are refused with 429 (then accepted).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub reject_429: u32,
    /// After any 429s, the next N creates for this number are refused with 503 (then accepted).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub reject_503: u32,
    /// The call is created, but the answer to the create is withheld for `lost_response`
    /// seconds (real time, not scaled), so a client with a shorter timeout sees a transport
    /// error for a call that exists (the "did it get created?" case).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lost_response: Option<f64>,
    /// Refuse every create with this Twilio error code (e.g. 21211 invalid number, 21212
    /// invalid caller id, 21210 unverified caller id, 21215/21216 geo permissions, 21219 trial
    /// account, 20005 suspended account), with HTTP `reject_status` (default 400).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reject_code: Option<i64>,
    /// The HTTP status of a `reject_code` refusal (default 400).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reject_status: Option<u16>,
    /// The call is created and goes on, but the create is answered with this HTTP status and
    /// a Twilio error body (e.g. 500): "a create answered 500 whose call does exist".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_but_answer: Option<u16>,
    /// Once created, the call is unknown to fetch (404) and to listings, as if Twilio had lost
    /// or deleted its record; it still runs and calls back as scripted.
    #[serde(default, skip_serializing_if = "is_false")]
    pub forgotten: bool,
    #[serde(default)]
    pub callbacks: CallbackMode,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// A behaviour, or one per successive call to the number (the last repeats).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Plan {
    One(Behaviour),
    Sequence(Vec<Behaviour>),
}

impl Default for Plan {
    fn default() -> Self {
        Self::One(Behaviour::default())
    }
}

impl Plan {
    /// The behaviour of the `n`th created call (0-based) to the number.
    pub fn for_attempt(&self, n: usize) -> Behaviour {
        match self {
            Self::One(b) => b.clone(),
            Self::Sequence(v) => v.get(n).or_else(|| v.last()).cloned().unwrap_or_default(),
        }
    }
}

/// `{"default": {...}, "+12025550100": {...} | [{...}, ...]}`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Script {
    #[serde(default)]
    pub default: Plan,
    #[serde(flatten)]
    pub numbers: BTreeMap<String, Plan>,
}

impl Script {
    pub fn plan(&self, to: &str) -> &Plan {
        self.numbers.get(to).unwrap_or(&self.default)
    }

    /// A script that gives `number` this behaviour.
    pub fn with(mut self, number: impl Into<String>, b: Behaviour) -> Self {
        self.numbers.insert(number.into(), Plan::One(b));
        self
    }

    /// A script that gives successive calls to `number` these behaviours.
    pub fn with_sequence(mut self, number: impl Into<String>, seq: Vec<Behaviour>) -> Self {
        self.numbers.insert(number.into(), Plan::Sequence(seq));
        self
    }
}

impl Behaviour {
    pub fn outcome(outcome: SimOutcome) -> Self {
        Self {
            outcome,
            ..Self::default()
        }
    }
    pub fn completed(duration: u32) -> Self {
        Self {
            duration: Some(duration),
            ..Self::default()
        }
    }
    pub fn callbacks(mut self, mode: CallbackMode) -> Self {
        self.callbacks = mode;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_format() {
        let json = r#"{
            "default": {"outcome": "completed", "duration": 30},
            "+12025550100": {"outcome": "busy"},
            "+12025550101": [{"outcome": "no-answer"}, {"outcome": "completed", "duration": 5, "callbacks": "twice"}],
            "+12025550102": {"reject_429": 2},
            "+12025550103": {"reject_code": 21211}
        }"#;
        let s: Script = serde_json::from_str(json).expect("parses");
        assert_eq!(s.default.for_attempt(0).duration, Some(30));
        assert_eq!(
            s.plan("+12025550100").for_attempt(0).outcome,
            SimOutcome::Busy
        );
        let seq = s.plan("+12025550101");
        assert_eq!(seq.for_attempt(0).outcome, SimOutcome::NoAnswer);
        assert_eq!(seq.for_attempt(1).callbacks, CallbackMode::Twice);
        assert_eq!(
            seq.for_attempt(7).outcome,
            SimOutcome::Completed,
            "last repeats"
        );
        assert_eq!(s.plan("+12025550102").for_attempt(0).reject_429, 2);
        assert_eq!(
            s.plan("+19999999999").for_attempt(0).duration,
            Some(30),
            "default"
        );
        let back: Script =
            serde_json::from_str(&serde_json::to_string(&s).expect("ser")).expect("round trip");
        assert_eq!(back, s);
    }

    #[test]
    fn typos_are_refused() {
        assert!(serde_json::from_str::<Script>(r#"{"+1": {"outcom": "busy"}}"#).is_err());
        assert!(serde_json::from_str::<Script>(r#"{"+1": {"outcome": "engaged"}}"#).is_err());
    }
}
