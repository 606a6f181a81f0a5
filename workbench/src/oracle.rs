//! The oracle as a price model: the simulator's clairvoyant, stock-aware
//! plan (`sim::plan`) asked, at every window's close, for the price of the
//! next window given the stock left. It goes through the same pricer and
//! guardrails as every policy; its plan is bounded by the same floor and
//! ceiling (the ceiling is the fairness cap, `max_ratio` × list).

use pipeline::features::feature_index;
use pipeline::time::HOUR;
use pipeline::{FeatureRecord, Guardrails, Millis, ModelError, PriceModel};
use rustc_hash::FxHashMap;
use sim::Simulator;
use sim::demand::Demand;
use sim::plan::{self, Forecast, Product, ReferenceNow};
use sim::shop::Shop;

pub struct OracleModel {
    forecast: Forecast,
    demand: Demand,
    products: FxHashMap<String, (usize, Product)>,
    /// Per product: the last plan and the (stock, hour) it was made for.
    cache: Vec<Option<(i64, Millis, plan::Plan)>>,
    /// Per product: the shop reference price as the oracle follows it from
    /// the live prices (the EWMA shoppers compare with), and when.
    reference: Vec<Option<(f64, Millis)>>,
    inventory: usize,
}

impl OracleModel {
    pub fn new(sim: &Simulator, shop: &Shop, guardrails: &Guardrails) -> OracleModel {
        let products = shop
            .items()
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let product = Product {
                    base: item.base_price,
                    cost: item.cost,
                    bounds: guardrails.bounds(item),
                };
                (item.product_id.clone(), (i, product))
            })
            .collect();
        OracleModel {
            forecast: sim.forecast(shop),
            demand: sim.demand().clone(),
            products,
            cache: vec![None; shop.len()],
            reference: vec![None; shop.len()],
            inventory: feature_index("inventory").unwrap_or(0),
        }
    }

    /// Follows the shop reference with `price`, the live price since the last window.
    fn observe(&mut self, ix: usize, now: Millis, price: f64) -> ReferenceNow {
        let half = self.forecast.reference_halflife_hours * HOUR as f64;
        let r = self.reference[ix].get_or_insert((price, now));
        let w = 1.0 - 0.5f64.powf((now - r.1).max(0) as f64 / half.max(1.0));
        r.0 += w * (price - r.0);
        r.1 = now;
        ReferenceNow {
            price: r.0,
            halflife_hours: self.forecast.reference_halflife_hours,
        }
    }

    /// The planned price of one product from `now` with `stock` left and
    /// `price` the live price.
    pub fn price(&mut self, product_id: &str, now: Millis, stock: i64, price: f64) -> Option<f64> {
        let &(ix, product) = self.products.get(product_id)?;
        let reference = self.observe(ix, now, price);
        let hour = (now - self.forecast.start).div_euclid(HOUR);
        // Re-plan when the hour changes, or the stock changes where it may bind.
        if let Some((s, h, plan)) = self.cache[ix]
            && h == hour
            && (s == stock || (plan.shadow_price == 0.0 && stock as f64 >= plan.could_sell))
        {
            return Some(plan.price);
        }
        let segments = self.demand.segments().len();
        let ahead = self.forecast.ahead(ix, now, segments);
        let horizon = self.forecast.horizon(now);
        let plan = plan::solve(
            &self.demand,
            product,
            &ahead,
            stock as f64,
            horizon,
            Some(reference),
        );
        self.cache[ix] = Some((stock, hour, plan));
        Some(plan.price)
    }
}

impl PriceModel for OracleModel {
    fn version(&self) -> &str {
        "oracle:stock-aware-plan"
    }

    fn predict(&mut self, records: &[FeatureRecord]) -> Result<Vec<f32>, ModelError> {
        Ok(records
            .iter()
            .map(|r| {
                let stock = r.features[self.inventory].round() as i64;
                match self.price(&r.product_id, r.window.end, stock, r.current_price) {
                    Some(price) => (price / r.base_price) as f32,
                    None => f32::NAN,
                }
            })
            .collect())
    }
}

/// A policy with some products held at fixed ratios of their base price.
pub struct PinnedModel {
    inner: Box<dyn PriceModel + Send>,
    pins: FxHashMap<String, f32>,
    version: String,
}

impl PinnedModel {
    pub fn new(inner: Box<dyn PriceModel + Send>, pins: &[(String, f32)]) -> PinnedModel {
        let listed: Vec<String> = pins.iter().map(|(p, r)| format!("{p}={r}")).collect();
        PinnedModel {
            version: format!("{}[{}]", inner.version(), listed.join(";")),
            inner,
            pins: pins.iter().cloned().collect(),
        }
    }
}

impl PriceModel for PinnedModel {
    fn version(&self) -> &str {
        &self.version
    }

    fn predict(&mut self, records: &[FeatureRecord]) -> Result<Vec<f32>, ModelError> {
        let mut out = self.inner.predict(records)?;
        for (o, r) in out.iter_mut().zip(records) {
            if let Some(&ratio) = self.pins.get(&r.product_id) {
                *o = ratio;
            }
        }
        Ok(out)
    }
}
