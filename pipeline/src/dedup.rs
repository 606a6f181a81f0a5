//! Duplicate detection by `event_id` within a bounded horizon.
//!
//! Ids are remembered as 128-bit hashes (a collision needs ~2^64 ids), in
//! insertion order, until they fall `horizon` behind the watermark or the
//! table is full, whichever comes first. Memory is therefore bounded by
//! `capacity` entries whatever the input.
//!
//! The hashes wait in a queue, oldest first; an index of 8-byte entries
//! finds them (32 bits of the hash, which also place the entry in the
//! index, and the place in the queue).
//! Every event looks its id up and forgets the oldest, two reads at random
//! places: an index half the size of one holding the hashes themselves
//! stays in a core's L2 cache for twice as many ids.

use std::collections::VecDeque;

use hashbrown::HashTable;
use serde::Serialize;

use crate::dead_letter::Reason;
use crate::event::text;
use crate::time::Millis;
use crate::watermark::PartitionId;

/// The 128-bit key an event id is remembered by.
pub fn dedup_key(event_id: &[u8]) -> u128 {
    xxhash_rust::xxh3::xxh3_128(event_id)
}

#[derive(Debug)]
pub struct Dedup {
    /// Per remembered key: its bits 96..128 (high half) and its sequence
    /// number in `order` (low half), hashed by the key's low 64 bits.
    index: HashTable<u64>,
    /// Insertion order, with the event time and the partition (which fits
    /// in the tuple's alignment padding, so costs nothing).
    order: VecDeque<(u128, Millis, PartitionId)>,
    /// The sequence number of `order`'s front (numbers wrap: at most
    /// 2^32 keys are remembered at once).
    front: u32,
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

#[cold]
fn duplicate(id: &[u8]) -> (Reason, String) {
    let detail = format!("event_id {:?} was already accepted", text(id));
    (Reason::Duplicate, detail)
}

/// The index's hash of a key: of its 32 bits in the entry, so that growing
/// the index rehashes entries without reading the queue (a read at a random
/// place per entry; growth was a twentieth of the core's time).
fn hash(key: u128) -> u64 {
    tag_hash(tag(key))
}

fn tag_hash(tag: u32) -> u64 {
    // Spread over all 64 bits: hashbrown takes the slot from the low bits
    // and a 7-bit check from the top ones.
    u64::from(tag).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

fn tag(key: u128) -> u32 {
    (key >> 96) as u32
}

impl Dedup {
    pub fn new(capacity: usize, horizon: Millis) -> Dedup {
        Dedup {
            index: HashTable::new(),
            order: VecDeque::new(),
            front: 0,
            // The config refuses more; a caller of the library gets the bound.
            capacity: capacity.clamp(1, u32::MAX as usize),
            horizon,
            evicted_early: 0,
        }
    }

    /// `Duplicate` if the id `key` is the key of was accepted before.
    #[inline]
    pub fn check_new(&self, key: u128, id: &[u8]) -> Result<(), (Reason, String)> {
        if self.contains(key) {
            return Err(duplicate(id));
        }
        Ok(())
    }

    pub fn contains(&self, key: u128) -> bool {
        let (order, front) = (&self.order, self.front);
        self.index
            .find(hash(key), |&e| holds(order, front, e, key))
            .is_some()
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
        self.forget_expired(watermark);
        self.insert(key, event_time, partition);
    }

    /// [`Dedup::remember`] of a key not remembered (its [`Dedup::contains`]
    /// was false, and nothing was remembered since): the index is not
    /// searched for it again, a new entry goes into the first free slot.
    pub fn remember_new(
        &mut self,
        key: u128,
        event_time: Millis,
        watermark: Millis,
        partition: PartitionId,
    ) {
        debug_assert!(!self.contains(key), "remember_new of a remembered key");
        self.forget_expired(watermark);
        self.push_new(key, event_time, partition);
    }

    /// Forgets what is older than `watermark - horizon`, and the oldest
    /// entry when full (making room for one more).
    fn forget_expired(&mut self, watermark: Millis) {
        let expiry = watermark.saturating_sub(self.horizon);
        while let Some(&(old, t, _)) = self.order.front() {
            let full = self.order.len() >= self.capacity;
            if t >= expiry && !full {
                break;
            }
            if t >= expiry {
                self.evicted_early += 1;
            }
            self.forget_oldest(old);
        }
    }

    /// Adds `key` at the back of the queue unless it is remembered already.
    fn insert(&mut self, key: u128, event_time: Millis, partition: PartitionId) {
        if !self.contains(key) {
            self.push_new(key, event_time, partition);
        }
    }

    /// Adds `key`, not remembered, at the back of the queue: its index
    /// entry goes into the first free slot, no search for it.
    fn push_new(&mut self, key: u128, event_time: Millis, partition: PartitionId) {
        let seq = self.front.wrapping_add(self.order.len() as u32);
        let rehash = |&e: &u64| tag_hash((e >> 32) as u32);
        let entry = u64::from(tag(key)) << 32 | u64::from(seq);
        self.index.insert_unique(hash(key), entry, rehash);
        self.order.push_back((key, event_time, partition));
    }

    /// Forgets the front of the queue, `key`.
    fn forget_oldest(&mut self, key: u128) {
        let front = self.front;
        if let Ok(e) = self.index.find_entry(hash(key), |&e| e as u32 == front) {
            e.remove();
        }
        self.order.pop_front();
        self.front = front.wrapping_add(1);
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
                && self.order.len() < self.capacity
            {
                self.insert(key, *t, partition);
            }
        }
    }

    pub fn stats(&self) -> DedupStats {
        // hashbrown: one control byte per bucket; buckets ≈ capacity * 8/7.
        let index_bytes = self.index.capacity() * 8 / 7 * (size_of::<u64>() + 1);
        let order_bytes = self.order.capacity() * size_of::<(u128, Millis, PartitionId)>();
        DedupStats {
            entries: self.order.len(),
            capacity: self.capacity,
            evicted_early: self.evicted_early,
            memory_bytes: index_bytes + order_bytes,
        }
    }
}

/// Where in `order` the entry `e` points, `front` being the front's number.
fn position(front: u32, e: u64) -> usize {
    (e as u32).wrapping_sub(front) as usize
}

/// Whether index entry `e` stands for `key`: its 32 bits first, which
/// settles nearly every other key without reading the queue.
fn holds(order: &VecDeque<(u128, Millis, PartitionId)>, front: u32, e: u64, key: u128) -> bool {
    (e >> 32) as u32 == tag(key) && order[position(front, e)].0 == key
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: PartitionId = PartitionId(0);

    #[test]
    fn remembers_then_forgets_past_the_horizon() {
        let mut d = Dedup::new(100, 1_000);
        d.remember(dedup_key(b"a"), 10_000, 10_000, P);
        assert!(d.contains(dedup_key(b"a")));
        d.remember(dedup_key(b"b"), 11_000, 11_000, P);
        assert!(
            d.contains(dedup_key(b"a")),
            "exactly at the horizon is kept"
        );
        d.remember(dedup_key(b"c"), 11_001, 11_001, P);
        assert!(!d.contains(dedup_key(b"a")));
        assert_eq!(d.stats().evicted_early, 0);
    }

    #[test]
    fn memory_is_bounded_by_capacity() {
        let mut d = Dedup::new(1_000, i64::MAX / 4);
        for i in 0..100_000 {
            d.remember(dedup_key(i.to_string().as_bytes()), i, i, P);
        }
        let s = d.stats();
        assert_eq!(s.entries, 1_000);
        assert_eq!(s.evicted_early, 99_000);
        // 1 000 entries of ~49 bytes, with hash-table slack: well under 256 KiB.
        assert!(s.memory_bytes < 256 * 1024, "{s:?}");
        assert!(d.contains(dedup_key(b"99999")));
        assert!(!d.contains(dedup_key(b"0")));
    }

    #[test]
    fn a_full_table_costs_50_to_70_bytes_per_id() {
        let n = 100_000;
        let mut d = Dedup::new(n, i64::MAX / 4);
        for i in 0..(n as i64) {
            d.remember(dedup_key(i.to_string().as_bytes()), i, i, P);
        }
        let per_id = d.stats().memory_bytes as f64 / n as f64;
        assert!((50.0..=70.0).contains(&per_id), "{per_id} bytes per id");
    }

    /// The table as it was before the index: a set of the keys themselves.
    struct Reference {
        seen: std::collections::HashSet<u128>,
        order: VecDeque<(u128, Millis, PartitionId)>,
        capacity: usize,
        horizon: Millis,
        evicted_early: u64,
    }

    impl Reference {
        fn remember(&mut self, key: u128, t: Millis, watermark: Millis, p: PartitionId) {
            let expiry = watermark.saturating_sub(self.horizon);
            while let Some(&(old, at, _)) = self.order.front() {
                let full = self.order.len() >= self.capacity;
                if at >= expiry && !full {
                    break;
                }
                self.evicted_early += u64::from(at >= expiry);
                self.seen.remove(&old);
                self.order.pop_front();
            }
            if self.seen.insert(key) {
                self.order.push_back((key, t, p));
            }
        }
    }

    /// Keys from a small pool, most sharing their low 64 bits (the index's
    /// hash) or their top 32 (its tag) with others.
    fn pool_key(kind: u8, a: u8, b: u8) -> u128 {
        match kind {
            0 => dedup_key(format!("{a}-{b}").as_bytes()),
            1 => (u128::from(a) << 96) | u128::from(b),
            _ => (u128::from(a) << 64) | (u128::from(b % 2) << 96),
        }
    }

    proptest::proptest! {
        #[test]
        fn the_index_remembers_and_forgets_as_a_set_of_the_keys_would(
            capacity in 1usize..12,
            horizon in 0i64..40,
            front_before_wrap in 0u32..20,
            ops in proptest::collection::vec((0u8..3, 0u8..4, 0u8..4, 0i64..30, 0i64..20, 0u32..2), 1..200),
        ) {
            let mut d = Dedup::new(capacity, horizon);
            // Sequence numbers wrap within the run.
            d.front = u32::MAX - front_before_wrap;
            let mut r = Reference {
                seen: Default::default(),
                order: VecDeque::new(),
                capacity,
                horizon,
                evicted_early: 0,
            };
            let (mut t, mut wm) = (0, 0);
            for (kind, a, b, dt, dwm, p) in ops {
                t += dt;
                wm += dwm;
                let key = pool_key(kind, a, b);
                proptest::prop_assert_eq!(d.contains(key), r.seen.contains(&key));
                // The core's way for a new key: no second search.
                if r.seen.contains(&key) {
                    d.remember(key, t, wm, PartitionId(p));
                } else {
                    d.remember_new(key, t, wm, PartitionId(p));
                }
                r.remember(key, t, wm, PartitionId(p));
                for kind in 0..3 {
                    for a in 0..4 {
                        for b in 0..4 {
                            let k = pool_key(kind, a, b);
                            proptest::prop_assert_eq!(d.contains(k), r.seen.contains(&k), "key {:x}", k);
                        }
                    }
                }
                proptest::prop_assert_eq!(d.stats().entries, r.order.len());
                proptest::prop_assert_eq!(d.stats().evicted_early, r.evicted_early);
                proptest::prop_assert_eq!(&d.order, &r.order);
            }
        }
    }

    #[test]
    fn a_checkpoint_keeps_the_latest_ids_of_one_partition() {
        let mut d = Dedup::new(100, 1_000_000);
        for i in 0..10 {
            d.remember(
                dedup_key(i.to_string().as_bytes()),
                i,
                i,
                PartitionId(i as u32 % 2),
            );
        }
        let kept = d.recent(PartitionId(0), 3, |t| t < 8);
        assert_eq!(kept.iter().map(|k| k.1).collect::<Vec<_>>(), [2, 4, 6]);
        let mut fresh = Dedup::new(100, 1_000_000);
        fresh.restore(PartitionId(0), &kept);
        assert!(fresh.contains(dedup_key(b"4")));
        assert!(!fresh.contains(dedup_key(b"8")));
        assert_eq!(fresh.recent(PartitionId(0), 10, |_| true), kept);
    }
}
