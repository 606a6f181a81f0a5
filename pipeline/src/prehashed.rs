//! Hash sets of keys that are hashes already: an event id's or a session
//! id's xxh3 digest, whose bits are as good as any hash of them. Hashing
//! them again (three times per event: the duplicate check, the insert and
//! the eviction) only cost instructions.

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

/// A set of digests, each its own hash.
pub type DigestSet<T> = HashSet<T, BuildHasherDefault<DigestHasher>>;

/// Hashes a `u64` or `u128` digest to (the low half of) itself.
#[derive(Clone, Copy, Debug, Default)]
pub struct DigestHasher(u64);

impl Hasher for DigestHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write_u64(&mut self, digest: u64) {
        self.0 = digest;
    }

    fn write_u128(&mut self, digest: u128) {
        self.0 = digest as u64;
    }

    /// Anything else (not a digest): FNV-1a, so the set still works.
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    #[test]
    fn a_digest_is_its_own_hash() {
        let build = BuildHasherDefault::<DigestHasher>::default();
        assert_eq!(build.hash_one(0xdead_beef_u64), 0xdead_beef);
        assert_eq!(build.hash_one((7u128 << 64) | 42), 42);
    }

    #[test]
    fn sets_of_digests_keep_what_was_inserted() {
        let mut set = DigestSet::default();
        for k in 0..10_000u128 {
            assert!(set.insert(xxhash_rust::xxh3::xxh3_128(&k.to_le_bytes())));
        }
        for k in 0..10_000u128 {
            assert!(set.contains(&xxhash_rust::xxh3::xxh3_128(&k.to_le_bytes())));
        }
        assert!(!set.contains(&xxhash_rust::xxh3::xxh3_128(b"other")));
        assert_eq!(set.len(), 10_000);
    }
}
