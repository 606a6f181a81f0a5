//! The fast path: one pass over the shape producers send almost always — a
//! flat object of the known fields, strings without escapes, plain numbers,
//! times as `YYYY-MM-DDTHH:MM:SS[.fff]Z`. The keys in the order `ClickEvent`
//! is serialized, without whitespace, are tried first as one fixed sequence
//! (`Layout::compact`); then any order (`Layout::any_order`). It only ever
//! says "this is the event" or "not my shape"; everything else, every error
//! included, is left to the serde path, so reasons and details cannot differ
//! (a differential proptest and the fuzz target compare the two on
//! arbitrary bytes).

use std::borrow::Cow;

use super::MAX_PRICE;
use crate::event::{ClickEvent, EventType, EventView};
use crate::time::{Millis, in_event_range};

mod scalars;

use scalars::{parse_time, parse_time_millis, plain_decimal};

use crate::byte_scan::{is_ascii, string_end};

/// Where the fields of a record of the usual shape lie in its bytes, checked
/// as [`super::decode`] checks them: what a reader that must look at a
/// record before the core does (the replay merge reads its time) keeps, so
/// the core builds the event without a second pass
/// ([`crate::RawRecord::layout`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Layout {
    event_id: Span,
    event_type: EventType,
    event_time: Millis,
    session_id: Span,
    product_id: Span,
    user_id: Option<Span>,
    price: f64,
    referrer: Span,
    campaign: Option<Span>,
}

/// A string field's bytes, without the quotes.
type Span = (u32, u32);

impl Layout {
    /// The layout of `bytes`, if they have the usual shape and are valid;
    /// `None` says "ask the general path", never "invalid".
    pub fn of(bytes: &[u8]) -> Option<Layout> {
        // One check for the whole line: the strings are then slices of it
        // (ASCII, the usual case, is checked 16 bytes at a time).
        if !is_ascii(bytes) {
            simdutf8::basic::from_utf8(bytes).ok()?;
        }
        Layout::scan(bytes)
    }

    /// [`Layout::of`] of bytes known to be UTF-8.
    fn scan(bytes: &[u8]) -> Option<Layout> {
        Layout::compact(bytes).or_else(|| Layout::any_order(bytes))
    }

    /// The layout of the record at the start of `rest` and its length in
    /// bytes, if it is of the commonest form (see [`Layout::compact`]):
    /// what [`Layout::of`] gives for `&rest[..length]`, read without
    /// knowing first where the record ends (a reader then need not search
    /// for the end of the line).
    pub fn of_prefix(rest: &[u8]) -> Option<(usize, Layout)> {
        let (layout, len) = Layout::compact_prefix(rest)?;
        let record = &rest[..len];
        if !is_ascii(record) {
            simdutf8::basic::from_utf8(record).ok()?;
        }
        Some((len, layout))
    }

    /// The commonest form of all: the known keys in [`KEYS`] order, no
    /// whitespace — each key with its punctuation compared as one literal,
    /// nothing looked up. Anything else is for [`Layout::any_order`].
    fn compact(bytes: &[u8]) -> Option<Layout> {
        Layout::compact_prefix(bytes)
            .filter(|&(_, len)| len == bytes.len())
            .map(|(layout, _)| layout)
    }

    /// [`Layout::compact`] of the record at the start of `bytes` (whatever
    /// follows it), and the record's length. A string never runs past a
    /// newline (a control character), nor a number past a non-digit, so
    /// the record is read as it would be on its own.
    fn compact_prefix(bytes: &[u8]) -> Option<(Layout, usize)> {
        // Built as read, not through `Fields` (whose layout, written field
        // by field and copied out in wider words, stalled on the copy).
        let mut p = Cursor { b: bytes, i: 0 };
        p.literal(b"{\"event_id\":")?;
        let event_id = p.raw_string()?;
        p.literal(b",\"event_type\":")?;
        let event_type = p.quoted_event_type()?;
        p.literal(b",\"event_time\":")?;
        let event_time = p.time()?;
        p.literal(b",\"session_id\":")?;
        let session_id = p.raw_string()?;
        p.literal(b",\"product_id\":")?;
        let product_id = p.raw_string()?;
        let user_id = match p.literal(b",\"user_id\":") {
            Some(()) => Some(p.raw_string()?),
            None => None,
        };
        p.literal(b",\"price\":")?;
        let price = p.price()?;
        p.literal(b",\"referrer\":")?;
        let referrer = p.raw_string()?;
        let campaign = match p.literal(b",\"campaign\":") {
            Some(()) => Some(p.raw_string()?),
            None => None,
        };
        p.literal(b"}")?;
        let layout = Layout {
            event_id,
            event_type,
            event_time,
            session_id,
            product_id,
            user_id,
            price,
            referrer,
            campaign,
        };
        Some((layout.checked()?, p.i))
    }

    /// The layout if its values pass the serde path's rules: a time in
    /// range, a price in (0, [`MAX_PRICE`]], the required strings not empty.
    #[inline(always)]
    fn checked(self) -> Option<Layout> {
        let filled = |(a, b): Span| b > a;
        let valid = in_event_range(self.event_time)
            && self.price > 0.0
            && self.price <= MAX_PRICE
            && filled(self.event_id)
            && filled(self.session_id)
            && filled(self.product_id)
            && filled(self.referrer);
        valid.then_some(self)
    }

    /// Known keys in any order, with whitespace anywhere JSON allows it.
    fn any_order(bytes: &[u8]) -> Option<Layout> {
        let mut p = Cursor { b: bytes, i: 0 };
        let mut f = Fields::default();
        p.ws();
        p.eat(b'{')?;
        let mut next_key = 0;
        loop {
            p.ws();
            let key = p.key(next_key)?;
            next_key = key + 1;
            p.ws();
            p.eat(b':')?;
            p.ws();
            match KEYS[key].1 {
                Key::EventId => set(&mut f.event_id, p.raw_string()?)?,
                Key::EventType => {
                    let (a, b) = p.raw_string()?;
                    let name = &bytes[a as usize..b as usize];
                    set(&mut f.event_type, EventType::parse_bytes(name)?)?
                }
                Key::SessionId => set(&mut f.session_id, p.raw_string()?)?,
                Key::ProductId => set(&mut f.product_id, p.raw_string()?)?,
                Key::Referrer => set(&mut f.referrer, p.raw_string()?)?,
                Key::UserId => set(&mut f.user_id, p.raw_string()?)?,
                Key::Campaign => set(&mut f.campaign, p.raw_string()?)?,
                Key::EventTime => set(&mut f.event_time, p.time()?)?,
                Key::Price => set(&mut f.price, p.price()?)?,
            }
            p.ws();
            match p.next()? {
                b',' => continue,
                b'}' => break,
                _ => return None,
            }
        }
        p.ws();
        if p.i != bytes.len() {
            return None;
        }
        f.layout()
    }

    /// The event of `bytes`, the record this layout was read from, as the
    /// core reads it. Its UTF-8 is not checked again: the layout was read
    /// from valid bytes (for other bytes the event is wrong, never unsafe:
    /// `None` where a span does not fit them).
    #[inline(always)] // built in the caller's frame: no copy of the event
    pub fn view<'a>(&self, bytes: &'a [u8]) -> Option<EventView<'a>> {
        let s = |(a, b): Span| bytes.get(a as usize..b as usize);
        Some(EventView {
            event_id: s(self.event_id)?,
            event_type: self.event_type,
            event_time: self.event_time,
            session_id: s(self.session_id)?,
            product_id: s(self.product_id)?,
            price: self.price,
            referrer: s(self.referrer)?,
            has_campaign: self.campaign.is_some_and(|(a, b)| a < b),
        })
    }

    #[inline(always)]
    fn event_in<'a>(&self, line: &'a str) -> Option<ClickEvent<'a>> {
        let s = |(a, b): Span| line.get(a as usize..b as usize).map(Cow::Borrowed);
        Some(ClickEvent {
            event_id: s(self.event_id)?,
            event_type: self.event_type,
            event_time: self.event_time,
            session_id: s(self.session_id)?,
            product_id: s(self.product_id)?,
            user_id: match self.user_id {
                Some(span) => Some(s(span)?),
                None => None,
            },
            price: self.price,
            referrer: s(self.referrer)?,
            campaign: match self.campaign {
                Some(span) => Some(s(span)?),
                None => None,
            },
        })
    }

    pub fn event_time(&self) -> Millis {
        self.event_time
    }

    /// The session id's bytes in the record (UTF-8 where `bytes` are the
    /// record this layout was read from).
    pub fn session_id<'a>(&self, bytes: &'a [u8]) -> Option<&'a [u8]> {
        let (a, b) = self.session_id;
        bytes.get(a as usize..b as usize)
    }
}

/// The known keys, in the order `ClickEvent` is serialized (and the
/// simulator and most producers write them).
const KEYS: [(&[u8], Key); 9] = [
    (b"event_id", Key::EventId),
    (b"event_type", Key::EventType),
    (b"event_time", Key::EventTime),
    (b"session_id", Key::SessionId),
    (b"product_id", Key::ProductId),
    (b"user_id", Key::UserId),
    (b"price", Key::Price),
    (b"referrer", Key::Referrer),
    (b"campaign", Key::Campaign),
];

/// A known key, matched once (not by comparing its name again).
#[derive(Clone, Copy)]
enum Key {
    EventId,
    EventType,
    EventTime,
    SessionId,
    ProductId,
    UserId,
    Price,
    Referrer,
    Campaign,
}

/// `a == b` for a key's length (4 to 16 bytes) as two overlapping word
/// compares each, not a call to `memcmp`.
fn eq_short(a: &[u8], b: &[u8]) -> bool {
    fn word<const N: usize>(s: &[u8], at: usize) -> Option<[u8; N]> {
        s.get(at..at + N)?.try_into().ok()
    }
    let n = a.len();
    n == b.len()
        && match n {
            8..=16 => word::<8>(a, 0) == word(b, 0) && word::<8>(a, n - 8) == word(b, n - 8),
            4..=7 => word::<4>(a, 0) == word(b, 0) && word::<4>(a, n - 4) == word(b, n - 4),
            _ => a == b,
        }
}

/// The event, if `bytes` has the usual shape and is valid; `None` otherwise.
pub(super) fn decode(bytes: &[u8]) -> Option<ClickEvent<'_>> {
    // Validated once: the event's strings are slices of this line.
    let line = simdutf8::basic::from_utf8(bytes).ok()?;
    Layout::scan(bytes)?.event_in(line)
}

/// The known fields as found (each at most once).
#[derive(Default)]
struct Fields {
    event_id: Option<Span>,
    event_type: Option<EventType>,
    event_time: Option<Millis>,
    session_id: Option<Span>,
    product_id: Option<Span>,
    price: Option<f64>,
    referrer: Option<Span>,
    user_id: Option<Span>,
    campaign: Option<Span>,
}

/// A field given twice is for the serde path to report.
fn set<T>(slot: &mut Option<T>, value: T) -> Option<()> {
    if slot.is_some() {
        return None;
    }
    *slot = Some(value);
    Some(())
}

impl Fields {
    /// The validated layout, with the serde path's rules.
    fn layout(self) -> Option<Layout> {
        Layout {
            event_id: self.event_id?,
            event_type: self.event_type?,
            event_time: self.event_time?,
            session_id: self.session_id?,
            product_id: self.product_id?,
            user_id: self.user_id,
            price: self.price?,
            referrer: self.referrer?,
            campaign: self.campaign,
        }
        .checked()
    }
}

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let c = self.peek()?;
        self.i += 1;
        Some(c)
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        (self.next()? == c).then_some(())
    }

    /// Steps over `s` if it is next (a fixed-length compare: no loop).
    #[inline(always)]
    fn literal<const N: usize>(&mut self, s: &[u8; N]) -> Option<()> {
        let next: &[u8; N] = self.b.get(self.i..self.i + N)?.try_into().ok()?;
        if next != s {
            return None;
        }
        self.i += N;
        Some(())
    }

    /// An event type's name with its quotes, told by its first letter and
    /// then compared whole: no scan for the string's end.
    fn quoted_event_type(&mut self) -> Option<EventType> {
        let rest = self.b.get(self.i..)?;
        let (event_type, quoted): (_, &[u8]) = match rest.get(1)? {
            b'v' => (EventType::View, b"\"view\""),
            b'c' => (EventType::Click, b"\"click\""),
            b'a' => (EventType::AddToCart, b"\"add_to_cart\""),
            b'r' => (EventType::RemoveFromCart, b"\"remove_from_cart\""),
            b'p' => (EventType::Purchase, b"\"purchase\""),
            _ => return None,
        };
        if rest.get(..quoted.len())? != quoted {
            return None;
        }
        self.i += quoted.len();
        Some(event_type)
    }

    /// `event_time`: an RFC 3339 string or epoch milliseconds.
    fn time(&mut self) -> Option<Millis> {
        if self.peek()? != b'"' {
            return self.millis();
        }
        // `"YYYY-MM-DDTHH:MM:SS.mmmZ"`, the usual form, needs no scan for
        // its end: `parse_time` accepts no quote, backslash or control byte.
        let i = self.i;
        if let Some(quoted) = self.b.get(i..i + 26)
            && quoted[25] == b'"'
            && let Some(t) = parse_time_millis(quoted[1..25].try_into().ok()?)
        {
            self.i = i + 26;
            return Some(t);
        }
        let (a, b) = self.raw_string()?;
        parse_time(&self.b[a as usize..b as usize])
    }

    /// JSON whitespace.
    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.i += 1;
        }
    }

    /// Where a string's bytes lie, if it has no escapes and no control
    /// characters.
    #[inline(always)] // a call per field costs more than the scan of a short one
    fn raw_string(&mut self) -> Option<Span> {
        self.eat(b'"')?;
        let start = self.i;
        let end = start + string_end(&self.b[start..])?;
        if self.b[end] != b'"' {
            return None;
        }
        self.i = end + 1;
        Some((u32::try_from(start).ok()?, u32::try_from(end).ok()?))
    }

    /// The index in [`KEYS`] of the key here. The key producers write
    /// after the previous one is tried first, as a literal: no scan.
    fn key(&mut self, expected: usize) -> Option<usize> {
        let rest = &self.b[self.i..];
        let literal = |k: &[u8]| {
            rest.len() > k.len() + 1
                && rest[0] == b'"'
                && rest[k.len() + 1] == b'"'
                && eq_short(&rest[1..=k.len()], k)
        };
        for k in [expected, expected + 1] {
            if let Some(&(key, _)) = KEYS.get(k)
                && literal(key)
            {
                self.i += key.len() + 2;
                return Some(k);
            }
        }
        let (a, b) = self.raw_string()?;
        // Unknown fields may hold anything: the serde path skips them.
        KEYS.iter()
            .position(|(k, _)| *k == &self.b[a as usize..b as usize])
    }

    /// The bytes of a JSON number token, and whether it is a plain
    /// non-negative integer (no sign, fraction or exponent).
    fn number(&mut self) -> Option<(&'a [u8], bool)> {
        let start = self.i;
        let digits = |c: &mut Cursor| {
            let from = c.i;
            while c.peek().is_some_and(|d| d.is_ascii_digit()) {
                c.i += 1;
            }
            c.i - from
        };
        let negative = self.peek()? == b'-';
        if negative {
            self.i += 1;
        }
        let first = self.peek()?;
        let int_digits = digits(self);
        if int_digits == 0 || (first == b'0' && int_digits > 1) {
            return None;
        }
        let mut plain = !negative;
        if self.peek() == Some(b'.') {
            self.i += 1;
            if digits(self) == 0 {
                return None;
            }
            plain = false;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.i += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.i += 1;
            }
            if digits(self) == 0 {
                return None;
            }
            plain = false;
        }
        Some((&self.b[start..self.i], plain))
    }

    /// Epoch milliseconds given as a plain integer (at most 18 digits: no
    /// overflow).
    fn millis(&mut self) -> Option<Millis> {
        match self.number()? {
            (token, true) if token.len() <= 18 => Some(
                token
                    .iter()
                    .fold(0, |n, &d| n * 10 + Millis::from(d - b'0')),
            ),
            _ => None,
        }
    }

    /// A price as serde_json reads it (`float_roundtrip`: correctly
    /// rounded, like `str::parse`).
    fn price(&mut self) -> Option<f64> {
        if let Some((v, len)) = plain_decimal(&self.b[self.i..]) {
            self.i += len;
            return Some(v);
        }
        self.price_general()
    }

    /// [`Cursor::price`] for any JSON number.
    fn price_general(&mut self) -> Option<f64> {
        let (token, plain) = self.number()?;
        let v = match plain_decimal(token) {
            Some((v, len)) if len == token.len() => v,
            // Digits, signs, `.` and exponents only: ASCII.
            _ if plain => std::str::from_utf8(token).ok()?.parse::<u64>().ok()? as f64,
            _ => std::str::from_utf8(token).ok()?.parse::<f64>().ok()?,
        };
        v.is_finite().then_some(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    use crate::time::parse_rfc3339;

    #[test]
    fn the_usual_shape_is_read_here_anything_else_is_not() {
        let line = br#" {"event_id":"e1", "event_type":"view","event_time":1795874400250,"session_id":"s1","product_id":"sku-0001","price":12,"referrer":"search","user_id":"u1"}"#;
        let e = decode(line).expect("the usual shape");
        assert_eq!((e.event_time, e.price), (1_795_874_400_250, 12.0));
        for other in [
            &br#"{"event_id":"e\u0031"}"#[..],
            br#"{"event_id":"e1","x":1}"#,
            br#"{"event_id":"e1","event_id":"e2"}"#,
            br#"{"user_id":null}"#,
        ] {
            assert!(decode(other).is_none());
        }
    }

    #[test]
    fn the_producers_order_is_read_without_looking_keys_up() {
        let line = br#"{"event_id":"e1","event_type":"view","event_time":"2026-11-28T14:00:00.250Z","session_id":"s1","product_id":"sku-0001","user_id":"u1","price":129.99,"referrer":"search","campaign":"bf"}"#;
        let layout = Layout::compact(line).expect("the producers' order");
        assert_eq!(Some(layout), Layout::any_order(line));
        for (i, _) in line.iter().enumerate().filter(|(_, c)| **c == b',') {
            // Any key missing or moved: the general scan decides.
            let mut moved = line.to_vec();
            moved.insert(i + 1, b' ');
            assert_eq!(Layout::compact(&moved), None);
            let event = Layout::scan(&moved).and_then(|l| l.view(&moved));
            assert_eq!(event, layout.view(line));
        }
    }

    proptest! {
        #[test]
        fn short_decimals_parse_as_std_does(int in 0u64..10_000_000, frac in "[0-9]{0,9}") {
            let token = if frac.is_empty() { int.to_string() } else { format!("{int}.{frac}") };
            if let Some((v, len)) = plain_decimal(token.as_bytes()) {
                prop_assert_eq!(len, token.len(), "{}", token);
                prop_assert_eq!(v, token.parse::<f64>().unwrap(), "{}", token);
            }
        }
    }

    proptest! {
        /// Where the one-pass reader takes a number, it ends where the
        /// general path ends, with the value `str::parse` gives.
        #[test]
        fn plain_decimals_read_as_the_general_path_reads_them(
            token in "-?[0-9]{0,17}(\\.[0-9]{0,17})?([eE][+-]?[0-9]{0,3})?[,}.x0-9]?"
        ) {
            if let Some((v, len)) = plain_decimal(token.as_bytes()) {
                let mut general = Cursor { b: token.as_bytes(), i: 0 };
                prop_assert_eq!(general.price_general(), Some(v), "{}", token);
                prop_assert_eq!(general.i, len, "{}", token);
                prop_assert_eq!(Some(v), token[..len].parse::<f64>().ok(), "{}", token);
            }
        }
    }

    proptest! {
        #[test]
        fn eq_short_is_slice_equality(a in proptest::collection::vec(0u8..3, 0..20), b in proptest::collection::vec(0u8..3, 0..20)) {
            prop_assert_eq!(eq_short(&a, &b), a == b);
            prop_assert!(eq_short(&a, &a.clone()));
        }
    }

    #[test]
    fn event_types_parse_from_their_wire_names() {
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(t));
        }
        assert_eq!(EventType::parse("View"), None);
    }

    #[test]
    fn times_match_chrono() {
        for s in [
            "2026-11-28T14:00:00Z",
            "2026-11-28T14:00:00.5Z",
            "2026-11-28T14:00:00.123456789Z",
            "2000-02-29T23:59:59.999Z",
            "2099-12-31T23:59:59Z",
            "1970-01-01T00:00:00Z",
            "1969-12-31T23:59:59.001Z",
        ] {
            assert_eq!(parse_time(s.as_bytes()), parse_rfc3339(s), "{s}");
        }
        for s in [
            "2026-02-29T00:00:00Z",
            "2026-11-28T24:00:00Z",
            "2026-11-28T23:59:60Z",
            "2026-11-28t14:00:00Z",
            "2026-11-28T14:00:00+00:00",
            "2026-11-28T14:00:00.Z",
            "2026-11-28T14:00:00.1234567891Z",
        ] {
            assert_eq!(parse_time(s.as_bytes()), None, "{s}");
        }
    }

    proptest! {
        /// The fixed-place reader of `YYYY-MM-DDTHH:MM:SS.mmmZ` gives what
        /// the general one gives, or leaves the bytes to it: times in and
        /// out of range with any one byte changed.
        #[test]
        fn times_of_the_usual_form_read_as_the_general_reader_reads_them(
            t in 0i64..4_102_444_800_000,
            change in proptest::option::of((0usize..24, any::<u8>())),
        ) {
            let mut s = crate::time::format_rfc3339(t).into_bytes();
            if !s.contains(&b'.') {
                s.splice(19..19, *b".000");
            }
            if let Some((at, byte)) = change {
                s[at] = byte;
            }
            let fixed: [u8; 24] = s.as_slice().try_into().unwrap();
            let general = parse_time(&s);
            let fast = scalars::parse_time_millis(&fixed);
            prop_assert!(fast.is_none() || fast == general, "{:?}", String::from_utf8_lossy(&s));
            if change.is_none() {
                prop_assert_eq!(fast, Some(t));
            }
        }
    }

    proptest! {
        /// Times in a row, most within one minute (the cached prefix), some
        /// with one byte changed: each is chrono's answer or left to chrono,
        /// and an unchanged one is always read.
        #[test]
        fn times_in_a_row_match_chrono(
            minute in 946_684_800_000i64 / 60_000..4_102_444_800_000 / 60_000,
            times in proptest::collection::vec(
                (0i64..3, 0i64..60_000, proptest::option::of((0usize..24, any::<u8>()))),
                1..40,
            ),
        ) {
            for (step, ms, change) in times {
                let t = (minute + step) * 60_000 + ms;
                let mut s = crate::time::format_rfc3339(t).into_bytes();
                if !s.contains(&b'.') {
                    s.splice(19..19, *b".000");
                }
                let changed = change.is_some_and(|(at, byte)| s.get(at).is_some_and(|&c| c != byte));
                if let Some((at, byte)) = change.filter(|_| changed) {
                    s[at] = byte;
                }
                let fast = parse_time(&s);
                let chrono = std::str::from_utf8(&s).ok().and_then(parse_rfc3339);
                prop_assert!(fast.is_none() || fast == chrono, "{:?}", String::from_utf8_lossy(&s));
                if !changed {
                    prop_assert_eq!(fast, Some(t));
                }
            }
        }
    }
}
