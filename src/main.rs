//! The `pricestream` command line. Wiring only: the work is in the crates.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::{Args, CommandFactory, Parser, Subcommand};
use pipeline::drivers::replay::{ReplayInput, ReplayOptions, replay};
use pipeline::{Millis, PipelineConfig};

#[derive(Parser)]
#[command(
    name = "pricestream",
    version,
    about = "Real-time, trend-driven dynamic pricing from clickstreams"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the streaming core over NDJSON event files: feature records and dead letters out.
    Replay(Box<ReplayArgs>),
    /// Simulate a scenario with static prices: event files, orders, catalog and oracle out.
    Sim(SimArgs),
    /// Training data: feature records from simulated scenarios, labeled with the oracle's best price ratio.
    ExportTraining(ExportArgs),
}

#[derive(Args)]
struct ExportArgs {
    /// Scenario files (TOML).
    #[arg(required = true)]
    scenarios: Vec<PathBuf>,
    /// Seeds to run each scenario with: a range `1..5` (inclusive) or a list `1,2,7`.
    #[arg(long, default_value = "1..3", value_parser = seeds)]
    seeds: Seeds,
    /// Override every scenario's duration.
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    duration: Option<Millis>,
    /// CSV file to write.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
}

#[derive(Clone, Debug)]
struct Seeds(Vec<u64>);

fn seeds(s: &str) -> Result<Seeds, String> {
    let parsed: Option<Vec<u64>> = match s.split_once("..") {
        Some((a, b)) => match (a.trim().parse::<u64>(), b.trim().parse::<u64>()) {
            (Ok(a), Ok(b)) if a <= b && b - a < 10_000 => Some((a..=b).collect()),
            _ => None,
        },
        None => s.split(',').map(|x| x.trim().parse().ok()).collect(),
    };
    parsed
        .filter(|v| !v.is_empty())
        .map(Seeds)
        .ok_or_else(|| format!("{s:?}: write a range like 1..5 or a list like 1,2,7"))
}

fn run_export(args: ExportArgs) -> ExitCode {
    let file = match std::fs::File::create(&args.out) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: cannot create {}: {e}", args.out.display());
            return ExitCode::from(2);
        }
    };
    let mut out = csv::Writer::from_writer(BufWriter::new(file));
    if let Err(e) = out.write_record(sim::output::training_header()) {
        eprintln!("error: writing {}: {e}", args.out.display());
        return ExitCode::FAILURE;
    }
    for path in &args.scenarios {
        match sim::output::export_training(path, &args.seeds.0, args.duration, &mut out) {
            Ok((rows, labeled)) => eprintln!(
                "{}: {rows} feature records, {labeled} labeled (seeds {:?})",
                path.display(),
                args.seeds.0
            ),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(e.exit_code() as u8);
            }
        }
    }
    if let Err(e) = out.flush() {
        eprintln!("error: writing {}: {e}", args.out.display());
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

#[derive(Args)]
struct SimArgs {
    /// Scenario file (TOML), e.g. scenarios/celebrity-spike.toml.
    scenario: PathBuf,
    /// Write events-K.ndjson, orders.ndjson, catalog.csv, oracle.ndjson and summary.json into DIR.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Override the scenario's seed.
    #[arg(long)]
    seed: Option<u64>,
    /// Override the scenario's duration.
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    duration: Option<Millis>,
    /// Do not print the summary on stderr.
    #[arg(long, short)]
    quiet: bool,
}

fn run_sim(args: SimArgs) -> ExitCode {
    let (sim, shop) = match sim::output::prepare(&args.scenario, args.seed, args.duration) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(e.exit_code() as u8);
        }
    };
    match sim::output::write_run(sim, shop, &args.out) {
        Ok(summary) => {
            if !args.quiet {
                let s = &summary.stats;
                eprintln!(
                    "{}: {} sessions ({} trend, {} bot), {} events, {} records on {} partitions",
                    summary.scenario,
                    s.sessions_regular + s.sessions_trend.iter().sum::<u64>() + s.sessions_bot,
                    s.sessions_trend.iter().sum::<u64>(),
                    s.sessions_bot,
                    s.events_total(),
                    s.records,
                    summary.partitions
                );
                eprintln!(
                    "{} orders, revenue {:.2}; {} missed for lack of stock; {} injected faults",
                    s.orders,
                    s.revenue,
                    s.missed_out_of_stock,
                    summary.faults.total()
                );
                eprintln!("outputs in {}", args.out.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code() as u8)
        }
    }
}

#[derive(Args)]
struct ReplayArgs {
    /// Event files, one JSON click event per line; each file is one partition.
    #[arg(required = true, value_name = "EVENTS")]
    events: Vec<PathBuf>,
    /// Catalog file (.csv, .json array, .ndjson).
    #[arg(long, value_name = "FILE")]
    catalog: PathBuf,
    /// Orders file (.csv, .json array, .ndjson).
    #[arg(long, value_name = "FILE")]
    orders: Option<PathBuf>,
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
    /// Window size, 1s to 1h [default: 100s].
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    window: Option<Millis>,
    /// Hopping windows: start a window every DURATION (≤ window) [default: tumbling].
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    hop: Option<Millis>,
    /// Allowed out-of-orderness per partition (watermark = max event time − this) [default: 5s].
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    out_of_orderness: Option<Millis>,
    /// Keep windows open this long after the watermark passes their end [default: 0s].
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    lateness: Option<Millis>,
    /// A partition with no records for this long stops holding the watermark [default: 60s].
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    idle_timeout: Option<Millis>,
    /// Most event ids remembered for dedup [default: 500000].
    #[arg(long, value_name = "N")]
    dedup_capacity: Option<usize>,
    /// Forget event ids this far behind the watermark [default: 10m].
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    dedup_horizon: Option<Millis>,
    /// Larger records are dead-lettered as oversize [default: 65536].
    #[arg(long, value_name = "BYTES")]
    max_record_bytes: Option<usize>,
    /// Records per call into the core.
    #[arg(long, value_name = "N", default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..))]
    batch: u32,
    /// Do not print the stats summary on stderr.
    #[arg(long, short)]
    quiet: bool,
}

fn duration(s: &str) -> Result<Millis, String> {
    let d = humantime::parse_duration(s)
        .map_err(|e| format!("{e} (write e.g. 100s, 5m, 1h, 250ms)"))?;
    Millis::try_from(d.as_millis()).map_err(|_| "too long".to_string())
}

/// The flag that sets each `PipelineConfig` key.
fn flag_of(key: &str) -> String {
    match key {
        "allowed_lateness" => "--lateness".into(),
        other => format!("--{}", other.replace('_', "-")),
    }
}

impl ReplayArgs {
    fn config(&self) -> PipelineConfig {
        let d = PipelineConfig::default();
        PipelineConfig {
            window: self.window.unwrap_or(d.window),
            hop: self.hop,
            out_of_orderness: self.out_of_orderness.unwrap_or(d.out_of_orderness),
            allowed_lateness: self.lateness.unwrap_or(d.allowed_lateness),
            idle_timeout: self.idle_timeout.unwrap_or(d.idle_timeout),
            dedup_capacity: self.dedup_capacity.unwrap_or(d.dedup_capacity),
            dedup_horizon: self.dedup_horizon.unwrap_or(d.dedup_horizon),
            max_record_bytes: self.max_record_bytes.unwrap_or(d.max_record_bytes),
            ..d
        }
    }

    /// `explicit`, else `name` inside --out.
    fn path(&self, explicit: &Option<PathBuf>, name: &str) -> Option<PathBuf> {
        explicit
            .clone()
            .or_else(|| self.out.as_ref().map(|dir| dir.join(name)))
    }
}

fn create(path: &Path) -> Result<Box<dyn Write>, String> {
    if path == Path::new("-") {
        return Ok(Box::new(BufWriter::new(io::stdout().lock())));
    }
    File::create(path)
        .map(|f| Box::new(BufWriter::new(f)) as Box<dyn Write>)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))
}

fn run_replay(args: ReplayArgs) -> ExitCode {
    let config = args.config();
    if let Err(e) = config.validate() {
        Cli::command()
            .error(
                ErrorKind::ValueValidation,
                format!("{}: {}", flag_of(e.key), e.message),
            )
            .exit();
    }
    if let Some(dir) = &args.out
        && let Err(e) = std::fs::create_dir_all(dir)
    {
        eprintln!("error: cannot create {}: {e}", dir.display());
        return ExitCode::from(2);
    }
    let (Some(features_path), Some(dead_letters_path)) = (
        args.path(&args.features, "features.ndjson"),
        args.path(&args.dead_letters, "dead_letters.ndjson"),
    ) else {
        eprintln!("error: give --out DIR, or both --features and --dead-letters");
        return ExitCode::from(2);
    };
    let (mut features, mut dead_letters) =
        match (create(&features_path), create(&dead_letters_path)) {
            (Ok(f), Ok(d)) => (f, d),
            (Err(e), _) | (_, Err(e)) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        };
    let input = ReplayInput {
        events: args.events.clone(),
        catalog: args.catalog.clone(),
        orders: args.orders.clone(),
    };
    let options = ReplayOptions {
        config,
        batch_size: args.batch as usize,
    };
    let result = replay(&input, &options, &mut features, &mut dead_letters);
    let flushed = features.flush().and_then(|()| dead_letters.flush());
    let summary = match (result, flushed) {
        (Ok(summary), Ok(())) => summary,
        (Err(e), _) => {
            eprintln!("error: {e}");
            return ExitCode::from(e.exit_code() as u8);
        }
        (Ok(_), Err(e)) => {
            eprintln!("error: writing output: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(path) = args.path(&args.stats_json, "stats.json") {
        let json = serde_json::to_string_pretty(&summary).unwrap_or_default() + "\n";
        if let Err(e) = std::fs::write(&path, json) {
            eprintln!("error: cannot write {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
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
    ExitCode::SUCCESS
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Replay(args) => run_replay(*args),
        Command::Sim(args) => run_sim(args),
        Command::ExportTraining(args) => run_export(args),
    }
}
