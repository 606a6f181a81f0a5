//! Runs a closed loop live: the loop on its own thread, paced to a speed
//! (× real time, or as fast as possible), the UI on this one. They share only
//! a one-slot mailbox holding the latest snapshot (the loop overwrites it,
//! never waits) and a command channel (the UI sends, never waits), so neither
//! can block the other. [`show`] is the UI half alone, for other producers
//! (`serve --tui`, see `live`). The loop is anything that implements
//! [`Simulation`] (the binary adapts the workbench's closed loop), so the UI
//! depends on the core's types only.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, TryRecvError, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pipeline::{CatalogItem, FeatureRecord, Millis};
use ratatui::crossterm::event::{self, Event, KeyEventKind};

use crate::app::{App, Command};
use crate::snapshot::{DecisionLine, Rates, Snapshot, Tracker};
use crate::ui;

/// How often the loop publishes a snapshot and the UI redraws.
const FRAME: Duration = Duration::from_millis(50);

/// The latest snapshot, overwritten by the producer and taken by the UI.
pub type Mailbox = Arc<Mutex<Option<Snapshot>>>;

/// A loop in simulated time that the UI can drive and show.
pub trait Simulation: Send + 'static {
    /// Advances one step; `false` once the run is over.
    fn step(&mut self) -> bool;
    /// Simulated time now.
    fn clock(&self) -> Millis;
    fn is_finished(&self) -> bool;
    fn set_kill_switch(&mut self, on: bool);
    /// Feature records of the windows closed since the last call.
    fn take_windows(&mut self) -> Vec<FeatureRecord>;
    /// (events emitted, nanoseconds in the model, model calls) so far, for
    /// the rates line.
    fn counters(&self) -> (u64, u128, u64);
    /// The shop's catalog now (prices, stock).
    fn items(&self) -> &[CatalogItem];
    /// The latest decisions, newest first.
    fn recent(&self) -> Vec<DecisionLine>;
    /// The header and counters: every field a host knows (scenario, policy,
    /// model, times, watermark, kill switch, events, windows, dead letters,
    /// price changes, revenue, moments); products, decisions, rates, speed
    /// and pause are the UI's to fill.
    fn header(&self) -> Snapshot;
}

/// Runs `lp` under the UI until the user quits or `stop` is set (a signal
/// handler's flag); returns the loop as it stood.
pub fn run_live<S: Simulation>(lp: S, speed: Option<f64>, stop: &AtomicBool) -> std::io::Result<S> {
    let mailbox: Mailbox = Arc::new(Mutex::new(None));
    let (commands, inbox) = channel::<Command>();
    let worker = {
        let mailbox = mailbox.clone();
        std::thread::spawn(move || drive(lp, speed, &mailbox, &inbox))
    };
    let outcome = show(&mailbox, speed, stop, |cmd| {
        let _ = commands.send(cmd);
    });
    let _ = commands.send(Command::Quit);
    let lp = worker
        .join()
        .map_err(|_| std::io::Error::other("the simulation thread panicked"))?;
    outcome.map(|()| lp)
}

/// The UI on this thread: draws the latest snapshot in `mailbox` and hands
/// each command to `on_command` until the user quits or `stop` is set — by
/// the host's SIGTERM/SIGHUP/SIGINT handler — then restores the terminal
/// (also when drawing fails).
pub fn show(
    mailbox: &Mailbox,
    speed: Option<f64>,
    stop: &AtomicBool,
    mut on_command: impl FnMut(Command),
) -> std::io::Result<()> {
    let mut terminal = ratatui::try_init().map_err(|e| {
        std::io::Error::other(format!(
            "cannot start the terminal UI (is this a terminal?): {e}"
        ))
    })?;
    let mut app = App::new(speed);
    let mut snap = Snapshot::default();
    let outcome = (|| -> std::io::Result<()> {
        loop {
            if stop.load(Ordering::SeqCst) {
                on_command(Command::Quit);
                return Ok(());
            }
            if let Some(s) = mailbox.lock().ok().and_then(|mut m| m.take()) {
                app.live = s.live;
                snap = s;
            }
            terminal.draw(|f| ui::draw(f, &app, &snap))?;
            if event::poll(FRAME)?
                && let Event::Key(key) = event::read()?
                && key.kind == KeyEventKind::Press
            {
                let rows: Vec<&str> = app
                    .rows(&snap)
                    .iter()
                    .map(|r| r.product_id.as_str())
                    .collect();
                if let Some(cmd) = app.on_key(key, &rows) {
                    on_command(cmd);
                    if cmd == Command::Quit {
                        return Ok(());
                    }
                }
            }
        }
    })();
    ratatui::restore();
    if outcome.is_err() {
        on_command(Command::Quit);
    }
    outcome
}

/// The loop thread: steps to keep up with the wall clock × speed, applies
/// commands, publishes snapshots.
fn drive<S: Simulation>(
    mut lp: S,
    mut speed: Option<f64>,
    mailbox: &Mailbox,
    inbox: &Receiver<Command>,
) -> S {
    let mut tracker = Tracker::from_items(lp.items());
    let mut paused = false;
    let mut anchor = (Instant::now(), lp.clock());
    let mut last = (Instant::now(), lp.counters());
    let mut rates = Rates::default();
    loop {
        loop {
            match inbox.try_recv() {
                Ok(Command::Quit) | Err(TryRecvError::Disconnected) => return lp,
                Ok(Command::Pause(p)) => {
                    paused = p;
                    anchor = (Instant::now(), lp.clock());
                }
                Ok(Command::Speed(s)) => {
                    speed = s;
                    anchor = (Instant::now(), lp.clock());
                }
                Ok(Command::KillSwitch(on)) => lp.set_kill_switch(on),
                Err(TryRecvError::Empty) => break,
            }
        }
        let frame_end = Instant::now() + FRAME;
        if !paused && !lp.is_finished() {
            let target =
                speed.map(|s| anchor.1 + (anchor.0.elapsed().as_secs_f64() * s * 1000.0) as i64);
            while Instant::now() < frame_end && target.is_none_or(|t| lp.clock() < t) && lp.step() {
            }
        }
        tracker.add_missing(lp.items());
        tracker.absorb(&lp.take_windows());
        let wall = last.0.elapsed().as_secs_f64();
        if wall >= 0.5 {
            let (events, nanos, calls) = lp.counters();
            let (was_events, was_nanos, was_calls) = last.1;
            rates = Rates {
                events_per_sec: (events - was_events) as f64 / wall,
                model_latency_us: (nanos - was_nanos) as f64
                    / (calls - was_calls).max(1) as f64
                    / 1000.0,
            };
            last = (Instant::now(), (events, nanos, calls));
        }
        let snap = tracker.snapshot(&lp, rates, speed, paused);
        if let Ok(mut m) = mailbox.lock() {
            *m = Some(snap);
        }
        let now = Instant::now();
        if now < frame_end {
            std::thread::sleep(frame_end - now);
        }
    }
}
