//! Event generation: the simulator from scenario to wire bytes, on one core.
//! Target: ≥ 10 M events/s, so the simulator is never the bottleneck.
//!
//! Workload: the celebrity-spike scenario's Wednesday (the sighting day: a
//! day of baseline traffic plus the burst), 200 products, 4 partitions, 2 s
//! of delivery jitter; records go to a sink that only counts bytes.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sim::{Scenario, Simulator};

fn scenario() -> Scenario {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios/celebrity-spike.toml");
    let mut sc = Scenario::load(&path).expect("the flagship scenario loads");
    // Start on Wednesday so the one simulated day holds the burst.
    sc.start.0 += 2 * 86_400_000;
    for t in &mut sc.trend {
        t.at.0 = t.at.0.saturating_sub(2 * 86_400_000);
    }
    sc.trend.truncate(1);
    sc.duration.0 = 86_400_000;
    sc
}

fn run(sc: &Scenario) -> (u64, u64) {
    let (mut sim, mut shop) = Simulator::new(sc.clone(), None).expect("valid scenario");
    let (mut records, mut bytes) = (0u64, 0u64);
    sim.finish(&mut shop, &mut |_: u32, _: i64, b: &[u8]| {
        records += 1;
        bytes += b.len() as u64;
    });
    (records, bytes)
}

fn generation(c: &mut Criterion) {
    let sc = scenario();
    let (records, bytes) = run(&sc);
    eprintln!("workload: {records} records, {:.1} MB", bytes as f64 / 1e6);
    let mut g = c.benchmark_group("sim");
    g.throughput(Throughput::Elements(records));
    g.sample_size(10);
    g.bench_function("generate", |b| b.iter(|| black_box(run(&sc))));
    g.finish();
}

criterion_group!(benches, generation);
criterion_main!(benches);
