//! Training data (`pricestream export-training`): every feature record gets
//! the stock-aware oracle's price for the next window as a label, inside the
//! guardrails' bounds, and the label rises on the trending shoe when the
//! trend hits while its stock lasts.

use std::path::PathBuf;

fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(path)
}

#[test]
fn every_record_gets_a_plan_label_and_the_trending_shoe_is_priced_up() {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(workbench::training::training_header())
        .unwrap();
    let opts = workbench::RunOptions {
        policy: workbench::Policy::Static,
        config: pipeline::PipelineConfig::default(),
        guardrails: pipeline::Guardrails::default(),
        record: false,
        watch: Vec::new(),
        redeliver_feed: false,
    };
    let (rows, labeled) = workbench::training::export_training(
        &repo("scenarios/celebrity-spike.toml"),
        &[1],
        None,
        &opts,
        &mut out,
    )
    .unwrap();
    assert!(
        rows > 10_000 && labeled > 0,
        "{rows} rows, {labeled} labeled"
    );
    let bytes = out.into_inner().unwrap();
    let mut reader = csv::Reader::from_reader(bytes.as_slice());
    let header = reader.headers().unwrap().clone();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (id, end, plan) = (
        col("product_id"),
        col("window_end"),
        col("label_plan_ratio"),
    );
    // Wednesday 14:00, the sighting on sku-0040.
    let sighting: i64 = 1_795_392_000_000 + (2 * 24 + 14) * 3_600_000;
    let mut spike = Vec::new();
    let mut n = 0u64;
    for row in reader.records() {
        let row = row.unwrap();
        let ratio: f64 = row[plan].parse().unwrap_or_else(|_| panic!("{row:?}"));
        assert!(
            (0.7..=1.5 + 1e-9).contains(&ratio),
            "a plan inside the guardrails: {ratio} in {row:?}"
        );
        let t: i64 = row[end].parse().unwrap();
        if &row[id] == "sku-0040" && (sighting..sighting + 3_600_000).contains(&t) {
            spike.push(ratio);
        }
        n += 1;
    }
    assert_eq!(n, rows);
    assert!(!spike.is_empty());
    assert!(
        spike.iter().all(|&r| r > 1.4),
        "the first hour of the spike is priced near the cap: {spike:?}"
    );
}
