//! Dead letters in DynamoDB against moto: stored with their bytes, listed by
//! reason, re-fed to the stream and removed.
#![cfg(feature = "aws")]

mod common;

use pipeline::{DeadLetter, Reason};
use service::aws::init;
use service::dlq;
use testkit::moto::Moto;

/// The tests share one emulator, which `connect` resets: one at a time.
static EMULATOR: std::sync::Mutex<()> = std::sync::Mutex::new(());

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
    let _one_at_a_time = EMULATOR.lock().unwrap_or_else(|e| e.into_inner());
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

/// A record between 400 KB and 1 MB (valid in Kinesis) is stored by its
/// start, length and digest — the whole would be refused by DynamoDB and
/// stop its shard — and is not re-fed as if it were whole.
#[test]
fn a_record_too_large_for_an_item_is_stored_by_its_start_and_digest() {
    let _one_at_a_time = EMULATOR.lock().unwrap_or_else(|e| e.into_inner());
    let moto = Moto::start();
    let (config, aws) = common::connect(&moto, &[("PRICESTREAM_STREAM_NAME", "dlq-big")]);
    init(&aws, &config, None).unwrap();
    let table = &config.tables.dead_letters;
    let big = vec![b'x'; 600 * 1024];
    dlq::put(&aws, table, &[letter(Reason::Oversize, "7", &big)]).unwrap();
    let stored = dlq::list(&aws, table, None).unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].bytes, big[..pipeline::dead_letter::KEPT_PREFIX]);
    assert_eq!(stored[0].truncated, Some(pipeline::Truncation::of(&big)));
    let err = dlq::replay(&aws, table, "dlq-big", &stored).unwrap_err();
    assert!(err.to_string().contains("cannot be re-fed"), "{err}");
}
