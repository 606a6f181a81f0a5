//! Counters that add up: `received = accepted + dead_lettered + held`, and
//! `dead_lettered` = the sum over reasons.

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use crate::dead_letter::Reason;
use crate::dedup::DedupStats;
use crate::time::Millis;
use crate::watermark::PartitionStats;

/// Dead-letter counts by reason; serialized as a map with every reason.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReasonCounts(pub [u64; Reason::ALL.len()]);

impl ReasonCounts {
    pub fn get(&self, r: Reason) -> u64 {
        self.0[r.index()]
    }

    pub fn add(&mut self, r: Reason) {
        self.0[r.index()] += 1;
    }

    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }
}

impl Serialize for ReasonCounts {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for r in Reason::ALL {
            m.serialize_entry(r.as_str(), &self.get(r))?;
        }
        m.end()
    }
}

/// A snapshot of the core's counters and gauges.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Stats {
    pub received: u64,
    pub accepted: u64,
    pub dead_lettered: u64,
    pub dead_letters: ReasonCounts,
    /// Events held until the data confirms their jump ahead of the stream
    /// (`max_time_jump`); decided by the end of input.
    pub held: u64,
    /// Time windows closed (each may hold many products).
    pub windows_closed: u64,
    pub feature_records: u64,
    /// (product, window) aggregates not emitted because the product had left the catalog.
    pub unenriched: u64,
    pub open_windows: usize,
    pub open_aggregates: usize,
    pub products_seen: usize,
    #[serde(serialize_with = "crate::time::serialize_rfc3339_opt")]
    pub watermark: Option<Millis>,
    pub dedup: DedupStats,
    pub partitions: Vec<PartitionStats>,
}

impl Stats {
    /// Whether the counters add up (they always should).
    pub fn balanced(&self) -> bool {
        self.received == self.accepted + self.dead_lettered + self.held
            && self.dead_lettered == self.dead_letters.total()
    }

    /// A short human-readable summary (what `replay` prints on stderr).
    pub fn summary(&self) -> String {
        let mut s = format!(
            "received        {:>10}\naccepted        {:>10}\ndead-lettered   {:>10}\n",
            self.received, self.accepted, self.dead_lettered
        );
        for r in Reason::ALL {
            let n = self.dead_letters.get(r);
            if n > 0 {
                s += &format!("  {:<24}{:>8}\n", r.as_str(), n);
            }
        }
        if self.held > 0 {
            s += &format!("held            {:>10}\n", self.held);
        }
        s += &format!(
            "windows closed  {:>10}\nfeature records {:>10}\n",
            self.windows_closed, self.feature_records
        );
        if self.unenriched > 0 {
            s += &format!("unenriched      {:>10}\n", self.unenriched);
        }
        s += &format!(
            "dedup           {:>10} ids, {} KiB, {} evicted early\n",
            self.dedup.entries,
            self.dedup.memory_bytes / 1024,
            self.dedup.evicted_early
        );
        s
    }
}
