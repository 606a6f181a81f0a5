//! What the command-line tests share: the binary, the shipped sample in a
//! temp dir, and the usage-error check.
#![allow(dead_code)] // each test file uses its own part

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn pricestream(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pricestream"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the binary runs")
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A temp dir holding the shipped sample, so paths in the outputs are short.
pub fn sample_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for f in [
        "catalog.csv",
        "orders.ndjson",
        "events-0.ndjson",
        "events-1.ndjson",
    ] {
        std::fs::copy(repo().join("scenarios/sample").join(f), dir.path().join(f)).unwrap();
    }
    dir
}

pub const SAMPLE: [&str; 6] = [
    "replay",
    "--catalog",
    "catalog.csv",
    "--orders",
    "orders.ndjson",
    "events-0.ndjson",
];

pub fn expect_usage_error(args: &[&str], dir: &Path, needles: &[&str]) {
    let o = pricestream(args, dir);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
    for n in needles {
        assert!(
            stderr(&o).contains(n),
            "{args:?}: {:?} not in {}",
            n,
            stderr(&o)
        );
    }
}
