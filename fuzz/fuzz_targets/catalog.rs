//! Catalog files in each format: valid items or an error naming the file.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for name in ["c.csv", "c.json", "c.ndjson"] {
        match pipeline::adapters::files::parse_catalog(name.as_ref(), data) {
            Ok(items) => {
                assert!(!items.is_empty());
                for item in &items {
                    assert!(item.validate().is_ok());
                }
            }
            Err(e) => assert!(e.to_string().starts_with(name)),
        }
    }
});
