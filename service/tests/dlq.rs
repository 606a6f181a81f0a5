//! Dead letters in DynamoDB against moto: stored with their bytes, listed by
//! reason, re-fed to the stream and removed.
#![cfg(feature = "aws")]

mod common;

use pipeline::{DeadLetter, Reason};
use service::aws::init;
use service::dlq;
use testkit::moto::Moto;

fn letter(reason: Reason, position: &str, bytes: &[u8]) -> DeadLetter {
    DeadLetter {
        reason,
        detail: format!("{reason} for a test"),
        partition: "shardId-000000000001".into(),
        position: position.into(),
        bytes: bytes.to_vec(),
        truncated: None,
    }
}

#[test]
fn dead_letters_are_listed_and_replayed_to_the_stream() {
    let moto = Moto::start();
    let (config, aws) = common::connect(&moto, &[("PRICESTREAM_STREAM_NAME", "dlq-test")]);
    init(&aws, &config, None).unwrap();
    let table = &config.tables.dead_letters;
    let event = br#"{"event_id":"e1","event_type":"view","event_time":"2026-11-28T14:00:00Z","session_id":"s","product_id":"sku-air-00","price":1,"referrer":"x"}"#;
    let letters = [
        letter(Reason::UnknownProduct, "101", event),
        letter(Reason::MalformedJson, "102", &[0xff, 0x00, b'{']),
        letter(Reason::UnknownProduct, "103", event),
    ];
    dlq::put(&aws, table, &letters).unwrap();
    let all = dlq::list(&aws, table, None).unwrap();
    assert_eq!(
        all,
        letters.to_vec(),
        "bytes, reasons and positions survive, non-UTF-8 included"
    );
    let unknown = dlq::list(&aws, table, Some(Reason::UnknownProduct)).unwrap();
    assert_eq!(unknown.len(), 2);

    let report = dlq::replay(&aws, table, "dlq-test", &unknown).unwrap();
    assert_eq!(report.records, 2);
    assert_eq!(
        dlq::list(&aws, table, None).unwrap(),
        vec![letters[1].clone()],
        "replayed letters are removed"
    );
}
