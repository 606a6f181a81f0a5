//! Several policies × seeds on one scenario, in parallel across cores, and
//! the comparison table (mean ± standard deviation over seeds).

use std::collections::{BTreeMap, VecDeque};
use std::path::Path;
use std::sync::Mutex;

use pipeline::Millis;
use serde::Serialize;

use crate::policy::Policy;
use crate::run::{RunError, RunOptions, RunResult, run};

/// One finished run.
pub struct Finished {
    pub policy: Policy,
    pub seed: u64,
    pub result: RunResult,
}

/// Runs every (policy, seed) pair on `threads` threads. Only runs of the
/// first seed keep their records (for the report) when `record` is set.
#[allow(clippy::too_many_arguments)]
pub fn run_all(
    scenario: &Path,
    duration: Option<Millis>,
    base: &RunOptions,
    policies: &[Policy],
    seeds: &[u64],
    record: bool,
    threads: usize,
    progress: &(dyn Fn(u64, Millis) + Sync),
) -> Result<Vec<Finished>, RunError> {
    let jobs: Mutex<VecDeque<(Policy, u64)>> = Mutex::new(
        seeds
            .iter()
            .flat_map(|&s| policies.iter().map(move |p| (p.clone(), s)))
            .collect(),
    );
    let done: Mutex<Vec<Result<Finished, RunError>>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..threads.max(1) {
            scope.spawn(|| {
                loop {
                    let Some((policy, seed)) = jobs.lock().ok().and_then(|mut j| j.pop_front())
                    else {
                        return;
                    };
                    let outcome = sim::output::prepare(scenario, Some(seed), duration)
                        .map_err(RunError::from)
                        .and_then(|(sim, shop)| {
                            let opts = RunOptions {
                                policy: policy.clone(),
                                record: record && seed == seeds[0],
                                ..base.clone()
                            };
                            let mut last = 0u64;
                            run(sim, shop, &opts, &mut |now, emitted| {
                                progress(emitted - last, now);
                                last = emitted;
                            })
                        })
                        .map(|result| Finished {
                            policy,
                            seed,
                            result,
                        });
                    if let Ok(mut d) = done.lock() {
                        d.push(outcome);
                    }
                }
            });
        }
    });
    let mut finished: Vec<Finished> = done
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .collect::<Result<_, _>>()?;
    let order = |p: &Policy| policies.iter().position(|q| q == p).unwrap_or(usize::MAX);
    finished.sort_by_key(|f| (order(&f.policy), f.seed));
    Ok(finished)
}

/// Mean and sample standard deviation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Spread {
    pub mean: f64,
    pub sd: f64,
}

impl Spread {
    pub fn of(values: &[f64]) -> Spread {
        let n = values.len() as f64;
        if values.is_empty() {
            return Spread::default();
        }
        let mean = values.iter().sum::<f64>() / n;
        let var = if values.len() > 1 {
            values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)
        } else {
            0.0
        };
        Spread {
            mean,
            sd: var.sqrt(),
        }
    }
}

/// One policy's results over the seeds.
#[derive(Clone, Debug, Serialize)]
pub struct PolicyRow {
    pub policy: String,
    pub seeds: usize,
    pub revenue: Spread,
    pub profit: Spread,
    pub margin: Spread,
    pub orders: Spread,
    pub missed_out_of_stock: Spread,
    pub price_changes: Spread,
    pub mean_abs_change: Spread,
    /// Revenue vs static on the same seed, as a fraction (when static ran).
    pub revenue_uplift_vs_static: Option<Spread>,
    pub profit_uplift_vs_static: Option<Spread>,
    /// (oracle − this) / oracle revenue on the same seed (when the oracle ran).
    pub revenue_regret_vs_oracle: Option<Spread>,
    /// Applied prices outside their guardrails, over all runs (must be 0).
    pub guardrail_breaches: u64,
}

/// The comparison table from finished runs.
pub fn table(finished: &[Finished]) -> Vec<PolicyRow> {
    let mut by_policy: BTreeMap<usize, Vec<&Finished>> = BTreeMap::new();
    let mut names: Vec<String> = Vec::new();
    for f in finished {
        let name = f.policy.name();
        let i = names.iter().position(|n| *n == name).unwrap_or_else(|| {
            names.push(name.clone());
            names.len() - 1
        });
        by_policy.entry(i).or_default().push(f);
    }
    let metric = |runs: &[&Finished], get: &dyn Fn(&crate::Summary) -> f64| {
        Spread::of(
            &runs
                .iter()
                .map(|f| get(&f.result.summary))
                .collect::<Vec<_>>(),
        )
    };
    let baseline = |name: &str, seed: u64| {
        finished
            .iter()
            .find(|f| f.policy.name() == name && f.seed == seed)
            .map(|f| &f.result.summary)
    };
    let relative =
        |runs: &[&Finished], name: &str, get: &dyn Fn(&crate::Summary) -> f64, regret: bool| {
            let values: Vec<f64> = runs
                .iter()
                .filter_map(|f| {
                    let b = baseline(name, f.seed)?;
                    let (x, y) = (get(&f.result.summary), get(b));
                    (y.abs() > 0.0).then(|| if regret { (y - x) / y } else { (x - y) / y })
                })
                .collect();
            (!values.is_empty()).then(|| Spread::of(&values))
        };
    by_policy
        .into_values()
        .map(|runs| {
            let policy = runs[0].policy.name();
            PolicyRow {
                seeds: runs.len(),
                revenue: metric(&runs, &|s| s.revenue),
                profit: metric(&runs, &|s| s.profit),
                margin: metric(&runs, &|s| s.margin),
                orders: metric(&runs, &|s| s.orders as f64),
                missed_out_of_stock: metric(&runs, &|s| s.missed_out_of_stock as f64),
                price_changes: metric(&runs, &|s| s.price_changes as f64),
                mean_abs_change: metric(&runs, &|s| s.mean_abs_change),
                revenue_uplift_vs_static: relative(&runs, "static", &|s| s.revenue, false),
                profit_uplift_vs_static: relative(&runs, "static", &|s| s.profit, false),
                revenue_regret_vs_oracle: relative(&runs, "oracle", &|s| s.revenue, true),
                guardrail_breaches: runs
                    .iter()
                    .map(|f| f.result.summary.guardrail_breaches)
                    .sum(),
                policy,
            }
        })
        .collect()
}

/// The table as text for a terminal.
pub fn render(rows: &[PolicyRow]) -> String {
    let pm = |s: &Spread, scale: f64, digits: usize| {
        format!(
            "{:.*} ± {:.*}",
            digits,
            s.mean * scale,
            digits,
            s.sd * scale
        )
    };
    let pct = |s: &Option<Spread>| {
        s.as_ref().map_or("—".to_string(), |s| {
            format!("{:+.1} % ± {:.1}", s.mean * 100.0, s.sd * 100.0)
        })
    };
    let mut out = format!(
        "{:<12} {:>5} {:>22} {:>22} {:>15} {:>14} {:>18} {:>18} {:>16} {:>12}\n",
        "policy",
        "seeds",
        "revenue",
        "profit",
        "margin %",
        "orders",
        "revenue vs static",
        "profit vs static",
        "regret vs oracle",
        "changes"
    );
    for r in rows {
        out += &format!(
            "{:<12} {:>5} {:>22} {:>22} {:>15} {:>14} {:>18} {:>18} {:>16} {:>12}\n",
            r.policy,
            r.seeds,
            pm(&r.revenue, 1.0, 0),
            pm(&r.profit, 1.0, 0),
            pm(&r.margin, 100.0, 1),
            pm(&r.orders, 1.0, 0),
            pct(&r.revenue_uplift_vs_static),
            pct(&r.profit_uplift_vs_static),
            pct(&r.revenue_regret_vs_oracle),
            format!("{:.0}", r.price_changes.mean),
        );
    }
    out
}
