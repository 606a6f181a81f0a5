//! Event decode and validation on arbitrary bytes: a reason, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match pipeline::decode(data) {
        Ok(event) => {
            // What decodes is within the contract's ranges.
            assert!(event.price.is_finite() && event.price > 0.0);
            assert!(!event.event_id.is_empty());
        }
        Err(rejection) => assert!(!rejection.detail.is_empty()),
    }
});
