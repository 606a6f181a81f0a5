//! Golden files: each folder under tests/golden/ holds hand-written inputs
//! (event files, a catalog, maybe orders, `case.json` settings) and the
//! expected outputs of `replay`, byte for byte. `UPDATE_GOLDEN=1 cargo test`
//! rewrites the expectations; review the diff before committing it.

use std::path::{Path, PathBuf};

use pipeline::PipelineConfig;
use pipeline::drivers::replay::{ReplayInput, ReplayOptions, replay};
use serde::Deserialize;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Case {
    window_s: Option<i64>,
    hop_s: Option<i64>,
    out_of_orderness_s: Option<i64>,
    lateness_s: Option<i64>,
    idle_timeout_s: Option<i64>,
    max_record_bytes: Option<usize>,
    batch: Option<usize>,
}

fn options(case: &Case) -> ReplayOptions {
    let d = PipelineConfig::default();
    let s = |v: Option<i64>, default| v.map_or(default, |v| v * 1_000);
    ReplayOptions {
        config: PipelineConfig {
            window: s(case.window_s, d.window),
            hop: case.hop_s.map(|h| h * 1_000),
            out_of_orderness: s(case.out_of_orderness_s, d.out_of_orderness),
            allowed_lateness: s(case.lateness_s, d.allowed_lateness),
            idle_timeout: s(case.idle_timeout_s, d.idle_timeout),
            max_record_bytes: case.max_record_bytes.unwrap_or(d.max_record_bytes),
            ..d
        },
        batch_size: case.batch.unwrap_or(500),
        prices: Vec::new(),
    }
}

fn find(dir: &Path, stem: &str) -> Option<PathBuf> {
    ["csv", "json", "ndjson"]
        .iter()
        .map(|ext| dir.join(format!("{stem}.{ext}")))
        .find(|p| p.exists())
}

/// Replays a case's inputs (with `batch` records per call if given).
fn replay_case(
    dir: &Path,
    batch: Option<usize>,
) -> (Vec<u8>, Vec<u8>, pipeline::drivers::replay::ReplaySummary) {
    let case: Case = std::fs::read_to_string(dir.join("case.json"))
        .map(|s| serde_json::from_str(&s).expect("case.json"))
        .unwrap_or_default();
    let mut events: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "ndjson"))
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            !["catalog", "orders", "expected-"]
                .iter()
                .any(|x| name.starts_with(x))
        })
        .collect();
    events.sort();
    let input = ReplayInput {
        events,
        catalog: find(dir, "catalog").expect("a catalog file"),
        orders: find(dir, "orders"),
    };
    let mut options = options(&case);
    if let Some(b) = batch {
        options.batch_size = b;
    }
    let (mut features, mut dead) = (Vec::new(), Vec::new());
    let summary = replay(&input, &options, &mut features, &mut dead).expect("replay");
    (features, dead, summary)
}

fn run_case(dir: &Path) -> Vec<String> {
    let (features, dead, mut summary) = replay_case(dir, None);
    assert!(summary.stats.balanced());
    // Allocation sizes are not part of the contract.
    summary.stats.dedup.memory_bytes = 0;
    let prefix = format!("{}/", dir.display());
    let stats = serde_json::to_string_pretty(&summary).unwrap() + "\n";
    let mut failures = Vec::new();
    for (name, bytes) in [
        ("expected-features.ndjson", features),
        ("expected-dead-letters.ndjson", dead),
        ("expected-stats.json", stats.into_bytes()),
    ] {
        let actual = String::from_utf8(bytes).unwrap().replace(&prefix, "");
        let path = dir.join(name);
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(&path, &actual).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&path).unwrap_or_default();
        if expected != actual {
            failures.push(format!(
                "{}: output differs\n--- expected\n{expected}\n--- actual\n{actual}",
                path.display()
            ));
        }
    }
    failures
}

#[test]
fn replay_matches_the_golden_files() {
    let cases = cases();
    assert!(cases.len() >= 4);
    let failures: Vec<String> = cases.iter().flat_map(|c| run_case(c)).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

fn cases() -> Vec<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    cases
}

/// Features and dead letters, details included, are the same whether the
/// core gets one record per call or hundreds.
#[test]
fn outputs_do_not_depend_on_the_batch_size() {
    for case in cases() {
        let (f1, d1, _) = replay_case(&case, Some(1));
        let (f500, d500, _) = replay_case(&case, Some(500));
        assert_eq!(
            String::from_utf8_lossy(&f1),
            String::from_utf8_lossy(&f500),
            "{}",
            case.display()
        );
        assert_eq!(
            String::from_utf8_lossy(&d1),
            String::from_utf8_lossy(&d500),
            "{}",
            case.display()
        );
    }
}
