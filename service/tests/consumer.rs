//! The Kinesis consumer: against moto it reads back everything produced, in
//! sequence order per shard; with aws-smithy-mocks it renews an expired
//! iterator and moves from an ended parent shard to its child.
#![cfg(feature = "aws")]

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aws_sdk_kinesis::operation::get_records::{GetRecordsError, GetRecordsOutput};
use aws_sdk_kinesis::operation::get_shard_iterator::GetShardIteratorOutput;
use aws_sdk_kinesis::operation::list_shards::ListShardsOutput;
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::error::ExpiredIteratorException;
use aws_sdk_kinesis::types::{HashKeyRange, Record, SequenceNumberRange, Shard};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use service::aws::Aws;
use service::consumer::{Consumer, Resume, Start};
use service::produce::{ProduceReport, put_records};
use service::shards::compare_sequence;

fn shard(id: &str, parent: Option<&str>) -> Shard {
    Shard::builder()
        .shard_id(id)
        .set_parent_shard_id(parent.map(str::to_string))
        .hash_key_range(
            HashKeyRange::builder()
                .starting_hash_key("0")
                .ending_hash_key("9")
                .build()
                .unwrap(),
        )
        .sequence_number_range(
            SequenceNumberRange::builder()
                .starting_sequence_number("1")
                .build()
                .unwrap(),
        )
        .build()
        .unwrap()
}

fn record(seq: &str) -> Record {
    Record::builder()
        .sequence_number(seq)
        .partition_key("sku-1")
        .data(Blob::new(format!("r{seq}")))
        .build()
        .unwrap()
}

fn mocked(rules: &[&aws_smithy_mocks::Rule]) -> Aws {
    let none: [&aws_smithy_mocks::Rule; 0] = [];
    Aws::from_clients(
        mock_client!(aws_sdk_kinesis, RuleMode::MatchAny, rules),
        mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, none),
    )
    .unwrap()
}

#[test]
fn an_expired_iterator_is_renewed_after_the_last_sequence() {
    let list = mock!(aws_sdk_kinesis::Client::list_shards).then_output(|| {
        ListShardsOutput::builder()
            .shards(shard("s0", None))
            .build()
    });
    let iterators = mock!(aws_sdk_kinesis::Client::get_shard_iterator).then_output(|| {
        GetShardIteratorOutput::builder()
            .shard_iterator("it")
            .build()
    });
    let records = mock!(aws_sdk_kinesis::Client::get_records)
        .sequence()
        .error(|| {
            GetRecordsError::ExpiredIteratorException(
                ExpiredIteratorException::builder()
                    .message("expired")
                    .build(),
            )
        })
        .output(|| {
            GetRecordsOutput::builder()
                .records(record("7"))
                .millis_behind_latest(0)
                .build()
                .unwrap()
        })
        .build();
    let aws = mocked(&[&list, &iterators, &records]);
    let mut c = Consumer::new("s", Start::TrimHorizon, 100, Duration::ZERO);
    c.refresh(&aws, &BTreeMap::new()).unwrap();
    let batches = c.poll(&aws, &BTreeMap::new()).unwrap();
    assert_eq!(c.renewed, 1);
    assert_eq!(batches[0].records.len(), 1);
    assert!(batches[0].shard_ended, "no next iterator: the shard ended");
    assert_eq!(iterators.num_calls(), 2, "opened, then renewed");
    assert!(c.all_ended());
}

#[test]
fn a_child_shard_is_read_only_after_its_parent_ends() {
    let list = mock!(aws_sdk_kinesis::Client::list_shards).then_output(|| {
        ListShardsOutput::builder()
            .shards(shard("parent", None))
            .shards(shard("child", Some("parent")))
            .build()
    });
    let iterators = mock!(aws_sdk_kinesis::Client::get_shard_iterator).then_compute_output(|req| {
        GetShardIteratorOutput::builder()
            .shard_iterator(format!("it-{}", req.shard_id().unwrap_or("")))
            .build()
    });
    let records = mock!(aws_sdk_kinesis::Client::get_records).then_compute_output(|req| {
        let from_child = req.shard_iterator() == Some("it-child");
        let out = GetRecordsOutput::builder().records(record(if from_child { "20" } else { "10" }));
        // Both shards end after one batch (the parent is closed; the child too, for the test).
        out.build().unwrap()
    });
    let aws = mocked(&[&list, &iterators, &records]);
    let mut c = Consumer::new("s", Start::TrimHorizon, 100, Duration::ZERO);
    c.refresh(&aws, &BTreeMap::new()).unwrap();
    assert_eq!(c.active(), vec!["parent"], "the child waits");
    let first = c.poll(&aws, &BTreeMap::new()).unwrap();
    assert_eq!(first[0].shard_id, "parent");
    assert_eq!(
        c.active(),
        vec!["child"],
        "the parent ended, the child opened"
    );
    let second = c.poll(&aws, &BTreeMap::new()).unwrap();
    assert_eq!(
        (
            second[0].shard_id.as_str(),
            second[0].records[0].sequence.as_str()
        ),
        ("child", "20")
    );
    assert!(c.all_ended());
}

#[test]
fn reads_back_everything_produced_through_moto() {
    let moto = testkit::moto::Moto::start();
    let (config, aws) = common::connect(&moto, &[("PRICESTREAM_STREAM_NAME", "consumer-test")]);
    service::aws::init(&aws, &config, None).unwrap();
    let records: Vec<(String, Vec<u8>)> = (0..300)
        .map(|i| {
            (
                format!("sku-{:03}", i % 37),
                format!("event {i}").into_bytes(),
            )
        })
        .collect();
    put_records(
        &aws,
        "consumer-test",
        records,
        &mut ProduceReport::default(),
    )
    .unwrap();

    let mut c = Consumer::new(
        "consumer-test",
        Start::TrimHorizon,
        50,
        Duration::from_millis(1),
    );
    let none = BTreeMap::new();
    c.refresh(&aws, &none).unwrap();
    assert_eq!(c.active().len(), 4);
    let mut read: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while read.values().map(Vec::len).sum::<usize>() < 300 {
        assert!(
            Instant::now() < deadline,
            "read {} of 300",
            read.values().map(Vec::len).sum::<usize>()
        );
        for b in c.poll(&aws, &none).unwrap() {
            read.entry(b.shard_id)
                .or_default()
                .extend(b.records.into_iter().map(|r| r.sequence));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    for seqs in read.values() {
        assert!(
            seqs.windows(2)
                .all(|w| compare_sequence(&w[0], &w[1]).is_lt()),
            "in order per shard"
        );
    }
    assert_eq!(c.behind.len(), 4, "MillisBehindLatest per shard");

    // Resuming from a checkpoint reads only what came after it.
    let (shard, seqs) = read.iter().next().unwrap();
    let checkpoint = BTreeMap::from([(shard.clone(), Resume::After(seqs[seqs.len() - 2].clone()))]);
    let mut again = Consumer::new("consumer-test", Start::TrimHorizon, 50, Duration::ZERO);
    again.refresh(&aws, &checkpoint).unwrap();
    let batches = again.poll(&aws, &checkpoint).unwrap();
    let resumed: Vec<_> = batches
        .iter()
        .filter(|b| &b.shard_id == shard)
        .flat_map(|b| b.records.iter())
        .collect();
    assert_eq!(resumed.len(), 1);
    assert_eq!(&resumed[0].sequence, seqs.last().unwrap());
}

#[test]
fn a_throttled_get_records_loses_nothing_and_keeps_its_iterator() {
    use aws_sdk_kinesis::types::error::ProvisionedThroughputExceededException;
    let list = mock!(aws_sdk_kinesis::Client::list_shards).then_output(|| {
        ListShardsOutput::builder()
            .shards(shard("s0", None))
            .build()
    });
    let iterators = mock!(aws_sdk_kinesis::Client::get_shard_iterator).then_output(|| {
        GetShardIteratorOutput::builder()
            .shard_iterator("it")
            .build()
    });
    let throttled = || {
        GetRecordsError::ProvisionedThroughputExceededException(
            // As the SDK deserializes it: the error code in the metadata.
            ProvisionedThroughputExceededException::builder()
                .message("Rate exceeded for shard s0")
                .meta(
                    aws_sdk_kinesis::error::ErrorMetadata::builder()
                        .code("ProvisionedThroughputExceededException")
                        .build(),
                )
                .build(),
        )
    };
    let records = mock!(aws_sdk_kinesis::Client::get_records)
        .match_requests(|r| r.shard_iterator() == Some("it"))
        .sequence()
        .error(throttled)
        .times(6)
        .output(|| {
            GetRecordsOutput::builder()
                .records(record("7"))
                .next_shard_iterator("it-2")
                .millis_behind_latest(0)
                .build()
                .unwrap()
        })
        .build();
    let aws = mocked(&[&list, &iterators, &records]);
    let mut c = Consumer::new("s", Start::TrimHorizon, 100, Duration::ZERO);
    c.refresh(&aws, &BTreeMap::new()).unwrap();
    // The SDK retries throttling itself; what it gives up on surfaces as an
    // error naming the call, and the next poll resumes with the same iterator.
    let mut read = Vec::new();
    let mut errors = Vec::new();
    for _ in 0..10 {
        match c.poll(&aws, &BTreeMap::new()) {
            Ok(batches) => read.extend(batches.into_iter().flat_map(|b| b.records)),
            Err(e) => errors.push(e),
        }
        if !read.is_empty() {
            break;
        }
    }
    assert_eq!(read.len(), 1, "the record arrives once ({errors:?})");
    assert!(
        errors
            .iter()
            .all(|e| e.to_string().contains("GetRecords s0")
                && e.fault() == Some(service::error::Fault::Throttled)
                && e.retryable()),
        "classified as throttling, retryable: {errors:?}"
    );
    assert_eq!(iterators.num_calls(), 1, "no iterator was renewed");
    assert_eq!(c.renewed, 0);
}
