//! `replay`: runs the core over NDJSON event files, one partition per file.
//!
//! Files are merged in *arrival* order, as if each record had arrived when it
//! happened: a record's arrival time is the largest event time seen so far in
//! its file (records that cannot be decoded arrive with their predecessor; a
//! jump waits for confirmation, see [`crate::ArrivalClock`]).
//! The host clock passed to the core is that arrival time, so idle timeouts,
//! watermarks and lateness behave as they would on a live stream, and the
//! result is deterministic for a given set of files and batch size.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufReader, Write};
use std::path::PathBuf;

use serde::Serialize;

use crate::adapters::files::{self, FileError, NdjsonLines, write_ndjson_via};
use crate::catalog::Orders;
use crate::config::{ConfigError, PipelineConfig};
use crate::dead_letter::{Position, Truncation};
use crate::decode::{Layout, decode_general};
use crate::hold::{ArrivalClock, PROVISIONAL_RECORDS};
use crate::host::Driver;
use crate::operator::{Pipeline, RawRecord};
use crate::sized_writer::RecordBuf;
use crate::stats::Stats;
use crate::tables::{CatalogTable, OrdersTable};
use crate::time::Millis;
use crate::watermark::PartitionId;

/// The files a replay reads.
#[derive(Clone, Debug)]
pub struct ReplayInput {
    /// One partition per file, named by its path as given.
    pub events: Vec<PathBuf>,
    pub catalog: PathBuf,
    pub orders: Option<PathBuf>,
}

#[derive(Clone, Debug)]
pub struct ReplayOptions {
    pub config: PipelineConfig,
    /// Most records per call into the core.
    pub batch_size: usize,
    /// Price changes to apply as the service did: a change decided on the
    /// window ending at `window_end` is in the catalog for every window that
    /// closes after it (see `pricestream replay --prices`).
    pub prices: Vec<crate::pricer::PriceUpdate>,
}

impl Default for ReplayOptions {
    fn default() -> Self {
        ReplayOptions {
            config: PipelineConfig::default(),
            batch_size: 500,
            prices: Vec::new(),
        }
    }
}

/// What a replay did: the core's stats plus what the file layer skipped.
#[derive(Clone, Debug, Serialize)]
pub struct ReplaySummary {
    #[serde(flatten)]
    pub stats: Stats,
    /// Blank lines in event files (not records, so not counted as received).
    pub blank_lines: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("{0}")]
    Input(#[from] FileError),
    #[error("invalid setting {0}")]
    Config(#[from] ConfigError),
    #[error("writing {what}: {source}")]
    Output {
        what: &'static str,
        source: io::Error,
    },
}

impl ReplayError {
    /// 2 for bad input or settings (the user's to fix), 1 for output failures.
    pub fn exit_code(&self) -> i32 {
        match self {
            ReplayError::Input(_) | ReplayError::Config(_) => 2,
            ReplayError::Output { .. } => 1,
        }
    }
}

struct Pending {
    line: u64,
    bytes: Vec<u8>,
    truncated: Option<Truncation>,
    /// Read here for the arrival time, kept so the core does not decode again.
    layout: Option<Layout>,
    arrival: Millis,
}

/// One event file, read one line ahead so its next arrival time is known.
struct Source {
    id: PartitionId,
    path: PathBuf,
    /// The canonical path, to refuse one file given twice.
    real: PathBuf,
    lines: NdjsonLines<BufReader<File>>,
    head: VecDeque<Pending>,
    clock: ArrivalClock,
    ended: bool,
    /// Line buffers the core is done with, for the next lines.
    spare: Vec<Vec<u8>>,
}

/// Bytes of feature records written at once (at least a buffered writer's
/// capacity, so that it passes them on as they are).
const OUT_CHUNK: usize = 256 << 10;

/// Line buffers kept for reuse: a batch's worth, each of a usual size.
const SPARE_BUFFERS: usize = 1024;
const SPARE_CAPACITY: usize = 4096;

impl Source {
    /// Makes sure the next record (if any) is buffered; `merged` is the
    /// latest arrival merged so far. While the file's first time is
    /// provisional it reads on until a later record decides it (at most
    /// [`PROVISIONAL_RECORDS`]), as `serve` waits for a shard's next record.
    #[inline] // most calls find a record buffered: no call, no register saves
    fn fill(&mut self, merged: Millis) -> Result<(), FileError> {
        if !self.head.is_empty() || self.ended {
            return Ok(());
        }
        self.read_ahead(merged)
    }

    /// [`Source::fill`] when nothing is buffered: reads the next record(s).
    #[inline(never)]
    fn read_ahead(&mut self, merged: Millis) -> Result<(), FileError> {
        loop {
            let buf = self.spare.pop().unwrap_or_default();
            // Records of the usual form are read where they lie in the
            // read buffer, which also finds their end.
            match self.lines.next_line_measured(buf, Layout::of_prefix) {
                Ok(Some((line, measured))) => {
                    let whole = line.truncated.is_none();
                    let layout =
                        measured.or_else(|| whole.then(|| Layout::of(&line.bytes)).flatten());
                    if let Some(l) = layout
                        && let Some(session) = l.session_id(&line.bytes)
                    {
                        self.clock.observe(l.event_time(), session, merged);
                    } else if whole && let Ok(ev) = decode_general(&line.bytes) {
                        self.clock
                            .observe(ev.event_time, ev.session_id.as_bytes(), merged);
                    }
                    self.head.push_back(Pending {
                        line: line.number,
                        bytes: line.bytes,
                        truncated: line.truncated,
                        layout,
                        arrival: self.clock.now(),
                    });
                }
                Ok(None) => self.ended = true,
                Err(e) => {
                    return Err(FileError::new(&self.path, None, format!("read error: {e}")));
                }
            }
            if self.ended || !self.clock.undecided() || self.head.len() >= PROVISIONAL_RECORDS {
                break;
            }
        }
        // A first time refuted: what was read meanwhile arrives no later
        // than the record that refuted it.
        if !self.clock.undecided() {
            let now = self.clock.now();
            for p in &mut self.head {
                p.arrival = p.arrival.min(now);
            }
        }
        Ok(())
    }

    /// Takes back the line buffers of records the core has read.
    fn recycle(&mut self, done: &mut Vec<Pending>) {
        for p in done.drain(..) {
            if self.spare.len() < SPARE_BUFFERS && p.bytes.capacity() <= SPARE_CAPACITY {
                self.spare.push(p.bytes);
            }
        }
    }

    fn next_arrival(&self) -> Option<Millis> {
        self.head.front().map(|p| p.arrival)
    }
}

/// A file's next arrival and the file's place in the input as one integer
/// that orders as the pair (`u128::MAX`: no record waiting), so the merge
/// picks the least two without a branch per file.
fn merge_key(arrival: Millis, file: usize) -> u128 {
    let arrival = (arrival as u64) ^ (1 << 63);
    (u128::from(arrival) << 64) | file as u128
}

/// Replays event files through the core, writing feature records and dead
/// letters as NDJSON.
pub fn replay(
    input: &ReplayInput,
    options: &ReplayOptions,
    features_out: &mut dyn Write,
    dead_letters_out: &mut dyn Write,
) -> Result<ReplaySummary, ReplayError> {
    let mut pipeline = Pipeline::new(options.config.clone())?;
    let mut catalog = files::load_catalog(&input.catalog)?;
    let mut prices = options.prices.clone();
    prices.sort_by_key(|u| u.window_end);
    let orders = match &input.orders {
        Some(path) => files::load_orders(path)?,
        None => OrdersTable::new(),
    };
    let mut sources = Vec::with_capacity(input.events.len());
    for path in &input.events {
        let name = path.display().to_string();
        let lines = NdjsonLines::with_limit(files::open(path)?, options.config.max_record_bytes);
        // `a.ndjson` and `./a.ndjson` are one file: two partitions of it would
        // be all duplicates.
        let real = std::fs::canonicalize(path)
            .map_err(|e| FileError::new(path, None, format!("cannot resolve: {e}")))?;
        if let Some(first) = sources.iter().find(|s: &&Source| s.real == real) {
            return Err(FileError::new(
                path,
                None,
                format!("is the same file as {}, given before", first.path.display()),
            )
            .into());
        }
        sources.push(Source {
            real,
            id: pipeline.register_partition(&name),
            path: path.clone(),
            lines,
            head: VecDeque::new(),
            clock: ArrivalClock::new(options.config.max_time_jump),
            ended: false,
            spare: Vec::new(),
        });
    }
    let mut host = Host {
        driver: Driver::new(pipeline),
        features_out,
        dead_letters_out,
        clock: Millis::MIN,
        prices: prices.into(),
        scratch: Vec::new(),
        unwritten: RecordBuf::default(),
        spare_records: Vec::new(),
    };
    let batch_size = options.batch_size.max(1);
    let mut batch: Vec<Pending> = Vec::with_capacity(batch_size);
    let mut merged = Millis::MIN;
    for s in &mut sources {
        s.fill(merged)?;
    }
    loop {
        // The file whose next record arrives first (ties: the earlier
        // file), and the first of the others: one pass, the two least keys
        // kept with `min` and `max` (which file wins changes from batch to
        // batch: a branch per file mispredicts).
        let (mut first, mut rival) = (u128::MAX, u128::MAX);
        for (j, s) in sources.iter().enumerate() {
            let key = s.next_arrival().map_or(u128::MAX, |a| merge_key(a, j));
            rival = rival.min(first.max(key));
            first = first.min(key);
        }
        if first == u128::MAX {
            break;
        }
        let i = first as u64 as usize;
        // Take its records while they arrive no later than any other file's next.
        let source = &mut sources[i];
        while batch.len() < batch_size {
            source.fill(merged)?;
            match source.head.front() {
                Some(p) if merge_key(p.arrival, i) < rival => {
                    merged = merged.max(p.arrival);
                    batch.extend(source.head.pop_front());
                }
                _ => break,
            }
        }
        host.ingest(source.id, &batch, &mut catalog, &orders)?;
        source.recycle(&mut batch);
        // The other files have their next record read (or have ended).
        source.fill(merged)?;
        for s in &sources {
            if s.ended && s.head.is_empty() {
                host.driver.close_partition(s.id, &catalog);
            }
        }
    }
    host.driver.end_of_input();
    host.close_windows(&mut catalog, &orders)?;
    host.write_features()?;
    Ok(ReplaySummary {
        stats: host.driver.core().stats(),
        blank_lines: sources.iter().map(|s| s.lines.blank_lines()).sum(),
    })
}

/// The core plus where its output goes.
struct Host<'w> {
    driver: Driver,
    features_out: &'w mut dyn Write,
    dead_letters_out: &'w mut dyn Write,
    clock: Millis,
    prices: VecDeque<crate::pricer::PriceUpdate>,
    /// One dead letter, serialized before it is written.
    scratch: Vec<u8>,
    /// Feature records serialized and not yet written: written in chunks
    /// of [`OUT_CHUNK`], which a buffered writer passes on without copying
    /// them into its own buffer.
    unwritten: RecordBuf,
    /// The allocation of the last batch's records, kept for the next one
    /// (batches are small and many: a few records each).
    spare_records: Vec<RawRecord<'static>>,
}

impl Host<'_> {
    /// Closes the windows that are due, one at a time, applying the price
    /// changes decided on each window before the next one closes.
    fn close_windows<O: Orders>(
        &mut self,
        catalog: &mut CatalogTable,
        orders: &O,
    ) -> Result<(), ReplayError> {
        while let Some(window) = self.driver.next_window(self.clock, catalog, orders) {
            for f in &window.features {
                f.write_json_to(&mut self.unwritten)
                    .map_err(io::Error::from)
                    .map_err(output_error("feature records"))?;
                self.unwritten.push(b'\n');
                if self.unwritten.len() >= OUT_CHUNK {
                    self.write_features()?;
                }
            }
            while self
                .prices
                .front()
                .is_some_and(|u| u.window_end <= window.end)
            {
                if let Some(u) = self.prices.pop_front()
                    && let Some(item) = catalog.get_mut(&u.product_id)
                {
                    let _ = u.apply_to(item);
                }
            }
            let _ = self.driver.settle(window.end);
        }
        self.flush_dead_letters()
    }

    fn ingest<O: Orders>(
        &mut self,
        partition: PartitionId,
        batch: &[Pending],
        catalog: &mut CatalogTable,
        orders: &O,
    ) -> Result<(), ReplayError> {
        let Some(first) = batch.first() else {
            return Ok(());
        };
        self.clock = self.clock.max(first.arrival);
        let mut records = RawRecord::recycle(std::mem::take(&mut self.spare_records));
        records.extend(batch.iter().map(|p| RawRecord {
            bytes: &p.bytes,
            position: Position::Offset(p.line),
            truncated: p.truncated,
            layout: p.layout.as_ref(),
        }));
        self.driver.ingest(partition, self.clock, &records, catalog);
        self.spare_records = RawRecord::recycle(records);
        self.close_windows(catalog, orders)
    }

    fn write_features(&mut self) -> Result<(), ReplayError> {
        self.features_out
            .write_all(self.unwritten.as_bytes())
            .map_err(output_error("feature records"))?;
        self.unwritten.clear();
        Ok(())
    }

    fn flush_dead_letters(&mut self) -> Result<(), ReplayError> {
        for d in self.driver.take_dead_letters() {
            write_ndjson_via(self.dead_letters_out, &d, &mut self.scratch)
                .map_err(output_error("dead letters"))?;
        }
        Ok(())
    }
}

fn output_error(what: &'static str) -> impl Fn(io::Error) -> ReplayError {
    move |source| ReplayError::Output { what, source }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_reuses_the_previous_batchs_allocation() {
        let bytes = b"{}".to_vec();
        let mut records = Vec::with_capacity(64);
        records.push(RawRecord {
            bytes: &bytes,
            position: Position::Offset(1),
            truncated: None,
            layout: None,
        });
        let before = records.as_ptr() as usize;
        let spare: Vec<RawRecord<'static>> = RawRecord::recycle(records);
        assert!(spare.is_empty());
        assert_eq!((spare.capacity(), spare.as_ptr() as usize), (64, before));
    }
}
