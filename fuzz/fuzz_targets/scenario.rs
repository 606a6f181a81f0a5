//! Scenario TOML: an error naming a key, or a scenario whose size estimate
//! is finite (so the caps hold) — never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(scenario) = sim::Scenario::parse(text) {
        let e = scenario.estimate();
        assert!(e.events.is_finite() && e.events >= 0.0);
        assert!(e.sessions.is_finite() && e.bytes.is_finite());
    }
});
