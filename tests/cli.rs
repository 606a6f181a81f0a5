//! The `pricestream` command line: outputs, exit codes and error messages.

mod common;

use common::*;
use std::process::Command;

#[test]
fn replay_writes_features_dead_letters_and_stats() {
    let dir = sample_dir();
    let o = pricestream(
        &[&SAMPLE[..], &["events-1.ndjson", "--out", "out"]].concat(),
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let out = dir.path().join("out");
    let stats: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("stats.json")).unwrap()).unwrap();
    let lines = |f: &str| {
        std::fs::read_to_string(out.join(f))
            .unwrap()
            .lines()
            .count() as u64
    };
    let events = ["events-0.ndjson", "events-1.ndjson"]
        .iter()
        .map(|f| {
            std::fs::read_to_string(dir.path().join(f))
                .unwrap()
                .lines()
                .count() as u64
        })
        .sum::<u64>();
    assert_eq!(stats["received"], events);
    assert_eq!(stats["dead_lettered"], lines("dead_letters.ndjson"));
    assert_eq!(stats["feature_records"], lines("features.ndjson"));
    assert_eq!(
        stats["received"].as_u64(),
        Some(stats["accepted"].as_u64().unwrap() + stats["dead_lettered"].as_u64().unwrap())
    );
    for reason in [
        "malformed_json",
        "missing_field",
        "bad_value",
        "event_time_out_of_range",
        "unknown_product",
        "late",
        "duplicate",
    ] {
        assert!(
            stats["dead_letters"][reason].as_u64() >= Some(1),
            "{reason}"
        );
    }
    assert!(stderr(&o).contains("feature records"));
}

#[test]
fn replay_is_deterministic_and_can_write_to_stdout() {
    let dir = sample_dir();
    let run = || {
        let o = pricestream(
            &[
                &SAMPLE[..],
                &["--features", "-", "--dead-letters", "dl.ndjson", "-q"],
            ]
            .concat(),
            dir.path(),
        );
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(o.stderr.is_empty(), "--quiet");
        o.stdout
    };
    let first = run();
    assert!(first.len() > 1000);
    assert_eq!(first, run());
}

#[test]
fn bad_flag_values_name_the_flag() {
    let dir = sample_dir();
    let p = dir.path();
    expect_usage_error(
        &[&SAMPLE[..], &["--out", "o", "--window", "2h"]].concat(),
        p,
        &["--window", "1h"],
    );
    expect_usage_error(
        &[&SAMPLE[..], &["--out", "o", "--window", "100"]].concat(),
        p,
        &["--window", "100s"],
    );
    expect_usage_error(
        &[&SAMPLE[..], &["--out", "o", "--hop", "200s"]].concat(),
        p,
        &["--hop"],
    );
    expect_usage_error(
        &[&SAMPLE[..], &["--out", "o", "--batch", "0"]].concat(),
        p,
        &["--batch"],
    );
    expect_usage_error(&SAMPLE, p, &["--out"]);
}

#[test]
fn missing_files_are_named() {
    let dir = sample_dir();
    let p = dir.path();
    expect_usage_error(
        &[&SAMPLE[..], &["nope.ndjson", "--out", "o"]].concat(),
        p,
        &["nope.ndjson", "cannot open"],
    );
    let args = [
        "replay",
        "--catalog",
        "missing.csv",
        "events-0.ndjson",
        "--out",
        "o",
    ];
    expect_usage_error(&args, p, &["missing.csv"]);
}

#[test]
fn malformed_reference_rows_name_the_file_and_line() {
    let dir = sample_dir();
    let p = dir.path();
    let catalog = std::fs::read_to_string(p.join("catalog.csv")).unwrap();
    let mut lines: Vec<String> = catalog.lines().map(String::from).collect();
    let mut fields: Vec<&str> = lines[3].split(',').collect();
    fields[4] = "cheap";
    lines[3] = fields.join(",");
    std::fs::write(p.join("bad.csv"), lines.join("\n")).unwrap();
    let args = [
        "replay",
        "--catalog",
        "bad.csv",
        "events-0.ndjson",
        "--out",
        "o",
    ];
    expect_usage_error(&args, p, &["bad.csv:4:", "column `base_price`"]);
    std::fs::write(
        p.join("short.csv"),
        catalog.replacen(",117,0,0", ",117,0", 1),
    )
    .unwrap();
    let args = [
        "replay",
        "--catalog",
        "short.csv",
        "events-0.ndjson",
        "--out",
        "o",
    ];
    expect_usage_error(&args, p, &["short.csv:2:", "fields"]);

    std::fs::write(p.join("neg.csv"), catalog.replacen(",117,", ",-1,", 1)).unwrap();
    let args = [
        "replay",
        "--catalog",
        "neg.csv",
        "events-0.ndjson",
        "--out",
        "o",
    ];
    expect_usage_error(&args, p, &["neg.csv:2:", "`inventory` must be >= 0"]);

    let extra: String = catalog.lines().map(|l| format!("{l},red\n")).collect();
    std::fs::write(p.join("extra.csv"), extra.replacen(",red", ",colour", 1)).unwrap();
    let args = [
        "replay",
        "--catalog",
        "extra.csv",
        "events-0.ndjson",
        "--out",
        "o",
    ];
    expect_usage_error(&args, p, &["extra.csv:", "colour"]);

    let orders = std::fs::read_to_string(p.join("orders.ndjson")).unwrap();
    let mut lines: Vec<&str> = orders.lines().collect();
    lines[1] = r#"{"order_id":"x","product_id":"p","quantity":0,"unit_price":1,"order_time":1}"#;
    std::fs::write(p.join("bad-orders.ndjson"), lines.join("\n")).unwrap();
    let args = [
        "replay",
        "--catalog",
        "catalog.csv",
        "--orders",
        "bad-orders.ndjson",
        "events-0.ndjson",
        "--out",
        "o",
    ];
    expect_usage_error(&args, p, &["bad-orders.ndjson:2:", "quantity"]);
}

/// `pricestream sim` of half a day of the bad-input scenario into `sim/`.
fn simulated_half_day() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let scenario = repo().join("scenarios/bad-input.toml");
    let args = [
        "sim",
        scenario.to_str().unwrap(),
        "--out",
        "sim",
        "--duration",
        "12h",
        "-q",
    ];
    let o = pricestream(&args, dir.path());
    assert!(o.status.success(), "{}", stderr(&o));
    dir
}

#[test]
fn sim_writes_files_that_replay_reads() {
    let dir = simulated_half_day();
    let p = dir.path();
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p.join("sim/summary.json")).unwrap())
            .unwrap();
    let events: Vec<String> = (0..4).map(|k| format!("sim/events-{k}.ndjson")).collect();
    let mut args = vec![
        "replay",
        "--catalog",
        "sim/catalog.csv",
        "--orders",
        "sim/orders.ndjson",
        "--out",
        "out",
        "-q",
    ];
    args.extend(events.iter().map(String::as_str));
    let o = pricestream(&args, p);
    assert!(o.status.success(), "{}", stderr(&o));
    let stats: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p.join("out/stats.json")).unwrap()).unwrap();
    assert_eq!(stats["received"], summary["stats"]["records"]);
    for (reason, n) in summary["faults"].as_object().unwrap() {
        assert_eq!(&stats["dead_letters"][reason], n, "{reason}");
    }
}

#[test]
fn sim_errors_name_the_scenario_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::write(p.join("s.toml"), "name = \"x\"\nstart = \"2026-11-23T00:00:00Z\"\nduration = \"1d\"\n[traffic]\nsessions = 3\n").unwrap();
    expect_usage_error(
        &["sim", "s.toml", "--out", "o"],
        p,
        &["s.toml", "unknown field `sessions`", "sessions_per_day"],
    );
    expect_usage_error(&["sim", "missing.toml", "--out", "o"], p, &["missing.toml"]);
    let scenario = repo().join("scenarios/steady.toml");
    expect_usage_error(
        &[
            "sim",
            scenario.to_str().unwrap(),
            "--out",
            "o",
            "--duration",
            "x",
        ],
        p,
        &["--duration"],
    );
}

#[test]
fn run_compares_policies_and_writes_a_report() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let scenario = repo().join("scenarios/celebrity-spike.toml");
    let model = repo().join("model/pricing.onnx");
    let o = pricestream(
        &[
            "run",
            scenario.to_str().unwrap(),
            "--model",
            model.to_str().unwrap(),
            "--compare",
            "model,static,static@0.9",
            "--seeds",
            "1,2",
            "--duration",
            "6h",
            "--report",
            "rep",
            "-q",
            "--threads",
            "2",
        ],
        p,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let table = String::from_utf8_lossy(&o.stdout);
    for policy in ["model", "static", "static@0.9"] {
        assert!(
            table.lines().any(|l| l.starts_with(policy)),
            "{policy} in {table}"
        );
    }
    for f in [
        "summary.json",
        "prices.csv",
        "audit.ndjson",
        "dead_letters.ndjson",
        "report.html",
    ] {
        assert!(p.join("rep").join(f).exists(), "{f}");
    }
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p.join("rep/summary.json")).unwrap())
            .unwrap();
    assert_eq!(summary["runs"].as_array().unwrap().len(), 6);
    assert!(
        std::fs::read_to_string(p.join("rep/report.html"))
            .unwrap()
            .contains("<svg")
    );
}

#[test]
fn run_reports_a_single_policy_and_refuses_bad_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let scenario = repo().join("scenarios/steady.toml");
    let s = scenario.to_str().unwrap();
    let o = pricestream(
        &["run", s, "--policy", "rules", "--duration", "2h", "-q"],
        p,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("policy rules") && text.contains("guardrail breaches"),
        "{text}"
    );
    expect_usage_error(
        &["run", s, "--policy", "magic"],
        p,
        &["unknown policy \"magic\""],
    );
    expect_usage_error(
        &[
            "run",
            s,
            "--policy",
            "model",
            "--model",
            "nope.onnx",
            "--duration",
            "1h",
        ],
        p,
        &["nope.onnx"],
    );
    expect_usage_error(&["run", s, "--window", "2h"], p, &["window"]);
    expect_usage_error(&["run", s, "--max-ratio", "0.5"], p, &["max-ratio"]);
}

/// The fairness cap holds for the oracle too: during the sighting it prices
/// the trending shoe at the cap, never above it.
#[test]
fn run_max_ratio_caps_every_price_at_that_multiple_of_list() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let scenario = repo().join("scenarios/celebrity-spike.toml");
    let o = pricestream(
        &[
            "run",
            scenario.to_str().unwrap(),
            "--policy",
            "oracle",
            "--max-ratio",
            "1.2",
            "--duration",
            "3d",
            "--report",
            "rep",
            "-q",
        ],
        p,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let audit = std::fs::read_to_string(p.join("rep/audit.ndjson")).unwrap();
    let mut at_cap = 0;
    for line in audit.lines() {
        let a: serde_json::Value = serde_json::from_str(line).unwrap();
        let (floor, ceiling) = (a["floor"].as_f64().unwrap(), a["ceiling"].as_f64().unwrap());
        let price = a["final_price"].as_f64().unwrap();
        // Floor = MAP = 0.8 × list for every generated shoe, so the cap shows as ceiling / floor.
        assert!((ceiling / floor - 1.2 / 0.8).abs() < 0.01, "{line}");
        assert!(price <= ceiling + 1e-9, "{line}");
        if a["product_id"] == "sku-0040" && a["applied"] == true && price >= ceiling - 0.01 {
            at_cap += 1;
        }
    }
    assert!(at_cap > 0, "the oracle takes the trending shoe to the cap");
}

#[test]
fn run_with_a_deployment_config_evaluates_its_pipeline_guardrails_and_model() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    // The documented deployment file, with a rules model, 5-minute windows
    // and a 1.2 × list cap: what `serve` would run.
    let example = std::fs::read_to_string(repo().join("deploy/pricestream.example.toml")).unwrap();
    let (head, tail) = example.split_once("[model]").unwrap();
    let tail = &tail[tail.find("\n[").unwrap()..];
    let deployed = format!("{head}[model]\nbackend = \"rules\"\n{tail}")
        .replace("window = \"100s\"", "window = \"5m\"")
        .replace("max_ratio = 1.5", "max_ratio = 1.2");
    std::fs::write(p.join("deploy.toml"), deployed).unwrap();
    let scenario = repo().join("scenarios/celebrity-spike.toml");
    let o = pricestream(
        &[
            "run",
            scenario.to_str().unwrap(),
            "--config",
            "deploy.toml",
            "--duration",
            "1d",
            "--report",
            "rep",
            "-q",
        ],
        p,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p.join("rep/summary.json")).unwrap())
            .unwrap();
    assert_eq!(
        summary["runs"][0]["model_version"], "rules:v1",
        "the file's model"
    );
    let audit = std::fs::read_to_string(p.join("rep/audit.ndjson")).unwrap();
    assert!(audit.lines().count() > 100);
    for line in audit.lines() {
        let a: serde_json::Value = serde_json::from_str(line).unwrap();
        let (floor, ceiling) = (a["floor"].as_f64().unwrap(), a["ceiling"].as_f64().unwrap());
        assert!(
            (ceiling / floor - 1.2 / 0.8).abs() < 0.01,
            "the file's cap: {line}"
        );
        let end = a["window_end"].as_str().unwrap();
        let (minute, second) = (&end[14..16], &end[17..19]);
        assert!(
            second == "00" && minute.parse::<u32>().unwrap() % 5 == 0,
            "the file's 5-minute windows: {line}"
        );
    }
    // A flag given as well wins over the file.
    let o = pricestream(
        &[
            "run",
            scenario.to_str().unwrap(),
            "--config",
            "deploy.toml",
            "--window",
            "61s",
            "--duration",
            "1h",
            "-q",
        ],
        p,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    // A mistake in the file names the file and the key, exit 2.
    std::fs::write(
        p.join("bad.toml"),
        std::fs::read_to_string(p.join("deploy.toml"))
            .unwrap()
            .replace("max_step = 0.10", "max_step = 3.0"),
    )
    .unwrap();
    expect_usage_error(
        &[
            "run",
            scenario.to_str().unwrap(),
            "--config",
            "bad.toml",
            "-q",
        ],
        p,
        &["bad.toml", "`guardrails.max_step`"],
    );
}

#[test]
fn a_reader_that_stops_early_ends_the_command_quietly() {
    use std::io::Read;
    let dir = simulated_half_day();
    let p = dir.path();
    // Megabytes of feature records to stdout, read by `head -c 4096`.
    let mut child = Command::new(env!("CARGO_BIN_EXE_pricestream"))
        .args([
            "replay",
            "--catalog",
            "sim/catalog.csv",
            "--features",
            "-",
            "--dead-letters",
            "dl.ndjson",
            "-q",
            "sim/events-0.ndjson",
            "sim/events-1.ndjson",
            "sim/events-2.ndjson",
            "sim/events-3.ndjson",
        ])
        .current_dir(p)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut head = [0u8; 4096];
    child.stdout.take().unwrap().read_exact(&mut head).unwrap();
    // The pipe is closed here, long before the replay has written everything.
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(o.stderr.is_empty(), "{}", stderr(&o));
    assert!(
        std::str::from_utf8(&head)
            .unwrap()
            .starts_with("{\"product_id\"")
    );
}

#[test]
fn top_level_help_leads_with_run_and_examples_and_version_names_the_build() {
    let dir = tempfile::tempdir().unwrap();
    let o = pricestream(&["--help"], dir.path());
    let help = String::from_utf8_lossy(&o.stdout);
    let commands: Vec<&str> = help
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take(2)
        .map(|l| l.split_whitespace().next().unwrap_or(""))
        .collect();
    assert_eq!(commands, ["run", "sim"], "{help}");
    assert!(help.contains("Examples:") && help.contains("pricestream run scenarios/"));
    let o = pricestream(&["--version"], dir.path());
    let version = String::from_utf8_lossy(&o.stdout);
    assert!(
        version.contains("(commit ")
            && version.contains("ONNX Runtime: 1.24")
            && version.contains("feature records: version"),
        "{version}"
    );
}

/// The shipped model is found from anywhere, not only from the checkout.
#[test]
fn run_finds_the_shipped_model_from_another_directory() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = repo().join("scenarios/steady.toml");
    let args = [
        "run",
        scenario.to_str().unwrap(),
        "--policy",
        "model",
        "--duration",
        "1h",
        "-q",
    ];
    let o = pricestream(&args, dir.path());
    assert!(o.status.success(), "{}", stderr(&o));
}

/// The report says what was run and shows, per trending product, its charts,
/// and the guardrail and product tables.
#[test]
fn the_report_has_its_header_trend_charts_and_tables() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let scenario = repo().join("scenarios/celebrity-spike.toml");
    let args = [
        "run",
        scenario.to_str().unwrap(),
        "--compare",
        "static-opt,plan",
        "--seeds",
        "1,2",
        "--report",
        "rep",
        "-q",
    ];
    let o = pricestream(&args, p);
    assert!(o.status.success(), "{}", stderr(&o));
    let html = std::fs::read_to_string(p.join("rep/report.html")).unwrap();
    for needle in [
        "<h1>celebrity-spike</h1>",
        "seeds 1, 2",
        "static-opt (static-opt",
        "plan (plan:",
        "generated 20",
        "Trend: ",
        "Guardrail decisions by rule",
        "id=\"product-table\"",
        "sku-0040",
    ] {
        assert!(html.contains(needle), "{needle:?} missing from the report");
    }
    let shoe = html.find("Trend: celebrity wears").unwrap();
    let brand = html.find("Trend: celebrity seen in").unwrap();
    let end = html.find("id=\"guardrails\"").unwrap();
    assert!(
        html[shoe..brand].matches("<svg").count() >= 3,
        "price, stock and demand charts of the trending shoe"
    );
    assert!(
        html[brand..end].matches("<svg").count() >= 3,
        "and of the brand's products together"
    );
    let rows = html.matches("<tr><td>sku-").count();
    assert!(rows >= 2 * 200, "every product under both policies: {rows}");
}
