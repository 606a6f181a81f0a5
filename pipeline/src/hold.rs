//! Events far ahead of the stream wait for confirmation.
//!
//! One event with a valid but wrong time (a client clock in 2096) would move
//! its partition's watermark to 2096 and make everything after it `late`. An
//! event more than `max_time_jump` ahead of the latest accepted event time
//! is therefore held until the data decides: an event of its partition from
//! another session lands near it or later (the stream really jumped, e.g.
//! after a quiet night), or the rest of the stream reaches it, and it is
//! accepted; an event of its partition lands far behind it, and it is
//! dead-lettered `event_time_out_of_range`. Events of the held session do
//! not decide (one device with a wrong clock sends many), they wait with it,
//! at most [`MAX_HELD`] per partition. Nothing here reads a clock, so replay
//! and serve decide alike.

use std::collections::{HashSet, VecDeque};

use crate::dead_letter::Position;
use crate::time::Millis;
use crate::watermark::PartitionId;

/// Most events a partition holds at once; later jumps are dead-lettered.
pub const MAX_HELD: usize = 16;

/// How many refuted records a partition remembers for its checkpoint.
const REMEMBERED_REFUTED: usize = 1_000;

/// Most records a host reads ahead while a partition's first time is
/// provisional (see [`ArrivalClock::undecided`]); then it goes on with it.
pub const PROVISIONAL_RECORDS: usize = 64;

/// A partition's arrival time: the latest event time it carried, which
/// hosts use to merge partitions (replay's files, serve's shards). A time
/// more than `max_time_jump` ahead of both it and the merge (the latest
/// arrival merged from any partition) does not move it until another
/// session's event agrees (as the core confirms a held event): its record
/// arrives at the merge's time, so one wrong clock cannot make the
/// partition's later records arrive in 2096. With nothing known yet, a
/// first time is provisional until the second decides
/// ([`ArrivalClock::undecided`]): hosts read on, and if it was refuted,
/// the records read meanwhile arrive with the one that refuted it.
#[derive(Clone, Copy, Debug)]
pub struct ArrivalClock {
    arrival: Millis,
    jump: Option<Millis>,
    /// A time not yet confirmed, with its session.
    pending: Option<(Millis, u64)>,
}

impl ArrivalClock {
    pub fn new(max_time_jump: Option<Millis>) -> ArrivalClock {
        ArrivalClock {
            arrival: Millis::MIN,
            jump: max_time_jump,
            pending: None,
        }
    }

    /// The arrival time of the record read last (`Millis::MIN` before any).
    pub fn now(&self) -> Millis {
        match self.pending {
            Some((p, _)) if self.undecided() => p,
            _ => self.arrival,
        }
    }

    /// Whether the first time read is still provisional.
    pub fn undecided(&self) -> bool {
        self.arrival == Millis::MIN && self.pending.is_some()
    }

    /// An event at `t` of `session_id` was read while the merge stood at
    /// `merged` (the latest arrival taken from any partition).
    pub fn observe(&mut self, t: Millis, session_id: &[u8], merged: Millis) {
        let Some(jump) = self.jump else {
            self.arrival = self.arrival.max(t);
            return;
        };
        let reference = self.arrival.max(merged);
        // The common case first: within reach of what is known.
        if reference != Millis::MIN && t <= reference.saturating_add(jump) {
            self.arrival = self.arrival.max(t);
            self.pending = None;
            return;
        }
        let session = crate::aggregate::session_key(session_id);
        if reference == Millis::MIN {
            // Nothing known: the first time waits for a second (of any
            // session, as the core confirms its first event).
            match self.pending {
                None => self.pending = Some((t, session)),
                // Far behind it: the first was wrong.
                Some((p, _)) if t < p.saturating_sub(jump) => {
                    self.arrival = t;
                    self.pending = None;
                }
                // Far ahead of it: the first stands, this one waits.
                Some((p, _)) if t > p.saturating_add(jump) => {
                    self.arrival = p;
                    self.pending = Some((t, session));
                }
                Some((p, _)) => {
                    self.arrival = p.max(t);
                    self.pending = None;
                }
            }
            return;
        }
        match self.pending {
            // Both are real: the partition has reached the later one (so the
            // core never holds an event ahead of the merge).
            Some((p, s)) if t >= p.saturating_sub(jump) && s != session => {
                self.arrival = reference.max(p.max(t));
                self.pending = None;
            }
            // The same session again: no new evidence.
            Some((p, _)) if t >= p.saturating_sub(jump) => self.arrival = reference,
            _ => {
                self.arrival = reference;
                self.pending = Some((t, session));
            }
        }
    }
}

/// An event held back, as received (it is decoded again when accepted).
#[derive(Clone, Debug)]
pub(crate) struct Held {
    /// The record's ordinal on its partition (a restart reads from here).
    pub ordinal: u64,
    pub event_time: Millis,
    pub session: u64,
    pub bytes: Vec<u8>,
    pub position: String,
}

#[inline] // every record asks; the sets are empty but after a restart
fn contains(set: Option<&HashSet<String>>, position: &Position<'_>) -> bool {
    set.is_some_and(|s| !s.is_empty() && contains_in(s, position))
}

#[inline(never)]
fn contains_in(set: &HashSet<String>, position: &Position<'_>) -> bool {
    match position {
        Position::Sequence(s) => set.contains(*s),
        Position::Offset(n) => set.contains(&n.to_string()),
    }
}

/// What the next event of a partition (at `t`, of `session`) says about
/// one event it holds. `anchored`: whether the stream has accepted
/// anything; before that a second event of any session confirms the first.
pub(crate) fn verdict(
    held: &Held,
    t: Millis,
    session: u64,
    jump: Millis,
    anchored: bool,
) -> Verdict {
    if t < held.event_time.saturating_sub(jump) {
        Verdict::Refuted
    } else if !anchored || held.session != session {
        Verdict::Confirmed
    } else {
        Verdict::Undecided
    }
}

/// What the next event of a partition says about an event it holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Far behind them: they were wrong.
    Refuted,
    /// Near them or later, from another session: the stream moved.
    Confirmed,
    /// From a session that is held: no new evidence.
    Undecided,
}

/// The events each partition holds, in arrival order, and the records it
/// refuted: a restart reads some of those again and must not let a stream
/// that has since caught up accept them (a decision is state, like a window).
#[derive(Debug, Default)]
pub(crate) struct Holds {
    by_partition: Vec<Vec<Held>>,
    count: usize,
    /// Per partition: (ordinal, position) of the latest refuted records.
    refuted: Vec<VecDeque<(u64, String)>>,
    /// Per partition: positions refuted before the restart.
    refuted_before: Vec<HashSet<String>>,
    /// Per partition: positions held at the checkpoint (held again when
    /// read again, whatever the restored reference says).
    held_before: Vec<HashSet<String>>,
}

impl Holds {
    pub fn register(&mut self, partitions: usize) {
        if self.by_partition.len() < partitions {
            self.by_partition.resize(partitions, Vec::new());
            self.refuted.resize(partitions, VecDeque::new());
            self.refuted_before.resize(partitions, HashSet::new());
            self.held_before.resize(partitions, HashSet::new());
        }
    }

    pub fn len(&self) -> usize {
        self.count
    }

    fn held(&self, p: PartitionId) -> &[Held] {
        self.by_partition
            .get(p.0 as usize)
            .map_or(&[], Vec::as_slice)
    }

    pub fn is_holding(&self, p: PartitionId) -> bool {
        !self.held(p).is_empty()
    }

    pub fn is_full(&self, p: PartitionId) -> bool {
        self.held(p).len() >= MAX_HELD
    }

    /// The oldest held record's ordinal (a restart reads from there).
    pub fn ordinal(&self, p: PartitionId) -> Option<u64> {
        self.held(p).first().map(|h| h.ordinal)
    }

    /// The positions of the held records.
    pub fn positions(&self, p: PartitionId) -> Vec<String> {
        self.held(p).iter().map(|h| h.position.clone()).collect()
    }

    pub fn hold(&mut self, p: PartitionId, held: Held) {
        self.by_partition[p.0 as usize].push(held);
        self.count += 1;
    }

    /// Everything `p` holds, in arrival order.
    pub fn take(&mut self, p: PartitionId) -> Vec<Held> {
        let held = self
            .by_partition
            .get_mut(p.0 as usize)
            .map(std::mem::take)
            .unwrap_or_default();
        self.count -= held.len();
        held
    }

    /// The first held event (by partition, then arrival) at or before `limit`.
    pub fn take_first_within(&mut self, limit: Millis) -> Option<(PartitionId, Held)> {
        if self.count == 0 {
            return None;
        }
        for (i, held) in self.by_partition.iter_mut().enumerate() {
            if let Some(k) = held.iter().position(|h| h.event_time <= limit) {
                self.count -= 1;
                return Some((PartitionId(i as u32), held.remove(k)));
            }
        }
        None
    }

    pub fn note_refuted(&mut self, p: PartitionId, held: &Held) {
        let refuted = &mut self.refuted[p.0 as usize];
        if refuted.len() == REMEMBERED_REFUTED {
            refuted.pop_front();
        }
        refuted.push_back((held.ordinal, held.position.clone()));
    }

    /// Positions of refuted records at or after `ordinal` (those a restart
    /// reads again).
    pub fn refuted_since(&self, p: PartitionId, ordinal: u64) -> Vec<String> {
        let Some(refuted) = self.refuted.get(p.0 as usize) else {
            return Vec::new();
        };
        refuted
            .iter()
            .filter(|(o, _)| *o >= ordinal)
            .map(|(_, position)| position.clone())
            .collect()
    }

    /// Restores what a checkpoint says was refuted and held.
    pub fn restore(&mut self, p: PartitionId, refuted: &[String], held: &[String]) {
        self.refuted_before[p.0 as usize].extend(refuted.iter().cloned());
        self.held_before[p.0 as usize].extend(held.iter().cloned());
    }

    /// Whether the record at `position` was refuted before the restart.
    pub fn was_refuted(&self, p: PartitionId, position: &Position<'_>) -> bool {
        contains(self.refuted_before.get(p.0 as usize), position)
    }

    /// Whether the record at `position` was held at the checkpoint.
    pub fn was_held(&self, p: PartitionId, position: &Position<'_>) -> bool {
        contains(self.held_before.get(p.0 as usize), position)
    }

    /// Every partition holding events, by id.
    pub fn partitions(&self) -> Vec<PartitionId> {
        (0..self.by_partition.len())
            .filter(|&i| !self.by_partition[i].is_empty())
            .map(|i| PartitionId(i as u32))
            .collect()
    }
}
