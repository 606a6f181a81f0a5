//! The pricer's guardrails hold for any model output and any catalog state.

mod common;

use std::sync::Arc;

use common::{T0, item};
use pipeline::features::FEATURE_COUNT;
use pipeline::{CatalogItem, FeatureRecord, Guardrails, Pricer, Rule, Window};
use proptest::prelude::*;

fn record(product: &str, end: i64) -> FeatureRecord {
    FeatureRecord {
        product_id: product.into(),
        window: Window {
            start: end - 100_000,
            end,
        },
        brand: "b".into(),
        model: "m".into(),
        category: "c".into(),
        base_price: 100.0,
        current_price: 100.0,
        cost: 40.0,
        price_version: 0,
        features: [1.0; FEATURE_COUNT],
    }
}

fn no_holdout() -> Guardrails {
    Guardrails {
        holdout_share: 0.0,
        ..Guardrails::default()
    }
}

/// Model outputs a model could really produce, including the broken ones.
fn output() -> impl Strategy<Value = f32> {
    prop_oneof![
        4 => 0.2f32..3.0,
        1 => Just(f32::NAN),
        1 => Just(f32::INFINITY),
        1 => Just(f32::NEG_INFINITY),
        1 => Just(0.0f32),
        1 => Just(1e30f32),
        1 => -10.0f32..0.0,
        1 => any::<f32>(),
    ]
}

/// Any catalog state, sane or not.
fn catalog_item() -> impl Strategy<Value = CatalogItem> {
    (
        1.0f64..500.0,
        0.0f64..1.2,
        0.0f64..1.3,
        0.5f64..3.0,
        0.0f64..1.3,
        0.3f64..2.5,
        0i64..3,
    )
        .prop_map(|(base, cost, min, max, map, current, last)| CatalogItem {
            product_id: format!("sku-{}", (base * 7.0) as u32).into(),
            base_price: base,
            cost: base * cost,
            min_price: base * min,
            max_price: base * max,
            map_price: base * map,
            current_price: Some((base * current * 100.0).round() / 100.0),
            last_window: [0, T0 - 60_000, T0 - 3_600_000][last as usize],
            ..item("x")
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn applied_prices_respect_every_guardrail(out in output(), it in catalog_item(), share in 0.0f64..0.5) {
        let g = Guardrails { holdout_share: share, trend_step: 0.5, ..Guardrails::default() };
        let pricer = Pricer::new(g.clone());
        let rec = record(&it.product_id, T0);
        let d = pricer.decide(&rec, out, &it, &Arc::from("test"));
        let (floor, ceiling) = g.bounds(&it);
        let current = it.current_price();
        prop_assert_eq!(d.audit.applied, d.update.is_some());
        if !out.is_finite() || out <= 0.0 || out > 20.0 {
            prop_assert!(!d.audit.applied);
            prop_assert_eq!(d.audit.rule, Rule::InvalidOutput);
        }
        let Some(u) = &d.update else {
            prop_assert_eq!(d.audit.final_price, current);
            return Ok(());
        };
        prop_assert!(floor <= u.price && u.price <= ceiling, "{} not in [{floor}, {ceiling}]", u.price);
        if (floor..=ceiling).contains(&current) {
            // These records are not in a confirmed trend: the max step holds.
            prop_assert!(!g.confirmed_trend(&rec));
            prop_assert!((u.price - current).abs() <= current * g.max_step + 1e-9, "step {current} -> {}", u.price);
        }
        prop_assert!(((u.price - current) / current).abs() >= g.min_change);
        prop_assert!(it.last_window == 0 || rec.window.end - it.last_window >= g.cooldown);
        prop_assert!(!g.in_holdout(&it.product_id));
        prop_assert_eq!(d.audit.final_price, u.price);
    }

    #[test]
    fn a_replayed_decision_never_applies_twice(out in 0.5f32..2.0, it in catalog_item()) {
        let pricer = Pricer::new(no_holdout());
        let rec = record(&it.product_id, T0);
        let mut item = it.clone();
        let d = pricer.decide(&rec, out, &item, &Arc::from("test"));
        if let Some(u) = &d.update {
            prop_assert!(u.apply_to(&mut item).is_ok());
            let version = item.price_version;
            prop_assert!(u.apply_to(&mut item).is_err(), "the conditional write refuses a replay");
            prop_assert_eq!(item.price_version, version);
        }
        let again = pricer.decide(&rec, out, &item, &Arc::from("test"));
        if d.update.is_some() {
            prop_assert!(again.update.is_none());
            prop_assert_eq!(again.audit.rule, Rule::Replay);
        }
    }

    #[test]
    fn kill_switches_stop_everything(out in output(), it in catalog_item()) {
        let mut pricer = Pricer::new(no_holdout());
        pricer.set_kill_switch(true);
        let rec = record(&it.product_id, T0);
        prop_assert!(pricer.decide(&rec, out, &it, &Arc::from("t")).update.is_none());
        pricer.set_kill_switch(false);
        pricer.set_product_kill_switch(&it.product_id, true);
        prop_assert!(pricer.decide(&rec, out, &it, &Arc::from("t")).update.is_none());
    }

    /// The audit log reads back into the record that was written (NaN and
    /// infinite outputs included), so tools can work from it.
    #[test]
    fn an_audit_record_reads_back_as_written(out in output(), it in catalog_item()) {
        let pricer = Pricer::new(no_holdout());
        let audit = pricer.decide(&record(&it.product_id, T0), out, &it, &Arc::from("onnx:m@1")).audit;
        let json = serde_json::to_string(&audit).unwrap();
        let back: pipeline::AuditRecord = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(serde_json::to_string(&back).unwrap(), json);
        prop_assert_eq!(back.last_window, it.last_window);
        prop_assert_eq!(back.features_hash, audit.features_hash);
        prop_assert_eq!(back.raw_output.0.to_bits() == out.to_bits() || (out.is_nan() && back.raw_output.0.is_nan()), true);
    }
}

#[test]
fn an_audit_record_without_last_window_or_with_a_bad_hash_is_handled() {
    let line = r#"{"product_id":"a","window_end":"2026-11-28T14:01:40Z","model_version":"v","features_hash":"00000000000000ff","raw_output":"NaN","current_price":100.0,"proposed_price":null,"final_price":100.0,"floor":60.0,"ceiling":150.0,"rule":"invalid_output","applied":false,"reason":"…"}"#;
    let a: pipeline::AuditRecord = serde_json::from_str(line).unwrap();
    assert_eq!(
        (a.last_window, a.features_hash, a.rule),
        (0, 255, Rule::InvalidOutput)
    );
    assert!(a.raw_output.0.is_nan());
    let bad = line.replace("00000000000000ff", "zz");
    let e = serde_json::from_str::<pipeline::AuditRecord>(&bad).unwrap_err();
    assert!(e.to_string().contains("features_hash"), "{e}");
}

#[test]
fn rules_fire_as_documented() {
    let pricer = Pricer::new(no_holdout());
    let v: Arc<str> = Arc::from("m1");
    let it = item("sku-a"); // base 100, cost 40, min 60, max 200, no MAP, current 100
    let rec = record("sku-a", T0);
    let decide = |out: f32, it: &CatalogItem| pricer.decide(&rec, out, it, &v).audit;
    let a = decide(1.05, &it);
    assert_eq!(
        (a.rule, a.applied, a.final_price),
        (Rule::Model, true, 105.0)
    );
    let a = decide(1.4, &it);
    assert_eq!((a.rule, a.final_price), (Rule::MaxStep, 110.0));
    let a = decide(1.005, &it);
    assert_eq!((a.rule, a.applied), (Rule::MinChange, false));
    let a = decide(f32::NAN, &it);
    assert_eq!(
        (a.rule, a.applied, a.proposed_price),
        (Rule::InvalidOutput, false, None)
    );
    assert_eq!(serde_json::to_value(&a).unwrap()["raw_output"], "NaN");
    let cheap = CatalogItem {
        current_price: Some(50.0),
        ..item("sku-a")
    };
    let a = decide(0.5, &cheap);
    assert_eq!(
        (a.rule, a.final_price),
        (Rule::Floor, 60.0),
        "below its bounds: the floor wins over the step"
    );
    let recent = CatalogItem {
        last_window: T0 - 60_000,
        ..item("sku-a")
    };
    assert_eq!(decide(1.05, &recent).rule, Rule::Cooldown);
    let pricer_h = Pricer::new(Guardrails {
        holdout_share: 1.0,
        ..Guardrails::default()
    });
    assert_eq!(
        pricer_h.decide(&rec, 1.05, &it, &v).audit.rule,
        Rule::Holdout
    );
}

#[test]
fn a_confirmed_trend_may_rise_by_the_trend_step_and_nothing_else_changes() {
    let v: Arc<str> = Arc::from("m1");
    let it = item("sku-a"); // base 100, cost 40, min 60, max 200, current 100
    let trend = |intensity: f32, age_hours: f32| {
        let mut rec = record("sku-a", T0);
        rec.features[pipeline::features::feature_index("trend_intensity").unwrap()] = intensity;
        rec.features[pipeline::features::feature_index("trend_age_hours").unwrap()] = age_hours;
        rec
    };
    let on = Pricer::new(no_holdout()); // the mode is on by default: trend_step 0.5
    let decide = |p: &Pricer, rec: &FeatureRecord, out: f32| {
        let a = p.decide(rec, out, &it, &v).audit;
        (a.rule, a.final_price)
    };
    let confirmed = trend(5.0, 0.25);
    assert_eq!(decide(&on, &confirmed, 1.4), (Rule::TrendStep, 140.0));
    assert_eq!(
        decide(&on, &confirmed, 2.0),
        (Rule::TrendStep, 150.0),
        "at most the trend step"
    );
    assert_eq!(decide(&on, &confirmed, 1.05), (Rule::Model, 105.0));
    assert_eq!(
        decide(&on, &confirmed, 0.5),
        (Rule::MaxStep, 90.0),
        "cuts keep the max step"
    );
    // Not confirmed: too young (3 min < 5 min), too weak, or the mode is off.
    assert_eq!(decide(&on, &trend(5.0, 0.05), 1.4), (Rule::MaxStep, 110.0));
    assert_eq!(decide(&on, &trend(2.0, 1.0), 1.4), (Rule::MaxStep, 110.0));
    let off = Pricer::new(Guardrails {
        trend_step: 0.0,
        ..no_holdout()
    });
    assert_eq!(decide(&off, &confirmed, 1.4), (Rule::MaxStep, 110.0));
    // The audit says why.
    let a = on.decide(&confirmed, 1.4, &it, &v).audit;
    assert!(a.reason().contains("trend step"), "{}", a.reason());
}

#[test]
fn the_holdout_is_deterministic_and_about_the_configured_share() {
    let g = Guardrails {
        holdout_share: 0.1,
        ..Guardrails::default()
    };
    let held = (0..10_000)
        .filter(|i| g.in_holdout(&format!("sku-{i:05}")))
        .count();
    // Binomial(10 000, 0.1): sd 30.
    assert!((880..=1_120).contains(&held), "{held}");
    assert_eq!(g.in_holdout("sku-00042"), g.in_holdout("sku-00042"));
}

#[test]
fn rule_names_match_their_serialization() {
    for r in Rule::ALL {
        assert_eq!(serde_json::to_value(r).unwrap(), r.as_str());
    }
}

#[test]
fn docs_audit_md_describes_every_field_written() {
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/audit.md")).unwrap();
    let it = item("a");
    let audit = Pricer::new(no_holdout())
        .decide(&record("a", T0), 1.2, &it, &Arc::from("m"))
        .audit;
    let json: serde_json::Value = serde_json::to_value(&audit).unwrap();
    for key in json.as_object().unwrap().keys() {
        assert!(
            doc.contains(&format!("`{key}`")),
            "docs/audit.md does not describe `{key}`"
        );
    }
}
