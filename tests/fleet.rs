//! `serve` as a fleet against moto: workers share the stream's shards
//! through the lease table. Each scenario ends in the same tables as one
//! uninterrupted worker (features, catalog prices and versions, audit, dead
//! letters): nothing lost, nothing applied twice.

use std::time::Duration;

use rand::{Rng, SeedableRng};
use service::aws::Aws;

mod serve_kit;

use serve_kit::*;

fn shards_of(report: &serde_json::Value) -> Vec<String> {
    report["shards"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

/// The tables after one uninterrupted worker (the same for every emulator).
fn reference(
    moto: &testkit::moto::Moto,
    dir: &std::path::Path,
    cfg: &std::path::Path,
    aws: &Aws,
    config: &service::Config,
) -> &'static State {
    static REFERENCE: std::sync::OnceLock<State> = std::sync::OnceLock::new();
    REFERENCE.get_or_init(|| {
        prepare(moto, dir, cfg);
        let log = dir.join("one.log");
        let report = report_of(spawn_serve(cfg, &["--drain"], &[], &log), &log);
        assert_eq!(shards_of(&report).len(), 4, "{report}");
        let whole = state(aws, config);
        assert!(whole.features.len() > 100);
        whole
    })
}

#[test]
fn a_fleet_splits_the_shards_takes_over_after_sigkill_and_refuses_a_shared_id() {
    let _one_at_a_time = EMULATOR.lock().unwrap_or_else(|e| e.into_inner());
    let (moto, dir, cfg) = setup();
    let config = service::Config::load(&cfg, Vec::new()).unwrap();
    let aws = Aws::connect(&config).unwrap();
    let log = |name: &str| dir.path().join(format!("{name}.log"));

    let whole = reference(&moto, dir.path(), &cfg, &aws, &config);

    // 1. Two workers started at the same moment: both run to the end,
    // each reads some of the shards, together all of them.
    prepare(&moto, dir.path(), &cfg);
    let a = spawn_serve(&cfg, &["--drain"], &[], &log("a"));
    let b = spawn_serve(&cfg, &["--drain"], &[], &log("b"));
    let (ra, rb) = (report_of(a, &log("a")), report_of(b, &log("b")));
    let (sa, sb) = (shards_of(&ra), shards_of(&rb));
    assert!(
        !sa.is_empty() && !sb.is_empty(),
        "a read {sa:?}, b read {sb:?}"
    );
    let mut all = [sa, sb].concat();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 4, "{all:?}");
    assert_same_state("two workers started together", &state(&aws, &config), whole);

    // 2. A worker is SIGKILLed mid-stream; the other, started as a
    // standby, takes its shards over (after the lease runs out) and ends
    // in the same state.
    prepare(&moto, dir.path(), &cfg);
    let mut first = spawn_serve(&cfg, &[], &[], &log("first"));
    wait_for_features(&aws, &config, whole.features.len() / 3);
    let standby = spawn_serve(&cfg, &["--drain"], &[], &log("standby"));
    wait_for_log(&log("standby"), "leases changed");
    signal(&first, "-KILL");
    first.wait().unwrap();
    let report = report_of(standby, &log("standby"));
    assert_eq!(shards_of(&report).len(), 4, "{report}");
    assert_same_state("after a SIGKILL and takeover", &state(&aws, &config), whole);

    // 3. A second worker given a running worker's id is refused.
    let twin = [("PRICESTREAM_STREAM_WORKER_ID", "twin")];
    let running = spawn_serve(&cfg, &[], &twin, &log("twin-1"));
    wait_for_log(&log("twin-1"), "leased");
    let second = spawn_serve(&cfg, &["--drain"], &twin, &log("twin-2"));
    let out = second.wait_with_output().unwrap();
    let said = std::fs::read_to_string(log("twin-2")).unwrap();
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(said.contains("worker id `twin` is in use"), "{said}");
    signal(&running, "-TERM");
    assert!(running.wait_with_output().unwrap().status.success());
}

/// Two workers, one SIGKILLed at a random moment and restarted, 20 times;
/// then one worker drains what is left. Seeded, so a failure repeats.
#[test]
fn twenty_sigkills_of_two_workers_lose_nothing_and_apply_nothing_twice() {
    let _one_at_a_time = EMULATOR.lock().unwrap_or_else(|e| e.into_inner());
    let (moto, dir, cfg) = setup();
    let config = service::Config::load(&cfg, Vec::new()).unwrap();
    let aws = Aws::connect(&config).unwrap();
    let log = |name: String| dir.path().join(format!("{name}.log"));

    let whole = reference(&moto, dir.path(), &cfg, &aws, &config);

    prepare(&moto, dir.path(), &cfg);
    let mut rng = rand::rngs::StdRng::seed_from_u64(20);
    let mut logs = [log("w0-0".into()), log("w1-0".into())];
    let mut workers = [0, 1].map(|i| spawn_serve(&cfg, &[], &[], &logs[i]));
    for kill in 1..=20 {
        std::thread::sleep(Duration::from_millis(rng.random_range(300..2_500)));
        let i = rng.random_range(0..2);
        signal(&workers[i], "-KILL");
        let _ = workers[i].wait();
        logs[i] = log(format!("w{i}-{kill}"));
        workers[i] = spawn_serve(&cfg, &[], &[], &logs[i]);
    }
    for (w, log) in workers.iter().zip(&logs) {
        // (Its SIGTERM handler is installed by then.)
        wait_for_log(log, "metrics on");
        signal(w, "-TERM");
    }
    for (i, w) in workers.into_iter().enumerate() {
        let out = w.wait_with_output().unwrap();
        assert!(out.status.success(), "worker {i}: {}", out.status);
    }
    // The killed fleet did part of the work (or this would test nothing).
    let during = state(&aws, &config).features.len();
    assert!(during > 0, "no window written during the kills");
    let last = spawn_serve(&cfg, &["--drain"], &[], &log("last".into()));
    report_of(last, &log("last".into()));
    assert_same_state("after 20 SIGKILLs", &state(&aws, &config), whole);
}
