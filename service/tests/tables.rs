//! The DynamoDB adapters against moto: catalog round trip, conditional
//! price updates and feature puts that make a replay a no-op.
#![cfg(feature = "aws")]

mod common;

use std::path::PathBuf;

use pipeline::{Catalog, FeatureRecord, PriceUpdate};
use service::aws::init;
use service::items::Codec;
use service::tables::{Write, apply_price_update, load_catalog, put_feature};
use testkit::moto::Moto;

fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(path)
}

#[test]
fn adapters_round_trip_and_replays_change_nothing() {
    let moto = Moto::start();
    let (config, aws) = common::connect(&moto, &[]);
    init(&aws, &config, Some(&repo("scenarios/sample/catalog.csv"))).unwrap();
    let t = &config.tables;

    // The catalog comes back as it went in.
    let (catalog, bad) = load_catalog(&aws, &t.catalog).unwrap();
    assert!(bad.is_empty(), "{bad:?}");
    assert_eq!(catalog.len(), 12);
    let shoe = catalog.item("sku-air-00").unwrap();
    assert_eq!(
        (shoe.base_price, shoe.inventory, shoe.last_window),
        (125.34, 117, 0)
    );

    // A price update applies once; the replay of the same window is refused.
    let update = PriceUpdate {
        product_id: "sku-air-00".into(),
        window_end: 1_795_874_500_000,
        previous_price: 125.34,
        price: 119.0,
    };
    assert_eq!(
        apply_price_update(&aws, &t.catalog, &update).unwrap(),
        Write::Applied
    );
    assert_eq!(
        apply_price_update(&aws, &t.catalog, &update).unwrap(),
        Write::AlreadyThere
    );
    let older = PriceUpdate {
        window_end: 1_795_874_400_000,
        price: 99.0,
        ..update.clone()
    };
    assert_eq!(
        apply_price_update(&aws, &t.catalog, &older).unwrap(),
        Write::AlreadyThere,
        "an older window never wins"
    );
    let unknown = PriceUpdate {
        product_id: "sku-nope".into(),
        ..update.clone()
    };
    assert_eq!(
        apply_price_update(&aws, &t.catalog, &unknown).unwrap(),
        Write::AlreadyThere,
        "no item is created"
    );
    let (catalog, _) = load_catalog(&aws, &t.catalog).unwrap();
    let shoe = catalog.item("sku-air-00").unwrap();
    assert_eq!(
        (shoe.current_price(), shoe.price_version, shoe.last_window),
        (119.0, 1, 1_795_874_500_000)
    );

    // A feature record is written once, and reads back identical.
    let record = testkit::fixtures::record(
        "sku-air-00",
        1_795_874_500_000,
        [0.5; pipeline::FEATURE_COUNT],
    );
    assert_eq!(
        put_feature(&aws, &t.features, &record).unwrap(),
        Write::Applied
    );
    assert_eq!(
        put_feature(&aws, &t.features, &record).unwrap(),
        Write::AlreadyThere
    );
    assert_eq!(FeatureRecord::from_item(&record.to_item()).unwrap(), record);
    let stored = aws
        .runtime
        .block_on(aws.dynamodb.scan().table_name(&t.features).send())
        .unwrap();
    assert_eq!(stored.count(), 1);
    assert_eq!(
        FeatureRecord::from_item(&stored.items()[0]).unwrap(),
        record
    );

    // Audit records land keyed by product and window.
    let pricer = pipeline::Pricer::new(pipeline::Guardrails::default());
    let decision = pricer.decide(
        &record,
        0.95,
        catalog.item("sku-air-00").unwrap(),
        &std::sync::Arc::from("test"),
    );
    service::pricing::put_audit_once(&aws, &t.audit, &decision.audit).unwrap();
    let audit = aws
        .runtime
        .block_on(aws.dynamodb.scan().table_name(&t.audit).send())
        .unwrap();
    assert_eq!(audit.count(), 1);
}
