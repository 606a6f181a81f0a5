//! Records from the shards' buffers to the core, in arrival order.

use std::collections::BTreeMap;

use pipeline::{Driver, Millis, Position, RawRecord};

use super::{Caches, Run, Shard, align};

impl Run<'_> {
    /// Hands the core every waiting record that may go on now, in arrival
    /// order across shards (see `align`).
    pub(super) fn ingest_aligned(
        &mut self,
        driver: &mut Driver,
        shards: &mut BTreeMap<String, Shard>,
        merged: &mut Millis,
        now: Millis,
        caches: &Caches,
    ) {
        loop {
            let fronts: Vec<align::Front> = shards
                .values()
                .map(|s| match s.waiting.head() {
                    // Its first time is provisional: wait for the next record.
                    Some(_) if s.waiting.undecided() && s.idle_polls == 0 && !s.ended => {
                        align::Front::MayBring(Millis::MIN)
                    }
                    Some(a) => align::Front::Waiting(a),
                    None if s.idle_polls == 0 && !s.ended => {
                        align::Front::MayBring(s.waiting.latest())
                    }
                    None => align::Front::Done,
                })
                .collect();
            let Some((index, rival)) = align::next(&fronts) else {
                break;
            };
            let Some(shard) = shards.values_mut().nth(index) else {
                break;
            };
            let go = shard.waiting.release(index, rival, merged);
            let first = driver.core().ordinal(shard.part);
            let records: Vec<RawRecord> = go
                .iter()
                .map(|r| RawRecord {
                    bytes: &r.data,
                    position: Position::Sequence(&r.sequence),
                    truncated: None,
                    layout: None,
                })
                .collect();
            driver.ingest(shard.part, now, &records, &caches.catalog);
            for (i, r) in go.iter().enumerate() {
                shard.seqs.push_back((first + i as u64, r.sequence.clone()));
            }
            if let Some(last) = go.last() {
                shard.processed = Some(last.sequence.clone());
            }
        }
        for shard in shards.values_mut() {
            if shard.ended && shard.waiting.is_empty() && !shard.closed {
                driver.close_partition(shard.part, &caches.catalog);
                shard.closed = true;
            }
        }
        let waiting: usize = shards.values().map(|s| s.waiting.len()).sum();
        self.metrics.records_waiting.set(waiting as i64);
    }
}
