//! The stock-aware plan of one product's prices (the fluid relaxation with
//! one stock shadow price λ, Gallego & van Ryzin 1994): hourly prices until
//! the next restock maximizing expected profit Σ (p − c) · D_h(p) subject to
//! expected sales ≤ stock. For a given λ every hour is priced on its own at
//! argmax (p − c − λ) · D_h(p); λ is the smallest value whose plan sells no
//! more than the stock (bisection). Sans-IO: the caller supplies the
//! expected shoppers at the purchase decision per hour and segment — the
//! simulator's oracle from its clairvoyant forecast, the `plan` pricing
//! policy from the feature records — and re-solves as stock and time move.

use crate::demand::{self, Demand};
use crate::time::Millis;

/// One product's plan at a point in time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Plan {
    /// Price for the current hour.
    pub price: f64,
    /// Value of one more unit of stock (0 when stock does not bind).
    pub shadow_price: f64,
    /// Expected units sold until the horizon under the plan (NaN when the
    /// stock cannot bind: then only the current hour is planned).
    pub expected_units: f64,
    /// End of the planning horizon (next restock or the run's end).
    pub horizon: Millis,
    /// An upper bound on the units that could sell until the horizon: with
    /// at least this much stock, stock does not bind.
    pub could_sell: f64,
}

/// The economics of one product the plan needs.
#[derive(Clone, Copy, Debug)]
pub struct Product {
    pub base: f64,
    pub cost: f64,
    /// Prices the plan may choose (the guardrails' floor and ceiling).
    pub bounds: (f64, f64),
}

const GRID: usize = 96;
const BISECTIONS: usize = 40;

/// Where the shop reference price (what returning shoppers compare with)
/// stands now, and the half-life with which it follows the live price.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ReferenceNow {
    pub price: f64,
    pub halflife_hours: f64,
}

/// Reference states are binned by the share of today's reference still in
/// them (1/32 steps), so a price's value over many hours costs 33 terms.
const BINS: usize = 33;

/// The price to hold from now to the horizon when stock does not bind:
/// argmax (p − c) · Σ_h D_h(p), where in hour h the shop reference has moved
/// from today's toward p (a price cut is a gain that fades as the reference
/// catches up; a rise is a loss that fades too).
fn held_price(
    demand: &Demand,
    product: Product,
    ahead: &[Vec<f64>],
    r: ReferenceNow,
    grid: &[f64],
) -> f64 {
    let segments = demand.segments().len();
    // Decisions per segment and reference bin.
    let mut weights = vec![[0.0f64; BINS]; segments];
    // The share of today's reference left in hour h: ½^((h + ½) / half-life).
    let step = 0.5f64.powf(1.0 / r.halflife_hours.max(1e-9));
    let mut d = step.sqrt();
    for w in ahead {
        let b = ((d * (BINS - 1) as f64).round() as usize).min(BINS - 1);
        for s in 0..segments {
            weights[s][b] += w[s];
        }
        d *= step;
    }
    let mut states: Vec<(f64, f64)> = Vec::with_capacity(BINS);
    let mut value = |p: f64| {
        let units: f64 = (0..segments)
            .map(|s| {
                states.clear();
                states.extend((0..BINS).filter(|&b| weights[s][b] > 0.0).map(|b| {
                    let d = b as f64 / (BINS - 1) as f64;
                    (weights[s][b], p + (r.price - p) * d)
                }));
                demand.expected_buyers(s, p, product.base, &states)
            })
            .sum();
        (p - product.cost) * (units + 1e-9)
    };
    // A coarse scan (every 6th grid price) brackets the optimum; golden
    // section finds it between the bracket's neighbours.
    let coarse: Vec<f64> = grid.iter().step_by(6).chain(grid.last()).copied().collect();
    let values: Vec<f64> = coarse.iter().map(|&p| value(p)).collect();
    let j = (0..coarse.len())
        .max_by(|&a, &b| values[a].total_cmp(&values[b]))
        .unwrap_or(0);
    let cell = std::cell::RefCell::new(value);
    refine(&|p| (cell.borrow_mut())(p), &coarse, j)
}

/// Plans one product from `now` with `stock` left, given its expected
/// decisions per hour and segment (`ahead[0]` is the current hour).
/// Where stock binds, shop-anchored shoppers are planned at their steady
/// state (their reference has caught up with the price); where it does not
/// and `reference` is given, the price is the best one to hold until the
/// horizon with the reference drifting toward it.
pub fn solve(
    demand: &Demand,
    product: Product,
    ahead: &[Vec<f64>],
    stock: f64,
    horizon: Millis,
    reference: Option<ReferenceNow>,
) -> Plan {
    let (lo, hi) = product.bounds;
    let hi = hi.max(lo);
    let segments = demand.segments().len();
    let stock = stock.max(0.0);
    let prob = |s: usize, p: f64| demand.probability(s, p, product.base, p);
    // An upper bound on what could sell: every shopper at the floor. Within
    // stock, the stock does not bind and only the current hour needs pricing.
    let best_reference = reference.map_or(lo, |r| r.price.max(lo));
    let at_floor: Vec<f64> = (0..segments)
        .map(|s| demand.probability(s, lo, product.base, best_reference))
        .collect();
    let could_sell: f64 = ahead
        .iter()
        .map(|w| (0..segments).map(|s| w[s] * at_floor[s]).sum::<f64>())
        .sum();
    let grid: Vec<f64> = (0..GRID)
        .map(|j| lo + (hi - lo) * j as f64 / (GRID - 1) as f64)
        .collect();
    // Purchase probability per segment at each grid price.
    let table: Vec<Vec<f64>> = (0..segments)
        .map(|s| grid.iter().map(|&p| prob(s, p)).collect())
        .collect();
    let binding = could_sell > stock;
    // The current hour, then the hours to plan: an hour's best price depends
    // only on its mix of segments, so hours with regular shoppers alone are
    // planned together as one (exact, and most hours of most products).
    let mut rows: Vec<Vec<f64>> = ahead.iter().take(1).cloned().collect();
    if binding {
        let mut regular_only = vec![0.0; segments];
        for w in ahead.iter().skip(1) {
            if (0..segments).any(|s| s != demand::REGULAR && w[s] > 0.0) {
                rows.push(w.clone());
            } else {
                regular_only[demand::REGULAR] += w[demand::REGULAR];
            }
        }
        rows.push(regular_only);
    }
    // Expected units per row at each grid price.
    let units: Vec<Vec<f64>> = rows
        .iter()
        .map(|w| {
            (0..GRID)
                .map(|j| (0..segments).map(|s| w[s] * table[s][j]).sum())
                .collect()
        })
        .collect();
    let regular = &table[demand::REGULAR];
    let best = |d: &[f64], lambda: f64| -> usize {
        let mut b = 0;
        let mut v = f64::MIN;
        for (j, &p) in grid.iter().enumerate() {
            // A tiny regular-shopper weight breaks ties in hours without demand.
            let x = (p - product.cost - lambda) * (d[j] + 1e-9 * regular[j]);
            if x > v + 1e-12 {
                (b, v) = (j, x);
            }
        }
        b
    };
    let sold = |lambda: f64| -> f64 { units.iter().map(|d| d[best(d, lambda)]).sum() };
    let mut lambda = 0.0;
    if binding && sold(0.0) > stock {
        let (mut a, mut b) = (0.0, (hi - product.cost).max(0.0) + 1.0);
        for _ in 0..BISECTIONS {
            let m = 0.5 * (a + b);
            if sold(m) > stock { a = m } else { b = m }
        }
        lambda = b;
    }
    let expected_units = if binding { sold(lambda) } else { f64::NAN };
    let price = match (units.first(), ahead.first(), reference) {
        // Stock does not bind and the reference is still moving: the best
        // price to hold from now on, with the reference drifting toward it.
        (Some(_), Some(_), Some(r)) if !binding => held_price(demand, product, ahead, r, &grid),
        (Some(d), Some(w), _) => {
            let value = |p: f64| {
                let d: f64 = (0..segments).map(|s| w[s] * prob(s, p)).sum::<f64>()
                    + 1e-9 * prob(demand::REGULAR, p);
                (p - product.cost - lambda) * d
            };
            refine(&value, &grid, best(d, lambda))
        }
        _ => lo,
    };
    Plan {
        price,
        shadow_price: lambda,
        expected_units,
        horizon,
        could_sell,
    }
}

/// Golden-section search of `value` between the grid neighbours of the best
/// grid price, so that a one-segment product lands on its exact optimum
/// (e.g. c·ε/(1+ε) for constant elasticity).
fn refine(value: &dyn Fn(f64) -> f64, grid: &[f64], j: usize) -> f64 {
    let (mut a, mut b) = (grid[j.saturating_sub(1)], grid[(j + 1).min(grid.len() - 1)]);
    let g = (5f64.sqrt() - 1.0) / 2.0;
    for _ in 0..40 {
        let (c, d) = (b - g * (b - a), a + g * (b - a));
        if value(c) >= value(d) { b = d } else { a = c }
    }
    let p = 0.5 * (a + b);
    if value(p) >= value(grid[j]) {
        p
    } else {
        grid[j]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demand::{Curve, Reference, SegmentDemand};

    const FAN_ELASTICITY: f64 = -1.2;

    /// Regular shoppers with the meta-analysis elasticity and no reference
    /// effect; fans with a lognormal willingness to pay (median 1.5 × list)
    /// or the trend default elasticity.
    fn demand(wtp: bool) -> Demand {
        let fans = if wtp {
            Curve::Wtp {
                median: 1.5,
                sigma: 0.4,
            }
        } else {
            Curve::Elasticity(FAN_ELASTICITY)
        };
        let segment = |curve, reference| SegmentDemand {
            curve,
            reference,
            sensitivity: 0.0,
        };
        Demand::new(
            0.32,
            0.95,
            vec![
                segment(Curve::Elasticity(-2.62), Reference::Shop),
                segment(fans, Reference::List),
            ],
        )
    }

    const SHOE: Product = Product {
        base: 100.0,
        cost: 55.0,
        bounds: (80.0, 150.0),
    };

    #[test]
    fn plenty_of_stock_gives_the_static_profit_optimum() {
        let d = demand(false);
        let ahead = vec![vec![5.0, 0.0]; 24];
        let plan = solve(&d, SHOE, &ahead, 1e6, 0, None);
        // c · ε / (1 + ε) for ε = −2.62.
        let opt = 55.0 * 2.62 / 1.62;
        assert!((plan.price - opt).abs() < 0.01, "{}", plan.price);
        assert_eq!(plan.shadow_price, 0.0);
    }

    #[test]
    fn scarce_stock_raises_the_price_until_expected_sales_fit() {
        let d = demand(true);
        let ahead = vec![vec![1.0, 20.0]; 6];
        let plenty = solve(&d, SHOE, &ahead, 40.0, 0, None);
        // Unconstrained, fans buy ~28 pairs; at the ceiling ~23: 25 binds, 10 cannot be met.
        let scarce = solve(&d, SHOE, &ahead, 25.0, 0, None);
        assert!(
            scarce.price > plenty.price,
            "{} vs {}",
            scarce.price,
            plenty.price
        );
        assert!(scarce.shadow_price > 0.0);
        let fit = scarce.expected_units;
        assert!(fit <= 25.0 && fit > 24.0, "{fit}");
        assert!(plenty.expected_units > 25.0);
    }

    #[test]
    fn hours_with_fans_are_priced_higher_than_quiet_hours() {
        let d = demand(true);
        let quiet = solve(&d, SHOE, &[vec![5.0, 0.0]], 1e6, 0, None);
        let spike = solve(&d, SHOE, &[vec![5.0, 40.0]], 1e6, 0, None);
        assert!(
            spike.price > quiet.price + 10.0,
            "{} vs {}",
            spike.price,
            quiet.price
        );
    }
}
