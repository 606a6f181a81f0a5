//! Duplicate detection by `event_id` within a bounded horizon.
//!
//! Ids are remembered as 128-bit hashes (a collision needs ~2^64 ids), in
//! insertion order, until they fall `horizon` behind the watermark or the
//! table is full, whichever comes first. Memory is therefore bounded by
//! `capacity` entries whatever the input.

use std::collections::VecDeque;

use rustc_hash::FxHashSet;
use serde::Serialize;

use crate::time::Millis;

/// The 128-bit key an event id is remembered by.
pub fn dedup_key(event_id: &str) -> u128 {
    xxhash_rust::xxh3::xxh3_128(event_id.as_bytes())
}

#[derive(Debug)]
pub struct Dedup {
    seen: FxHashSet<u128>,
    order: VecDeque<(u128, Millis)>,
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
            seen: FxHashSet::default(),
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
    pub fn remember(&mut self, key: u128, event_time: Millis, watermark: Millis) {
        let expiry = watermark.saturating_sub(self.horizon);
        while let Some(&(old, t)) = self.order.front() {
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
            self.order.push_back((key, event_time));
        }
    }

    pub fn stats(&self) -> DedupStats {
        // hashbrown: one control byte per bucket; buckets ≈ capacity * 8/7.
        let set_bytes = self.seen.capacity() * 8 / 7 * (size_of::<u128>() + 1);
        let order_bytes = self.order.capacity() * size_of::<(u128, Millis)>();
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

    #[test]
    fn remembers_then_forgets_past_the_horizon() {
        let mut d = Dedup::new(100, 1_000);
        d.remember(dedup_key("a"), 10_000, 10_000);
        assert!(d.contains(dedup_key("a")));
        d.remember(dedup_key("b"), 11_000, 11_000);
        assert!(d.contains(dedup_key("a")), "exactly at the horizon is kept");
        d.remember(dedup_key("c"), 11_001, 11_001);
        assert!(!d.contains(dedup_key("a")));
        assert_eq!(d.stats().evicted_early, 0);
    }

    #[test]
    fn memory_is_bounded_by_capacity() {
        let mut d = Dedup::new(1_000, i64::MAX / 4);
        for i in 0..100_000 {
            d.remember(dedup_key(&i.to_string()), i, i);
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
            d.remember(dedup_key(&i.to_string()), i, i);
        }
        let per_id = d.stats().memory_bytes as f64 / n as f64;
        assert!((50.0..=70.0).contains(&per_id), "{per_id} bytes per id");
    }
}
