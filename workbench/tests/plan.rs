//! The `plan` policy against the yardstick (common random numbers, the
//! purchase dice integrated out): on the flagship it earns more than the best
//! static price and less than the oracles, using the confirmed-trend mode on
//! the trending shoe; without a trend it stays at the static optimum.

use std::path::PathBuf;

use pipeline::{Guardrails, PipelineConfig};
use workbench::compare::{Finished, run_all};
use workbench::{Policy, RunOptions};

fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(path)
}

fn compare(scenario: &str, policies: &str, seeds: &[u64]) -> Vec<Finished> {
    let policies = Policy::parse_list(
        policies,
        &model::ModelSpec::onnx(repo("model/pricing.onnx")),
    )
    .unwrap();
    let base = RunOptions {
        policy: Policy::Plan,
        config: PipelineConfig::default(),
        guardrails: Guardrails::default(),
        record: false,
        watch: Vec::new(),
        redeliver_feed: false,
    };
    let path = repo(&format!("scenarios/{scenario}.toml"));
    run_all(&path, None, &base, &policies, seeds, 2, &|_, _| {}).unwrap_or_else(|e| panic!("{e}"))
}

/// Mean expected profit of a policy over the seeds.
fn expected(runs: &[Finished], policy: &str) -> f64 {
    let mine: Vec<f64> = runs
        .iter()
        .filter(|f| f.policy.name() == policy)
        .map(|f| f.result.summary.expected_profit)
        .collect();
    mine.iter().sum::<f64>() / mine.len() as f64
}

#[test]
fn on_the_flagship_plan_earns_between_the_best_static_price_and_the_oracles() {
    let runs = compare(
        "celebrity-spike",
        "static-opt,plan,oracle-reactive,oracle",
        &[1, 2, 3],
    );
    let (opt, plan) = (expected(&runs, "static-opt"), expected(&runs, "plan"));
    let (reactive, oracle) = (
        expected(&runs, "oracle-reactive"),
        expected(&runs, "oracle"),
    );
    eprintln!(
        "static-opt {opt:.0} plan {plan:.0} oracle-reactive {reactive:.0} oracle {oracle:.0}"
    );
    assert!(plan > opt * 1.004, "plan {plan:.0} vs static-opt {opt:.0}");
    assert!(plan < reactive && reactive <= oracle * 1.001);
    for f in runs.iter().filter(|f| f.policy == Policy::Plan) {
        let s = &f.result.summary;
        assert_eq!(s.guardrail_breaches, 0);
        assert!(
            s.decisions.get("trend_step").copied().unwrap_or(0) > 0,
            "seed {}: the confirmed trend lets it rise faster: {:?}",
            f.seed,
            s.decisions
        );
    }
}

#[test]
fn without_a_trend_plan_stays_at_the_static_optimum() {
    let runs = compare("steady", "static-opt,plan", &[1, 2, 3]);
    let (opt, plan) = (expected(&runs, "static-opt"), expected(&runs, "plan"));
    eprintln!("steady: static-opt {opt:.0} plan {plan:.0}");
    assert!(
        (plan / opt - 1.0).abs() < 0.015,
        "plan {plan:.0} vs static-opt {opt:.0}"
    );
    for f in runs.iter().filter(|f| f.policy == Policy::Plan) {
        // The trend mode reads `trend_intensity`, which a slow seller's few
        // views can push past 3: rare, and only where plan asked for more.
        let d = &f.result.summary.decisions;
        let total: u64 = d.values().sum();
        let trend = d.get("trend_step").copied().unwrap_or(0);
        assert!(trend * 1000 <= total, "seed {}: {trend} of {total}", f.seed);
    }
}
