//! The scenario's demand: its segments' purchase curves (`pipeline::demand`),
//! the regular shoppers first, then the fans of each trend.

pub use pipeline::demand::{Curve, Demand, REGULAR, SegmentDemand, trend_segment};

use crate::scenario::{DemandModel, Scenario};

/// The purchase curves a scenario's shoppers decide by.
pub fn from_scenario(sc: &Scenario) -> Demand {
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
    Demand::new(
        sc.funnel.purchase_rate,
        sc.demand.max_purchase_prob,
        segments,
    )
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
        from_scenario(&sc)
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
