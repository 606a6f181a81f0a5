//! The service's TOML configuration (with `PRICESTREAM_*` overrides taken
//! from the input's last line): a config or an error naming the file.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (file, env) = match text.rsplit_once("\n#env ") {
        Some((file, var)) => match var.split_once('=') {
            Some((k, v)) => (file, vec![(format!("PRICESTREAM_{k}"), v.to_string())]),
            None => (file, Vec::new()),
        },
        None => (text, Vec::new()),
    };
    if let Err(e) = service::Config::parse(file, "fuzz.toml", env) {
        assert!(e.to_string().contains("fuzz.toml") || e.to_string().contains("PRICESTREAM_"));
    }
});
