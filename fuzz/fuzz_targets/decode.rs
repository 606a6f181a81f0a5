//! Event decode and validation on arbitrary bytes: a reason, never a panic,
//! and the one-pass path for the usual shape agrees with the general one.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let decoded = pipeline::decode(data);
    assert_eq!(decoded, pipeline::decode_general(data), "the two paths disagree");
    match decoded {
        Ok(event) => {
            // What decodes is within the contract's ranges.
            assert!(event.price.is_finite() && event.price > 0.0);
            assert!(!event.event_id.is_empty());
        }
        Err(rejection) => assert!(!rejection.detail.is_empty()),
    }
});
