//! KPL de-aggregation on arbitrary bytes: a plain record, user records, or
//! a reason — an aggregate with nothing inside is never "fine".
#![no_main]

use libfuzzer_sys::fuzz_target;
use pipeline::kpl::{MAGIC, Unpacked, unpack};

fuzz_target!(|data: &[u8]| {
    match unpack(data) {
        Ok(Unpacked::Plain(bytes)) => {
            assert!(!data.starts_with(&MAGIC));
            assert_eq!(bytes, data);
        }
        Ok(Unpacked::Aggregate(subs)) => assert!(!subs.is_empty()),
        Err(reason) => assert!(data.starts_with(&MAGIC) && !reason.is_empty()),
    }
});
