//! The oracle: the simulator knows every shopper's demand curve, so for each
//! (product, window) it can say which price would have earned most, given
//! the shoppers who reached the purchase decision and the stock on hand.
//!
//! Arrivals and carts do not depend on the price (only the purchase step
//! does), so the expected units at price p are Σ P(buy | p) over the window's
//! decisions, capped by stock; the oracle maximizes p · units (revenue) or
//! (p − cost) · units (profit) over a fine grid within the product's bounds.

use pipeline::time::serialize_rfc3339;
use pipeline::{CatalogItem, Millis};
use serde::Serialize;

use crate::demand::Demand;

/// Shoppers at the purchase decision: `weight` of them (1 for a realized
/// shopper, fractional for an expected count) of one demand segment, with
/// the shop's reference price at the time.
#[derive(Clone, Copy, Debug)]
pub struct Decision {
    pub segment: u16,
    pub reference: f32,
    pub weight: f32,
}

/// The best prices for one (product, window).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OracleRecord {
    pub product_id: String,
    #[serde(serialize_with = "serialize_rfc3339")]
    pub window_start: Millis,
    #[serde(serialize_with = "serialize_rfc3339")]
    pub window_end: Millis,
    pub decisions: u32,
    pub stock: i64,
    pub base_price: f64,
    /// The live price at the window's first decision.
    pub price: f64,
    pub revenue_price: f64,
    pub profit_price: f64,
    /// revenue_price / base_price: the training label.
    pub revenue_ratio: f64,
    pub profit_ratio: f64,
    /// Expected revenue at `price` and at `revenue_price`.
    pub expected_revenue: f64,
    pub optimal_revenue: f64,
}

/// Lowest and highest price the oracle may choose: the catalog's hard bounds
/// and never below cost or MAP.
pub fn bounds(item: &CatalogItem) -> (f64, f64) {
    let lo = item.min_price.max(item.map_price).max(item.cost);
    (lo, item.max_price.max(lo))
}

const GRID: usize = 200;

/// Computes the oracle for one window's decisions.
pub fn solve(
    demand: &Demand,
    item: &CatalogItem,
    window: (Millis, Millis),
    decisions: &[Decision],
    stock: i64,
    price: f64,
) -> OracleRecord {
    let units = |p: f64| -> f64 {
        let d: f64 = decisions
            .iter()
            .map(|x| {
                f64::from(x.weight)
                    * demand.probability(
                        usize::from(x.segment),
                        p,
                        item.base_price,
                        f64::from(x.reference),
                    )
            })
            .sum();
        d.min(stock.max(0) as f64)
    };
    let (lo, hi) = bounds(item);
    let (mut best_rev, mut best_profit) = ((lo, f64::MIN), (lo, f64::MIN));
    for i in 0..=GRID {
        let p = lo + (hi - lo) * i as f64 / GRID as f64;
        let u = units(p);
        if p * u > best_rev.1 + 1e-9 {
            best_rev = (p, p * u);
        }
        if (p - item.cost) * u > best_profit.1 + 1e-9 {
            best_profit = (p, (p - item.cost) * u);
        }
    }
    OracleRecord {
        product_id: item.product_id.to_string(),
        window_start: window.0,
        window_end: window.1,
        decisions: decisions.iter().map(|d| d.weight).sum::<f32>().round() as u32,
        stock,
        base_price: item.base_price,
        price,
        revenue_price: round_cents(best_rev.0),
        profit_price: round_cents(best_profit.0),
        revenue_ratio: best_rev.0 / item.base_price,
        profit_ratio: best_profit.0 / item.base_price,
        expected_revenue: price * units(price),
        optimal_revenue: best_rev.1,
    }
}

fn round_cents(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demand::{REGULAR, trend_segment};
    use crate::scenario::Scenario;

    fn item() -> CatalogItem {
        testkit::fixtures::item("p")
    }

    /// Regular shoppers at −2.62, fans at −0.6, no reference effect.
    fn demand() -> Demand {
        let sc = Scenario::parse(
            "name = \"t\"\nstart = \"2026-11-23T00:00:00Z\"\nduration = \"1d\"\n\
             [demand]\nreference_sensitivity = 0.0\n\
             [[trend]]\nlabel = \"x\"\nproduct = \"sku-0001\"\nat = \"1h\"\nshock = 1\nbranching = 0.1\ndecay = \"1h\"\nelasticity = -0.6\n",
        )
        .unwrap();
        crate::demand::from_scenario(&sc)
    }

    fn shoppers(segment: usize, n: usize) -> Vec<Decision> {
        vec![
            Decision {
                segment: segment as u16,
                reference: 100.0,
                weight: 1.0,
            };
            n
        ]
    }

    #[test]
    fn elastic_shoppers_want_the_floor_inelastic_fans_the_ceiling() {
        let d = demand();
        let r = solve(
            &d,
            &item(),
            (0, 100_000),
            &shoppers(REGULAR, 10),
            100,
            100.0,
        );
        assert_eq!(
            r.revenue_price, 80.0,
            "|ε| > 1: lower is better, down to MAP"
        );
        let r = solve(
            &d,
            &item(),
            (0, 100_000),
            &shoppers(trend_segment(0), 10),
            100,
            100.0,
        );
        assert_eq!(
            r.revenue_price, 160.0,
            "|ε| < 1: higher is better, up to the max"
        );
    }

    #[test]
    fn scarce_stock_raises_the_price() {
        let d = demand();
        let many = shoppers(REGULAR, 100);
        let plenty = solve(&d, &item(), (0, 1), &many, 1_000, 100.0);
        let scarce = solve(&d, &item(), (0, 1), &many, 5, 100.0);
        assert!(scarce.revenue_price > plenty.revenue_price);
        assert!(scarce.optimal_revenue >= scarce.expected_revenue);
        // Profit-optimal for constant elasticity: cost · ε/(1+ε) = 45 · 1.617 = 72.8, below MAP.
        assert_eq!(plenty.profit_price, 80.0);
    }

    #[test]
    fn weights_count_as_that_many_shoppers() {
        let d = demand();
        let ten_singles = shoppers(REGULAR, 10);
        let one_weighted = vec![Decision {
            weight: 10.0,
            ..ten_singles[0]
        }];
        let a = solve(&d, &item(), (0, 1), &ten_singles, 3, 100.0);
        let b = solve(&d, &item(), (0, 1), &one_weighted, 3, 100.0);
        assert_eq!(a.revenue_price, b.revenue_price);
        assert!((a.optimal_revenue - b.optimal_revenue).abs() < 1e-9);
    }
}
