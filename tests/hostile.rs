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
