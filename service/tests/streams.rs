//! The pricer's reader of the features table's DynamoDB stream, with
//! aws-smithy-mocks for what moto does not do: an expired iterator is
//! reopened after the checkpointed sequence, so nothing is skipped.
#![cfg(feature = "aws")]

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::batch_get_item::BatchGetItemOutput;
use aws_sdk_dynamodb::operation::batch_write_item::BatchWriteItemOutput;
use aws_sdk_dynamodb::operation::describe_table::DescribeTableOutput;
use aws_sdk_dynamodb::types::{AttributeValue, TableDescription};
use aws_sdk_dynamodbstreams::operation::describe_stream::DescribeStreamOutput;
use aws_sdk_dynamodbstreams::operation::get_records::{GetRecordsError, GetRecordsOutput};
use aws_sdk_dynamodbstreams::operation::get_shard_iterator::GetShardIteratorOutput;
use aws_sdk_dynamodbstreams::types::error::ExpiredIteratorException;
use aws_sdk_dynamodbstreams::types::{
    AttributeValue as Ds, Record, Shard, ShardIteratorType, StreamDescription, StreamRecord,
};
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use service::aws::Aws;
use service::streams::TableStream;

fn change(seq: &str) -> Record {
    Record::builder()
        .event_name(aws_sdk_dynamodbstreams::types::OperationType::Insert)
        .dynamodb(
            StreamRecord::builder()
                .sequence_number(seq)
                .new_image("product_id", Ds::S(format!("sku-{seq}")))
                .build(),
        )
        .build()
}

#[test]
fn an_expired_stream_iterator_is_reopened_after_the_checkpoint() {
    let describe_table = mock!(aws_sdk_dynamodb::Client::describe_table).then_output(|| {
        DescribeTableOutput::builder()
            .table(
                TableDescription::builder()
                    .latest_stream_arn("arn:stream")
                    .build(),
            )
            .build()
    });
    // No checkpoint at first; after the first batch, the one it wrote.
    let positions = mock!(aws_sdk_dynamodb::Client::batch_get_item)
        .sequence()
        .output(|| BatchGetItemOutput::builder().build())
        .output(|| {
            let item = HashMap::from([
                (
                    "shard_id".to_string(),
                    AttributeValue::S("features-stream/shard-0".into()),
                ),
                ("checkpoint".to_string(), AttributeValue::S("10".into())),
            ]);
            BatchGetItemOutput::builder()
                .responses("pricestream-checkpoints", vec![item])
                .build()
        })
        .build();
    let saved = mock!(aws_sdk_dynamodb::Client::batch_write_item)
        .then_output(|| BatchWriteItemOutput::builder().build());
    let describe_stream =
        mock!(aws_sdk_dynamodbstreams::Client::describe_stream).then_output(|| {
            DescribeStreamOutput::builder()
                .stream_description(
                    StreamDescription::builder()
                        .shards(Shard::builder().shard_id("shard-0").build())
                        .build(),
                )
                .build()
        });
    let from_start = mock!(aws_sdk_dynamodbstreams::Client::get_shard_iterator)
        .match_requests(|r| r.shard_iterator_type() == Some(&ShardIteratorType::TrimHorizon))
        .then_output(|| {
            GetShardIteratorOutput::builder()
                .shard_iterator("it-0")
                .build()
        });
    let after_checkpoint = mock!(aws_sdk_dynamodbstreams::Client::get_shard_iterator)
        .match_requests(|r| {
            r.shard_iterator_type() == Some(&ShardIteratorType::AfterSequenceNumber)
                && r.sequence_number() == Some("10")
        })
        .then_output(|| {
            GetShardIteratorOutput::builder()
                .shard_iterator("it-10")
                .build()
        });
    let first = mock!(aws_sdk_dynamodbstreams::Client::get_records)
        .match_requests(|r| r.shard_iterator() == Some("it-0"))
        .then_output(|| {
            GetRecordsOutput::builder()
                .records(change("10"))
                .next_shard_iterator("it-1")
                .build()
        });
    let expired = mock!(aws_sdk_dynamodbstreams::Client::get_records)
        .match_requests(|r| r.shard_iterator() == Some("it-1"))
        .then_error(|| {
            GetRecordsError::ExpiredIteratorException(
                ExpiredIteratorException::builder()
                    .message("expired")
                    .build(),
            )
        });
    let reopened = mock!(aws_sdk_dynamodbstreams::Client::get_records)
        .match_requests(|r| r.shard_iterator() == Some("it-10"))
        .then_output(|| {
            GetRecordsOutput::builder()
                .records(change("11"))
                .next_shard_iterator("it-11")
                .build()
        });
    let none: [&Rule; 0] = [];
    let aws = Aws::from_clients(
        mock_client!(aws_sdk_kinesis, RuleMode::MatchAny, none),
        mock_client!(
            aws_sdk_dynamodb,
            RuleMode::MatchAny,
            [&describe_table, &positions, &saved]
        ),
    )
    .unwrap()
    .with_streams(mock_client!(
        aws_sdk_dynamodbstreams,
        RuleMode::MatchAny,
        [
            &describe_stream,
            &from_start,
            &after_checkpoint,
            &first,
            &expired,
            &reopened
        ]
    ));

    let mut stream = TableStream::new("pricestream-features", "pricestream-checkpoints");
    stream.refresh(&aws).unwrap();
    let mut seen = Vec::new();
    for _ in 0..3 {
        for shard in stream.poll(&aws).unwrap() {
            for c in &shard.changes {
                seen.push(c.sequence.clone());
            }
            if let Some(last) = shard.changes.last() {
                stream
                    .checkpoint(&aws, &shard.shard_id, &last.sequence)
                    .unwrap();
            }
        }
    }
    assert_eq!(seen, ["10", "11"], "each change once, in order");
    assert_eq!(expired.num_calls(), 1);
    assert_eq!(
        after_checkpoint.num_calls(),
        1,
        "reopened after the checkpoint"
    );
}
