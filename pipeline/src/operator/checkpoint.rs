//! What a partition's checkpoint holds and how a restarted core resumes
//! from it (see [`PartitionState`]).

use super::{CHECKPOINT_DEDUP_IDS, PartitionState, Pipeline};
use crate::time::Millis;
use crate::watermark::PartitionId;

impl Pipeline {
    /// The ordinal of the oldest record of `p` that still feeds an open
    /// window: a restart must feed the partition again from there. `None`
    /// when no open window (nor a held event) has the partition's records.
    pub fn replay_from(&self, p: PartitionId) -> Option<u64> {
        self.windows
            .values()
            .filter_map(|w| w.first.iter().find(|(q, _)| *q == p).map(|(_, o)| *o))
            .chain(self.holds.ordinal(p))
            .min()
    }

    /// The state a checkpoint of `p` keeps (see [`PartitionState`]).
    pub fn partition_state(&self, p: PartitionId) -> PartitionState {
        let products = &self.products;
        let trends = (0..products.names.len())
            .filter(|&i| products.homes[i] == p)
            .map(|i| (products.names[i].to_string(), products.trends[i]))
            .collect();
        PartitionState {
            last_window: self
                .last_closed
                .max(self.resumed_through.get(p.0 as usize).copied().unwrap_or(0)),
            // Windows due but not yet handed out (a host closes one at a
            // time) are still open: a restart must emit them.
            watermark: self
                .watermark()
                .min(self.stream_time().unwrap_or(Millis::MIN))
                .saturating_sub(self.config.allowed_lateness)
                .min(
                    self.windows
                        .keys()
                        .next()
                        .map_or(Millis::MAX, |end| end.saturating_sub(1)),
                ),
            observed_since: self.observed_since,
            trends,
            // Only ids of events whose every window has closed: the others
            // are read again after a restart and must not look like duplicates.
            dedup: self.dedup.recent(p, CHECKPOINT_DEDUP_IDS, |t| {
                self.is_closed(p, self.spec.last_window(t))
            }),
            held: self.holds.positions(p),
            refuted: self
                .holds
                .refuted_since(p, self.replay_from(p).unwrap_or(self.ordinal(p))),
            latest: (self.latest != Millis::MIN).then_some(self.latest),
        }
    }

    /// Restores a partition from its checkpoint, before any of its records
    /// are ingested again: windows ending at or before `state.last_window`
    /// stay closed for its records, and its products keep their history.
    pub fn resume(&mut self, p: PartitionId, state: PartitionState) {
        self.register_partition(self.watermarks.name(p).clone().as_ref());
        self.resumed_through[p.0 as usize] = state.last_window.max(state.watermark);
        self.observed_since = self.observed_since.min(state.observed_since);
        if let Some(latest) = state.latest {
            self.latest = self.latest.max(latest);
        }
        self.holds.restore(p, &state.refuted, &state.held);
        self.dedup.restore(p, &state.dedup);
        for (id, trend) in state.trends {
            match self.products.get(id.as_bytes()) {
                Some(i) => self.products.trends[i as usize] = trend,
                None => {
                    self.products.intern(&id, p, trend);
                }
            }
        }
    }
}
