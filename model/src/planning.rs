//! The `plan` policy: predict, then optimize (the approach Ferreira, Lee &
//! Simchi-Levi 2016 field-tested at Rue La La), from the feature records
//! alone — it never sees the simulator.
//!
//! Per record it forecasts the shoppers who will reach the purchase
//! decision every hour until the next restock: regular shoppers at the
//! product's share of the shop's ordinary traffic (both learned online from
//! the records: the share from its views outside trends, the shop's traffic
//! as an average and as its rate over the last hour, which carries the daily
//! rhythm), and — while the product's views (the faster of its last hour
//! and a quarter-hour average) are well above what its share of the shop's
//! current traffic predicts — the excess as the
//! trend's fans, halving every `fan_halflife_hours`. Views become decisions
//! at the shop's cart rate, learned online too (carts do not depend on the
//! price, so the ratio is unbiased). It
//! then solves the stock-aware plan (`pipeline::plan`: hourly prices
//! maximizing expected profit subject to expected sales ≤ stock) with the
//! segments' purchase curves, and proposes the plan's price for now. Re-solved
//! every window, so it follows what actually sold. The purchase curves are
//! estimated offline (the configuration's `[model]` keys; the workbench
//! takes them from the scenario's demand section, as `static-opt` takes its
//! elasticity). Deterministic: the same records give the same prices.

use std::sync::Arc;

use pipeline::demand::{Curve, Demand, Reference, SegmentDemand};
use pipeline::features::feature_index;
use pipeline::plan::{self, Product, ReferenceNow};
use pipeline::time::HOUR;
use pipeline::{FeatureRecord, Millis, ModelError, PriceModel};
use rustc_hash::FxHashMap;
use serde::Deserialize;

/// What the policy knows about demand and the shop's bounds (estimated offline).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PlanParams {
    /// P(buy | cart) at the list price.
    pub purchase_rate: f64,
    /// Cap on the purchase probability however low the price.
    pub max_purchase_prob: f64,
    /// Regular shoppers' price elasticity.
    pub elasticity: f64,
    /// `true`: a log-price logit with that elasticity at list instead of a
    /// constant elasticity.
    pub logit: bool,
    /// What regular shoppers compare the price with (`"shop"`: its recent price).
    pub reference: Reference,
    /// Extra elasticity against that reference when above it (gains count half).
    pub reference_sensitivity: f64,
    /// Half-life of the shop's recent price that shoppers remember.
    pub reference_halflife_hours: f64,
    /// The fans a trend brings.
    pub fans: FanParams,
    /// A trend's excess views halve in this time.
    pub fan_halflife_hours: f64,
    /// Less excess (views per hour over the expected) is noise, not fans.
    pub min_excess_views_per_hour: f64,
    /// A product's trend signals count only after this much of its history
    /// (its share of the shop's traffic needs a few hours of views to settle).
    pub warmup_hours: f64,
    /// Longest planning horizon (without a scheduled restock).
    pub horizon_hours: f64,
    /// The end of the selling season (epoch ms; stock left after it is worth
    /// nothing to the plan), if there is one: the workbench's run end.
    pub season_end: Option<Millis>,
    /// The pricer's floor and ceiling as the plan sees them: at least cost ×
    /// (1 + min_margin) and floor_ratio × list, at most max_ratio × list.
    pub min_margin: f64,
    pub floor_ratio: f64,
    pub max_ratio: f64,
}

/// The fans' price response: a lognormal willingness to pay (multiples of
/// list) when `wtp_median` is set, else a constant elasticity.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FanParams {
    pub wtp_median: Option<f64>,
    pub wtp_sigma: f64,
    pub elasticity: f64,
    pub reference: Reference,
    pub reference_sensitivity: f64,
}

impl Default for PlanParams {
    fn default() -> Self {
        PlanParams {
            purchase_rate: 0.32,
            max_purchase_prob: 0.95,
            elasticity: -2.62,
            logit: false,
            reference: Reference::Shop,
            reference_sensitivity: 1.0,
            reference_halflife_hours: 24.0,
            fans: FanParams::default(),
            fan_halflife_hours: pipeline::features::EXCESS_HALF_LIFE_HOURS,
            min_excess_views_per_hour: 60.0,
            warmup_hours: 24.0,
            horizon_hours: 168.0,
            season_end: None,
            min_margin: 0.10,
            floor_ratio: 0.8,
            max_ratio: 1.5,
        }
    }
}

impl Default for FanParams {
    fn default() -> Self {
        FanParams {
            wtp_median: None,
            wtp_sigma: 0.4,
            elasticity: -1.2,
            reference: Reference::List,
            reference_sensitivity: 0.0,
        }
    }
}

impl PlanParams {
    /// The purchase curves: regular shoppers, then fans.
    pub fn demand(&self) -> Demand {
        let curve = |e: f64| {
            if self.logit {
                Curve::Logit(e)
            } else {
                Curve::Elasticity(e)
            }
        };
        let fans = match self.fans.wtp_median {
            Some(median) => Curve::Wtp {
                median,
                sigma: self.fans.wtp_sigma,
            },
            None => curve(self.fans.elasticity),
        };
        Demand::new(
            self.purchase_rate,
            self.max_purchase_prob,
            vec![
                SegmentDemand {
                    curve: curve(self.elasticity),
                    reference: self.reference,
                    sensitivity: self.reference_sensitivity,
                },
                SegmentDemand {
                    curve: fans,
                    reference: self.fans.reference,
                    sensitivity: self.fans.reference_sensitivity,
                },
            ],
        )
    }

    /// Every setting in range; the error names the key.
    pub fn validate(&self) -> Result<(), String> {
        let positive = [
            ("purchase_rate", self.purchase_rate),
            ("max_purchase_prob", self.max_purchase_prob),
            ("reference_halflife_hours", self.reference_halflife_hours),
            ("fan_halflife_hours", self.fan_halflife_hours),
            ("horizon_hours", self.horizon_hours),
            ("max_ratio", self.max_ratio),
            ("fans.wtp_sigma", self.fans.wtp_sigma),
        ];
        for (key, v) in positive {
            if !(v.is_finite() && v > 0.0) {
                return Err(format!("`{key}` must be positive, got {v}"));
            }
        }
        for (key, v) in [
            ("elasticity", self.elasticity),
            ("fans.elasticity", self.fans.elasticity),
        ] {
            if !(v.is_finite() && v < 0.0) {
                return Err(format!("`{key}` must be negative, got {v}"));
            }
        }
        if self.purchase_rate > 1.0 || self.max_purchase_prob > 1.0 {
            return Err("`purchase_rate` and `max_purchase_prob` are probabilities (≤ 1)".into());
        }
        Ok(())
    }
}

/// A prior for the views → purchase-decision ratio: this many views at 5 %.
const PRIOR_VIEWS: f64 = 2_000.0;
const PRIOR_RATIO: f64 = 0.05;
/// Half-life of the policy's own fast view rate (a trend is priced within minutes).
const FAST_HALFLIFE_HOURS: f64 = 0.25;

#[derive(Clone, Copy, Debug)]
struct ProductState {
    /// The shop price shoppers remember (EWMA of the live price) and when.
    reference: f64,
    at: Millis,
    /// Views per hour, fast EWMA.
    fast: f64,
    /// The product's first window end.
    since: Millis,
    /// Whether the product is in a trend now (with hysteresis).
    trending: bool,
    /// Its views outside trends, and the shop's views since it was first seen:
    /// its share of the shop's ordinary traffic.
    own: f64,
    shop_at_first: f64,
    /// The last plan outside a trend and the (stock, hour) it was made for:
    /// an ordinary product's plan changes only with its stock or the hour.
    cached: Option<(i64, Millis, f32)>,
}

/// Shop-wide traffic, learned online from the records: views per hour over
/// about the last hour (an EWMA of closed windows: it carries the daily
/// rhythm) and on average since the first record.
#[derive(Clone, Debug, Default)]
struct Traffic {
    /// The window being summed: (start, end, views).
    window: Option<(Millis, Millis, f64)>,
    /// Views per hour, EWMA with a one-hour half-life.
    rate: Option<f64>,
    total: f64,
    first: Option<Millis>,
}

impl Traffic {
    fn add(&mut self, start: Millis, end: Millis, views: f64) {
        self.total += views;
        self.first.get_or_insert(start);
        match self.window {
            Some((s, e, v)) if e == end => self.window = Some((s, e, v + views)),
            Some((s, e, v)) if e < end => {
                self.fold(s, e, v);
                self.window = Some((start, end, views));
            }
            Some(_) => {} // a late record of an earlier window: in the total only
            None => self.window = Some((start, end, views)),
        }
    }

    fn fold(&mut self, start: Millis, end: Millis, views: f64) {
        let hours = (end - start).max(1) as f64 / HOUR as f64;
        let now = views / hours;
        let w = 1.0 - 0.5f64.powf(hours);
        self.rate = Some(self.rate.map_or(now, |r| r + w * (now - r)));
    }

    /// Views per hour now (the last closed windows).
    fn now(&self) -> f64 {
        self.rate.unwrap_or(0.0)
    }

    /// Views per hour on average since the first record.
    fn mean(&self, end: Millis) -> f64 {
        let hours = (end - self.first.unwrap_or(end)).max(1) as f64 / HOUR as f64;
        self.total / hours.max(1.0)
    }
}

struct Columns {
    views: usize,
    carts: usize,
    inventory: usize,
    recent: usize,
    restock: usize,
}

pub struct PlanningModel {
    params: PlanParams,
    demand: Demand,
    columns: Columns,
    products: FxHashMap<Arc<str>, ProductState>,
    traffic: Traffic,
    views: f64,
    decisions: f64,
}

impl PlanningModel {
    pub fn new(params: PlanParams) -> Result<PlanningModel, String> {
        params.validate()?;
        let col = |name: &str| {
            feature_index(name).ok_or_else(|| format!("the pipeline has no feature `{name}`"))
        };
        Ok(PlanningModel {
            demand: params.demand(),
            columns: Columns {
                views: col("views")?,
                carts: col("add_to_carts")?,
                inventory: col("inventory")?,
                recent: col("views_per_hour_recent")?,
                restock: col("hours_to_restock")?,
            },
            params,
            products: FxHashMap::default(),
            traffic: Traffic::default(),
            views: 0.0,
            decisions: 0.0,
        })
    }

    /// The proposed ratio to list for one record (in record order: state
    /// carries from each window to the next).
    fn propose(&mut self, r: &FeatureRecord) -> f32 {
        let c = &self.columns;
        let get = |i: usize| f64::from(r.features[i]);
        let (views, carts) = (get(c.views), get(c.carts));
        self.views += views;
        self.decisions += carts;
        self.traffic.add(r.window.start, r.window.end, views);
        let shop_total = self.traffic.total;
        let shop_products = self.products.len().max(1) as f64;
        let per_view = (self.decisions + PRIOR_RATIO * PRIOR_VIEWS) / (self.views + PRIOR_VIEWS);
        let hours = (r.window.end - r.window.start).max(1) as f64 / HOUR as f64;
        let p = &self.params;
        let state = self
            .products
            .entry(r.product_id.clone())
            .or_insert(ProductState {
                reference: r.current_price,
                at: r.window.end,
                fast: get(c.recent),
                since: r.window.end,
                trending: false,
                own: 0.0,
                shop_at_first: shop_total - views,
                cached: None,
            });
        // The remembered price follows the live one.
        let since = (r.window.end - state.at).max(0) as f64 / HOUR as f64;
        let w = 1.0 - 0.5f64.powf(since / p.reference_halflife_hours);
        state.reference += w * (r.current_price - state.reference);
        state.at = r.window.end;
        let w = 1.0 - 0.5f64.powf(hours / FAST_HALFLIFE_HOURS);
        state.fast += w * (views / hours - state.fast);
        let stock = get(c.inventory).round();
        if stock <= 0.0 || r.base_price <= 0.0 {
            // Nothing to sell: hold.
            return (r.current_price / r.base_price) as f32;
        }
        // The product's share of the shop's ordinary traffic (a prior of an
        // even share for its first views), so its expected views now follow
        // the shop's: the daily rhythm is not a trend, and a cold start
        // needs no history of its own.
        let prior = 500.0;
        let share =
            (state.own + prior / shop_products) / ((shop_total - state.shop_at_first) + prior);
        let expected = share * self.traffic.now();
        let baseline = share * self.traffic.mean(r.window.end);
        // A trend is views well above that: fans, whose excess decays.
        let settled = (r.window.end - state.since) as f64 >= p.warmup_hours * HOUR as f64;
        // Detected and sized on the faster of the hour-long rate and the
        // quarter-hour one: a spike shows in the fast rate minutes before
        // the hourly one, and every minute of it sells pairs at list.
        let detected = state.fast.max(get(c.recent)) - expected;
        let threshold = if state.trending { 0.5 } else { 2.0 };
        state.trending = settled
            && detected >= p.min_excess_views_per_hour
            && detected >= threshold * expected.max(1.0);
        let excess = if state.trending {
            detected.max(0.0)
        } else {
            state.own += views;
            0.0
        };
        let hour = r.window.end.div_euclid(HOUR);
        let key = (stock as i64, hour);
        if !state.trending
            && let Some((s, h, ratio)) = state.cached
            && (s, h) == key
        {
            return ratio;
        }
        let season = p.season_end.map_or(f64::INFINITY, |end| {
            (end - r.window.end) as f64 / HOUR as f64
        });
        let horizon = get(c.restock).min(season).clamp(1.0, p.horizon_hours);
        let rows = horizon.ceil() as usize;
        let ahead: Vec<Vec<f64>> = (0..rows)
            .map(|h| {
                let part = (horizon - h as f64).min(1.0);
                let fans = excess * 0.5f64.powf((h as f64 + 0.5) / p.fan_halflife_hours);
                vec![baseline * per_view * part, fans * per_view * part]
            })
            .collect();
        let base = r.base_price;
        let lo = (r.cost * (1.0 + p.min_margin)).max(base * p.floor_ratio);
        let product = Product {
            base,
            cost: r.cost,
            bounds: (lo, (base * p.max_ratio).max(lo)),
        };
        let reference = ReferenceNow {
            price: state.reference,
            halflife_hours: p.reference_halflife_hours,
        };
        let planned = plan::solve(&self.demand, product, &ahead, stock, 0, Some(reference));
        let ratio = (planned.price / base) as f32;
        state.cached = (!state.trending).then_some((key.0, key.1, ratio));
        ratio
    }
}

impl PriceModel for PlanningModel {
    fn version(&self) -> &str {
        "plan:v1"
    }

    fn predict(&mut self, records: &[FeatureRecord]) -> Result<Vec<f32>, ModelError> {
        Ok(records.iter().map(|r| self.propose(r)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pipeline::{FEATURE_COUNT, Window};

    const WINDOW: Millis = 100_000;

    /// A shoe (list 100, cost 50) at `price` with `stock`, `views` in the
    /// window and the given hourly rates.
    fn record(
        end: Millis,
        price: f64,
        stock: f32,
        views: f32,
        recent: f32,
        baseline: f32,
    ) -> FeatureRecord {
        let mut f = [0.0f32; FEATURE_COUNT];
        let mut set = |name: &str, v: f32| f[feature_index(name).unwrap()] = v;
        set("views", views);
        set("add_to_carts", views * 0.05);
        set("inventory", stock);
        set("views_per_hour_recent", recent);
        set("views_per_hour_baseline", baseline);
        set("hours_to_restock", 720.0);
        FeatureRecord {
            product_id: "sku-1".into(),
            window: Window {
                start: end - WINDOW,
                end,
            },
            brand: "B".into(),
            model: "M".into(),
            category: "sneakers".into(),
            base_price: 100.0,
            current_price: price,
            cost: 50.0,
            price_version: 0,
            features: f,
        }
    }

    fn model() -> PlanningModel {
        PlanningModel::new(PlanParams {
            reference_sensitivity: 0.0,
            fans: FanParams {
                wtp_median: Some(1.5),
                ..FanParams::default()
            },
            ..PlanParams::default()
        })
        .unwrap()
    }

    /// Two quiet days at 10 views per hour, then `last`.
    fn run(m: &mut PlanningModel, last: impl Fn(Millis) -> FeatureRecord) -> f32 {
        let mut end = 1_795_824_000_000;
        for _ in 0..(48 * 36) {
            m.predict(&[record(end, 100.0, 1e5, 0.28, 10.0, 10.0)])
                .unwrap();
            end += WINDOW;
        }
        m.predict(&[last(end)]).unwrap()[0]
    }

    #[test]
    fn with_plenty_of_stock_and_no_trend_it_proposes_the_static_profit_optimum() {
        let mut m = model();
        let ratio = run(&mut m, |end| record(end, 100.0, 1e5, 0.28, 10.0, 10.0));
        // c · ε / (1 + ε) for ε = −2.62 and c = 50, above the floor of 0.8 × list.
        let opt = 50.0 * 2.62 / 1.62 / 100.0;
        assert!((f64::from(ratio) - opt).abs() < 0.01, "{ratio} vs {opt}");
    }

    #[test]
    fn a_trend_raises_the_price_toward_what_fans_pay_and_scarce_stock_raises_it_more() {
        let quiet = run(&mut model(), |end| {
            record(end, 100.0, 1e5, 0.28, 10.0, 10.0)
        });
        // Fans: 600 views in the last hour where 10 are usual.
        let fans = run(&mut model(), |end| {
            record(end, 100.0, 1e5, 17.0, 600.0, 10.0)
        });
        assert!(fans > quiet + 0.2, "{fans} vs {quiet}");
        let scarce = run(&mut model(), |end| {
            record(end, 100.0, 3.0, 17.0, 600.0, 10.0)
        });
        assert!(scarce >= fans && scarce <= 1.5 + 1e-6, "{scarce} vs {fans}");
    }

    #[test]
    fn a_spike_is_priced_within_minutes_before_the_hourly_rate_shows_it() {
        // A shoe at 10 views per hour in a shop of 1 000, for two days; then
        // 360 per hour for three windows (5 minutes), which the hourly rate
        // shows as 20, 30, 40.
        let mut m = model();
        let mut end = 1_795_824_000_000;
        let mut window = |m: &mut PlanningModel, views: f32, recent: f32| {
            let shop = FeatureRecord {
                product_id: "sku-2".into(),
                ..record(end, 100.0, 1e5, 27.5, 990.0, 990.0)
            };
            let shoe = record(end, 100.0, 1e5, views, recent, 10.0);
            end += WINDOW;
            m.predict(&[shop, shoe]).unwrap()[1]
        };
        let mut quiet = 0.0;
        for _ in 0..(48 * 36) {
            quiet = window(&mut m, 0.28, 10.0);
        }
        let spike: Vec<f32> = [20.0, 30.0, 40.0]
            .into_iter()
            .map(|recent| window(&mut m, 10.0, recent))
            .collect();
        assert!(spike[2] > quiet + 0.1, "{spike:?} vs {quiet}");
    }

    #[test]
    fn a_cold_start_is_not_a_trend_and_the_same_records_give_the_same_prices() {
        let mut m = model();
        let first = m
            .predict(&[record(1_795_824_000_000, 100.0, 1e5, 17.0, 600.0, 10.0)])
            .unwrap();
        let opt = 50.0 * 2.62 / 1.62 / 100.0;
        assert!((f64::from(first[0]) - opt).abs() < 0.02, "{first:?}");
        let a = run(&mut model(), |end| {
            record(end, 120.0, 40.0, 17.0, 600.0, 10.0)
        });
        let b = run(&mut model(), |end| {
            record(end, 120.0, 40.0, 17.0, 600.0, 10.0)
        });
        assert_eq!(a, b);
    }

    #[test]
    fn parameters_out_of_range_name_the_key() {
        let e = PlanningModel::new(PlanParams {
            elasticity: 0.5,
            ..PlanParams::default()
        })
        .err()
        .unwrap();
        assert!(e.contains("`elasticity`"), "{e}");
    }
}
