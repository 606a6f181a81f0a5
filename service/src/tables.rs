//! DynamoDB adapters for the core and the pricer: the catalog as a cached
//! `pipeline::Catalog`, conditional price updates, conditional feature-record
//! puts, and audit records.

use crate::error::Error;
use aws_sdk_dynamodb::types::AttributeValue;
use pipeline::{CatalogItem, CatalogTable, FeatureRecord, PriceUpdate};

use crate::aws::{Aws, Item, conditional, scan_all};
use crate::items::{Codec, text};

/// Reads the whole catalog (paginated Scan). Items that do not parse are
/// returned as (key, reason) so the caller can report them, not drop them.
pub fn load_catalog(
    aws: &Aws,
    table: &str,
) -> Result<(CatalogTable, Vec<(String, String)>), Error> {
    let mut out = CatalogTable::new();
    let mut bad = Vec::new();
    for item in scan_all(aws, table)? {
        match CatalogItem::from_item(&item) {
            Ok(c) => {
                out.upsert(c);
            }
            Err(reason) => bad.push((text(&item, "product_id").unwrap_or_default(), reason.0)),
        }
    }
    Ok((out, bad))
}

/// Whether a conditional write happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Write {
    Applied,
    /// The condition failed: a replay (or a newer decision) is already there.
    AlreadyThere,
}

impl Write {
    pub fn from_applied(applied: bool) -> Write {
        if applied {
            Write::Applied
        } else {
            Write::AlreadyThere
        }
    }
}

/// Applies a price update only if the item's `last_window` is before the
/// update's window — the same rule as `PriceUpdate::apply_to`, enforced by DynamoDB.
pub fn apply_price_update(aws: &Aws, table: &str, u: &PriceUpdate) -> Result<Write, Error> {
    let call = aws
        .dynamodb
        .update_item()
        .table_name(table)
        .key("product_id", AttributeValue::S(u.product_id.clone()))
        .update_expression(
            "SET current_price = :p, last_window = :w, price_version = price_version + :one",
        )
        .condition_expression("attribute_exists(product_id) AND last_window < :w")
        .expression_attribute_values(":p", AttributeValue::N(u.price.to_string()))
        .expression_attribute_values(":w", AttributeValue::N(u.window_end.to_string()))
        .expression_attribute_values(":one", AttributeValue::N("1".into()))
        .send();
    conditional(aws.runtime.block_on(call), || {
        format!("updating {} in {table}", u.product_id)
    })
    .map(Write::from_applied)
}

/// Puts a feature record unless its (product, window) is already there, so
/// a replayed window rewrites nothing and the stream carries it once.
pub fn put_feature(aws: &Aws, table: &str, r: &FeatureRecord) -> Result<Write, Error> {
    put_if_absent(aws, table, r.to_item(), || {
        format!("writing features to {table}")
    })
}

/// Puts an item keyed by `product_id` (and a sort key) unless one with its
/// key exists: the first write for a key is the one kept.
pub fn put_if_absent(
    aws: &Aws,
    table: &str,
    item: Item,
    what: impl FnOnce() -> String,
) -> Result<Write, Error> {
    let call = aws
        .dynamodb
        .put_item()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(product_id)")
        .send();
    conditional(aws.runtime.block_on(call), what).map(Write::from_applied)
}

/// Items that did not parse, as (key, reason).
pub type Skipped = Vec<(String, String)>;

/// Reads every order (paginated Scan); items that do not parse come back
/// with their reason.
pub fn load_orders(aws: &Aws, table: &str) -> Result<(Vec<pipeline::Order>, Skipped), Error> {
    let mut out = Vec::new();
    let mut bad = Vec::new();
    for item in scan_all(aws, table)? {
        match pipeline::Order::from_item(&item) {
            Ok(o) => out.push(o),
            Err(reason) => bad.push((text(&item, "sk").unwrap_or_default(), reason.0)),
        }
    }
    out.sort_by(|a, b| (a.order_time, &a.order_id).cmp(&(b.order_time, &b.order_id)));
    Ok((out, bad))
}
