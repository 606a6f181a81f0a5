//! Duplicate detection by `event_id` within a bounded horizon.
//!
//! Ids are remembered as 128-bit hashes (a collision needs ~2^64 ids), in
//! insertion order, until they fall `horizon` behind the watermark or the
//! table is full, whichever comes first. Memory is therefore bounded by
//! `capacity` entries whatever the input.

use std::collections::VecDeque;

use serde::Serialize;

use crate::prehashed::DigestSet;
use crate::time::Millis;
use crate::watermark::PartitionId;

/// The 128-bit key an event id is remembered by.
pub fn dedup_key(event_id: &str) -> u128 {
    xxhash_rust::xxh3::xxh3_128(event_id.as_bytes())
}

#[derive(Debug)]
pub struct Dedup {
    seen: DigestSet<u128>,
    /// Insertion order, with the event time and the partition (which fits
    /// in the tuple's alignment padding, so costs nothing).
    order: VecDeque<(u128, Millis, PartitionId)>,
    capacity: usize,
    horizon: Millis,
    evicted_early: u64,
}

/// What the dedup table holds and costs, for the stats.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DedupStats {
    pub entries: usize,
    pub capacity: usize,
    /// Ids forgotten because the table was full, before their horizon passed.
    pub evicted_early: u64,
    /// Heap bytes held by the table (allocated capacity, not just entries).
    pub memory_bytes: usize,
}

impl Dedup {
    pub fn new(capacity: usize, horizon: Millis) -> Dedup {
        Dedup {
            seen: DigestSet::default(),
            order: VecDeque::new(),
            capacity: capacity.max(1),
            horizon,
            evicted_early: 0,
        }
    }

    pub fn contains(&self, key: u128) -> bool {
        self.seen.contains(&key)
    }

    /// Remembers `key` for an event at `event_time`; forgets what is older
    /// than `watermark - horizon`, and the oldest entry when full.
    pub fn remember(
        &mut self,
        key: u128,
        event_time: Millis,
        watermark: Millis,
        partition: PartitionId,
    ) {
        let expiry = watermark.saturating_sub(self.horizon);
        while let Some(&(old, t, _)) = self.order.front() {
            let full = self.order.len() >= self.capacity;
            if t >= expiry && !full {
                break;
            }
            if t >= expiry {
                self.evicted_early += 1;
            }
            self.seen.remove(&old);
            self.order.pop_front();
        }
        if self.seen.insert(key) {
            self.order.push_back((key, event_time, partition));
        }
    }

    /// The latest `n` ids of `partition` whose event time passes `keep`,
    /// oldest first, as (key in hex, event time): what a checkpoint keeps.
    pub fn recent(
        &self,
        partition: PartitionId,
        n: usize,
        keep: impl Fn(Millis) -> bool,
    ) -> Vec<(String, Millis)> {
        let mut out: Vec<(String, Millis)> = self
            .order
            .iter()
            .rev()
            .filter(|(_, t, p)| *p == partition && keep(*t))
            .take(n)
            .map(|(k, t, _)| (format!("{k:032x}"), *t))
            .collect();
        out.reverse();
        out
    }

    /// Remembers ids from a checkpoint (unreadable keys are skipped).
    pub fn restore(&mut self, partition: PartitionId, ids: &[(String, Millis)]) {
        for (hex, t) in ids {
            if let Ok(key) = u128::from_str_radix(hex, 16)
                && self.seen.len() < self.capacity
                && self.seen.insert(key)
            {
                self.order.push_back((key, *t, partition));
            }
        }
    }

    pub fn stats(&self) -> DedupStats {
        // hashbrown: one control byte per bucket; buckets ≈ capacity * 8/7.
        let set_bytes = self.seen.capacity() * 8 / 7 * (size_of::<u128>() + 1);
        let order_bytes = self.order.capacity() * size_of::<(u128, Millis, PartitionId)>();
        DedupStats {
            entries: self.seen.len(),
            capacity: self.capacity,
            evicted_early: self.evicted_early,
            memory_bytes: set_bytes + order_bytes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: PartitionId = PartitionId(0);

    #[test]
    fn remembers_then_forgets_past_the_horizon() {
        let mut d = Dedup::new(100, 1_000);
        d.remember(dedup_key("a"), 10_000, 10_000, P);
        assert!(d.contains(dedup_key("a")));
        d.remember(dedup_key("b"), 11_000, 11_000, P);
        assert!(d.contains(dedup_key("a")), "exactly at the horizon is kept");
        d.remember(dedup_key("c"), 11_001, 11_001, P);
        assert!(!d.contains(dedup_key("a")));
        assert_eq!(d.stats().evicted_early, 0);
    }

    #[test]
    fn memory_is_bounded_by_capacity() {
        let mut d = Dedup::new(1_000, i64::MAX / 4);
        for i in 0..100_000 {
            d.remember(dedup_key(&i.to_string()), i, i, P);
        }
        let s = d.stats();
        assert_eq!(s.entries, 1_000);
        assert_eq!(s.evicted_early, 99_000);
        // 1 000 entries of ~49 bytes, with hash-table slack: well under 256 KiB.
        assert!(s.memory_bytes < 256 * 1024, "{s:?}");
        assert!(d.contains(dedup_key("99999")));
        assert!(!d.contains(dedup_key("0")));
    }

    #[test]
    fn a_full_table_costs_50_to_70_bytes_per_id() {
        let n = 100_000;
        let mut d = Dedup::new(n, i64::MAX / 4);
        for i in 0..(n as i64) {
            d.remember(dedup_key(&i.to_string()), i, i, P);
        }
        let per_id = d.stats().memory_bytes as f64 / n as f64;
        assert!((50.0..=70.0).contains(&per_id), "{per_id} bytes per id");
    }

    #[test]
    fn a_checkpoint_keeps_the_latest_ids_of_one_partition() {
        let mut d = Dedup::new(100, 1_000_000);
        for i in 0..10 {
            d.remember(dedup_key(&i.to_string()), i, i, PartitionId(i as u32 % 2));
        }
        let kept = d.recent(PartitionId(0), 3, |t| t < 8);
        assert_eq!(kept.iter().map(|k| k.1).collect::<Vec<_>>(), [2, 4, 6]);
        let mut fresh = Dedup::new(100, 1_000_000);
        fresh.restore(PartitionId(0), &kept);
        assert!(fresh.contains(dedup_key("4")));
        assert!(!fresh.contains(dedup_key("8")));
        assert_eq!(fresh.recent(PartitionId(0), 10, |_| true), kept);
    }
}
