//! Inference cost: raw ONNX Runtime on a prepared feature matrix vs the
//! model backend plus the pricer (`Pricer::price_batch`, the path every host
//! runs: feature records in, guarded decisions out) on the same batch, at batch sizes 1, 64 and 1024. Target: the full path
//! within 1.2× of raw inference at 1024. The `plan` policy through the same
//! path (forecast + stock-aware plan per record, no ONNX): target within
//! 1.5× of the ONNX model and pricer at 1024.

use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use model::OnnxModel;
use pipeline::{CatalogItem, Decision, FeatureRecord, Guardrails, PriceModel, PriceStage, Pricer};

fn reference_rows() -> Vec<Vec<f32>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("model/reference.json");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    serde_json::from_value(v["rows"].clone()).unwrap()
}

fn item(i: usize) -> CatalogItem {
    testkit::fixtures::item(&format!("sku-{i:04}"))
}

/// A host stage over an in-memory catalog that counts applied decisions
/// (product ids are `sku-NNNN`, so the lookup is an index).
struct Counting<'a> {
    items: &'a [CatalogItem],
    applied: usize,
}

impl PriceStage for Counting<'_> {
    fn item(&mut self, product_id: &str) -> Option<&CatalogItem> {
        let i: usize = product_id.strip_prefix("sku-")?.parse().ok()?;
        self.items.get(i)
    }

    fn decided(&mut self, _: &FeatureRecord, decision: Decision) {
        self.applied += usize::from(decision.update.is_some());
    }
}

fn bench(c: &mut Criterion) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("model/pricing.onnx");
    let mut model = OnnxModel::load(&path, 1).expect("run scripts/install-ort first");
    let rows = reference_rows();
    let items: Vec<CatalogItem> = (0..1024).map(item).collect();
    let pricer = Pricer::new(Guardrails::default());
    let mut plan = model::PlanningModel::new(model::PlanParams::default()).unwrap();
    let version: Arc<str> = Arc::from(model.version());
    let mut g = c.benchmark_group("model");
    for n in [1usize, 64, 1024] {
        let records: Vec<FeatureRecord> = (0..n)
            .map(|i| {
                let features = rows[i % rows.len()].clone().try_into().unwrap();
                testkit::fixtures::record(&items[i].product_id, 1_795_392_100_000, features)
            })
            .collect();
        let flat: Vec<f32> = records.iter().flat_map(|r| r.features).collect();
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::new("raw_ort", n), &n, |b, &n| {
            b.iter(|| black_box(model.infer(n, &flat).unwrap()))
        });
        let through_pricer = |b: &mut criterion::Bencher, m: &mut dyn PriceModel| {
            b.iter(|| {
                let mut stage = Counting {
                    items: &items,
                    applied: 0,
                };
                pricer
                    .price_batch(m, &version, &records, &mut stage)
                    .unwrap();
                black_box(stage.applied)
            })
        };
        g.bench_with_input(BenchmarkId::new("model_and_pricer", n), &n, |b, _| {
            through_pricer(b, &mut model)
        });
        g.bench_with_input(BenchmarkId::new("plan_and_pricer", n), &n, |b, _| {
            through_pricer(b, &mut plan)
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
