//! Dead letters: records the core could not use, with a reason and their original bytes.

use std::fmt;
use std::sync::Arc;

use base64::Engine;
use serde::ser::{Serialize, SerializeMap, Serializer};

/// Why a record was dead-lettered. Each has a stable snake_case code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reason {
    /// Not a JSON document (syntax error, truncated, invalid UTF-8, trailing data).
    MalformedJson,
    /// A required field is absent or null.
    MissingField,
    /// A field has the wrong type or an impossible value (not an object,
    /// unknown event_type, price ≤ 0, unparsable time, empty id…).
    BadValue,
    /// The event time is before 2000, from 2100 on, or too far ahead of the host clock.
    EventTimeOutOfRange,
    /// The record is larger than the configured limit.
    Oversize,
    /// The product is not in the catalog.
    UnknownProduct,
    /// Every window the event belongs to had already closed.
    Late,
    /// The event_id was seen within the dedup horizon.
    Duplicate,
    /// A KPL aggregate whose digest or protobuf is wrong (all its records are in the bytes).
    BadAggregate,
}

impl Reason {
    pub const ALL: [Reason; 9] = [
        Reason::MalformedJson,
        Reason::MissingField,
        Reason::BadValue,
        Reason::EventTimeOutOfRange,
        Reason::Oversize,
        Reason::UnknownProduct,
        Reason::Late,
        Reason::Duplicate,
        Reason::BadAggregate,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Reason::MalformedJson => "malformed_json",
            Reason::MissingField => "missing_field",
            Reason::BadValue => "bad_value",
            Reason::EventTimeOutOfRange => "event_time_out_of_range",
            Reason::Oversize => "oversize",
            Reason::UnknownProduct => "unknown_product",
            Reason::Late => "late",
            Reason::Duplicate => "duplicate",
            Reason::BadAggregate => "bad_aggregate",
        }
    }

    pub fn parse(s: &str) -> Option<Reason> {
        Reason::ALL.into_iter().find(|r| r.as_str() == s)
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Reason {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Where a record came from inside its partition: a line number for files,
/// a sequence number (an arbitrary-size decimal string) for Kinesis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Position<'a> {
    Offset(u64),
    Sequence(&'a str),
}

impl fmt::Display for Position<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Position::Offset(n) => write!(f, "{n}"),
            Position::Sequence(s) => f.write_str(s),
        }
    }
}

/// One record the core could not use. `bytes` is the record exactly as
/// received, unless `truncated` says it is only the record's start.
#[derive(Clone, Debug, PartialEq)]
pub struct DeadLetter {
    pub reason: Reason,
    pub detail: String,
    pub partition: Arc<str>,
    pub position: String,
    pub bytes: Vec<u8>,
    pub truncated: Option<Truncation>,
}

/// How many bytes a dead letter keeps of a record over `max_record_bytes`:
/// enough to see what it was, never enough to fill a disk or a table item.
pub const KEPT_PREFIX: usize = 4096;

/// The whole of a record whose dead letter keeps only its first bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Truncation {
    /// The record's full length in bytes.
    pub len: u64,
    /// SHA-256 of the full record.
    pub sha256: [u8; 32],
}

impl Truncation {
    pub fn of(bytes: &[u8]) -> Self {
        use sha2::Digest;
        Truncation {
            len: bytes.len() as u64,
            sha256: sha2::Sha256::digest(bytes).into(),
        }
    }

    pub fn sha256_hex(&self) -> String {
        self.sha256.iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl DeadLetter {
    /// The same letter holding at most `max` bytes: a longer record keeps
    /// its first [`KEPT_PREFIX`] bytes, its length and its digest (a store
    /// with an item size limit, e.g. DynamoDB's 400 KB, cannot take more).
    pub fn bounded(mut self, max: usize) -> DeadLetter {
        if self.bytes.len() > max && self.truncated.is_none() {
            self.truncated = Some(Truncation::of(&self.bytes));
            let keep = prefix(&self.bytes, KEPT_PREFIX.min(max)).len();
            self.bytes.truncate(keep);
        }
        self
    }
}

/// At most `max` leading bytes; a UTF-8 character cut at the end is dropped
/// so that text stays text in the serialized dead letter.
pub fn prefix(bytes: &[u8], max: usize) -> &[u8] {
    let head = &bytes[..bytes.len().min(max)];
    match std::str::from_utf8(head) {
        Err(e) if e.error_len().is_none() => &head[..e.valid_up_to()],
        _ => head,
    }
}

/// Serialized as `{reason, detail, partition, position, raw}` where `raw` is the
/// record as text, or `raw_base64` when the bytes are not valid UTF-8 — lossless
/// either way; a truncated record adds `truncated: {len, sha256}`.
impl Serialize for DeadLetter {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("reason", &self.reason)?;
        m.serialize_entry("detail", &self.detail)?;
        m.serialize_entry("partition", &*self.partition)?;
        m.serialize_entry("position", &self.position)?;
        match std::str::from_utf8(&self.bytes) {
            Ok(text) => m.serialize_entry("raw", text)?,
            Err(_) => m.serialize_entry(
                "raw_base64",
                &base64::engine::general_purpose::STANDARD.encode(&self.bytes),
            )?,
        }
        if let Some(t) = &self.truncated {
            m.serialize_entry(
                "truncated",
                &serde_json::json!({"len": t.len, "sha256": t.sha256_hex()}),
            )?;
        }
        m.end()
    }
}

/// Decodes the original bytes back from a serialized dead letter (`raw` or `raw_base64`).
pub fn original_bytes(dead_letter_json: &serde_json::Value) -> Option<Vec<u8>> {
    if let Some(text) = dead_letter_json.get("raw").and_then(|v| v.as_str()) {
        return Some(text.as_bytes().to_vec());
    }
    let b64 = dead_letter_json.get("raw_base64")?.as_str()?;
    base64::engine::general_purpose::STANDARD.decode(b64).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_codes_round_trip() {
        for r in Reason::ALL {
            assert_eq!(Reason::parse(r.as_str()), Some(r));
            assert_eq!(Reason::ALL[r.index()], r);
        }
    }

    #[test]
    fn non_utf8_bytes_survive_serialization() {
        let bytes = vec![b'{', 0xff, 0xfe, b'}'];
        let dl = DeadLetter {
            reason: Reason::MalformedJson,
            detail: "x".into(),
            partition: "p".into(),
            position: "1".into(),
            bytes: bytes.clone(),
            truncated: None,
        };
        let v: serde_json::Value = serde_json::to_value(&dl).unwrap();
        assert!(v.get("raw").is_none());
        assert!(v.get("truncated").is_none());
        assert_eq!(original_bytes(&v), Some(bytes));
    }

    #[test]
    fn a_truncated_record_names_its_length_and_digest() {
        let t = Truncation::of(b"abc");
        assert_eq!(
            t.sha256_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let dl = DeadLetter {
            reason: Reason::Oversize,
            detail: "x".into(),
            partition: "p".into(),
            position: "1".into(),
            bytes: b"ab".to_vec(),
            truncated: Some(t),
        };
        let v = serde_json::to_value(&dl).unwrap();
        assert_eq!(v["truncated"]["len"], 3);
        assert_eq!(v["raw"], "ab");
    }

    #[test]
    fn a_bounded_letter_keeps_its_start_length_and_digest() {
        let letter = DeadLetter {
            reason: Reason::UnknownProduct,
            detail: "x".into(),
            partition: "p".into(),
            position: "1".into(),
            bytes: vec![b'a'; 10_000],
            truncated: None,
        };
        let small = letter.clone().bounded(20_000);
        assert_eq!(small, letter);
        let cut = letter.clone().bounded(5_000);
        assert_eq!(cut.bytes.len(), KEPT_PREFIX);
        assert_eq!(cut.truncated, Some(Truncation::of(&letter.bytes)));
        assert_eq!(
            cut.clone().bounded(100),
            cut,
            "a truncated letter stays as it is"
        );
    }

    #[test]
    fn prefixes_do_not_split_a_character() {
        assert_eq!(prefix("aé".as_bytes(), 2), b"a");
        assert_eq!(prefix(b"abc", 2), b"ab");
        assert_eq!(prefix(&[0xff, 0xfe, 0xfd], 2), &[0xff, 0xfe]);
        assert_eq!(prefix(b"ab", 10), b"ab");
    }
}
