//! Event decode and validation on arbitrary bytes: a reason, never a panic,
//! and the one-pass path for the usual shape agrees with the general one
//! (on a whole record, and on one read where it lies in a buffer).
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
    // Read where it lies in a buffer (replay's reader): never past a
    // newline, and as the record alone would be read.
    if let Some((len, layout)) = pipeline::decode::Layout::of_prefix(data) {
        assert!(!data[..len].contains(&b'\n'), "a record read past a newline");
        assert_eq!(Some(layout), pipeline::decode::Layout::of(&data[..len]));
    }
});
