//! The pricer stage shared by `serve` (on the features table's stream) and
//! the Lambda: feature records → model → guardrails → audit record → price
//! update. Idempotent, so a redelivered record changes nothing:
//! the audit record is put only if absent, then the price update is
//! conditional on the window (`last_window < window_end`). Audit first, so a
//! crash between the two writes is finished by the redelivery, which decides
//! the same again (the catalog item has not changed).

use crate::error::Error;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use aws_sdk_dynamodb::types::AttributeValue;
use pipeline::{AuditRecord, CatalogItem, Decision, FeatureRecord, PriceModel, PriceStage, Pricer};

use crate::aws::{Aws, batch_get};
use crate::config::Config;
use crate::items::Codec;
use crate::metrics::Metrics;
use crate::tables::{Write, apply_price_update, put_if_absent};

/// A price model that can move to the pricer's thread.
pub type Model = Box<dyn PriceModel + Send>;

/// The model the configuration names (`model::ModelSpec`'s one factory),
/// with AWS endpoints from `aws.endpoint_url`.
pub fn load_model(config: &Config) -> Result<Model, Error> {
    config
        .model
        .load(config.aws.endpoint_url.as_deref())
        .map_err(Error::user)
}

/// What happened to one record of a batch.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// Decided and written (the decision may hold the price).
    Decided(Box<AuditRecord>),
    /// Nothing to decide: the product is not in the catalog.
    Skipped(String),
    /// Could not be written; retry the record.
    Failed(Error),
}

/// The pricer with its model and tables.
pub struct Stage {
    pub pricer: Pricer,
    model: Model,
    version: Arc<str>,
    catalog: String,
    audit: String,
    metrics: Metrics,
}

impl Stage {
    pub fn new(config: &Config, model: Model, metrics: Metrics) -> Stage {
        Stage {
            pricer: Pricer::new(config.guardrails.clone()),
            version: model.version().into(),
            model,
            catalog: config.tables.catalog.clone(),
            audit: config.tables.audit.clone(),
            metrics,
        }
    }

    /// Decides for `records` (in order; a product's later window sees its
    /// earlier decision) against the live catalog, and writes the results.
    /// `Err` when the catalog cannot be read or the model fails: nothing was
    /// written; whether to retry the batch is [`Error::retryable`].
    pub fn price(&mut self, aws: &Aws, records: &[FeatureRecord]) -> Result<Vec<Outcome>, Error> {
        if records.is_empty() {
            return Ok(Vec::new());
        }
        let items = load_items(aws, &self.catalog, records)
            .map_err(|e| e.context("reading the catalog"))?;
        let mut writes = Writes {
            aws,
            items,
            catalog: &self.catalog,
            audit: &self.audit,
            metrics: &self.metrics,
            outcomes: Vec::with_capacity(records.len()),
        };
        let started = Instant::now();
        let priced =
            self.pricer
                .price_batch(self.model.as_mut(), &self.version, records, &mut writes);
        // The model's time dominates: the writes wait on DynamoDB.
        self.metrics
            .model_latency_seconds
            .observe(started.elapsed().as_secs_f64());
        priced?;
        Ok(writes.outcomes)
    }
}

/// The service's side of a priced batch: each decision's audit record and
/// conditional price update, written as it is decided.
struct Writes<'a> {
    aws: &'a Aws,
    items: HashMap<String, CatalogItem>,
    catalog: &'a str,
    audit: &'a str,
    metrics: &'a Metrics,
    outcomes: Vec<Outcome>,
}

impl PriceStage for Writes<'_> {
    fn item(&mut self, product_id: &str) -> Option<&CatalogItem> {
        self.items.get(product_id)
    }

    fn decided(&mut self, _: &FeatureRecord, decision: Decision) {
        let outcome = match self.write(&decision) {
            Ok(()) => {
                self.metrics.decision(decision.audit.rule.as_str());
                Outcome::Decided(Box::new(decision.audit))
            }
            Err(e) => {
                self.metrics.aws_error("pricer write");
                Outcome::Failed(e)
            }
        };
        self.outcomes.push(outcome);
    }

    fn skipped(&mut self, record: &FeatureRecord) {
        self.outcomes.push(Outcome::Skipped(format!(
            "{} is not in {}",
            record.product_id, self.catalog
        )));
    }
}

impl Writes<'_> {
    fn write(&mut self, d: &Decision) -> Result<(), Error> {
        put_audit_once(self.aws, self.audit, &d.audit)?;
        if let Some(update) = &d.update
            && apply_price_update(self.aws, self.catalog, update)? == Write::Applied
        {
            self.metrics.price_changes.inc();
            // The next window of this product in the batch sees the new price.
            if let Some(item) = self.items.get_mut(&update.product_id) {
                let _ = update.apply_to(item);
            }
        }
        Ok(())
    }
}

/// The catalog items of `records`' products (strongly consistent reads).
fn load_items(
    aws: &Aws,
    table: &str,
    records: &[FeatureRecord],
) -> Result<HashMap<String, CatalogItem>, Error> {
    let mut ids: Vec<&str> = records.iter().map(|r| &*r.product_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let keys = ids
        .iter()
        .map(|id| HashMap::from([("product_id".to_string(), AttributeValue::S(id.to_string()))]))
        .collect();
    let mut out = HashMap::new();
    for item in batch_get(aws, table, keys)? {
        let parsed = CatalogItem::from_item(&item)?;
        out.insert(parsed.product_id.to_string(), parsed);
    }
    Ok(out)
}

/// Puts an audit record unless one exists for its (product, window): the
/// first decision for a window is the one on record.
pub fn put_audit_once(aws: &Aws, table: &str, a: &AuditRecord) -> Result<Write, Error> {
    put_if_absent(aws, table, a.to_item(), || {
        format!("writing the audit record of {} to {table}", a.product_id)
    })
}

/// Every audit record as its JSON line, ordered by product and window.
pub fn list_audit(aws: &Aws, table: &str) -> Result<Vec<String>, Error> {
    let mut rows: Vec<(String, i64, String)> = crate::aws::scan_all(aws, table)?
        .iter()
        .filter_map(|i| {
            Some((
                i.get("product_id")?.as_s().ok()?.clone(),
                i.get("window_end")?.as_n().ok()?.parse().ok()?,
                i.get("record")?.as_s().ok()?.clone(),
            ))
        })
        .collect();
    rows.sort();
    Ok(rows.into_iter().map(|r| r.2).collect())
}
