//! The streaming operator: records in, feature records and dead letters out.
//!
//! Sans-IO: the host passes bytes, its clock reading (`now`) and the tables;
//! nothing here reads a clock, sleeps or does I/O. Outputs depend only on the
//! sequence of calls, not on how records are split into batches.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;

use crate::aggregate::{Aggregate, session_key};
use crate::catalog::{Catalog, Orders};
use crate::config::{ConfigError, PipelineConfig};
use crate::dead_letter::{self, DeadLetter, Position, Reason, Truncation};
use crate::decode::decode_general;
use crate::dedup::{Dedup, dedup_key};
use crate::event::{EventType, EventView, text};
use crate::features::{FeatureInputs, FeatureRecord, Trend};
use crate::hold::{Held, Holds, MAX_HELD};
use crate::kpl;
use crate::stats::{ReasonCounts, Stats};
use crate::time::{Millis, format_rfc3339};
use crate::watermark::{PartitionId, Watermarks};
use crate::window::{Window, WindowSpec};

mod checkpoint;
mod held;
mod products;
mod record;

use products::Products;
pub use record::RawRecord;

/// What the operator produced since the host last drained it.
#[derive(Clone, Debug, Default)]
pub struct Output {
    /// In closing order: by window end, then product id.
    pub features: Vec<FeatureRecord>,
    /// In input order.
    pub dead_letters: Vec<DeadLetter>,
}

impl Output {
    pub fn is_empty(&self) -> bool {
        self.features.is_empty() && self.dead_letters.is_empty()
    }

    pub fn clear(&mut self) {
        self.features.clear();
        self.dead_letters.clear();
    }
}

/// One open window: an aggregate per product index, and per partition the
/// ordinal of the first record that fed it (where a restart must replay from).
#[derive(Debug, Default)]
struct OpenWindow {
    aggregates: FxHashMap<u32, Aggregate>,
    first: Vec<(PartitionId, u64)>,
}

/// What a partition's checkpoint must carry so that a restarted core, fed
/// the partition again from [`Pipeline::replay_from`], emits exactly what an
/// uninterrupted one would: the last window closed and the view history of
/// the partition's products.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PartitionState {
    /// Windows ending at or before this were emitted; they are not reopened.
    pub last_window: Millis,
    /// The watermark (at most the stream time): windows it had closed stay
    /// closed, even those that were empty and so never emitted.
    pub watermark: Millis,
    /// The earliest event time accepted (see [`Trend::advance`]).
    pub observed_since: Millis,
    /// View history of the products whose events this partition carries.
    pub trends: Vec<(String, Trend)>,
    /// The latest event ids (hex of their 128-bit keys, with event times) of
    /// events in windows that had closed, at most [`CHECKPOINT_DEDUP_IDS`]:
    /// a duplicate of one after a restart is still a `duplicate`.
    #[serde(default)]
    pub dedup: Vec<(String, Millis)>,
    /// The positions of the records held for confirmation (see
    /// `max_time_jump`): they are read again after a restart, and unlike
    /// the records around them their dead letters, if any, were not
    /// written before.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub held: Vec<String>,
    /// Positions of records read again after a restart that were refuted
    /// (`event_time_out_of_range`) before it: they stay refuted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refuted: Vec<String>,
    /// The latest accepted event time of the whole core (the reference
    /// for `max_time_jump`): records read again are judged against at
    /// least what they were judged against before.
    #[serde(default)]
    pub latest: Option<Millis>,
}

/// How many event ids a partition's checkpoint keeps for duplicate
/// detection (about 50 bytes each as JSON: ~50 KB, well inside a
/// DynamoDB item).
pub const CHECKPOINT_DEDUP_IDS: usize = 1_000;

#[derive(Debug, Default)]
struct Counters {
    received: u64,
    accepted: u64,
    dead_letters: ReasonCounts,
    windows_closed: u64,
    feature_records: u64,
    unenriched: u64,
}

/// The streaming core. See the module docs and docs/events.md.
#[derive(Debug)]
pub struct Pipeline {
    config: PipelineConfig,
    spec: WindowSpec,
    watermarks: Watermarks,
    dedup: Dedup,
    products: Products,
    /// Open windows by end time.
    windows: BTreeMap<Millis, OpenWindow>,
    /// Per partition: records ingested (the next record's ordinal) and the
    /// last window end restored from a checkpoint (earlier windows stay closed).
    ordinals: Vec<u64>,
    resumed_through: Vec<Millis>,
    /// The end of the last window closed.
    last_closed: Millis,
    /// The earliest accepted event time: windows before it were not observed.
    observed_since: Millis,
    /// The latest accepted event time (or restored watermark): the
    /// reference for `max_time_jump`.
    latest: Millis,
    holds: Holds,
    counters: Counters,
}

impl Pipeline {
    pub fn new(config: PipelineConfig) -> Result<Pipeline, ConfigError> {
        config.validate()?;
        Ok(Pipeline {
            spec: config.window_spec(),
            watermarks: Watermarks::new(config.out_of_orderness, config.idle_timeout),
            dedup: Dedup::new(config.dedup_capacity, config.dedup_horizon),
            products: Products::default(),
            windows: BTreeMap::new(),
            ordinals: Vec::new(),
            resumed_through: Vec::new(),
            last_closed: 0,
            observed_since: Millis::MAX,
            latest: Millis::MIN,
            holds: Holds::default(),
            counters: Counters::default(),
            config,
        })
    }

    pub fn config(&self) -> &PipelineConfig {
        &self.config
    }

    /// Registers a partition by name (idempotent). Registered partitions hold
    /// the watermark back until they have data, close, or go idle.
    pub fn register_partition(&mut self, name: &str) -> PartitionId {
        let p = self.watermarks.register(name);
        let n = p.0 as usize + 1;
        if self.ordinals.len() < n {
            self.ordinals.resize(n, 0);
            self.resumed_through.resize(n, Millis::MIN);
            self.holds.register(n);
        }
        p
    }

    /// Records ingested from a partition so far: the ordinal the next one gets.
    pub fn ordinal(&self, p: PartitionId) -> u64 {
        self.ordinals.get(p.0 as usize).copied().unwrap_or(0)
    }

    /// Whether window `w` is closed for records of partition `p` (the same
    /// rule `ingest_record` applies).
    fn is_closed(&self, p: PartitionId, w: Window) -> bool {
        let resumed = self
            .resumed_through
            .get(p.0 as usize)
            .copied()
            .unwrap_or(Millis::MIN);
        self.watermarks.watermark() >= w.end.saturating_add(self.config.allowed_lateness)
            || w.end <= resumed
    }

    /// The partition ended (end of file, closed shard). An event it held
    /// is decided now (see the `hold` module), so a closed partition keeps
    /// nothing back.
    pub fn close_partition<C: Catalog + ?Sized>(
        &mut self,
        p: PartitionId,
        catalog: &C,
        out: &mut Output,
    ) {
        self.settle_held(p, catalog, out);
        self.watermarks.close(p);
    }

    /// The operator watermark (`Millis::MIN` before any).
    pub fn watermark(&self) -> Millis {
        self.watermarks.watermark()
    }

    /// The max accepted event time, if any.
    pub fn stream_time(&self) -> Option<Millis> {
        self.watermarks.max_event_time()
    }

    /// Decodes, validates, dedups and aggregates a batch from one partition.
    /// Rejected records go to `out.dead_letters`. Call [`Pipeline::advance`]
    /// afterwards to close windows.
    pub fn ingest<C: Catalog + ?Sized>(
        &mut self,
        partition: PartitionId,
        now: Millis,
        records: &[RawRecord<'_>],
        catalog: &C,
        out: &mut Output,
    ) {
        self.watermarks.tick(now);
        if !records.is_empty() {
            self.watermarks.touch(partition, now);
        }
        for record in records {
            if let Some(n) = self.ordinals.get_mut(partition.0 as usize) {
                *n += 1;
            }
            // KPL aggregates carry several user records: each is one record here.
            if record.truncated.is_none() && record.bytes.starts_with(&kpl::MAGIC) {
                match kpl::unpack(record.bytes) {
                    Ok(kpl::Unpacked::Aggregate(subs)) => {
                        for (i, sub) in subs.iter().enumerate() {
                            let position = format!("{}:{i}", record.position);
                            let sub = RawRecord {
                                bytes: &sub.data,
                                position: Position::Sequence(&position),
                                truncated: None,
                                layout: None,
                            };
                            self.ingest_checked(partition, now, &sub, catalog, out);
                        }
                        continue;
                    }
                    Ok(kpl::Unpacked::Plain(_)) => {}
                    Err(detail) => {
                        self.counters.received += 1;
                        self.dead_letter(partition, record, Reason::BadAggregate, detail, out);
                        continue;
                    }
                }
            }
            self.ingest_checked(partition, now, record, catalog, out);
        }
    }

    fn ingest_checked<C: Catalog + ?Sized>(
        &mut self,
        partition: PartitionId,
        now: Millis,
        record: &RawRecord<'_>,
        catalog: &C,
        out: &mut Output,
    ) {
        if let Err((reason, detail)) = self.ingest_record(partition, now, record, catalog, out) {
            self.dead_letter(partition, record, reason, detail, out);
        }
    }

    fn dead_letter(
        &mut self,
        partition: PartitionId,
        record: &RawRecord<'_>,
        reason: Reason,
        detail: String,
        out: &mut Output,
    ) {
        self.counters.dead_letters.add(reason);
        // Whole when within the record limit; else a prefix, the length and a digest.
        let (bytes, truncated) = match record.truncated {
            Some(t) => (record.bytes, Some(t)),
            None if record.bytes.len() > self.config.max_record_bytes => {
                (record.bytes, Some(Truncation::of(record.bytes)))
            }
            None => (record.bytes, None),
        };
        let bytes = match truncated {
            Some(_) => dead_letter::prefix(bytes, dead_letter::KEPT_PREFIX),
            None => bytes,
        };
        out.dead_letters.push(DeadLetter {
            reason,
            detail,
            partition: self.watermarks.name(partition).clone(),
            position: record.position.to_string(),
            bytes: bytes.to_vec(),
            truncated,
        });
    }

    fn ingest_record<C: Catalog + ?Sized>(
        &mut self,
        partition: PartitionId,
        now: Millis,
        record: &RawRecord<'_>,
        catalog: &C,
        out: &mut Output,
    ) -> Result<(), (Reason, String)> {
        self.counters.received += 1;
        let limit = self.config.max_record_bytes;
        if record.len() > limit as u64 {
            return Err((
                Reason::Oversize,
                format!("record is {} bytes; the limit is {limit}", record.len()),
            ));
        }
        // The usual shape is read without a `ClickEvent` (no second UTF-8
        // check, no `Cow`s); anything else by the general path, which
        // gives every rejection its reason.
        let decoded;
        let event = match record.layout_or_read().and_then(|l| l.view(record.bytes)) {
            Some(view) => view,
            None => {
                decoded = decode_general(record.bytes).map_err(|r| (r.reason, r.detail))?;
                decoded.view()
            }
        };
        if let Some(skew) = self.config.max_future_skew
            && event.event_time > now.saturating_add(skew)
        {
            return Err((
                Reason::EventTimeOutOfRange,
                format!(
                    "`event_time` {} is more than {skew} ms ahead of the host clock {}",
                    format_rfc3339(event.event_time),
                    format_rfc3339(now)
                ),
            ));
        }
        let session = session_key(event.session_id);
        // Any decoded event is evidence of its partition's time, whatever
        // else is wrong with it (a restart may find it a duplicate).
        if self.holds.is_holding(partition) {
            self.judge_held(partition, event.event_time, session, catalog, out);
        }
        let (product, id_key) = self.admit(partition, &event, catalog)?;
        let ordinal = self.ordinal(partition).saturating_sub(1);
        if self.holds.was_refuted(partition, &record.position) {
            return Err(
                self.out_of_range(event.event_time, "it was refuted before the restart".into())
            );
        }
        if self.is_jump(event.event_time) || self.holds.was_held(partition, &record.position) {
            if self.holds.is_full(partition) {
                return Err(self.out_of_range(
                    event.event_time,
                    format!("{MAX_HELD} events of its partition already wait for confirmation"),
                ));
            }
            self.holds.hold(
                partition,
                Held {
                    ordinal,
                    event_time: event.event_time,
                    session,
                    bytes: record.bytes.to_vec(),
                    position: record.position.to_string(),
                },
            );
            return Ok(());
        }
        self.accept(partition, &event, product, session, id_key, ordinal);
        self.confirm_caught_up(catalog, out);
        Ok(())
    }

    /// `Late` unless the window an event at `t` last falls in is still open
    /// for records of `partition`.
    #[inline] // every event: the rejection is built out of line
    fn check_open(&self, partition: PartitionId, t: Millis) -> Result<(), (Reason, String)> {
        let last = self.spec.last_window(t);
        if !self.is_closed(partition, last) {
            return Ok(());
        }
        Err(self.late(partition, t, last))
    }

    #[cold]
    fn late(&self, partition: PartitionId, t: Millis, last: Window) -> (Reason, String) {
        let resumed = self
            .resumed_through
            .get(partition.0 as usize)
            .copied()
            .unwrap_or(Millis::MIN);
        (
            Reason::Late,
            // The close time, not the current watermark: the detail must
            // not depend on how records were batched.
            format!(
                "event_time {} is in window [{}, {}), {}",
                format_rfc3339(t),
                format_rfc3339(last.start),
                format_rfc3339(last.end),
                if last.end <= resumed {
                    "which closed before this partition resumed".to_string()
                } else {
                    format!(
                        "which closed when the watermark reached {}",
                        format_rfc3339(last.end.saturating_add(self.config.allowed_lateness))
                    )
                }
            ),
        )
    }

    /// Adds a checked event to its open windows and moves the watermark.
    fn accept(
        &mut self,
        partition: PartitionId,
        event: &EventView<'_>,
        product: u32,
        session: u64,
        id_key: u128,
        ordinal: u64,
    ) {
        for w in self.spec.windows(event.event_time) {
            if !self.is_closed(partition, w) {
                let open = self.windows.entry(w.end).or_default();
                let products = &mut self.products;
                open.aggregates
                    .entry(product)
                    .or_insert_with(|| products.new_aggregate(product))
                    .add(event, session);
                // The smallest: a held event comes in after later records.
                match open.first.iter_mut().find(|(q, _)| *q == partition) {
                    Some((_, first)) => *first = (*first).min(ordinal),
                    None => open.first.push((partition, ordinal)),
                }
            }
        }
        let wm = self.watermarks.watermark();
        // `admit` found the id new, and nothing was remembered since.
        self.dedup
            .remember_new(id_key, event.event_time, wm, partition);
        self.observed_since = self.observed_since.min(event.event_time);
        self.watermarks.observe(partition, event.event_time);
        self.latest = self.latest.max(event.event_time);
        self.counters.accepted += 1;
    }

    /// The checks that depend on what was accepted before: not a
    /// duplicate, a product in the catalog, a window still open. Gives the
    /// product's index and the event's dedup key.
    fn admit<C: Catalog + ?Sized>(
        &mut self,
        p: PartitionId,
        event: &EventView<'_>,
        catalog: &C,
    ) -> Result<(u32, u128), (Reason, String)> {
        let id_key = dedup_key(event.event_id);
        self.dedup.check_new(id_key, event.event_id)?;
        let Some(product) = self.products.lookup(event.product_id, p, catalog) else {
            return Err((
                Reason::UnknownProduct,
                format!(
                    "product_id {:?} is not in the catalog",
                    text(event.product_id)
                ),
            ));
        };
        self.check_open(p, event.event_time)?;
        Ok((product, id_key))
    }

    /// Reads the host clock (idle partitions) and closes every window the
    /// watermark has passed (end + allowed lateness), emitting feature records.
    pub fn advance<C: Catalog + ?Sized, O: Orders + ?Sized>(
        &mut self,
        now: Millis,
        catalog: &C,
        orders: &O,
        out: &mut Output,
    ) {
        self.watermarks.tick(now);
        let close_before = self
            .watermarks
            .watermark()
            .saturating_sub(self.config.allowed_lateness);
        self.close_windows(Some(close_before), catalog, orders, out);
    }

    /// Like [`Pipeline::advance`], but closes at most one window (the oldest
    /// the watermark has passed) and returns its end, so a host can act on
    /// each window's records before the next one closes.
    pub fn advance_one<C: Catalog + ?Sized, O: Orders + ?Sized>(
        &mut self,
        now: Millis,
        catalog: &C,
        orders: &O,
        out: &mut Output,
    ) -> Option<Millis> {
        self.watermarks.tick(now);
        let close_before = self
            .watermarks
            .watermark()
            .saturating_sub(self.config.allowed_lateness);
        self.close_first(Some(close_before), catalog, orders, out)
    }

    /// Like [`Pipeline::finish`], one window at a time.
    pub fn finish_one<C: Catalog + ?Sized, O: Orders + ?Sized>(
        &mut self,
        catalog: &C,
        orders: &O,
        out: &mut Output,
    ) -> Option<Millis> {
        for p in self.holds.partitions() {
            self.settle_held(p, catalog, out);
        }
        self.watermarks.finish();
        self.close_first(None, catalog, orders, out)
    }

    fn close_first<C: Catalog + ?Sized, O: Orders + ?Sized>(
        &mut self,
        close_before: Option<Millis>,
        catalog: &C,
        orders: &O,
        out: &mut Output,
    ) -> Option<Millis> {
        let entry = self.windows.first_entry()?;
        if close_before.is_some_and(|limit| *entry.key() > limit) {
            return None;
        }
        let (end, open) = entry.remove_entry();
        self.close_window(end, open.aggregates, catalog, orders, out);
        Some(end)
    }

    /// End of input: closes every open window. Records ingested afterwards
    /// are dead-lettered as `late`.
    pub fn finish<C: Catalog + ?Sized, O: Orders + ?Sized>(
        &mut self,
        catalog: &C,
        orders: &O,
        out: &mut Output,
    ) {
        for p in self.holds.partitions() {
            self.settle_held(p, catalog, out);
        }
        self.watermarks.finish();
        self.close_windows(None, catalog, orders, out);
    }

    /// Closes windows with `end <= close_before` (all when `None`), in end order.
    fn close_windows<C: Catalog + ?Sized, O: Orders + ?Sized>(
        &mut self,
        close_before: Option<Millis>,
        catalog: &C,
        orders: &O,
        out: &mut Output,
    ) {
        while self
            .close_first(close_before, catalog, orders, out)
            .is_some()
        {}
    }

    fn close_window<C: Catalog + ?Sized, O: Orders + ?Sized>(
        &mut self,
        end: Millis,
        aggregates: FxHashMap<u32, Aggregate>,
        catalog: &C,
        orders: &O,
        out: &mut Output,
    ) {
        let window = Window {
            start: end - self.spec.size,
            end,
        };
        let mut aggregates: Vec<_> = aggregates.into_iter().collect();
        let (names, prefixes) = (&self.products.names, &self.products.name_prefixes);
        aggregates.sort_unstable_by(|(a, _), (b, _)| {
            let (a, b) = (*a as usize, *b as usize);
            prefixes[a]
                .cmp(&prefixes[b])
                .then_with(|| names[a].cmp(&names[b]))
        });
        for (product, aggregate) in &aggregates {
            let i = *product as usize;
            if let Some(s) = self.products.sessions.get_mut(i) {
                *s = u32::try_from(aggregate.unique_sessions()).unwrap_or(u32::MAX);
            }
            let views = f64::from(aggregate.counts[EventType::View.index()]);
            let trend = &mut self.products.trends[i];
            let history = trend.advance(
                window,
                self.spec.slide,
                views,
                self.config.ewma_alpha,
                self.observed_since,
            );
            let trend = trend.now();
            let id = &*self.products.names[i];
            let Some(item) = catalog.item(id) else {
                self.counters.unenriched += 1;
                continue;
            };
            let horizon = self.config.velocity_horizon;
            let [window_orders, recent] =
                orders.totals_until(id, [window.start, end - horizon], end);
            let record = FeatureInputs {
                window,
                aggregate,
                history,
                trend,
                item,
                window_orders,
                recent_units: recent.units,
                velocity_horizon: horizon,
            }
            .build();
            out.features.push(record);
            self.counters.feature_records += 1;
        }
        let sets = aggregates.into_iter().map(|(_, a)| a.into_session_set());
        self.products.spare_sets.extend(sets);
        self.last_closed = self.last_closed.max(end);
        self.counters.windows_closed += 1;
    }

    /// A snapshot of counters and gauges.
    pub fn stats(&self) -> Stats {
        let c = &self.counters;
        let wm = self.watermarks.event_watermark();
        Stats {
            received: c.received,
            accepted: c.accepted,
            dead_lettered: c.dead_letters.total(),
            dead_letters: c.dead_letters,
            held: self.holds.len() as u64,
            windows_closed: c.windows_closed,
            feature_records: c.feature_records,
            unenriched: c.unenriched,
            open_windows: self.windows.len(),
            open_aggregates: self.windows.values().map(|w| w.aggregates.len()).sum(),
            products_seen: self.products.names.len(),
            watermark: (wm != Millis::MIN).then_some(wm),
            dedup: self.dedup.stats(),
            partitions: self.watermarks.stats(),
        }
    }
}
