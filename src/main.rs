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
    /// Training data: feature records from closed-loop runs, labeled with the oracles' prices.
    ExportTraining(ExportArgs),
    /// The workbench: run a scenario in a closed loop with a pricing policy (or compare several).
    Run(Box<RunArgs>),
    /// Production mode on AWS: create the stream and tables (`aws init`).
    #[command(subcommand)]
    Aws(AwsCommand),
    /// Load generator: simulate a scenario into a Kinesis stream (and its orders into the orders table).
    Produce(ProduceArgs),
    /// Dead letters in the dead-letter table: list them, or re-feed them to the stream after a fix.
    #[command(subcommand)]
    Dlq(DlqCommand),
    /// The production service: Kinesis → core → features table → pricer → catalog (SIGTERM/Ctrl-C stops it cleanly).
    Serve(ServeArgs),
    /// Print the audit table as NDJSON (one decision per line, by product and window).
    Audit {
        /// Service configuration (see deploy/pricestream.example.toml).
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
    },
}

#[derive(Args)]
struct ServeArgs {
    /// Service configuration (see deploy/pricestream.example.toml).
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
    /// Exit once every shard is read to its end (close all windows, wait for
    /// their decisions, checkpoint): a catch-up or batch run.
    #[arg(long)]
    drain: bool,
    /// Show live prices, demand and decisions in the terminal UI (q quits
    /// cleanly, K toggles the kill switch, space pauses reading); logs go to --log.
    #[arg(long, conflicts_with = "drain")]
    tui: bool,
    /// Where logs go while the terminal UI runs.
    #[arg(long, value_name = "FILE", default_value = "pricestream-serve.log")]
    log: PathBuf,
}

/// Feeds `serve`'s windows and counters to the terminal UI.
struct TuiObserver {
    view: tui::LiveView,
    kill_switch: std::sync::Arc<std::sync::atomic::AtomicBool>,
    paused: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl service::serve::Observer for TuiObserver {
    fn window(
        &mut self,
        features: &[pipeline::FeatureRecord],
        decided: &[service::serve::Decided],
    ) {
        let lines = decided
            .iter()
            .map(|d| tui::DecisionLine {
                window_end: d.window_end,
                product_id: d.product_id.clone(),
                rule: d.rule.clone(),
                applied: d.applied,
                from: d.from,
                to: d.to,
            })
            .collect();
        self.view.window(features, lines);
    }

    fn progress(&mut self, stats: &pipeline::Stats, catalog: &pipeline::CatalogTable) {
        let items: Vec<pipeline::CatalogItem> = catalog.sorted().into_iter().cloned().collect();
        let flag = |f: &std::sync::atomic::AtomicBool| f.load(std::sync::atomic::Ordering::SeqCst);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as pipeline::Millis);
        self.view.publish(&tui::Progress {
            now,
            stats,
            items: &items,
            kill_switch: flag(&self.kill_switch),
            paused: flag(&self.paused),
        });
    }
}

fn load_service_config(path: &Path) -> Result<service::Config, ExitCode> {
    service::Config::load(path, std::env::vars()).map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::from(2)
    })
}

fn run_serve(args: ServeArgs) -> ExitCode {
    let config = match load_service_config(&args.config) {
        Ok(c) => c,
        Err(code) => return code,
    };
    if args.tui {
        match File::create(&args.log) {
            Ok(f) => {
                service::serve::init_logs_to(&config.metrics.log_format, std::sync::Mutex::new(f))
            }
            Err(e) => return fail(1, &format!("cannot write {}: {e}", args.log.display())),
        }
    } else {
        service::serve::init_logs(&config.metrics.log_format);
    }
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = stop.clone();
    if let Err(e) = ctrlc::set_handler(move || {
        flag.store(true, std::sync::atomic::Ordering::SeqCst);
    }) {
        return fail(1, &format!("cannot handle SIGTERM/Ctrl-C: {e}"));
    }
    let model = match config.pricer.mode {
        service::config::PricerMode::InProcess => match service::pricing::load_model(&config) {
            Ok(m) => Some(m),
            Err(e) => return fail(2, &format!("model: {e}")),
        },
        service::config::PricerMode::External => None,
    };
    let metrics = service::metrics::Metrics::new();
    let _endpoint =
        match service::metrics::Endpoint::start(&config.metrics.address, metrics.clone()) {
            Ok(e) => {
                if !args.tui {
                    eprintln!("metrics on http://{}/metrics", e.address);
                }
                e
            }
            Err(e) => return fail(2, &e),
        };
    let mut options = service::serve::Options {
        drain: args.drain,
        ..Default::default()
    };
    if !args.tui {
        return match service::serve::serve(&config, options, model, stop, metrics) {
            Ok(report) => {
                println!("{}", serde_json::to_string(&report).unwrap_or_default());
                ExitCode::SUCCESS
            }
            Err(e) => fail(1, &e),
        };
    }
    let version = model
        .as_ref()
        .map_or("external pricer".to_string(), |m| m.version().to_string());
    let view = tui::LiveView::new(&config.stream.name, &version, &[]);
    let mailbox = view.mailbox();
    let (kill_switch, paused) = (options.kill_switch.clone(), options.paused.clone());
    options.observer = Some(Box::new(TuiObserver {
        view,
        kill_switch: kill_switch.clone(),
        paused: paused.clone(),
    }));
    let worker = {
        let (config, stop) = (config.clone(), stop.clone());
        std::thread::spawn(move || service::serve::serve(&config, options, model, stop, metrics))
    };
    let set = |f: &std::sync::atomic::AtomicBool, on: bool| {
        f.store(on, std::sync::atomic::Ordering::SeqCst)
    };
    let shown = tui::host::show(&mailbox, Some(1.0), |cmd| match cmd {
        tui::Command::Quit => set(&stop, true),
        tui::Command::KillSwitch(on) => set(&kill_switch, on),
        tui::Command::Pause(on) => set(&paused, on),
        tui::Command::Speed(_) => {}
    });
    set(&stop, true);
    let served = worker
        .join()
        .unwrap_or_else(|_| Err("the service thread panicked".into()));
    match (shown, served) {
        (Ok(()), Ok(report)) => {
            println!("{}", serde_json::to_string(&report).unwrap_or_default());
            ExitCode::SUCCESS
        }
        (Err(e), _) => fail(1, &e.to_string()),
        (_, Err(e)) => fail(1, &e),
    }
}

fn run_audit(config: &Path) -> ExitCode {
    let config = match load_service_config(config) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let listed = service::aws::Aws::connect(&config)
        .and_then(|aws| service::pricing::list_audit(&aws, &config.tables.audit));
    match listed {
        Ok(lines) => {
            let mut out = BufWriter::new(io::stdout().lock());
            for l in lines {
                if writeln!(out, "{l}").is_err() {
                    return ExitCode::from(1);
                }
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(1, &e),
    }
}

#[derive(Subcommand)]
enum DlqCommand {
    /// Print dead letters as NDJSON (original bytes as `raw` or `raw_base64`).
    List {
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// Only this reason (e.g. unknown_product).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Put dead letters back on the stream (original bytes) and remove them from the table.
    Replay {
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        #[arg(long)]
        reason: Option<String>,
        /// Only say what would be replayed.
        #[arg(long)]
        dry_run: bool,
    },
}

fn run_dlq(cmd: DlqCommand) -> ExitCode {
    let (path, reason, replay, dry_run) = match cmd {
        DlqCommand::List { config, reason } => (config, reason, false, false),
        DlqCommand::Replay {
            config,
            reason,
            dry_run,
        } => (config, reason, true, dry_run),
    };
    let fail = |code: u8, e: &dyn std::fmt::Display| {
        eprintln!("error: {e}");
        ExitCode::from(code)
    };
    let reason = match reason
        .as_deref()
        .map(|r| pipeline::Reason::parse(r).ok_or(r))
    {
        None => None,
        Some(Ok(r)) => Some(r),
        Some(Err(r)) => {
            let all: Vec<&str> = pipeline::Reason::ALL.iter().map(|r| r.as_str()).collect();
            return fail(2, &format!("--reason {r:?}: use one of {}", all.join(", ")));
        }
    };
    let config = match service::Config::load(&path, std::env::vars()) {
        Ok(c) => c,
        Err(e) => return fail(2, &e),
    };
    let aws = match service::aws::Aws::connect(&config) {
        Ok(a) => a,
        Err(e) => return fail(2, &e),
    };
    let letters = match service::dlq::list(&aws, &config.tables.dead_letters, reason) {
        Ok(l) => l,
        Err(e) => return fail(1, &e),
    };
    if !replay || dry_run {
        let mut out = io::stdout().lock();
        for d in &letters {
            if pipeline::adapters::files::write_ndjson(&mut out, d).is_err() {
                return ExitCode::FAILURE;
            }
        }
        if dry_run {
            eprintln!(
                "{} dead letters would be replayed to {}",
                letters.len(),
                config.stream.name
            );
        }
        return ExitCode::SUCCESS;
    }
    match service::dlq::replay(
        &aws,
        &config.tables.dead_letters,
        &config.stream.name,
        &letters,
    ) {
        Ok(r) => {
            println!(
                "replayed {} dead letters to {} and removed them from {}",
                r.records, config.stream.name, config.tables.dead_letters
            );
            ExitCode::SUCCESS
        }
        Err(e) => fail(1, &e),
    }
}

#[derive(Args)]
struct ProduceArgs {
    /// Scenario file (TOML).
    scenario: PathBuf,
    /// Service configuration (see deploy/pricestream.example.toml).
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
    #[arg(long)]
    seed: Option<u64>,
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    duration: Option<Millis>,
    /// Simulated time per real second (e.g. 60), or `max`.
    #[arg(long, value_parser = speed, default_value = "max", conflicts_with = "rate")]
    speed: Speed,
    /// Records per second instead of a simulated-time speed.
    #[arg(long)]
    rate: Option<f64>,
}

fn run_produce(args: ProduceArgs) -> ExitCode {
    let fail = |code: u8, e: &dyn std::fmt::Display| {
        eprintln!("error: {e}");
        ExitCode::from(code)
    };
    let config = match service::Config::load(&args.config, std::env::vars()) {
        Ok(c) => c,
        Err(e) => return fail(2, &e),
    };
    let (sim, shop) = match sim::output::prepare(&args.scenario, args.seed, args.duration) {
        Ok(x) => x,
        Err(e) => return fail(e.exit_code() as u8, &e),
    };
    let aws = match service::aws::Aws::connect(&config) {
        Ok(a) => a,
        Err(e) => return fail(2, &e),
    };
    let pace = match (args.rate, args.speed.0) {
        (Some(r), _) if r > 0.0 => service::produce::Pace::Rate(r),
        (Some(r), _) => return fail(2, &format!("--rate must be positive, got {r}")),
        (None, Some(s)) => service::produce::Pace::Speed(s),
        (None, None) => service::produce::Pace::Max,
    };
    match service::produce::produce(&aws, &config, sim, shop, pace) {
        Ok(r) => {
            println!(
                "{} records in {} PutRecords calls ({} retried) to {}; {} orders to {}",
                r.records,
                r.put_calls,
                r.retried,
                config.stream.name,
                r.orders,
                config.tables.orders
            );
            ExitCode::SUCCESS
        }
        Err(e) => fail(1, &e),
    }
}

#[derive(Subcommand)]
enum AwsCommand {
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

fn run_aws(cmd: AwsCommand) -> ExitCode {
    let AwsCommand::Init { config, catalog } = cmd;
    let config = match service::Config::load(&config, std::env::vars()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let aws = match service::aws::Aws::connect(&config) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    match service::aws::init(&aws, &config, catalog.as_deref()) {
        Ok(report) => {
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
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            eprintln!(
                "(is the endpoint reachable? for an emulator set aws.endpoint_url or AWS_ENDPOINT_URL)"
            );
            ExitCode::FAILURE
        }
    }
}

#[derive(Args)]
struct RunArgs {
    /// Scenario file (TOML), e.g. scenarios/celebrity-spike.toml.
    scenario: PathBuf,
    /// Pricing policy: model, rules, static, static@RATIO, static-opt, trend-rule, oracle,
    /// oracle-free; pin products with e.g. static-opt[sku-0040=1.5].
    #[arg(long, default_value = "model")]
    policy: String,
    /// ONNX model for the `model` policy.
    #[arg(long, value_name = "PATH", default_value = "model/pricing.onnx")]
    model: PathBuf,
    /// Compare several policies on the same scenario and seeds, e.g. model,static-opt,oracle;
    /// `statics` adds the uniform sweep static@0.8 … static@1.5.
    #[arg(long, value_name = "POLICIES")]
    compare: Option<String>,
    /// Override the scenario's seed.
    #[arg(long, conflicts_with = "seeds")]
    seed: Option<u64>,
    /// Repeat over seeds (in parallel): a range `1..10` or a list `1,2,7`.
    #[arg(long, value_parser = seeds)]
    seeds: Option<Seeds>,
    /// Override the scenario's duration.
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    duration: Option<Millis>,
    /// Window size of the streaming core [default: 100s].
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    window: Option<Millis>,
    /// The fairness cap: no price above RATIO × list, for any policy (the
    /// guardrails' max_ratio) [default: 1.5].
    #[arg(long, value_name = "RATIO", value_parser = cap_ratio)]
    max_ratio: Option<f64>,
    /// Write summary.json, prices.csv, audit.ndjson, dead_letters.ndjson and report.html into DIR.
    #[arg(long, value_name = "DIR")]
    report: Option<PathBuf>,
    /// Worker threads for several runs [default: the cores available].
    #[arg(long)]
    threads: Option<usize>,
    /// Print how long the run took and its speed (simulated time per wall second).
    #[arg(long)]
    bench: bool,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
    /// Watch it live in the terminal UI (one policy, one seed).
    #[arg(long, conflicts_with_all = ["compare", "seeds", "report"])]
    tui: bool,
    /// With --tui: simulated time per real second, e.g. 600, or `max`.
    #[arg(long, default_value = "600", value_parser = speed)]
    speed: Speed,
}

fn cap_ratio(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if (1.0..=10.0).contains(&v) => Ok(v),
        _ => Err(format!(
            "{s:?}: write a multiple of list between 1 and 10, e.g. 1.5"
        )),
    }
}

#[derive(Clone, Copy, Debug)]
struct Speed(Option<f64>);

fn speed(s: &str) -> Result<Speed, String> {
    if s == "max" {
        return Ok(Speed(None));
    }
    match s.trim_end_matches(['x', '×']).parse::<f64>() {
        Ok(v) if v > 0.0 && v.is_finite() => Ok(Speed(Some(v))),
        _ => Err(format!("{s:?}: write a factor like 600 or `max`")),
    }
}

fn run_tui(args: &RunArgs, policy: workbench::Policy, base: workbench::RunOptions) -> ExitCode {
    let (sim, shop) = match sim::output::prepare(&args.scenario, args.seed, args.duration) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(e.exit_code() as u8);
        }
    };
    let opts = workbench::RunOptions { policy, ..base };
    let lp = match workbench::ClosedLoop::new(sim, shop, &opts) {
        Ok(lp) => lp,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(e.exit_code() as u8);
        }
    };
    match tui::host::run_live(lp, args.speed.0) {
        Ok(lp) if lp.is_finished() => {
            print!("{}", workbench::report::describe(lp.summary()));
            ExitCode::SUCCESS
        }
        Ok(lp) => {
            println!(
                "stopped at {} after {} events, {} price changes",
                pipeline::time::format_rfc3339(lp.sim().clock()),
                lp.emitted(),
                lp.summary().price_changes
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: terminal: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run_workbench(args: RunArgs) -> ExitCode {
    let list = args.compare.as_deref().unwrap_or(args.policy.as_str());
    let policies: Vec<workbench::Policy> = match workbench::Policy::parse_list(list, &args.model) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: --policy/--compare: {e}");
            return ExitCode::from(2);
        }
    };
    let seeds: Vec<u64> = match (&args.seeds, args.seed) {
        (Some(s), _) => s.0.clone(),
        (None, Some(seed)) => vec![seed],
        (None, None) => match sim::Scenario::load(&args.scenario) {
            Ok(sc) => vec![sc.seed],
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        },
    };
    let mut config = pipeline::PipelineConfig::default();
    if let Some(w) = args.window {
        config.window = w;
    }
    if let Err(e) = config.validate() {
        eprintln!("error: --{}: {}", e.key, e.message);
        return ExitCode::from(2);
    }
    let watch = sim::Scenario::load(&args.scenario)
        .map(|sc| sc.trend.iter().filter_map(|t| t.product.clone()).collect())
        .unwrap_or_default();
    let mut guardrails = pipeline::Guardrails::default();
    if let Some(r) = args.max_ratio {
        guardrails.max_ratio = r;
    }
    let base = workbench::RunOptions {
        policy: policies[0].clone(),
        config,
        guardrails,
        record: args.report.is_some(),
        watch,
        redeliver_feed: false,
    };
    if args.tui {
        return run_tui(&args, policies[0].clone(), base);
    }
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let bar = progress_bar(args.quiet);
    let started = std::time::Instant::now();
    let finished = workbench::compare::run_all(
        &args.scenario,
        args.duration,
        &base,
        &policies,
        &seeds,
        args.report.is_some(),
        threads,
        &|n, now| {
            bar.inc(n);
            bar.set_message(pipeline::time::format_rfc3339(now));
        },
    );
    bar.finish_and_clear();
    let finished = match finished {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(e.exit_code() as u8);
        }
    };
    let elapsed = started.elapsed();
    if finished.len() == 1 {
        print!(
            "{}",
            workbench::report::describe(&finished[0].result.summary)
        );
    } else {
        print!(
            "{}",
            workbench::compare::render(
                &workbench::compare::table(&finished),
                &workbench::compare::best_statics(&finished),
                &workbench::compare::headroom(&finished)
            )
        );
    }
    if args.bench {
        let events: u64 = finished
            .iter()
            .map(|f| f.result.summary.events_emitted)
            .sum();
        let simulated: i64 = finished.iter().map(|f| f.result.sim_time).sum();
        eprintln!(
            "{} run(s) in {:.2} s wall: {:.0} events/s, {:.0}× real time",
            finished.len(),
            elapsed.as_secs_f64(),
            events as f64 / elapsed.as_secs_f64(),
            simulated as f64 / 1000.0 / elapsed.as_secs_f64()
        );
    }
    if let Some(dir) = &args.report {
        match workbench::report::write(dir, &args.scenario, &finished) {
            Ok(()) => eprintln!("report in {}", dir.join("report.html").display()),
            Err(e) => {
                eprintln!("error: writing the report: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}

/// Events processed, on stderr when it is a terminal; hidden otherwise.
fn progress_bar(quiet: bool) -> indicatif::ProgressBar {
    if quiet {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} {human_pos} events ({per_sec}) {elapsed}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    bar
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
    /// The policy that prices while the data is generated: `static` (list
    /// prices) or e.g. `model`, so labels cover the states a model leads to.
    #[arg(long, default_value = "static")]
    policy: String,
    /// ONNX model for `--policy model`.
    #[arg(long, default_value = "model/pricing.onnx")]
    model: PathBuf,
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
    let policy = match workbench::Policy::parse(&args.policy, &args.model) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: --policy: {e}");
            return ExitCode::from(2);
        }
    };
    let opts = workbench::RunOptions {
        policy,
        config: pipeline::PipelineConfig::default(),
        guardrails: pipeline::Guardrails::default(),
        record: false,
        watch: Vec::new(),
        redeliver_feed: false,
    };
    let file = match std::fs::File::create(&args.out) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: cannot create {}: {e}", args.out.display());
            return ExitCode::from(2);
        }
    };
    let mut out = csv::Writer::from_writer(BufWriter::new(file));
    if let Err(e) = out.write_record(workbench::training::training_header()) {
        eprintln!("error: writing {}: {e}", args.out.display());
        return ExitCode::FAILURE;
    }
    for path in &args.scenarios {
        match workbench::training::export_training(
            path,
            &args.seeds.0,
            args.duration,
            &opts,
            &mut out,
        ) {
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
    let prices = match &args.prices {
        Some(path) => match pipeline::adapters::files::load_price_changes(path) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        },
        None => Vec::new(),
    };
    let options = ReplayOptions {
        config,
        batch_size: args.batch as usize,
        prices,
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
        Command::Run(args) => run_workbench(*args),
        Command::Aws(cmd) => run_aws(cmd),
        Command::Produce(args) => run_produce(args),
        Command::Dlq(cmd) => run_dlq(cmd),
        Command::Serve(args) => run_serve(args),
        Command::Audit { config } => run_audit(&config),
    }
}

fn fail(code: u8, e: &str) -> ExitCode {
    eprintln!("error: {e}");
    ExitCode::from(code)
}
