//! `pricestream serve` end to end against moto (the AWS emulator), through
//! the binary and the official SDK: init → produce a scenario (> 5 000
//! events, 4 shards) → serve. The features table must hold exactly what
//! `pricestream replay` computes from the same records (with the same price
//! changes), prices must move in the catalog with an audit trail, dead
//! letters must be the injected faults (wrong clocks a year ahead among
//! them), and a run stopped by SIGTERM
//! mid-stream and restarted must end in the same state as one that was not,
//! with no price change applied twice.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use service::aws::{Aws, scan_all};

mod serve_kit;

use serve_kit::*;

#[test]
fn serve_matches_replay_prices_and_survives_a_restart() {
    let _one_at_a_time = EMULATOR.lock().unwrap_or_else(|e| e.into_inner());
    let (moto, dir, cfg) = setup();
    let config = service::Config::load(&cfg, Vec::new()).unwrap();
    let aws = Aws::connect(&config).unwrap();
    let cfg_s = cfg.to_str().unwrap();
    let sim = dir.path().join("sim");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(sim.join("summary.json")).unwrap()).unwrap();
    let records = summary["stats"]["records"].as_u64().unwrap();
    assert!(records >= 5_000, "{records} records");

    // 1. Uninterrupted, with one 500 KB record on the stream (valid for
    // Kinesis, ten times `max_record_bytes`): dead-lettered, bounded in the
    // table, and the shard moves on.
    let put_big = || {
        let big = format!(
            "{{\"event_id\":\"big\",\"pad\":\"{}\"}}",
            "x".repeat(500_000)
        );
        service::produce::put_records(
            &aws,
            "serve-test",
            vec![("sku-0001".to_string(), big.into_bytes())],
            &mut service::produce::ProduceReport::default(),
        )
        .unwrap();
    };
    prepare(&moto, dir.path(), &cfg);
    put_big();
    let report: serde_json::Value =
        serde_json::from_str(pricestream(&["serve", "--config", cfg_s, "--drain"]).trim()).unwrap();
    assert_eq!(report["records"].as_u64(), Some(records + 1), "{report}");
    assert_eq!(report["settle_timeouts"].as_u64(), Some(0), "{report}");
    let whole = state(&aws, &config);

    // The features table is what replay computes from the same records and price changes.
    let events = dump_stream(&aws, dir.path());
    let audit = dir.path().join("audit.ndjson");
    std::fs::write(&audit, whole.audit.join("\n") + "\n").unwrap();
    let out = dir.path().join("replay");
    let mut args: Vec<String> = events.iter().map(|p| p.display().to_string()).collect();
    for a in [
        "--catalog",
        &sim.join("catalog.csv").display().to_string(),
        "--orders",
        &sim.join("orders.ndjson").display().to_string(),
        "--prices",
        &audit.display().to_string(),
        "--window",
        "10m",
        "--out-of-orderness",
        "5s",
        "--out",
        &out.display().to_string(),
        "--quiet",
    ] {
        args.push(a.to_string());
    }
    let mut replay_args = vec!["replay"];
    replay_args.extend(args.iter().map(String::as_str));
    pricestream(&replay_args);
    let mut replayed: Vec<String> = std::fs::read_to_string(out.join("features.ndjson"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    replayed.sort();
    assert!(replayed.len() > 100, "{} feature records", replayed.len());
    let only_table: Vec<_> = whole
        .features
        .iter()
        .filter(|f| !replayed.contains(f))
        .collect();
    let only_replay: Vec<_> = replayed
        .iter()
        .filter(|f| !whole.features.contains(f))
        .collect();
    if !(only_table.is_empty() && only_replay.is_empty()) {
        let keep = std::env::temp_dir().join("pricestream-serve-test");
        std::fs::create_dir_all(&keep).unwrap();
        std::fs::write(keep.join("table.ndjson"), whole.features.join("\n")).unwrap();
        std::fs::write(keep.join("replay.ndjson"), replayed.join("\n")).unwrap();
        std::fs::write(keep.join("audit.ndjson"), whole.audit.join("\n")).unwrap();
        panic!(
            "features table differs from replay: {} only in the table, {} only in replay (both in {})",
            only_table.len(),
            only_replay.len(),
            keep.display()
        );
    }

    // Dead letters are exactly the injected faults.
    let mut by_reason: BTreeMap<String, u64> = BTreeMap::new();
    for (reason, _) in &whole.dead_letters {
        *by_reason.entry(reason.clone()).or_default() += 1;
    }
    let injected: BTreeMap<String, u64> = summary["faults"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
        .filter(|(_, n)| *n > 0)
        .chain([("oversize".to_string(), 1)])
        .collect();
    assert_eq!(by_reason, injected);
    // Events from a wrong clock (a year ahead) were refuted, and nothing
    // after them was late for it.
    assert!(
        injected
            .get("event_time_out_of_range")
            .is_some_and(|n| *n > 0),
        "{injected:?}"
    );
    let big = whole
        .dead_letters
        .iter()
        .find(|(reason, _)| reason == "oversize")
        .unwrap();
    assert!(big.1.len() <= 4096, "the dead letter keeps a prefix");

    // Prices moved, each applied decision exactly once.
    let applied: Vec<serde_json::Value> = whole
        .audit
        .iter()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|a| a["applied"] == true)
        .collect();
    assert!(!applied.is_empty(), "no price changed");
    for (product, price, version, _) in &whole.catalog {
        let mine: Vec<_> = applied
            .iter()
            .filter(|a| a["product_id"] == **product)
            .collect();
        assert_eq!(version, &mine.len().to_string(), "{product}: price_version");
        if let Some(last) = mine.last() {
            assert_eq!(
                price.parse::<f64>().unwrap(),
                last["final_price"].as_f64().unwrap()
            );
        }
    }

    // 2. Stopped by SIGTERM mid-stream, then restarted.
    prepare(&moto, dir.path(), &cfg);
    put_big();
    let mut child = Command::new(BIN)
        .args(["serve", "--config", cfg_s])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    let metrics_at = loop {
        let line = stderr
            .next()
            .expect("serve printed its metrics address")
            .unwrap();
        if let Some(rest) = line.strip_prefix("metrics on http://") {
            break rest.trim_end_matches("/metrics").to_string();
        }
    };
    std::thread::spawn(move || for _ in stderr {});
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let written = scan_all(&aws, &config.tables.features).unwrap().len();
        if written >= whole.features.len() / 3 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "serve wrote {written} feature records"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let metrics = get(&metrics_at, "/metrics");
    assert!(metrics.contains("pricestream_events_in_total"), "{metrics}");
    assert!(
        metrics.contains("pricestream_windows_closed_total"),
        "{metrics}"
    );
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "serve exits 0 on SIGTERM: {status}");
    let partial = scan_all(&aws, &config.tables.features).unwrap().len();
    assert!(
        partial < whole.features.len(),
        "stopped mid-stream ({partial} of {})",
        whole.features.len()
    );
    let log = dir.path().join("serve.log");
    let args = ["serve", "--config", cfg_s, "--drain", "--log"];
    let report: serde_json::Value =
        serde_json::from_str(pricestream(&[&args[..], &[log.to_str().unwrap()]].concat()).trim())
            .unwrap();
    assert_eq!(report["settle_timeouts"].as_u64(), Some(0), "{report}");
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged.contains("metrics on http://") && logged.contains("leased"),
        "--log without --tui holds the service's log: {logged}"
    );
    let restarted = state(&aws, &config);
    assert!(
        restarted.features == whole.features,
        "features differ after restart"
    );
    assert_eq!(
        restarted.catalog, whole.catalog,
        "catalog differs after restart"
    );
    assert_eq!(restarted.audit, whole.audit, "audit differs after restart");
    assert_eq!(restarted.dead_letters, whole.dead_letters);
}

#[test]
fn serve_tui_shows_live_prices_and_quits_cleanly() {
    use testkit::tmux::{Session, tmux, wait_for, wait_for_within};
    let _one_at_a_time = EMULATOR.lock().unwrap_or_else(|e| e.into_inner());
    let (moto, dir, cfg) = setup();
    prepare(&moto, dir.path(), &cfg);

    let root = env!("CARGO_MANIFEST_DIR");
    let ort = std::env::var("ORT_DYLIB_PATH").unwrap_or_default();
    let name = format!("pricestream-serve-{}", std::process::id());
    let command = format!(
        "cd {root} && AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 \
         AWS_EC2_METADATA_DISABLED=true ORT_DYLIB_PATH={ort} \
         {BIN} serve --tui --config {} --log {}; echo EXITED $?; sleep 30",
        cfg.display(),
        dir.path().join("serve.log").display()
    );
    let _guard = Session::start(&name, 120, 32, &command);
    let pane = wait_for_within(&name, "serve-test", 60);
    assert!(
        pane.contains("prices") && pane.contains("decisions"),
        "{pane}"
    );
    // Decisions arrive as windows close and the pricer answers.
    wait_for_within(&name, "→", 120);
    tmux(&["send-keys", "-t", &name, "K"]);
    wait_for(&name, "KILL SWITCH ON");
    // Quitting stops the service, so it asks first.
    tmux(&["send-keys", "-t", &name, "q"]);
    wait_for(&name, "quit and stop the service?");
    tmux(&["send-keys", "-t", &name, "y"]);
    let after = wait_for_within(&name, "EXITED", 60);
    assert!(after.contains("EXITED 0"), "clean exit:\n{after}");
    assert!(
        after.contains("\"windows\""),
        "the report follows the UI:\n{after}"
    );
    let log = std::fs::read_to_string(dir.path().join("serve.log")).unwrap();
    assert!(log.contains("leased"), "logs went to --log:\n{log}");
    assert!(
        !Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("pricestream-serve.log")
            .exists(),
        "nothing written to the default log in the checkout"
    );
}
