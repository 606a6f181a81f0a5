//! What the simulator did, for summaries and tests.

use serde::Serialize;

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SimStats {
    pub sessions_regular: u64,
    /// Sessions brought by each trend burst, in scenario order.
    pub sessions_trend: Vec<u64>,
    pub sessions_bot: u64,
    /// Funnel events by type (view, click, add_to_cart, remove_from_cart, purchase).
    pub events: [u64; 5],
    /// Records delivered to partitions (events, damaged records, re-sends, back-dated extras).
    pub records: u64,
    /// Shoppers who reached the purchase decision.
    pub decisions: u64,
    pub orders: u64,
    pub revenue: f64,
    /// Revenue minus the cost of the units sold.
    pub profit: f64,
    /// Shoppers who would have bought but the product was out of stock.
    pub missed_out_of_stock: u64,
    pub restocks: u64,
}

impl SimStats {
    pub fn new(trends: usize) -> SimStats {
        SimStats {
            sessions_trend: vec![0; trends],
            ..SimStats::default()
        }
    }

    pub fn events_total(&self) -> u64 {
        self.events.iter().sum()
    }
}
