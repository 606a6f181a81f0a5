//! Small, fixed examples of the core's records, for tests, benchmarks and
//! docs across the workspace (one definition instead of a copy per file).

use pipeline::{CatalogItem, FEATURE_COUNT, FeatureRecord, Millis, Window};

/// A shoe with base price 100: cost 45, min 70, MAP 80, max 160, 10 in stock.
pub fn item(product_id: &str) -> CatalogItem {
    CatalogItem {
        product_id: product_id.into(),
        brand: "Brand".into(),
        model: format!("Model {product_id}").into(),
        category: "sneakers".into(),
        base_price: 100.0,
        current_price: None,
        cost: 45.0,
        min_price: 70.0,
        max_price: 160.0,
        map_price: 80.0,
        inventory: 10,
        price_version: 0,
        last_window: 0,
        next_restock: 0,
    }
}

/// A feature record of `item(product_id)` for the 100 s window ending at `end`.
pub fn record(product_id: &str, end: Millis, features: [f32; FEATURE_COUNT]) -> FeatureRecord {
    FeatureRecord {
        product_id: product_id.into(),
        window: Window {
            start: end - 100_000,
            end,
        },
        brand: "Brand".into(),
        model: format!("Model {product_id}").into(),
        category: "sneakers".into(),
        base_price: 100.0,
        current_price: 100.0,
        cost: 45.0,
        price_version: 0,
        features,
    }
}

/// `n` records of products `sku-0000`…, record i with every feature = i.
pub fn records(n: usize, end: Millis) -> Vec<FeatureRecord> {
    (0..n)
        .map(|i| record(&format!("sku-{i:04}"), end, [i as f32; FEATURE_COUNT]))
        .collect()
}
