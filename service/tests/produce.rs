//! `produce` against moto: every simulated record lands in the stream,
//! keyed by product, and every order in the orders table.
#![cfg(feature = "aws")]

mod common;

use std::path::PathBuf;

use aws_sdk_kinesis::types::ShardIteratorType;
use service::aws::init;
use service::produce::{Pace, produce};
use testkit::moto::Moto;

fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(path)
}

#[test]
fn every_record_and_order_arrives() {
    let moto = Moto::start();
    let (config, aws) = common::connect(&moto, &[("PRICESTREAM_STREAM_NAME", "produce-test")]);
    init(&aws, &config, None).unwrap();
    // Midday of the bad-input scenario: damaged records, duplicates, late events.
    let path = repo("scenarios/bad-input.toml");
    let (mut sim, mut shop) = sim::output::prepare(&path, None, Some(14 * 3_600_000)).unwrap();
    // Skip to 13:00 without sending (keeps the test small), then produce one hour.
    sim.run_until(
        sim.start() + 13 * 3_600_000,
        &mut shop,
        &mut |_: u32, _: i64, _: &[u8]| {},
    );
    let report = produce(&aws, &config, sim, shop, Pace::Max).unwrap();
    assert!(report.records > 500, "{report:?}");
    assert!(report.put_calls >= 1);

    let rt = &aws.runtime;
    let shards = rt
        .block_on(aws.kinesis.list_shards().stream_name("produce-test").send())
        .unwrap();
    let mut read = 0u64;
    let mut keyed_by_product = true;
    for shard in shards.shards() {
        let it = rt
            .block_on(
                aws.kinesis
                    .get_shard_iterator()
                    .stream_name("produce-test")
                    .shard_id(shard.shard_id())
                    .shard_iterator_type(ShardIteratorType::TrimHorizon)
                    .send(),
            )
            .unwrap();
        let mut iterator = it.shard_iterator().map(str::to_string);
        while let Some(i) = iterator {
            let out = rt
                .block_on(
                    aws.kinesis
                        .get_records()
                        .shard_iterator(i)
                        .limit(10_000)
                        .send(),
                )
                .unwrap();
            for r in out.records() {
                read += 1;
                if let Ok(ev) = pipeline::decode(r.data().as_ref()) {
                    keyed_by_product &= r.partition_key() == Some(ev.product_id.as_ref());
                }
            }
            if out.records().is_empty() {
                break;
            }
            iterator = out.next_shard_iterator().map(str::to_string);
        }
    }
    assert_eq!(read, report.records, "every record is in the stream");
    assert!(keyed_by_product, "partition key = product id");
    let orders = rt
        .block_on(aws.dynamodb.scan().table_name(&config.tables.orders).send())
        .unwrap();
    assert_eq!(orders.count() as u64, report.orders);
}
