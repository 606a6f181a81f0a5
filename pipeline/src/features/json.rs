//! Feature records as JSON: byte for byte what their `Serialize` gives
//! through serde_json, written without a serializer per value (a replay
//! writes hundreds of thousands of these).

use std::cell::{Cell, RefCell};

use serde::ser::{Serialize, SerializeMap, Serializer};

use super::{FEATURE_COUNT, FEATURE_NAMES, FEATURES_VERSION, FeatureRecord};
use crate::byte_scan::string_end;
use crate::sized_writer::{RecordBuf, SizedWriter, append_sized};
use crate::time::{Millis, format_rfc3339, rfc3339_fixed};
use product_text::ProductTexts;

mod product_text;

impl FeatureRecord {
    /// Appends the record as JSON to `out`: byte for byte what its
    /// `Serialize` gives through serde_json (tested), with serde_json's own
    /// number formats (zmij, itoa) and string escaping, but written into
    /// space sized once, keys as fixed-size pieces: a replay writes hundreds
    /// of thousands of these.
    pub fn write_json(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        append_sized(out, self.json_bound(), |w| self.write_fields(w))
    }

    /// [`FeatureRecord::write_json`] into a reused buffer (nothing to zero).
    pub fn write_json_to(&self, out: &mut RecordBuf) -> serde_json::Result<()> {
        out.append_sized(self.json_bound(), |w| self.write_fields(w))
    }

    fn json_bound(&self) -> usize {
        let strings = [&self.product_id, &self.brand, &self.model, &self.category];
        // Escaping makes a string at most six times longer (`\u00XX`).
        RECORD_BOUND + strings.iter().map(|s| 6 * s.len()).sum::<usize>()
    }

    fn write_fields(&self, w: &mut SizedWriter<'_>) -> serde_json::Result<()> {
        WRITTEN_TEXTS.with_borrow_mut(|texts| self.write_fields_with(w, texts))
    }

    fn write_fields_with(
        &self,
        w: &mut SizedWriter<'_>,
        texts: &mut WrittenTexts,
    ) -> serde_json::Result<()> {
        let mut floats = zmij::Buffer::new();
        let fixed = texts.products.get(self, &mut floats, &mut texts.prices)?;
        w.put(fixed.head());
        time(w, self.window.start, 0);
        w.put(b"\",\"window_end\":\"");
        time(w, self.window.end, 1);
        w.put(fixed.middle());
        write_price(w, &mut floats, &mut texts.prices, self.current_price);
        w.put(fixed.tail());
        w.uint(self.price_version);
        w.put(FEATURES_VERSION_JSON);
        for ((piece, len), &v) in FEATURE_KEYS.iter().zip(&self.features) {
            w.put_padded(piece, *len);
            write_feature(w, &mut floats, texts, v);
        }
        w.put(b"}}");
        Ok(())
    }
}

/// `,"features_version":` with [`FEATURES_VERSION`] and the features' key
/// (a test checks the number).
const FEATURES_VERSION_JSON: &[u8] = b",\"features_version\":2,\"features\":";

/// Bytes of a feature record besides its strings, with room to spare: keys
/// (~830), 34 floats of at most 15 bytes and 3 of at most 24, two integers
/// of at most 20, two times of at most 32, a key piece's padding and a
/// value's (16).
const RECORD_BOUND: usize = 2048;

/// Each feature's key with its separator, padded for a fixed-size copy.
const FEATURE_KEYS: [([u8; 32], usize); FEATURE_COUNT] = {
    let mut keys = [([0u8; 32], 0); FEATURE_COUNT];
    let mut i = 0;
    while i < FEATURE_COUNT {
        let name = FEATURE_NAMES[i].as_bytes();
        assert!(
            name.len() + 4 <= 32,
            "a feature name is too long for its piece"
        );
        let mut piece = [0u8; 32];
        piece[0] = if i == 0 { b'{' } else { b',' };
        piece[1] = b'"';
        let mut j = 0;
        while j < name.len() {
            piece[2 + j] = name[j];
            j += 1;
        }
        piece[2 + name.len()] = b'"';
        piece[3 + name.len()] = b':';
        keys[i] = (piece, name.len() + 4);
        i += 1;
    }
    keys
};

/// A string as serde_json writes it: as it is when nothing needs escaping
/// (looked for 16 bytes at a time).
fn json_str(w: &mut SizedWriter<'_>, s: &str) -> serde_json::Result<()> {
    if string_end(s.as_bytes()).is_none() {
        w.put(b"\"");
        w.put(s.as_bytes());
        w.put(b"\"");
    } else {
        w.put(&serde_json::to_vec(s)?);
    }
    Ok(())
}

thread_local! {
    /// The last time written and its text: every record of a window
    /// carries the same two.
    static LAST_TIMES: Cell<[(Millis, [u8; 24], usize); 2]> =
        const { Cell::new([(Millis::MIN, [0; 24], 0); 2]) };
}

fn time(w: &mut SizedWriter<'_>, t: Millis, which: usize) {
    let mut last = LAST_TIMES.get();
    if last[which].0 != t {
        match rfc3339_fixed(t) {
            Some((bytes, len)) => last[which] = (t, bytes, len),
            None => return w.put(format_rfc3339(t).as_bytes()),
        }
        LAST_TIMES.set(last);
    }
    let (_, bytes, len) = &last[which];
    w.put(&bytes[..*len]);
}

/// A price as serde_json writes an `f64`: zmij's shortest form, `null` if
/// not finite.
fn write_price(out: &mut SizedWriter<'_>, buf: &mut zmij::Buffer, texts: &mut PriceTexts, v: f64) {
    match v.is_finite() {
        true => texts.write(out, buf, v, v.to_bits()),
        false => out.put(b"null"),
    }
}

/// Whole numbers up to this are written by zmij as the integer and `.0`
/// (checked for each of them once; the tests check a sample).
const WHOLE_MAX: u32 = 1 << 24;

/// Texts written recently, kept to be copied instead of written again:
/// floats by bit pattern (six in ten fractional features of a replay were
/// written shortly before: a product's margin and price ratios until its
/// price moves, the hour and weekday terms every record of a window shares;
/// a product's prices change rarely), and each product's fixed text.
pub(super) struct WrittenTexts {
    features: TextSlots<16, 1024>,
    prices: PriceTexts,
    products: ProductTexts,
}

type PriceTexts = TextSlots<24, 1024>;

impl WrittenTexts {
    pub(super) fn new() -> WrittenTexts {
        WrittenTexts {
            features: TextSlots::new(),
            prices: TextSlots::new(),
            products: ProductTexts::new(),
        }
    }
}

thread_local! {
    static WRITTEN_TEXTS: RefCell<WrittenTexts> = RefCell::new(WrittenTexts::new());
}

/// `N` slots, each keeping the last value whose bits hashed to it and its
/// text padded to `W` bytes for a fixed-size copy (`len` 0: empty). With
/// 1 024 slots (32 KB), 53 % of a replay's fractional features are found
/// (16 K slots: 64 %).
struct TextSlots<const W: usize, const N: usize> {
    slots: Box<[(u64, u8, [u8; W]); N]>,
}

impl<const W: usize, const N: usize> TextSlots<W, N> {
    fn new() -> Self {
        TextSlots {
            slots: Box::new([(0, 0, [0; W]); N]),
        }
    }

    /// The slot of a value with these bits: (bits held, text length, text).
    #[inline]
    fn slot(&mut self, bits: u64) -> &mut (u64, u8, [u8; W]) {
        // Fibonacci hashing: the top bits of the product mix all the bits.
        let hash = bits.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - N.trailing_zeros());
        &mut self.slots[hash as usize % N]
    }

    /// The shortest form of a finite `v` (with `bits` its bits), formatted
    /// at most once while its slot keeps it.
    #[inline]
    fn write<F: zmij::Float>(
        &mut self,
        out: &mut SizedWriter<'_>,
        buf: &mut zmij::Buffer,
        v: F,
        bits: u64,
    ) {
        let (key, len, text) = self.slot(bits);
        if *key != bits || *len == 0 {
            let fresh = buf.format_finite(v).as_bytes();
            let Some(room) = text.get_mut(..fresh.len()) else {
                return out.put(fresh);
            };
            room.copy_from_slice(fresh);
            (*key, *len) = (bits, fresh.len() as u8);
        }
        out.put_padded(text, (*len).into());
    }
}

/// A feature as serde_json writes an `f32`: from `texts` when written
/// recently (zeros, counts, a product's ratios and the window's hour terms
/// repeat), else formatted — whole numbers (over half of all features:
/// counts, zeros, inventory) as an integer and `.0`, the bytes zmij gives,
/// the others by zmij. Whole or not changes from window to window for the
/// same feature (0 in one, 0.4 in the next), a branch that mispredicts:
/// it is asked only on a miss.
#[inline(always)] // in the loop over the features; as a call it cost a tenth of the writer
fn write_feature(
    out: &mut SizedWriter<'_>,
    buf: &mut zmij::Buffer,
    texts: &mut WrittenTexts,
    v: f32,
) {
    if !v.is_finite() {
        return out.put(b"null");
    }
    let bits = u64::from(v.to_bits());
    let (key, len, text) = texts.features.slot(bits);
    if *key != bits || *len == 0 {
        let whole = v as u32; // saturates
        let fresh = if whole as f32 == v && whole <= WHOLE_MAX && v.is_sign_positive() {
            let mut digits = itoa::Buffer::new();
            let d = digits.format(whole).as_bytes();
            // At most 8 digits and `.0`: the slot has room.
            text[..d.len()].copy_from_slice(d);
            text[d.len()..d.len() + 2].copy_from_slice(b".0");
            d.len() + 2
        } else {
            let fresh = buf.format_finite(v).as_bytes();
            let Some(room) = text.get_mut(..fresh.len()) else {
                return out.put(fresh);
            };
            room.copy_from_slice(fresh);
            fresh.len()
        };
        (*key, *len) = (bits, fresh as u8);
    }
    out.put_padded(text, (*len).into());
}

impl Serialize for FeatureRecord {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct Named<'a>(&'a [f32; FEATURE_COUNT]);
        impl Serialize for Named<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut m = s.serialize_map(Some(FEATURE_COUNT))?;
                for (name, v) in FEATURE_NAMES.iter().zip(self.0) {
                    m.serialize_entry(name, v)?;
                }
                m.end()
            }
        }
        let mut m = s.serialize_map(Some(11))?;
        m.serialize_entry("product_id", &self.product_id)?;
        m.serialize_entry("window_start", &format_rfc3339(self.window.start))?;
        m.serialize_entry("window_end", &format_rfc3339(self.window.end))?;
        m.serialize_entry("brand", &self.brand)?;
        m.serialize_entry("model", &self.model)?;
        m.serialize_entry("category", &self.category)?;
        m.serialize_entry("base_price", &self.base_price)?;
        m.serialize_entry("current_price", &self.current_price)?;
        m.serialize_entry("cost", &self.cost)?;
        m.serialize_entry("price_version", &self.price_version)?;
        m.serialize_entry("features_version", &FEATURES_VERSION)?;
        m.serialize_entry("features", &Named(&self.features))?;
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::window::Window;
    use std::sync::Arc;

    #[test]
    fn write_json_is_what_serde_writes() {
        let mut features = [0.0f32; FEATURE_COUNT];
        for (i, f) in features.iter_mut().enumerate() {
            *f = (i as f32 - 3.0) / 7.0 * 1e3f32.powi(i as i32 % 5 - 2);
        }
        features[1] = f32::NAN;
        features[2] = f32::INFINITY;
        features[3] = -0.0;
        let record = FeatureRecord {
            product_id: "sku-\"1\"\\\u{7}é".into(),
            window: Window {
                start: 1_795_874_400_000,
                end: 1_795_874_500_123,
            },
            brand: "Aerial\n".into(),
            model: "Air \u{1F45F}".into(),
            category: "".into(),
            base_price: 100.1,
            current_price: f64::NAN,
            cost: 1e-7,
            price_version: u64::MAX,
            features,
        };
        let mut out = Vec::new();
        record.write_json(&mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            serde_json::to_string(&record).unwrap()
        );
    }

    #[test]
    fn the_features_version_piece_holds_the_version() {
        let want = format!(",\"features_version\":{FEATURES_VERSION},\"features\":");
        assert_eq!(FEATURES_VERSION_JSON, want.as_bytes());
    }

    fn feature_text(v: f32) -> String {
        let mut out = Vec::new();
        append_sized(&mut out, 32, |w| {
            write_feature(w, &mut zmij::Buffer::new(), &mut WrittenTexts::new(), v)
        });
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn whole_features_are_written_as_serde_writes_them() {
        let edges = (0..=24).flat_map(|k| {
            let p = 1u32 << k;
            [p - 1, p, p + 1]
        });
        for v in (0..=65_536u32).chain(edges).map(|i| i as f32) {
            assert_eq!(feature_text(v), serde_json::to_string(&v).unwrap());
        }
        for v in [
            -0.0f32,
            -1.0,
            -7.0,
            16_777_218.0,
            3e7,
            1e15,
            f32::NAN,
            f32::INFINITY,
            0.5,
        ] {
            assert_eq!(feature_text(v), serde_json::to_string(&v).unwrap(), "{v}");
        }
    }

    proptest::proptest! {
        /// Any strings (escapes, controls, non-ASCII), any floats, times
        /// and versions: the writer gives serde_json's bytes.
        #[test]
        fn any_record_is_written_as_serde_writes_it(
            strings in proptest::array::uniform4(".{0,40}"),
            prices: [u64; 3], price_version: u64, start: i64, length: i64,
            bits in proptest::array::uniform32(proptest::num::u32::ANY),
            wholes in proptest::array::uniform2(0..=WHOLE_MAX),
        ) {
            let [product_id, brand, model, category] = strings;
            let mut features = [0.0f32; FEATURE_COUNT];
            for (i, f) in features.iter_mut().enumerate() {
                *f = match i {
                    0 | 1 => wholes[i] as f32,
                    _ => f32::from_bits(bits[i % 32]),
                };
            }
            let record = FeatureRecord {
                product_id: product_id.into(),
                window: Window { start, end: start.wrapping_add(length) },
                brand: brand.into(),
                model: model.into(),
                category: category.into(),
                base_price: f64::from_bits(prices[0]),
                current_price: f64::from_bits(prices[1]),
                cost: f64::from_bits(prices[2]),
                price_version,
                features,
            };
            let mut out = b"before".to_vec();
            record.write_json(&mut out).unwrap();
            let want = format!("before{}", serde_json::to_string(&record).unwrap());
            proptest::prop_assert_eq!(String::from_utf8(out).unwrap(), want);
        }

        /// Values written again and again, from pools several times the
        /// size of the text slots (so values share slots and evict each
        /// other): whole numbers (up to and past the integer path's
        /// limit), negative zero and fractions. Each record still gives
        /// serde_json's bytes.
        #[test]
        fn values_written_again_come_out_as_serde_writes_them(
            picks in proptest::collection::vec((0..6_000u32, 0..6_000u32), 1..40),
        ) {
            let pool = |i: u32| match i % 5 {
                0 => (i / 5) as f32,
                1 => (WHOLE_MAX - 500 + i / 5) as f32,
                2 if i.is_multiple_of(7) => -0.0,
                _ => (i as f32 - 3_000.0) / 7.0 + 0.25,
            };
            for (n, &(a, b)) in picks.iter().enumerate() {
                let mut features = [0.0f32; FEATURE_COUNT];
                for (i, f) in features.iter_mut().enumerate() {
                    *f = pool((a + b * i as u32) % 6_000);
                }
                let record = FeatureRecord {
                    product_id: format!("sku-{n}").into(),
                    window: Window { start: 0, end: 100_000 },
                    brand: "b".into(),
                    model: "m".into(),
                    category: "c".into(),
                    base_price: f64::from(a) / 3.0,
                    current_price: f64::from(b) / 3.0,
                    cost: f64::from(a + b) / 3.0,
                    price_version: 1,
                    features,
                };
                let mut out = Vec::new();
                record.write_json(&mut out).unwrap();
                proptest::prop_assert_eq!(
                    String::from_utf8(out).unwrap(),
                    serde_json::to_string(&record).unwrap()
                );
            }
        }

        /// A few products written window after window, some sharing a
        /// slot, their catalog entries changing (prices, names, a new
        /// allocation of the same text): each record still gives serde_json's
        /// bytes, never another product's or an older version's text.
        #[test]
        fn products_written_again_come_out_as_serde_writes_them(
            steps in proptest::collection::vec((0..5usize, 0..6u8, 0..3u8, 0..3u8), 1..60),
        ) {
            let text = |s: String| -> Arc<str> { s.into() };
            // Per product: id, brand, model, category (each its own allocation).
            let mut catalog: Vec<[Arc<str>; 4]> = (0..5)
                .map(|p| [text(format!("sku-{p}")), text("b".into()), text("m \"x\"".into()), text(format!("c{p}"))])
                .collect();
            for (window, &(p, change, base, cost)) in steps.iter().enumerate() {
                // One string anew (the same text or another) or none.
                if let Some(s) = catalog[p].get_mut(usize::from(change)) {
                    *s = text(format!("{s}{}", window % 2));
                }
                let [product_id, brand, model, category] = catalog[p].clone();
                let record = FeatureRecord {
                    product_id,
                    window: Window { start: window as i64 * 100_000, end: (window as i64 + 1) * 100_000 },
                    brand,
                    model,
                    category,
                    base_price: 100.0 + f64::from(base),
                    current_price: 99.5,
                    cost: 40.25 + f64::from(cost) / 3.0,
                    price_version: window as u64,
                    features: [window as f32; FEATURE_COUNT],
                };
                let mut out = Vec::new();
                record.write_json(&mut out).unwrap();
                proptest::prop_assert_eq!(
                    String::from_utf8(out).unwrap(),
                    serde_json::to_string(&record).unwrap()
                );
            }
        }

        #[test]
        fn any_feature_is_written_as_serde_writes_it(bits: u32, whole in 0..=WHOLE_MAX) {
            for v in [f32::from_bits(bits), whole as f32] {
                proptest::prop_assert_eq!(feature_text(v), serde_json::to_string(&v).unwrap());
            }
        }
    }
}
