//! The ONNX backend with real ONNX Runtime: the shipped model reproduces the
//! training script's outputs, and the feature contract is enforced at load.

use std::path::PathBuf;
use std::sync::Arc;

use model::OnnxModel;
use pipeline::{FEATURE_COUNT, FEATURE_NAMES, FeatureRecord, Guardrails, PriceModel, Pricer};

fn shipped() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("pricing.onnx")
}

#[derive(serde::Deserialize)]
struct Reference {
    model_version: String,
    features: Vec<String>,
    rows: Vec<Vec<f32>>,
    outputs: Vec<f32>,
}

fn reference() -> Reference {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("reference.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn record(features: &[f32]) -> FeatureRecord {
    testkit::fixtures::record(
        "sku-0040",
        1_795_392_100_000,
        features.try_into().expect("28 features"),
    )
}

#[test]
fn the_shipped_model_reproduces_the_training_outputs() {
    let r = reference();
    assert_eq!(r.features, FEATURE_NAMES);
    assert!(r.rows.len() >= 16);
    let mut m = OnnxModel::load(&shipped(), 1).unwrap_or_else(|e| panic!("{e}"));
    assert!(m.version().contains(&r.model_version), "{}", m.version());
    let records: Vec<_> = r.rows.iter().map(|row| record(row)).collect();
    let out = m.predict(&records).unwrap();
    for (i, (got, want)) in out.iter().zip(&r.outputs).enumerate() {
        assert!((got - want).abs() <= 1e-5, "row {i}: {got} vs {want}");
    }
    // One at a time gives the same answers as the batch.
    for (rec, want) in records.iter().zip(&out).take(4) {
        assert_eq!(m.predict(std::slice::from_ref(rec)).unwrap(), vec![*want]);
    }
    assert_eq!(m.predict(&[]).unwrap(), Vec::<f32>::new());
}

#[test]
fn a_model_with_another_feature_list_is_refused_naming_the_difference() {
    let bytes = std::fs::read(shipped()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    // Same length, so the protobuf stays valid: only the metadata changes.
    let renamed = replace(&bytes, b"unique_sessions,", b"unique_sessionz,");
    let path = dir.path().join("renamed.onnx");
    std::fs::write(&path, renamed).unwrap();
    let err = OnnxModel::load(&path, 1)
        .err()
        .expect("refused")
        .to_string();
    assert!(err.contains("feature #5 differs: the model has `unique_sessionz`, the pipeline has `unique_sessions`"), "{err}");
    assert!(err.contains("renamed.onnx"), "{err}");

    let versioned = replace(
        &bytes,
        b"pricestream.features_version\x12\x012",
        b"pricestream.features_version\x12\x019",
    );
    let path = dir.path().join("v9.onnx");
    std::fs::write(&path, versioned).unwrap();
    let err = OnnxModel::load(&path, 1)
        .err()
        .expect("refused")
        .to_string();
    assert!(err.contains("features version 9"), "{err}");

    let path = dir.path().join("garbage.onnx");
    std::fs::write(&path, b"not a model").unwrap();
    let err = OnnxModel::load(&path, 1)
        .err()
        .expect("refused")
        .to_string();
    assert!(
        err.contains("garbage.onnx") && err.contains("not a usable ONNX model"),
        "{err}"
    );
}

fn replace(haystack: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let at = haystack
        .windows(from.len())
        .position(|w| w == from)
        .expect("pattern present");
    let mut out = haystack.to_vec();
    out[at..at + from.len()].copy_from_slice(to);
    out
}

#[test]
fn model_and_pricer_keep_every_price_inside_its_guardrails() {
    let r = reference();
    let mut m = OnnxModel::load(&shipped(), 1).unwrap();
    let records: Vec<_> = r.rows.iter().map(|row| record(row)).collect();
    let outputs = m.predict(&records).unwrap();
    let pricer = Pricer::new(Guardrails {
        holdout_share: 0.0,
        ..Guardrails::default()
    });
    let version: Arc<str> = Arc::from(m.version());
    let item = testkit::fixtures::item("sku-0040");
    let (floor, ceiling) = pricer.guardrails.bounds(&item);
    for (rec, out) in records.iter().zip(outputs) {
        let d = pricer.decide(rec, out, &item, &version);
        assert!(d.audit.final_price >= floor - 1e-9 && d.audit.final_price <= ceiling + 1e-9);
        assert_eq!(d.audit.model_version, version);
        assert_eq!(rec.features.len(), FEATURE_COUNT);
    }
}
