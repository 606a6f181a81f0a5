//! Helpers shared by the core's integration tests.
#![allow(dead_code)]

use pipeline::{
    CatalogItem, CatalogTable, DeadLetter, FeatureRecord, Millis, Order, OrdersTable, Output,
    PartitionId, Pipeline, PipelineConfig, Position, RawRecord, Reason,
};

/// 2026-11-28T14:00:00Z, a multiple of 100 s.
pub const T0: Millis = 1_795_874_400_000;
pub const S: Millis = 1_000;

/// One click event as wire JSON.
pub fn event(id: &str, event_type: &str, t: Millis, product: &str, session: &str) -> String {
    format!(
        r#"{{"event_id":"{id}","event_type":"{event_type}","event_time":{t},"session_id":"{session}","product_id":"{product}","price":100.0,"referrer":"search"}}"#
    )
}

/// A view of `product` at `t`, with a unique id derived from both.
pub fn view(product: &str, t: Millis) -> String {
    event(
        &format!("{product}@{t}"),
        "view",
        t,
        product,
        &format!("s{t}"),
    )
}

/// An example shoe, base price 100, with cost 40, bounds 60–200, no MAP and 50 in stock
/// (the numbers these tests were written against).
pub fn item(product_id: &str) -> CatalogItem {
    // As a catalog file states it: the optional fields take their documented defaults.
    serde_json::from_value(serde_json::json!({
        "product_id": product_id, "brand": "Brand", "model": format!("Model {product_id}"),
        "category": "sneakers", "base_price": 100.0, "cost": 40.0,
        "min_price": 60.0, "max_price": 200.0, "inventory": 50,
    }))
    .expect("a valid catalog item")
}

pub fn catalog(ids: &[&str]) -> CatalogTable {
    ids.iter().map(|id| item(id)).collect()
}

/// A pipeline with its tables and the outputs collected so far.
pub struct Harness {
    pub pipeline: Pipeline,
    pub catalog: CatalogTable,
    pub orders: OrdersTable,
    pub parts: Vec<PartitionId>,
    pub features: Vec<FeatureRecord>,
    pub dead_letters: Vec<DeadLetter>,
}

impl Harness {
    pub fn new(config: PipelineConfig, partitions: usize, products: &[&str]) -> Harness {
        let mut pipeline = Pipeline::new(config).expect("valid config");
        let parts = (0..partitions)
            .map(|i| pipeline.register_partition(&format!("p{i}")))
            .collect();
        Harness {
            pipeline,
            catalog: catalog(products),
            orders: OrdersTable::new(),
            parts,
            features: Vec::new(),
            dead_letters: Vec::new(),
        }
    }

    pub fn tumbling(products: &[&str]) -> Harness {
        Harness::new(PipelineConfig::default(), 1, products)
    }

    pub fn order(&mut self, product: &str, t: Millis, quantity: u32, unit_price: f64) {
        self.orders.insert(&Order {
            order_id: format!("o{t}"),
            product_id: product.into(),
            quantity,
            unit_price,
            order_time: t,
        });
    }

    /// Ingests records on partition `part` at host time `now`, then advances.
    pub fn push(&mut self, part: usize, now: Millis, records: &[String]) {
        let raw: Vec<RawRecord> = records
            .iter()
            .enumerate()
            .map(|(i, r)| RawRecord {
                bytes: r.as_bytes(),
                position: Position::Offset(i as u64 + 1),
                truncated: None,
                layout: None,
            })
            .collect();
        let mut out = Output::default();
        self.pipeline
            .ingest(self.parts[part], now, &raw, &self.catalog, &mut out);
        self.pipeline
            .advance(now, &self.catalog, &self.orders, &mut out);
        self.collect(out);
    }

    pub fn advance(&mut self, now: Millis) {
        let mut out = Output::default();
        self.pipeline
            .advance(now, &self.catalog, &self.orders, &mut out);
        self.collect(out);
    }

    pub fn close_partition(&mut self, part: usize) {
        let mut out = Output::default();
        self.pipeline
            .close_partition(self.parts[part], &self.catalog, &mut out);
        self.collect(out);
    }

    pub fn finish(&mut self) {
        let mut out = Output::default();
        self.pipeline.finish(&self.catalog, &self.orders, &mut out);
        self.collect(out);
    }

    fn collect(&mut self, out: Output) {
        self.features.extend(out.features);
        self.dead_letters.extend(out.dead_letters);
        assert!(
            self.pipeline.stats().balanced(),
            "{:?}",
            self.pipeline.stats()
        );
    }

    pub fn reasons(&self) -> Vec<Reason> {
        self.dead_letters.iter().map(|d| d.reason).collect()
    }

    /// (product, window start offset from T0 in s, views) of every feature record.
    pub fn views(&self) -> Vec<(String, i64, f32)> {
        self.features
            .iter()
            .map(|f| {
                (
                    f.product_id.to_string(),
                    (f.window.start - T0) / S,
                    f.get("views").unwrap_or(f32::NAN),
                )
            })
            .collect()
    }
}
