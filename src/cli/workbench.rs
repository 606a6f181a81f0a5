//! `pricestream run`: the workbench, one policy or a comparison over seeds,
//! optionally live in the terminal UI.

use std::path::PathBuf;

use clap::Args;
use pipeline::Millis;

use super::args::{PipelineFlags, Seeds, Speed, cap_ratio, duration, seeds, speed};
use super::error::{CliError, CliResult};
use super::output;

#[derive(Args)]
pub struct RunArgs {
    /// Scenario file (TOML), e.g. scenarios/celebrity-spike.toml.
    scenario: PathBuf,
    /// Pricing policy: model, plan, rules, static, static@RATIO (e.g. static@1.2),
    /// static-opt, trend-rule, oracle, oracle-reactive, oracle-free; pin products
    /// with e.g. static-opt[sku-0040=1.5].
    #[arg(long, default_value = "model")]
    policy: String,
    /// ONNX model for the `model` policy [default: the --config file's model,
    /// else model/pricing.onnx here or in the checkout the binary was built in].
    #[arg(long, value_name = "PATH")]
    model: Option<PathBuf>,
    /// A deployment's configuration (as `serve` reads it): its `[pipeline]`,
    /// `[guardrails]` and `[model]` are what the run evaluates; flags given
    /// as well override them.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
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
    #[command(flatten)]
    pipeline: PipelineFlags,
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

pub fn run(args: RunArgs) -> CliResult {
    let deployed = args
        .config
        .as_deref()
        .map(super::aws::load_config)
        .transpose()?;
    let model = match (&args.model, &deployed) {
        (Some(path), _) => model::ModelSpec::onnx(path),
        (None, Some(d)) => d.model.clone(),
        (None, None) => model::ModelSpec::onnx(super::args::default_model()),
    };
    let list = args.compare.as_deref().unwrap_or(args.policy.as_str());
    let policies = workbench::Policy::parse_list(list, &model)
        .map_err(|e| CliError::input(format!("--policy/--compare: {e}")))?;
    let scenario = sim::Scenario::load(&args.scenario).map_err(CliError::input)?;
    let seeds: Vec<u64> = match (&args.seeds, args.seed) {
        (Some(s), _) => s.0.clone(),
        (None, Some(seed)) => vec![seed],
        (None, None) => vec![scenario.seed],
    };
    let (pipeline, mut guardrails) = match deployed {
        Some(d) => (args.pipeline.config_over(d.pipeline)?, d.guardrails),
        None => (args.pipeline.config()?, pipeline::Guardrails::default()),
    };
    if let Some(r) = args.max_ratio {
        guardrails.max_ratio = r;
    }
    let base = workbench::RunOptions {
        policy: policies[0].clone(),
        config: pipeline,
        guardrails,
        record: args.report.is_some(),
        watch: scenario
            .trend
            .iter()
            .filter_map(|t| t.product.clone())
            .collect(),
        redeliver_feed: false,
    };
    if args.tui {
        return run_tui(&args, base);
    }
    if let Some(dir) = &args.report {
        output::ensure_dir(dir)?;
    }
    let mut sized = scenario.clone();
    if let Some(d) = args.duration {
        sized.duration.0 = d;
    }
    let one = sized.estimate();
    let runs = (seeds.len() * policies.len()) as f64;
    if one.events * runs > sim::scenario::Estimate::LARGE_EVENTS && !args.quiet {
        eprintln!("{}: {one} per run; {} runs", args.scenario.display(), runs);
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
        threads,
        &|n, now| {
            bar.inc(n);
            bar.set_message(pipeline::time::format_rfc3339(now));
        },
    );
    bar.finish_and_clear();
    let finished = finished.map_err(|e| CliError::with_code(e.exit_code(), e))?;
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
        workbench::report::write(dir, &args.scenario, &finished).map_err(|e| {
            CliError::runtime(format!("writing the report into {}: {e}", dir.display()))
        })?;
        eprintln!("report in {}", dir.join("report.html").display());
    }
    Ok(())
}

fn run_tui(args: &RunArgs, opts: workbench::RunOptions) -> CliResult {
    let (sim, shop) = sim::output::prepare(&args.scenario, args.seed, args.duration)
        .map_err(|e| CliError::with_code(e.exit_code(), e))?;
    let lp = workbench::ClosedLoop::new(sim, shop, &opts)
        .map_err(|e| CliError::with_code(e.exit_code(), e))?;
    // SIGTERM, SIGHUP (and SIGINT, though raw mode reads Ctrl-C as a key)
    // end the UI like `q`, so the terminal is restored.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = stop.clone();
    ctrlc::set_handler(move || flag.store(true, std::sync::atomic::Ordering::SeqCst))
        .map_err(|e| CliError::runtime(format!("cannot handle SIGTERM: {e}")))?;
    let super::live::LiveLoop(lp) =
        tui::host::run_live(super::live::LiveLoop::new(lp), args.speed.0, &stop)
            .map_err(|e| CliError::runtime(format!("terminal: {e}")))?;
    if lp.is_finished() {
        print!("{}", workbench::report::describe(lp.summary()));
    } else {
        println!(
            "stopped at {} after {} events, {} price changes",
            pipeline::time::format_rfc3339(lp.sim().clock()),
            lp.emitted(),
            lp.summary().price_changes
        );
    }
    Ok(())
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
