//! The workbench's closed loop as the terminal UI's [`tui::Simulation`]:
//! the UI knows only the core's types; this adapter is where the two meet.

use pipeline::{CatalogItem, FeatureRecord, Millis};
use workbench::ClosedLoop;

pub struct LiveLoop(pub ClosedLoop);

impl LiveLoop {
    /// Keeps each closed window's features and the latest decisions for the UI.
    pub fn new(mut lp: ClosedLoop) -> LiveLoop {
        lp.keep_features();
        lp.keep_recent = true;
        LiveLoop(lp)
    }
}

impl tui::Simulation for LiveLoop {
    fn step(&mut self) -> bool {
        self.0.step()
    }

    fn clock(&self) -> Millis {
        self.0.sim().clock()
    }

    fn is_finished(&self) -> bool {
        self.0.is_finished()
    }

    fn set_kill_switch(&mut self, on: bool) {
        self.0.set_kill_switch(on);
    }

    fn take_windows(&mut self) -> Vec<FeatureRecord> {
        self.0.take_features()
    }

    fn counters(&self) -> (u64, u128, u64) {
        (self.0.emitted(), self.0.model_nanos, self.0.model_calls)
    }

    fn items(&self) -> &[CatalogItem] {
        self.0.shop().items()
    }

    fn recent(&self) -> Vec<tui::DecisionLine> {
        self.0
            .recent
            .iter()
            .rev()
            .map(tui::DecisionLine::from)
            .collect()
    }

    fn header(&self) -> tui::Snapshot {
        let lp = &self.0;
        let stats = lp.core_stats();
        let sim = lp.sim();
        let sc = sim.scenario();
        let wm = lp.watermark();
        let moments = sc.trend.iter().map(|t| (t.at.0, t.label.clone()));
        let sales = sc.sale.iter().map(|s| (s.at.0, s.label.clone()));
        tui::Snapshot {
            scenario: sc.name.clone(),
            policy: lp.summary().policy.clone(),
            model_version: lp.version().to_string(),
            start: sim.start(),
            end: sim.end(),
            clock: sim.clock(),
            watermark: (wm > Millis::MIN && wm < Millis::MAX).then_some(wm),
            kill_switch: lp.pricer().kill_switch(),
            finished: lp.is_finished(),
            events: lp.emitted(),
            windows_closed: stats.windows_closed,
            dead_letters: tui::snapshot::dead_letter_counts(&stats),
            price_changes: lp.summary().price_changes,
            revenue: sim.stats().revenue,
            moments: moments
                .chain(sales)
                .map(|(at, label)| (sim.start() + at, label))
                .collect(),
            ..tui::Snapshot::default()
        }
    }
}
