//! The oracle as a price model: the simulator's clairvoyant, stock-aware
//! planner (`sim::planner`) asked, at every window's close, for the price of
//! the next window given the stock left. It goes through the same pricer and
//! guardrails as every policy; its plan is bounded by the same floor and
//! ceiling (the ceiling is the fairness cap, `max_ratio` × list).

use pipeline::features::feature_index;
use pipeline::{FeatureRecord, Guardrails, ModelError, PriceModel};
use rustc_hash::FxHashMap;
use sim::Simulator;
use sim::planner::Planner;
use sim::shop::Shop;

pub struct OracleModel {
    planner: Planner,
    version: &'static str,
    ix: FxHashMap<String, u32>,
    inventory: usize,
}

impl OracleModel {
    /// `reactive`: each trend is known only once it has started.
    pub fn new(
        sim: &Simulator,
        shop: &Shop,
        guardrails: &Guardrails,
        reactive: bool,
    ) -> OracleModel {
        let planner = Planner::new(sim, shop, |item| guardrails.bounds(item));
        let (planner, version) = if reactive {
            (planner.reactive(), "oracle:reactive-plan")
        } else {
            (planner, "oracle:stock-aware-plan")
        };
        OracleModel {
            planner,
            version,
            ix: shop
                .items()
                .iter()
                .enumerate()
                .map(|(i, item)| (item.product_id.to_string(), i as u32))
                .collect(),
            inventory: feature_index("inventory").unwrap_or(0),
        }
    }
}

impl PriceModel for OracleModel {
    fn version(&self) -> &str {
        self.version
    }

    fn predict(&mut self, records: &[FeatureRecord]) -> Result<Vec<f32>, ModelError> {
        Ok(records
            .iter()
            .map(|r| match self.ix.get(&*r.product_id) {
                Some(&p) => {
                    let stock = r.features[self.inventory].round() as i64;
                    let price = self.planner.price(p, r.window.end, stock, r.current_price);
                    (price / r.base_price) as f32
                }
                None => f32::NAN,
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
            if let Some(&ratio) = self.pins.get(&*r.product_id) {
                *o = ratio;
            }
        }
        Ok(out)
    }
}
