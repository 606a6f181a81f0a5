//! What the `serve` tests share: moto with the scenario produced into it,
//! the binary, and the service's final state as comparable values.
#![allow(dead_code)] // each test file uses its own part

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use service::aws::{Aws, scan_all};
use service::consumer::{Consumer, Positions, Start};
use testkit::moto::Moto;

pub const BIN: &str = env!("CARGO_BIN_EXE_pricestream");

/// The tests share one emulator and reset it: one at a time.
pub static EMULATOR: std::sync::Mutex<()> = std::sync::Mutex::new(());

pub fn config_text(endpoint: &str) -> String {
    format!(
        r#"
[aws]
endpoint_url = "{endpoint}"

[stream]
name = "serve-test"
shards = 4
poll_interval = "200ms"
# The default max_records (10 000): one read takes a shard's whole backlog,
# and alignment alone keeps lateness what it is in live traffic.
lease_duration = "3s"
checkpoint_interval = "1s"

[pipeline]
window = "10m"
out_of_orderness = "5s"

[model]
backend = "onnx"
path = "model/pricing.onnx"

[guardrails]
cooldown = "10m"

[pricer]
poll_interval = "50ms"
settle_timeout = "20s"

[metrics]
address = "127.0.0.1:0"
"#
    )
}

pub fn pricestream(args: &[&str]) -> String {
    let out = Command::new(BIN).args(args).output().expect("runs");
    assert!(
        out.status.success(),
        "pricestream {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The tables' contents that make up the service's final state.
#[derive(Debug, PartialEq)]
pub struct State {
    /// Feature records as the replay writes them, sorted.
    pub features: Vec<String>,
    /// (product, price, price_version, last_window).
    pub catalog: Vec<(String, String, String, String)>,
    pub audit: Vec<String>,
    /// (reason, bytes) of every dead letter, sorted.
    pub dead_letters: Vec<(String, Vec<u8>)>,
}

pub fn state(aws: &Aws, config: &service::Config) -> State {
    let t = &config.tables;
    let mut features: Vec<String> = scan_all(aws, &t.features)
        .unwrap()
        .iter()
        .map(|i| {
            serde_json::to_string(
                &<pipeline::FeatureRecord as service::items::Codec>::from_item(i).unwrap(),
            )
            .unwrap()
        })
        .collect();
    features.sort();
    let s = |i: &service::aws::Item, k: &str| {
        let v = &i[k];
        v.as_s().or_else(|_| v.as_n()).cloned().unwrap_or_default()
    };
    let mut catalog: Vec<_> = scan_all(aws, &t.catalog)
        .unwrap()
        .iter()
        .map(|i| {
            (
                s(i, "product_id"),
                s(i, "current_price"),
                s(i, "price_version"),
                s(i, "last_window"),
            )
        })
        .collect();
    catalog.sort();
    let mut dead_letters: Vec<_> = service::dlq::list(aws, &t.dead_letters, None)
        .unwrap()
        .into_iter()
        .map(|d| (d.reason.as_str().to_string(), d.bytes))
        .collect();
    dead_letters.sort();
    State {
        features,
        catalog,
        audit: service::pricing::list_audit(aws, &t.audit).unwrap(),
        dead_letters,
    }
}

/// A fresh emulator state with the scenario produced into it.
pub fn prepare(moto: &Moto, dir: &Path, cfg: &Path) {
    moto.reset();
    let cfg = cfg.to_str().unwrap();
    let catalog = dir.join("sim/catalog.csv");
    pricestream(&[
        "aws",
        "init",
        "--config",
        cfg,
        "--catalog",
        catalog.to_str().unwrap(),
    ]);
    pricestream(&["produce", "tests/data/serve.toml", "--config", cfg]);
}

/// Every record on the stream, one NDJSON file per shard (what serve read).
pub fn dump_stream(aws: &Aws, dir: &Path) -> Vec<PathBuf> {
    let mut c = Consumer::new("serve-test", Start::TrimHorizon, 10_000, Duration::ZERO);
    c.refresh(aws, &Positions::new()).unwrap();
    let mut by_shard: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for _ in 0..10 {
        for b in c.poll(aws, &Positions::new()).unwrap() {
            let file = by_shard.entry(b.shard_id).or_default();
            for r in b.records {
                file.extend_from_slice(&r.data);
                file.push(b'\n');
            }
        }
    }
    by_shard
        .into_iter()
        .map(|(shard, bytes)| {
            let path = dir.join(format!("{shard}.ndjson"));
            std::fs::write(&path, bytes).unwrap();
            path
        })
        .collect()
}

pub fn get(address: &str, path: &str) -> String {
    let mut s = std::net::TcpStream::connect(address).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

/// The emulator, a working directory with the service config, and the
/// scenario simulated into `DIR/sim` (its catalog, orders and fault counts).
pub fn setup() -> (Moto, tempfile::TempDir, PathBuf) {
    let moto = Moto::start();
    moto.test_environment();
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("pricestream.toml");
    std::fs::write(&cfg, config_text(&moto.url)).unwrap();
    let sim = dir.path().join("sim");
    pricestream(&[
        "sim",
        "tests/data/serve.toml",
        "--out",
        sim.to_str().unwrap(),
        "--quiet",
    ]);
    (moto, dir, cfg)
}

/// Starts `pricestream serve` with `args`, its log (stderr) in `log`.
pub fn spawn_serve(
    cfg: &Path,
    args: &[&str],
    env: &[(&str, &str)],
    log: &Path,
) -> std::process::Child {
    let log = std::fs::File::create(log).unwrap();
    Command::new(BIN)
        .args(["serve", "--config", cfg.to_str().unwrap()])
        .args(args)
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::piped())
        .stderr(log)
        .spawn()
        .unwrap()
}

/// The JSON report a `serve --drain` prints, once it exits 0.
pub fn report_of(child: std::process::Child, log: &Path) -> serde_json::Value {
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "serve failed ({}):\n{}",
        out.status,
        std::fs::read_to_string(log).unwrap_or_default()
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Waits until the features table holds at least `n` records.
pub fn wait_for_features(aws: &Aws, config: &service::Config, n: usize) {
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        let written = scan_all(aws, &config.tables.features).unwrap().len();
        if written >= n {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "serve wrote {written} feature records, not {n}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Waits until `log` contains `text`.
pub fn wait_for_log(log: &Path, text: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !std::fs::read_to_string(log)
        .unwrap_or_default()
        .contains(text)
    {
        assert!(
            std::time::Instant::now() < deadline,
            "{} never said {text:?}",
            log.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub fn signal(child: &std::process::Child, sig: &str) {
    Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap();
}

/// Fails with what differs (counts, and the first difference of each part).
pub fn assert_same_state(what: &str, got: &State, want: &State) {
    fn diff<T: PartialEq + std::fmt::Debug>(part: &str, got: &[T], want: &[T]) -> Option<String> {
        if got == want {
            return None;
        }
        let missing = want.iter().find(|w| !got.contains(w));
        let extra = got.iter().find(|g| !want.contains(g));
        Some(format!(
            "{part}: {} rows vs {} uninterrupted; first missing {missing:?}; first extra {extra:?}",
            got.len(),
            want.len()
        ))
    }
    let problems: Vec<String> = [
        diff("features", &got.features, &want.features),
        diff("catalog", &got.catalog, &want.catalog),
        diff("audit", &got.audit, &want.audit),
        diff("dead letters", &got.dead_letters, &want.dead_letters),
    ]
    .into_iter()
    .flatten()
    .collect();
    if !problems.is_empty() {
        // Both sides on disk, to diff.
        let keep = std::env::temp_dir().join("pricestream-state-diff");
        std::fs::create_dir_all(&keep).unwrap();
        std::fs::write(keep.join("got-features.ndjson"), got.features.join("\n")).unwrap();
        std::fs::write(keep.join("want-features.ndjson"), want.features.join("\n")).unwrap();
        std::fs::write(keep.join("got-audit.ndjson"), got.audit.join("\n")).unwrap();
        std::fs::write(keep.join("want-audit.ndjson"), want.audit.join("\n")).unwrap();
        panic!(
            "{what} (both in {}):\n{}",
            keep.display(),
            problems.join("\n")
        );
    }
}
