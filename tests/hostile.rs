//! Hostile input at the command line: nothing dropped silently, bounded
//! memory on any line length, outputs replaced only when a command succeeds.

mod common;

use common::*;

fn read(dir: &std::path::Path, f: &str) -> String {
    std::fs::read_to_string(dir.join(f)).unwrap()
}

#[test]
fn a_failed_replay_leaves_the_previous_outputs_in_place() {
    let dir = sample_dir();
    let p = dir.path();
    let o = pricestream(&[&SAMPLE[..], &["--out", "out", "-q"]].concat(), p);
    assert!(o.status.success(), "{}", stderr(&o));
    let before = read(p, "out/features.ndjson");
    assert!(!before.is_empty());
    let typo = [
        "replay",
        "--catalog",
        "catalog.csv",
        "evnets-0.ndjson",
        "--out",
        "out",
    ];
    expect_usage_error(&typo, p, &["evnets-0.ndjson", "cannot open"]);
    assert_eq!(read(p, "out/features.ndjson"), before);
    assert!(!read(p, "out/dead_letters.ndjson").is_empty());
    let leftovers: Vec<_> = std::fs::read_dir(p.join("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| !n.ends_with(".ndjson") && n != "stats.json")
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[test]
fn an_over_long_line_keeps_its_start_length_and_digest() {
    let dir = sample_dir();
    let p = dir.path();
    let long = format!("{{\"event_id\":\"{}\"}}", "x".repeat(10 << 20));
    let short = read(p, "events-0.ndjson");
    let first = short.lines().next().unwrap();
    std::fs::write(
        p.join("long.ndjson"),
        format!("{first}\n{long}\n{first}x\n"),
    )
    .unwrap();
    let args = [
        "replay",
        "--catalog",
        "catalog.csv",
        "long.ndjson",
        "--out",
        "out",
        "-q",
    ];
    let o = pricestream(&args, p);
    assert!(o.status.success(), "{}", stderr(&o));
    let letters: Vec<serde_json::Value> = read(p, "out/dead_letters.ndjson")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let oversize = letters
        .iter()
        .find(|d| d["reason"] == "oversize")
        .expect("an oversize dead letter");
    assert_eq!(oversize["position"], "2");
    assert_eq!(oversize["raw"].as_str().unwrap(), &long[..4096]);
    let whole = pipeline::Truncation::of(long.as_bytes());
    assert_eq!(oversize["truncated"]["len"], whole.len);
    assert_eq!(oversize["truncated"]["sha256"], whole.sha256_hex());
    let stats: serde_json::Value = serde_json::from_str(&read(p, "out/stats.json")).unwrap();
    assert_eq!(stats["received"], 3, "the line after it is read as usual");
    assert!(read(p, "out/dead_letters.ndjson").len() < 10_000);
}

#[test]
fn a_file_without_newlines_is_one_oversize_record() {
    let dir = sample_dir();
    let p = dir.path();
    std::fs::write(p.join("zeros.ndjson"), vec![0u8; 64 << 20]).unwrap();
    let args = [
        "replay",
        "--catalog",
        "catalog.csv",
        "zeros.ndjson",
        "--out",
        "out",
        "-q",
    ];
    let o = pricestream(&args, p);
    assert!(o.status.success(), "{}", stderr(&o));
    let stats: serde_json::Value = serde_json::from_str(&read(p, "out/stats.json")).unwrap();
    assert_eq!(stats["received"], 1);
    assert_eq!(stats["dead_letters"]["oversize"], 1);
}

#[test]
fn stats_json_dash_is_stdout() {
    let dir = sample_dir();
    let p = dir.path();
    let args = [
        &SAMPLE[..],
        &[
            "--features",
            "f.ndjson",
            "--dead-letters",
            "d.ndjson",
            "--stats-json",
            "-",
            "-q",
        ],
    ]
    .concat();
    let o = pricestream(&args, p);
    assert!(o.status.success(), "{}", stderr(&o));
    let stats: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(stats["received"].as_u64().unwrap() > 0);
    assert!(!p.join("-").exists());
}

#[test]
fn one_file_under_two_names_is_refused() {
    let dir = sample_dir();
    let args = [&SAMPLE[..], &["./events-0.ndjson", "--out", "out"]].concat();
    expect_usage_error(
        &args,
        dir.path(),
        &["./events-0.ndjson", "same file as events-0.ndjson"],
    );
}

/// A `.ort/` planted in the working directory is never loaded: the library
/// comes from beside the executable (here the checkout's `.ort/`).
#[test]
fn the_onnx_library_is_not_loaded_from_the_working_directory() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let planted = p.join(".ort/wheel/onnxruntime/capi/libonnxruntime.so.1.24.4");
    std::fs::create_dir_all(planted.parent().unwrap()).unwrap();
    std::fs::write(&planted, b"not a library").unwrap();
    let scenario = repo().join("scenarios/steady.toml");
    let model = repo().join("model/pricing.onnx");
    let args = [
        "run",
        scenario.to_str().unwrap(),
        "--model",
        model.to_str().unwrap(),
        "--policy",
        "model",
        "--duration",
        "1h",
        "-q",
    ];
    // Without the override cargo sets for tests: the search itself is tested.
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_pricestream"))
        .args(args)
        .current_dir(p)
        .env_remove("ORT_DYLIB_PATH")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn an_unwritable_report_directory_is_named_before_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::write(p.join("a-file"), b"").unwrap();
    let scenario = repo().join("scenarios/celebrity-spike.toml");
    let args = [
        "run",
        scenario.to_str().unwrap(),
        "--policy",
        "static",
        "--seeds",
        "1..10",
        "--report",
        "a-file/rep",
    ];
    let started = std::time::Instant::now();
    expect_usage_error(&args, p, &["a-file/rep"]);
    // Seconds, not the minute ten simulated weeks take.
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
}

#[test]
fn durations_on_the_command_line_obey_the_file_rules() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = repo().join("scenarios/steady.toml");
    for command in ["sim", "run"] {
        let mut args = vec![command, scenario.to_str().unwrap(), "--duration", "400d"];
        if command == "sim" {
            args.extend(["--out", "o"]);
        } else {
            args.extend(["--policy", "static"]);
        }
        expect_usage_error(&args, dir.path(), &["`duration`", "366 days"]);
    }
}

#[test]
fn export_training_keeps_the_old_csv_when_a_scenario_is_bad() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::write(p.join("train.csv"), "old\n").unwrap();
    std::fs::write(p.join("bad.toml"), "name = 3\n").unwrap();
    let good = repo().join("scenarios/steady.toml");
    let args = [
        "export-training",
        good.to_str().unwrap(),
        "bad.toml",
        "--duration",
        "2h",
        "--out",
        "train.csv",
    ];
    expect_usage_error(&args, p, &["bad.toml"]);
    assert_eq!(read(p, "train.csv"), "old\n");
}

/// A scenario of a billion sessions a day for a year says what it is about
/// to cost before it writes anything much (the test stops it there).
#[test]
fn a_large_simulation_prints_its_estimate_first() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let steady = std::fs::read_to_string(repo().join("scenarios/steady.toml")).unwrap();
    let huge = replace_key(&steady, "duration", "duration = \"366d\"");
    let huge = replace_key(&huge, "sessions_per_day", "sessions_per_day = 1e9");
    std::fs::write(p.join("huge.toml"), huge).unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_pricestream"))
        .args(["sim", "huge.toml", "--out", "o"])
        .current_dir(p)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        first.contains("M events") && first.contains("GB"),
        "{first}"
    );
}

/// `key = …` lines of a TOML text replaced by `line`.
fn replace_key(text: &str, key: &str, line: &str) -> String {
    text.lines()
        .map(|l| {
            if l.trim_start().starts_with(key) {
                line
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}
