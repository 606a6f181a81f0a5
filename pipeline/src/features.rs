//! Feature records: one per (product, window), with an ordered, versioned feature list.

use std::cell::Cell;
use std::f64::consts::TAU;
use std::sync::Arc;

use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::aggregate::Aggregate;
use crate::catalog::{CatalogItem, OrderTotals};
use crate::event::EventType;
use crate::sized_writer::{RecordBuf, SizedWriter, append_sized};
use crate::time::{DAY, HOUR, Millis, format_rfc3339, rfc3339_fixed};
use crate::window::Window;

/// Version of [`FEATURE_NAMES`]. Bump it whenever the list, its order or a
/// definition changes; models record the version they were trained on.
pub const FEATURES_VERSION: u32 = 2;

/// The model's input, in order. Definitions are in docs/features.md.
pub const FEATURE_NAMES: [&str; 34] = [
    "views",
    "clicks",
    "add_to_carts",
    "remove_from_carts",
    "purchases",
    "unique_sessions",
    "views_per_minute",
    "social_share",
    "campaign_share",
    "view_growth_prev",
    "view_growth_ewma",
    "click_through_rate",
    "cart_rate",
    "cart_to_purchase_rate",
    "conversion_rate",
    "units_ordered",
    "revenue_ordered",
    "sales_velocity_per_day",
    "inventory",
    "days_of_cover",
    "price_ratio_base",
    "price_ratio_max",
    "margin_ratio",
    "seen_price_ratio",
    "hour_sin",
    "hour_cos",
    "weekday_sin",
    "weekday_cos",
    "views_per_hour_recent",
    "views_per_hour_baseline",
    "trend_intensity",
    "trend_age_hours",
    "hours_to_restock",
    "views_ahead_per_unit",
];

pub const FEATURE_COUNT: usize = FEATURE_NAMES.len();

/// `days_of_cover` when nothing sells (and the cap for slow sellers).
pub const DAYS_OF_COVER_CAP: f64 = 365.0;

/// Half-life of `views_per_hour_recent`: a trend is visible within minutes.
pub const RECENT_HALF_LIFE: Millis = HOUR;
/// Half-life of `views_per_hour_baseline`: the product's normal over days.
pub const BASELINE_HALF_LIFE: Millis = 72 * HOUR;
/// A trend starts when `trend_intensity` reaches this and ends when it falls
/// below [`TREND_END`] (hysteresis, so the daily rhythm does not flicker it).
pub const TREND_START: f64 = 3.0;
pub const TREND_END: f64 = 1.5;
/// `hours_to_restock` when no restock is scheduled (and its cap).
pub const RESTOCK_HOURS_CAP: f64 = 720.0;
/// How far ahead `views_ahead_per_unit` looks, at most.
pub const AHEAD_HOURS_CAP: f64 = 72.0;
/// Assumed half-life of a trend's excess views, for `views_ahead_per_unit`.
pub const EXCESS_HALF_LIFE_HOURS: f64 = 12.0;

/// Position of a feature in [`FEATURE_NAMES`] (a `const fn`, so hot paths
/// can resolve their columns at compile time).
pub const fn feature_index(name: &str) -> Option<usize> {
    let mut i = 0;
    while i < FEATURE_NAMES.len() {
        if bytes_equal(FEATURE_NAMES[i].as_bytes(), name.as_bytes()) {
            return Some(i);
        }
        i += 1;
    }
    None
}

const fn bytes_equal(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The enriched features of one product over one window; keyed by `(product_id, window.end)`.
#[derive(Clone, Debug, PartialEq)]
pub struct FeatureRecord {
    pub product_id: Arc<str>,
    pub window: Window,
    pub brand: Arc<str>,
    pub model: Arc<str>,
    pub category: Arc<str>,
    pub base_price: f64,
    /// Catalog price when the window closed.
    pub current_price: f64,
    pub cost: f64,
    pub price_version: u64,
    pub features: [f32; FEATURE_COUNT],
}

impl FeatureRecord {
    pub fn get(&self, name: &str) -> Option<f32> {
        feature_index(name).map(|i| self.features[i])
    }

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
        let mut floats = zmij::Buffer::new();
        w.put(b"{\"product_id\":");
        json_str(w, &self.product_id)?;
        w.put(b",\"window_start\":\"");
        time(w, self.window.start, 0);
        w.put(b"\",\"window_end\":\"");
        time(w, self.window.end, 1);
        w.put(b"\",\"brand\":");
        json_str(w, &self.brand)?;
        w.put(b",\"model\":");
        json_str(w, &self.model)?;
        w.put(b",\"category\":");
        json_str(w, &self.category)?;
        w.put(b",\"base_price\":");
        write_float(w, &mut floats, self.base_price);
        w.put(b",\"current_price\":");
        write_float(w, &mut floats, self.current_price);
        w.put(b",\"cost\":");
        write_float(w, &mut floats, self.cost);
        w.put(b",\"price_version\":");
        w.uint(self.price_version);
        w.put(b",\"features_version\":");
        w.uint(FEATURES_VERSION.into());
        w.put(b",\"features\":");
        for ((piece, len), &v) in FEATURE_KEYS.iter().zip(&self.features) {
            w.put_padded(piece, *len);
            write_feature(w, &mut floats, v);
        }
        w.put(b"}}");
        Ok(())
    }
}

/// Bytes of a feature record besides its strings, with room to spare: keys
/// (~830), 34 floats of at most 15 bytes and 3 of at most 24, two integers
/// of at most 20, two times of at most 32, and a key piece's padding.
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

/// A string as serde_json writes it: as it is when nothing needs escaping.
fn json_str(w: &mut SizedWriter<'_>, s: &str) -> serde_json::Result<()> {
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
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

/// A float as serde_json writes it: zmij's shortest form, `null` if not finite.
fn write_float<F: zmij::Float + Copy + Into<f64>>(
    out: &mut SizedWriter<'_>,
    buf: &mut zmij::Buffer,
    v: F,
) {
    out.put(match v.into().is_finite() {
        true => buf.format_finite(v).as_bytes(),
        false => b"null",
    });
}

/// Whole numbers up to this are written by zmij as the integer and `.0`
/// (checked for each of them once; the tests check a sample).
const WHOLE_MAX: u32 = 1 << 24;

/// A feature as serde_json writes an `f32`. Over half of all features are
/// whole numbers (counts, zeros, inventory): they skip the shortest-form
/// search and are written as an integer and `.0`, the bytes zmij gives.
fn write_feature(out: &mut SizedWriter<'_>, buf: &mut zmij::Buffer, v: f32) {
    let whole = v as u32; // saturates; NaN gives 0, which differs from NaN
    if whole as f32 == v && whole <= WHOLE_MAX && v.is_sign_positive() {
        out.uint(whole.into());
        out.put(b".0");
    } else {
        write_float(out, buf, v);
    }
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

/// Per-product view history for the growth and trend features, carried across windows.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Trend {
    last_end: Option<Millis>,
    last_views: f64,
    /// EWMA of views over windows up to and including `last_end`.
    ewma: f64,
    /// Time-based EWMAs of views per hour, including `last_end`'s window.
    recent_rate: f64,
    baseline_rate: f64,
    /// End of the window in which the current trend started.
    trend_since: Option<Millis>,
}

/// What the history says before the current window.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct History {
    pub prev_views: f64,
    pub ewma_views: f64,
}

/// The trend state after the current window.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct TrendNow {
    pub recent_rate: f64,
    pub baseline_rate: f64,
    pub intensity: f64,
    /// Hours since the current trend started; 0 when there is none.
    pub age_hours: f64,
}

/// Weight of one step of `slide` in an EWMA with the given half-life.
fn ewma_weight(slide: Millis, half_life: Millis) -> f64 {
    1.0 - 0.5f64.powf(slide as f64 / half_life as f64)
}

impl Trend {
    /// Advances to `window` with `views`, returning the history before it.
    /// Windows with no events count as zero views. A product's first window is
    /// neutral (history = itself) when the window before it started before
    /// `observed_since` (the earliest event accepted), since that window was
    /// not fully observed; otherwise the product grew from zero.
    pub fn advance(
        &mut self,
        window: Window,
        slide: Millis,
        views: f64,
        alpha: f64,
        observed_since: Millis,
    ) -> History {
        let end = window.end;
        let partial_start = self.last_end.is_none() && window.start - slide < observed_since;
        let history = match self.last_end {
            None if partial_start => History {
                prev_views: views,
                ewma_views: views,
            },
            None => History {
                prev_views: 0.0,
                ewma_views: 0.0,
            },
            Some(last) => {
                let gap = ((end - last) / slide - 1).max(0);
                History {
                    prev_views: if gap == 0 { self.last_views } else { 0.0 },
                    ewma_views: self.ewma * (1.0 - alpha).powi(gap.min(i32::MAX as i64) as i32),
                }
            }
        };
        let rate = views / ((window.end - window.start) as f64 / HOUR as f64);
        let (recent_before, baseline_before) = match self.last_end {
            None if partial_start => (rate, rate),
            None => (0.0, 0.0),
            Some(last) => {
                // Each missing window was a step with no views.
                let decay = |half_life: Millis| {
                    0.5f64.powf((end - last - slide).max(0) as f64 / half_life as f64)
                };
                (
                    self.recent_rate * decay(RECENT_HALF_LIFE),
                    self.baseline_rate * decay(BASELINE_HALF_LIFE),
                )
            }
        };
        let step = |before: f64, half_life| {
            let w = ewma_weight(slide, half_life);
            w * rate + (1.0 - w) * before
        };
        self.recent_rate = step(recent_before, RECENT_HALF_LIFE);
        self.baseline_rate = step(baseline_before, BASELINE_HALF_LIFE);
        let intensity = self.intensity();
        if intensity >= TREND_START && self.trend_since.is_none() {
            self.trend_since = Some(end);
        } else if intensity < TREND_END {
            self.trend_since = None;
        }
        self.last_end = Some(end);
        self.last_views = views;
        self.ewma = alpha * views + (1.0 - alpha) * history.ewma_views;
        history
    }

    /// Recent views per hour over the baseline's, each plus one view per hour
    /// so that a product going from nothing to a handful is not a trend.
    fn intensity(&self) -> f64 {
        (self.recent_rate + 1.0) / (self.baseline_rate + 1.0)
    }

    /// The state after the last [`Trend::advance`].
    pub fn now(&self) -> TrendNow {
        TrendNow {
            recent_rate: self.recent_rate,
            baseline_rate: self.baseline_rate,
            intensity: self.intensity(),
            age_hours: match (self.trend_since, self.last_end) {
                (Some(since), Some(end)) => (end - since) as f64 / HOUR as f64,
                _ => 0.0,
            },
        }
    }
}

/// Views expected over the next `hours`: the baseline rate, plus the recent
/// excess over it decaying with [`EXCESS_HALF_LIFE_HOURS`].
pub fn views_ahead(trend: &TrendNow, hours: f64) -> f64 {
    let excess = (trend.recent_rate - trend.baseline_rate).max(0.0);
    let tau = EXCESS_HALF_LIFE_HOURS / std::f64::consts::LN_2;
    trend.baseline_rate * hours + excess * tau * (1.0 - (-hours / tau).exp())
}

/// Everything a feature record is computed from.
pub struct FeatureInputs<'a> {
    pub window: Window,
    pub aggregate: &'a Aggregate,
    pub history: History,
    pub trend: TrendNow,
    pub item: &'a CatalogItem,
    pub window_orders: OrderTotals,
    /// Units ordered over the velocity horizon ending at the window end.
    pub recent_units: u64,
    pub velocity_horizon: Millis,
}

fn ratio(num: f64, den: f64) -> f64 {
    if den > 0.0 { num / den } else { 0.0 }
}

impl FeatureInputs<'_> {
    pub fn build(&self) -> FeatureRecord {
        let a = self.aggregate;
        let count = |t: EventType| f64::from(a.counts[t.index()]);
        let (views, clicks, carts, removes, purchases) = (
            count(EventType::View),
            count(EventType::Click),
            count(EventType::AddToCart),
            count(EventType::RemoveFromCart),
            count(EventType::Purchase),
        );
        let events = f64::from(a.events());
        let item = self.item;
        let price = item.current_price();
        let velocity = self.recent_units as f64 / (self.velocity_horizon as f64 / DAY as f64);
        let inventory = item.inventory as f64;
        let days_of_cover = if velocity > 0.0 {
            (inventory / velocity).min(DAYS_OF_COVER_CAP)
        } else if inventory > 0.0 {
            DAYS_OF_COVER_CAP
        } else {
            0.0
        };
        let end = self.window.end;
        let hour = end.rem_euclid(DAY) as f64 / HOUR as f64;
        // 1970-01-01 was a Thursday: Monday = 0.
        let weekday = (end.div_euclid(DAY) + 3).rem_euclid(7) as f64 + hour / 24.0;
        let minutes = (self.window.end - self.window.start) as f64 / 60_000.0;
        let hours_to_restock = if item.next_restock > 0 {
            ((item.next_restock - end) as f64 / HOUR as f64).clamp(0.0, RESTOCK_HOURS_CAP)
        } else {
            RESTOCK_HOURS_CAP
        };
        let ahead = views_ahead(&self.trend, hours_to_restock.min(AHEAD_HOURS_CAP));
        let values: [f64; FEATURE_COUNT] = [
            views,
            clicks,
            carts,
            removes,
            purchases,
            a.unique_sessions() as f64,
            views / minutes,
            ratio(f64::from(a.social), events),
            ratio(f64::from(a.with_campaign), events),
            (views + 1.0) / (self.history.prev_views + 1.0),
            (views + 1.0) / (self.history.ewma_views + 1.0),
            ratio(clicks, views),
            ratio(carts, views),
            ratio(purchases, carts),
            ratio(purchases, views),
            self.window_orders.units as f64,
            self.window_orders.revenue,
            velocity,
            inventory,
            days_of_cover,
            price / item.base_price,
            price / item.max_price,
            (price - item.cost) / price,
            ratio(a.seen_price_sum / events, price),
            (TAU * hour / 24.0).sin(),
            (TAU * hour / 24.0).cos(),
            (TAU * weekday / 7.0).sin(),
            (TAU * weekday / 7.0).cos(),
            self.trend.recent_rate,
            self.trend.baseline_rate,
            self.trend.intensity,
            self.trend.age_hours,
            hours_to_restock,
            ahead / inventory.max(1.0),
        ];
        FeatureRecord {
            product_id: item.product_id.clone(),
            window: self.window,
            brand: item.brand.clone(),
            model: item.model.clone(),
            category: item.category.clone(),
            base_price: item.base_price,
            current_price: price,
            cost: item.cost,
            price_version: item.price_version,
            features: values.map(|v| v as f32),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    fn feature_text(v: f32) -> String {
        let mut out = Vec::new();
        append_sized(&mut out, 32, |w| {
            write_feature(w, &mut zmij::Buffer::new(), v)
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

        #[test]
        fn any_feature_is_written_as_serde_writes_it(bits: u32, whole in 0..=WHOLE_MAX) {
            for v in [f32::from_bits(bits), whole as f32] {
                proptest::prop_assert_eq!(feature_text(v), serde_json::to_string(&v).unwrap());
            }
        }
    }

    #[test]
    fn names_are_unique() {
        let mut names = FEATURE_NAMES.to_vec();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), FEATURE_COUNT);
    }

    #[test]
    fn trend_counts_gaps_as_zero_views() {
        let w = |end| Window {
            start: end - 100,
            end,
        };
        let mut t = Trend::default();
        let h = t.advance(w(100), 100, 10.0, 0.5, 0);
        assert_eq!(
            h,
            History {
                prev_views: 10.0,
                ewma_views: 10.0
            }
        );
        let h = t.advance(w(200), 100, 20.0, 0.5, 0);
        assert_eq!(
            h,
            History {
                prev_views: 10.0,
                ewma_views: 10.0
            }
        );
        // ewma is now 15; two empty windows (300, 400) halve it twice.
        let h = t.advance(w(500), 100, 4.0, 0.5, 0);
        assert_eq!(
            h,
            History {
                prev_views: 0.0,
                ewma_views: 3.75
            }
        );
    }

    #[test]
    fn first_sighting_after_a_fully_observed_window_grows_from_zero() {
        let w = Window {
            start: 800,
            end: 900,
        };
        let mut t = Trend::default();
        // Events seen since 700: the window [700, 800) was observed, without this product.
        assert_eq!(
            t.advance(w, 100, 50.0, 0.3, 700),
            History {
                prev_views: 0.0,
                ewma_views: 0.0
            }
        );
        // Events seen only since 701: [700, 800) was partial, so no history.
        let mut t = Trend::default();
        assert_eq!(
            t.advance(w, 100, 50.0, 0.3, 701),
            History {
                prev_views: 50.0,
                ewma_views: 50.0
            }
        );
    }

    #[test]
    fn a_spike_is_a_trend_with_an_age_and_it_ends() {
        const MIN: Millis = 60_000;
        let slide = 10 * MIN;
        let w = |k: i64| Window {
            start: k * slide,
            end: (k + 1) * slide,
        };
        let mut t = Trend::default();
        // Two days at 6 views per hour (1 per 10-minute window).
        for k in 0..288 {
            t.advance(w(k), slide, 1.0, 0.3, 0);
        }
        let quiet = t.now();
        assert!((quiet.baseline_rate - 6.0).abs() < 0.1 * 6.0, "{quiet:?}");
        assert!((quiet.recent_rate - 6.0).abs() < 1e-6, "{quiet:?}");
        assert_eq!(quiet.age_hours, 0.0);
        // A spike: 200 views per window (1 200 per hour) for three hours.
        let mut started = None;
        for k in 288..306 {
            t.advance(w(k), slide, 200.0, 0.3, 0);
            if started.is_none() && t.now().age_hours == 0.0 && t.now().intensity >= TREND_START {
                started = Some(k);
            }
        }
        let hot = t.now();
        // It started in the first spike window and is 17 windows old.
        assert_eq!(started, Some(288));
        assert!((hot.age_hours - 17.0 / 6.0).abs() < 1e-9, "{hot:?}");
        assert!(hot.intensity > 20.0, "{hot:?}");
        assert!(views_ahead(&hot, 24.0) > 24.0 * hot.baseline_rate);
        // Silence for a day: the gap decays the recent rate; the trend ends.
        t.advance(w(450), slide, 1.0, 0.3, 0);
        let after = t.now();
        assert!(after.intensity < TREND_END, "{after:?}");
        assert_eq!(after.age_hours, 0.0);
    }

    #[test]
    fn views_ahead_is_the_baseline_plus_a_decaying_excess() {
        let flat = TrendNow {
            recent_rate: 10.0,
            baseline_rate: 10.0,
            intensity: 1.0,
            age_hours: 0.0,
        };
        assert!((views_ahead(&flat, 5.0) - 50.0).abs() < 1e-9);
        let hot = TrendNow {
            recent_rate: 110.0,
            ..flat
        };
        // The excess of 100/h halves every 12 h: 100 × 12/ln 2 in all.
        let all = 100.0 * EXCESS_HALF_LIFE_HOURS / std::f64::consts::LN_2;
        assert!((views_ahead(&hot, 1e6) - 1e7 - all).abs() < 1e-3);
        let half = views_ahead(&hot, 12.0) - 120.0;
        assert!((half - all / 2.0).abs() < 1e-6);
    }
}
