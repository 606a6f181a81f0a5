//! The running aggregate of one (product, window).

use crate::event::{EventView, is_social};
use crate::prehashed::DigestSet;

#[derive(Clone, Debug, Default)]
pub struct Aggregate {
    /// Events by type, indexed by `EventType::index`.
    pub counts: [u32; 5],
    /// 64-bit hashes of session ids (exact count for any realistic window).
    sessions: DigestSet<u64>,
    pub social: u32,
    pub with_campaign: u32,
    /// Sum of the prices shoppers saw.
    pub seen_price_sum: f64,
}

/// The key a session id is counted by.
pub fn session_key(session_id: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(session_id)
}

impl Aggregate {
    /// An empty aggregate counting sessions in `set` (emptied: a closed
    /// window's, reused), with room for `sessions` of them (the product's
    /// count in its last window: the set then rarely grows).
    pub fn with_session_set(mut set: DigestSet<u64>, sessions: usize) -> Aggregate {
        set.clear();
        set.reserve(sessions);
        Aggregate {
            sessions: set,
            ..Aggregate::default()
        }
    }

    /// The session set, for a later window's aggregate.
    pub fn into_session_set(self) -> DigestSet<u64> {
        self.sessions
    }

    pub fn add(&mut self, ev: &EventView<'_>, session: u64) {
        self.counts[ev.event_type.index()] += 1;
        self.sessions.insert(session);
        self.social += u32::from(is_social(ev.referrer));
        self.with_campaign += u32::from(ev.has_campaign);
        self.seen_price_sum += ev.price;
    }

    pub fn events(&self) -> u32 {
        self.counts.iter().sum()
    }

    pub fn unique_sessions(&self) -> usize {
        self.sessions.len()
    }
}
