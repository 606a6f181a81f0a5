//! The offline path: `sim --out` files replayed through the streaming core.
//! Every injected fault is dead-lettered with the reason it was made for,
//! every record is received, and the same seed gives the same bytes.

use std::path::{Path, PathBuf};

use pipeline::Reason;
use pipeline::drivers::replay::{ReplayInput, ReplayOptions, replay};
use proptest::prelude::*;
use sim::Scenario;
use sim::output::write_run;
use xxhash_rust::xxh3::Xxh3;

fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(path)
}

fn simulate(sc: Scenario, dir: &Path) -> sim::output::SimSummary {
    let (sim, shop) = sim::Simulator::new(sc, None).unwrap();
    write_run(sim, shop, dir).unwrap()
}

fn replay_dir(dir: &Path, partitions: u32) -> (pipeline::Stats, Vec<u8>) {
    let input = ReplayInput {
        events: (0..partitions)
            .map(|k| dir.join(format!("events-{k}.ndjson")))
            .collect(),
        catalog: dir.join("catalog.csv"),
        orders: Some(dir.join("orders.ndjson")),
    };
    let (mut features, mut dead) = (Vec::new(), Vec::new());
    let summary = replay(&input, &ReplayOptions::default(), &mut features, &mut dead).unwrap();
    (summary.stats, features)
}

fn assert_faults_dead_lettered(summary: &sim::output::SimSummary, stats: &pipeline::Stats) {
    assert_eq!(
        stats.received, summary.stats.records,
        "every record is received"
    );
    for reason in Reason::ALL {
        assert_eq!(
            stats.dead_letters.get(reason),
            summary.faults.get(reason.as_str()),
            "{reason}: dead letters vs injected"
        );
    }
    assert_eq!(stats.dead_lettered, summary.faults.total());
}

#[test]
fn bad_input_faults_are_dead_lettered_exactly() {
    let sc = Scenario::load(&repo("scenarios/bad-input.toml")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let summary = simulate(sc, dir.path());
    assert!(summary.faults.total() > 500);
    for reason in [
        "malformed_json",
        "missing_field",
        "bad_value",
        "oversize",
        "unknown_product",
        "duplicate",
        "late",
        "event_time_out_of_range",
    ] {
        assert!(summary.faults.get(reason) > 0, "{reason} injected");
    }
    let (stats, _) = replay_dir(dir.path(), summary.partitions);
    assert_faults_dead_lettered(&summary, &stats);
}

fn digest(dir: &Path) -> u128 {
    let mut h = Xxh3::new();
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    for p in names.iter().filter(|p| !p.ends_with("summary.json")) {
        h.update(p.file_name().unwrap().as_encoded_bytes());
        h.update(&std::fs::read(p).unwrap());
    }
    h.digest128()
}

#[test]
fn same_scenario_and_seed_give_identical_bytes() {
    let load = |seed| {
        let mut sc = Scenario::load(&repo("scenarios/celebrity-spike.toml")).unwrap();
        sc.duration.0 = 3 * 3_600_000;
        sc.seed = seed;
        sc.faults.duplicate = 0.01;
        sc.faults.malformed_json = 0.01;
        sc
    };
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    simulate(load(42), dirs[0].path());
    simulate(load(42), dirs[1].path());
    simulate(load(43), dirs[2].path());
    assert_eq!(digest(dirs[0].path()), digest(dirs[1].path()), "same seed");
    assert_ne!(
        digest(dirs[0].path()),
        digest(dirs[2].path()),
        "another seed"
    );
}

/// What each partition receives does not depend on how a run is cut: one
/// call to the end (delivery rounds of its own) or steps of a few seconds,
/// as the workbench and `aws produce` poll. Records of a partition arrive
/// in delivery-time order.
#[test]
fn each_partition_receives_the_same_records_however_the_run_is_stepped() {
    let mut sc = Scenario::load(&repo("scenarios/bad-input.toml")).unwrap();
    sc.duration.0 = 6 * 3_600_000;
    type Received = Vec<Vec<(i64, Vec<u8>)>>;
    let run = |step: Option<i64>| -> Received {
        let (mut sim, mut shop) = sim::Simulator::new(sc.clone(), None).unwrap();
        let mut got: Received = vec![Vec::new(); sc.partitions as usize];
        let mut sink = |p: u32, at: i64, b: &[u8]| got[p as usize].push((at, b.to_vec()));
        if let Some(step) = step {
            while !sim.is_done() {
                let until = sim.clock() + step;
                sim.run_until(until, &mut shop, &mut sink);
            }
        }
        sim.finish(&mut shop, &mut sink);
        got
    };
    let whole = run(None);
    assert!(whole.iter().all(|p| p.windows(2).all(|w| w[0].0 <= w[1].0)));
    assert!(whole.iter().all(|p| !p.is_empty()));
    for step in [1_000, 7_000, 300_000] {
        assert!(run(Some(step)) == whole, "stepped by {step} ms");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// Whatever the fault mix, the core dead-letters exactly what was injected.
    #[test]
    fn any_fault_mix_is_dead_lettered_exactly(
        seed in 0u64..1_000,
        rates in prop::array::uniform8(0.0f64..0.05),
        jitter in 0u32..5,
        partitions in 1u32..5,
    ) {
        let toml = format!(
            "name = \"p\"\nseed = {seed}\nstart = \"2026-11-23T09:00:00Z\"\nduration = \"50m\"\n\
             partitions = {partitions}\nout_of_orderness = \"{jitter}s\"\n\
             [catalog]\nproducts = 30\n[traffic]\nsessions_per_day = 60000\n\
             [faults]\nmalformed_json = {}\nmissing_field = {}\nbad_value = {}\noversize = {}\n\
             unknown_product = {}\nduplicate = {}\nlate = {}\nlate_by = \"10m\"\nfuture = {}\n",
            rates[0], rates[1], rates[2], rates[3] / 10.0, rates[4], rates[5], rates[6], rates[7]
        );
        let sc = Scenario::parse(&toml).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let summary = simulate(sc, dir.path());
        let (stats, _) = replay_dir(dir.path(), partitions);
        assert_faults_dead_lettered(&summary, &stats);
    }
}

#[test]
fn each_partition_is_in_event_time_order_up_to_the_jitter() {
    let mut sc = Scenario::load(&repo("scenarios/celebrity-spike.toml")).unwrap();
    sc.duration.0 = 6 * 3_600_000;
    sc.out_of_orderness.0 = 3_000;
    let (mut sim, mut shop) = sim::Simulator::new(sc, None).unwrap();
    let mut max_seen = [i64::MIN; 4];
    let mut worst = 0i64;
    let mut keys_ok = true;
    let mut partition_of: std::collections::HashMap<String, u32> = Default::default();
    sim.finish(&mut shop, &mut |p: u32, at: i64, bytes: &[u8]| {
        let ev = pipeline::decode(bytes).expect("no faults configured");
        assert!(
            ev.event_time <= at && at <= ev.event_time + 3_000,
            "delivered within the jitter"
        );
        let m = &mut max_seen[p as usize];
        worst = worst.max(m.saturating_sub(ev.event_time));
        *m = (*m).max(ev.event_time);
        // Partition key = product id: a product always lands on the same partition.
        keys_ok &= *partition_of.entry(ev.product_id.to_string()).or_insert(p) == p;
    });
    assert!(worst <= 3_000, "disorder {worst} ms");
    assert!(worst > 0, "some disorder is there");
    assert!(keys_ok);
}

#[test]
fn a_catalog_file_replaces_the_generated_catalog() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = "product_id,brand,model,category,base_price,cost,min_price,max_price,inventory\n\
                   hot-1,Acme,Rocket,running,100,40,70,160,5\n\
                   cold-2,Acme,Snail,running,80,30,60,120,50\n";
    std::fs::write(dir.path().join("shop.csv"), catalog).unwrap();
    let scenario = "name = \"file\"\nstart = \"2026-11-23T00:00:00Z\"\nduration = \"1d\"\n\
                    [catalog]\nfile = \"shop.csv\"\n[traffic]\nsessions_per_day = 3000\n\
                    [[trend]]\nlabel = \"x\"\nat = \"10h\"\nproduct = \"cold-2\"\nshock = 200\nbranching = 0.3\ndecay = \"1h\"\n";
    let path = dir.path().join("s.toml");
    std::fs::write(&path, scenario).unwrap();
    let (sim, shop) = sim::output::prepare(&path, None, None).unwrap();
    assert_eq!(shop.len(), 2);
    assert_eq!(
        &*shop.get(0).product_id,
        "hot-1",
        "file order = popularity order"
    );
    assert!(shop.popularity()[0] > shop.popularity()[1]);
    let out = dir.path().join("out");
    let summary = write_run(sim, shop, &out).unwrap();
    assert!(summary.stats.sessions_trend[0] > 100);
    let written = std::fs::read_to_string(out.join("catalog.csv")).unwrap();
    assert!(written.contains("hot-1,Acme,Rocket"));
}
