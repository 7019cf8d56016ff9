//! The imported contacts of one file, stored in one arena: every cell's text in one
//! `String`, metadata keys once per column, and per contact a fixed-size record of offsets.
//! A file of a million contacts is a handful of allocations instead of about ten a contact
//! (docs/parser.md, "Performance"). [`Contact`] is a borrowed view of one contact; it
//! serializes exactly as the owned [`ParsedContact`] does.

use std::collections::BTreeMap;
use std::ops::Range;

use serde::Serialize;
use serde::ser::{SerializeMap, SerializeStruct};

/// One contact with owned values: what a [`Contact`] view turns into with
/// [`Contact::to_owned`].
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct ParsedContact {
    pub row: u64,
    /// E.164, without the extension.
    pub phone: String,
    /// The phone cell as written in the file (trimmed).
    pub phone_text: String,
    pub name: Option<String>,
    /// The two cells a "First + Last" name was joined from, as written; empty otherwise.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub name_parts: Vec<String>,
    pub metadata: BTreeMap<String, String>,
    /// IANA zone from a timezone column, when it holds a valid zone. The number's own zones
    /// (every plausible one) come from `shared::domain::compliance::locate`, not from here.
    pub timezone: Option<String>,
}

/// A range of the arena's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Span {
    start: u32,
    end: u32,
}

/// A metadata value: the key (an index into [`Contacts::keys`]) and the value's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Entry {
    key: u32,
    value: Span,
}

#[derive(Debug, Clone, PartialEq)]
struct Record {
    row: u64,
    phone: Span,
    phone_text: Span,
    name: Option<Span>,
    name_parts: Option<(Span, Span)>,
    /// This contact's entries in [`Contacts::entries`], sorted by key.
    entries: Range<u32>,
    timezone: Option<&'static str>,
}

/// The contacts of a file, in file order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Contacts {
    records: Vec<Record>,
    entries: Vec<Entry>,
    text: String,
    keys: Vec<String>,
}

/// The text arena would pass 4 GiB (offsets are u32): more than any accepted file holds
/// unless cells are repeated by reference (spreadsheet shared strings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ArenaFull;

impl Contacts {
    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    pub fn get(&self, index: usize) -> Option<Contact<'_>> {
        self.records.get(index).map(|record| Contact {
            contacts: self,
            record,
        })
    }

    pub fn first(&self) -> Option<Contact<'_>> {
        self.get(0)
    }

    /// The contacts in file order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = Contact<'_>> + ExactSizeIterator + Clone {
        self.records.iter().map(move |record| Contact {
            contacts: self,
            record,
        })
    }

    /// The contacts in runs of at most `size` (the last may be shorter), in file order.
    /// `size` 0 is taken as 1.
    pub fn chunks(&self, size: usize) -> impl Iterator<Item = Chunk<'_>> {
        self.records.chunks(size.max(1)).map(move |records| Chunk {
            contacts: self,
            records,
        })
    }

    /// Every contact with owned values (tests, small previews).
    pub fn to_vec(&self) -> Vec<ParsedContact> {
        self.iter().map(|c| c.to_owned()).collect()
    }

    // --- building (the parser) ---

    pub(crate) fn with_keys(keys: Vec<String>) -> Self {
        Contacts {
            keys,
            ..Contacts::default()
        }
    }

    /// The index of `key`, added when new. Linear: only for the rare keys that are not a
    /// header's (columns past the header, `extension`), at most a few hundred a file.
    pub(crate) fn key(&mut self, key: &str) -> u32 {
        match self.keys.iter().position(|k| k == key) {
            Some(i) => i as u32,
            None => {
                self.keys.push(key.to_string());
                (self.keys.len() - 1) as u32
            }
        }
    }

    pub(crate) fn key_name(&self, key: u32) -> &str {
        self.keys
            .get(key as usize)
            .map(String::as_str)
            .unwrap_or("")
    }

    /// Copies `s` into the arena.
    pub(crate) fn push_text(&mut self, s: &str) -> Result<Span, ArenaFull> {
        let start = u32::try_from(self.text.len()).map_err(|_| ArenaFull)?;
        let end = u32::try_from(self.text.len() + s.len()).map_err(|_| ArenaFull)?;
        self.text.push_str(s);
        Ok(Span { start, end })
    }

    /// Writes `+` and the digits of `n` (an E.164 from its digits) into the arena.
    pub(crate) fn push_plus_digits(&mut self, n: u64) -> Result<Span, ArenaFull> {
        let start = u32::try_from(self.text.len()).map_err(|_| ArenaFull)?;
        self.text.push('+');
        self.text.push_str(itoa::Buffer::new().format(n));
        let end = u32::try_from(self.text.len()).map_err(|_| ArenaFull)?;
        Ok(Span { start, end })
    }

    /// Copies `parts` into the arena as one text.
    pub(crate) fn push_joined(&mut self, parts: &[&str]) -> Result<Span, ArenaFull> {
        let start = u32::try_from(self.text.len()).map_err(|_| ArenaFull)?;
        for p in parts {
            self.text.push_str(p);
        }
        let end = u32::try_from(self.text.len()).map_err(|_| ArenaFull)?;
        Ok(Span { start, end })
    }

    /// Where the next contact's entries start.
    pub(crate) fn entries_mark(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn push_entry(&mut self, key: u32, value: Span) {
        self.entries.push(Entry { key, value });
    }

    /// Whether the contact being built (entries since `mark`) has a value for `key`.
    pub(crate) fn pending_has_key(&self, mark: usize, key: u32) -> bool {
        self.entries
            .get(mark..)
            .is_some_and(|pending| pending.iter().any(|e| e.key == key))
    }

    /// Sorts the entries since `mark` by key name, keeping the last of equal keys (a later
    /// column wins, as a map insert does). Only for contacts with keys outside the header.
    pub(crate) fn sort_pending(&mut self, mark: usize) {
        let keys = &self.keys;
        let name = |e: &Entry| keys.get(e.key as usize).map(String::as_str).unwrap_or("");
        let Some(pending) = self.entries.get_mut(mark..) else {
            return;
        };
        // Stable: equal keys stay in column order, and the last one is kept.
        pending.sort_by(|a, b| name(a).cmp(name(b)));
        let mut kept: Vec<Entry> = Vec::with_capacity(pending.len());
        for e in pending.iter() {
            match kept.last_mut() {
                Some(last) if last.key == e.key => *last = *e,
                _ => kept.push(*e),
            }
        }
        self.entries.truncate(mark);
        self.entries.extend(kept);
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn push_contact(
        &mut self,
        row: u64,
        phone: Span,
        phone_text: Span,
        name: Option<Span>,
        name_parts: Option<(Span, Span)>,
        entries_from: usize,
        timezone: Option<&'static str>,
    ) -> Result<(), ArenaFull> {
        let start = u32::try_from(entries_from).map_err(|_| ArenaFull)?;
        let end = u32::try_from(self.entries.len()).map_err(|_| ArenaFull)?;
        self.records.push(Record {
            row,
            phone,
            phone_text,
            name,
            name_parts,
            entries: start..end,
            timezone,
        });
        Ok(())
    }

    fn text(&self, span: Span) -> &str {
        self.text
            .get(span.start as usize..span.end as usize)
            .unwrap_or("")
    }
}

impl<'a> IntoIterator for &'a Contacts {
    type Item = Contact<'a>;
    type IntoIter = Box<dyn Iterator<Item = Contact<'a>> + 'a>;
    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

/// A run of consecutive contacts ([`Contacts::chunks`]).
#[derive(Clone, Copy)]
pub struct Chunk<'a> {
    contacts: &'a Contacts,
    records: &'a [Record],
}

impl<'a> Chunk<'a> {
    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    pub fn iter(
        &self,
    ) -> impl DoubleEndedIterator<Item = Contact<'a>> + ExactSizeIterator + Clone + 'a {
        let contacts = self.contacts;
        self.records
            .iter()
            .map(move |record| Contact { contacts, record })
    }
}

/// One imported contact, borrowed from its file's [`Contacts`].
#[derive(Clone, Copy)]
pub struct Contact<'a> {
    contacts: &'a Contacts,
    record: &'a Record,
}

impl<'a> Contact<'a> {
    /// The row number as a spreadsheet shows it.
    pub fn row(&self) -> u64 {
        self.record.row
    }

    /// E.164, without the extension.
    pub fn phone(&self) -> &'a str {
        self.contacts.text(self.record.phone)
    }

    /// The phone cell as written in the file (trimmed).
    pub fn phone_text(&self) -> &'a str {
        self.contacts.text(self.record.phone_text)
    }

    pub fn name(&self) -> Option<&'a str> {
        self.record.name.map(|s| self.contacts.text(s))
    }

    /// The two cells a "First + Last" name was joined from, as written.
    pub fn name_parts(&self) -> Option<(&'a str, &'a str)> {
        self.record
            .name_parts
            .map(|(f, l)| (self.contacts.text(f), self.contacts.text(l)))
    }

    /// The other columns' values, by key in key order.
    pub fn metadata(&self) -> Metadata<'a> {
        let range = self.record.entries.start as usize..self.record.entries.end as usize;
        Metadata {
            contacts: self.contacts,
            entries: self.contacts.entries.get(range).unwrap_or(&[]),
        }
    }

    /// IANA zone from a timezone column, when it holds a valid zone.
    pub fn timezone(&self) -> Option<&'static str> {
        self.record.timezone
    }

    pub fn to_owned(&self) -> ParsedContact {
        ParsedContact {
            row: self.row(),
            phone: self.phone().to_string(),
            phone_text: self.phone_text().to_string(),
            name: self.name().map(str::to_string),
            name_parts: self
                .name_parts()
                .map(|(f, l)| vec![f.to_string(), l.to_string()])
                .unwrap_or_default(),
            metadata: self.metadata().to_map(),
            timezone: self.timezone().map(str::to_string),
        }
    }
}

impl std::fmt::Debug for Contact<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.to_owned().fmt(f)
    }
}

/// Serialized exactly as [`ParsedContact`].
impl Serialize for Contact<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let parts = self.name_parts();
        let mut s =
            serializer.serialize_struct("ParsedContact", if parts.is_some() { 7 } else { 6 })?;
        s.serialize_field("row", &self.row())?;
        s.serialize_field("phone", self.phone())?;
        s.serialize_field("phone_text", self.phone_text())?;
        s.serialize_field("name", &self.name())?;
        match parts {
            Some((f, l)) => s.serialize_field("name_parts", &[f, l])?,
            None => s.skip_field("name_parts")?,
        }
        s.serialize_field("metadata", &self.metadata())?;
        s.serialize_field("timezone", &self.timezone())?;
        s.end()
    }
}

/// A contact's metadata: (key, value) pairs in key order, as a `BTreeMap` would hold them.
#[derive(Clone, Copy)]
pub struct Metadata<'a> {
    contacts: &'a Contacts,
    entries: &'a [Entry],
}

impl<'a> Metadata<'a> {
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn iter(
        &self,
    ) -> impl DoubleEndedIterator<Item = (&'a str, &'a str)> + ExactSizeIterator + Clone + 'a {
        let contacts = self.contacts;
        self.entries
            .iter()
            .map(move |e| (contacts.key_name(e.key), contacts.text(e.value)))
    }

    pub fn get(&self, key: &str) -> Option<&'a str> {
        self.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    pub fn to_map(&self) -> BTreeMap<String, String> {
        self.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }
}

impl Serialize for Metadata<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut m = serializer.serialize_map(Some(self.len()))?;
        for (k, v) in self.iter() {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl std::fmt::Debug for Metadata<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}
