//! `pricestream sim` (scenario → files) and `export-training` (labeled
//! feature records from closed-loop runs).

use std::path::PathBuf;

use clap::Args;
use pipeline::Millis;

use super::args::{Seeds, default_model, duration, seeds};
use super::error::{CliError, CliResult};
use super::output::{self, Sink};

#[derive(Args)]
pub struct SimArgs {
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

pub fn run_sim(args: SimArgs) -> CliResult {
    let sim_error = |e: sim::output::SimError| CliError::with_code(e.exit_code(), e);
    let (sim, shop) =
        sim::output::prepare(&args.scenario, args.seed, args.duration).map_err(sim_error)?;
    output::ensure_dir(&args.out)?;
    let estimate = sim.scenario().estimate();
    if estimate.is_large() && !args.quiet {
        eprintln!("{}: {estimate}", args.scenario.display());
    }
    let summary = sim::output::write_run(sim, shop, &args.out).map_err(sim_error)?;
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
    Ok(())
}

#[derive(Args)]
pub struct ExportArgs {
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
    /// The policy that prices while the data is generated: `static` (list
    /// prices) or e.g. `model`, so labels cover the states a model leads to.
    #[arg(long, default_value = "static")]
    policy: String,
    /// ONNX model for `--policy model` [default: model/pricing.onnx here,
    /// or in the checkout the binary was built in].
    #[arg(long, value_name = "PATH")]
    model: Option<PathBuf>,
}

pub fn run_export(args: ExportArgs) -> CliResult {
    let path = args.model.clone().unwrap_or_else(default_model);
    let policy = workbench::Policy::parse(&args.policy, &model::ModelSpec::onnx(&path))
        .map_err(|e| CliError::input(format!("--policy: {e}")))?;
    let opts = workbench::RunOptions {
        policy,
        config: pipeline::PipelineConfig::default(),
        guardrails: pipeline::Guardrails::default(),
        record: false,
        watch: Vec::new(),
        redeliver_feed: false,
    };
    // Every scenario is checked before any work, and the CSV replaces the
    // old one only when all of them are done.
    for path in &args.scenarios {
        sim::output::prepare(path, None, args.duration)
            .map_err(|e| CliError::with_code(e.exit_code(), e))?;
    }
    let sink = Sink::create(&args.out)?;
    let written = |e: csv::Error| CliError::runtime(format!("writing {}: {e}", args.out.display()));
    let mut out = csv::Writer::from_writer(sink);
    out.write_record(workbench::training::training_header())
        .map_err(written)?;
    for path in &args.scenarios {
        let (rows, labeled) = workbench::training::export_training(
            path,
            &args.seeds.0,
            args.duration,
            &opts,
            &mut out,
        )
        .map_err(|e| CliError::with_code(e.exit_code(), e))?;
        eprintln!(
            "{}: {rows} feature records, {labeled} labeled (seeds {:?})",
            path.display(),
            args.seeds.0
        );
    }
    out.into_inner()
        .map_err(|e| CliError::runtime(format!("writing {}: {}", args.out.display(), e.error())))?
        .commit()
}
