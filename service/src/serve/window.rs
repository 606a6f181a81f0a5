//! A closed window's way out: its features written, its decisions awaited
//! (the settle step), its dead letters stored, every shard checkpointed.

use crate::error::Error;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use pipeline::{ClosedWindow, Driver, FeatureRecord, Millis, Pipeline};
use tracing::warn;

use super::{Caches, Decided, Run, Shard, sequence_of};
use crate::aws::{Item, batch_get, put_items};
use crate::items::Codec;
use crate::leases::{self, Outcome};
use crate::shards::compare_sequence;

impl Run<'_> {
    /// Keeps the dead letters of records not processed before this run.
    pub(super) fn take_dead_letters(
        &mut self,
        driver: &mut Driver,
        shards: &BTreeMap<String, Shard>,
    ) {
        for d in driver.take_dead_letters() {
            let stored = shards.get(&*d.partition).is_some_and(|s| {
                !s.unstored.contains(&d.position)
                    && s.stored_through.as_deref().is_some_and(|through| {
                        compare_sequence(sequence_of(&d.position), through).is_le()
                    })
            });
            if !stored {
                self.metrics.dead_letter(d.reason.as_str());
                self.dead.push(d);
            }
        }
    }

    pub(super) fn flush_dead_letters(&mut self) -> Result<(), Error> {
        if self.dead.is_empty() {
            return Ok(());
        }
        crate::dlq::put(self.aws, &self.config.tables.dead_letters, &self.dead)?;
        self.report.dead_letters += self.dead.len() as u64;
        self.dead.clear();
        Ok(())
    }

    /// Writes a closed window's features, waits for their decisions and
    /// settles the window with the driver.
    pub(super) fn emit_window(
        &mut self,
        window: ClosedWindow,
        driver: &mut Driver,
        shards: &mut BTreeMap<String, Shard>,
        caches: &mut Caches,
    ) -> Result<(), Error> {
        self.take_dead_letters(driver, shards);
        let features = window.features;
        let table = &self.config.tables.features;
        let mut items: Vec<Item> = features.iter().map(Codec::to_item).collect();
        if self.first_window && !items.is_empty() {
            let there: HashSet<(String, String)> =
                batch_get(self.aws, table, items.iter().map(key_of).collect())?
                    .iter()
                    .filter_map(key_pair)
                    .collect();
            let before = items.len();
            items.retain(|i| key_pair(i).is_none_or(|k| !there.contains(&k)));
            self.report.already_written += (before - items.len()) as u64;
        }
        let written = items.len() as u64;
        put_items(self.aws, table, items)?;
        self.report.windows += 1;
        self.report.feature_records += written;
        self.metrics.windows_closed.inc();
        self.metrics.feature_records.inc_by(written);
        if let Some(end) = features.first().map(|f| f.window.end) {
            let audits = self.settle(&features, end, caches)?;
            if let Some(o) = &mut self.observer {
                let decided: Vec<Decided> = audits.iter().filter_map(Decided::from_audit).collect();
                o.window(&features, &decided);
            }
        }
        // Checkpointed by the caller once no due window is left: the core's
        // state then matches what was emitted (see `Pipeline::partition_state`).
        driver.settle(window.end).map_err(Error::internal)
    }

    /// Waits until every record of window `end` has a decision and applied
    /// prices are visible, then takes those items into the cache.
    pub(super) fn settle(
        &mut self,
        features: &[FeatureRecord],
        end: Millis,
        caches: &mut Caches,
    ) -> Result<Vec<Item>, Error> {
        let t = &self.config.tables;
        let deadline =
            Instant::now() + Duration::from_millis(self.config.pricer.settle_timeout.0 as u64);
        let keys: Vec<Item> = features
            .iter()
            .map(|f| {
                HashMap::from([
                    (
                        "product_id".to_string(),
                        AttributeValue::S(f.product_id.to_string()),
                    ),
                    ("window_end".to_string(), AttributeValue::N(end.to_string())),
                ])
            })
            .collect();
        let product_keys: Vec<Item> = features
            .iter()
            .map(|f| {
                HashMap::from([(
                    "product_id".to_string(),
                    AttributeValue::S(f.product_id.to_string()),
                )])
            })
            .collect();
        let mut pause = Duration::from_millis(25);
        loop {
            let audits = batch_get(self.aws, &t.audit, keys.clone())?;
            let applied: HashSet<String> = audits
                .iter()
                .filter(|a| matches!(a.get("applied"), Some(AttributeValue::Bool(true))))
                .filter_map(|a| a.get("product_id").and_then(|v| v.as_s().ok()).cloned())
                .collect();
            let items = batch_get(self.aws, &t.catalog, product_keys.clone())?;
            let visible = items.iter().all(|i| {
                let id = i.get("product_id").and_then(|v| v.as_s().ok());
                let last: Millis = i
                    .get("last_window")
                    .and_then(|v| v.as_n().ok())
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0);
                !id.is_some_and(|id| applied.contains(id)) || last >= end
            });
            let settled = audits.len() == features.len() && visible;
            if settled || Instant::now() >= deadline {
                if !settled {
                    self.report.settle_timeouts += 1;
                    self.metrics.settle_timeouts.inc();
                    warn!(
                        window_end = end,
                        decided = audits.len(),
                        records = features.len(),
                        "the pricer did not decide the window in time; the next window uses the prices as they are"
                    );
                }
                for item in &items {
                    if let Ok(c) = pipeline::CatalogItem::from_item(item) {
                        caches.catalog.upsert(c);
                    }
                }
                return Ok(audits);
            }
            // A slow pricer must not cost this worker its leases.
            self.keep_leases()?;
            // Backing off: in a fleet every worker waits on one pricer, and
            // their polls would slow the tables it writes to.
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(400));
        }
    }

    /// Checkpoints every shard (see the module docs).
    pub(super) fn checkpoint_all(
        &mut self,
        core: &Pipeline,
        shards: &mut BTreeMap<String, Shard>,
    ) -> Result<(), Error> {
        for (id, shard) in shards.iter_mut() {
            // A shard none of whose records this run has processed keeps
            // its checkpoint: its `replay_at` still names records to read
            // (they may be waiting for the other shards), unless it ended.
            let fallback = || {
                shard
                    .closed
                    .then(|| self.membership.lease(id).and_then(|l| l.checkpoint.clone()))
                    .flatten()
            };
            let Some(processed) = shard.processed.clone().or_else(fallback) else {
                continue;
            };
            let replay_at = match core.replay_from(shard.part) {
                Some(ordinal) => {
                    while shard.seqs.front().is_some_and(|(o, _)| *o < ordinal) {
                        shard.seqs.pop_front();
                    }
                    shard.seqs.front().map(|(_, s)| s.clone())
                }
                None => {
                    shard.seqs.clear();
                    None
                }
            };
            let state = core.partition_state(shard.part);
            let at = leases::Position {
                processed,
                finished: shard.closed && replay_at.is_none(),
                replay_at,
                last_window: state.last_window,
                state: serde_json::to_string(&state).ok(),
            };
            let Some(lease) = self.membership.lease(id) else {
                continue;
            };
            if at.processed == lease.checkpoint.clone().unwrap_or_default()
                && at.replay_at == lease.replay_at
                && at.last_window == lease.last_window
                && at.state == lease.state
            {
                continue;
            }
            if self.membership.checkpoint(&mut self.table(), id, &at)? == Outcome::Lost {
                // Taken after this worker's renewals lapsed: the new owner
                // reads it from its last checkpoint.
                warn!(shard = %id, "lost the lease to another worker");
                self.lost = true;
                continue;
            }
            self.metrics.checkpoints.inc();
        }
        Ok(())
    }
}

fn key_of(item: &Item) -> Item {
    item.iter()
        .filter(|(k, _)| *k == "product_id" || *k == "window_end")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn key_pair(item: &Item) -> Option<(String, String)> {
    Some((
        item.get("product_id")?.as_s().ok()?.clone(),
        item.get("window_end")?.as_n().ok()?.clone(),
    ))
}
