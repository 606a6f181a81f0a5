//! The per-window protocol every host follows, written once (sans-IO).
//!
//! A host pushes partition batches into the [`Driver`] and pulls closed
//! windows from it, one at a time. The driver hands out window n+1 only after
//! the host reports window n as settled (its price decisions applied), so
//! "a price change applies from the next window" holds in every host by
//! construction, at the end of input too. [`Pricer::price_batch`] is the one
//! place that asks a model for a batch, checks that it answered once per
//! record and decides in order.

use std::sync::Arc;

use crate::catalog::{Catalog, CatalogItem, Orders};
use crate::dead_letter::DeadLetter;
use crate::features::FeatureRecord;
use crate::model::{ModelError, PriceModel};
use crate::operator::{Output, Pipeline, RawRecord};
use crate::pricer::{Decision, Pricer};
use crate::time::Millis;
use crate::watermark::PartitionId;

/// A closed window's feature records (in product order; may be empty when
/// no product of the window was in the catalog).
#[derive(Clone, Debug, PartialEq)]
pub struct ClosedWindow {
    pub end: Millis,
    pub features: Vec<FeatureRecord>,
}

/// The streaming core plus the window hand-off.
#[derive(Debug)]
pub struct Driver {
    core: Pipeline,
    out: Output,
    /// The window handed out and not yet settled.
    unsettled: Option<Millis>,
    ended: bool,
}

impl Driver {
    pub fn new(core: Pipeline) -> Driver {
        Driver {
            core,
            out: Output::default(),
            unsettled: None,
            ended: false,
        }
    }

    /// The core, for registering and resuming partitions, checkpoints and stats.
    pub fn core(&self) -> &Pipeline {
        &self.core
    }

    pub fn core_mut(&mut self) -> &mut Pipeline {
        &mut self.core
    }

    /// One batch of one partition's records, read at host time `now`.
    /// Rejected records become dead letters ([`Driver::take_dead_letters`]).
    pub fn ingest<C: Catalog + ?Sized>(
        &mut self,
        partition: PartitionId,
        now: Millis,
        records: &[RawRecord<'_>],
        catalog: &C,
    ) {
        self.core
            .ingest(partition, now, records, catalog, &mut self.out);
    }

    /// The partition ended (end of file, closed shard); an event it held
    /// for confirmation is decided now.
    pub fn close_partition<C: Catalog + ?Sized>(&mut self, partition: PartitionId, catalog: &C) {
        self.core.close_partition(partition, catalog, &mut self.out);
    }

    /// No more input: every open window closes (one per call of
    /// [`Driver::next_window`]); records ingested afterwards are late.
    pub fn end_of_input(&mut self) {
        self.ended = true;
    }

    /// The next window the watermark (at host time `now`) has passed, or
    /// every remaining one after [`Driver::end_of_input`]. `None` when none
    /// is due, or while the window handed out last is not settled.
    pub fn next_window<C: Catalog + ?Sized, O: Orders + ?Sized>(
        &mut self,
        now: Millis,
        catalog: &C,
        orders: &O,
    ) -> Option<ClosedWindow> {
        if self.unsettled.is_some() {
            return None;
        }
        let end = if self.ended {
            self.core.finish_one(catalog, orders, &mut self.out)
        } else {
            self.core.advance_one(now, catalog, orders, &mut self.out)
        }?;
        self.unsettled = Some(end);
        Some(ClosedWindow {
            end,
            features: std::mem::take(&mut self.out.features),
        })
    }

    /// The window ending at `end` has its decisions applied: the next one may close.
    /// Settling any other window is a host bug and changes nothing.
    pub fn settle(&mut self, end: Millis) -> Result<(), SettleError> {
        match self.unsettled {
            Some(open) if open == end => {
                self.unsettled = None;
                Ok(())
            }
            other => Err(SettleError {
                expected: other,
                got: end,
            }),
        }
    }

    /// The window handed out and not yet settled.
    pub fn unsettled(&self) -> Option<Millis> {
        self.unsettled
    }

    /// Dead letters since the last call.
    pub fn take_dead_letters(&mut self) -> std::vec::Drain<'_, DeadLetter> {
        self.out.dead_letters.drain(..)
    }
}

/// [`Driver::settle`] for a window that was not the one handed out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("settled window {got}, but the window handed out is {expected:?}")]
pub struct SettleError {
    pub expected: Option<Millis>,
    pub got: Millis,
}

/// Where a batch's decisions go: the host's catalog and its writes.
pub trait PriceStage {
    /// The product's catalog item as it is now; `None` skips the record.
    fn item(&mut self, product_id: &str) -> Option<&CatalogItem>;

    /// One decision, in record order. The stage applies its update (if any)
    /// so that a later record of the same product in the batch sees it.
    fn decided(&mut self, record: &FeatureRecord, decision: Decision);

    /// A record whose product is not in the catalog.
    fn skipped(&mut self, record: &FeatureRecord) {
        let _ = record;
    }
}

impl Pricer {
    /// Asks `model` for the batch, checks one output per record, and decides
    /// each record in order against the stage's catalog. On a model error
    /// nothing is decided.
    pub fn price_batch<S: PriceStage + ?Sized>(
        &self,
        model: &mut dyn PriceModel,
        version: &Arc<str>,
        records: &[FeatureRecord],
        stage: &mut S,
    ) -> Result<(), ModelError> {
        if records.is_empty() {
            return Ok(());
        }
        let outputs = model.predict(records)?;
        if outputs.len() != records.len() {
            return Err(ModelError::fatal(format!(
                "the model returned {} outputs for {} records",
                outputs.len(),
                records.len()
            )));
        }
        for (record, output) in records.iter().zip(outputs) {
            let Some(item) = stage.item(&record.product_id) else {
                stage.skipped(record);
                continue;
            };
            let decision = self.decide(record, output, item, version);
            stage.decided(record, decision);
        }
        Ok(())
    }
}
