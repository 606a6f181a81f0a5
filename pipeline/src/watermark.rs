//! Per-partition watermarks and the operator watermark.
//!
//! A partition's watermark is its max accepted event time minus the allowed
//! out-of-orderness. The operator watermark is the minimum over active
//! partitions, never moves back, and ignores partitions that are closed (end
//! of file or shard) or idle (no records for `idle_timeout` of host time).

use std::sync::Arc;

use serde::Serialize;

use crate::time::Millis;

/// Index of a registered partition (a file, or a Kinesis shard).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PartitionId(pub u32);

#[derive(Clone, Debug)]
struct Partition {
    name: Arc<str>,
    max_event_time: Option<Millis>,
    /// Host time of the last record, or of the first clock reading after registration.
    last_active: Option<Millis>,
    idle: bool,
    closed: bool,
}

/// One partition's state, for the stats.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PartitionStats {
    pub name: String,
    #[serde(serialize_with = "crate::time::serialize_rfc3339_opt")]
    pub watermark: Option<Millis>,
    pub idle: bool,
    pub closed: bool,
}

#[derive(Debug)]
pub struct Watermarks {
    partitions: Vec<Partition>,
    out_of_orderness: Millis,
    idle_timeout: Millis,
    watermark: Millis,
    finished: bool,
    /// The clock of the last `tick`: a host ticks once per partition it
    /// polls, and ticking again at the same time changes nothing.
    ticked_at: Option<Millis>,
    /// While no partition is idle: a host time up to which none can become
    /// idle (the least last activity plus the timeout, or less), so ticks
    /// up to it change nothing. `None`: unknown, or a partition is idle.
    calm_until: Option<Millis>,
}

impl Watermarks {
    pub fn new(out_of_orderness: Millis, idle_timeout: Millis) -> Watermarks {
        Watermarks {
            partitions: Vec::new(),
            out_of_orderness,
            idle_timeout,
            watermark: Millis::MIN,
            finished: false,
            ticked_at: None,
            calm_until: None,
        }
    }

    /// Registers a partition (or returns the existing one of that name). Until it
    /// has records it holds the watermark back, for at most the idle timeout.
    pub fn register(&mut self, name: &str) -> PartitionId {
        if let Some(i) = self.partitions.iter().position(|p| &*p.name == name) {
            return PartitionId(i as u32);
        }
        self.ticked_at = None;
        self.calm_until = None;
        self.partitions.push(Partition {
            name: name.into(),
            max_event_time: None,
            last_active: None,
            idle: false,
            closed: false,
        });
        PartitionId(self.partitions.len() as u32 - 1)
    }

    pub fn name(&self, p: PartitionId) -> &Arc<str> {
        &self.partitions[p.0 as usize].name
    }

    pub fn len(&self) -> usize {
        self.partitions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.partitions.is_empty()
    }

    /// The operator watermark (`Millis::MIN` before any, `Millis::MAX` after finish).
    pub fn watermark(&self) -> Millis {
        if self.finished {
            Millis::MAX
        } else {
            self.watermark
        }
    }

    /// The max accepted event time over all partitions ("stream time").
    pub fn max_event_time(&self) -> Option<Millis> {
        self.partitions
            .iter()
            .filter_map(|p| p.max_event_time)
            .max()
    }

    /// Host clock reading: marks partitions idle that had no records for the idle timeout.
    pub fn tick(&mut self, now: Millis) {
        if self.ticked_at == Some(now) {
            return;
        }
        self.ticked_at = Some(now);
        // A host ticks on every poll; the partitions are looked at only
        // when one of them may have gone idle since.
        if self.calm_until.is_some_and(|calm| now <= calm) {
            return;
        }
        let mut changed = false;
        let mut calm = Some(Millis::MAX);
        for p in &mut self.partitions {
            let since = *p.last_active.get_or_insert(now);
            let idle = now.saturating_sub(since) > self.idle_timeout;
            changed |= idle != p.idle;
            p.idle = idle;
            calm = calm
                .filter(|_| !idle)
                .map(|c| c.min(since.saturating_add(self.idle_timeout)));
        }
        self.calm_until = calm;
        if changed {
            self.recompute();
        }
    }

    /// Records arrived on `p` at host time `now`: it is active again.
    pub fn touch(&mut self, p: PartitionId, now: Millis) {
        // Active at the last tick's time is what that tick would find; at
        // any other time the next tick must look again.
        if self.ticked_at != Some(now) {
            self.ticked_at = None;
        }
        self.calm_until = self
            .calm_until
            .map(|calm| calm.min(now.saturating_add(self.idle_timeout)));
        let part = &mut self.partitions[p.0 as usize];
        part.last_active = Some(now);
        if part.idle {
            part.idle = false;
            self.recompute();
        }
    }

    /// An accepted event's time on `p`.
    pub fn observe(&mut self, p: PartitionId, event_time: Millis) {
        let part = &mut self.partitions[p.0 as usize];
        if part.max_event_time.is_none_or(|m| event_time > m) {
            // A mark above the watermark was not the least active one (the
            // watermark is never below that, and with none active it is at
            // least every mark): raising it leaves the watermark as it was.
            let above = part
                .max_event_time
                .is_some_and(|m| m.saturating_sub(self.out_of_orderness) > self.watermark);
            part.max_event_time = Some(event_time);
            if !above {
                self.recompute();
            }
        }
    }

    /// The partition has ended (end of file, shard closed): it no longer holds the watermark.
    pub fn close(&mut self, p: PartitionId) {
        self.partitions[p.0 as usize].closed = true;
        self.recompute();
    }

    /// End of input: every window is complete; later records are late.
    pub fn finish(&mut self) {
        self.finished = true;
    }

    /// The watermark reached from event times, ignoring [`Watermarks::finish`].
    pub fn event_watermark(&self) -> Millis {
        self.watermark
    }

    fn recompute(&mut self) {
        let wm = |p: &Partition| {
            p.max_event_time
                .map_or(Millis::MIN, |t| t.saturating_sub(self.out_of_orderness))
        };
        let active = self.partitions.iter().filter(|p| !p.closed && !p.idle);
        let candidate = match active.map(wm).min() {
            Some(min) => min,
            // Nothing active: everything seen so far may be released.
            None => self.partitions.iter().map(wm).max().unwrap_or(Millis::MIN),
        };
        self.watermark = self.watermark.max(candidate);
    }

    pub fn stats(&self) -> Vec<PartitionStats> {
        self.partitions
            .iter()
            .map(|p| PartitionStats {
                name: p.name.to_string(),
                watermark: p.max_event_time.map(|t| t - self.out_of_orderness),
                idle: p.idle,
                closed: p.closed,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimum_over_active_partitions() {
        let mut w = Watermarks::new(1_000, 60_000);
        let a = w.register("a");
        let b = w.register("b");
        w.tick(0);
        w.observe(a, 10_000);
        assert_eq!(w.watermark(), Millis::MIN, "b has no data yet");
        w.observe(b, 5_000);
        assert_eq!(w.watermark(), 4_000);
        w.observe(a, 20_000);
        assert_eq!(w.watermark(), 4_000);
        w.observe(b, 30_000);
        assert_eq!(w.watermark(), 19_000);
    }

    #[test]
    fn idle_partition_stops_holding_back_and_watermark_never_regresses() {
        let mut w = Watermarks::new(0, 60_000);
        let a = w.register("a");
        let b = w.register("b");
        w.tick(0);
        w.touch(a, 0);
        w.observe(a, 100_000);
        assert_eq!(w.watermark(), Millis::MIN);
        w.tick(60_000);
        assert_eq!(
            w.watermark(),
            Millis::MIN,
            "exactly the timeout is not idle yet"
        );
        w.touch(a, 60_001);
        w.tick(60_001);
        assert_eq!(w.watermark(), 100_000, "b idle");
        w.touch(b, 60_002);
        w.observe(b, 50_000);
        assert_eq!(w.watermark(), 100_000, "never moves back");
        w.close(a);
        w.observe(b, 150_000);
        assert_eq!(w.watermark(), 150_000);
    }

    proptest::proptest! {
        /// Ticking again at the same time (as a host does once per
        /// partition it polls), or before any partition can have gone idle,
        /// is skipped, and leaves what a full tick would have left — also
        /// when the host clock steps back; so is working the watermark out
        /// again when a time raises a partition that was not the least.
        #[test]
        fn ticks_at_the_same_time_change_nothing(
            steps in proptest::collection::vec((0usize..3, 0u8..4, -1_000i64..5_000, 0i64..200_000), 1..60),
        ) {
            let mut cached = Watermarks::new(1_000, 3_000);
            let mut full = Watermarks::new(1_000, 3_000);
            for w in [&mut cached, &mut full] {
                for name in ["a", "b", "c"] {
                    w.register(name);
                }
            }
            let mut now = 0;
            for (p, action, advance, t) in steps {
                let p = PartitionId(p as u32);
                now += advance;
                for (w, forget) in [(&mut cached, false), (&mut full, true)] {
                    match action {
                        0 => {}
                        1 => w.touch(p, now),
                        2 => {
                            w.observe(p, t);
                            if forget {
                                w.recompute();
                            }
                        }
                        _ => w.close(p),
                    }
                    for _ in 0..2 {
                        if forget {
                            w.ticked_at = None;
                            w.calm_until = None;
                        }
                        w.tick(now);
                    }
                }
                proptest::prop_assert_eq!(cached.watermark(), full.watermark());
                proptest::prop_assert_eq!(cached.stats(), full.stats());
            }
        }
    }
}
