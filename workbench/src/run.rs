//! One closed-loop run: the simulator's click bytes → the streaming core →
//! the features table and its change feed → the pricer and a policy →
//! conditional price updates in the catalog the shoppers buy from. All in
//! simulated time, deterministic for a scenario and seed.

use std::collections::BTreeMap;
use std::sync::Arc;

use model::{FixedRatioModel, RulesModel, StaticModel, StaticOptModel, TrendRuleModel};
use pipeline::{
    AuditRecord, CatalogItem, DeadLetter, Decision, Driver, FeatureRecord, FeaturesTable,
    Guardrails, Millis, Pipeline, PipelineConfig, Position, PriceModel, PriceStage, Pricer,
    RawRecord, Rule,
};
use serde::Serialize;
use sim::Simulator;
use sim::shop::Shop;

use crate::oracle::{OracleModel, PinnedModel};
use crate::policy::Policy;
use crate::summary::Summary;

pub use crate::series::Series;

/// How often the loop polls the partitions, in simulated time.
pub const POLL: Millis = 1_000;
/// Most feature records per model call.
pub const MODEL_BATCH: usize = 1024;

#[derive(Clone, Debug)]
pub struct RunOptions {
    pub policy: Policy,
    pub config: PipelineConfig,
    pub guardrails: Guardrails,
    /// Keep audit records, price changes, dead letters and series for a report.
    pub record: bool,
    /// Products whose price and demand series to keep (trend targets).
    pub watch: Vec<String>,
    /// Deliver every change-feed batch twice (at-least-once delivery, as
    /// DynamoDB Streams may): the second delivery must apply nothing.
    pub redeliver_feed: bool,
}

/// One applied price change.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PriceChange {
    pub time: Millis,
    pub product_id: String,
    pub old_price: f64,
    pub new_price: f64,
    pub rule: Rule,
}

/// What a run produced.
#[derive(Debug)]
pub struct RunResult {
    pub summary: Summary,
    pub audit: Vec<AuditRecord>,
    pub changes: Vec<PriceChange>,
    pub dead_letters: Vec<DeadLetter>,
    pub series: BTreeMap<String, Series>,
    /// (time, cumulative profit), one point per simulated minute.
    pub profit: Vec<(Millis, f64)>,
    /// Simulated time covered (ms).
    pub sim_time: Millis,
    /// Every product's outcome, in catalog order.
    pub products: Vec<crate::summary::ProductSummary>,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{0}")]
    Sim(#[from] sim::output::SimError),
    #[error("{0}")]
    Model(String),
    #[error("invalid pipeline setting {0}")]
    Config(#[from] pipeline::ConfigError),
}

impl RunError {
    pub fn exit_code(&self) -> i32 {
        match self {
            RunError::Sim(e) => e.exit_code(),
            RunError::Model(_) | RunError::Config(_) => 2,
        }
    }
}

/// The price model a policy runs with.
fn price_model(
    policy: &Policy,
    sim: &Simulator,
    shop: &Shop,
    guardrails: &Guardrails,
) -> Result<Box<dyn PriceModel + Send>, RunError> {
    let elasticity = sim.scenario().demand.elasticity;
    Ok(match policy {
        Policy::Static => Box::new(StaticModel),
        Policy::StaticAt(r) => Box::new(FixedRatioModel::new(*r)),
        Policy::StaticOpt => Box::new(StaticOptModel::new(elasticity)),
        Policy::TrendRule => Box::new(TrendRuleModel::new(elasticity)),
        Policy::Rules => Box::new(RulesModel::default()),
        Policy::Plan => Box::new(
            model::PlanningModel::new(crate::calibration::plan_params(sim.scenario(), guardrails))
                .map_err(RunError::Model)?,
        ),
        Policy::Model(spec) => spec.load(None).map_err(RunError::Model)?,
        Policy::Oracle | Policy::OracleFree => {
            Box::new(OracleModel::new(sim, shop, guardrails, false))
        }
        Policy::OracleReactive => Box::new(OracleModel::new(sim, shop, guardrails, true)),
        Policy::Pinned(base, pins) => Box::new(PinnedModel::new(
            price_model(base, sim, shop, guardrails)?,
            pins,
        )),
    })
}

/// The guardrails a policy runs under: `oracle-free` drops the step limit
/// and the cooldown (floor, ceiling and everything else stay).
pub fn guardrails_for(policy: &Policy, base: &Guardrails) -> Guardrails {
    match policy {
        Policy::OracleFree => Guardrails {
            max_step: 1e6,
            cooldown: 0,
            ..base.clone()
        },
        Policy::Pinned(inner, _) => guardrails_for(inner, base),
        _ => base.clone(),
    }
}

/// A closed loop that advances one poll at a time, so hosts can pace it
/// (the terminal UI) or run it flat out ([`run`]).
pub struct ClosedLoop {
    sim: Simulator,
    shop: Shop,
    driver: Driver,
    ids: Vec<pipeline::PartitionId>,
    table: FeaturesTable,
    pricer: Pricer,
    pricing: Box<dyn PriceModel + Send>,
    version: Arc<str>,
    opts: RunOptions,
    /// What the simulator delivered this step, per partition.
    inbox: Vec<Inbox>,
    /// The core's batch of the inbox's records (its allocation, reused).
    batch: Vec<RawRecord<'static>>,
    summary: Summary,
    result: RunResult,
    emitted: u64,
    next_minute: Millis,
    finished: bool,
    /// Wall-clock nanoseconds spent in the policy (for the UI; not in summaries).
    pub model_nanos: u128,
    /// Model calls (batches) so far.
    pub model_calls: u64,
    /// The latest decisions (newest last), with `keep_recent`.
    pub recent: std::collections::VecDeque<AuditRecord>,
    /// For live displays: keep the latest decisions in `recent`.
    pub keep_recent: bool,
    /// Every feature record, in closing order, when kept (training data).
    features: Option<Vec<FeatureRecord>>,
}

/// Decisions kept in `recent` for live displays.
pub const RECENT: usize = 64;

/// Records delivered in one step to one partition, back to back in one
/// buffer (not a `Vec` each: a day's run delivers tens of thousands).
#[derive(Default)]
struct Inbox {
    bytes: Vec<u8>,
    /// Where each record ends in `bytes`.
    ends: Vec<usize>,
}

impl Inbox {
    fn push(&mut self, record: &[u8]) {
        self.bytes.extend_from_slice(record);
        self.ends.push(self.bytes.len());
    }

    fn clear(&mut self) {
        self.bytes.clear();
        self.ends.clear();
    }
}

impl ClosedLoop {
    pub fn new(sim: Simulator, shop: Shop, opts: &RunOptions) -> Result<ClosedLoop, RunError> {
        let guardrails = guardrails_for(&opts.policy, &opts.guardrails);
        let pricing = price_model(&opts.policy, &sim, &shop, &guardrails)?;
        let version: Arc<str> = Arc::from(pricing.version());
        let mut core = Pipeline::new(opts.config.clone())?;
        let partitions = sim.scenario().partitions as usize;
        let ids = (0..partitions)
            .map(|k| core.register_partition(&format!("shard-{k}")))
            .collect();
        let summary = Summary::new(sim.scenario(), &opts.policy.name(), &version);
        let result = RunResult {
            summary: Summary::default(),
            audit: Vec::new(),
            changes: Vec::new(),
            dead_letters: Vec::new(),
            // The watched products, and with a report every trend's targets
            // (a brand sighting is charted as its products together).
            series: opts
                .watch
                .iter()
                .cloned()
                .chain(
                    (0..sim.scenario().trend.len())
                        .filter(|_| opts.record)
                        .flat_map(|i| sim.trend_targets(i).to_vec())
                        .map(|p| shop.get(p).product_id.to_string()),
                )
                .map(|p| (p, Series::default()))
                .collect(),
            profit: Vec::new(),
            sim_time: sim.end() - sim.start(),
            products: Vec::new(),
        };
        Ok(ClosedLoop {
            next_minute: sim.start(),
            inbox: (0..partitions).map(|_| Inbox::default()).collect(),
            batch: Vec::new(),
            sim,
            shop,
            driver: Driver::new(core),
            ids,
            table: FeaturesTable::new(pipeline::time::HOUR),
            pricer: Pricer::new(guardrails),
            pricing,
            version,
            opts: opts.clone(),
            summary,
            result,
            emitted: 0,
            finished: false,
            model_nanos: 0,
            model_calls: 0,
            recent: Default::default(),
            keep_recent: false,
            features: None,
        })
    }

    pub fn is_finished(&self) -> bool {
        self.finished
    }

    pub fn sim(&self) -> &Simulator {
        &self.sim
    }

    pub fn shop(&self) -> &Shop {
        &self.shop
    }

    pub fn core_stats(&self) -> pipeline::Stats {
        self.driver.core().stats()
    }

    pub fn watermark(&self) -> Millis {
        self.driver.core().watermark()
    }

    pub fn emitted(&self) -> u64 {
        self.emitted
    }

    pub fn version(&self) -> &Arc<str> {
        &self.version
    }

    pub fn summary(&self) -> &Summary {
        &self.summary
    }

    pub fn series(&self) -> &BTreeMap<String, Series> {
        &self.result.series
    }

    pub fn pricer(&self) -> &Pricer {
        &self.pricer
    }

    /// The global kill switch, through the real pricer: decisions while it is
    /// on are audited as `kill_switch` and change nothing.
    pub fn set_kill_switch(&mut self, on: bool) {
        self.pricer.set_kill_switch(on);
    }

    /// Advances one poll (`POLL` of simulated time); returns false once finished.
    pub fn step(&mut self) -> bool {
        if self.finished {
            return false;
        }
        let done = self.sim.is_done();
        let now = if done {
            self.sim.end()
        } else {
            self.sim.clock() + POLL
        };
        let inbox = &mut self.inbox;
        let mut sink = |p: u32, _: Millis, b: &[u8]| inbox[p as usize].push(b);
        if done {
            self.sim.finish(&mut self.shop, &mut sink);
        } else {
            self.sim.run_until(now, &mut self.shop, &mut sink);
        }
        let mut batch = RawRecord::recycle(std::mem::take(&mut self.batch));
        for (k, inbox) in self.inbox.iter_mut().enumerate() {
            // An empty batch would only tick the watermarks at `now`, which
            // the first batch of the step, or the window close below, does
            // anyway (nine in ten partition-steps are empty).
            if inbox.ends.is_empty() {
                continue;
            }
            self.emitted += inbox.ends.len() as u64;
            batch.clear();
            let mut start = 0;
            batch.extend(inbox.ends.iter().map(|&end| {
                let bytes = &inbox.bytes[start..end];
                start = end;
                RawRecord {
                    bytes,
                    position: Position::Offset(0),
                    truncated: None,
                    layout: None,
                }
            }));
            self.driver.ingest(self.ids[k], now, &batch, &self.shop);
        }
        self.batch = RawRecord::recycle(batch);
        self.inbox.iter_mut().for_each(Inbox::clear);
        if done {
            self.driver.end_of_input();
        }
        if self.opts.record {
            self.result
                .dead_letters
                .extend(self.driver.take_dead_letters());
        } else {
            self.driver.take_dead_letters();
        }
        // One window at a time: its decisions apply before the next closes.
        while let Some(window) = self.driver.next_window(now, &self.shop, &self.shop) {
            for f in window.features {
                self.observe(&f);
                self.table.put(f);
            }
            self.price(now);
            let _ = self.driver.settle(window.end);
        }
        if self.opts.record && now >= self.next_minute {
            self.result.profit.push((now, self.sim.stats().profit));
            self.next_minute = now + pipeline::time::MINUTE;
        }
        if done {
            self.finished = true;
            let stats = self.driver.core().stats();
            self.summary.finish(
                &self.sim,
                &self.shop,
                &stats,
                self.emitted,
                self.table.counts(),
            );
        }
        !self.finished
    }

    /// What live displays and the report keep of a closed window.
    fn observe(&mut self, f: &FeatureRecord) {
        if let Some(kept) = &mut self.features {
            kept.push(f.clone());
        }
        if let Some(series) = self.result.series.get_mut(&*f.product_id) {
            series.window_end.push(f.window.end);
            series
                .views_per_minute
                .push(f.get("views_per_minute").unwrap_or(0.0));
            series.price.push(f.current_price);
            series.inventory.push(f.get("inventory").unwrap_or(0.0));
        }
    }

    /// The pricer consumes the change feed in model-sized batches.
    fn price(&mut self, now: Millis) {
        let mut again: Vec<FeatureRecord> = Vec::new();
        while self.table.feed_len() > 0 || !again.is_empty() {
            let redelivery = self.table.feed_len() == 0;
            let batch = if redelivery {
                std::mem::take(&mut again)
            } else {
                self.table.take_feed(MODEL_BATCH)
            };
            if self.opts.redeliver_feed && !redelivery {
                again.extend(batch.iter().cloned());
            }
            let mut stage = LoopStage {
                shop: &mut self.shop,
                summary: &mut self.summary,
                result: &mut self.result,
                recent: self.keep_recent.then_some(&mut self.recent),
                record: self.opts.record,
                redelivery,
                now,
                rules: Vec::new(),
            };
            let started = std::time::Instant::now();
            let priced =
                self.pricer
                    .price_batch(self.pricing.as_mut(), &self.version, &batch, &mut stage);
            stage.tally();
            if let Err(e) = priced {
                self.summary.model_errors += 1;
                self.summary.last_model_error = Some(e.message);
                continue;
            }
            self.model_nanos += started.elapsed().as_nanos();
            self.model_calls += 1;
        }
    }

    /// Keep every feature record from now on ([`ClosedLoop::take_features`]).
    pub fn keep_features(&mut self) {
        self.features.get_or_insert_with(Vec::new);
    }

    /// The feature records kept since the last call, in closing order.
    pub fn take_features(&mut self) -> Vec<FeatureRecord> {
        self.features
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// The simulator's per-window oracle records of the windows closed so far.
    pub fn take_oracle(&mut self) -> Vec<sim::oracle::OracleRecord> {
        self.sim.take_oracle(&self.shop)
    }

    /// Ends the loop and returns what it produced.
    pub fn into_result(mut self) -> RunResult {
        while self.step() {}
        self.result.summary = self.summary;
        self.result.products = crate::summary::product_summaries(&self.sim, &self.shop);
        self.result
    }
}

/// The loop's side of a priced batch: the shop's catalog, the summary's
/// counters and what a report keeps.
struct LoopStage<'a> {
    shop: &'a mut Shop,
    summary: &'a mut Summary,
    result: &'a mut RunResult,
    recent: Option<&'a mut std::collections::VecDeque<AuditRecord>>,
    record: bool,
    redelivery: bool,
    now: Millis,
    /// Decisions by rule in this batch, added to the summary's counts
    /// (keyed by name) once per batch rather than looked up per decision.
    rules: Vec<(Rule, u64)>,
}

impl LoopStage<'_> {
    fn tally(&mut self) {
        for (rule, n) in self.rules.drain(..) {
            match self.summary.decisions.get_mut(rule.as_str()) {
                Some(count) => *count += n,
                None => {
                    self.summary.decisions.insert(rule.as_str().to_string(), n);
                }
            }
        }
    }
}

impl PriceStage for LoopStage<'_> {
    fn item(&mut self, product_id: &str) -> Option<&CatalogItem> {
        self.shop.item_mut(product_id).map(|i| &*i)
    }

    fn decided(&mut self, _: &FeatureRecord, d: Decision) {
        let s = &mut *self.summary;
        let a = &d.audit;
        if a.applied && !(a.floor - 1e-9..=a.ceiling + 1e-9).contains(&a.final_price) {
            s.guardrail_breaches += 1;
        }
        match self.rules.iter_mut().find(|(rule, _)| *rule == a.rule) {
            Some((_, n)) => *n += 1,
            None => self.rules.push((a.rule, 1)),
        }
        if let Some(update) = &d.update
            && let Some(item) = self.shop.item_mut(&update.product_id)
            && update.apply_to(item).is_ok()
        {
            if self.redelivery {
                s.redelivered_applied += 1;
            }
            s.price_changes += 1;
            s.relative_change_sum += (update.price / update.previous_price - 1.0).abs();
            if self.record {
                self.result.changes.push(PriceChange {
                    time: self.now,
                    product_id: update.product_id.clone(),
                    old_price: update.previous_price,
                    new_price: update.price,
                    rule: a.rule,
                });
            }
        }
        if let Some(recent) = self.recent.as_deref_mut() {
            if recent.len() == RECENT {
                recent.pop_front();
            }
            recent.push_back(d.audit.clone());
        }
        if self.record {
            self.result.audit.push(d.audit);
        }
    }
}

/// Runs one scenario (already loaded into a simulator and its shop) to the end.
pub fn run(
    sim: Simulator,
    shop: Shop,
    opts: &RunOptions,
    progress: &mut dyn FnMut(Millis, u64),
) -> Result<RunResult, RunError> {
    let mut lp = ClosedLoop::new(sim, shop, opts)?;
    // Once per simulated minute, not per one-second step: a caller that
    // formats the time for a progress bar cost a sixth of a run.
    let mut reported = None;
    while lp.step() {
        let minute = lp.sim.clock().div_euclid(pipeline::time::MINUTE);
        if reported != Some(minute) {
            reported = Some(minute);
            progress(lp.sim.clock(), lp.emitted);
        }
    }
    progress(lp.sim.clock(), lp.emitted);
    Ok(lp.into_result())
}
