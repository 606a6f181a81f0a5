//! The products the core has seen, interned to dense indexes.

use rustc_hash::FxHashMap;

use crate::catalog::Catalog;
use crate::features::Trend;
use crate::watermark::PartitionId;

/// Products seen so far, interned to dense indexes, with their view history
/// and the partition they were first seen on (their home, for checkpoints).
#[derive(Debug, Default)]
pub(super) struct Products {
    pub(super) index: FxHashMap<Box<str>, u32>,
    pub(super) names: Vec<Box<str>>,
    pub(super) trends: Vec<Trend>,
    pub(super) homes: Vec<PartitionId>,
    /// Distinct sessions in the product's last closed window: the size a
    /// new window's session set starts at.
    pub(super) sessions: Vec<u32>,
}

impl Products {
    pub(super) fn lookup<C: Catalog + ?Sized>(
        &mut self,
        id: &str,
        home: PartitionId,
        catalog: &C,
    ) -> Option<u32> {
        if let Some(&i) = self.index.get(id) {
            return Some(i);
        }
        catalog.item(id)?;
        Some(self.intern(id, home, Trend::default()))
    }

    pub(super) fn intern(&mut self, id: &str, home: PartitionId, trend: Trend) -> u32 {
        let i = self.names.len() as u32;
        self.index.insert(id.into(), i);
        self.names.push(id.into());
        self.trends.push(trend);
        self.homes.push(home);
        self.sessions.push(0);
        i
    }
}
