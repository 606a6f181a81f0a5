//! One closed-loop run: the simulator's click bytes → the streaming core →
//! the features table and its change feed → the pricer and a policy →
//! conditional price updates in the catalog the shoppers buy from. All in
//! simulated time, deterministic for a scenario and seed.

use std::collections::BTreeMap;
use std::sync::Arc;

use model::{FixedRatioModel, OnnxModel, RulesModel, StaticModel};
use pipeline::{
    AuditRecord, DeadLetter, FeatureRecord, FeaturesTable, Guardrails, Millis, Output, Pipeline,
    PipelineConfig, Position, PriceModel, Pricer, RawRecord, Rule,
};
use serde::Serialize;
use sim::Simulator;
use sim::shop::Shop;

use crate::policy::Policy;
use crate::summary::Summary;

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

/// A watched product's demand and price, per closed window.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Series {
    pub window_end: Vec<Millis>,
    pub views_per_minute: Vec<f32>,
    pub price: Vec<f64>,
}

/// What a run produced.
#[derive(Debug)]
pub struct RunResult {
    pub summary: Summary,
    pub audit: Vec<AuditRecord>,
    pub changes: Vec<PriceChange>,
    pub dead_letters: Vec<DeadLetter>,
    pub series: BTreeMap<String, Series>,
    /// (time, cumulative revenue), one point per simulated minute.
    pub revenue: Vec<(Millis, f64)>,
    /// Simulated time covered (ms).
    pub sim_time: Millis,
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

enum Pricing {
    Model(Box<dyn PriceModel>),
    Oracle,
}

/// Runs one scenario (already loaded into a simulator and its shop) to the end.
pub fn run(
    mut sim: Simulator,
    mut shop: Shop,
    opts: &RunOptions,
    progress: &mut dyn FnMut(Millis, u64),
) -> Result<RunResult, RunError> {
    let mut pricing = match &opts.policy {
        Policy::Static => Pricing::Model(Box::new(StaticModel)),
        Policy::StaticAt(r) => Pricing::Model(Box::new(FixedRatioModel::new(*r))),
        Policy::Rules => Pricing::Model(Box::new(RulesModel::default())),
        Policy::Model(path) => Pricing::Model(Box::new(
            OnnxModel::load(path, 1).map_err(|e| RunError::Model(e.to_string()))?,
        )),
        Policy::Oracle => Pricing::Oracle,
    };
    let version: Arc<str> = match &pricing {
        Pricing::Model(m) => Arc::from(m.version()),
        Pricing::Oracle => Arc::from("oracle"),
    };
    let window = opts.config.window;
    let mut core = Pipeline::new(opts.config.clone())?;
    let partitions = sim.scenario().partitions as usize;
    let ids: Vec<_> = (0..partitions)
        .map(|k| core.register_partition(&format!("shard-{k}")))
        .collect();
    let mut table = FeaturesTable::new(pipeline::time::HOUR);
    let pricer = Pricer::new(opts.guardrails.clone());
    let mut inbox: Vec<Vec<Vec<u8>>> = vec![Vec::new(); partitions];
    let mut out = Output::default();
    let mut s = Summary::new(sim.scenario(), &opts.policy.name(), &version);
    let mut result = RunResult {
        summary: Summary::default(),
        audit: Vec::new(),
        changes: Vec::new(),
        dead_letters: Vec::new(),
        series: opts
            .watch
            .iter()
            .map(|p| (p.clone(), Series::default()))
            .collect(),
        revenue: Vec::new(),
        sim_time: sim.end() - sim.start(),
    };
    let mut emitted = 0u64;
    let mut next_minute = sim.start();
    loop {
        let done = sim.is_done();
        let now = if done { sim.end() } else { sim.clock() + POLL };
        let mut sink = |p: u32, _: Millis, b: &[u8]| inbox[p as usize].push(b.to_vec());
        if done {
            sim.finish(&mut shop, &mut sink);
        } else {
            sim.run_until(now, &mut shop, &mut sink);
        }
        for (k, records) in inbox.iter_mut().enumerate() {
            emitted += records.len() as u64;
            let raw: Vec<RawRecord> = records
                .iter()
                .map(|b| RawRecord {
                    bytes: b,
                    position: Position::Offset(0),
                })
                .collect();
            core.ingest(ids[k], now, &raw, &shop, &mut out);
            records.clear();
        }
        if done {
            core.finish(&shop, &shop, &mut out);
        } else {
            core.advance(now, &shop, &shop, &mut out);
        }
        for f in out.features.drain(..) {
            if let Some(series) = result.series.get_mut(&f.product_id) {
                series.window_end.push(f.window.end);
                series
                    .views_per_minute
                    .push(f.get("views_per_minute").unwrap_or(0.0));
                series.price.push(f.current_price);
            }
            table.put(f);
        }
        if opts.record {
            result.dead_letters.append(&mut out.dead_letters);
        } else {
            out.dead_letters.clear();
        }
        // The pricer consumes the change feed in model-sized batches.
        let mut again: Vec<FeatureRecord> = Vec::new();
        while table.feed_len() > 0 || !again.is_empty() {
            let redelivery = table.feed_len() == 0;
            let batch = if redelivery {
                std::mem::take(&mut again)
            } else {
                table.take_feed(MODEL_BATCH)
            };
            if opts.redeliver_feed && !redelivery {
                again.extend(batch.iter().cloned());
            }
            let outputs = match &mut pricing {
                Pricing::Model(m) => match m.predict(&batch) {
                    Ok(o) => o,
                    Err(e) => {
                        s.model_errors += 1;
                        s.last_model_error = Some(e.message);
                        continue;
                    }
                },
                Pricing::Oracle => oracle_outputs(&sim, &shop, &batch, window),
            };
            for (rec, output) in batch.iter().zip(outputs) {
                let Some(item) = shop.item_mut(&rec.product_id) else {
                    continue;
                };
                let d = pricer.decide(rec, output, item, &version);
                let a = &d.audit;
                if a.applied && !(a.floor - 1e-9..=a.ceiling + 1e-9).contains(&a.final_price) {
                    s.guardrail_breaches += 1;
                }
                *s.decisions
                    .entry(d.audit.rule.as_str().to_string())
                    .or_default() += 1;
                if let Some(update) = &d.update
                    && update.apply_to(item).is_ok()
                {
                    if redelivery {
                        s.redelivered_applied += 1;
                    }
                    s.price_changes += 1;
                    s.relative_change_sum += (update.price / update.previous_price - 1.0).abs();
                    if opts.record {
                        result.changes.push(PriceChange {
                            time: now,
                            product_id: update.product_id.clone(),
                            old_price: update.previous_price,
                            new_price: update.price,
                            rule: d.audit.rule,
                        });
                    }
                }
                if opts.record {
                    result.audit.push(d.audit);
                }
            }
        }
        if opts.record && now >= next_minute {
            result.revenue.push((now, sim.stats().revenue));
            next_minute = now + pipeline::time::MINUTE;
        }
        progress(now, emitted);
        if done {
            break;
        }
    }
    s.finish(&sim, &shop, &core.stats(), emitted, table.counts());
    result.summary = s;
    Ok(result)
}

/// The oracle policy's proposals: the clairvoyant best price for the next window, as a ratio.
fn oracle_outputs(
    sim: &Simulator,
    shop: &Shop,
    batch: &[FeatureRecord],
    window: Millis,
) -> Vec<f32> {
    batch
        .iter()
        .map(|r| match shop.ix(&r.product_id) {
            Some(p) => {
                let price = sim.oracle_price(p, r.window.end, r.window.end + window, shop, false);
                (price / shop.get(p).base_price) as f32
            }
            None => f32::NAN,
        })
        .collect()
}
