//! The purchase decision: the probability that a shopper with a full cart
//! buys at the live price. Each segment (regular shoppers, and the fans of
//! each trend) has its own price response and its own reference price.

use crate::scenario::{DemandModel, Reference, Scenario};

/// How a segment's purchase probability responds to price / list price.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Curve {
    /// rate · x^elasticity.
    Elasticity(f64),
    /// Log-price logit with the same rate and point elasticity at list.
    Logit(f64),
    /// rate · S(x) / S(1), S the survival function of a lognormal
    /// willingness to pay (multiples of list) with this median and sigma.
    Wtp { median: f64, sigma: f64 },
}

/// One segment's demand: its curve, what it compares the price with, and
/// how much a price above that reference hurts.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SegmentDemand {
    pub curve: Curve,
    pub reference: Reference,
    /// Extra elasticity against the reference when above it; gains count half.
    pub sensitivity: f64,
}

/// Segment 0 is the regular shoppers, segment `1 + i` the fans of trend `i`.
#[derive(Clone, Debug)]
pub struct Demand {
    /// Purchase probability at the list price (no reference effect).
    base_rate: f64,
    max_prob: f64,
    segments: Vec<SegmentDemand>,
}

pub const REGULAR: usize = 0;

/// Segment index of trend `i`'s fans.
pub fn trend_segment(i: usize) -> usize {
    1 + i
}

impl Demand {
    pub fn new(sc: &Scenario) -> Demand {
        let curve = |elasticity: f64| match sc.demand.model {
            DemandModel::Elasticity => Curve::Elasticity(elasticity),
            DemandModel::Logit => Curve::Logit(elasticity),
        };
        let mut segments = vec![SegmentDemand {
            curve: curve(sc.demand.elasticity),
            reference: sc.demand.reference,
            sensitivity: sc.demand.reference_sensitivity,
        }];
        segments.extend(sc.trend.iter().map(|t| SegmentDemand {
            curve: match t.wtp {
                Some(w) => Curve::Wtp {
                    median: w.median,
                    sigma: w.sigma,
                },
                None => curve(t.elasticity),
            },
            reference: t.reference,
            sensitivity: t.reference_sensitivity,
        }));
        Demand {
            base_rate: sc.funnel.purchase_rate,
            max_prob: sc.demand.max_purchase_prob,
            segments,
        }
    }

    pub fn segments(&self) -> &[SegmentDemand] {
        &self.segments
    }

    /// The price a segment compares with: the shop's recent price, the list
    /// price, or a multiple of it (a resale level).
    pub fn reference(&self, segment: usize, base: f64, shop_reference: f64) -> f64 {
        match self.segments[segment].reference {
            Reference::Shop => shop_reference,
            Reference::List => base,
            Reference::Ratio(r) => base * r,
        }
    }

    /// P(purchase | cart) at `price` for a shopper of `segment`, for a
    /// product with list price `base` and shop reference `shop_reference`.
    pub fn probability(&self, segment: usize, price: f64, base: f64, shop_reference: f64) -> f64 {
        let s = &self.segments[segment];
        let reference = self.reference(segment, base, shop_reference);
        (self.curve(s.curve, price / base) * reference_factor(s.sensitivity, price, reference))
            .clamp(0.0, self.max_prob)
    }

    /// Σ weight × P(buy) at `price` over several shop-reference states
    /// (`(weight, shop_reference)` pairs): the curve is evaluated once, the
    /// reference factor once per state (or once, for a segment that does not
    /// look at the shop's price).
    pub fn expected_buyers(
        &self,
        segment: usize,
        price: f64,
        base: f64,
        states: &[(f64, f64)],
    ) -> f64 {
        let s = &self.segments[segment];
        let curve = self.curve(s.curve, price / base);
        let total: f64 = states.iter().map(|st| st.0).sum();
        let at = |reference: f64| {
            (curve * reference_factor(s.sensitivity, price, reference)).clamp(0.0, self.max_prob)
        };
        if s.reference != Reference::Shop || s.sensitivity == 0.0 {
            return total * at(self.reference(segment, base, base));
        }
        states.iter().map(|&(w, r)| w * at(r)).sum()
    }

    fn curve(&self, curve: Curve, x: f64) -> f64 {
        match curve {
            Curve::Elasticity(e) => self.base_rate * x.powf(e),
            Curve::Logit(e) => {
                let q = self.base_rate.clamp(1e-6, 1.0 - 1e-6);
                let a = (q / (1.0 - q)).ln();
                let b = e / (1.0 - q);
                1.0 / (1.0 + (-(a + b * x.ln())).exp())
            }
            Curve::Wtp { median, sigma } => {
                let survival =
                    |x: f64| 0.5 * libm::erfc((x.ln() - median.ln()) / (sigma * 2f64.sqrt()));
                self.base_rate * survival(x) / survival(1.0).max(1e-12)
            }
        }
    }
}

/// Loss aversion: a price above the reference hurts fully, below it helps half as much.
fn reference_factor(sensitivity: f64, price: f64, reference: f64) -> f64 {
    if sensitivity == 0.0 || reference <= 0.0 {
        return 1.0;
    }
    let r = price / reference;
    let s = if r > 1.0 {
        sensitivity
    } else {
        sensitivity / 2.0
    };
    // The default exponents (1 for losses, ½ for gains) without a pow: the
    // oracle evaluates this millions of times.
    if s == 1.0 {
        1.0 / r
    } else if s == 0.5 {
        1.0 / r.sqrt()
    } else {
        r.powf(-s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{DemandSpec, Wtp};

    fn demand(model: DemandModel, sensitivity: f64) -> Demand {
        let mut sc = Scenario::parse(
            "name = \"t\"\nstart = \"2026-11-23T00:00:00Z\"\nduration = \"1d\"\n\
             [[trend]]\nlabel = \"x\"\nproduct = \"sku-0001\"\nat = \"1h\"\nshock = 1\nbranching = 0.1\ndecay = \"1h\"\n",
        )
        .unwrap();
        sc.demand = DemandSpec {
            model,
            reference_sensitivity: sensitivity,
            ..DemandSpec::default()
        };
        sc.trend[0].wtp = Some(Wtp {
            median: 1.5,
            sigma: 0.4,
        });
        Demand::new(&sc)
    }

    #[test]
    fn constant_elasticity_scales_by_the_price_ratio_to_the_elasticity() {
        let d = demand(DemandModel::Elasticity, 0.0);
        let p0 = d.probability(REGULAR, 100.0, 100.0, 100.0);
        assert!((p0 - 0.32).abs() < 1e-12);
        let p1 = d.probability(REGULAR, 110.0, 100.0, 100.0);
        assert!((p1 / p0 - 1.1f64.powf(-2.62)).abs() < 1e-12);
        assert_eq!(d.probability(REGULAR, 10.0, 100.0, 100.0), 0.95, "capped");
    }

    #[test]
    fn logit_matches_rate_and_elasticity_at_the_base_price() {
        let d = demand(DemandModel::Logit, 0.0);
        let p = |price: f64| d.probability(REGULAR, price, 100.0, 100.0);
        assert!((p(100.0) - 0.32).abs() < 1e-9);
        let h = 1e-4;
        let elasticity = (p(100.0 * (1.0 + h)).ln() - p(100.0 * (1.0 - h)).ln())
            / ((1.0 + h).ln() - (1.0 - h).ln());
        assert!((elasticity + 2.62).abs() < 1e-3, "{elasticity}");
    }

    #[test]
    fn prices_above_the_reference_hurt_more_than_discounts_help() {
        let d = demand(DemandModel::Elasticity, 1.0);
        let at = d.probability(REGULAR, 100.0, 100.0, 100.0);
        let above = d.probability(REGULAR, 100.0, 100.0, 90.0);
        let below = d.probability(REGULAR, 100.0, 100.0, 110.0);
        assert!((above / at - (100.0f64 / 90.0).powf(-1.0)).abs() < 1e-12);
        assert!((below / at - (100.0f64 / 110.0).powf(-0.5)).abs() < 1e-12);
    }

    #[test]
    fn fans_buy_at_the_funnel_rate_at_list_and_half_as_often_at_their_median() {
        let d = demand(DemandModel::Elasticity, 1.0);
        let fans = trend_segment(0);
        // Fans anchor on list by default: the shop's history does not matter.
        let at_list = d.probability(fans, 100.0, 100.0, 60.0);
        assert!((at_list - 0.32).abs() < 1e-9, "{at_list}");
        let at_median = d.probability(fans, 150.0, 100.0, 60.0);
        let s1 = 0.5 * libm::erfc(-(1.5f64.ln()) / (0.4 * 2f64.sqrt()));
        assert!((at_median - 0.32 * 0.5 / s1).abs() < 1e-9, "{at_median}");
        // Their point elasticity at list is low (about −0.7).
        let h = 1e-4;
        let p = |x: f64| d.probability(fans, 100.0 * x, 100.0, 100.0);
        let e = (p(1.0 + h).ln() - p(1.0 - h).ln()) / ((1.0 + h).ln() - (1.0 - h).ln());
        assert!((-0.8..-0.6).contains(&e), "{e}");
    }
}
