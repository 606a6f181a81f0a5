//! The `pricestream` command line: one module per command group, shared
//! flags in `args`, one error type in `error`. Wiring only: the work is in
//! the crates.

mod args;
mod aws;
mod error;
mod live;
mod output;
mod replay;
mod serve;
mod sim;
mod workbench;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use error::CliResult;

#[derive(Parser)]
#[command(
    name = "pricestream",
    version,
    about = "Real-time, trend-driven dynamic pricing from clickstreams",
    after_help = EXAMPLES
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

const EXAMPLES: &str = "\
Examples:
  pricestream run scenarios/celebrity-spike.toml --compare plan,static-opt,oracle --seeds 1..10 --report out/report
  pricestream replay --catalog catalog.csv --out out events-0.ndjson events-1.ndjson";

/// `--version`: the release, the commit it was built from, and the
/// versions of the contracts it speaks (from their own constants).
fn long_version() -> String {
    format!(
        "{} (commit {})\nfeature records: version {} (docs/features.md)\nONNX Runtime: {} (pinned; scripts/install-ort)",
        env!("CARGO_PKG_VERSION"),
        env!("BUILD_GIT_COMMIT"),
        pipeline::FEATURES_VERSION,
        model::onnx::ORT_VERSION
    )
}

#[derive(Subcommand)]
enum Command {
    /// The workbench: run a scenario in a closed loop with a pricing policy (or compare several).
    Run(Box<workbench::RunArgs>),
    /// Simulate a scenario with static prices: event files, orders, catalog and oracle out.
    Sim(sim::SimArgs),
    /// Run the streaming core over NDJSON event files: feature records and dead letters out.
    Replay(Box<replay::ReplayArgs>),
    /// Training data: feature records from closed-loop runs, labeled with the oracles' prices.
    ExportTraining(sim::ExportArgs),
    /// Production mode on AWS: create the stream and tables (`aws init`).
    #[command(subcommand)]
    Aws(aws::AwsCommand),
    /// Load generator: simulate a scenario into a Kinesis stream (and its orders into the orders table).
    Produce(aws::ProduceArgs),
    /// Dead letters in the dead-letter table: list them, or re-feed them to the stream after a fix.
    #[command(subcommand)]
    Dlq(aws::DlqCommand),
    /// The production service: Kinesis → core → features table → pricer → catalog (SIGTERM/Ctrl-C stops it cleanly).
    Serve(serve::ServeArgs),
    /// Print the audit table as NDJSON (one decision per line, by product and window).
    Audit {
        /// Service configuration (see deploy/pricestream.example.toml).
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
    },
}

fn run(command: Command) -> CliResult {
    match command {
        Command::Replay(args) => replay::run(*args),
        Command::Sim(args) => sim::run_sim(args),
        Command::ExportTraining(args) => sim::run_export(args),
        Command::Run(args) => workbench::run(*args),
        Command::Aws(cmd) => aws::run_aws(cmd),
        Command::Produce(args) => aws::run_produce(args),
        Command::Dlq(cmd) => aws::run_dlq(cmd),
        Command::Serve(args) => serve::run(args),
        Command::Audit { config } => aws::run_audit(&config),
    }
}

/// Parses the arguments (clap exits 2 on a usage error), runs the command
/// and prints its error once.
pub fn main() -> ExitCode {
    // clap wants a 'static long version; it is built once per process.
    let version: &'static str = Box::leak(long_version().into_boxed_str());
    let matches = Cli::command().long_version(version).get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => e.report(),
    }
}
