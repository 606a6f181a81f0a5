//! DynamoDB adapters for the core and the pricer: the catalog as a cached
//! `pipeline::Catalog`, conditional price updates, conditional feature-record
//! puts, and audit records.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use pipeline::{CatalogItem, CatalogTable, FeatureRecord, Millis, PriceUpdate};

use crate::aws::{Aws, Item, conditional, scan_all};

fn text(item: &Item, key: &str) -> Result<String, String> {
    item.get(key)
        .and_then(|v| v.as_s().ok())
        .cloned()
        .ok_or_else(|| format!("attribute `{key}` missing or not a string"))
}

fn number<T: std::str::FromStr>(item: &Item, key: &str) -> Result<T, String> {
    item.get(key)
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("attribute `{key}` missing or not a number"))
}

/// A catalog item from its DynamoDB item (the inverse of `aws::catalog_item`).
pub fn catalog_item(item: &Item) -> Result<CatalogItem, String> {
    let parsed = CatalogItem {
        product_id: text(item, "product_id")?,
        brand: text(item, "brand")?,
        model: text(item, "model")?,
        category: text(item, "category")?,
        base_price: number(item, "base_price")?,
        current_price: Some(number(item, "current_price")?),
        cost: number(item, "cost")?,
        min_price: number(item, "min_price")?,
        max_price: number(item, "max_price")?,
        map_price: number(item, "map_price").unwrap_or(0.0),
        inventory: number(item, "inventory")?,
        price_version: number(item, "price_version").unwrap_or(0),
        last_window: number(item, "last_window").unwrap_or(0),
        next_restock: number(item, "next_restock").unwrap_or(0),
    };
    parsed.validate().map(|()| parsed)
}

/// Reads the whole catalog (paginated Scan). Items that do not parse are
/// returned as (key, reason) so the caller can report them, not drop them.
pub fn load_catalog(
    aws: &Aws,
    table: &str,
) -> Result<(CatalogTable, Vec<(String, String)>), String> {
    let mut out = CatalogTable::new();
    let mut bad = Vec::new();
    for item in scan_all(aws, table)? {
        match catalog_item(&item) {
            Ok(c) => {
                out.upsert(c);
            }
            Err(reason) => bad.push((text(&item, "product_id").unwrap_or_default(), reason)),
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
pub fn apply_price_update(aws: &Aws, table: &str, u: &PriceUpdate) -> Result<Write, String> {
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

/// A feature record as a DynamoDB item: keyed (product_id, window_end), features as a number list.
pub fn feature_item(r: &FeatureRecord) -> Item {
    let n = |v: String| AttributeValue::N(v);
    HashMap::from([
        (
            "product_id".to_string(),
            AttributeValue::S(r.product_id.clone()),
        ),
        ("window_end".to_string(), n(r.window.end.to_string())),
        ("window_start".to_string(), n(r.window.start.to_string())),
        ("brand".to_string(), AttributeValue::S(r.brand.clone())),
        ("model".to_string(), AttributeValue::S(r.model.clone())),
        (
            "category".to_string(),
            AttributeValue::S(r.category.clone()),
        ),
        ("base_price".to_string(), n(r.base_price.to_string())),
        ("current_price".to_string(), n(r.current_price.to_string())),
        ("cost".to_string(), n(r.cost.to_string())),
        ("price_version".to_string(), n(r.price_version.to_string())),
        (
            "features_version".to_string(),
            n(pipeline::FEATURES_VERSION.to_string()),
        ),
        (
            "features".to_string(),
            AttributeValue::L(r.features.iter().map(|f| n(f.to_string())).collect()),
        ),
    ])
}

/// A feature record from its item (what the pricer reads off the stream).
pub fn feature_record(item: &Item) -> Result<FeatureRecord, String> {
    let values = item
        .get("features")
        .and_then(|v| v.as_l().ok())
        .ok_or("attribute `features` missing or not a list")?;
    let features: Vec<f32> = values
        .iter()
        .map(|v| {
            v.as_n()
                .ok()
                .and_then(|n| n.parse().ok())
                .ok_or("a feature is not a number")
        })
        .collect::<Result<_, _>>()?;
    let features: [f32; pipeline::FEATURE_COUNT] = features.try_into().map_err(|v: Vec<f32>| {
        format!(
            "{} features, the pipeline has {}",
            v.len(),
            pipeline::FEATURE_COUNT
        )
    })?;
    let version: u32 = number(item, "features_version")?;
    if version != pipeline::FEATURES_VERSION {
        return Err(format!(
            "features version {version}, the pipeline has {}",
            pipeline::FEATURES_VERSION
        ));
    }
    let end: Millis = number(item, "window_end")?;
    Ok(FeatureRecord {
        product_id: text(item, "product_id")?,
        window: pipeline::Window {
            start: number(item, "window_start")?,
            end,
        },
        brand: text(item, "brand")?,
        model: text(item, "model")?,
        category: text(item, "category")?,
        base_price: number(item, "base_price")?,
        current_price: number(item, "current_price")?,
        cost: number(item, "cost")?,
        price_version: number(item, "price_version")?,
        features,
    })
}

/// Puts a feature record unless its (product, window) is already there, so
/// a replayed window rewrites nothing and the stream carries it once.
pub fn put_feature(aws: &Aws, table: &str, r: &FeatureRecord) -> Result<Write, String> {
    put_if_absent(aws, table, feature_item(r), || {
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
) -> Result<Write, String> {
    let call = aws
        .dynamodb
        .put_item()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(product_id)")
        .send();
    conditional(aws.runtime.block_on(call), what).map(Write::from_applied)
}

/// An order from its item (as `produce` writes them).
pub fn order(item: &Item) -> Result<pipeline::Order, String> {
    Ok(pipeline::Order {
        order_id: text(item, "order_id")?,
        product_id: text(item, "product_id")?,
        quantity: number(item, "quantity")?,
        unit_price: number(item, "unit_price")?,
        order_time: number(item, "order_time")?,
    })
}

/// Items that did not parse, as (key, reason).
pub type Skipped = Vec<(String, String)>;

/// Reads every order (paginated Scan); items that do not parse come back
/// with their reason.
pub fn load_orders(aws: &Aws, table: &str) -> Result<(Vec<pipeline::Order>, Skipped), String> {
    let mut out = Vec::new();
    let mut bad = Vec::new();
    for item in scan_all(aws, table)? {
        match order(&item) {
            Ok(o) => out.push(o),
            Err(reason) => bad.push((text(&item, "sk").unwrap_or_default(), reason)),
        }
    }
    out.sort_by(|a, b| (a.order_time, &a.order_id).cmp(&(b.order_time, &b.order_id)));
    Ok((out, bad))
}
