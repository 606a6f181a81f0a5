//! Training data (`pricestream export-training`): the closed loop run with a
//! policy (static list prices by default; a model for DAgger-style rounds, so
//! that labels cover the states the model itself leads to), every feature
//! record labeled with
//! - the myopic per-window optimum of the *next* window (the window a
//!   decision made at this close prices), when shoppers reached the purchase
//!   decision in it, and
//! - the stock-aware oracle's price at the close, given the stock then
//!   (`label_plan_ratio`).

use std::io::Write;
use std::path::{Path, PathBuf};

use pipeline::{FeatureRecord, Millis};
use rustc_hash::FxHashMap;
use sim::oracle::OracleRecord;
use sim::output::SimError;
use sim::planner::Planner;

use crate::run::{ClosedLoop, RunError, RunOptions};

/// Columns of a training file: identifiers, the model's features in order, labels.
pub fn training_header() -> Vec<String> {
    let mut h: Vec<String> = ["scenario", "seed", "product_id", "window_end"]
        .map(String::from)
        .to_vec();
    h.extend(pipeline::FEATURE_NAMES.iter().map(|n| n.to_string()));
    h.extend(
        [
            "next_decisions",
            "label_revenue_ratio",
            "label_profit_ratio",
            "label_plan_ratio",
        ]
        .map(String::from),
    );
    h
}

/// One feature record and its labels.
pub struct Labeled {
    pub features: FeatureRecord,
    /// The myopic optima of the next window, when shoppers reached the
    /// purchase decision in it.
    pub next: Option<OracleRecord>,
    /// The stock-aware oracle's price ratio (to base) at the close, within
    /// the run's guardrails' bounds.
    pub plan_ratio: Option<f64>,
}

/// Runs `path` with one seed through the closed loop and labels every
/// record; returns the scenario's name and the records.
pub fn label_run(
    path: &Path,
    seed: u64,
    duration: Option<Millis>,
    opts: &RunOptions,
) -> Result<(String, Vec<Labeled>), RunError> {
    let (sim, shop) = sim::output::prepare(path, Some(seed), duration)?;
    let name = sim.scenario().name.clone();
    let guardrails = crate::run::guardrails_for(&opts.policy, &opts.guardrails);
    let mut planner = Planner::new(&sim, &shop, |item| guardrails.bounds(item));
    let mut lp = ClosedLoop::new(sim, shop, opts)?;
    lp.keep_features();
    while lp.step() {}
    let features = lp.take_features();
    let mut oracle: FxHashMap<(String, Millis), OracleRecord> = lp
        .take_oracle()
        .into_iter()
        .map(|r| ((r.product_id.clone(), r.window_start), r))
        .collect();
    let inventory = pipeline::features::feature_index("inventory").unwrap_or(0);
    // The planner follows the shop's reference price, so it is asked in closing order.
    let labeled = features
        .into_iter()
        .map(|f| {
            let plan_ratio = lp.shop().ix(&f.product_id).map(|p| {
                let stock = f.features[inventory].round() as i64;
                planner.price(p, f.window.end, stock, f.current_price) / f.base_price
            });
            Labeled {
                next: oracle.remove(&(f.product_id.to_string(), f.window.end)),
                plan_ratio,
                features: f,
            }
        })
        .collect();
    Ok((name, labeled))
}

/// Labels `path` once per seed and appends the rows to `out`; returns
/// (rows, rows with a next-window label).
pub fn export_training<W: Write>(
    path: &Path,
    seeds: &[u64],
    duration: Option<Millis>,
    opts: &RunOptions,
    out: &mut csv::Writer<W>,
) -> Result<(u64, u64), RunError> {
    let (mut rows, mut labeled) = (0, 0);
    for &seed in seeds {
        let (name, records) = label_run(path, seed, duration, opts)?;
        for r in records {
            let mut row = vec![
                name.clone(),
                seed.to_string(),
                r.features.product_id.to_string(),
                r.features.window.end.to_string(),
            ];
            row.extend(r.features.features.iter().map(|v| v.to_string()));
            match &r.next {
                Some(o) => {
                    labeled += 1;
                    row.extend([
                        o.decisions.to_string(),
                        o.revenue_ratio.to_string(),
                        o.profit_ratio.to_string(),
                    ]);
                }
                None => row.extend(["0".into(), String::new(), String::new()]),
            }
            row.push(r.plan_ratio.map(|v| v.to_string()).unwrap_or_default());
            out.write_record(&row).map_err(|e| SimError::Write {
                path: PathBuf::from("training output"),
                source: e.into(),
            })?;
            rows += 1;
        }
    }
    Ok((rows, labeled))
}
