//! The Lambda pricer's handler, invoked with the documented DynamoDB-stream
//! event JSON (as Lambda delivers it) against moto: prices move once,
//! unreadable images and failed model calls come back as batchItemFailures,
//! and a redelivered batch changes nothing.

mod common;

use aws_lambda_events::event::dynamodb::Event;
use aws_sdk_dynamodb::types::AttributeValue;
use pipeline::{FeatureRecord, ModelError, PriceModel};
use serde_json::{Value, json};
use service::aws::{Aws, init, put_items};
use service::lambda::Handler;
use testkit::moto::Moto;

const END: i64 = 1_795_874_500_000;

/// An attribute value in DynamoDB JSON, as stream events carry it.
fn dynamo_json(v: &AttributeValue) -> Value {
    match v {
        AttributeValue::S(s) => json!({ "S": s }),
        AttributeValue::N(n) => json!({ "N": n }),
        AttributeValue::L(l) => json!({ "L": l.iter().map(dynamo_json).collect::<Vec<_>>() }),
        other => panic!("not used in feature items: {other:?}"),
    }
}

/// One stream record in the shape of the Lambda developer guide's example.
fn record(sequence: &str, event_name: &str, image: Value) -> Value {
    json!({
        "eventID": format!("event-{sequence}"),
        "eventName": event_name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": {
            "ApproximateCreationDateTime": 1_795_874_500.0,
            "Keys": { "product_id": image.get("product_id").cloned().unwrap_or(json!({"S": "x"})) },
            "NewImage": image,
            "SequenceNumber": sequence,
            "SizeBytes": 512,
            "StreamViewType": "NEW_IMAGE"
        },
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/pricestream-features/stream/2026-11-28T00:00:00.000"
    })
}

fn image(r: &FeatureRecord) -> Value {
    Value::Object(
        service::items::Codec::to_item(r)
            .iter()
            .map(|(k, v)| (k.clone(), dynamo_json(v)))
            .collect(),
    )
}

fn event(records: Vec<Value>) -> Event {
    serde_json::from_value(json!({ "Records": records })).unwrap()
}

fn failures(response: &aws_lambda_events::event::streams::DynamoDbEventResponse) -> Vec<String> {
    response
        .batch_item_failures
        .iter()
        .filter_map(|f| f.item_identifier.clone())
        .collect()
}

fn price_version(aws: &Aws, table: &str, id: &str) -> (String, String) {
    let item = aws
        .runtime
        .block_on(
            aws.dynamodb
                .get_item()
                .table_name(table)
                .key("product_id", AttributeValue::S(id.into()))
                .consistent_read(true)
                .send(),
        )
        .unwrap()
        .item
        .unwrap();
    let n = |k: &str| item[k].as_n().unwrap().clone();
    (n("current_price"), n("price_version"))
}

struct Broken;

impl PriceModel for Broken {
    fn version(&self) -> &str {
        "broken"
    }
    fn predict(&mut self, _: &[FeatureRecord]) -> Result<Vec<f32>, ModelError> {
        Err(ModelError::retryable("endpoint down"))
    }
}

#[test]
fn the_handler_prices_a_stream_batch_once_and_reports_what_failed() {
    let moto = Moto::start();
    let (config, aws) = common::connect(&moto, &[("PRICESTREAM_GUARDRAILS_HOLDOUT_SHARE", "0")]);
    init(&aws, &config, None).unwrap();
    let t = config.tables.clone();
    let ids = ["sku-a", "sku-b"];
    put_items(
        &aws,
        &t.catalog,
        ids.iter()
            .map(|id| service::items::Codec::to_item(&testkit::fixtures::item(id)))
            .collect(),
    )
    .unwrap();
    let records: Vec<FeatureRecord> = ids
        .iter()
        .map(|id| testkit::fixtures::record(id, END, [1.0; pipeline::FEATURE_COUNT]))
        .collect();
    let mut unreadable = image(&records[0]);
    unreadable.as_object_mut().unwrap().remove("features");
    let batch = event(vec![
        record("100", "INSERT", image(&records[0])),
        record("200", "INSERT", unreadable),
        record("300", "MODIFY", image(&records[1])),
        record("400", "REMOVE", json!({})),
    ]);

    let model = Box::new(model::FixedRatioModel::new(0.9));
    let mut handler = Handler::new(&config, Aws::connect(&config).unwrap(), model);
    let response = handler.handle(&batch);
    assert_eq!(
        failures(&response),
        ["200"],
        "only the unreadable image is retried"
    );
    for id in ids {
        assert_eq!(
            price_version(&aws, &t.catalog, id),
            ("90".to_string(), "1".to_string())
        );
    }
    let audit = service::pricing::list_audit(&aws, &t.audit).unwrap();
    assert_eq!(audit.len(), 2);

    // Lambda redelivers the batch (e.g. after the failure): nothing moves twice.
    let again = handler.handle(&batch);
    assert_eq!(failures(&again), ["200"]);
    for id in ids {
        assert_eq!(price_version(&aws, &t.catalog, id).1, "1");
    }
    assert_eq!(service::pricing::list_audit(&aws, &t.audit).unwrap(), audit);

    // A model that fails: every readable record is reported, nothing written.
    let later: Vec<FeatureRecord> = ids
        .iter()
        .map(|id| testkit::fixtures::record(id, END + 3_600_000, [1.0; pipeline::FEATURE_COUNT]))
        .collect();
    let mut broken = Handler::new(&config, Aws::connect(&config).unwrap(), Box::new(Broken));
    let response = broken.handle(&event(vec![
        record("500", "INSERT", image(&later[0])),
        record("600", "INSERT", image(&later[1])),
    ]));
    assert_eq!(failures(&response), ["500", "600"]);
    assert_eq!(service::pricing::list_audit(&aws, &t.audit).unwrap(), audit);
}
