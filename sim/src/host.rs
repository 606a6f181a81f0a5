//! Hosts the streaming core over the simulator in simulated time, with
//! static prices: what `export-training` uses to pair every feature record
//! with the oracle's best price for the window that follows it (the window
//! a decision made at its close would price), and with the price the
//! stock-aware oracle would set at that close (`planner`).

use pipeline::{FeatureRecord, Millis, Output, Pipeline, PipelineConfig, Position, RawRecord};
use rustc_hash::FxHashMap;

use crate::engine::Simulator;
use crate::oracle::OracleRecord;
use crate::planner::Planner;
use crate::shop::Shop;

/// How often the host polls the simulator's partitions, in simulated time.
pub const POLL: Millis = 1_000;

/// One feature record and, when shoppers reached the purchase decision in the
/// next window, the oracle's prices for it.
pub struct Labeled {
    pub features: FeatureRecord,
    pub next: Option<OracleRecord>,
    /// The stock-aware oracle's price ratio (to base) for the next window,
    /// given the stock at the close; within the default guardrails' bounds.
    pub plan_ratio: Option<f64>,
}

/// Runs the scenario to its end through a fresh core and labels every record.
pub fn run_static(
    mut sim: Simulator,
    mut shop: Shop,
    config: PipelineConfig,
) -> Result<(Vec<Labeled>, pipeline::Stats), pipeline::ConfigError> {
    let mut core = Pipeline::new(config)?;
    let guardrails = pipeline::Guardrails::default();
    let mut planner = Planner::new(&sim, &shop, |item| guardrails.bounds(item));
    let inventory = pipeline::features::feature_index("inventory").unwrap_or(0);
    let mut plan_ratios: FxHashMap<(String, Millis), f64> = FxHashMap::default();
    let mut label = |features: &[FeatureRecord], shop: &Shop| {
        for f in features {
            if let Some(p) = shop.ix(&f.product_id) {
                let stock = f.features[inventory].round() as i64;
                let price = planner.price(p, f.window.end, stock, f.current_price);
                plan_ratios.insert((f.product_id.clone(), f.window.end), price / f.base_price);
            }
        }
    };
    let partitions = sim.scenario().partitions as usize;
    let ids: Vec<_> = (0..partitions)
        .map(|k| core.register_partition(&format!("shard-{k}")))
        .collect();
    let mut out = Output::default();
    let mut features = Vec::new();
    let mut inbox: Vec<Vec<Vec<u8>>> = vec![Vec::new(); partitions];
    let feed = |core: &mut Pipeline,
                inbox: &mut Vec<Vec<Vec<u8>>>,
                now: Millis,
                shop: &Shop,
                out: &mut Output| {
        for (k, records) in inbox.iter_mut().enumerate() {
            let raw: Vec<RawRecord> = records
                .iter()
                .map(|b| RawRecord {
                    bytes: b,
                    position: Position::Offset(0),
                })
                .collect();
            core.ingest(ids[k], now, &raw, shop, out);
            records.clear();
        }
        core.advance(now, shop, shop, out);
    };
    while !sim.is_done() {
        let now = sim.clock() + POLL;
        sim.run_until(now, &mut shop, &mut |p: u32, _: Millis, b: &[u8]| {
            inbox[p as usize].push(b.to_vec())
        });
        feed(&mut core, &mut inbox, now, &shop, &mut out);
        label(&out.features, &shop);
        features.append(&mut out.features);
        out.dead_letters.clear();
    }
    sim.finish(&mut shop, &mut |p: u32, _: Millis, b: &[u8]| {
        inbox[p as usize].push(b.to_vec())
    });
    let end = sim.end();
    feed(&mut core, &mut inbox, end, &shop, &mut out);
    core.finish(&shop, &shop, &mut out);
    label(&out.features, &shop);
    features.append(&mut out.features);
    let mut oracle: FxHashMap<(String, Millis), OracleRecord> = sim
        .take_oracle(&shop)
        .into_iter()
        .map(|r| ((r.product_id.clone(), r.window_start), r))
        .collect();
    let labeled = features
        .into_iter()
        .map(|f| {
            let key = (f.product_id.clone(), f.window.end);
            let next = oracle.remove(&key);
            let plan_ratio = plan_ratios.get(&key).copied();
            Labeled {
                features: f,
                next,
                plan_ratio,
            }
        })
        .collect();
    Ok((labeled, core.stats()))
}
