//! `pricestream sim --out DIR`: the simulated stream as files that
//! `pricestream replay` reads (the offline path, with static prices).

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use pipeline::Millis;
use pipeline::adapters::files::{read_catalog_items, write_ndjson};
use pipeline::time::serialize_rfc3339;
use serde::Serialize;

use crate::engine::{RecordSink, Simulator};
use crate::faults::FaultCounts;
use crate::scenario::{Scenario, ScenarioError};
use crate::shop::Shop;
use crate::stats::SimStats;

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("{0}")]
    Scenario(#[from] ScenarioError),
    #[error("{0}")]
    Catalog(#[from] pipeline::adapters::files::FileError),
    #[error("writing {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
}

impl SimError {
    /// 2 when the scenario or its catalog is at fault, 1 for output errors.
    pub fn exit_code(&self) -> i32 {
        match self {
            SimError::Scenario(_) | SimError::Catalog(_) => 2,
            SimError::Write { .. } => 1,
        }
    }
}

/// A trend burst, as run.
#[derive(Clone, Debug, Serialize)]
pub struct TrendMark {
    pub label: String,
    #[serde(serialize_with = "serialize_rfc3339")]
    pub at: Millis,
    pub target: String,
    pub sessions: u64,
}

/// `summary.json` of a simulation run.
#[derive(Clone, Debug, Serialize)]
pub struct SimSummary {
    pub scenario: String,
    pub seed: u64,
    #[serde(serialize_with = "serialize_rfc3339")]
    pub start: Millis,
    #[serde(serialize_with = "serialize_rfc3339")]
    pub end: Millis,
    pub partitions: u32,
    pub products: usize,
    pub stats: SimStats,
    /// Injected faults by the dead-letter reason they should produce.
    pub faults: FaultCounts,
    pub trends: Vec<TrendMark>,
    pub oracle_records: usize,
}

/// The most products a simulated shop holds (generated or from a file).
pub const MAX_PRODUCTS: usize = 100_000;

/// Loads a scenario (and its catalog file, if any) and builds the simulator.
pub fn prepare(
    path: &Path,
    seed: Option<u64>,
    duration: Option<Millis>,
) -> Result<(Simulator, Shop), SimError> {
    let mut sc = Scenario::load(path)?;
    if let Some(seed) = seed {
        sc.seed = seed;
    }
    let invalid = |key: &str, message: String| ScenarioError {
        file: path.to_path_buf(),
        key: key.into(),
        message,
    };
    if let Some(d) = duration {
        sc.duration.0 = d;
        sc.check_duration()
            .map_err(|(key, message)| invalid(&key, format!("{message} (with --duration)")))?;
    }
    let shop = match &sc.catalog.file {
        Some(file) => {
            let items = read_catalog_items(file)?;
            if items.len() > MAX_PRODUCTS {
                return Err(invalid(
                    "catalog.file",
                    format!(
                        "{} has {} products; at most {MAX_PRODUCTS}",
                        file.display(),
                        items.len()
                    ),
                )
                .into());
            }
            Some(Shop::new(items, sc.catalog.zipf_exponent))
        }
        None => None,
    };
    Simulator::new(sc, shop).map_err(|mut e| {
        e.file = path.to_path_buf();
        e.into()
    })
}

struct PartitionFiles {
    writers: Vec<BufWriter<File>>,
    paths: Vec<PathBuf>,
    error: Option<(PathBuf, io::Error)>,
}

impl RecordSink for PartitionFiles {
    fn record(&mut self, partition: u32, _at: Millis, bytes: &[u8]) {
        if self.error.is_some() {
            return;
        }
        let w = &mut self.writers[partition as usize];
        if let Err(e) = w.write_all(bytes).and_then(|()| w.write_all(b"\n")) {
            self.error = Some((self.paths[partition as usize].clone(), e));
        }
    }
}

fn create(path: PathBuf) -> Result<(BufWriter<File>, PathBuf), SimError> {
    File::create(&path)
        .map(|f| (BufWriter::new(f), path.clone()))
        .map_err(|source| SimError::Write { path, source })
}

/// Runs the whole scenario with static prices and writes `events-K.ndjson`
/// (one per partition), `orders.ndjson`, `catalog.csv` (as at the start),
/// `oracle.ndjson` and `summary.json` into `dir`.
pub fn write_run(mut sim: Simulator, mut shop: Shop, dir: &Path) -> Result<SimSummary, SimError> {
    let werr = |path: &Path| {
        let path = path.to_path_buf();
        move |source| SimError::Write { path, source }
    };
    std::fs::create_dir_all(dir).map_err(werr(dir))?;
    let catalog_path = dir.join("catalog.csv");
    let mut csv = csv::Writer::from_path(&catalog_path).map_err(|e| SimError::Write {
        path: catalog_path.clone(),
        source: e.into(),
    })?;
    for item in shop.items() {
        csv.serialize(item).map_err(|e| SimError::Write {
            path: catalog_path.clone(),
            source: e.into(),
        })?;
    }
    csv.flush().map_err(werr(&catalog_path))?;
    let mut files = PartitionFiles {
        writers: Vec::new(),
        paths: Vec::new(),
        error: None,
    };
    for k in 0..sim.scenario().partitions {
        let (w, p) = create(dir.join(format!("events-{k}.ndjson")))?;
        files.writers.push(w);
        files.paths.push(p);
    }
    sim.finish(&mut shop, &mut files);
    if let Some((path, source)) = files.error.take() {
        return Err(SimError::Write { path, source });
    }
    for (w, p) in files.writers.iter_mut().zip(&files.paths) {
        w.flush().map_err(werr(p))?;
    }
    let (mut orders, orders_path) = create(dir.join("orders.ndjson"))?;
    for o in shop.orders() {
        write_ndjson(&mut orders, o).map_err(werr(&orders_path))?;
    }
    orders.flush().map_err(werr(&orders_path))?;
    let oracle = sim.take_oracle(&shop);
    let (mut ow, oracle_path) = create(dir.join("oracle.ndjson"))?;
    for r in &oracle {
        write_ndjson(&mut ow, r).map_err(werr(&oracle_path))?;
    }
    ow.flush().map_err(werr(&oracle_path))?;
    let summary = summarize(&sim, &shop, oracle.len());
    let summary_path = dir.join("summary.json");
    let json = serde_json::to_string_pretty(&summary).unwrap_or_default() + "\n";
    std::fs::write(&summary_path, json).map_err(werr(&summary_path))?;
    Ok(summary)
}

/// The run's summary.
pub fn summarize(sim: &Simulator, shop: &Shop, oracle_records: usize) -> SimSummary {
    let sc = sim.scenario();
    SimSummary {
        scenario: sc.name.clone(),
        seed: sc.seed,
        start: sim.start(),
        end: sim.end(),
        partitions: sc.partitions,
        products: shop.len(),
        stats: sim.stats().clone(),
        faults: *sim.fault_counts(),
        trends: sc
            .trend
            .iter()
            .zip(&sim.stats().sessions_trend)
            .map(|(t, &sessions)| TrendMark {
                label: t.label.clone(),
                at: sim.start() + t.at.0,
                target: t
                    .product
                    .clone()
                    .or_else(|| t.brand.clone())
                    .unwrap_or_default(),
                sessions,
            })
            .collect(),
        oracle_records,
    }
}
