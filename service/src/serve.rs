//! `pricestream serve`: Kinesis → the core → features table, with the
//! pricer on the features table's stream (in this process or a Lambda).
//!
//! Exactly-once effects from at-least-once parts:
//! - per shard, a lease (only its owner reads and checkpoints it) and a
//!   checkpoint written after every window: the last record processed, the
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

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use pipeline::{
    CatalogTable, ClosedWindow, DeadLetter, Driver, FeatureRecord, Millis, OrdersTable,
    PartitionId, PartitionState, Pipeline, Position, RawRecord,
};
use tracing::{error, info, warn};

use crate::aws::{Aws, Item, batch_get, put_items};
use crate::config::{Config, PricerMode};
use crate::consumer::{Consumer, Positions, Resume, Start};
use crate::leases::{self, Lease, Outcome};
use crate::metrics::Metrics;
use crate::pricing::{Model, Outcome as Priced, Stage};
use crate::shards::compare_sequence;
use crate::streams::TableStream;
use crate::tables::{catalog_item, feature_item, feature_record, load_catalog, load_orders};

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
    fn from_audit(item: &Item) -> Option<Decided> {
        let record: serde_json::Value =
            serde_json::from_str(item.get("record")?.as_s().ok()?).ok()?;
        Some(Decided {
            product_id: record["product_id"].as_str()?.to_string(),
            window_end: item.get("window_end")?.as_n().ok()?.parse().ok()?,
            rule: record["rule"].as_str()?.to_string(),
            applied: record["applied"].as_bool()?,
            from: record["current_price"].as_f64()?,
            to: record["final_price"].as_f64()?,
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
    lease: Lease,
    /// Records read in this run as (ordinal, sequence), from the oldest an
    /// open window may still need.
    seqs: VecDeque<(u64, String)>,
    /// The last record processed before this run started (its dead letters are stored).
    stored_through: Option<String>,
    processed: Option<String>,
    ended: bool,
    /// Consecutive polls that found the shard empty and caught up.
    idle_polls: u32,
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
) -> Result<Report, String> {
    let aws = Aws::connect(config)?;
    let worker = config
        .stream
        .worker_id
        .clone()
        .unwrap_or_else(|| format!("pricestream-{}", std::process::id()));
    let mut caches = Caches {
        catalog: CatalogTable::new(),
        orders: OrdersTable::new(),
        catalog_at: Instant::now(),
        orders_at: Instant::now(),
    };
    refresh_catalog(&aws, config, &mut caches)?;
    refresh_orders(&aws, config, &mut caches)?;
    let mut driver =
        Driver::new(Pipeline::new(config.pipeline_config()).map_err(|e| e.to_string())?);
    let mut consumer = Consumer::new(
        &config.stream.name,
        Start::from_config(
            config.stream.start_position,
            config.stream.start_timestamp.as_deref(),
        ),
        config.stream.max_records,
        Duration::from_millis(config.stream.poll_interval.0 as u64),
    );
    // List the shards without reading any, then lease them.
    consumer.restrict(HashSet::new());
    consumer.refresh(&aws, &Positions::new())?;
    let ids: Vec<String> = consumer.shards().iter().map(|s| s.id.clone()).collect();
    let leases = acquire(&aws, config, &worker, &ids, &stop)?;
    let mut shards: BTreeMap<String, Shard> = BTreeMap::new();
    let mut positions = Positions::new();
    for lease in leases {
        let part = driver.core_mut().register_partition(&lease.shard_id);
        if let Some(state) = &lease.state {
            let state: PartitionState = serde_json::from_str(state)
                .map_err(|e| format!("checkpoint of {}: {e}", lease.shard_id))?;
            driver.core_mut().resume(part, state);
        }
        if let Some(r) = lease.replay_at.clone().map(Resume::At) {
            positions.insert(lease.shard_id.clone(), r);
        } else if let Some(c) = lease.checkpoint.clone().map(Resume::After) {
            positions.insert(lease.shard_id.clone(), c);
        }
        info!(shard = %lease.shard_id, resume = ?positions.get(&lease.shard_id), last_window = lease.last_window, "leased");
        shards.insert(
            lease.shard_id.clone(),
            Shard {
                part,
                stored_through: lease.checkpoint.clone(),
                processed: None,
                seqs: VecDeque::new(),
                ended: false,
                idle_polls: 0,
                lease,
            },
        );
    }
    consumer.restrict(shards.keys().cloned().collect());
    consumer.refresh(&aws, &positions)?;

    let pricer_stop = Arc::new(AtomicBool::new(false));
    let pricer = match (config.pricer.mode, model) {
        (PricerMode::InProcess, Some(model)) => Some(spawn_pricer(
            config.clone(),
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
        worker: &worker,
        metrics: &metrics,
        report: Report::default(),
        dead: Vec::new(),
        first_window: true,
        observer: options.observer.take(),
    };
    let result = run.main_loop(
        &options,
        &stop,
        &mut driver,
        &mut consumer,
        &mut shards,
        &mut positions,
        &mut caches,
    );
    // Whatever happened, store what was processed (best effort after an error).
    let flushed = run
        .flush_dead_letters()
        .and_then(|()| run.checkpoint_all(driver.core(), &mut shards));
    for shard in shards.values() {
        if let Err(e) = leases::release(&aws, &config.tables.checkpoints, &shard.lease, &worker) {
            warn!(shard = %shard.lease.shard_id, "{e}");
        }
    }
    pricer_stop.store(true, Ordering::SeqCst);
    if let Some(p) = pricer
        && let Ok(Err(e)) = p.join()
    {
        error!("pricer: {e}");
    }
    result?;
    flushed?;
    info!(report = ?run.report, "stopped");
    Ok(run.report)
}

/// Takes the lease of every shard: unowned ones at once, ones whose owner
/// stopped renewing after `lease_duration` without a change.
fn acquire(
    aws: &Aws,
    config: &Config,
    worker: &str,
    shards: &[String],
    stop: &AtomicBool,
) -> Result<Vec<Lease>, String> {
    let table = &config.tables.checkpoints;
    let patience = Duration::from_millis(config.stream.lease_duration.0 as u64);
    let mut first_seen: HashMap<String, (u64, Instant)> = HashMap::new();
    let mut held: BTreeMap<String, Lease> = BTreeMap::new();
    while held.len() < shards.len() && !stop.load(Ordering::SeqCst) {
        let existing: HashMap<String, Lease> = leases::load(aws, table)?
            .into_iter()
            .map(|l| (l.shard_id.clone(), l))
            .collect();
        let wanted: Vec<&String> = shards.iter().filter(|id| !held.contains_key(*id)).collect();
        for id in wanted {
            let seen = existing.get(id).cloned().unwrap_or_else(|| Lease {
                shard_id: id.clone(),
                ..Lease::default()
            });
            let free = match &seen.owner {
                None => true,
                Some(o) if o == worker => true,
                Some(_) => {
                    let (counter, since) = first_seen
                        .entry(id.clone())
                        .or_insert((seen.counter, Instant::now()));
                    if *counter != seen.counter {
                        *counter = seen.counter;
                        *since = Instant::now();
                    }
                    since.elapsed() >= patience
                }
            };
            if free && leases::take(aws, table, &seen, worker)? == Outcome::Done {
                let mut lease = seen;
                lease.owner = Some(worker.to_string());
                lease.counter += 1;
                held.insert(id.clone(), lease);
            }
        }
        if held.len() < shards.len() {
            info!(
                waiting = shards.len() - held.len(),
                "waiting for leases held by other workers"
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }
    Ok(held.into_values().collect())
}

fn refresh_catalog(aws: &Aws, config: &Config, caches: &mut Caches) -> Result<(), String> {
    let (catalog, bad) = load_catalog(aws, &config.tables.catalog)?;
    for (id, reason) in bad {
        warn!(product = %id, "catalog item skipped: {reason}");
    }
    caches.catalog = catalog;
    caches.catalog_at = Instant::now();
    Ok(())
}

fn refresh_orders(aws: &Aws, config: &Config, caches: &mut Caches) -> Result<(), String> {
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
    worker: &'a str,
    metrics: &'a Metrics,
    report: Report,
    dead: Vec<DeadLetter>,
    /// The first window after a (re)start may have been written before a crash.
    first_window: bool,
    observer: Option<Box<dyn Observer>>,
}

impl Run<'_> {
    #[allow(clippy::too_many_arguments)]
    fn main_loop(
        &mut self,
        options: &Options,
        stop: &AtomicBool,
        driver: &mut Driver,
        consumer: &mut Consumer,
        shards: &mut BTreeMap<String, Shard>,
        positions: &mut Positions,
        caches: &mut Caches,
    ) -> Result<(), String> {
        let (catalog_ttl, orders_ttl) = self.config.refresh();
        let renew_every = Duration::from_millis(self.config.stream.lease_duration.0 as u64 / 3);
        let checkpoint_every =
            Duration::from_millis(self.config.stream.checkpoint_interval.0 as u64);
        let (mut renewed, mut checkpointed) = (Instant::now(), Instant::now());
        let mut shown = Instant::now();
        let mut received = 0;
        let mut stats = driver.core().stats();
        while !stop.load(Ordering::SeqCst) {
            if renewed.elapsed() >= renew_every {
                self.renew(shards, consumer)?;
                renewed = Instant::now();
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
            let allow = aligned(
                &stats,
                driver.core().watermark(),
                shards,
                self.config.stream.max_ahead.0,
            );
            let batches = match consumer.poll_where(self.aws, positions, |id| allow.contains(id)) {
                Ok(b) => b,
                Err(e) => {
                    self.metrics.aws_error("GetRecords");
                    warn!("{e}");
                    std::thread::sleep(Duration::from_secs(1));
                    continue;
                }
            };
            let now = now_ms();
            for batch in &batches {
                let Some(shard) = shards.get_mut(&batch.shard_id) else {
                    continue;
                };
                if let Some(ms) = batch.millis_behind_latest {
                    self.metrics.behind(&batch.shard_id, ms);
                }
                let first = driver.core().ordinal(shard.part);
                let records: Vec<RawRecord> = batch
                    .records
                    .iter()
                    .map(|r| RawRecord {
                        bytes: &r.data,
                        position: Position::Sequence(&r.sequence),
                    })
                    .collect();
                driver.ingest(shard.part, now, &records, &caches.catalog);
                for (i, r) in batch.records.iter().enumerate() {
                    shard.seqs.push_back((first + i as u64, r.sequence.clone()));
                }
                if let Some(last) = batch.records.last() {
                    shard.processed = Some(last.sequence.clone());
                }
                if batch.shard_ended {
                    driver.core_mut().close_partition(shard.part);
                    shard.ended = true;
                }
                let caught_up = batch.records.is_empty()
                    && (batch.shard_ended || batch.millis_behind_latest.unwrap_or(0) == 0);
                shard.idle_polls = if caught_up { shard.idle_polls + 1 } else { 0 };
            }
            self.take_dead_letters(driver, shards);
            while let Some(window) = driver.next_window(now, &caches.catalog, &caches.orders) {
                self.emit_window(window, driver, shards, caches)?;
                checkpointed = Instant::now();
            }
            stats = driver.core().stats();
            self.metrics.events_in.inc_by(stats.received - received);
            received = stats.received;
            if let Some(wm) = stats.watermark {
                self.metrics
                    .watermark_lag_seconds
                    .set((now - wm) as f64 / 1000.0);
            }
            let drained = !shards.is_empty() && shards.values().all(|s| s.idle_polls >= 2);
            if options.drain && drained {
                info!("every shard is read to its end: closing the remaining windows");
                driver.end_of_input();
                while let Some(window) = driver.next_window(now, &caches.catalog, &caches.orders) {
                    self.emit_window(window, driver, shards, caches)?;
                }
                break;
            }
            if checkpointed.elapsed() >= checkpoint_every {
                self.flush_dead_letters()?;
                self.checkpoint_all(driver.core(), shards)?;
                checkpointed = Instant::now();
            }
            if batches.iter().all(|b| b.records.is_empty()) {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        self.report.records = driver.core().stats().received;
        Ok(())
    }

    fn renew(
        &mut self,
        shards: &mut BTreeMap<String, Shard>,
        consumer: &mut Consumer,
    ) -> Result<(), String> {
        let table = &self.config.tables.checkpoints;
        let mut lost = Vec::new();
        for (id, shard) in shards.iter_mut() {
            if leases::renew(self.aws, table, &mut shard.lease, self.worker)? == Outcome::Lost {
                lost.push(id.clone());
            }
        }
        if !lost.is_empty() {
            return Err(format!(
                "lost the lease of {} to another worker; stopping so it can take over",
                lost.join(", ")
            ));
        }
        consumer.restrict(shards.keys().cloned().collect());
        Ok(())
    }

    /// Keeps the dead letters of records not processed before this run.
    fn take_dead_letters(&mut self, driver: &mut Driver, shards: &BTreeMap<String, Shard>) {
        for d in driver.take_dead_letters() {
            let stored = shards
                .get(&*d.partition)
                .and_then(|s| s.stored_through.as_deref())
                .is_some_and(|through| compare_sequence(sequence_of(&d.position), through).is_le());
            if !stored {
                self.metrics.dead_letter(d.reason.as_str());
                self.dead.push(d);
            }
        }
    }

    fn flush_dead_letters(&mut self) -> Result<(), String> {
        if self.dead.is_empty() {
            return Ok(());
        }
        crate::dlq::put(self.aws, &self.config.tables.dead_letters, &self.dead)?;
        self.report.dead_letters += self.dead.len() as u64;
        self.dead.clear();
        Ok(())
    }

    /// Writes a closed window's features, waits for their decisions, settles
    /// the window with the driver, then checkpoints.
    fn emit_window(
        &mut self,
        window: ClosedWindow,
        driver: &mut Driver,
        shards: &mut BTreeMap<String, Shard>,
        caches: &mut Caches,
    ) -> Result<(), String> {
        self.take_dead_letters(driver, shards);
        let features = window.features;
        let table = &self.config.tables.features;
        let mut items: Vec<Item> = features.iter().map(feature_item).collect();
        if std::mem::take(&mut self.first_window) && !items.is_empty() {
            let there: HashSet<(String, String)> =
                batch_get(self.aws, table, items.iter().map(key_of).collect())?
                    .iter()
                    .filter_map(key_pair)
                    .collect();
            let before = items.len();
            items.retain(|i| key_pair(i).is_none_or(|k| !there.contains(&k)));
            self.report.already_written += (before - items.len()) as u64;
        }
        let written = items.len() as u64;
        put_items(self.aws, table, items)?;
        self.report.windows += 1;
        self.report.feature_records += written;
        self.metrics.windows_closed.inc();
        self.metrics.feature_records.inc_by(written);
        if let Some(end) = features.first().map(|f| f.window.end) {
            let audits = self.settle(&features, end, caches)?;
            if let Some(o) = &mut self.observer {
                let decided: Vec<Decided> = audits.iter().filter_map(Decided::from_audit).collect();
                o.window(&features, &decided);
            }
        }
        driver.settle(window.end).map_err(|e| e.to_string())?;
        self.flush_dead_letters()?;
        self.checkpoint_all(driver.core(), shards)
    }

    /// Waits until every record of window `end` has a decision and applied
    /// prices are visible, then takes those items into the cache.
    fn settle(
        &mut self,
        features: &[FeatureRecord],
        end: Millis,
        caches: &mut Caches,
    ) -> Result<Vec<Item>, String> {
        let t = &self.config.tables;
        let deadline =
            Instant::now() + Duration::from_millis(self.config.pricer.settle_timeout.0 as u64);
        let keys: Vec<Item> = features
            .iter()
            .map(|f| {
                HashMap::from([
                    (
                        "product_id".to_string(),
                        AttributeValue::S(f.product_id.clone()),
                    ),
                    ("window_end".to_string(), AttributeValue::N(end.to_string())),
                ])
            })
            .collect();
        let product_keys: Vec<Item> = features
            .iter()
            .map(|f| {
                HashMap::from([(
                    "product_id".to_string(),
                    AttributeValue::S(f.product_id.clone()),
                )])
            })
            .collect();
        loop {
            let audits = batch_get(self.aws, &t.audit, keys.clone())?;
            let applied: HashSet<String> = audits
                .iter()
                .filter(|a| matches!(a.get("applied"), Some(AttributeValue::Bool(true))))
                .filter_map(|a| a.get("product_id").and_then(|v| v.as_s().ok()).cloned())
                .collect();
            let items = batch_get(self.aws, &t.catalog, product_keys.clone())?;
            let visible = items.iter().all(|i| {
                let id = i.get("product_id").and_then(|v| v.as_s().ok());
                let last: Millis = i
                    .get("last_window")
                    .and_then(|v| v.as_n().ok())
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0);
                !id.is_some_and(|id| applied.contains(id)) || last >= end
            });
            let settled = audits.len() == features.len() && visible;
            if settled || Instant::now() >= deadline {
                if !settled {
                    self.report.settle_timeouts += 1;
                    self.metrics.settle_timeouts.inc();
                    warn!(
                        window_end = end,
                        decided = audits.len(),
                        records = features.len(),
                        "the pricer did not decide the window in time; the next window uses the prices as they are"
                    );
                }
                for item in &items {
                    if let Ok(c) = catalog_item(item) {
                        caches.catalog.upsert(c);
                    }
                }
                return Ok(audits);
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// Checkpoints every shard (see the module docs).
    fn checkpoint_all(
        &mut self,
        core: &Pipeline,
        shards: &mut BTreeMap<String, Shard>,
    ) -> Result<(), String> {
        let table = &self.config.tables.checkpoints;
        for shard in shards.values_mut() {
            let Some(processed) = shard
                .processed
                .clone()
                .or_else(|| shard.lease.checkpoint.clone())
            else {
                continue;
            };
            let replay_at = match core.replay_from(shard.part) {
                Some(ordinal) => {
                    while shard.seqs.front().is_some_and(|(o, _)| *o < ordinal) {
                        shard.seqs.pop_front();
                    }
                    shard.seqs.front().map(|(_, s)| s.clone())
                }
                None => {
                    shard.seqs.clear();
                    None
                }
            };
            let state = core.partition_state(shard.part);
            let at = leases::Position {
                processed,
                finished: shard.ended && replay_at.is_none(),
                replay_at,
                last_window: state.last_window,
                state: serde_json::to_string(&state).ok(),
            };
            if at.processed == shard.lease.checkpoint.clone().unwrap_or_default()
                && at.replay_at == shard.lease.replay_at
                && at.last_window == shard.lease.last_window
                && at.state == shard.lease.state
            {
                continue;
            }
            if leases::checkpoint(self.aws, table, &mut shard.lease, self.worker, &at)?
                == Outcome::Lost
            {
                return Err(format!(
                    "lost the lease of {} to another worker; stopping",
                    shard.lease.shard_id
                ));
            }
            self.metrics.checkpoints.inc();
        }
        Ok(())
    }
}

/// The shards to read now: those not ahead of the watermark by more than
/// `max_ahead` in event time (so a backlog is read in step across shards,
/// and lateness depends on event time, not on which shard was read first).
/// When only caught-up shards would be left, every shard may go on.
fn aligned(
    stats: &pipeline::Stats,
    global: Millis,
    shards: &BTreeMap<String, Shard>,
    max_ahead: Millis,
) -> HashSet<String> {
    let ahead: HashSet<&str> = stats
        .partitions
        .iter()
        .filter(|p| {
            global != Millis::MIN
                && p.watermark
                    .is_some_and(|w| w > global.saturating_add(max_ahead))
        })
        .map(|p| p.name.as_str())
        .collect();
    let behind_busy = shards
        .iter()
        .any(|(id, s)| !ahead.contains(id.as_str()) && s.idle_polls == 0 && !s.ended);
    shards
        .keys()
        .filter(|id| !behind_busy || !ahead.contains(id.as_str()))
        .cloned()
        .collect()
}

fn key_of(item: &Item) -> Item {
    item.iter()
        .filter(|(k, _)| *k == "product_id" || *k == "window_end")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn key_pair(item: &Item) -> Option<(String, String)> {
    Some((
        item.get("product_id")?.as_s().ok()?.clone(),
        item.get("window_end")?.as_n().ok()?.clone(),
    ))
}

/// The in-process pricer: reads the features table's stream and prices
/// each batch (see `pricing`), checkpointing its stream position.
fn spawn_pricer(
    config: Config,
    model: Model,
    stop: Arc<AtomicBool>,
    kill_switch: Arc<AtomicBool>,
    metrics: Metrics,
) -> Result<JoinHandle<Result<(), String>>, String> {
    let aws = Aws::connect(&config)?;
    Ok(std::thread::spawn(move || {
        let mut stage = Stage::new(&config, model, metrics.clone());
        let t = &config.tables;
        let mut stream = TableStream::new(&t.features, &t.checkpoints);
        stream.refresh(&aws)?;
        let pause = Duration::from_millis(config.pricer.poll_interval.0 as u64);
        while !stop.load(Ordering::SeqCst) {
            let polled = match stream.poll(&aws) {
                Ok(p) => p,
                Err(e) => {
                    metrics.aws_error("DynamoDB Streams GetRecords");
                    warn!("pricer: {e}");
                    std::thread::sleep(Duration::from_secs(1));
                    continue;
                }
            };
            let mut busy = false;
            for shard in polled {
                let Some(last) = shard.changes.last() else {
                    continue;
                };
                busy = true;
                let records: Vec<FeatureRecord> = shard
                    .changes
                    .iter()
                    .filter_map(|c| match feature_record(&c.new_image) {
                        Ok(r) => Some(r),
                        Err(e) => {
                            metrics.unreadable_features.inc();
                            warn!(sequence = %c.sequence, "pricer: not a feature record: {e}");
                            None
                        }
                    })
                    .collect();
                for chunk in records.chunks(config.pricer.batch_size) {
                    stage
                        .pricer
                        .set_kill_switch(kill_switch.load(Ordering::SeqCst));
                    price_until_done(&aws, &mut stage, chunk, &stop)?;
                }
                stream.checkpoint(&aws, &shard.shard_id, &last.sequence)?;
            }
            if !busy {
                std::thread::sleep(pause);
            }
        }
        Ok(())
    }))
}

/// Prices a batch, retrying with backoff until every record is written
/// (writes are idempotent) or the service stops.
fn price_until_done(
    aws: &Aws,
    stage: &mut Stage,
    records: &[FeatureRecord],
    stop: &AtomicBool,
) -> Result<(), String> {
    let mut backoff = Duration::from_millis(100);
    loop {
        let failure = match stage.price(aws, records) {
            Ok(outcomes) => outcomes.into_iter().find_map(|o| match o {
                Priced::Failed(e) => Some(e),
                Priced::Skipped(why) => {
                    warn!("pricer: {why}");
                    None
                }
                Priced::Decided(_) => None,
            }),
            Err(e) if !e.retryable() => {
                return Err(format!(
                    "{e}; not retried (a restart with a fixed model or config is needed)"
                ));
            }
            Err(e) => Some(e.to_string()),
        };
        let Some(e) = failure else {
            return Ok(());
        };
        if stop.load(Ordering::SeqCst) {
            return Err(format!("stopped while retrying: {e}"));
        }
        warn!("pricer: {e}; retrying in {backoff:?}");
        std::thread::sleep(backoff);
        backoff = (backoff * 2).min(Duration::from_secs(10));
    }
}

/// Structured logs on stderr: `text` or `json` (one object per line);
/// `RUST_LOG` filters (default `info`).
pub fn init_logs(format: &str) {
    init_logs_to(format, std::io::stderr);
}

/// Like [`init_logs`], to another writer (a file while the terminal UI runs).
pub fn init_logs_to<W>(format: &str, writer: W)
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(writer);
    let _ = if format == "json" {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
