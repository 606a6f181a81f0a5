//! Feature records: one per (product, window), with an ordered, versioned feature list.

use std::f64::consts::TAU;
use std::sync::Arc;

use crate::aggregate::Aggregate;
use crate::catalog::{CatalogItem, OrderTotals};
use crate::event::EventType;
use crate::time::{DAY, HOUR, Millis};
use crate::window::Window;

mod json;

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
