//! Feature records: one per (product, window), with an ordered, versioned feature list.

use std::f64::consts::TAU;

use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::aggregate::Aggregate;
use crate::catalog::{CatalogItem, OrderTotals};
use crate::event::EventType;
use crate::time::{DAY, HOUR, Millis, format_rfc3339};
use crate::window::Window;

/// Version of [`FEATURE_NAMES`]. Bump it whenever the list, its order or a
/// definition changes; models record the version they were trained on.
pub const FEATURES_VERSION: u32 = 1;

/// The model's input, in order. Definitions are in docs/features.md.
pub const FEATURE_NAMES: [&str; 28] = [
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
];

pub const FEATURE_COUNT: usize = FEATURE_NAMES.len();

/// `days_of_cover` when nothing sells (and the cap for slow sellers).
pub const DAYS_OF_COVER_CAP: f64 = 365.0;

/// Position of a feature in [`FEATURE_NAMES`].
pub fn feature_index(name: &str) -> Option<usize> {
    FEATURE_NAMES.iter().position(|n| *n == name)
}

/// The enriched features of one product over one window; keyed by `(product_id, window.end)`.
#[derive(Clone, Debug, PartialEq)]
pub struct FeatureRecord {
    pub product_id: String,
    pub window: Window,
    pub brand: String,
    pub model: String,
    pub category: String,
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

/// Per-product view history for the growth features, carried across windows.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Trend {
    last_end: Option<Millis>,
    last_views: f64,
    /// EWMA of views over windows up to and including `last_end`.
    ewma: f64,
}

/// What the history says before the current window.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct History {
    pub prev_views: f64,
    pub ewma_views: f64,
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
        let history = match self.last_end {
            None if window.start - slide < observed_since => History {
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
        self.last_end = Some(end);
        self.last_views = views;
        self.ewma = alpha * views + (1.0 - alpha) * history.ewma_views;
        history
    }
}

/// Everything a feature record is computed from.
pub struct FeatureInputs<'a> {
    pub window: Window,
    pub aggregate: &'a Aggregate,
    pub history: History,
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
}
