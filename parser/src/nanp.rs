//! libphonenumber's verdict on a North American number, without its regex engine.
//!
//! `is_valid_number_for_region(number, US)` is: the national significant number (the
//! national number's decimal digits) matches the general pattern, its length is one of the
//! general lengths, and it matches the pattern of some number type (premium rate, toll
//! free, personal, fixed line, mobile) whose lengths include it. rlibphonenumber checks
//! that with up to ten anchored regex searches, about 2,200 instructions a number. Here the
//! same patterns (`nanp_metadata.rs`, generated from the same metadata release) are
//! compiled once into two DFAs (regex-automata's lazy DFA, explored over the ten digits
//! into a flat table): the general pattern and the union of the type patterns. A verdict
//! is then one table lookup a digit for each.
//!
//! The answer is exact (same patterns, same lengths, full-match semantics) and is checked
//! against rlibphonenumber on a number under every six-digit prefix (the US patterns
//! decide on at most six digits) by `nanp_automaton_agrees_with_rlibphonenumber_on_every_prefix`,
//! and on the differential corpus against Python phonenumbers. When the automata cannot
//! answer (they could not be built), `valid` returns None and the caller asks
//! rlibphonenumber.

use std::collections::HashMap;
use std::sync::LazyLock;

use regex_automata::hybrid::LazyStateID;
use regex_automata::hybrid::dfa::DFA;
use regex_automata::util::start;
use regex_automata::{Anchored, MatchKind};

use super::nanp_metadata::{GENERAL, TYPES};

/// A number description of the metadata: its possible lengths and its national number
/// pattern (matched in full).
pub(crate) struct Desc {
    #[allow(dead_code)]
    pub(crate) name: &'static str,
    pub(crate) lengths: &'static [usize],
    pub(crate) pattern: &'static str,
}

impl Desc {
    fn allows(&self, len: usize) -> bool {
        self.lengths.is_empty() || self.lengths.contains(&len)
    }
}

/// The longest national significant number a NANP number can have (ten digits).
const MAX_DIGITS: usize = 10;

/// A DFA over the digits 0-9 as a flat table. State 0 is dead; state 1 the start.
struct DigitDfa {
    /// `next[10 * state + digit]`.
    next: Vec<u32>,
    /// Whether the digits read so far match in full (the DFA's end-of-input transition).
    accepts: Vec<bool>,
}

impl DigitDfa {
    /// Explores `pattern`'s lazy DFA from its anchored start over the bytes '0'..='9'
    /// (every state reachable that way), numbering the states as found. None when the DFA
    /// cannot be built or gives up.
    fn build(pattern: &str) -> Option<DigitDfa> {
        let dfa = DFA::builder()
            .configure(DFA::config().match_kind(MatchKind::All))
            .syntax(
                regex_automata::util::syntax::Config::new()
                    .unicode(false)
                    .utf8(false),
            )
            // Anchored at both ends: a full match, as rlibphonenumber's `^(?:...)$`.
            .build(&format!("^(?:{pattern})$"))
            .ok()?;
        // A cache big enough never to be cleared: a cleared cache would renumber states.
        let mut cache = regex_automata::hybrid::dfa::Cache::new(&dfa);
        let start = dfa
            .start_state(&mut cache, &start::Config::new().anchored(Anchored::Yes))
            .ok()?;
        let mut ids: HashMap<LazyStateID, u32> = HashMap::new();
        let mut order: Vec<LazyStateID> = vec![start];
        ids.insert(start, 1);
        let mut next = vec![0u32; 10];
        let mut accepts = vec![false];
        let mut i = 0;
        while let Some(&sid) = order.get(i) {
            i += 1;
            accepts.push(dfa.next_eoi_state(&mut cache, sid).ok()?.is_match());
            for d in 0..10u8 {
                let to = dfa.next_state(&mut cache, sid, b'0' + d).ok()?;
                if to.is_quit() || to.is_unknown() {
                    return None;
                }
                let id = if to.is_dead() {
                    0
                } else {
                    match ids.get(&to) {
                        Some(&id) => id,
                        None => {
                            let id = u32::try_from(order.len() + 1).ok()?;
                            ids.insert(to, id);
                            order.push(to);
                            id
                        }
                    }
                };
                next.push(id);
            }
            if order.len() > 100_000 {
                return None;
            }
        }
        // The cache was never cleared while exploring (else the numbering is void).
        if cache.clear_count() > 0 {
            return None;
        }
        Some(DigitDfa { next, accepts })
    }

    /// Whether `digits` (each 0-9) match in full.
    fn full_match(&self, digits: &[u8]) -> bool {
        let mut state = 1usize;
        for &d in digits {
            state = self
                .next
                .get(10 * state + usize::from(d))
                .map_or(0, |&s| s as usize);
            if state == 0 {
                return false;
            }
        }
        self.accepts.get(state).copied().unwrap_or(false)
    }
}

struct Automata {
    general: DigitDfa,
    /// For each length the general description allows (index = length), the union of the
    /// types that allow that length; None when no type does.
    types: Vec<Option<DigitDfa>>,
}

static AUTOMATA: LazyLock<Option<Automata>> = LazyLock::new(|| {
    let general = DigitDfa::build(GENERAL.pattern)?;
    let mut types = Vec::new();
    for len in 0..=MAX_DIGITS {
        let union: Vec<&str> = TYPES
            .iter()
            .filter(|t| GENERAL.allows(len) && t.allows(len))
            .map(|t| t.pattern)
            .collect();
        types.push(if union.is_empty() {
            None
        } else {
            Some(DigitDfa::build(&union.join("|"))?)
        });
    }
    Some(Automata { general, types })
});

/// libphonenumber's `is_valid_number_for_region` for +1 `national_number` and region US,
/// or None when the automata cannot answer (ask rlibphonenumber then).
pub(crate) fn valid(national_number: u64) -> Option<bool> {
    let automata = AUTOMATA.as_ref()?;
    // The national significant number: the decimal digits, no leading zeros (NANP has no
    // Italian leading zero).
    let mut buf = [0u8; 20];
    let mut at = buf.len();
    let mut n = national_number;
    loop {
        at -= 1;
        *buf.get_mut(at)? = (n % 10) as u8;
        n /= 10;
        if n == 0 || at == 0 {
            break;
        }
    }
    let digits = buf.get(at..)?;
    let len = digits.len();
    if !GENERAL.allows(len) {
        return Some(false);
    }
    let Some(types) = automata.types.get(len).and_then(Option::as_ref) else {
        return Some(false);
    };
    Some(automata.general.full_match(digits) && types.full_match(digits))
}
