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
/// first seed keep their records (for the report) when `base.record` is set.
pub fn run_all(
    scenario: &Path,
    duration: Option<Millis>,
    base: &RunOptions,
    policies: &[Policy],
    seeds: &[u64],
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
                                record: base.record && seed == seeds[0],
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

/// One policy's results over the seeds. Profit is the objective; paired
/// figures compare runs of the same seed (common random numbers: the same
/// shoppers, different prices).
#[derive(Clone, Debug, Serialize)]
pub struct PolicyRow {
    pub policy: String,
    pub seeds: usize,
    pub profit: Spread,
    pub revenue: Spread,
    pub margin: Spread,
    pub orders: Spread,
    pub missed_out_of_stock: Spread,
    pub price_changes: Spread,
    pub mean_abs_change: Spread,
    /// Profit vs the list price (`static`) on the same seed, as a fraction.
    pub profit_vs_list: Option<Spread>,
    /// Profit vs `static-opt` on the same seed, as a fraction.
    pub profit_vs_static_opt: Option<Spread>,
    /// Profit with the purchase dice integrated out (see `Summary::expected_profit`).
    pub expected_profit: Spread,
    /// The same paired comparison on expected profit: far less noise.
    pub expected_vs_static_opt: Option<Spread>,
    /// (oracle − this) / oracle profit on the same seed.
    pub profit_regret_vs_oracle: Option<Spread>,
    /// (this − static-opt) / (oracle − static-opt), shop-wide, per seed.
    pub headroom_captured: Option<Spread>,
    /// The trends' target products: profit, units, shoppers who found no stock.
    pub trending_profit: Spread,
    pub trending_units: Spread,
    pub trending_missed: Spread,
    /// The share of the oracle's headroom over static-opt captured on the trending products.
    pub trending_headroom_captured: Option<Spread>,
    /// Applied prices outside their guardrails, over all runs (must be 0).
    pub guardrail_breaches: u64,
}

/// The most profitable fixed-price policy of one seed.
#[derive(Clone, Debug, Serialize)]
pub struct BestStatic {
    pub seed: u64,
    pub policy: String,
    pub profit: f64,
}

/// The oracle's profit headroom over static-opt, shop-wide and on the
/// trending products, per seed (when both ran).
#[derive(Clone, Debug, Serialize)]
pub struct Headroom {
    pub seed: u64,
    pub shop: f64,
    pub shop_fraction: f64,
    pub trending: f64,
}

fn summary_of<'a>(finished: &'a [Finished], name: &str, seed: u64) -> Option<&'a crate::Summary> {
    finished
        .iter()
        .find(|f| f.policy.name() == name && f.seed == seed)
        .map(|f| &f.result.summary)
}

/// Per seed, the fixed-price policy with the highest profit.
pub fn best_statics(finished: &[Finished]) -> Vec<BestStatic> {
    let mut best: BTreeMap<u64, BestStatic> = BTreeMap::new();
    for f in finished.iter().filter(|f| f.policy.is_static()) {
        let profit = f.result.summary.profit;
        let b = best.entry(f.seed).or_insert_with(|| BestStatic {
            seed: f.seed,
            policy: f.policy.name(),
            profit,
        });
        if profit > b.profit {
            b.policy = f.policy.name();
            b.profit = profit;
        }
    }
    best.into_values().collect()
}

/// The oracle's headroom over static-opt per seed.
pub fn headroom(finished: &[Finished]) -> Vec<Headroom> {
    let mut seeds: Vec<u64> = finished.iter().map(|f| f.seed).collect();
    seeds.sort_unstable();
    seeds.dedup();
    seeds
        .into_iter()
        .filter_map(|seed| {
            let (o, s) = (
                summary_of(finished, "oracle", seed)?,
                summary_of(finished, "static-opt", seed)?,
            );
            Some(Headroom {
                seed,
                shop: o.profit - s.profit,
                shop_fraction: (o.profit - s.profit) / s.profit.abs().max(1e-9),
                trending: o.trending_totals().0 - s.trending_totals().0,
            })
        })
        .collect()
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
    type Get = dyn Fn(&crate::Summary) -> f64;
    let metric = |runs: &[&Finished], get: &Get| {
        Spread::of(
            &runs
                .iter()
                .map(|f| get(&f.result.summary))
                .collect::<Vec<_>>(),
        )
    };
    let paired = |runs: &[&Finished], value: &dyn Fn(&crate::Summary, u64) -> Option<f64>| {
        let values: Vec<f64> = runs
            .iter()
            .filter_map(|f| value(&f.result.summary, f.seed))
            .filter(|v| v.is_finite())
            .collect();
        (!values.is_empty()).then(|| Spread::of(&values))
    };
    let vs = |name: &'static str, regret: bool| {
        move |s: &crate::Summary, seed: u64| {
            let b = summary_of(finished, name, seed)?;
            let (x, y) = (s.profit, b.profit);
            (y.abs() > 0.0).then(|| if regret { (y - x) / y } else { (x - y) / y })
        }
    };
    let expected_vs = |s: &crate::Summary, seed: u64| {
        let b = summary_of(finished, "static-opt", seed)?;
        (b.expected_profit.abs() > 0.0)
            .then(|| (s.expected_profit - b.expected_profit) / b.expected_profit)
    };
    // Headroom smaller than this share of profit is noise, not headroom.
    fn captured<'a>(
        finished: &'a [Finished],
        get: &'a Get,
    ) -> impl Fn(&crate::Summary, u64) -> Option<f64> + 'a {
        move |s: &crate::Summary, seed: u64| {
            let (o, b) = (
                summary_of(finished, "oracle", seed)?,
                summary_of(finished, "static-opt", seed)?,
            );
            let room = get(o) - get(b);
            (room > 1e-3 * b.profit.abs()).then(|| (get(s) - get(b)) / room)
        }
    }
    let shop: &Get = &|s| s.profit;
    let trending: &Get = &|s| s.trending_totals().0;
    by_policy
        .into_values()
        .map(|runs| PolicyRow {
            policy: runs[0].policy.name(),
            seeds: runs.len(),
            profit: metric(&runs, &|s| s.profit),
            revenue: metric(&runs, &|s| s.revenue),
            margin: metric(&runs, &|s| s.margin),
            orders: metric(&runs, &|s| s.orders as f64),
            missed_out_of_stock: metric(&runs, &|s| s.missed_out_of_stock as f64),
            price_changes: metric(&runs, &|s| s.price_changes as f64),
            mean_abs_change: metric(&runs, &|s| s.mean_abs_change),
            profit_vs_list: paired(&runs, &vs("static", false)),
            profit_vs_static_opt: paired(&runs, &vs("static-opt", false)),
            expected_profit: metric(&runs, &|s| s.expected_profit),
            expected_vs_static_opt: paired(&runs, &expected_vs),
            profit_regret_vs_oracle: paired(&runs, &vs("oracle", true)),
            headroom_captured: paired(&runs, &captured(finished, shop)),
            trending_profit: metric(&runs, trending),
            trending_units: metric(&runs, &|s| s.trending_totals().1 as f64),
            trending_missed: metric(&runs, &|s| s.trending_totals().2 as f64),
            trending_headroom_captured: paired(&runs, &captured(finished, trending)),
            guardrail_breaches: runs
                .iter()
                .map(|f| f.result.summary.guardrail_breaches)
                .sum(),
        })
        .collect()
}

/// "+1.2 % ± 0.3" for a fraction, "—" when not measured.
pub fn pct(s: &Option<Spread>) -> String {
    s.as_ref().map_or("—".to_string(), |s| {
        format!("{:+.1} % ± {:.1}", s.mean * 100.0, s.sd * 100.0)
    })
}

/// The table as text for a terminal.
pub fn render(rows: &[PolicyRow], best: &[BestStatic], headroom: &[Headroom]) -> String {
    let pm = |s: &Spread, scale: f64, digits: usize| {
        format!(
            "{:.*} ± {:.*}",
            digits,
            s.mean * scale,
            digits,
            s.sd * scale
        )
    };
    let share = |s: &Option<Spread>| {
        s.as_ref().map_or("—".to_string(), |s| {
            format!("{:.0} % ± {:.0}", s.mean * 100.0, s.sd * 100.0)
        })
    };
    let mut out = format!(
        "{:<26} {:>5} {:>18} {:>16} {:>16} {:>16} {:>16} {:>14} {:>16} {:>14} {:>14} {:>16} {:>10} {:>8}\n",
        "policy",
        "seeds",
        "profit",
        "vs list",
        "vs static-opt",
        "E vs static-opt",
        "regret vs oracle",
        "headroom",
        "trending profit",
        "trending head.",
        "trending missed",
        "revenue",
        "margin %",
        "changes"
    );
    for r in rows {
        out += &format!(
            "{:<26} {:>5} {:>18} {:>16} {:>16} {:>16} {:>16} {:>14} {:>16} {:>14} {:>14} {:>16} {:>10} {:>8}\n",
            r.policy,
            r.seeds,
            pm(&r.profit, 1.0, 0),
            pct(&r.profit_vs_list),
            pct(&r.profit_vs_static_opt),
            pct(&r.expected_vs_static_opt),
            pct(&r.profit_regret_vs_oracle),
            share(&r.headroom_captured),
            pm(&r.trending_profit, 1.0, 0),
            share(&r.trending_headroom_captured),
            pm(&r.trending_missed, 1.0, 0),
            pm(&r.revenue, 1.0, 0),
            format!("{:.1}", r.margin.mean * 100.0),
            format!("{:.0}", r.price_changes.mean),
        );
    }
    if !best.is_empty() {
        let list: Vec<String> = best
            .iter()
            .map(|b| format!("{} {}", b.seed, b.policy))
            .collect();
        out += &format!("best static per seed: {}\n", list.join(", "));
    }
    if !headroom.is_empty() {
        let shop = Spread::of(&headroom.iter().map(|h| h.shop_fraction).collect::<Vec<_>>());
        let trend = Spread::of(&headroom.iter().map(|h| h.trending).collect::<Vec<_>>());
        out += &format!(
            "oracle headroom over static-opt: shop-wide {:+.2} % ± {:.2} of profit; trending products {:+.0} ± {:.0}\n",
            shop.mean * 100.0,
            shop.sd * 100.0,
            trend.mean,
            trend.sd
        );
    }
    out
}
