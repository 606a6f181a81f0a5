//! The numbers a run is judged by (`summary.json`): deterministic for a
//! scenario and seed (no wall-clock values).

use std::collections::BTreeMap;

use pipeline::Stats;
use serde::Serialize;
use sim::Scenario;
use sim::shop::Shop;
use sim::{FaultCounts, Simulator};

#[derive(Clone, Debug, Default, Serialize)]
pub struct Summary {
    pub scenario: String,
    pub seed: u64,
    pub policy: String,
    pub model_version: String,
    /// Records the simulator delivered.
    pub events_emitted: u64,
    pub received: u64,
    pub accepted: u64,
    pub dead_lettered: u64,
    pub dead_letters: BTreeMap<String, u64>,
    /// Faults the simulator injected, by the reason they should get.
    pub faults_injected: FaultCounts,
    pub windows_closed: u64,
    pub feature_records: u64,
    /// Features-table puts refused (a replayed window).
    pub feature_puts_refused: u64,
    /// Pricer decisions by the guardrail that decided.
    pub decisions: BTreeMap<String, u64>,
    pub price_changes: u64,
    /// Applied prices outside [floor, ceiling]: must stay 0.
    pub guardrail_breaches: u64,
    /// Price changes applied by a redelivered feed batch: must stay 0.
    pub redelivered_applied: u64,
    pub model_errors: u64,
    pub last_model_error: Option<String>,
    pub orders: u64,
    pub revenue: f64,
    pub cost_of_goods: f64,
    pub profit: f64,
    /// Profit with every purchase decision's dice integrated out (Σ P(buy) ×
    /// margin over decisions with stock): the low-noise yardstick.
    pub expected_profit: f64,
    /// profit / revenue.
    pub margin: f64,
    /// Shoppers who would have bought, but the product was out of stock.
    pub missed_out_of_stock: u64,
    pub products_sold_out: u64,
    /// Mean |relative change| of applied price changes.
    pub mean_abs_change: f64,
    /// Applied changes per product per simulated day.
    pub changes_per_product_day: f64,
    /// The products each trend sent its shoppers to, and how they did.
    pub trending: Vec<TrendOutcome>,
    #[serde(skip)]
    pub relative_change_sum: f64,
}

impl Summary {
    /// Profit, units and missed shoppers over the trends' target products
    /// (each product once, whichever trends it is in).
    pub fn trending_totals(&self) -> (f64, u64, u64) {
        let mut seen = std::collections::BTreeSet::new();
        let (mut profit, mut units, mut missed) = (0.0, 0, 0);
        for p in self.trending.iter().flat_map(|t| &t.products) {
            if seen.insert(&p.product_id) {
                profit += p.profit;
                units += p.units;
                missed += p.missed;
            }
        }
        (round2(profit), units, missed)
    }

    pub fn new(sc: &Scenario, policy: &str, version: &str) -> Summary {
        Summary {
            scenario: sc.name.clone(),
            seed: sc.seed,
            policy: policy.to_string(),
            model_version: version.to_string(),
            ..Summary::default()
        }
    }

    pub fn finish(
        &mut self,
        sim: &Simulator,
        shop: &Shop,
        core: &Stats,
        emitted: u64,
        puts: (u64, u64),
    ) {
        let st = sim.stats();
        self.events_emitted = emitted;
        self.received = core.received;
        self.accepted = core.accepted;
        self.dead_lettered = core.dead_lettered;
        self.dead_letters = pipeline::Reason::ALL
            .iter()
            .map(|r| (r.as_str().to_string(), core.dead_letters.get(*r)))
            .collect();
        self.faults_injected = *sim.fault_counts();
        self.windows_closed = core.windows_closed;
        self.feature_records = core.feature_records;
        self.feature_puts_refused = puts.1;
        self.orders = st.orders;
        self.revenue = round2(st.revenue);
        let cogs: f64 = shop
            .orders()
            .iter()
            .filter_map(|o| {
                shop.ix(&o.product_id)
                    .map(|p| shop.get(p).cost * f64::from(o.quantity))
            })
            .sum();
        self.cost_of_goods = round2(cogs);
        self.profit = round2(st.revenue - cogs);
        self.expected_profit = round2(sim.outcomes().iter().map(|o| o.expected_profit).sum());
        self.margin = if st.revenue > 0.0 {
            (st.revenue - cogs) / st.revenue
        } else {
            0.0
        };
        self.missed_out_of_stock = st.missed_out_of_stock;
        self.products_sold_out = shop.items().iter().filter(|i| i.inventory == 0).count() as u64;
        self.mean_abs_change = if self.price_changes > 0 {
            self.relative_change_sum / self.price_changes as f64
        } else {
            0.0
        };
        self.trending = trend_outcomes(sim, shop);
        let days = (sim.end() - sim.start()) as f64 / pipeline::time::DAY as f64;
        self.changes_per_product_day =
            self.price_changes as f64 / (shop.len() as f64 * days.max(1e-9));
    }
}

/// One trend's target products: what they sold and missed.
#[derive(Clone, Debug, Default, Serialize)]
pub struct TrendOutcome {
    pub label: String,
    /// When the trend started (RFC 3339).
    pub at: String,
    pub units: u64,
    pub revenue: f64,
    pub profit: f64,
    /// Shoppers who would have bought but found no stock.
    pub missed: u64,
    /// Target products that sold out.
    pub sold_out: u64,
    pub products: Vec<ProductSummary>,
}

/// One product over the run.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ProductSummary {
    pub product_id: String,
    pub starting_stock: i64,
    pub decisions: u64,
    pub units: u64,
    pub revenue: f64,
    pub profit: f64,
    pub expected_profit: f64,
    pub missed: u64,
    /// When it sold out (RFC 3339), if it did.
    pub sold_out_at: Option<String>,
    /// Hours from the trend's start to the sell-out.
    pub sold_out_after_hours: Option<f64>,
}

fn trend_outcomes(sim: &Simulator, shop: &Shop) -> Vec<TrendOutcome> {
    let outcomes = sim.outcomes();
    sim.scenario()
        .trend
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let at = sim.start() + t.at.0;
            let products: Vec<ProductSummary> = sim
                .trend_targets(i)
                .iter()
                .map(|&p| product_summary(shop, p, &outcomes[p as usize], at))
                .collect();
            TrendOutcome {
                label: t.label.clone(),
                at: pipeline::time::format_rfc3339(at),
                units: products.iter().map(|p| p.units).sum(),
                revenue: round2(products.iter().map(|p| p.revenue).sum()),
                profit: round2(products.iter().map(|p| p.profit).sum()),
                missed: products.iter().map(|p| p.missed).sum(),
                sold_out: products.iter().filter(|p| p.sold_out_at.is_some()).count() as u64,
                products,
            }
        })
        .collect()
}

/// Every product over the run, in catalog order (`sold_out_after_hours`
/// counts from the start).
pub fn product_summaries(sim: &Simulator, shop: &Shop) -> Vec<ProductSummary> {
    sim.outcomes()
        .iter()
        .enumerate()
        .map(|(p, o)| product_summary(shop, p as sim::shop::ProductIx, o, sim.start()))
        .collect()
}

fn product_summary(
    shop: &Shop,
    p: sim::shop::ProductIx,
    o: &sim::ProductOutcome,
    from: pipeline::Millis,
) -> ProductSummary {
    ProductSummary {
        product_id: shop.get(p).product_id.to_string(),
        starting_stock: shop.restock_level(p),
        decisions: o.decisions,
        units: o.units,
        revenue: round2(o.revenue),
        profit: round2(o.profit),
        expected_profit: round2(o.expected_profit),
        missed: o.missed,
        sold_out_at: o.sold_out_at.map(pipeline::time::format_rfc3339),
        sold_out_after_hours: o
            .sold_out_at
            .map(|s| ((s - from) as f64 / 3_600_000.0 * 100.0).round() / 100.0),
    }
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}
