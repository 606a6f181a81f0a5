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

/// [`format_rfc3339`]`(ms)` as the first `len` bytes of an array, for the
/// years 1970–9999 (a feature record writes two per record; chrono's
/// formatter cost ten times as much); `None` for others.
pub fn rfc3339_fixed(ms: Millis) -> Option<([u8; 24], usize)> {
    const YEAR_10000: Millis = 253_402_300_800_000;
    if !(0..YEAR_10000).contains(&ms) {
        return None;
    }
    let (year, month, day) = civil_from_days(ms / DAY);
    let rem = ms % DAY;
    let two = |v: Millis| [b'0' + (v / 10) as u8, b'0' + (v % 10) as u8];
    let [y0, y1] = two(year / 100);
    let [y2, y3] = two(year % 100);
    let [mo0, mo1] = two(month);
    let [d0, d1] = two(day);
    let [h0, h1] = two(rem / HOUR);
    let [mi0, mi1] = two(rem / MINUTE % 60);
    let [s0, s1] = two(rem / SECOND % 60);
    let frac = rem % SECOND;
    let [f1, f2] = two(frac % 100);
    let bytes = [
        y0,
        y1,
        y2,
        y3,
        b'-',
        mo0,
        mo1,
        b'-',
        d0,
        d1,
        b'T',
        h0,
        h1,
        b':',
        mi0,
        mi1,
        b':',
        s0,
        s1,
        b'.',
        b'0' + (frac / 100) as u8,
        f1,
        f2,
        b'Z',
    ];
    if frac != 0 {
        Some((bytes, 24))
    } else {
        let mut whole = bytes;
        whole[19] = b'Z';
        Some((whole, 20))
    }
}

/// The inverse of [`days_from_civil`] (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// algorithm).
pub(crate) fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
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
    use proptest::prelude::*;

    /// What the feature writer writes for a time.
    fn fixed_or_chrono(ms: Millis) -> String {
        match rfc3339_fixed(ms) {
            Some((bytes, len)) => String::from_utf8(bytes[..len].to_vec()).unwrap(),
            None => format_rfc3339(ms),
        }
    }

    proptest! {
        #[test]
        fn rfc3339_fixed_is_format_rfc3339(
            ms in prop_oneof![
                0i64..253_402_300_800_000,
                MIN_EVENT_TIME..MAX_EVENT_TIME,
                (0i64..2_000_000).prop_map(|d| d * DAY),
                any::<i64>(),
            ]
        ) {
            prop_assert_eq!(fixed_or_chrono(ms), format_rfc3339(ms));
            prop_assert_eq!(rfc3339_fixed(ms).is_some(), (0..253_402_300_800_000).contains(&ms));
        }
    }

    #[test]
    fn rfc3339_fixed_at_the_edges() {
        for ms in [
            0,
            1,
            999,
            1_000,
            59_999,
            DAY - 1,
            951_782_400_000,
            253_402_300_799_999,
            253_402_300_800_000,
            -1,
        ] {
            assert_eq!(fixed_or_chrono(ms), format_rfc3339(ms), "{ms}");
        }
    }

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
