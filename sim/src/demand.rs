//! The purchase decision: the probability that a shopper with a full cart
//! buys at the live price, given their price elasticity and the product's
//! recent (reference) price.

use crate::scenario::{DemandModel, DemandSpec, FunnelSpec};

#[derive(Clone, Copy, Debug)]
pub struct Demand {
    model: DemandModel,
    /// Purchase probability at the base price.
    base_rate: f64,
    max_prob: f64,
    reference_sensitivity: f64,
}

impl Demand {
    pub fn new(demand: &DemandSpec, funnel: &FunnelSpec) -> Demand {
        Demand {
            model: demand.model,
            base_rate: funnel.purchase_rate,
            max_prob: demand.max_purchase_prob,
            reference_sensitivity: demand.reference_sensitivity,
        }
    }

    /// P(purchase | cart) at `price` for a shopper with `elasticity`, for a
    /// product with `base` price and recent price `reference`.
    pub fn purchase_probability(
        &self,
        elasticity: f64,
        price: f64,
        base: f64,
        reference: f64,
    ) -> f64 {
        let x = price / base;
        let p = match self.model {
            DemandModel::Elasticity => self.base_rate * x.powf(elasticity),
            DemandModel::Logit => {
                // Log-price logit with the same rate and point elasticity at the base price.
                let q = self.base_rate.clamp(1e-6, 1.0 - 1e-6);
                let a = (q / (1.0 - q)).ln();
                let b = elasticity / (1.0 - q);
                1.0 / (1.0 + (-(a + b * x.ln())).exp())
            }
        };
        (p * self.reference_factor(price, reference)).clamp(0.0, self.max_prob)
    }

    /// Loss aversion: a price above the reference hurts fully, below it helps half as much.
    fn reference_factor(&self, price: f64, reference: f64) -> f64 {
        if self.reference_sensitivity == 0.0 || reference <= 0.0 {
            return 1.0;
        }
        let r = price / reference;
        let s = if r > 1.0 {
            self.reference_sensitivity
        } else {
            self.reference_sensitivity / 2.0
        };
        r.powf(-s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demand(model: DemandModel, sensitivity: f64) -> Demand {
        let spec = DemandSpec {
            model,
            reference_sensitivity: sensitivity,
            ..DemandSpec::default()
        };
        Demand::new(&spec, &FunnelSpec::default())
    }

    #[test]
    fn constant_elasticity_scales_by_the_price_ratio_to_the_elasticity() {
        let d = demand(DemandModel::Elasticity, 0.0);
        let p0 = d.purchase_probability(-2.62, 100.0, 100.0, 100.0);
        assert!((p0 - 0.32).abs() < 1e-12);
        let p1 = d.purchase_probability(-2.62, 110.0, 100.0, 100.0);
        assert!((p1 / p0 - 1.1f64.powf(-2.62)).abs() < 1e-12);
        assert_eq!(
            d.purchase_probability(-2.62, 10.0, 100.0, 100.0),
            0.95,
            "capped"
        );
    }

    #[test]
    fn logit_matches_rate_and_elasticity_at_the_base_price() {
        let d = demand(DemandModel::Logit, 0.0);
        let p = |price: f64| d.purchase_probability(-2.62, price, 100.0, 100.0);
        assert!((p(100.0) - 0.32).abs() < 1e-9);
        let h = 1e-4;
        let elasticity = (p(100.0 * (1.0 + h)).ln() - p(100.0 * (1.0 - h)).ln())
            / ((1.0 + h).ln() - (1.0 - h).ln());
        assert!((elasticity + 2.62).abs() < 1e-3, "{elasticity}");
    }

    #[test]
    fn prices_above_the_reference_hurt_more_than_discounts_help() {
        let d = demand(DemandModel::Elasticity, 1.0);
        let at = d.purchase_probability(-2.62, 100.0, 100.0, 100.0);
        let above = d.purchase_probability(-2.62, 100.0, 100.0, 90.0);
        let below = d.purchase_probability(-2.62, 100.0, 100.0, 110.0);
        assert!((above / at - (100.0f64 / 90.0).powf(-1.0)).abs() < 1e-12);
        assert!((below / at - (100.0f64 / 110.0).powf(-0.5)).abs() < 1e-12);
    }
}
