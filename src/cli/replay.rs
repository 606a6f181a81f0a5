//! `pricestream replay`: the core over NDJSON event files.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use clap::Args;
use pipeline::drivers::replay::{ReplayError, ReplayInput, ReplayOptions, replay};

use super::args::PipelineFlags;
use super::error::{CliError, CliResult};

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

fn create(path: &Path) -> Result<Box<dyn Write>, CliError> {
    if path == Path::new("-") {
        return Ok(Box::new(BufWriter::new(io::stdout().lock())));
    }
    File::create(path)
        .map(|f| Box::new(BufWriter::new(f)) as Box<dyn Write>)
        .map_err(|e| CliError::input(format!("cannot create {}: {e}", path.display())))
}

pub fn run(args: ReplayArgs) -> CliResult {
    let config = args.pipeline.config()?;
    if let Some(dir) = &args.out {
        std::fs::create_dir_all(dir)
            .map_err(|e| CliError::input(format!("cannot create {}: {e}", dir.display())))?;
    }
    let (Some(features_path), Some(dead_letters_path)) = (
        args.path(&args.features, "features.ndjson"),
        args.path(&args.dead_letters, "dead_letters.ndjson"),
    ) else {
        return Err(CliError::input(
            "give --out DIR, or both --features and --dead-letters",
        ));
    };
    let mut features = create(&features_path)?;
    let mut dead_letters = create(&dead_letters_path)?;
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
    features
        .flush()
        .and_then(|()| dead_letters.flush())
        .map_err(CliError::output)?;
    if let Some(path) = args.path(&args.stats_json, "stats.json") {
        let json = serde_json::to_string_pretty(&summary).unwrap_or_default() + "\n";
        std::fs::write(&path, json)
            .map_err(|e| CliError::runtime(format!("cannot write {}: {e}", path.display())))?;
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
