//! `pricestream serve`: the production service, optionally with the live
//! terminal UI.

use std::fs::File;
use std::path::PathBuf;

use clap::Args;

use super::error::{CliError, CliResult};

#[derive(Args)]
pub struct ServeArgs {
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
    /// Write logs to FILE instead of stderr (with --tui: default
    /// pricestream-serve.log, as the screen is the UI's).
    #[arg(long, value_name = "FILE")]
    log: Option<PathBuf>,
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

pub fn run(args: ServeArgs) -> CliResult {
    let config = super::aws::load_config(&args.config)?;
    let log = args
        .log
        .clone()
        .or_else(|| args.tui.then(|| PathBuf::from("pricestream-serve.log")));
    match &log {
        Some(path) => match File::create(path) {
            Ok(f) => {
                service::serve::init_logs_to(&config.metrics.log_format, std::sync::Mutex::new(f))
            }
            Err(e) => {
                return Err(CliError::input(format!(
                    "--log: cannot write {}: {e}",
                    path.display()
                )));
            }
        },
        None => service::serve::init_logs(&config.metrics.log_format),
    }
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = stop.clone();
    if let Err(e) = ctrlc::set_handler(move || {
        flag.store(true, std::sync::atomic::Ordering::SeqCst);
    }) {
        return Err(CliError::runtime(format!(
            "cannot handle SIGTERM/Ctrl-C: {e}"
        )));
    }
    let model = match config.pricer.mode {
        service::config::PricerMode::InProcess => match service::pricing::load_model(&config) {
            Ok(m) => Some(m),
            Err(e) => return Err(e.context("model").into()),
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
            Err(e) => return Err(e.into()),
        };
    let mut options = service::serve::Options {
        drain: args.drain,
        ..Default::default()
    };
    if !args.tui {
        let report = service::serve::serve(&config, options, model, stop, metrics)?;
        println!("{}", serde_json::to_string(&report).unwrap_or_default());
        return Ok(());
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
    // The signal handler's flag stops the UI too, which restores the terminal.
    let shown = tui::host::show(&mailbox, Some(1.0), &stop, |cmd| match cmd {
        tui::Command::Quit => set(&stop, true),
        tui::Command::KillSwitch(on) => set(&kill_switch, on),
        tui::Command::Pause(on) => set(&paused, on),
        tui::Command::Speed(_) => {}
    });
    set(&stop, true);
    let served = worker.join().unwrap_or_else(|_| {
        Err(service::error::Error::internal(
            "the service thread panicked",
        ))
    });
    shown.map_err(|e| CliError::runtime(format!("terminal: {e}")))?;
    let report = served?;
    println!("{}", serde_json::to_string(&report).unwrap_or_default());
    Ok(())
}
