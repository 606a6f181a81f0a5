//! `pricestream serve`: Kinesis → the core → features table, with the
//! pricer on the features table's stream (in this process or a Lambda).
//!
//! Exactly-once effects from at-least-once parts:
//! - per shard, a lease (only its owner reads and checkpoints it) and a
//!   checkpoint written once the due windows are emitted: the last record processed, the
//!   first record an open window still needs (`replay_at`), and the core's
//!   state for the shard (last window, view history). A restart reads from
//!   `replay_at`, and the core keeps the checkpointed windows closed, so it
//!   emits exactly the windows not yet emitted;
//! - dead letters are keyed by shard and sequence number (rewrites are
//!   idempotent), and those of records processed before the checkpoint are
//!   not written again;
//! - prices apply from the next window: after writing a window's features,
//!   `serve` waits until the pricer has decided each of them (audit record
//!   present, applied prices visible in the catalog), refreshes those items
//!   in its cache, and only then closes the next window. The features a
//!   window gets therefore do not depend on timing.

use crate::error::Error;
use std::collections::{BTreeMap, HashSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use pipeline::{
    CatalogTable, DeadLetter, Driver, FeatureRecord, Millis, OrdersTable, PartitionId,
    PartitionState, Pipeline,
};
use tracing::{error, info, warn};

mod align;
mod ingest;
mod logs;
mod pricer;
mod window;

pub use logs::{init_logs, init_logs_to};

use crate::aws::{Aws, Item};
use crate::config::{Config, PricerMode};
use crate::consumer::{Consumer, Positions, Resume, Start};
use crate::leases::{Change, Dynamo, LeaseTable, Membership, ShardSpec};
use crate::metrics::Metrics;
use crate::pricing::Model;
use crate::shards::ShardInfo;
use crate::tables::{load_catalog, load_orders};

/// How `serve` runs.
#[derive(Default)]
pub struct Options {
    /// Exit once every shard is read to its end: close all windows, wait
    /// for their decisions, checkpoint, exit (a catch-up or batch run).
    pub drain: bool,
    /// While set, the in-process pricer holds every price (audited as `kill_switch`).
    pub kill_switch: Arc<AtomicBool>,
    /// While set, no records are read (windows already closed are still priced).
    pub paused: Arc<AtomicBool>,
    /// Told about every window and, a few times a second, the counters (a live display).
    pub observer: Option<Box<dyn Observer>>,
}

/// A decision as the audit table holds it.
#[derive(Clone, Debug, PartialEq)]
pub struct Decided {
    pub product_id: String,
    pub window_end: Millis,
    pub rule: String,
    pub applied: bool,
    pub from: f64,
    pub to: f64,
}

impl Decided {
    /// From an audit table item (its `record` attribute is the audit record as JSON).
    fn from_audit(item: &Item) -> Option<Decided> {
        let a: pipeline::AuditRecord =
            serde_json::from_str(item.get("record")?.as_s().ok()?).ok()?;
        Some(Decided {
            product_id: a.product_id,
            window_end: a.window_end,
            rule: a.rule.as_str().to_string(),
            applied: a.applied,
            from: a.current_price,
            to: a.final_price,
        })
    }
}

/// Watches a running service (`serve --tui`).
pub trait Observer: Send {
    /// A window was written and its decisions are in.
    fn window(&mut self, features: &[FeatureRecord], decisions: &[Decided]);
    /// The core's counters and the cached catalog.
    fn progress(&mut self, stats: &pipeline::Stats, catalog: &CatalogTable);
}

/// What a run did (also logged at exit).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Report {
    pub records: u64,
    pub dead_letters: u64,
    pub windows: u64,
    pub feature_records: u64,
    /// Feature records of a window already in the table (a restart's first window).
    pub already_written: u64,
    pub settle_timeouts: u64,
    /// The shards this worker read (leases held at some point of the run).
    pub shards: Vec<String>,
}

fn now_ms() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as Millis)
}

/// The sequence number a dead letter's position names (`seq` or `seq:i` for
/// a record inside a KPL aggregate).
fn sequence_of(position: &str) -> &str {
    position.split(':').next().unwrap_or(position)
}

struct Shard {
    part: PartitionId,
    /// Records read in this run as (ordinal, sequence), from the oldest an
    /// open window may still need.
    seqs: VecDeque<(u64, String)>,
    /// The last record processed before this run started (its dead letters are stored).
    stored_through: Option<String>,
    /// Records the core held for confirmation at the checkpoint
    /// (`PartitionState::held`): their dead letters are not stored.
    unstored: Vec<String>,
    processed: Option<String>,
    ended: bool,
    /// Consecutive polls that found the shard empty and caught up.
    idle_polls: u32,
    /// Read but not yet handed to the core (see `align`).
    waiting: align::Waiting,
    /// The core was told the shard ended.
    closed: bool,
}

/// The leased shards and where reading goes on.
struct Input {
    consumer: Consumer,
    shards: BTreeMap<String, Shard>,
    positions: Positions,
    /// The latest arrival released to the core (see `align`).
    merged: Millis,
}

struct Caches {
    catalog: CatalogTable,
    orders: OrdersTable,
    catalog_at: Instant,
    orders_at: Instant,
}

/// Runs until `stop` is set (SIGTERM, Ctrl-C) or, with `drain`, until the
/// stream is read to its end.
pub fn serve(
    config: &Config,
    mut options: Options,
    model: Option<Model>,
    stop: Arc<AtomicBool>,
    metrics: Metrics,
) -> Result<Report, Error> {
    let aws = Aws::connect(config)?;
    let worker = config
        .stream
        .worker_id
        .clone()
        .unwrap_or_else(default_worker_id);
    info!(worker = %worker, "worker");
    let pricer_stop = Arc::new(AtomicBool::new(false));
    let pricer = match (config.pricer.mode, model) {
        (PricerMode::InProcess, Some(model)) => Some(pricer::spawn_pricer(
            config.clone(),
            &worker,
            model,
            pricer_stop.clone(),
            options.kill_switch.clone(),
            metrics.clone(),
        )?),
        _ => None,
    };
    let mut run = Run {
        aws: &aws,
        config,
        membership: Membership::new(&worker, config.stream.lease_duration.0),
        metrics: &metrics,
        report: Report::default(),
        dead: Vec::new(),
        first_window: true,
        observer: options.observer.take(),
        lost: false,
        renewed: Instant::now(),
        ticked: Instant::now(),
    };
    let mut caches = Caches {
        catalog: CatalogTable::new(),
        orders: OrdersTable::new(),
        catalog_at: Instant::now(),
        orders_at: Instant::now(),
    };
    let result = run.work(&options, &stop, &mut caches);
    for (shard, e) in run.membership.release_all(&mut run.table()) {
        warn!(shard = %shard, "releasing the lease: {e}");
    }
    pricer_stop.store(true, Ordering::SeqCst);
    if let Some(p) = pricer
        && let Ok(Err(e)) = p.join()
    {
        error!("pricer: {e}");
    }
    result?;
    info!(report = ?run.report, "stopped");
    Ok(run.report)
}

/// Why a stretch of reading with one set of leases ended.
enum End {
    Stopped,
    Drained,
    /// The set of leases changed (or is about to: these were asked for).
    Rebalance(Vec<String>),
}

fn refresh_catalog(aws: &Aws, config: &Config, caches: &mut Caches) -> Result<(), Error> {
    let (catalog, bad) = load_catalog(aws, &config.tables.catalog)?;
    for (id, reason) in bad {
        warn!(product = %id, "catalog item skipped: {reason}");
    }
    caches.catalog = catalog;
    caches.catalog_at = Instant::now();
    Ok(())
}

fn refresh_orders(aws: &Aws, config: &Config, caches: &mut Caches) -> Result<(), Error> {
    let (orders, bad) = load_orders(aws, &config.tables.orders)?;
    for (key, reason) in bad {
        warn!(order = %key, "order skipped: {reason}");
    }
    caches.orders = orders.iter().collect();
    caches.orders_at = Instant::now();
    Ok(())
}

struct Run<'a> {
    aws: &'a Aws,
    config: &'a Config,
    membership: Membership,
    metrics: &'a Metrics,
    report: Report,
    dead: Vec<DeadLetter>,
    /// Windows emitted since the (re)start and before its first checkpoint
    /// may have been written before a crash: what is there is kept.
    first_window: bool,
    observer: Option<Box<dyn Observer>>,
    /// A checkpoint found a lease taken: read with the remaining ones.
    lost: bool,
    /// When the leases were last renewed.
    renewed: Instant,
    /// When the leases were last balanced (a tick reads every lease and
    /// notices handover requests; renewals between windows do not).
    ticked: Instant,
}

impl<'a> Run<'a> {
    fn table(&self) -> Dynamo<'a> {
        Dynamo {
            aws: self.aws,
            table: &self.config.tables.checkpoints,
        }
    }

    /// Renews and balances the leases (see `leases::membership`).
    fn tick(&mut self, shards: &[ShardInfo]) -> Result<Change, Error> {
        let specs: Vec<ShardSpec> = shards
            .iter()
            .map(|s| ShardSpec {
                id: s.id.clone(),
                parents: s.parent.iter().chain(&s.adjacent_parent).cloned().collect(),
            })
            .collect();
        let change = self.membership.tick(&mut self.table(), now_ms(), &specs)?;
        self.renewed = Instant::now();
        self.ticked = Instant::now();
        if change.any() {
            info!(gained = ?change.gained, lost = ?change.lost, asked = ?change.asked, "leases changed");
        }
        self.metrics
            .leases_held
            .set(self.membership.held().count() as i64);
        Ok(change)
    }

    fn renew_every(&self) -> Duration {
        Duration::from_millis(self.config.stream.lease_duration.0 as u64 / 3)
    }

    /// Renews the leases when due, wherever the worker is busy (a window
    /// after another, a slow pricer): a lease not renewed is lost.
    fn keep_leases(&mut self) -> Result<(), Error> {
        if self.renewed.elapsed() < self.renew_every() {
            return Ok(());
        }
        let lost = self.membership.renew(&mut self.table(), now_ms())?;
        self.renewed = Instant::now();
        if !lost.is_empty() {
            warn!(lost = ?lost, "leases lost");
            self.lost = true;
        }
        Ok(())
    }

    /// Reads with whatever leases this worker holds; when they change, stores
    /// what was processed (checkpoints, then hands asked-for shards over) and
    /// starts again from the checkpoints of the new set, as a restart would.
    fn work(
        &mut self,
        options: &Options,
        stop: &AtomicBool,
        caches: &mut Caches,
    ) -> Result<(), Error> {
        let interval = Duration::from_millis(self.config.stream.lease_duration.0 as u64 / 3);
        let mut lister = self.consumer();
        lister.restrict(HashSet::new());
        let mut waiting_since: Option<Instant> = None;
        self.refuse_a_namesake(stop)?;
        while !stop.load(Ordering::SeqCst) {
            lister.refresh(self.aws, &Positions::new())?;
            let change = self.tick(lister.shards())?;
            for id in &change.asked {
                self.membership.hand_over(&mut self.table(), id)?;
            }
            if self.membership.held().next().is_none() {
                if waiting_since.is_none_or(|t| t.elapsed() >= Duration::from_secs(10)) {
                    info!("waiting for a lease: every shard is held by another worker");
                    waiting_since = Some(Instant::now());
                }
                std::thread::sleep(interval.min(Duration::from_millis(500)));
                continue;
            }
            waiting_since = None;
            let (mut driver, mut input) = self.start_reading()?;
            // Caches are loaded once the leases are held: a standby may have
            // waited while the catalog's prices moved.
            refresh_catalog(self.aws, self.config, caches)?;
            refresh_orders(self.aws, self.config, caches)?;
            self.first_window = true;
            let end = self.main_loop(options, stop, &mut driver, &mut input, caches);
            // Whatever happened, store what was processed (best effort after an error).
            let flushed = self
                .flush_dead_letters()
                .and_then(|()| self.checkpoint_all(driver.core(), &mut input.shards));
            self.report.records += driver.core().stats().received;
            match (end?, flushed) {
                (_, Err(e)) => return Err(e),
                (End::Stopped | End::Drained, Ok(())) => return Ok(()),
                (End::Rebalance(asked), Ok(())) => {
                    for id in &asked {
                        self.membership.hand_over(&mut self.table(), id)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Leases under this worker's id at start come from an earlier run of
    /// it, or from another running worker given the same id, which would
    /// then share them: watch their counters for a lease duration and
    /// refuse to start if they move.
    fn refuse_a_namesake(&mut self, stop: &AtomicBool) -> Result<(), Error> {
        let me = self.membership.me().to_string();
        let mut table = self.table();
        let mut mine = || -> Result<BTreeMap<String, u64>, Error> {
            Ok(table
                .load()?
                .into_iter()
                .filter(|l| l.owner.as_deref() == Some(me.as_str()))
                .map(|l| (l.shard_id, l.counter))
                .collect())
        };
        let before = mine()?;
        if before.is_empty() {
            return Ok(());
        }
        info!(
            leases = before.len(),
            "leases under this worker id from an earlier run: checking that no running worker renews them"
        );
        let watch = self.config.stream.lease_duration.0 as u64;
        let until = Instant::now() + Duration::from_millis(watch + watch / 3);
        while Instant::now() < until && !stop.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(100));
        }
        let after = mine()?;
        if after.iter().any(|(id, c)| before.get(id) != Some(c)) {
            return Err(Error::user(format!(
                "worker id `{me}` is in use: a running worker renews leases under it. Give each replica its own `stream.worker_id` (PRICESTREAM_STREAM_WORKER_ID), or leave it unset for a unique default"
            )));
        }
        Ok(())
    }

    fn consumer(&self) -> Consumer {
        let s = &self.config.stream;
        Consumer::new(
            &s.name,
            Start::from_config(s.start_position, s.start_timestamp.as_deref()),
            s.max_records,
            Duration::from_millis(s.poll_interval.0 as u64),
        )
    }

    /// A fresh core and consumer for the leases held, each shard resumed
    /// from its checkpoint.
    fn start_reading(&mut self) -> Result<(Driver, Input), Error> {
        let mut driver =
            Driver::new(Pipeline::new(self.config.pipeline.clone()).map_err(Error::user)?);
        let mut shards: BTreeMap<String, Shard> = BTreeMap::new();
        let mut positions = Positions::new();
        for lease in self.membership.held() {
            let part = driver.core_mut().register_partition(&lease.shard_id);
            let mut unstored = Vec::new();
            if let Some(state) = &lease.state {
                let state: PartitionState = serde_json::from_str(state).map_err(|e| {
                    Error::internal(format!("checkpoint of {}: {e}", lease.shard_id))
                })?;
                unstored.clone_from(&state.held);
                driver.core_mut().resume(part, state);
            }
            if let Some(r) = lease.replay_at.clone().map(Resume::At) {
                positions.insert(lease.shard_id.clone(), r);
            } else if let Some(c) = lease.checkpoint.clone().map(Resume::After) {
                positions.insert(lease.shard_id.clone(), c);
            }
            info!(shard = %lease.shard_id, resume = ?positions.get(&lease.shard_id), last_window = lease.last_window, "leased");
            if !self.report.shards.contains(&lease.shard_id) {
                self.report.shards.push(lease.shard_id.clone());
                self.report.shards.sort();
            }
            shards.insert(
                lease.shard_id.clone(),
                Shard {
                    part,
                    stored_through: lease.checkpoint.clone(),
                    unstored,
                    processed: None,
                    seqs: VecDeque::new(),
                    ended: lease.finished,
                    idle_polls: 0,
                    waiting: align::Waiting::new(self.config.pipeline.max_time_jump),
                    closed: false,
                },
            );
        }
        let mut consumer = self.consumer();
        consumer.restrict(shards.keys().cloned().collect());
        consumer.refresh(self.aws, &positions)?;
        self.lost = false;
        Ok((
            driver,
            Input {
                consumer,
                shards,
                positions,
                merged: Millis::MIN,
            },
        ))
    }

    fn main_loop(
        &mut self,
        options: &Options,
        stop: &AtomicBool,
        driver: &mut Driver,
        input: &mut Input,
        caches: &mut Caches,
    ) -> Result<End, Error> {
        let Input {
            consumer,
            shards,
            positions,
            merged,
        } = input;
        let (catalog_ttl, orders_ttl) = self.config.refresh();
        let checkpoint_every =
            Duration::from_millis(self.config.stream.checkpoint_interval.0 as u64);
        let mut checkpointed = Instant::now();
        let mut shown = Instant::now();
        let mut received = 0;
        let mut stats = driver.core().stats();
        let mut drained_since: Option<Instant> = None;
        while !stop.load(Ordering::SeqCst) {
            if self.ticked.elapsed() >= self.renew_every() {
                let change = self.tick(consumer.shards())?;
                if change.any() {
                    return Ok(End::Rebalance(change.asked));
                }
            }
            if std::mem::take(&mut self.lost) {
                return Ok(End::Rebalance(Vec::new()));
            }
            if caches.catalog_at.elapsed().as_millis() as Millis >= catalog_ttl {
                refresh_catalog(self.aws, self.config, caches)?;
            }
            if caches.orders_at.elapsed().as_millis() as Millis >= orders_ttl {
                refresh_orders(self.aws, self.config, caches)?;
            }
            if let Some(o) = &mut self.observer
                && shown.elapsed() >= Duration::from_millis(250)
            {
                o.progress(&stats, &caches.catalog);
                shown = Instant::now();
            }
            if options.paused.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
            // A shard with records waiting is not read again (see `align`),
            // unless they wait for its next record.
            let batches = match consumer.poll_where(self.aws, positions, |id| {
                shards
                    .get(id)
                    .is_some_and(|s| s.waiting.is_empty() || s.waiting.undecided())
            }) {
                Ok(b) => b,
                // Transient faults are retried in place; anything else ends
                // the run (see `error`'s policy).
                Err(e) if !e.retryable() => return Err(e),
                Err(e) => {
                    self.metrics.aws_error("GetRecords");
                    warn!("{e}; retrying");
                    std::thread::sleep(Duration::from_secs(1));
                    continue;
                }
            };
            let now = now_ms();
            let far_future = self
                .config
                .pipeline
                .max_future_skew
                .map_or(Millis::MAX, |skew| now.saturating_add(skew));
            let polled_any = batches.iter().any(|b| !b.records.is_empty());
            for batch in batches {
                let Some(shard) = shards.get_mut(&batch.shard_id) else {
                    continue;
                };
                if let Some(ms) = batch.millis_behind_latest {
                    self.metrics.behind(&batch.shard_id, ms);
                }
                let caught_up = batch.records.is_empty()
                    && (batch.shard_ended || batch.millis_behind_latest.unwrap_or(0) == 0);
                shard.idle_polls = if caught_up { shard.idle_polls + 1 } else { 0 };
                shard.ended |= batch.shard_ended;
                for r in batch.records {
                    shard.waiting.push(r, far_future, *merged);
                }
            }
            self.ingest_aligned(driver, shards, merged, now, caches);
            self.take_dead_letters(driver, shards);
            let mut emitted = false;
            while let Some(window) = driver.next_window(now, &caches.catalog, &caches.orders) {
                self.emit_window(window, driver, shards, caches)?;
                emitted = true;
                self.keep_leases()?;
            }
            if emitted {
                self.flush_dead_letters()?;
                self.checkpoint_all(driver.core(), shards)?;
                checkpointed = Instant::now();
                self.first_window = false;
            }
            stats = driver.core().stats();
            self.metrics.events_in.inc_by(stats.received - received);
            received = stats.received;
            if let Some(wm) = stats.watermark {
                self.metrics
                    .watermark_lag_seconds
                    .set((now - wm) as f64 / 1000.0);
            }
            // In a fleet, not while a shard waits for an owner; and while
            // other workers hold shards, only after watching them for two
            // lease durations, so the shards of one that crashed are seen
            // to expire, taken over and read first.
            let drained = !shards.is_empty()
                && shards
                    .values()
                    .all(|s| s.idle_polls >= 2 && s.waiting.is_empty())
                && self.membership.orphaned() == 0;
            let since = *drained_since.get_or_insert_with(Instant::now);
            if !drained {
                drained_since = None;
            }
            let watched =
                self.membership.held_by_others() == 0 || since.elapsed() >= 6 * self.renew_every();
            let drained = drained && watched;
            if options.drain && drained {
                info!("every shard is read to its end: closing the remaining windows");
                driver.end_of_input();
                while let Some(window) = driver.next_window(now, &caches.catalog, &caches.orders) {
                    self.emit_window(window, driver, shards, caches)?;
                }
                return Ok(End::Drained);
            }
            if checkpointed.elapsed() >= checkpoint_every {
                self.flush_dead_letters()?;
                self.checkpoint_all(driver.core(), shards)?;
                checkpointed = Instant::now();
            }
            if !polled_any {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        Ok(End::Stopped)
    }
}

/// `pricestream-HOST-PID-SUFFIX`: containers often share a pid (1) and may
/// share a host name, and a worker that took another's id would take its
/// leases at once.
pub fn default_worker_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".into());
    // A per-process random value from the standard library's hasher keys.
    let suffix = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    format!(
        "pricestream-{host}-{}-{:06x}",
        std::process::id(),
        suffix & 0xff_ffff
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn default_worker_ids_are_unique_per_process_even_with_the_same_pid_and_host() {
        let (a, b) = (super::default_worker_id(), super::default_worker_id());
        let pid = format!("-{}-", std::process::id());
        assert!(a.starts_with("pricestream-") && a.contains(&pid), "{a}");
        assert_ne!(a, b, "two workers in one container (pid 1 each) differ");
    }
}
