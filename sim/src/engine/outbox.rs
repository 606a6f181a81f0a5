//! One partition's records awaiting delivery: their bytes back to back in
//! one buffer (written there by the encoder, no buffer per record), their
//! order in a list sorted by delivery time. A re-sent record is a second
//! entry over the same bytes.

use pipeline::Millis;
use pipeline::sized_writer::RecordBuf;

#[derive(Debug, Default)]
pub(super) struct Outbox {
    bytes: RecordBuf,
    /// Sorted by (delivery time, order queued). A list, not a ring:
    /// records are appended one at a time but taken in rounds (the few
    /// left after a round move to the front), and a ring's wrap-around
    /// cost every append and every look at the last entry.
    queue: Vec<Entry>,
    /// Bytes the queued entries cover (shared bytes counted per entry).
    live: usize,
    /// The other buffer of a compaction, kept for the next one.
    spare: RecordBuf,
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    at: Millis,
    start: usize,
    len: usize,
}

/// Below this many bytes the buffer is never compacted.
const COMPACT_FROM: usize = 1 << 16;

impl Outbox {
    /// Writes a record with `write` after what the buffer holds; its (start, len).
    pub(super) fn write(&mut self, write: impl FnOnce(&mut RecordBuf)) -> (usize, usize) {
        let start = self.bytes.len();
        write(&mut self.bytes);
        (start, self.bytes.len() - start)
    }

    /// Queues `bytes[start..start + len]` for delivery at `at`, after every
    /// record due no later. Delivery times are nearly sorted already, so
    /// the place is searched from the back.
    pub(super) fn queue(&mut self, at: Millis, start: usize, len: usize) {
        let entry = Entry { at, start, len };
        self.live += len;
        if self.queue.last().is_none_or(|r| r.at <= at) {
            self.queue.push(entry);
        } else {
            let later = self.queue.iter().rev().take_while(|r| r.at > at).count();
            self.queue.insert(self.queue.len() - later, entry);
        }
    }

    /// Hands every record due before `before` (all, for `None`) to `sink`
    /// in order, then reclaims the buffer's delivered bytes.
    #[inline] // most calls (the workbench's small steps) find nothing due
    pub(super) fn deliver(&mut self, before: Option<Millis>, sink: impl FnMut(Millis, &[u8])) {
        if self
            .queue
            .first()
            .is_some_and(|r| before.is_none_or(|b| r.at < b))
        {
            self.deliver_due(before, sink);
        }
    }

    #[inline(never)]
    fn deliver_due(&mut self, before: Option<Millis>, mut sink: impl FnMut(Millis, &[u8])) {
        let bytes = self.bytes.as_bytes();
        let mut taken = 0;
        for r in &self.queue {
            if before.is_some_and(|b| r.at >= b) {
                break;
            }
            taken += 1;
            self.live -= r.len;
            sink(r.at, &bytes[r.start..r.start + r.len]);
        }
        self.queue.drain(..taken);
        if self.queue.is_empty() {
            self.bytes.clear();
        } else if self.bytes.len() > COMPACT_FROM && self.bytes.len() > 4 * self.live {
            self.compact();
        }
    }

    /// Copies the queued records, in queue order, into the spare buffer,
    /// which becomes the buffer: each byte is copied about once over its
    /// life, as the buffer is at least three quarters delivered.
    fn compact(&mut self) {
        self.spare.clear();
        let old = self.bytes.as_bytes();
        for r in &mut self.queue {
            let start = self.spare.len();
            let piece = &old[r.start..r.start + r.len];
            self.spare.append_sized(piece.len(), |w| w.put(piece));
            r.start = start;
        }
        std::mem::swap(&mut self.bytes, &mut self.spare);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Against a plain list of (time, bytes) sorted stably by time:
        /// records of any size queued out of order, some sharing bytes,
        /// delivered in rounds; every record arrives once, in order, intact,
        /// across compactions.
        #[test]
        fn records_arrive_once_in_time_order_and_intact(
            records in proptest::collection::vec((0i64..14, 0usize..3_000, proptest::bool::ANY), 1..400),
            rounds in proptest::collection::vec(0i64..4, 0..10),
        ) {
            let mut outbox = Outbox::default();
            let mut want: Vec<(Millis, Vec<u8>)> = Vec::new();
            let mut got: Vec<(Millis, Vec<u8>)> = Vec::new();
            let mut clock = 0;
            let mut rounds = rounds.into_iter();
            for (i, &(dt, len, twice)) in records.iter().enumerate() {
                let at = clock + dt;
                let bytes: Vec<u8> = (0..len).map(|k| (i + k) as u8).collect();
                let (start, len) = outbox.write(|b| b.append_sized(len, |w| w.put(&bytes)));
                outbox.queue(at, start, len);
                want.push((at, bytes.clone()));
                if twice {
                    outbox.queue(at + 1, start, len);
                    want.push((at + 1, bytes));
                }
                if i % 40 == 39 {
                    clock += 10;
                    // Due before now: anything queued later is due later.
                    if let Some(r) = rounds.next() {
                        outbox.deliver(Some(clock - r), |at, b| got.push((at, b.to_vec())));
                    }
                }
            }
            // Compacted as it went: what is held is bounded by what is queued.
            proptest::prop_assert!(outbox.bytes.len() <= (4 * outbox.live).max(COMPACT_FROM) + 40 * 3_000);
            outbox.deliver(None, |at, b| got.push((at, b.to_vec())));
            proptest::prop_assert_eq!(outbox.bytes.len(), 0);
            want.sort_by_key(|r| r.0);
            proptest::prop_assert_eq!(got.len(), want.len());
            proptest::prop_assert!(got.windows(2).all(|w| w[0].0 <= w[1].0));
            // Stable order per time: the same records in the same order.
            proptest::prop_assert_eq!(got, want);
        }
    }
}
