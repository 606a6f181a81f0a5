//! The AWS-side commands around `serve`: `aws init`, `produce`, `dlq`, `audit`.

use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use pipeline::Millis;

use super::args::{Speed, duration, speed};
use super::error::{CliError, CliResult};

/// The service configuration (exit 2 when it is wrong).
pub fn load_config(path: &Path) -> Result<service::Config, CliError> {
    service::Config::load(path, std::env::vars()).map_err(CliError::input)
}

/// Clients for the configured endpoint; building them reads only
/// configuration, so a failure is the user's to fix.
fn connect(config: &service::Config) -> Result<service::aws::Aws, CliError> {
    Ok(service::aws::Aws::connect(config)?)
}

#[derive(Subcommand)]
pub enum AwsCommand {
    /// Create the Kinesis stream and DynamoDB tables if missing (idempotent); optionally load a catalog.
    Init {
        /// Service configuration (see deploy/pricestream.example.toml).
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// Catalog file to load into the catalog table (.csv, .json, .ndjson).
        #[arg(long, value_name = "FILE")]
        catalog: Option<PathBuf>,
    },
}

pub fn run_aws(cmd: AwsCommand) -> CliResult {
    let AwsCommand::Init { config, catalog } = cmd;
    let config = load_config(&config)?;
    let aws = connect(&config)?;
    let report = service::aws::init(&aws, &config, catalog.as_deref()).map_err(|e| {
        let hint =
            "is the endpoint reachable? for an emulator set aws.endpoint_url or AWS_ENDPOINT_URL";
        CliError::with_code(e.exit_code(), format!("{e}\n({hint})"))
    })?;
    for c in &report.created {
        println!("created  {c}");
    }
    for c in &report.existing {
        println!("exists   {c}");
    }
    if report.catalog_items > 0 {
        println!(
            "loaded   {} catalog items into {}",
            report.catalog_items, config.tables.catalog
        );
    }
    Ok(())
}

/// `pricestream audit`: the audit table as NDJSON.
pub fn run_audit(config: &Path) -> CliResult {
    let config = load_config(config)?;
    let aws = connect(&config)?;
    let lines = service::pricing::list_audit(&aws, &config.tables.audit)?;
    let mut out = BufWriter::new(io::stdout().lock());
    for l in lines {
        writeln!(out, "{l}").map_err(CliError::output)?;
    }
    out.flush().map_err(CliError::output)
}

#[derive(Subcommand)]
pub enum DlqCommand {
    /// Print dead letters as NDJSON (original bytes as `raw` or `raw_base64`).
    List {
        /// Service configuration (see deploy/pricestream.example.toml).
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// Only this reason (e.g. unknown_product).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Put dead letters back on the stream (original bytes) and remove them from the table.
    Replay {
        /// Service configuration (see deploy/pricestream.example.toml).
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// Only this reason (e.g. unknown_product, after adding the product).
        #[arg(long)]
        reason: Option<String>,
        /// Only say what would be replayed.
        #[arg(long)]
        dry_run: bool,
    },
}

pub fn run_dlq(cmd: DlqCommand) -> CliResult {
    let (path, reason, replay, dry_run) = match cmd {
        DlqCommand::List { config, reason } => (config, reason, false, false),
        DlqCommand::Replay {
            config,
            reason,
            dry_run,
        } => (config, reason, true, dry_run),
    };
    let reason = match reason.as_deref() {
        None => None,
        Some(r) => Some(pipeline::Reason::parse(r).ok_or_else(|| {
            let all: Vec<&str> = pipeline::Reason::ALL.iter().map(|r| r.as_str()).collect();
            CliError::input(format!("--reason {r:?}: use one of {}", all.join(", ")))
        })?),
    };
    let config = load_config(&path)?;
    let aws = connect(&config)?;
    let letters = service::dlq::list(&aws, &config.tables.dead_letters, reason)?;
    if !replay || dry_run {
        let mut out = BufWriter::new(io::stdout().lock());
        for d in &letters {
            pipeline::adapters::files::write_ndjson(&mut out, d).map_err(CliError::output)?;
        }
        out.flush().map_err(CliError::output)?;
        if dry_run {
            eprintln!(
                "{} dead letters would be replayed to {}",
                letters.len(),
                config.stream.name
            );
        }
        return Ok(());
    }
    let r = service::dlq::replay(
        &aws,
        &config.tables.dead_letters,
        &config.stream.name,
        &letters,
    )?;
    println!(
        "replayed {} dead letters to {} and removed them from {}",
        r.records, config.stream.name, config.tables.dead_letters
    );
    Ok(())
}

#[derive(Args)]
pub struct ProduceArgs {
    /// Scenario file (TOML).
    scenario: PathBuf,
    /// Service configuration (see deploy/pricestream.example.toml).
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
    /// Override the scenario's seed.
    #[arg(long)]
    seed: Option<u64>,
    /// Override the scenario's duration (e.g. 6h).
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    duration: Option<Millis>,
    /// Simulated time per real second (e.g. 60), or `max`.
    #[arg(long, value_parser = speed, default_value = "max", conflicts_with = "rate")]
    speed: Speed,
    /// Records per second instead of a simulated-time speed.
    #[arg(long)]
    rate: Option<f64>,
}

pub fn run_produce(args: ProduceArgs) -> CliResult {
    let config = load_config(&args.config)?;
    let (sim, shop) = sim::output::prepare(&args.scenario, args.seed, args.duration)
        .map_err(|e| CliError::with_code(e.exit_code(), e))?;
    let aws = connect(&config)?;
    let pace = match (args.rate, args.speed.0) {
        (Some(r), _) if r > 0.0 => service::produce::Pace::Rate(r),
        (Some(r), _) => return Err(CliError::input(format!("--rate must be positive, got {r}"))),
        (None, Some(s)) => service::produce::Pace::Speed(s),
        (None, None) => service::produce::Pace::Max,
    };
    let r = service::produce::produce(&aws, &config, sim, shop, pace)?;
    println!(
        "{} records in {} PutRecords calls ({} retried) to {}; {} orders to {}",
        r.records, r.put_calls, r.retried, config.stream.name, r.orders, config.tables.orders
    );
    Ok(())
}
