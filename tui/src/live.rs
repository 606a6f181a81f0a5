//! The same UI over a running service (`pricestream serve --tui`): the
//! service reports each closed window, its decisions and its counters here;
//! [`LiveView`] keeps the per-product history and publishes snapshots to the
//! mailbox that [`crate::host::show`] draws.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use pipeline::{CatalogItem, FeatureRecord, Millis, Stats};

use crate::host::Mailbox;
use crate::snapshot::{DecisionLine, Rates, Tracker};

/// Recent decisions shown.
const DECISIONS: usize = 20;

/// Per-product history and counters of a live service.
pub struct LiveView {
    name: String,
    model_version: String,
    tracker: Tracker,
    decisions: VecDeque<DecisionLine>,
    price_changes: u64,
    started: Millis,
    last_window: Millis,
    rate_from: (Instant, u64),
    rates: Rates,
    mailbox: Mailbox,
}

/// What a service reports between windows.
pub struct Progress<'a> {
    /// The service's clock (the status line and the watermark lag read it).
    pub now: Millis,
    pub stats: &'a Stats,
    /// Current catalog items (prices, stock).
    pub items: &'a [CatalogItem],
    pub kill_switch: bool,
    pub paused: bool,
}

impl LiveView {
    /// A view of `name` (e.g. the stream) priced by `model_version`, starting from `items`.
    pub fn new(name: &str, model_version: &str, items: &[CatalogItem]) -> LiveView {
        LiveView {
            name: name.to_string(),
            model_version: model_version.to_string(),
            tracker: Tracker::from_items(items),
            decisions: VecDeque::new(),
            price_changes: 0,
            started: Millis::MAX,
            last_window: Millis::MIN,
            rate_from: (Instant::now(), 0),
            rates: Rates::default(),
            mailbox: Arc::new(Mutex::new(None)),
        }
    }

    /// The mailbox to hand to [`crate::host::show`].
    pub fn mailbox(&self) -> Mailbox {
        self.mailbox.clone()
    }

    /// A closed window's feature records and the decisions taken on them.
    pub fn window(&mut self, features: &[FeatureRecord], decisions: Vec<DecisionLine>) {
        if let Some(f) = features.first() {
            self.started = self.started.min(f.window.start);
            self.last_window = self.last_window.max(f.window.end);
        }
        self.tracker.absorb(features);
        for d in decisions {
            self.price_changes += u64::from(d.applied);
            if self.decisions.len() == DECISIONS {
                self.decisions.pop_back();
            }
            self.decisions.push_front(d);
        }
    }

    /// Publishes a snapshot with the service's counters and current prices.
    pub fn publish(&mut self, p: &Progress<'_>) {
        let wall = self.rate_from.0.elapsed().as_secs_f64();
        if wall >= 0.5 {
            self.rates.events_per_sec = (p.stats.received - self.rate_from.1) as f64 / wall;
            self.rate_from = (Instant::now(), p.stats.received);
        }
        self.tracker.add_missing(p.items);
        let mut snap = self
            .tracker
            .snapshot_items(p.items, self.decisions.iter().cloned().collect());
        snap.scenario = self.name.clone();
        snap.policy = "serve".into();
        snap.model_version = self.model_version.clone();
        let known = self.started != Millis::MAX;
        snap.start = if known { self.started } else { 0 };
        snap.end = self.last_window.max(snap.start);
        snap.clock = p.now;
        snap.watermark = p.stats.watermark;
        snap.speed = Some(1.0);
        snap.live = true;
        snap.paused = p.paused;
        snap.kill_switch = p.kill_switch;
        snap.events = p.stats.received;
        snap.windows_closed = p.stats.windows_closed;
        snap.dead_letters = crate::snapshot::dead_letter_counts(p.stats);
        snap.price_changes = self.price_changes;
        snap.rates = self.rates;
        if let Ok(mut m) = self.mailbox.lock() {
            *m = Some(snap);
        }
    }
}
