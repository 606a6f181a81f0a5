//! What the UI shows, captured from the loop: plain data, so rendering is a
//! pure function of (app state, snapshot) and snapshot tests are deterministic.

use std::collections::BTreeMap;

use pipeline::{FeatureRecord, Millis};

use crate::host::Simulation;

/// Windows of history kept per product (200 minutes at 100 s windows).
pub const HISTORY: usize = 120;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProductRow {
    pub product_id: String,
    pub brand: String,
    pub base_price: f64,
    pub start_price: f64,
    pub price: f64,
    pub views_per_minute: f32,
    /// views / EWMA of views in the latest window (1 = steady).
    pub growth: f32,
    /// Long-run demand level (EWMA of views/min, 6 h half-life).
    pub baseline: f32,
    pub inventory: i64,
    pub days_of_cover: f32,
    pub last_rule: Option<String>,
    /// (window end, views per minute), oldest first.
    pub demand: Vec<(Millis, f32)>,
    /// (window end, price), oldest first.
    pub prices: Vec<(Millis, f64)>,
}

impl ProductRow {
    /// How far demand is above its long-run level (1 = normal): what
    /// "trending" means in the default sort.
    pub fn trend(&self) -> f32 {
        (self.views_per_minute + 0.5) / (self.baseline + 0.5)
    }

    /// Relative change since the start of the run.
    pub fn change(&self) -> f64 {
        if self.start_price > 0.0 {
            self.price / self.start_price - 1.0
        } else {
            0.0
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct DecisionLine {
    pub window_end: Millis,
    pub product_id: String,
    pub rule: String,
    pub applied: bool,
    pub from: f64,
    pub to: f64,
}

impl From<&pipeline::AuditRecord> for DecisionLine {
    fn from(a: &pipeline::AuditRecord) -> DecisionLine {
        DecisionLine {
            window_end: a.window_end,
            product_id: a.product_id.clone(),
            rule: a.rule.as_str().to_string(),
            applied: a.applied,
            from: a.current_price,
            to: a.final_price,
        }
    }
}

/// Dead letters by reason, the reasons that occurred only.
pub fn dead_letter_counts(stats: &pipeline::Stats) -> Vec<(String, u64)> {
    pipeline::Reason::ALL
        .iter()
        .map(|r| (r.as_str().to_string(), stats.dead_letters.get(*r)))
        .filter(|(_, n)| *n > 0)
        .collect()
}

/// Rates that depend on wall time, measured by the host (fixed in tests).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Rates {
    pub events_per_sec: f64,
    pub model_latency_us: f64,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Snapshot {
    pub scenario: String,
    pub policy: String,
    pub model_version: String,
    pub start: Millis,
    pub end: Millis,
    pub clock: Millis,
    pub watermark: Option<Millis>,
    pub speed: Option<f64>,
    pub paused: bool,
    pub kill_switch: bool,
    pub finished: bool,
    pub events: u64,
    pub windows_closed: u64,
    pub dead_letters: Vec<(String, u64)>,
    pub price_changes: u64,
    pub revenue: f64,
    pub rates: Rates,
    pub products: Vec<ProductRow>,
    /// Newest first.
    pub decisions: Vec<DecisionLine>,
    /// Scenario moments to mark on charts: (time, label).
    pub moments: Vec<(Millis, String)>,
    /// A running service (`serve --tui`), not a simulation: no speed keys,
    /// and quitting asks first (it stops the service).
    pub live: bool,
}

/// Keeps per-product history between snapshots (fed by the loop's closed windows).
#[derive(Debug, Default)]
pub struct Tracker {
    rows: BTreeMap<String, ProductRow>,
}

impl Tracker {
    /// Rows for these catalog items, at their current prices.
    pub fn from_items<'a>(items: impl IntoIterator<Item = &'a pipeline::CatalogItem>) -> Tracker {
        let rows = items
            .into_iter()
            .map(|i| {
                let row = ProductRow {
                    product_id: i.product_id.to_string(),
                    brand: i.brand.to_string(),
                    base_price: i.base_price,
                    start_price: i.current_price(),
                    price: i.current_price(),
                    inventory: i.inventory,
                    days_of_cover: 365.0,
                    growth: 1.0,
                    ..ProductRow::default()
                };
                (i.product_id.to_string(), row)
            })
            .collect();
        Tracker { rows }
    }

    /// Adds rows for items not tracked yet (products that appeared later).
    pub fn add_missing(&mut self, items: &[pipeline::CatalogItem]) {
        if items.iter().all(|i| self.rows.contains_key(&*i.product_id)) {
            return;
        }
        let fresh = Tracker::from_items(
            items
                .iter()
                .filter(|i| !self.rows.contains_key(&*i.product_id)),
        );
        self.rows.extend(fresh.rows);
    }

    /// Folds in the windows closed since the last call. A product without a
    /// record in a closed window had no events in it: that window is a zero
    /// for it, so every product's demand, trend score and chart move on the
    /// same clock (one view does not read "0.6 v/min" forever).
    pub fn absorb(&mut self, windows: &[FeatureRecord]) {
        let mut order: Vec<&FeatureRecord> = windows.iter().collect();
        order.sort_by_key(|f| f.window.end);
        for group in order.chunk_by(|a, b| a.window.end == b.window.end) {
            let end = group[0].window.end;
            let mut seen = std::collections::HashSet::with_capacity(group.len());
            for f in group {
                if let Some(row) = self.rows.get_mut(&*f.product_id) {
                    seen.insert(&*f.product_id);
                    row.observe(&WindowPoint::from_record(f));
                }
            }
            for (id, row) in &mut self.rows {
                if !seen.contains(id.as_str()) {
                    row.observe(&WindowPoint::quiet(end, row));
                }
            }
        }
    }

    /// Captures the loop's state.
    pub fn snapshot(
        &mut self,
        lp: &impl Simulation,
        rates: Rates,
        speed: Option<f64>,
        paused: bool,
    ) -> Snapshot {
        let base = self.snapshot_items(lp.items(), lp.recent());
        Snapshot {
            speed,
            paused,
            rates,
            products: base.products,
            decisions: base.decisions,
            ..lp.header()
        }
    }
}

/// The displayed part of a feature record.
struct WindowPoint {
    window_end: Millis,
    views_per_minute: f32,
    view_growth: f32,
    days_of_cover: f32,
    price: f64,
}

impl ProductRow {
    fn observe(&mut self, p: &WindowPoint) {
        // 100 s windows: α = 1 − 0.5^(100 s / 6 h).
        const ALPHA: f32 = 0.0032;
        if self.demand.is_empty() {
            self.baseline = p.views_per_minute;
        } else {
            self.baseline += ALPHA * (p.views_per_minute - self.baseline);
        }
        self.views_per_minute = p.views_per_minute;
        self.growth = p.view_growth;
        self.days_of_cover = p.days_of_cover;
        push_bounded(&mut self.demand, (p.window_end, p.views_per_minute));
        push_bounded(&mut self.prices, (p.window_end, p.price));
    }
}

impl WindowPoint {
    /// A window in which the product had no events.
    fn quiet(window_end: Millis, row: &ProductRow) -> WindowPoint {
        WindowPoint {
            window_end,
            views_per_minute: 0.0,
            view_growth: 0.0,
            days_of_cover: row.days_of_cover,
            price: row.price,
        }
    }

    fn from_record(f: &FeatureRecord) -> WindowPoint {
        WindowPoint {
            window_end: f.window.end,
            views_per_minute: f.get("views_per_minute").unwrap_or(0.0),
            view_growth: f.get("view_growth_ewma").unwrap_or(1.0),
            days_of_cover: f.get("days_of_cover").unwrap_or(0.0),
            price: f.current_price,
        }
    }
}

/// Decisions a snapshot lists, newest first.
const RECENT_SHOWN: usize = 20;

impl Tracker {
    /// Prices and stock from `items`, each row's latest rule from
    /// `decisions` (newest first; the first few are listed); the rest of the
    /// snapshot is left default.
    pub fn snapshot_items(
        &mut self,
        items: &[pipeline::CatalogItem],
        mut decisions: Vec<DecisionLine>,
    ) -> Snapshot {
        for item in items {
            if let Some(row) = self.rows.get_mut(&*item.product_id) {
                row.price = item.current_price();
                row.inventory = item.inventory;
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        for d in &decisions {
            if seen.insert(d.product_id.as_str())
                && let Some(row) = self.rows.get_mut(&d.product_id)
            {
                row.last_rule = Some(d.rule.clone());
            }
        }
        decisions.truncate(RECENT_SHOWN);
        Snapshot {
            products: self.rows.values().cloned().collect(),
            decisions,
            ..Snapshot::default()
        }
    }
}

fn push_bounded<T>(v: &mut Vec<T>, x: T) {
    if v.len() == HISTORY {
        v.remove(0);
    }
    v.push(x);
}
