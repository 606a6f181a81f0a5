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

/// (spike-day views / median quiet day, share of the excess kept the next day).
fn spike_shape(seed: u64) -> (f64, f64) {
    let mut sc = scenario("celebrity-spike.toml");
    sc.seed = seed;
    let (mut sim, mut shop) = Simulator::new(sc, None).unwrap();
    sim.finish(&mut shop, &mut |_: u32, _: i64, _: &[u8]| {});
    let ix = shop.ix("sku-0040").unwrap();
    let days = sim.daily_views(ix);
    // Mon and Tue are quiet; the sighting is Wednesday 14:00 (day 2).
    let mut quiet = [days[0] as f64, days[1] as f64];
    quiet.sort_by(f64::total_cmp);
    let median = (quiet[0] + quiet[1]) / 2.0;
    let (spike, next) = (days[2] as f64, days[3] as f64);
    (spike / median, (next - median) / (spike - median))
}

/// Real page-view data: a celebrity spike reaches 24–67× the median day and
/// the next day keeps 14–51 % of the excess. The flagship lands inside both
/// ranges for every seed tried (three, so a lucky seed cannot pass alone).
#[test]
fn the_celebrity_spike_matches_real_page_view_spikes() {
    for seed in [42, 1, 2] {
        let (ratio, kept) = spike_shape(seed);
        eprintln!("seed {seed}: spike {ratio:.1}x the median day, next day keeps {kept:.2}");
        assert!(
            (24.0..=67.0).contains(&ratio),
            "seed {seed}: spike {ratio:.1}× the median day"
        );
        assert!(
            (0.14..=0.51).contains(&kept),
            "seed {seed}: next day keeps {kept:.2} of the excess"
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
