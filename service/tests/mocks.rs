//! What moto does not emulate, with aws-smithy-mocks against the official
//! clients: DynamoDB's UnprocessedItems and Kinesis's partial PutRecords
//! failures are retried for exactly the failed part.
#![cfg(feature = "aws")]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::operation::batch_write_item::BatchWriteItemOutput;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_kinesis::operation::put_records::PutRecordsOutput;
use aws_sdk_kinesis::types::PutRecordsResultEntry;
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use service::aws::{Aws, put_items};
use service::produce::{ProduceReport, put_records};

/// Clients answering from the given rules (an operation without one fails the test).
fn mocked(kinesis: &[&Rule], dynamodb: &[&Rule]) -> Aws {
    Aws::from_clients(
        mock_client!(aws_sdk_kinesis, RuleMode::MatchAny, kinesis),
        mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, dynamodb),
    )
    .unwrap()
}

fn items(n: usize) -> Vec<HashMap<String, AttributeValue>> {
    (0..n)
        .map(|i| {
            HashMap::from([(
                "product_id".to_string(),
                AttributeValue::S(format!("sku-{i}")),
            )])
        })
        .collect()
}

#[test]
fn unprocessed_items_are_retried_and_batches_stay_within_25() {
    let sizes: Arc<Mutex<Vec<usize>>> = Arc::default();
    let seen = sizes.clone();
    // The service leaves the last item of any multi-item request unprocessed.
    let rule = mock!(aws_sdk_dynamodb::Client::batch_write_item).then_compute_output(move |req| {
        let (table, writes) = req.request_items().unwrap().iter().next().unwrap();
        seen.lock().unwrap().push(writes.len());
        let mut out = BatchWriteItemOutput::builder();
        if writes.len() > 1 {
            out = out.unprocessed_items(table.clone(), vec![writes[writes.len() - 1].clone()]);
        }
        out.build()
    });
    let aws = mocked(&[], &[&rule]);
    put_items(&aws, "orders", items(30)).unwrap();
    // 25 (1 left over) → 1, then 5 (1 left over) → 1.
    assert_eq!(*sizes.lock().unwrap(), vec![25, 1, 5, 1]);
}

#[test]
fn only_the_failed_records_of_a_partial_put_records_are_resent() {
    let sizes: Arc<Mutex<Vec<usize>>> = Arc::default();
    let seen = sizes.clone();
    let calls = Arc::new(Mutex::new(0));
    let count = calls.clone();
    // First call: the first entry is throttled; later calls succeed.
    let rule = mock!(aws_sdk_kinesis::Client::put_records).then_compute_output(move |req| {
        let mut n = count.lock().unwrap();
        *n += 1;
        let entries = req.records();
        seen.lock().unwrap().push(entries.len());
        let results = entries
            .iter()
            .enumerate()
            .map(|(i, _)| {
                let r = PutRecordsResultEntry::builder();
                if *n == 1 && i == 0 {
                    r.error_code("ProvisionedThroughputExceededException")
                        .error_message("slow down")
                        .build()
                } else {
                    r.sequence_number(format!("{}", 100 + i))
                        .shard_id("shardId-000000000000")
                        .build()
                }
            })
            .collect();
        PutRecordsOutput::builder()
            .failed_record_count(i32::from(*n == 1))
            .set_records(Some(results))
            .build()
            .unwrap()
    });
    let aws = mocked(&[&rule], &[]);
    let records: Vec<(String, Vec<u8>)> = (0..3)
        .map(|i| (format!("sku-{i}"), vec![b'x'; 10]))
        .collect();
    let mut report = ProduceReport::default();
    put_records(&aws, "clicks", records, &mut report).unwrap();
    assert_eq!(*sizes.lock().unwrap(), vec![3, 1]);
    assert_eq!(
        (report.records, report.retried, report.put_calls),
        (3, 1, 2)
    );
}

#[test]
fn put_records_batches_stay_within_500_records() {
    let sizes: Arc<Mutex<Vec<usize>>> = Arc::default();
    let seen = sizes.clone();
    let rule = mock!(aws_sdk_kinesis::Client::put_records).then_compute_output(move |req| {
        seen.lock().unwrap().push(req.records().len());
        let ok = (0..req.records().len())
            .map(|_| {
                PutRecordsResultEntry::builder()
                    .sequence_number("1")
                    .shard_id("s")
                    .build()
            })
            .collect();
        PutRecordsOutput::builder()
            .failed_record_count(0)
            .set_records(Some(ok))
            .build()
            .unwrap()
    });
    let aws = mocked(&[&rule], &[]);
    let records: Vec<(String, Vec<u8>)> = (0..1_234)
        .map(|i| (format!("k{i}"), vec![b'x'; 8]))
        .collect();
    let mut report = ProduceReport::default();
    put_records(&aws, "clicks", records, &mut report).unwrap();
    assert_eq!(*sizes.lock().unwrap(), vec![500, 500, 234]);
}
