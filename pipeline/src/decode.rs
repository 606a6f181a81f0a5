//! Bytes → validated [`ClickEvent`], or a [`Rejection`] with a reason code.
//!
//! The usual shape is read in one pass by a schema-specific scanner
//! (`fast`), which never rejects: anything it does not recognise goes the
//! general way. There the JSON is walked once with a hand-written serde
//! visitor that accepts any value type per known field, so a wrong type is
//! reported as `bad_value` naming the field instead of surfacing as a
//! generic serde error.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::error::Category;

use crate::dead_letter::Reason;
use crate::event::{ClickEvent, EventType};
use crate::time::{Millis, format_rfc3339, in_event_range, parse_rfc3339};

/// Upper bound for `price`; anything above is a unit or encoding error upstream.
pub const MAX_PRICE: f64 = 1e9;

/// Why a record was not decoded: a reason code and a human-readable detail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    pub reason: Reason,
    pub detail: String,
}

impl Rejection {
    pub fn new(reason: Reason, detail: impl Into<String>) -> Self {
        Rejection {
            reason,
            detail: detail.into(),
        }
    }
}

mod fast;

pub use fast::Layout;

/// Decodes one record (one JSON object) into a validated click event: the
/// usual shape in one pass (the `fast` module), anything else through serde.
pub fn decode(bytes: &[u8]) -> Result<ClickEvent<'_>, Rejection> {
    match fast::decode(bytes) {
        Some(event) => Ok(event),
        None => decode_general(bytes),
    }
}

/// The general path: any JSON, every rejection with its reason and detail.
pub fn decode_general(bytes: &[u8]) -> Result<ClickEvent<'_>, Rejection> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let raw = de.deserialize_map(EventVisitor).map_err(json_rejection)?;
    de.end().map_err(json_rejection)?;
    raw.validate()
}

fn json_rejection(e: serde_json::Error) -> Rejection {
    match e.classify() {
        // Only the top level can fail with a data error: every field accepts any value.
        Category::Data => Rejection::new(Reason::BadValue, e.to_string()),
        Category::Syntax | Category::Eof | Category::Io => {
            Rejection::new(Reason::MalformedJson, e.to_string())
        }
    }
}

/// The fields the decoder knows, in the order they are checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    EventId,
    EventType,
    EventTime,
    SessionId,
    ProductId,
    Price,
    Referrer,
    UserId,
    Campaign,
    Unknown,
}

/// Required fields first: they are checked in this order.
const KNOWN: [Field; 9] = [
    Field::EventId,
    Field::EventType,
    Field::EventTime,
    Field::SessionId,
    Field::ProductId,
    Field::Price,
    Field::Referrer,
    Field::UserId,
    Field::Campaign,
];

/// Fields that must be present and not null: all but `user_id` and `campaign`.
const REQUIRED: &[Field] = KNOWN.split_at(7).0;

impl Field {
    fn name(self) -> &'static str {
        match self {
            Field::EventId => "event_id",
            Field::EventType => "event_type",
            Field::EventTime => "event_time",
            Field::SessionId => "session_id",
            Field::ProductId => "product_id",
            Field::Price => "price",
            Field::Referrer => "referrer",
            Field::UserId => "user_id",
            Field::Campaign => "campaign",
            Field::Unknown => "?",
        }
    }

    fn from_key(key: &str) -> Field {
        KNOWN
            .into_iter()
            .find(|f| f.name() == key)
            .unwrap_or(Field::Unknown)
    }
}

struct FieldVisitor;

impl Visitor<'_> for FieldVisitor {
    type Value = Field;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Field, E> {
        Ok(Field::from_key(v))
    }
}

impl<'de> Deserialize<'de> for Field {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_identifier(FieldVisitor)
    }
}

/// Any JSON value, keeping only what validation needs.
#[derive(Debug)]
enum Val<'de> {
    Str(Cow<'de, str>),
    UInt(u64),
    Int(i64),
    Float(f64),
    Bool,
    Null,
    Array,
    Object,
}

impl Val<'_> {
    fn kind(&self) -> &'static str {
        match self {
            Val::Str(_) => "a string",
            Val::UInt(_) | Val::Int(_) | Val::Float(_) => "a number",
            Val::Bool => "a boolean",
            Val::Null => "null",
            Val::Array => "an array",
            Val::Object => "an object",
        }
    }
}

struct ValVisitor;

impl<'de> Visitor<'de> for ValVisitor {
    type Value = Val<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Val<'de>, E> {
        Ok(Val::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Val<'de>, E> {
        Ok(Val::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Val<'de>, E> {
        Ok(Val::Str(Cow::Owned(v)))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Val<'de>, E> {
        Ok(Val::UInt(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Val<'de>, E> {
        Ok(Val::Int(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Val<'de>, E> {
        Ok(Val::Float(v))
    }
    fn visit_bool<E>(self, _: bool) -> Result<Val<'de>, E> {
        Ok(Val::Bool)
    }
    fn visit_unit<E>(self) -> Result<Val<'de>, E> {
        Ok(Val::Null)
    }
    fn visit_none<E>(self) -> Result<Val<'de>, E> {
        Ok(Val::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Val<'de>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Val::Array)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Val<'de>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Val::Object)
    }
}

impl<'de> Deserialize<'de> for Val<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValVisitor)
    }
}

/// A decoded `event_time`: milliseconds, or a number too large to be one
/// (kept as given, for the detail).
enum EventTime {
    Ms(Millis),
    Beyond(String),
}

impl EventTime {
    /// `exact` is the number as milliseconds when it fits; otherwise it is
    /// shown as the number it was.
    fn from_number(n: impl fmt::Display, exact: Option<Millis>) -> EventTime {
        exact.map_or_else(|| EventTime::Beyond(n.to_string()), EventTime::Ms)
    }
}

/// The known fields of one record, before validation.
#[derive(Default)]
struct RawEvent<'de> {
    values: [Option<Val<'de>>; KNOWN.len()],
    duplicate: Option<Field>,
}

struct EventVisitor;

impl<'de> Visitor<'de> for EventVisitor {
    type Value = RawEvent<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object (one click event)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawEvent<'de>, A::Error> {
        let mut raw = RawEvent::default();
        while let Some(field) = map.next_key::<Field>()? {
            if field == Field::Unknown {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            // serde_json refuses numbers beyond f64 (`1e400`) as a syntax
            // error; it is a bad value of a known field.
            let value = match map.next_value::<Val>() {
                Err(e) if e.to_string().starts_with("number out of range") => {
                    return Err(de::Error::custom(format!(
                        "`{}` is a number beyond the range of a 64-bit float",
                        field.name()
                    )));
                }
                other => other?,
            };
            let slot = &mut raw.values[field as usize];
            if slot.is_some() {
                raw.duplicate.get_or_insert(field);
            } else {
                *slot = Some(value);
            }
        }
        Ok(raw)
    }
}

fn out_of_range(shown: String) -> Rejection {
    Rejection::new(
        Reason::EventTimeOutOfRange,
        format!("`event_time` {shown} is outside [2000-01-01, 2100-01-01)"),
    )
}

fn bad(field: Field, what: impl fmt::Display) -> Rejection {
    Rejection::new(Reason::BadValue, format!("`{}` {what}", field.name()))
}

impl<'de> RawEvent<'de> {
    fn take(&mut self, field: Field) -> Option<Val<'de>> {
        self.values[field as usize].take()
    }

    fn validate(mut self) -> Result<ClickEvent<'de>, Rejection> {
        for &field in REQUIRED {
            match &self.values[field as usize] {
                None => {
                    return Err(Rejection::new(
                        Reason::MissingField,
                        format!("missing field `{}`", field.name()),
                    ));
                }
                Some(Val::Null) => {
                    return Err(Rejection::new(
                        Reason::MissingField,
                        format!("field `{}` is null", field.name()),
                    ));
                }
                Some(_) => {}
            }
        }
        if let Some(field) = self.duplicate {
            return Err(bad(field, "appears more than once"));
        }
        let event_id = self.required_str(Field::EventId)?;
        let event_type = self.required_str(Field::EventType)?;
        let event_type = EventType::parse(&event_type).ok_or_else(|| {
            bad(
                Field::EventType,
                format_args!(
                    "is {event_type:?}; expected one of view, click, add_to_cart, remove_from_cart, purchase"
                ),
            )
        })?;
        let event_time = self.event_time()?;
        let session_id = self.required_str(Field::SessionId)?;
        let product_id = self.required_str(Field::ProductId)?;
        let price = self.price()?;
        let referrer = self.required_str(Field::Referrer)?;
        let user_id = self.optional_str(Field::UserId)?;
        let campaign = self.optional_str(Field::Campaign)?;
        let event_time = match event_time {
            EventTime::Ms(ms) if in_event_range(ms) => ms,
            EventTime::Ms(ms) => return Err(out_of_range(format_rfc3339(ms))),
            EventTime::Beyond(n) => return Err(out_of_range(format!("{n} ms"))),
        };
        Ok(ClickEvent {
            event_id,
            event_type,
            event_time,
            session_id,
            product_id,
            user_id,
            price,
            referrer,
            campaign,
        })
    }

    fn required_str(&mut self, field: Field) -> Result<Cow<'de, str>, Rejection> {
        match self.take(field) {
            Some(Val::Str(s)) if !s.is_empty() => Ok(s),
            Some(Val::Str(_)) => Err(bad(field, "is an empty string")),
            Some(other) => Err(bad(
                field,
                format_args!("is {}, expected a string", other.kind()),
            )),
            None => Err(Rejection::new(
                Reason::MissingField,
                format!("missing field `{}`", field.name()),
            )),
        }
    }

    fn optional_str(&mut self, field: Field) -> Result<Option<Cow<'de, str>>, Rejection> {
        match self.take(field) {
            None | Some(Val::Null) => Ok(None),
            Some(Val::Str(s)) => Ok(Some(s)),
            Some(other) => Err(bad(
                field,
                format_args!("is {}, expected a string or null", other.kind()),
            )),
        }
    }

    fn event_time(&mut self) -> Result<EventTime, Rejection> {
        let field = Field::EventTime;
        match self.take(field) {
            Some(Val::Str(s)) => parse_rfc3339(&s)
                .map(EventTime::Ms)
                .ok_or_else(|| bad(field, format_args!("{s:?} is not an RFC 3339 timestamp"))),
            // Numbers outside the contract's range keep their value for the
            // detail (a cast would clamp 2^64 to i64::MAX).
            Some(Val::UInt(ms)) => Ok(EventTime::from_number(ms, Millis::try_from(ms).ok())),
            Some(Val::Int(ms)) => Ok(EventTime::from_number(ms, Some(ms))),
            Some(Val::Float(ms)) if ms.is_finite() && ms.fract() == 0.0 => {
                let exact = (ms.abs() < 9e18).then_some(ms as Millis);
                Ok(EventTime::from_number(ms, exact))
            }
            Some(Val::Float(ms)) => Err(bad(
                field,
                format_args!("{ms} is not a whole number of epoch milliseconds"),
            )),
            Some(other) => Err(bad(
                field,
                format_args!(
                    "is {}, expected an RFC 3339 string or epoch milliseconds",
                    other.kind()
                ),
            )),
            None => Err(Rejection::new(
                Reason::MissingField,
                "missing field `event_time`",
            )),
        }
    }

    fn price(&mut self) -> Result<f64, Rejection> {
        let field = Field::Price;
        let price = match self.take(field) {
            Some(Val::UInt(v)) => v as f64,
            Some(Val::Int(v)) => v as f64,
            Some(Val::Float(v)) => v,
            Some(other) => {
                return Err(bad(
                    field,
                    format_args!("is {}, expected a number", other.kind()),
                ));
            }
            None => {
                return Err(Rejection::new(
                    Reason::MissingField,
                    "missing field `price`",
                ));
            }
        };
        if price > 0.0 && price <= MAX_PRICE {
            Ok(price)
        } else {
            Err(bad(
                field,
                format_args!("is {price}; expected 0 < price <= {MAX_PRICE}"),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"event_id":"e1","event_type":"view","event_time":"2026-11-28T14:00:00Z","session_id":"s1","product_id":"p1","price":120.5,"referrer":"instagram"}"#;

    fn reason(bytes: &[u8]) -> Reason {
        decode(bytes).unwrap_err().reason
    }

    #[test]
    fn decodes_a_valid_event_borrowing_strings() {
        let ev = decode(GOOD.as_bytes()).unwrap();
        assert_eq!(ev.event_type, EventType::View);
        assert_eq!(ev.event_time, 1_795_874_400_000);
        assert!(matches!(ev.product_id, Cow::Borrowed("p1")));
        assert_eq!(ev.user_id, None);
    }

    #[test]
    fn epoch_millis_and_escapes() {
        let ev = decode(
            br#"{"event_id":"e\u0031","event_type":"click","event_time":1795874400000.0,"session_id":"s","product_id":"p","price":3,"referrer":"direct","campaign":null,"extra":{"a":[1,2]}}"#,
        )
        .unwrap();
        assert_eq!(ev.event_id, "e1");
        assert_eq!(ev.event_time, 1_795_874_400_000);
        assert_eq!(ev.price, 3.0);
    }

    #[test]
    fn each_reason() {
        assert_eq!(reason(b"{"), Reason::MalformedJson);
        assert_eq!(reason(b""), Reason::MalformedJson);
        assert_eq!(reason(&[b'"', 0xff, b'"']), Reason::MalformedJson);
        assert_eq!(
            reason(format!("{GOOD}{GOOD}").as_bytes()),
            Reason::MalformedJson
        );
        assert_eq!(reason(b"[1,2]"), Reason::BadValue);
        assert_eq!(reason(b"{}"), Reason::MissingField);
        let swap = |from: &str, to: &str| GOOD.replace(from, to).into_bytes();
        assert_eq!(
            reason(&swap(r#""price":120.5"#, r#""price":null"#)),
            Reason::MissingField
        );
        assert_eq!(reason(&swap("120.5", "-1")), Reason::BadValue);
        assert_eq!(reason(&swap("120.5", r#""120.5""#)), Reason::BadValue);
        assert_eq!(reason(&swap(r#""view""#, r#""look""#)), Reason::BadValue);
        assert_eq!(reason(&swap(r#""s1""#, r#""""#)), Reason::BadValue);
        assert_eq!(
            reason(&swap("2026-11-28T14:00:00Z", "yesterday")),
            Reason::BadValue
        );
        assert_eq!(
            reason(&swap("2026-11-28T14:00:00Z", "1999-12-31T23:59:59Z")),
            Reason::EventTimeOutOfRange
        );
        assert_eq!(
            reason(&swap(r#""p1","#, r#""p1","product_id":"p2","#)),
            Reason::BadValue
        );
    }

    #[test]
    fn details_name_the_field() {
        let err = decode(GOOD.replace("120.5", "true").as_bytes()).unwrap_err();
        assert_eq!(err.detail, "`price` is a boolean, expected a number");
    }

    #[test]
    fn numbers_beyond_f64_are_bad_values_of_their_field() {
        let err = decode(GOOD.replace("120.5", "1e400").as_bytes()).unwrap_err();
        assert_eq!(err.reason, Reason::BadValue);
        assert!(
            err.detail.starts_with("`price` is a number beyond"),
            "{}",
            err.detail
        );
    }

    #[test]
    fn huge_event_times_are_shown_as_given_not_clamped() {
        let time =
            |t: &str| decode(GOOD.replace(r#""2026-11-28T14:00:00Z""#, t).as_bytes()).unwrap_err();
        for (given, shown) in [
            ("18446744073709551616", "18446744073709552000 ms"),
            ("18446744073709551615", "18446744073709551615 ms"),
            ("-1e19", "-10000000000000000000 ms"),
            ("9223372036854775807", "9223372036854775807"),
        ] {
            let err = time(given);
            assert_eq!(err.reason, Reason::EventTimeOutOfRange, "{given}");
            assert!(err.detail.contains(shown), "{given}: {}", err.detail);
        }
    }
}
