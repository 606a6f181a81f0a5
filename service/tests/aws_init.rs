//! `aws init` against moto's server on loopback, through the official SDK.
#![cfg(feature = "aws")]

mod common;

use std::path::PathBuf;

use service::aws::init;
use testkit::moto::Moto;

fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(path)
}

#[test]
fn init_creates_the_stream_and_tables_once_and_loads_the_catalog() {
    let moto = Moto::start();
    let (config, aws) = common::connect(&moto, &[]);
    let catalog = repo("scenarios/sample/catalog.csv");
    let first = init(&aws, &config, Some(&catalog)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(first.created.len(), 7, "{first:?}");
    assert!(first.existing.is_empty());
    assert_eq!(first.catalog_items, 12);
    let again = init(&aws, &config, None).unwrap();
    assert!(again.created.is_empty(), "idempotent: {again:?}");
    assert_eq!(again.existing.len(), 7);

    let rt = &aws.runtime;
    let streams = rt.block_on(aws.kinesis.list_streams().send()).unwrap();
    assert!(streams.stream_names().contains(&config.stream.name));
    let shards = rt
        .block_on(
            aws.kinesis
                .list_shards()
                .stream_name(&config.stream.name)
                .send(),
        )
        .unwrap();
    assert_eq!(shards.shards().len(), 4);
    let features = rt
        .block_on(
            aws.dynamodb
                .describe_table()
                .table_name(&config.tables.features)
                .send(),
        )
        .unwrap();
    let spec = features
        .table()
        .and_then(|t| t.stream_specification())
        .expect("a stream");
    assert!(spec.stream_enabled());
    let items = rt
        .block_on(
            aws.dynamodb
                .scan()
                .table_name(&config.tables.catalog)
                .send(),
        )
        .unwrap();
    assert_eq!(items.count(), 12);
    let one = items
        .items()
        .iter()
        .find(|i| i["product_id"].as_s().ok().map(String::as_str) == Some("sku-air-00"))
        .unwrap();
    assert_eq!(one["base_price"].as_n().unwrap(), "125.34");
}
