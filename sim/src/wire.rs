//! Click events as the exact JSON bytes of the wire contract (docs/events.md),
//! written by hand for speed; a test checks every record decodes to the same
//! event through the pipeline's decoder.

use pipeline::Millis;
use pipeline::sized_writer::{RecordBuf, SizedWriter};
use pipeline::time::format_rfc3339;

use pipeline::EventType;

/// What one event says; strings are borrowed from the simulator's tables.
#[derive(Clone, Copy, Debug)]
pub struct WireEvent<'a> {
    pub event_id: u64,
    pub event_type: EventType,
    pub event_time: Millis,
    pub shopper: &'a Shopper,
    pub product_id: &'a str,
    /// In cents.
    pub price_cents: u64,
    pub source: &'a Source,
}

/// Who an event is from: the session and its logged-in user, with their
/// text (`,"session_id":"s…` and `,"user_id":"u…`, each closed by the next
/// field's text) written once per session, not per event: formatted per
/// event, their digits were stored a pair at a time and read back as wider
/// words, a stall the CPU cannot forward around.
#[derive(Clone, Debug)]
pub struct Shopper {
    session_id: u64,
    user_id: Option<u32>,
    session_text: ([u8; 48], usize),
    /// Empty without a user.
    user_text: ([u8; 32], usize),
}

const SESSION_KEY: &[u8] = b"\",\"session_id\":\"s";
const USER_KEY: &[u8] = b"\",\"user_id\":\"u";

impl Shopper {
    pub fn new(session_id: u64, user_id: Option<u32>) -> Shopper {
        let mut shopper = Shopper {
            session_id,
            user_id,
            session_text: ([0; 48], 0),
            user_text: ([0; 32], 0),
        };
        shopper.session_text.0[..SESSION_KEY.len()].copy_from_slice(SESSION_KEY);
        shopper.user_text.0[..USER_KEY.len()].copy_from_slice(USER_KEY);
        shopper.set(session_id, user_id);
        shopper
    }

    pub fn session_id(&self) -> u64 {
        self.session_id
    }

    pub fn user_id(&self) -> Option<u32> {
        self.user_id
    }

    /// Makes this the shopper of another session, in place (the keys' text stays).
    pub fn set(&mut self, session_id: u64, user_id: Option<u32>) {
        self.session_id = session_id;
        self.user_id = user_id;
        // Both fit their padding: 17 + 20 digits, 14 + 10 digits. Written
        // by the sized writer: a short copy of a size not known in advance
        // is a `memcpy` call otherwise.
        let (text, len) = &mut self.session_text;
        let mut w = SizedWriter::new(&mut text[SESSION_KEY.len()..]);
        w.uint(session_id);
        *len = SESSION_KEY.len() + w.written();
        let (text, len) = &mut self.user_text;
        *len = match user_id {
            Some(u) => {
                let mut w = SizedWriter::new(&mut text[USER_KEY.len()..]);
                w.uint(u64::from(u));
                USER_KEY.len() + w.written()
            }
            None => 0,
        };
    }
}

/// Where a session came from: its referrer and campaign, and the text a
/// record of it ends with (`,"referrer":"…","campaign":"…"`), written once
/// and copied as one fixed-size piece: written piece by piece, its
/// referrer's length class and the campaign's presence were guesses the CPU
/// often got wrong.
#[derive(Clone, Debug)]
pub struct Source {
    pub referrer: String,
    pub campaign: Option<String>,
    /// The text, padded; `None` when longer than the padding.
    tail: Option<Padded64>,
}

/// A piece padded for a fixed-size copy of 64 bytes.
type Padded64 = ([u8; 64], usize);

impl Source {
    pub fn new(referrer: &str, campaign: Option<&str>) -> Source {
        let mut text = format!(",\"referrer\":\"{referrer}");
        if let Some(c) = campaign {
            text.push_str(&format!("\",\"campaign\":\"{c}"));
        }
        text.push('"');
        let tail = (text.len() <= 64).then(|| {
            let mut padded = [0; 64];
            padded[..text.len()].copy_from_slice(text.as_bytes());
            (padded, text.len())
        });
        Source {
            referrer: referrer.to_string(),
            campaign: campaign.map(str::to_string),
            tail,
        }
    }
}

/// Per event type (in [`EventType::ALL`]'s order), the text between the
/// id and the time, padded for one fixed-size copy.
const TYPE_TEXTS: [([u8; 48], usize); 5] = {
    let mut texts = [([0; 48], 0); 5];
    let mut i = 0;
    while i < 5 {
        let name = EventType::ALL[i].as_str().as_bytes();
        texts[i] = append_text(texts[i], b"\",\"event_type\":\"");
        texts[i] = append_text(texts[i], name);
        texts[i] = append_text(texts[i], b"\",\"event_time\":\"");
        i += 1;
    }
    texts
};

/// `piece` after the `len` bytes of `text` (a `const` concatenation).
const fn append_text<const N: usize>(mut text: ([u8; N], usize), piece: &[u8]) -> ([u8; N], usize) {
    let mut k = 0;
    while k < piece.len() {
        text.0[text.1 + k] = piece[k];
        k += 1;
    }
    text.1 += piece.len();
    text
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

/// Writes records, keeping what repeats from one to the next: the
/// `YYYY-MM-DDTHH:MM:` prefix within a minute, the last event id's digits
/// (ids mostly count up by one, so the text is bumped in place) and the text
/// of recent prices.
#[derive(Debug)]
pub struct Encoder {
    /// The start of the minute `prefix` is of.
    minute: Option<Millis>,
    prefix: [u8; 17],
    id: Option<u64>,
    id_text: Padded,
    prices: Box<[PriceText; PRICE_SLOTS]>,
}

/// A number's text padded for a fixed-size copy (`u64::MAX` has 20 digits).
type Padded = ([u8; 24], usize);

/// A price's text by its cents, in a direct-mapped table.
#[derive(Clone, Copy, Debug)]
struct PriceText {
    cents: u64,
    text: Padded,
}

/// Slots of the price table: the shop's live prices, with room.
const PRICE_SLOTS: usize = 1024;

/// Bytes of a record besides its strings: at most 246 (keys and quotes,
/// the longest event type, four numbers at their widest, the time), and
/// room for the padding of a fixed-size copy (at most 64 bytes).
const FIXED_BOUND: usize = 320;

impl Default for Encoder {
    fn default() -> Encoder {
        let mut zero = [0; 24];
        zero[..4].copy_from_slice(b"0.00");
        Encoder {
            minute: None,
            prefix: [0; 17],
            id: None,
            id_text: ([0; 24], 0),
            prices: Box::new(
                [PriceText {
                    cents: 0,
                    text: (zero, 4),
                }; PRICE_SLOTS],
            ),
        }
    }
}

impl Encoder {
    pub fn new() -> Encoder {
        Encoder::default()
    }

    /// Appends `ev` as one JSON object (no newline) to `out`.
    pub fn encode(&mut self, ev: &WireEvent<'_>, out: &mut RecordBuf) {
        self.encode_variant(ev, Variant::Intact, out);
    }

    /// Appends `ev`, damaged as `variant` says.
    pub fn encode_variant(&mut self, ev: &WireEvent<'_>, variant: Variant, out: &mut RecordBuf) {
        let source = ev.source;
        let strings = ev.product_id.len()
            + source.referrer.len()
            + source.campaign.as_ref().map_or(0, String::len);
        out.append_sized(FIXED_BOUND + strings, |w| self.write(ev, variant, w));
        if variant == Variant::Oversize {
            out.append_sized(16, |w| w.put(b",\"note\":\""));
            out.fill(b'x', OVERSIZE_PADDING);
            out.push(b'"');
        }
        out.push(b'}');
    }

    /// Everything but the oversize padding and the closing brace.
    #[inline]
    fn write(&mut self, ev: &WireEvent<'_>, variant: Variant, w: &mut SizedWriter<'_>) {
        w.put(b"{\"event_id\":\"e");
        self.write_id(ev.event_id, w);
        let (text, len) = &TYPE_TEXTS[ev.event_type.index()];
        w.put_padded(text, *len);
        self.time(ev.event_time, w);
        let shopper = ev.shopper;
        if variant != Variant::NoSession {
            let (text, len) = &shopper.session_text;
            w.put_padded(text, *len);
        }
        w.put(b"\",\"product_id\":\"");
        w.put(ev.product_id.as_bytes());
        let (text, len) = &shopper.user_text;
        w.put_padded(text, *len);
        if variant == Variant::PriceAsString {
            w.put(b"\",\"price\":\"");
        } else {
            w.put(b"\",\"price\":");
        }
        let (price, len) = self.price_text(ev.price_cents);
        w.put_padded(price, len);
        if variant == Variant::PriceAsString {
            w.put(b"\"");
        }
        match &ev.source.tail {
            Some((text, len)) => w.put_padded(text, *len),
            None => {
                w.put(b",\"referrer\":\"");
                w.put(ev.source.referrer.as_bytes());
                if let Some(c) = &ev.source.campaign {
                    w.put(b"\",\"campaign\":\"");
                    w.put(c.as_bytes());
                }
                w.put(b"\"");
            }
        }
    }

    /// The digits of `id`: the last id's, bumped when `id` is the next one
    /// and they do not end in 9 (nine times in ten); formatted otherwise.
    /// The kept digits are copied out before the bump (a wide copy right
    /// after a one-byte change would wait on it) and the bump made in the
    /// copy too.
    #[inline]
    fn write_id(&mut self, id: u64, w: &mut SizedWriter<'_>) {
        let (text, len) = &mut self.id_text;
        let next = self.id.and_then(|last| last.checked_add(1)) == Some(id);
        if next && *len > 0 && text[*len - 1] != b'9' {
            w.put_padded(text, *len);
            text[*len - 1] += 1;
            if let Some(last) = w.last_mut() {
                *last = text[*len - 1];
            }
        } else {
            if self.id != Some(id) {
                let mut digits = itoa::Buffer::new();
                let s = digits.format(id).as_bytes();
                text[..s.len()].copy_from_slice(s);
                *len = s.len();
            }
            w.put_padded(text, *len);
        }
        self.id = Some(id);
    }

    /// `cents` as `units.cc`, from the table when written recently.
    #[inline]
    fn price_text(&mut self, cents: u64) -> (&[u8; 24], usize) {
        let slot = (cents.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 54) as usize;
        let entry = &mut self.prices[slot];
        if entry.cents != cents {
            let mut digits = itoa::Buffer::new();
            let whole = digits.format(cents / 100).as_bytes();
            let n = whole.len();
            let c = (cents % 100) as u8;
            entry.text.0[..n].copy_from_slice(whole);
            entry.text.0[n..n + 3].copy_from_slice(&[b'.', b'0' + c / 10, b'0' + c % 10]);
            entry.text.1 = n + 3;
            entry.cents = cents;
        }
        (&entry.text.0, entry.text.1)
    }

    fn time(&mut self, t: Millis, w: &mut SizedWriter<'_>) {
        let within = |start: Millis| t.checked_sub(start).filter(|ms| (0..60_000).contains(ms));
        let ms = match self.minute.and_then(within) {
            Some(ms) => ms,
            None => {
                let start = t.div_euclid(60_000) * 60_000;
                let full = format_rfc3339(start);
                // "YYYY-MM-DDTHH:MM:SSZ" → keep "YYYY-MM-DDTHH:MM:".
                let head = &full.as_bytes()[..full.len().min(17)];
                self.prefix = [b'0'; 17];
                self.prefix[..head.len()].copy_from_slice(head);
                self.minute = Some(start);
                t - start
            }
        } as usize;
        w.put(&self.prefix);
        // `SS.mmmZ` from two tables, put together in a register and stored
        // at once: built a byte at a time on the stack and copied, the copy
        // waited for the byte stores (the encoder's largest single cost).
        let text = u64::from(SECONDS_TEXT[ms / 1000])
            | u64::from(MILLIS_TEXT[ms % 1000]) << 16
            | u64::from(b'Z') << 48;
        w.put_padded(&text.to_le_bytes(), 7);
    }
}

/// `SS` for each second of a minute, in memory order.
const SECONDS_TEXT: [u16; 60] = {
    let mut texts = [0; 60];
    let mut s = 0;
    while s < 60 {
        texts[s] = u16::from_le_bytes([b'0' + (s / 10) as u8, b'0' + (s % 10) as u8]);
        s += 1;
    }
    texts
};

/// `.mmm` for each millisecond of a second, in memory order.
const MILLIS_TEXT: [u32; 1000] = {
    let mut texts = [0; 1000];
    let mut m = 0;
    while m < 1000 {
        let (a, b, c) = (m / 100, m / 10 % 10, m % 10);
        texts[m] = u32::from_le_bytes([b'.', b'0' + a as u8, b'0' + b as u8, b'0' + c as u8]);
        m += 1;
    }
    texts
};

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
                shopper: &Shopper::new(7, (i % 2 == 0).then_some(9)),
                product_id: "sku-0042",
                price_cents: 12_905 + i as u64,
                source: &Source::new("instagram", (i == 1).then_some("winter-launch")),
            };
            let mut out = RecordBuf::default();
            enc.encode(&ev, &mut out);
            let d = pipeline::decode(out.as_bytes()).unwrap();
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
            shopper: &Shopper::new(7, None),
            product_id: "sku-0001",
            price_cents: 9_999,
            source: &Source::new("search", None),
        };
        let encode = |v| {
            let mut out = RecordBuf::default();
            Encoder::new().encode_variant(&ev, v, &mut out);
            out.as_bytes().to_vec()
        };
        let reason = |v| pipeline::decode(&encode(v)).err().map(|r| r.reason);
        assert_eq!(reason(Variant::Intact), None);
        assert_eq!(reason(Variant::NoSession), Some(Reason::MissingField));
        assert_eq!(reason(Variant::PriceAsString), Some(Reason::BadValue));
        let big = encode(Variant::Oversize);
        assert!(big.len() > 64 * 1024);
        assert!(pipeline::decode(&big).is_ok(), "valid JSON, only too large");
    }

    /// The record the contract describes: its fields in order, each value
    /// written by serde_json (the price as its plain decimal text).
    fn reference(ev: &WireEvent<'_>, variant: Variant) -> String {
        let text = |s: &str| serde_json::to_string(s).expect("a string serializes");
        let time = format_rfc3339(ev.event_time);
        let time = format!("{}.{:03}Z", &time[..19], ev.event_time.rem_euclid(1000));
        let price = format!("{}.{:02}", ev.price_cents / 100, ev.price_cents % 100);
        let mut fields = vec![
            ("event_id", text(&format!("e{}", ev.event_id))),
            ("event_type", text(ev.event_type.as_str())),
            ("event_time", text(&time)),
        ];
        if variant != Variant::NoSession {
            fields.push(("session_id", text(&format!("s{}", ev.shopper.session_id()))));
        }
        fields.push(("product_id", text(ev.product_id)));
        if let Some(u) = ev.shopper.user_id() {
            fields.push(("user_id", text(&format!("u{u}"))));
        }
        if variant == Variant::PriceAsString {
            fields.push(("price", text(&price)));
        } else {
            fields.push(("price", price));
        }
        fields.push(("referrer", text(&ev.source.referrer)));
        if let Some(c) = &ev.source.campaign {
            fields.push(("campaign", text(c)));
        }
        if variant == Variant::Oversize {
            fields.push(("note", text(&"x".repeat(OVERSIZE_PADDING))));
        }
        let body: Vec<String> = fields.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
        format!("{{{}}}", body.join(","))
    }

    proptest::proptest! {
        /// Any numbers (up to their widest), any strings that need no
        /// escaping, every variant: the bytes are exactly that JSON object,
        /// in the contract's key order, appended after what was there.
        #[test]
        fn encoding_is_the_contract_object(
            event_id: u64, session_id: u64, user_id: Option<u32>, price_cents: u64,
            kind in 0usize..5, variant in 0usize..4,
            t in 0i64..253_402_300_799_999,
            product_id in "[a-z0-9-]{0,80}", referrer in "[a-z]{0,40}",
            campaign in proptest::option::of("[a-z0-9-]{0,60}"),
            before in proptest::collection::vec(proptest::num::u8::ANY, 0..8),
        ) {
            let ev = WireEvent {
                event_id,
                event_type: EventType::ALL[kind],
                event_time: t,
                shopper: &Shopper::new(session_id, user_id),
                product_id: &product_id,
                price_cents,
                source: &Source::new(&referrer, campaign.as_deref()),
            };
            let variant = [Variant::Intact, Variant::NoSession, Variant::PriceAsString, Variant::Oversize][variant];
            let mut out = RecordBuf::default();
            for &b in &before {
                out.push(b);
            }
            let mut enc = Encoder::new();
            enc.encode_variant(&ev, variant, &mut out);
            let out = out.as_bytes();
            proptest::prop_assert_eq!(&out[..before.len()], &before[..]);
            let got = std::str::from_utf8(&out[before.len()..]).expect("UTF-8");
            proptest::prop_assert_eq!(got, reference(&ev, variant));
            proptest::prop_assert!(serde_json::from_str::<serde_json::Value>(got).is_ok());
        }

        /// One encoder over many records, as the simulator uses it: ids that
        /// mostly count up by one (across 9 → 10, 99 → 100), jump, repeat or
        /// go back; prices from a small set (found in the table) and any
        /// others (taking their slots); one shopper set again and again to
        /// ids of any length, with a user or without: every record is still
        /// exactly the contract object of its own event.
        #[test]
        fn a_reused_encoder_writes_each_record_from_its_own_event(
            first in 0u64..2_000,
            steps in proptest::collection::vec((0u8..8, 0usize..6, proptest::num::u64::ANY), 1..120),
        ) {
            let mut enc = Encoder::new();
            let mut id = first;
            let mut out = RecordBuf::default();
            let mut shopper = Shopper::new(u64::MAX, Some(u32::MAX));
            for (i, &(step, price, any)) in steps.iter().enumerate() {
                let user = (i % 3 == 0).then_some((any >> 32) as u32 >> (i % 32));
                shopper.set(any >> (any % 64), user);
                id = match step {
                    0 => any,
                    1 => id,
                    2 => id.saturating_sub(3),
                    3 => u64::MAX - u64::from(any % 3 == 0),
                    _ => id.wrapping_add(1),
                };
                let price_cents = [0, 9_999, 10_000, 12_905, 19_799, any][price];
                let ev = WireEvent {
                    event_id: id,
                    event_type: EventType::ALL[i % 5],
                    event_time: 1_795_874_400_000 + i as i64 * 37_001,
                    shopper: &shopper,
                    product_id: "sku-0042",
                    price_cents,
                    source: &Source::new("search", None),
                };
                out.clear();
                enc.encode(&ev, &mut out);
                let got = std::str::from_utf8(out.as_bytes()).expect("UTF-8");
                proptest::prop_assert_eq!(got, reference(&ev, Variant::Intact));
            }
        }
    }
}
