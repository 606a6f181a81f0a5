//! The streaming operator: records in, feature records and dead letters out.
//!
//! Sans-IO: the host passes bytes, its clock reading (`now`) and the tables;
//! nothing here reads a clock, sleeps or does I/O. Outputs depend only on the
//! sequence of calls, not on how records are split into batches.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;

use crate::adapters::kpl;
use crate::aggregate::{Aggregate, session_key};
use crate::catalog::{Catalog, Orders};
use crate::config::{ConfigError, PipelineConfig};
use crate::dead_letter::{DeadLetter, Position, Reason};
use crate::decode::decode;
use crate::dedup::{Dedup, dedup_key};
use crate::event::EventType;
use crate::features::{FeatureInputs, FeatureRecord, Trend};
use crate::stats::{ReasonCounts, Stats};
use crate::time::{Millis, format_rfc3339};
use crate::watermark::{PartitionId, Watermarks};
use crate::window::{Window, WindowSpec};

/// One record as it came off a partition.
#[derive(Clone, Copy, Debug)]
pub struct RawRecord<'a> {
    pub bytes: &'a [u8],
    pub position: Position<'a>,
}

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

/// Products seen so far, interned to dense indexes, with their view history.
#[derive(Debug, Default)]
struct Products {
    index: FxHashMap<Box<str>, u32>,
    names: Vec<Box<str>>,
    trends: Vec<Trend>,
}

impl Products {
    fn lookup<C: Catalog + ?Sized>(&mut self, id: &str, catalog: &C) -> Option<u32> {
        if let Some(&i) = self.index.get(id) {
            return Some(i);
        }
        catalog.item(id)?;
        let i = self.names.len() as u32;
        self.index.insert(id.into(), i);
        self.names.push(id.into());
        self.trends.push(Trend::default());
        Some(i)
    }
}

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
    /// Open windows by end time; each holds one aggregate per product index.
    windows: BTreeMap<Millis, FxHashMap<u32, Aggregate>>,
    /// The earliest accepted event time: windows before it were not observed.
    observed_since: Millis,
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
            observed_since: Millis::MAX,
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
        self.watermarks.register(name)
    }

    /// The partition ended (end of file, closed shard).
    pub fn close_partition(&mut self, p: PartitionId) {
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
            // KPL aggregates carry several user records: each is one record here.
            if record.bytes.starts_with(&kpl::MAGIC) {
                match kpl::unpack(record.bytes) {
                    Ok(kpl::Unpacked::Aggregate(subs)) => {
                        for (i, sub) in subs.iter().enumerate() {
                            let position = format!("{}:{i}", record.position);
                            let sub = RawRecord {
                                bytes: &sub.data,
                                position: Position::Sequence(&position),
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
        if let Err((reason, detail)) = self.ingest_record(partition, now, record, catalog) {
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
        out.dead_letters.push(DeadLetter {
            reason,
            detail,
            partition: self.watermarks.name(partition).clone(),
            position: record.position.to_string(),
            bytes: record.bytes.to_vec(),
        });
    }

    fn ingest_record<C: Catalog + ?Sized>(
        &mut self,
        partition: PartitionId,
        now: Millis,
        record: &RawRecord<'_>,
        catalog: &C,
    ) -> Result<(), (Reason, String)> {
        self.counters.received += 1;
        let limit = self.config.max_record_bytes;
        if record.bytes.len() > limit {
            return Err((
                Reason::Oversize,
                format!(
                    "record is {} bytes; the limit is {limit}",
                    record.bytes.len()
                ),
            ));
        }
        let event = decode(record.bytes).map_err(|r| (r.reason, r.detail))?;
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
        let id_key = dedup_key(&event.event_id);
        if self.dedup.contains(id_key) {
            return Err((
                Reason::Duplicate,
                format!("event_id {:?} was already accepted", event.event_id),
            ));
        }
        let Some(product) = self.products.lookup(&event.product_id, catalog) else {
            return Err((
                Reason::UnknownProduct,
                format!("product_id {:?} is not in the catalog", event.product_id),
            ));
        };
        let wm = self.watermarks.watermark();
        let lateness = self.config.allowed_lateness;
        let is_closed = |w: Window| wm >= w.end.saturating_add(lateness);
        let last = self.spec.last_window(event.event_time);
        if is_closed(last) {
            return Err((
                Reason::Late,
                format!(
                    "event_time {} is in window [{}, {}), closed at watermark {}",
                    format_rfc3339(event.event_time),
                    format_rfc3339(last.start),
                    format_rfc3339(last.end),
                    format_rfc3339(wm)
                ),
            ));
        }
        let session = session_key(&event.session_id);
        for w in self.spec.windows(event.event_time) {
            if !is_closed(w) {
                self.windows
                    .entry(w.end)
                    .or_default()
                    .entry(product)
                    .or_default()
                    .add(&event, session);
            }
        }
        self.dedup.remember(id_key, event.event_time, wm);
        self.observed_since = self.observed_since.min(event.event_time);
        self.watermarks.observe(partition, event.event_time);
        self.counters.accepted += 1;
        Ok(())
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

    /// End of input: closes every open window. Records ingested afterwards
    /// are dead-lettered as `late`.
    pub fn finish<C: Catalog + ?Sized, O: Orders + ?Sized>(
        &mut self,
        catalog: &C,
        orders: &O,
        out: &mut Output,
    ) {
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
        while let Some(entry) = self.windows.first_entry() {
            if close_before.is_some_and(|limit| *entry.key() > limit) {
                break;
            }
            let (end, aggregates) = entry.remove_entry();
            self.close_window(end, aggregates, catalog, orders, out);
        }
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
        aggregates.sort_unstable_by(|a, b| {
            self.products.names[a.0 as usize].cmp(&self.products.names[b.0 as usize])
        });
        for (product, aggregate) in &aggregates {
            let i = *product as usize;
            let views = f64::from(aggregate.counts[EventType::View.index()]);
            let history = self.products.trends[i].advance(
                window,
                self.spec.slide,
                views,
                self.config.ewma_alpha,
                self.observed_since,
            );
            let id = &*self.products.names[i];
            let Some(item) = catalog.item(id) else {
                self.counters.unenriched += 1;
                continue;
            };
            let horizon = self.config.velocity_horizon;
            let record = FeatureInputs {
                window,
                aggregate,
                history,
                item,
                window_orders: orders.totals(id, window.start, window.end),
                recent_units: orders.totals(id, end - horizon, end).units,
                velocity_horizon: horizon,
            }
            .build();
            out.features.push(record);
            self.counters.feature_records += 1;
        }
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
            windows_closed: c.windows_closed,
            feature_records: c.feature_records,
            unenriched: c.unenriched,
            open_windows: self.windows.len(),
            open_aggregates: self.windows.values().map(|w| w.len()).sum(),
            products_seen: self.products.names.len(),
            watermark: (wm != Millis::MIN).then_some(wm),
            dedup: self.dedup.stats(),
            partitions: self.watermarks.stats(),
        }
    }
}
