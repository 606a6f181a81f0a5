//! Event-time alignment of the shards a worker reads, whatever the batch
//! size. One GetRecords may return hours of a shard's backlog; its records
//! go to the core in *arrival* order across shards, as `replay` merges
//! files: a record's arrival time is the latest event time its shard has
//! carried up to it, and the record with the earliest arrival goes first
//! (ties by shard order). A shard that may still bring records (nothing
//! waiting, not caught up) holds back every record that would arrive after
//! its latest event time. So a backlog is processed as live traffic would
//! have been, an event that arrives late is late however the stream was
//! read, and the features equal `replay`'s over the same records.
//!
//! The rest waits in the shard's buffer, at most one batch: a shard with
//! records waiting is not read again.

use std::collections::VecDeque;

use pipeline::kpl::{Unpacked, unpack};
use pipeline::{ArrivalClock, Millis, PROVISIONAL_RECORDS};

use crate::consumer::ShardRecord;

/// Records read from a shard but not yet handed to the core, with their
/// arrival times.
#[derive(Debug)]
pub(super) struct Waiting {
    records: VecDeque<(ShardRecord, Millis)>,
    /// The latest event time read from the shard so far.
    clock: ArrivalClock,
    /// Records at the end given a provisional arrival.
    provisional: usize,
}

impl Waiting {
    pub fn new(max_time_jump: Option<Millis>) -> Waiting {
        Waiting {
            records: VecDeque::new(),
            clock: ArrivalClock::new(max_time_jump),
            provisional: 0,
        }
    }

    /// Adds a record read from the shard. An event time beyond
    /// `far_future` (the core rejects it) does not move the shard's
    /// arrival time, nor does a record that does not decode; a jump waits
    /// for confirmation (as in `replay`, see [`ArrivalClock`]).
    /// `merged`: the latest arrival released from any shard.
    pub fn push(&mut self, record: ShardRecord, far_future: Millis, merged: Millis) {
        let clock = &mut self.clock;
        each_event(&record.data, |t, session| {
            if t <= far_future {
                clock.observe(t, session.as_bytes(), merged);
            }
        });
        self.records.push_back((record, self.clock.now()));
        if self.clock.undecided() {
            self.provisional += 1;
        } else if self.provisional > 0 {
            // A first time refuted: the records read meanwhile arrive no
            // later than the record that refuted it (as in `replay`).
            let now = self.clock.now();
            for (_, a) in self.records.iter_mut().rev().take(self.provisional + 1) {
                *a = (*a).min(now);
            }
            self.provisional = 0;
        }
    }

    /// Whether the shard's first time is still provisional (its records
    /// should wait for the next one, as `replay` reads on).
    pub fn undecided(&self) -> bool {
        self.clock.undecided() && self.provisional < PROVISIONAL_RECORDS
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The arrival time of the first record waiting.
    pub fn head(&self) -> Option<Millis> {
        self.records.front().map(|(_, a)| *a)
    }

    /// Where the shard's next record arrives at the earliest.
    pub fn latest(&self) -> Millis {
        self.clock.now()
    }

    /// Takes the records that arrive before `rival` (this shard's index
    /// breaks ties), in order; `merged` becomes the latest arrival taken.
    pub fn release(
        &mut self,
        index: usize,
        rival: Option<(Millis, usize)>,
        merged: &mut Millis,
    ) -> Vec<ShardRecord> {
        let mut out = Vec::new();
        while let Some((_, a)) = self.records.front() {
            if rival.is_some_and(|r| (*a, index) >= r) {
                break;
            }
            if let Some((r, a)) = self.records.pop_front() {
                *merged = (*merged).max(a);
                out.push(r);
            }
        }
        out
    }
}

/// What a shard tells the merge: its first waiting record's arrival, or,
/// when nothing waits but more may come, the earliest its next one can arrive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Front {
    Waiting(Millis),
    MayBring(Millis),
    Done,
}

/// The next shard to release records from and the rival that bounds it;
/// `None` when nothing may go on now.
pub(super) fn next(fronts: &[Front]) -> Option<(usize, Option<(Millis, usize)>)> {
    let key = |i: usize| match fronts[i] {
        Front::Waiting(a) | Front::MayBring(a) => Some((a, i)),
        Front::Done => None,
    };
    let (_, first) = fronts
        .iter()
        .enumerate()
        .filter_map(|(i, _)| key(i))
        .min()?;
    if !matches!(fronts[first], Front::Waiting(_)) {
        return None;
    }
    let rival = (0..fronts.len())
        .filter(|&j| j != first)
        .filter_map(key)
        .min();
    Some((first, rival))
}

/// Calls `f` with the time and session of each event in a Kinesis record
/// (every user record of a KPL aggregate, in order) that decodes.
fn each_event(bytes: &[u8], mut f: impl FnMut(Millis, &str)) {
    let mut one = |b: &[u8]| {
        if let Ok(e) = pipeline::decode(b) {
            f(e.event_time, &e.session_id);
        }
    };
    match unpack(bytes) {
        Ok(Unpacked::Plain(b)) => one(b),
        Ok(Unpacked::Aggregate(subs)) => subs.iter().for_each(|s| one(&s.data)),
        Err(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-11-28T14:00:00Z: test times are offsets from it.
    const T0: Millis = 1_795_874_400_000;

    fn record(seq: u32, time: Option<Millis>) -> ShardRecord {
        let data = match time {
            Some(t) => format!(
                r#"{{"event_id":"e{seq}","event_type":"view","event_time":{},"session_id":"s","product_id":"sku-a","price":10.0,"referrer":"direct"}}"#,
                T0 + t
            )
            .into_bytes(),
            None => b"{not json".to_vec(),
        };
        ShardRecord {
            sequence: seq.to_string(),
            partition_key: "sku-a".into(),
            data,
        }
    }

    fn seqs(v: Vec<ShardRecord>) -> Vec<String> {
        v.into_iter().map(|r| r.sequence).collect()
    }

    #[test]
    fn records_arrive_at_the_latest_event_time_of_their_shard() {
        let mut w = Waiting::new(None);
        for (i, t) in [Some(1_000), None, Some(5_000), Some(2_000)]
            .into_iter()
            .enumerate()
        {
            w.push(record(i as u32, t), Millis::MAX, Millis::MIN);
        }
        assert_eq!(w.head(), Some(T0 + 1_000));
        // The undecodable record arrives with its predecessor; the 2 000 ms
        // one after the 5 000 ms one (a straggler).
        let mut merged = Millis::MIN;
        assert_eq!(
            seqs(w.release(1, Some((T0 + 5_000, 0)), &mut merged)),
            ["0", "1"]
        );
        assert_eq!(merged, T0 + 1_000);
        assert_eq!(
            seqs(w.release(0, Some((T0 + 5_000, 1)), &mut merged)),
            ["2", "3"]
        );
        assert!(w.is_empty());
        assert_eq!(w.latest(), T0 + 5_000);
        assert_eq!(merged, T0 + 5_000);
    }

    #[test]
    fn a_far_jump_waits_for_another_session_before_it_moves_the_shard() {
        const YEAR: Millis = 365 * 86_400_000;
        let mut w = Waiting::new(Some(300_000));
        let push = |seq: u32, t: Millis, session: &str, w: &mut Waiting| {
            let data = format!(
                r#"{{"event_id":"e{seq}","event_type":"view","event_time":{},"session_id":"{session}","product_id":"sku-a","price":10.0,"referrer":"direct"}}"#,
                T0 + t
            );
            let r = ShardRecord {
                sequence: seq.to_string(),
                partition_key: "sku-a".into(),
                data: data.into_bytes(),
            };
            w.push(r, Millis::MAX, Millis::MIN);
        };
        // A first record from a wrong clock is provisional, and refuted by
        // the second: both arrive at the second's time.
        push(0, 70 * YEAR, "phone", &mut w);
        assert!(w.undecided());
        push(1, 1_000, "s1", &mut w);
        assert!(!w.undecided());
        assert_eq!(w.head(), Some(T0 + 1_000));
        // Later, one far ahead does not move the shard; its own session
        // does not confirm it; another session near it does.
        push(2, 70 * YEAR, "phone", &mut w);
        push(3, 70 * YEAR + 1_000, "phone", &mut w);
        assert_eq!(w.latest(), T0 + 1_000);
        push(4, 2_000, "s2", &mut w);
        assert_eq!(w.latest(), T0 + 2_000);
        push(5, 3_600_000, "s3", &mut w);
        push(6, 3_601_000, "s4", &mut w);
        assert_eq!(w.latest(), T0 + 3_601_000, "a real jump, confirmed");
    }

    #[test]
    fn a_time_beyond_any_clock_does_not_hold_its_shard_back() {
        let mut w = Waiting::new(None);
        w.push(record(0, Some(1_000)), T0 + 300_000, Millis::MIN);
        w.push(
            record(1, Some(100 * 365 * 86_400_000)),
            T0 + 300_000,
            Millis::MIN,
        );
        assert_eq!(w.latest(), T0 + 1_000);
    }

    #[test]
    fn the_earliest_arrival_goes_first_and_a_shard_that_may_bring_older_holds_the_rest() {
        use Front::*;
        assert_eq!(next(&[Waiting(5), Waiting(3)]), Some((1, Some((5, 0)))));
        assert_eq!(
            next(&[Waiting(5), MayBring(3)]),
            None,
            "shard 1 may bring an arrival before 5"
        );
        assert_eq!(next(&[Waiting(3), MayBring(5)]), Some((0, Some((5, 1)))));
        assert_eq!(next(&[Waiting(3), Done]), Some((0, None)));
        assert_eq!(next(&[Done, Done]), None);
    }
}
