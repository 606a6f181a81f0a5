//! Click events as the exact JSON bytes of the wire contract (docs/events.md),
//! written by hand for speed; a test checks every record decodes to the same
//! event through the pipeline's decoder.

use pipeline::Millis;
use pipeline::time::format_rfc3339;

use pipeline::EventType;

/// What one event says; strings are borrowed from the simulator's tables.
#[derive(Clone, Copy, Debug)]
pub struct WireEvent<'a> {
    pub event_id: u64,
    pub event_type: EventType,
    pub event_time: Millis,
    pub session_id: u64,
    pub product_id: &'a str,
    pub user_id: Option<u32>,
    /// In cents.
    pub price_cents: u64,
    pub referrer: &'a str,
    pub campaign: Option<&'a str>,
}

/// How to damage a record (fault injection); `Intact` is the contract.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    Intact,
    /// Without `session_id` (→ `missing_field`).
    NoSession,
    /// `price` as a string (→ `bad_value`).
    PriceAsString,
    /// Padded with an unknown field past 64 KiB (→ `oversize`).
    Oversize,
}

/// Padding of an oversize record: larger than the core's default 64 KiB limit.
pub const OVERSIZE_PADDING: usize = 70_000;

/// Formats timestamps, reusing the `YYYY-MM-DDTHH:MM:` prefix within a minute.
#[derive(Debug, Default)]
pub struct Encoder {
    minute: Option<Millis>,
    prefix: String,
}

impl Encoder {
    pub fn new() -> Encoder {
        Encoder::default()
    }

    /// Appends `ev` as one JSON object (no newline) to `out`.
    pub fn encode(&mut self, ev: &WireEvent<'_>, out: &mut Vec<u8>) {
        self.encode_variant(ev, Variant::Intact, out);
    }

    /// Appends `ev`, damaged as `variant` says.
    pub fn encode_variant(&mut self, ev: &WireEvent<'_>, variant: Variant, out: &mut Vec<u8>) {
        let mut ints = itoa::Buffer::new();
        out.extend_from_slice(b"{\"event_id\":\"e");
        out.extend_from_slice(ints.format(ev.event_id).as_bytes());
        out.extend_from_slice(b"\",\"event_type\":\"");
        out.extend_from_slice(ev.event_type.as_str().as_bytes());
        out.extend_from_slice(b"\",\"event_time\":\"");
        self.time(ev.event_time, out);
        if variant != Variant::NoSession {
            out.extend_from_slice(b"\",\"session_id\":\"s");
            out.extend_from_slice(ints.format(ev.session_id).as_bytes());
        }
        out.extend_from_slice(b"\",\"product_id\":\"");
        out.extend_from_slice(ev.product_id.as_bytes());
        out.push(b'"');
        if let Some(u) = ev.user_id {
            out.extend_from_slice(b",\"user_id\":\"u");
            out.extend_from_slice(ints.format(u).as_bytes());
            out.push(b'"');
        }
        let quote: &[u8] = if variant == Variant::PriceAsString {
            b"\""
        } else {
            b""
        };
        out.extend_from_slice(b",\"price\":");
        out.extend_from_slice(quote);
        out.extend_from_slice(ints.format(ev.price_cents / 100).as_bytes());
        let c = ev.price_cents % 100;
        out.extend_from_slice(&[b'.', b'0' + (c / 10) as u8, b'0' + (c % 10) as u8]);
        out.extend_from_slice(quote);
        out.extend_from_slice(b",\"referrer\":\"");
        out.extend_from_slice(ev.referrer.as_bytes());
        out.push(b'"');
        if let Some(c) = ev.campaign {
            out.extend_from_slice(b",\"campaign\":\"");
            out.extend_from_slice(c.as_bytes());
            out.push(b'"');
        }
        if variant == Variant::Oversize {
            out.extend_from_slice(b",\"note\":\"");
            out.resize(out.len() + OVERSIZE_PADDING, b'x');
            out.push(b'"');
        }
        out.push(b'}');
    }

    fn time(&mut self, t: Millis, out: &mut Vec<u8>) {
        let minute = t.div_euclid(60_000);
        if self.minute != Some(minute) {
            let full = format_rfc3339(minute * 60_000);
            // "YYYY-MM-DDTHH:MM:SSZ" → keep "YYYY-MM-DDTHH:MM:".
            self.prefix = full[..full.len().min(17)].to_string();
            self.minute = Some(minute);
        }
        out.extend_from_slice(self.prefix.as_bytes());
        let ms = t.rem_euclid(60_000) as u32;
        let (s, frac) = (ms / 1000, ms % 1000);
        out.extend_from_slice(&[
            b'0' + (s / 10) as u8,
            b'0' + (s % 10) as u8,
            b'.',
            b'0' + (frac / 100) as u8,
            b'0' + (frac / 10 % 10) as u8,
            b'0' + (frac % 10) as u8,
            b'Z',
        ]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_events_decode_to_the_same_event() {
        let mut enc = Encoder::new();
        for (i, t) in [
            1_795_874_400_000i64,
            1_795_874_400_001,
            1_795_874_459_999,
            1_795_960_800_250,
        ]
        .into_iter()
        .enumerate()
        {
            let ev = WireEvent {
                event_id: 42 + i as u64,
                event_type: EventType::ALL[i % 5],
                event_time: t,
                session_id: 7,
                product_id: "sku-0042",
                user_id: (i % 2 == 0).then_some(9),
                price_cents: 12_905 + i as u64,
                referrer: "instagram",
                campaign: (i == 1).then_some("winter-launch"),
            };
            let mut out = Vec::new();
            enc.encode(&ev, &mut out);
            let d = pipeline::decode(&out).unwrap();
            assert_eq!(d.event_id, format!("e{}", 42 + i));
            assert_eq!(d.event_type, ev.event_type);
            assert_eq!(d.event_time, t);
            assert_eq!(d.session_id, "s7");
            assert_eq!(d.product_id, "sku-0042");
            assert_eq!(d.user_id.as_deref(), (i % 2 == 0).then_some("u9"));
            assert_eq!(d.price, (12_905 + i) as f64 / 100.0);
            assert_eq!(d.campaign.as_deref(), (i == 1).then_some("winter-launch"));
        }
    }

    #[test]
    fn variants_are_rejected_for_the_intended_reason() {
        use pipeline::Reason;
        let ev = WireEvent {
            event_id: 1,
            event_type: EventType::View,
            event_time: 1_795_874_400_000,
            session_id: 7,
            product_id: "sku-0001",
            user_id: None,
            price_cents: 9_999,
            referrer: "search",
            campaign: None,
        };
        let encode = |v| {
            let mut out = Vec::new();
            Encoder::new().encode_variant(&ev, v, &mut out);
            out
        };
        let reason = |v| pipeline::decode(&encode(v)).err().map(|r| r.reason);
        assert_eq!(reason(Variant::Intact), None);
        assert_eq!(reason(Variant::NoSession), Some(Reason::MissingField));
        assert_eq!(reason(Variant::PriceAsString), Some(Reason::BadValue));
        let big = encode(Variant::Oversize);
        assert!(big.len() > 64 * 1024);
        assert!(pipeline::decode(&big).is_ok(), "valid JSON, only too large");
    }
}
