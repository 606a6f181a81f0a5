//! The closed loop end to end: deterministic, every event and fault
//! accounted for, every applied price inside its guardrails, and a
//! redelivered change feed applies nothing twice.

use std::path::PathBuf;

use pipeline::{Guardrails, PipelineConfig};
use sim::{Scenario, Simulator};
use workbench::{Policy, RunOptions, RunResult, run};

fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(path)
}

/// The celebrity scenario's sighting day (Wednesday), for speed.
fn sighting_day() -> Scenario {
    let mut sc = Scenario::load(&repo("scenarios/celebrity-spike.toml")).unwrap();
    sc.start.0 += 2 * 86_400_000;
    sc.trend.truncate(1);
    sc.trend[0].at.0 -= 2 * 86_400_000;
    sc.duration.0 = 86_400_000;
    sc
}

fn options(policy: Policy) -> RunOptions {
    RunOptions {
        policy,
        config: PipelineConfig::default(),
        guardrails: Guardrails::default(),
        record: true,
        watch: vec!["sku-0040".into()],
        redeliver_feed: false,
    }
}

fn go(sc: Scenario, opts: &RunOptions) -> RunResult {
    let (sim, shop) = Simulator::new(sc, None).unwrap();
    run(sim, shop, opts, &mut |_, _| {}).unwrap_or_else(|e| panic!("{e}"))
}

fn model() -> Policy {
    Policy::Model(model::ModelSpec::onnx(repo("model/pricing.onnx")))
}

#[test]
fn same_scenario_and_seed_give_identical_summaries() {
    let a = go(sighting_day(), &options(model()));
    let b = go(sighting_day(), &options(model()));
    let json = |r: &RunResult| serde_json::to_string(&r.summary).unwrap();
    assert_eq!(json(&a), json(&b));
    assert_eq!(a.changes, b.changes);
    let mut other = sighting_day();
    other.seed += 1;
    assert_ne!(json(&a), json(&go(other, &options(model()))));
}

#[test]
fn every_event_and_fault_is_accounted_for_end_to_end() {
    let mut sc = Scenario::load(&repo("scenarios/bad-input.toml")).unwrap();
    sc.duration.0 = 12 * 3_600_000;
    let r = go(sc, &options(Policy::Rules));
    let s = &r.summary;
    assert_eq!(
        s.events_emitted, s.received,
        "every record the simulator delivered reached the core"
    );
    assert_eq!(s.received, s.accepted + s.dead_lettered);
    let injected = serde_json::to_value(s.faults_injected).unwrap();
    for (reason, n) in &s.dead_letters {
        assert_eq!(
            injected.get(reason).and_then(|v| v.as_u64()).unwrap_or(0),
            *n,
            "{reason}"
        );
    }
    assert!(s.dead_lettered > 100);
    assert_eq!(r.dead_letters.len() as u64, s.dead_lettered);
}

#[test]
fn no_applied_price_leaves_its_guardrails() {
    for policy in [
        model(),
        Policy::Rules,
        Policy::Oracle,
        Policy::StaticAt(0.5),
        Policy::StaticAt(3.0),
    ] {
        let r = go(sighting_day(), &options(policy.clone()));
        assert_eq!(r.summary.guardrail_breaches, 0, "{}", policy.name());
        let applied: Vec<_> = r.audit.iter().filter(|a| a.applied).collect();
        assert_eq!(applied.len() as u64, r.summary.price_changes);
        for a in applied {
            assert!(
                a.floor - 1e-9 <= a.final_price && a.final_price <= a.ceiling + 1e-9,
                "{a:?}"
            );
        }
        assert_eq!(
            r.audit.len() as u64,
            r.summary.decisions.values().sum::<u64>()
        );
    }
}

#[test]
fn a_redelivered_change_feed_applies_nothing_twice() {
    let once = go(sighting_day(), &options(model()));
    let twice = go(
        sighting_day(),
        &RunOptions {
            redeliver_feed: true,
            ..options(model())
        },
    );
    assert_eq!(twice.summary.redelivered_applied, 0);
    assert!(
        twice.summary.decisions.get("replay").copied().unwrap_or(0) >= once.summary.price_changes
    );
    assert_eq!(once.summary.price_changes, twice.summary.price_changes);
    assert_eq!(
        once.summary.revenue, twice.summary.revenue,
        "the shop saw the same prices"
    );
}

#[test]
fn a_run_reports_the_trending_products_series_and_cumulative_profit() {
    let r = go(sighting_day(), &options(model()));
    let s = &r.series["sku-0040"];
    assert!(!s.window_end.is_empty());
    let peak = s.views_per_minute.iter().cloned().fold(0.0f32, f32::max);
    assert!(peak > 3.0, "the sighting shows in demand: {peak}");
    assert!(
        r.profit.windows(2).all(|w| w[0].1 <= w[1].1),
        "cumulative profit never falls: every price is above cost"
    );
    assert!(
        s.inventory.windows(2).all(|w| w[1] <= w[0]),
        "no restock on the sighting day: stock only falls"
    );
    let t = &r.summary.trending[0];
    assert_eq!(t.products[0].product_id, "sku-0040");
    assert_eq!(t.products[0].starting_stock, 18, "a size run");
    assert_eq!(t.units, t.products[0].units);
}
