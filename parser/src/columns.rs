//! Header recognition: which column holds the phone, which the name, and the metadata keys.

/// Lower-cases and keeps only letters and digits (Unicode-aware), so "Cell #", "cell" and
/// "CELL-" compare equal, and "Phone Number" becomes "phonenumber".
pub(crate) fn squash(header: &str) -> String {
    header
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Headers that name a phone column, best first. Compared after [`squash`].
const PHONE_EXACT: &[&str] = &[
    "phone",
    "phonenumber",
    "phoneno",
    "phonenum",
    "mobile",
    "mobilenumber",
    "mobilephone",
    "mobileno",
    "cell",
    "cellphone",
    "cellnumber",
    "cellno",
    "tel",
    "telno",
    "telephone",
    "telephonenumber",
    "telefon",
    "telefonnummer",
    "teléfono",
    "telefono",
    "téléphone",
    "telefone",
    "celular",
    "móvil",
    "movil",
    "handy",
    "handynummer",
    "whatsapp",
    "msisdn",
    "contactnumber",
    "number",
    "numero",
    "número",
    "nummer",
];

/// Words that, contained in a header, make it a weaker phone candidate ("Work Phone",
/// "Primary Mobile #").
const PHONE_CONTAINS: &[&str] = &["phone", "mobile", "cell", "telef", "teléf", "msisdn"];

/// Headers that mention a phone but are not the number itself.
const PHONE_NOT: &[&str] = &[
    "ext",
    "extension",
    "type",
    "country",
    "code",
    "verified",
    "status",
];

/// The longest header that can name a column, in characters and in words. A header is a
/// short label; a longer cell that mentions a phone ("Fill in the Contacts sheet. Phone
/// numbers in column B.") is a sentence, not the phone column's header.
pub(crate) const MAX_LABEL_CHARS: usize = 40;
pub(crate) const MAX_LABEL_WORDS: usize = 5;

pub(crate) fn is_label(header: &str) -> bool {
    let h = header.trim();
    h.chars().count() <= MAX_LABEL_CHARS && h.split_whitespace().count() <= MAX_LABEL_WORDS
}

/// A score for `header` as the phone column: lower is better, `None` is not a phone column.
pub(crate) fn phone_score(header: &str) -> Option<usize> {
    if !is_label(header) {
        return None;
    }
    let s = squash(header);
    if s.is_empty() {
        return None;
    }
    if let Some(i) = PHONE_EXACT.iter().position(|p| *p == s) {
        return Some(i);
    }
    if PHONE_NOT.iter().any(|n| s.ends_with(n) || s.starts_with(n)) {
        return None;
    }
    PHONE_CONTAINS
        .iter()
        .any(|p| s.contains(p))
        .then_some(PHONE_EXACT.len() + s.len())
}

/// The index of the best phone column among `headers`, if any.
pub(crate) fn find_phone(headers: &[String]) -> Option<usize> {
    headers
        .iter()
        .enumerate()
        .filter_map(|(i, h)| phone_score(h).map(|s| (s, i)))
        .min()
        .map(|(_, i)| i)
}

/// How the contact's name is built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum NameSource {
    None,
    Single(usize),
    FirstLast(usize, usize),
}

const NAME_EXACT: &[&str] = &[
    "name",
    "fullname",
    "contactname",
    "customername",
    "clientname",
    "nombre",
    "nom",
];
const FIRST: &[&str] = &[
    "firstname",
    "first",
    "givenname",
    "forename",
    "vorname",
    "prénom",
    "prenom",
];
const LAST: &[&str] = &[
    "lastname",
    "last",
    "surname",
    "familyname",
    "nachname",
    "apellido",
    "apellidos",
];

pub(crate) fn find_name(headers: &[String], skip: usize) -> NameSource {
    let squashed: Vec<String> = headers.iter().map(|h| squash(h)).collect();
    let pos = |set: &[&str]| {
        set.iter().find_map(|want| {
            squashed
                .iter()
                .enumerate()
                .find(|(i, s)| *i != skip && s.as_str() == *want)
                .map(|(i, _)| i)
        })
    };
    if let Some(i) = pos(NAME_EXACT) {
        return NameSource::Single(i);
    }
    match (pos(FIRST), pos(LAST)) {
        (Some(f), Some(l)) => NameSource::FirstLast(f, l),
        (Some(f), None) => NameSource::Single(f),
        (None, Some(l)) => NameSource::Single(l),
        (None, None) => NameSource::None,
    }
}

/// The column whose header matches `wanted` (exactly after trimming, else case- and
/// punctuation-insensitively).
pub(crate) fn find_named(headers: &[String], wanted: &str) -> Option<usize> {
    let w = wanted.trim();
    headers.iter().position(|h| h.trim() == w).or_else(|| {
        let sw = squash(w);
        if sw.is_empty() {
            return None;
        }
        headers.iter().position(|h| squash(h) == sw)
    })
}

/// "Company Name" -> "company_name", "E-mail" -> "e_mail", "Notes (internal)" -> "notes_internal".
pub(crate) fn snake_case(header: &str) -> String {
    let mut out = String::with_capacity(header.len());
    let mut prev_lower_or_digit = false;
    let mut pending_sep = false;
    for c in header.trim().chars() {
        if c.is_alphanumeric() {
            if c.is_uppercase() && prev_lower_or_digit {
                pending_sep = true;
            }
            if pending_sep && !out.is_empty() {
                out.push('_');
            }
            pending_sep = false;
            out.extend(c.to_lowercase());
            prev_lower_or_digit = c.is_lowercase() || c.is_numeric();
        } else {
            pending_sep = true;
            prev_lower_or_digit = false;
        }
    }
    out
}

/// The longest metadata key, in characters: longer headers are cut (keys stay unique).
pub(crate) const MAX_KEY_CHARS: usize = 64;

/// Metadata keys for every column: snake_case, cut to [`MAX_KEY_CHARS`], made unique,
/// `column_N` when the header is empty (N is the 1-based column number).
pub(crate) fn metadata_keys(headers: &[String]) -> Vec<String> {
    // Hash sets, not Vec::contains: a hostile header row can have 100,000s of columns.
    let mut taken: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut next_suffix: std::collections::HashMap<String, usize> =
        std::collections::HashMap::new();
    let mut keys: Vec<String> = Vec::with_capacity(headers.len());
    for (i, h) in headers.iter().enumerate() {
        let mut key: String = snake_case(h).chars().take(MAX_KEY_CHARS).collect();
        if key.is_empty() {
            key = format!("column_{}", i + 1);
        }
        if taken.contains(&key) {
            let n = next_suffix.entry(key.clone()).or_insert(2);
            while taken.contains(&format!("{key}_{n}")) {
                *n += 1;
            }
            key = format!("{key}_{n}");
            *n += 1;
        }
        taken.insert(key.clone());
        keys.push(key);
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn phone_headers_in_many_spellings() {
        for header in [
            "phone",
            "Phone",
            "PHONE",
            "Mobile",
            "cell",
            "Cell #",
            "tel",
            "Tel.",
            "Telephone",
            "number",
            "Phone Number",
            "phone_number",
            "Telefon",
            "Teléfono",
            "Work Phone",
            "Mobile Phone #",
            "msisdn",
        ] {
            assert!(phone_score(header).is_some(), "{header}");
        }
        for header in [
            "name",
            "email",
            "Phone Ext",
            "phone type",
            "company",
            "",
            "notes",
        ] {
            assert!(phone_score(header).is_none(), "{header}");
        }
    }

    #[test]
    fn exact_phone_header_beats_a_weaker_one() {
        assert_eq!(find_phone(&h(&["Work Phone", "Phone", "Name"])), Some(1));
        assert_eq!(find_phone(&h(&["number", "mobile"])), Some(1));
        assert_eq!(find_phone(&h(&["name", "email"])), None);
    }

    #[test]
    fn name_from_full_or_first_and_last() {
        assert_eq!(
            find_name(&h(&["phone", "Full Name"]), 0),
            NameSource::Single(1)
        );
        assert_eq!(
            find_name(&h(&["First Name", "phone", "Last Name"]), 1),
            NameSource::FirstLast(0, 2)
        );
        assert_eq!(find_name(&h(&["phone", "email"]), 0), NameSource::None);
    }

    #[test]
    fn snake_case_keys() {
        assert_eq!(snake_case("Company Name"), "company_name");
        assert_eq!(snake_case("E-mail"), "e_mail");
        assert_eq!(snake_case("Notes (internal)"), "notes_internal");
        assert_eq!(snake_case("  accountID "), "account_id");
        assert_eq!(snake_case("Time Zone"), "time_zone");
        assert_eq!(snake_case("Straße"), "straße");
        assert_eq!(
            metadata_keys(&h(&["A", "a", "", "A"])),
            ["a", "a_2", "column_3", "a_3"]
        );
    }

    #[test]
    fn explicit_column_matches_loosely() {
        let headers = h(&["Phone", "Cell #"]);
        assert_eq!(find_named(&headers, "cell"), Some(1));
        assert_eq!(find_named(&headers, "Phone"), Some(0));
        assert_eq!(find_named(&headers, "fax"), None);
    }
}
