//! One DynamoDB item codec per stored type: what `serve`, the pricer, the
//! Lambda and the CLI write and read, in one place (layouts in
//! docs/items.md). Each type round-trips (tests below).

use std::collections::HashMap;

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use pipeline::{
    AuditRecord, CatalogItem, DeadLetter, FeatureRecord, Millis, Order, Reason, Truncation,
};

use crate::aws::Item;
use crate::leases::Lease;

/// A stored type and its item.
pub trait Codec: Sized {
    fn to_item(&self) -> Item;
    /// The value, or what is wrong with the item (naming the attribute).
    fn from_item(item: &Item) -> Result<Self, ItemError>;
}

/// A stored item this version cannot read (an internal fault: another
/// version or a hand edit wrote it).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ItemError(pub String);

impl From<String> for ItemError {
    fn from(s: String) -> ItemError {
        ItemError(s)
    }
}

impl From<&str> for ItemError {
    fn from(s: &str) -> ItemError {
        ItemError(s.to_string())
    }
}

pub(crate) fn text(item: &Item, key: &str) -> Result<String, ItemError> {
    item.get(key)
        .and_then(|v| v.as_s().ok())
        .cloned()
        .ok_or_else(|| ItemError(format!("attribute `{key}` missing or not a string")))
}

pub(crate) fn number<T: std::str::FromStr>(item: &Item, key: &str) -> Result<T, ItemError> {
    item.get(key)
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| ItemError(format!("attribute `{key}` missing or not a number")))
}

impl Codec for CatalogItem {
    fn to_item(&self) -> Item {
        let i = self;
        let s = |v: &str| AttributeValue::S(v.to_string());
        let n = |v: String| AttributeValue::N(v);
        HashMap::from([
            ("product_id".to_string(), s(&i.product_id)),
            ("brand".to_string(), s(&i.brand)),
            ("model".to_string(), s(&i.model)),
            ("category".to_string(), s(&i.category)),
            ("base_price".to_string(), n(i.base_price.to_string())),
            (
                "current_price".to_string(),
                n(i.current_price().to_string()),
            ),
            ("cost".to_string(), n(i.cost.to_string())),
            ("min_price".to_string(), n(i.min_price.to_string())),
            ("max_price".to_string(), n(i.max_price.to_string())),
            ("map_price".to_string(), n(i.map_price.to_string())),
            ("inventory".to_string(), n(i.inventory.to_string())),
            ("price_version".to_string(), n(i.price_version.to_string())),
            ("last_window".to_string(), n(i.last_window.to_string())),
            ("next_restock".to_string(), n(i.next_restock.to_string())),
        ])
    }

    fn from_item(item: &Item) -> Result<Self, ItemError> {
        let parsed = CatalogItem {
            product_id: text(item, "product_id")?.into(),
            brand: text(item, "brand")?.into(),
            model: text(item, "model")?.into(),
            category: text(item, "category")?.into(),
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
        Ok(parsed.validate().map(|()| parsed)?)
    }
}

impl Codec for FeatureRecord {
    fn to_item(&self) -> Item {
        let r = self;
        let n = |v: String| AttributeValue::N(v);
        HashMap::from([
            (
                "product_id".to_string(),
                AttributeValue::S(r.product_id.to_string()),
            ),
            ("window_end".to_string(), n(r.window.end.to_string())),
            ("window_start".to_string(), n(r.window.start.to_string())),
            ("brand".to_string(), AttributeValue::S(r.brand.to_string())),
            ("model".to_string(), AttributeValue::S(r.model.to_string())),
            (
                "category".to_string(),
                AttributeValue::S(r.category.to_string()),
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

    fn from_item(item: &Item) -> Result<Self, ItemError> {
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
        let features: [f32; pipeline::FEATURE_COUNT] =
            features.try_into().map_err(|v: Vec<f32>| {
                format!(
                    "{} features, the pipeline has {}",
                    v.len(),
                    pipeline::FEATURE_COUNT
                )
            })?;
        let version: u32 = number(item, "features_version")?;
        if version != pipeline::FEATURES_VERSION {
            return Err(ItemError(format!(
                "features version {version}, the pipeline has {}",
                pipeline::FEATURES_VERSION
            )));
        }
        let end: Millis = number(item, "window_end")?;
        Ok(FeatureRecord {
            product_id: text(item, "product_id")?.into(),
            window: pipeline::Window {
                start: number(item, "window_start")?,
                end,
            },
            brand: text(item, "brand")?.into(),
            model: text(item, "model")?.into(),
            category: text(item, "category")?.into(),
            base_price: number(item, "base_price")?,
            current_price: number(item, "current_price")?,
            cost: number(item, "cost")?,
            price_version: number(item, "price_version")?,
            features,
        })
    }
}

impl Codec for Order {
    fn to_item(&self) -> Item {
        let o = self;
        HashMap::from([
            (
                "product_id".to_string(),
                AttributeValue::S(o.product_id.clone()),
            ),
            (
                "sk".to_string(),
                AttributeValue::S(format!("{:013}#{}", o.order_time, o.order_id)),
            ),
            (
                "order_id".to_string(),
                AttributeValue::S(o.order_id.clone()),
            ),
            (
                "quantity".to_string(),
                AttributeValue::N(o.quantity.to_string()),
            ),
            (
                "unit_price".to_string(),
                AttributeValue::N(o.unit_price.to_string()),
            ),
            (
                "order_time".to_string(),
                AttributeValue::N(o.order_time.to_string()),
            ),
        ])
    }

    fn from_item(item: &Item) -> Result<Self, ItemError> {
        Ok(pipeline::Order {
            order_id: text(item, "order_id")?,
            product_id: text(item, "product_id")?,
            quantity: number(item, "quantity")?,
            unit_price: number(item, "unit_price")?,
            order_time: number(item, "order_time")?,
        })
    }
}

impl Codec for DeadLetter {
    fn to_item(&self) -> Item {
        let d = self;
        HashMap::from([
            (
                "partition".to_string(),
                AttributeValue::S(d.partition.to_string()),
            ),
            (
                "position".to_string(),
                AttributeValue::S(d.position.clone()),
            ),
            (
                "reason".to_string(),
                AttributeValue::S(d.reason.as_str().to_string()),
            ),
            ("detail".to_string(), AttributeValue::S(d.detail.clone())),
            (
                "bytes".to_string(),
                AttributeValue::B(Blob::new(d.bytes.clone())),
            ),
        ])
        .into_iter()
        .chain(d.truncated.iter().flat_map(|t| {
            [
                ("full_len".to_string(), AttributeValue::N(t.len.to_string())),
                ("sha256".to_string(), AttributeValue::S(t.sha256_hex())),
            ]
        }))
        .collect()
    }

    fn from_item(item: &Item) -> Result<Self, ItemError> {
        let s = |k: &str| {
            item.get(k)
                .and_then(|v| v.as_s().ok())
                .cloned()
                .ok_or_else(|| format!("attribute `{k}` missing"))
        };
        let reason = s("reason")?;
        Ok(DeadLetter {
            reason: Reason::parse(&reason).ok_or_else(|| format!("unknown reason {reason:?}"))?,
            detail: s("detail")?,
            partition: s("partition")?.into(),
            position: s("position")?,
            bytes: item
                .get("bytes")
                .and_then(|v| v.as_b().ok())
                .map(|b| b.as_ref().to_vec())
                .ok_or("attribute `bytes` missing")?,
            truncated: match item.get("full_len") {
                None => None,
                Some(_) => Some(Truncation {
                    len: number(item, "full_len")?,
                    sha256: s("sha256")
                        .ok()
                        .and_then(|h| parse_sha256(&h))
                        .ok_or("attribute `sha256` missing or not 64 hex digits")?,
                }),
            },
        })
    }
}

fn parse_sha256(hex: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    if hex.len() != 64 || !hex.is_ascii() {
        return None;
    }
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

impl Codec for AuditRecord {
    fn to_item(&self) -> Item {
        let a = self;
        let json = serde_json::to_string(a).unwrap_or_default();
        HashMap::from([
            (
                "product_id".to_string(),
                AttributeValue::S(a.product_id.clone()),
            ),
            (
                "window_end".to_string(),
                AttributeValue::N(a.window_end.to_string()),
            ),
            (
                "rule".to_string(),
                AttributeValue::S(a.rule.as_str().to_string()),
            ),
            ("applied".to_string(), AttributeValue::Bool(a.applied)),
            ("record".to_string(), AttributeValue::S(json)),
        ])
    }

    /// The `record` attribute holds the whole record as JSON.
    fn from_item(item: &Item) -> Result<Self, ItemError> {
        let json = text(item, "record")?;
        serde_json::from_str(&json).map_err(|e| ItemError(format!("attribute `record`: {e}")))
    }
}

impl Codec for Lease {
    fn to_item(&self) -> Item {
        let l = self;
        let mut item = HashMap::from([
            (
                "shard_id".to_string(),
                AttributeValue::S(l.shard_id.clone()),
            ),
            (
                "counter".to_string(),
                AttributeValue::N(l.counter.to_string()),
            ),
            (
                "last_window".to_string(),
                AttributeValue::N(l.last_window.to_string()),
            ),
            ("finished".to_string(), AttributeValue::Bool(l.finished)),
        ]);
        if let Some(o) = &l.owner {
            item.insert("owner".to_string(), AttributeValue::S(o.clone()));
        }
        for (key, value) in [
            ("checkpoint", &l.checkpoint),
            ("replay_at", &l.replay_at),
            ("state", &l.state),
            ("handover_to", &l.handover_to),
        ] {
            if let Some(v) = value {
                item.insert(key.to_string(), AttributeValue::S(v.clone()));
            }
        }
        item
    }

    fn from_item(item: &Item) -> Result<Self, ItemError> {
        let s = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned();
        let n = |k: &str| {
            item.get(k)
                .and_then(|v| v.as_n().ok())
                .and_then(|v| v.parse().ok())
        };
        Ok(Lease {
            shard_id: s("shard_id").ok_or("attribute `shard_id` missing or not a string")?,
            owner: s("owner"),
            counter: n("counter").unwrap_or(0),
            checkpoint: s("checkpoint"),
            last_window: n("last_window").unwrap_or(0) as Millis,
            finished: item
                .get("finished")
                .and_then(|v| v.as_bool().ok())
                .copied()
                .unwrap_or(false),
            replay_at: s("replay_at"),
            state: s("state"),
            handover_to: s("handover_to"),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use pipeline::{FEATURE_COUNT, Guardrails, Pricer, Window};

    use super::*;

    fn round_trip<T: Codec + PartialEq + std::fmt::Debug>(value: T) {
        assert_eq!(T::from_item(&value.to_item()).unwrap(), value);
    }

    fn record() -> FeatureRecord {
        let item = testkit::fixtures::item("sku-a");
        let mut features = [0.0f32; FEATURE_COUNT];
        for (i, f) in features.iter_mut().enumerate() {
            *f = i as f32 * 1.25 - 3.0;
        }
        FeatureRecord {
            product_id: item.product_id.clone(),
            window: Window {
                start: 1_795_874_400_000,
                end: 1_795_874_500_000,
            },
            brand: item.brand.clone(),
            model: item.model.clone(),
            category: item.category.clone(),
            base_price: item.base_price,
            current_price: 109.99,
            cost: item.cost,
            price_version: 7,
            features,
        }
    }

    #[test]
    fn every_stored_type_round_trips() {
        let mut item = testkit::fixtures::item("sku-a");
        item.current_price = Some(99.5);
        item.price_version = 3;
        item.last_window = 1_795_874_400_000;
        item.next_restock = 1_795_900_000_000;
        round_trip(item.clone());
        round_trip(record());
        round_trip(Order {
            order_id: "o-1".into(),
            product_id: "sku-a".into(),
            quantity: 2,
            unit_price: 80.25,
            order_time: 1_795_874_412_345,
        });
        round_trip(DeadLetter {
            reason: Reason::MalformedJson,
            detail: "expected value at line 1 column 1".into(),
            partition: "shardId-000000000001".into(),
            position: "49590338271490256608559692538361571095921575989136588898:3".into(),
            bytes: vec![0xff, b'{', 0, b'}'],
            truncated: None,
        });
        round_trip(DeadLetter {
            reason: Reason::Oversize,
            detail: "record is 9 bytes; the limit is 4".into(),
            partition: "shardId-000000000001".into(),
            position: "4959".into(),
            bytes: b"{\"ev".to_vec(),
            truncated: Some(Truncation::of(b"{\"event\":")),
        });
        round_trip(Lease {
            shard_id: "shardId-000000000000".into(),
            owner: Some("worker-a".into()),
            counter: 12,
            checkpoint: Some("4959".into()),
            last_window: 1_795_874_500_000,
            finished: false,
            replay_at: Some("4958".into()),
            state: Some("{}".into()),
            handover_to: Some("worker-b".into()),
        });
        round_trip(Lease {
            shard_id: "s".into(),
            ..Lease::default()
        });
        // Audit records compare by their JSON (a NaN output is not equal to itself).
        let audit = Pricer::new(Guardrails::default())
            .decide(&record(), f32::NAN, &item, &Arc::from("m"))
            .audit;
        let back = AuditRecord::from_item(&audit.to_item()).unwrap();
        assert_eq!(
            serde_json::to_string(&back).unwrap(),
            serde_json::to_string(&audit).unwrap()
        );
    }

    #[test]
    fn a_bad_item_names_the_attribute() {
        let mut item = record().to_item();
        item.remove("brand");
        let e = FeatureRecord::from_item(&item).unwrap_err();
        assert!(e.0.contains("`brand`"), "{e}");
        let mut item = testkit::fixtures::item("x").to_item();
        item.insert("inventory".into(), AttributeValue::S("many".into()));
        let e = CatalogItem::from_item(&item).unwrap_err();
        assert!(e.0.contains("`inventory`"), "{e}");
        let e = AuditRecord::from_item(&HashMap::new()).unwrap_err();
        assert!(e.0.contains("`record`"), "{e}");
        let e = Lease::from_item(&HashMap::new()).unwrap_err();
        assert!(e.0.contains("`shard_id`"), "{e}");
    }
}
