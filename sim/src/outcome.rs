//! What one product sold, missed and when it sold out: the per-product
//! outcome of a run, for per-trend reporting.

use pipeline::Millis;
use serde::Serialize;

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ProductOutcome {
    /// Shoppers who reached the purchase decision.
    pub decisions: u64,
    pub units: u64,
    pub revenue: f64,
    /// Revenue minus the cost of the units sold.
    pub profit: f64,
    /// Σ over decisions with stock of P(buy) × (price − cost): the profit
    /// with each shopper's purchase dice integrated out. Same expectation as
    /// `profit` on the realized traffic and stock path, far less noise, so
    /// small differences between policies are visible on one seed.
    pub expected_profit: f64,
    /// Shoppers who would have bought, but found no stock.
    pub missed: u64,
    /// When the last unit was sold (the first time stock reached zero).
    pub sold_out_at: Option<Millis>,
}

impl ProductOutcome {
    /// One unit sold at `paid`, leaving `left` in stock.
    pub fn sold(&mut self, paid: f64, cost: f64, left: i64, t: Millis) {
        self.units += 1;
        self.revenue += paid;
        self.profit += paid - cost;
        if left <= 0 && self.sold_out_at.is_none() {
            self.sold_out_at = Some(t);
        }
    }
}
