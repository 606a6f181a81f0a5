//! `pricestream replay`: the core over NDJSON event files.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use pipeline::drivers::replay::{ReplayError, ReplayInput, ReplayOptions, replay};

use super::args::PipelineFlags;
use super::error::{CliError, CliResult};
use super::output::{self, Sink};

#[derive(Args)]
pub struct ReplayArgs {
    /// Event files, one JSON click event per line; each file is one partition.
    #[arg(required = true, value_name = "EVENTS")]
    events: Vec<PathBuf>,
    /// Catalog file (.csv, .json array, .ndjson).
    #[arg(long, value_name = "FILE")]
    catalog: PathBuf,
    /// Orders file (.csv, .json array, .ndjson).
    #[arg(long, value_name = "FILE")]
    orders: Option<PathBuf>,
    /// Apply the price changes of an audit log (NDJSON) as the service did:
    /// each from the window after the one it was decided on.
    #[arg(long, value_name = "FILE")]
    prices: Option<PathBuf>,
    /// Write features.ndjson, dead_letters.ndjson and stats.json into DIR.
    #[arg(long, value_name = "DIR", required_unless_present_all = ["features", "dead_letters"])]
    out: Option<PathBuf>,
    /// Feature records file (`-` for stdout); overrides --out.
    #[arg(long, value_name = "FILE")]
    features: Option<PathBuf>,
    /// Dead letters file (`-` for stdout); overrides --out.
    #[arg(long, value_name = "FILE")]
    dead_letters: Option<PathBuf>,
    /// Stats as JSON; overrides --out.
    #[arg(long, value_name = "FILE")]
    stats_json: Option<PathBuf>,
    #[command(flatten)]
    pipeline: PipelineFlags,
    /// Records per call into the core.
    #[arg(long, value_name = "N", default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..))]
    batch: u32,
    /// Do not print the stats summary on stderr.
    #[arg(long, short)]
    quiet: bool,
}

impl ReplayArgs {
    /// `explicit`, else `name` inside --out.
    fn path(&self, explicit: &Option<PathBuf>, name: &str) -> Option<PathBuf> {
        explicit
            .clone()
            .or_else(|| self.out.as_ref().map(|dir| dir.join(name)))
    }
}

pub fn run(args: ReplayArgs) -> CliResult {
    let config = args.pipeline.config()?;
    if let Some(dir) = &args.out {
        output::ensure_dir(dir)?;
    }
    let (Some(features_path), Some(dead_letters_path)) = (
        args.path(&args.features, "features.ndjson"),
        args.path(&args.dead_letters, "dead_letters.ndjson"),
    ) else {
        return Err(CliError::input(
            "give --out DIR, or both --features and --dead-letters",
        ));
    };
    // Outputs are temporary files until the replay succeeds: a bad input
    // path leaves the previous results in place.
    let mut features = Sink::create(&features_path)?;
    let mut dead_letters = Sink::create(&dead_letters_path)?;
    let stats_path = args.path(&args.stats_json, "stats.json");
    let mut stats = stats_path.as_deref().map(Sink::create).transpose()?;
    let input = ReplayInput {
        events: args.events.clone(),
        catalog: args.catalog.clone(),
        orders: args.orders.clone(),
    };
    let prices = match &args.prices {
        Some(path) => {
            pipeline::adapters::files::load_price_changes(path).map_err(CliError::input)?
        }
        None => Vec::new(),
    };
    let options = ReplayOptions {
        config,
        batch_size: args.batch as usize,
        prices,
    };
    let summary =
        replay(&input, &options, &mut features, &mut dead_letters).map_err(|e| match e {
            ReplayError::Output { source, .. } => CliError::output(source),
            e => CliError::with_code(e.exit_code(), e),
        })?;
    features.commit()?;
    dead_letters.commit()?;
    if let Some(mut out) = stats.take() {
        let json = serde_json::to_string_pretty(&summary).unwrap_or_default() + "\n";
        out.write_all(json.as_bytes()).map_err(CliError::output)?;
        out.commit()?;
    }
    if !args.quiet {
        eprint!("{}", summary.stats.summary());
        if summary.blank_lines > 0 {
            eprintln!("blank lines     {:>10} (skipped)", summary.blank_lines);
        }
        if let Some(dir) = &args.out {
            eprintln!("outputs in {}", dir.display());
        }
    }
    Ok(())
}
