//! Event time: epoch milliseconds, parsed from RFC 3339 or epoch-millisecond values.

use chrono::{DateTime, SecondsFormat, Utc};

/// Milliseconds since the Unix epoch (UTC). All times in the core use this unit.
pub type Millis = i64;

/// 2000-01-01T00:00:00Z: earlier event times are rejected as out of range.
pub const MIN_EVENT_TIME: Millis = 946_684_800_000;
/// 2100-01-01T00:00:00Z (exclusive): later event times are rejected as out of range.
pub const MAX_EVENT_TIME: Millis = 4_102_444_800_000;

pub const SECOND: Millis = 1_000;
pub const MINUTE: Millis = 60 * SECOND;
pub const HOUR: Millis = 60 * MINUTE;
pub const DAY: Millis = 24 * HOUR;

/// Parses an RFC 3339 timestamp (any offset) to epoch milliseconds, truncating
/// sub-millisecond digits.
pub fn parse_rfc3339(s: &str) -> Option<Millis> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.timestamp_millis())
}

/// Formats epoch milliseconds as RFC 3339 UTC (`Z`), with fractional seconds
/// only when they are not zero.
pub fn format_rfc3339(ms: Millis) -> String {
    match DateTime::<Utc>::from_timestamp_millis(ms) {
        Some(t) => t.to_rfc3339_opts(SecondsFormat::AutoSi, true),
        None => ms.to_string(),
    }
}

/// Whether `ms` lies in the accepted event-time range [2000-01-01, 2100-01-01).
pub fn in_event_range(ms: Millis) -> bool {
    (MIN_EVENT_TIME..MAX_EVENT_TIME).contains(&ms)
}

/// Serde helper: a `Millis` field written as an RFC 3339 string.
pub fn serialize_rfc3339<S: serde::Serializer>(ms: &Millis, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_rfc3339(*ms))
}

/// Serde helper: an optional `Millis` written as an RFC 3339 string or null.
pub fn serialize_rfc3339_opt<S: serde::Serializer>(
    ms: &Option<Millis>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match ms {
        Some(ms) => serialize_rfc3339(ms, s),
        None => s.serialize_none(),
    }
}

/// Serde helpers for a duration in configuration: written `"250ms"`,
/// `"100s"`, `"5m"` (humantime) or as a number of milliseconds; serialized
/// as milliseconds.
pub mod duration {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::Millis;

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Written {
        Millis(Millis),
        Text(String),
    }

    fn parse<E: serde::de::Error>(w: Written) -> Result<Millis, E> {
        match w {
            Written::Millis(ms) if ms >= 0 => Ok(ms),
            Written::Millis(ms) => Err(E::custom(format!("{ms} ms is negative"))),
            Written::Text(s) => humantime::parse_duration(&s)
                .map_err(|e| {
                    E::custom(format!(
                        "{s:?} is not a duration ({e}); write e.g. \"250ms\", \"100s\", \"5m\""
                    ))
                })
                .and_then(|d| {
                    Millis::try_from(d.as_millis()).map_err(|_| E::custom("duration too long"))
                }),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Millis, D::Error> {
        parse(Written::deserialize(d)?)
    }

    pub fn serialize<S: Serializer>(ms: &Millis, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(*ms)
    }

    /// An optional duration; `"off"` is `None`.
    pub mod option {
        use super::*;

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Millis>, D::Error> {
            match Written::deserialize(d)? {
                Written::Text(s) if s == "off" => Ok(None),
                w => parse(w).map(Some),
            }
        }

        pub fn serialize<S: Serializer>(ms: &Option<Millis>, s: S) -> Result<S::Ok, S::Error> {
            match ms {
                Some(ms) => s.serialize_i64(*ms),
                None => s.serialize_none(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_offsets_and_fractions() {
        assert_eq!(
            parse_rfc3339("2026-11-28T14:00:00Z"),
            Some(1_795_874_400_000)
        );
        assert_eq!(
            parse_rfc3339("2026-11-28T15:00:00.250+01:00"),
            Some(1_795_874_400_250)
        );
        assert_eq!(
            parse_rfc3339("2026-11-28T14:00:00.123999Z"),
            Some(1_795_874_400_123)
        );
        assert_eq!(parse_rfc3339("2026-11-28 14:00"), None);
        assert_eq!(parse_rfc3339(""), None);
    }

    #[test]
    fn formats_round_trip() {
        assert_eq!(format_rfc3339(1_795_874_400_000), "2026-11-28T14:00:00Z");
        assert_eq!(
            format_rfc3339(1_795_874_400_250),
            "2026-11-28T14:00:00.250Z"
        );
    }

    #[test]
    fn range_bounds() {
        assert!(in_event_range(MIN_EVENT_TIME));
        assert!(!in_event_range(MIN_EVENT_TIME - 1));
        assert!(!in_event_range(MAX_EVENT_TIME));
    }
}
