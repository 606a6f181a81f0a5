//! The shipped scenarios tell the stories they claim, measured on the
//! simulated stream.

use std::path::PathBuf;

use sim::{Scenario, Simulator};

fn scenario(name: &str) -> Scenario {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../scenarios")
        .join(name);
    Scenario::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

/// Daily views of sku-0040 over a week (Mon–Sun) with only the sighting
/// (Wednesday 14:00): (spike day / median quiet day, then the share of the
/// spike's excess that day +1, +2 and +3 keep).
fn spike_shape(seed: u64) -> (f64, [f64; 3]) {
    let mut sc = scenario("celebrity-spike.toml");
    sc.seed = seed;
    sc.trend.truncate(1);
    sc.duration.0 = 7 * 86_400_000;
    let (mut sim, mut shop) = Simulator::new(sc, None).unwrap();
    sim.finish(&mut shop, &mut |_: u32, _: i64, _: &[u8]| {});
    let ix = shop.ix("sku-0040").unwrap();
    let days: Vec<f64> = sim.daily_views(ix).iter().map(|&v| v as f64).collect();
    // Mon and Tue are quiet; the sighting is Wednesday 14:00 (day 2).
    let median = (days[0] + days[1]) / 2.0;
    let excess = days[2] - median;
    let kept = |d: usize| (days[d] - median) / excess;
    (days[2] / median, [kept(3), kept(4), kept(5)])
}

/// Real page-view data: a celebrity spike reaches 24–67× the median day;
/// the next days keep 14–51 %, 6–21 % and 1–17 % of the excess. The
/// flagship lands inside every range for every seed tried (three, so a
/// lucky seed cannot pass alone).
#[test]
fn the_celebrity_spike_matches_real_page_view_spikes() {
    for seed in [42, 1, 2] {
        let (ratio, [d1, d2, d3]) = spike_shape(seed);
        eprintln!(
            "seed {seed}: spike {ratio:.1}x the median day, days +1/+2/+3 keep {d1:.3} / {d2:.3} / {d3:.3}"
        );
        assert!(
            (24.0..=67.0).contains(&ratio),
            "seed {seed}: spike {ratio:.1}× the median day"
        );
        assert!(
            (0.14..=0.51).contains(&d1),
            "seed {seed}: day +1 keeps {d1:.3}"
        );
        assert!(
            (0.06..=0.21).contains(&d2),
            "seed {seed}: day +2 keeps {d2:.3}"
        );
        assert!(
            (0.01..=0.17).contains(&d3),
            "seed {seed}: day +3 keeps {d3:.3}"
        );
    }
}

#[test]
fn every_shipped_scenario_loads_and_runs() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    names.sort();
    let expected = [
        "bad-input",
        "celebrity-spike",
        "flash-sale",
        "multi-celebrity",
        "steady",
        "stockout",
    ];
    let stems: Vec<_> = names
        .iter()
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(stems, expected);
    for path in names {
        let mut sc = Scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
        assert!(!sc.description.is_empty(), "{}", path.display());
        sc.duration.0 = sc.duration.0.min(3 * 3_600_000);
        let (mut sim, mut shop) = Simulator::new(sc, None).unwrap();
        let mut records = 0u64;
        sim.finish(&mut shop, &mut |_: u32, _: i64, _: &[u8]| records += 1);
        assert!(records > 100, "{}", path.display());
        assert_eq!(records, sim.stats().records);
    }
}

#[test]
fn the_stockout_scenario_sells_out_and_stock_never_goes_negative() {
    let (mut sim, mut shop) = Simulator::new(scenario("stockout.toml"), None).unwrap();
    sim.finish(&mut shop, &mut |_: u32, _: i64, _: &[u8]| {});
    let ix = shop.ix("sku-0025").unwrap();
    assert_eq!(shop.inventory(ix), 0, "the trending shoe sold out");
    assert!(sim.stats().missed_out_of_stock > 50);
    assert!(shop.items().iter().all(|i| i.inventory >= 0));
}
