//! The pricer as an AWS Lambda on the features table's DynamoDB stream (the
//! reference architecture's shape): the same [`Stage`] as `serve`, one event
//! batch per invocation, and `batchItemFailures` for the records it could not
//! process (the event source mapping needs `ReportBatchItemFailures`).
//!
//! A record whose image is not a feature record is reported as failed too:
//! after `MaximumRetryAttempts` it goes to the mapping's on-failure
//! destination instead of being dropped. Records are idempotent (see
//! `pricing`), so a retried batch changes nothing twice.

use std::collections::HashMap;

use aws_lambda_events::event::dynamodb::Event;
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use aws_sdk_dynamodb::types::AttributeValue as Ddb;
use pipeline::FeatureRecord;
use serde_dynamo::AttributeValue as Av;
use tracing::warn;

use crate::aws::{Aws, Item};
use crate::config::Config;
use crate::items::Codec;
use crate::metrics::Metrics;
use crate::pricing::{Model, Outcome, Stage};

/// A Lambda event attribute as the DynamoDB client's type.
pub fn convert(v: &Av) -> Ddb {
    match v {
        Av::S(s) => Ddb::S(s.clone()),
        Av::N(n) => Ddb::N(n.clone()),
        Av::B(b) => Ddb::B(aws_sdk_dynamodb::primitives::Blob::new(b.clone())),
        Av::Bool(b) => Ddb::Bool(*b),
        Av::Null(b) => Ddb::Null(*b),
        Av::L(l) => Ddb::L(l.iter().map(convert).collect()),
        Av::M(m) => Ddb::M(m.iter().map(|(k, v)| (k.clone(), convert(v))).collect()),
        Av::Ss(s) => Ddb::Ss(s.clone()),
        Av::Ns(n) => Ddb::Ns(n.clone()),
        Av::Bs(b) => Ddb::Bs(
            b.iter()
                .map(|b| aws_sdk_dynamodb::primitives::Blob::new(b.clone()))
                .collect(),
        ),
    }
}

/// A stream batch sorted out: the feature records to price (with their
/// sequence numbers), removals skipped, and the records that are not feature
/// records (their sequence numbers, to report as failed).
#[derive(Debug, Default)]
pub struct Batch {
    pub records: Vec<FeatureRecord>,
    pub sequences: Vec<String>,
    pub skipped: usize,
    pub failed: Vec<String>,
}

/// Sorts a batch's records; each lands in exactly one of the three lists.
pub fn decode_batch(event: &Event) -> Batch {
    let mut batch = Batch::default();
    for r in &event.records {
        let sequence = r.change.sequence_number.clone().unwrap_or_default();
        // Removals (e.g. TTL) carry no new image: nothing to price.
        if r.event_name == "REMOVE" || r.change.new_image.is_empty() {
            batch.skipped += 1;
            continue;
        }
        let item: Item = r
            .change
            .new_image
            .iter()
            .map(|(k, v)| (k.clone(), convert(v)))
            .collect::<HashMap<_, _>>();
        match FeatureRecord::from_item(&item) {
            Ok(record) => {
                batch.records.push(record);
                batch.sequences.push(sequence);
            }
            Err(e) => {
                warn!(sequence = %sequence, "not a feature record: {e}");
                batch.failed.push(sequence);
            }
        }
    }
    batch
}

/// The handler's state, kept across invocations of a warm function.
pub struct Handler {
    aws: Aws,
    stage: Stage,
}

fn failure(sequence: &str) -> DynamoDbBatchItemFailure {
    let mut f = DynamoDbBatchItemFailure::default();
    f.item_identifier = Some(sequence.to_string());
    f
}

impl Handler {
    pub fn new(config: &Config, aws: Aws, model: Model) -> Handler {
        Handler {
            aws,
            stage: Stage::new(config, model, Metrics::new()),
        }
    }

    /// Prices one stream batch; the response lists the sequence numbers of
    /// the records to retry.
    pub fn handle(&mut self, event: &Event) -> DynamoDbEventResponse {
        let Batch {
            records,
            sequences,
            failed,
            ..
        } = decode_batch(event);
        let mut failures: Vec<_> = failed.iter().map(|s| failure(s)).collect();
        match self.stage.price(&self.aws, &records) {
            Ok(outcomes) => {
                for (outcome, sequence) in outcomes.iter().zip(&sequences) {
                    match outcome {
                        Outcome::Failed(e) => {
                            warn!(sequence = %sequence, "{e}");
                            failures.push(failure(sequence));
                        }
                        Outcome::Skipped(why) => warn!(sequence = %sequence, "{why}"),
                        Outcome::Decided(_) => {}
                    }
                }
            }
            Err(e) => {
                // Even a fatal error is reported per record: the event source
                // keeps the records until a fixed deployment prices them.
                warn!(
                    retryable = e.retryable(),
                    "{e}; the whole batch is reported as failed"
                );
                failures.extend(sequences.iter().map(|s| failure(s)));
            }
        }
        let mut response = DynamoDbEventResponse::default();
        response.batch_item_failures = failures;
        response
    }
}
