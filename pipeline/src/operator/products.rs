//! The products the core has seen, interned to dense indexes.

use std::collections::HashMap;

use rustc_hash::FxHashMap;

use crate::aggregate::Aggregate;
use crate::catalog::Catalog;
use crate::features::Trend;
use crate::prehashed::DigestSet;
use crate::watermark::PartitionId;

/// Products seen so far, interned to dense indexes, with their view history
/// and the partition they were first seen on (their home, for checkpoints).
#[derive(Debug, Default)]
pub(super) struct Products {
    /// Ids of at most 15 bytes by [`packed`] form: one integer compare,
    /// no string hash or `memcmp` (`sku-0022` is 8 bytes). foldhash, not
    /// Fx: ids that differ only in their last bytes differ only in the
    /// packed integer's high bits, which Fx's multiply never brings down to
    /// the table's index bits (every lookup then probed a long chain).
    short: HashMap<u128, u32, foldhash::fast::FixedState>,
    /// Longer ids.
    long: FxHashMap<Box<[u8]>, u32>,
    pub(super) names: Vec<Box<str>>,
    /// Each name's first 8 bytes as a big-endian integer ([`name_prefix`]):
    /// sorting by it, then by the name where it ties, is sorting by name,
    /// mostly without a `memcmp`.
    pub(super) name_prefixes: Vec<u64>,
    pub(super) trends: Vec<Trend>,
    pub(super) homes: Vec<PartitionId>,
    /// Distinct sessions in the product's last closed window: the size a
    /// new window's session set starts at.
    pub(super) sessions: Vec<u32>,
    /// Session sets of closed windows' aggregates, emptied and reused by
    /// the next windows' (no allocation per product and window).
    pub(super) spare_sets: Vec<DigestSet<u64>>,
}

impl Products {
    #[inline]
    pub(super) fn lookup<C: Catalog + ?Sized>(
        &mut self,
        id: &[u8],
        home: PartitionId,
        catalog: &C,
    ) -> Option<u32> {
        if let Some(i) = self.get(id) {
            return Some(i);
        }
        let id = std::str::from_utf8(id).ok()?;
        catalog.item(id)?;
        Some(self.intern(id, home, Trend::default()))
    }

    /// A new window's aggregate for `product`, its session set sized to
    /// the product's last window.
    pub(super) fn new_aggregate(&mut self, product: u32) -> Aggregate {
        let hint = self.sessions.get(product as usize).copied().unwrap_or(0);
        let set = self.spare_sets.pop().unwrap_or_default();
        Aggregate::with_session_set(set, hint as usize)
    }

    /// The index of a product seen before.
    pub(super) fn get(&self, id: &[u8]) -> Option<u32> {
        match packed(id) {
            Some(key) => self.short.get(&key).copied(),
            None => self.long.get(id).copied(),
        }
    }

    pub(super) fn intern(&mut self, id: &str, home: PartitionId, trend: Trend) -> u32 {
        let i = self.names.len() as u32;
        match packed(id.as_bytes()) {
            Some(key) => self.short.insert(key, i),
            None => self.long.insert(id.as_bytes().into(), i),
        };
        self.names.push(id.into());
        self.name_prefixes.push(name_prefix(id));
        self.trends.push(trend);
        self.homes.push(home);
        self.sessions.push(0);
        i
    }
}

/// The first 8 bytes of `name` (zeros past its end), big-endian: where two
/// names' prefixes differ, they order as the names do (a name that ends
/// first pads with 0, and a prefix is the lesser name).
fn name_prefix(name: &str) -> u64 {
    let bytes = name.as_bytes();
    let mut head = [0u8; 8];
    let n = bytes.len().min(8);
    head[..n].copy_from_slice(&bytes[..n]);
    u64::from_be_bytes(head)
}

/// An id of at most 15 bytes as one integer: its bytes, then its length in
/// the last byte (so ids that differ only in trailing zero bytes differ).
///
/// Read as overlapping word loads, not copied into an array: a short
/// `memcpy` read back as words stalls the load (the stores cannot be
/// forwarded to it), which made this lookup a twentieth of a replay.
#[inline]
fn packed(bytes: &[u8]) -> Option<u128> {
    let n = bytes.len();
    let low = match n {
        16.. => return None,
        8.. => {
            // Bytes 8.. are the top of the last eight.
            let high = if n > 8 {
                le_u64(&bytes[n - 8..]) >> (8 * (16 - n))
            } else {
                0
            };
            u128::from(le_u64(&bytes[..8])) | u128::from(high) << 64
        }
        _ => u128::from(low_u64(bytes)),
    };
    Some(low | (n as u128) << 120)
}

fn le_u64(b: &[u8]) -> u64 {
    u64::from_le_bytes(b.try_into().unwrap_or_default())
}

/// The bytes of a slice of at most 7 (zeros above), from overlapping loads.
fn low_u64(b: &[u8]) -> u64 {
    let n = b.len();
    let le_u32 = |b: &[u8]| u64::from(u32::from_le_bytes(b.try_into().unwrap_or_default()));
    match n {
        4.. => le_u32(&b[..4]) | le_u32(&b[n - 4..]) << (8 * (n - 4)),
        1.. => {
            u64::from(b[0])
                | u64::from(b[n / 2]) << (8 * (n / 2))
                | u64::from(b[n - 1]) << (8 * (n - 1))
        }
        0 => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Two ids share a packed form only if they are the same id.
        #[test]
        fn packed_ids_are_equal_only_for_equal_ids(a in ".{0,17}", b in ".{0,17}") {
            match (packed(a.as_bytes()), packed(b.as_bytes())) {
                (Some(x), Some(y)) => proptest::prop_assert_eq!(x == y, a == b),
                (x, y) => {
                    proptest::prop_assert_eq!(x.is_none(), a.len() > 15);
                    proptest::prop_assert_eq!(y.is_none(), b.len() > 15);
                }
            }
        }

        /// The packed form is the id's bytes, zeros, then its length.
        #[test]
        fn packed_is_the_bytes_then_the_length(id in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..18)) {
            let expected = (id.len() <= 15).then(|| {
                let mut key = [0u8; 16];
                key[..id.len()].copy_from_slice(&id);
                key[15] = id.len() as u8;
                u128::from_le_bytes(key)
            });
            proptest::prop_assert_eq!(packed(&id), expected);
        }

        /// Names order as their prefixes say wherever those differ.
        #[test]
        fn name_prefixes_order_as_names(a in "[a\\x00-\\x02é]{0,10}", b in "[a\\x00-\\x02é]{0,10}") {
            let (x, y) = (name_prefix(&a), name_prefix(&b));
            if x != y {
                proptest::prop_assert_eq!(x.cmp(&y), a.cmp(&b));
            }
        }

        /// Short and long ids alike are found again, and only they are.
        #[test]
        fn interned_products_are_found(ids in proptest::collection::hash_set("[a-z\\x00-]{0,20}", 1..30)) {
            let mut products = Products::default();
            let ids: Vec<String> = ids.into_iter().collect();
            let (known, unknown) = ids.split_at(ids.len() / 2);
            for id in known {
                products.intern(id, PartitionId(0), Trend::default());
            }
            for (i, id) in known.iter().enumerate() {
                proptest::prop_assert_eq!(products.get(id.as_bytes()), Some(i as u32));
            }
            for id in unknown {
                proptest::prop_assert_eq!(products.get(id.as_bytes()), None);
            }
        }
    }
}
