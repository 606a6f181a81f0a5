//! The DynamoDB stream event the Lambda pricer receives, as JSON: every
//! record is priced, skipped (a removal) or reported as failed — none lost.
#![no_main]

use aws_lambda_events::event::dynamodb::Event;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(event) = serde_json::from_slice::<Event>(data) else {
        return;
    };
    let batch = service::lambda::decode_batch(&event);
    assert_eq!(
        batch.records.len() + batch.skipped + batch.failed.len(),
        event.records.len()
    );
});
