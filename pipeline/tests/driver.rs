//! The per-window protocol (`pipeline::host`): windows are handed out one at
//! a time, the next only after the previous is settled, and a batch is priced
//! in order with one model output per record.

mod common;

use std::sync::Arc;

use common::{S, T0, catalog, view};
use pipeline::{
    CatalogItem, CatalogTable, Decision, Driver, FeatureRecord, Guardrails, ModelError,
    OrdersTable, Pipeline, PipelineConfig, Position, PriceModel, PriceStage, Pricer, RawRecord,
};
use proptest::prelude::*;

const W: i64 = 100 * S;

fn driver() -> (Driver, pipeline::PartitionId) {
    // Gaps between the generated views are arbitrary: no jump is held for
    // confirmation (that is the core's own test, in windows.rs).
    let config = PipelineConfig {
        max_time_jump: None,
        ..PipelineConfig::default()
    };
    let mut core = Pipeline::new(config).unwrap();
    let p = core.register_partition("p0");
    (Driver::new(core), p)
}

fn ingest(d: &mut Driver, p: pipeline::PartitionId, lines: &[String], catalog: &CatalogTable) {
    let now = T0 + 10_000 * S;
    let records: Vec<RawRecord> = lines
        .iter()
        .map(|l| RawRecord {
            bytes: l.as_bytes(),
            position: Position::Offset(0),
            truncated: None,
            layout: None,
        })
        .collect();
    d.ingest(p, now, &records, catalog);
}

#[test]
fn windows_are_handed_out_one_at_a_time_and_only_once_settled() {
    let catalog = catalog(&["a"]);
    let orders = OrdersTable::new();
    let (mut d, p) = driver();
    // Views in three windows, then one far ahead so the watermark passes them.
    let lines: Vec<String> = [0, 1, 2, 40]
        .iter()
        .map(|k| view("a", T0 + k * W))
        .collect();
    ingest(&mut d, p, &lines, &catalog);
    let now = T0 + 10_000 * S;
    let first = d
        .next_window(now, &catalog, &orders)
        .expect("a window is due");
    assert_eq!(first.end, T0 + W);
    assert_eq!(first.features.len(), 1);
    // Not settled: nothing more, however often the host asks.
    assert_eq!(d.next_window(now, &catalog, &orders), None);
    assert_eq!(d.unsettled(), Some(T0 + W));
    // Settling another window is refused and changes nothing.
    assert!(d.settle(T0 + 2 * W).is_err());
    assert_eq!(d.next_window(now, &catalog, &orders), None);
    d.settle(first.end).unwrap();
    let second = d.next_window(now, &catalog, &orders).unwrap();
    assert_eq!(second.end, T0 + 2 * W);
    d.settle(second.end).unwrap();
    let third = d.next_window(now, &catalog, &orders).unwrap();
    d.settle(third.end).unwrap();
    // The far-ahead view's window is still open until the input ends.
    assert_eq!(d.next_window(now, &catalog, &orders), None);
    d.end_of_input();
    let last = d.next_window(now, &catalog, &orders).unwrap();
    assert_eq!(last.end, T0 + 41 * W);
    assert_eq!(d.next_window(now, &catalog, &orders), None);
    d.settle(last.end).unwrap();
    assert_eq!(d.next_window(now, &catalog, &orders), None);
}

#[test]
fn a_price_settled_on_window_n_is_in_window_n_plus_one_at_the_end_of_input_too() {
    let mut catalog = catalog(&["a"]);
    let orders = OrdersTable::new();
    let (mut d, p) = driver();
    // Two windows, both still open when the input ends.
    let lines: Vec<String> = [0, 1].iter().map(|k| view("a", T0 + k * W)).collect();
    ingest(&mut d, p, &lines, &catalog);
    d.end_of_input();
    let now = T0 + 10_000 * S;
    let first = d.next_window(now, &catalog, &orders).unwrap();
    assert_eq!(first.features[0].current_price, 100.0);
    let item = catalog.get_mut("a").unwrap();
    item.current_price = Some(110.0);
    item.price_version += 1;
    d.settle(first.end).unwrap();
    let second = d.next_window(now, &catalog, &orders).unwrap();
    assert_eq!(second.features[0].current_price, 110.0);
}

/// A model answering a fixed ratio, or a short answer.
struct Fixed {
    ratio: f32,
    short: bool,
}

impl PriceModel for Fixed {
    fn version(&self) -> &str {
        "fixed"
    }
    fn predict(&mut self, records: &[FeatureRecord]) -> Result<Vec<f32>, ModelError> {
        let n = records.len() - usize::from(self.short);
        Ok(vec![self.ratio; n])
    }
}

/// A stage that records the calls it gets and applies updates to its catalog.
struct Recorder {
    catalog: CatalogTable,
    calls: Vec<String>,
}

impl PriceStage for Recorder {
    fn item(&mut self, product_id: &str) -> Option<&CatalogItem> {
        self.calls.push(format!("item {product_id}"));
        self.catalog.get_mut(product_id).map(|i| &*i)
    }
    fn decided(&mut self, record: &FeatureRecord, decision: Decision) {
        let a = &decision.audit;
        self.calls.push(format!(
            "decided {} {} {} {}",
            record.product_id,
            record.window.end - T0,
            a.rule.as_str(),
            a.final_price
        ));
        if let Some(u) = decision.update
            && let Some(item) = self.catalog.get_mut(&u.product_id)
        {
            u.apply_to(item).unwrap();
        }
    }
    fn skipped(&mut self, record: &FeatureRecord) {
        self.calls.push(format!("skipped {}", record.product_id));
    }
}

fn record(product: &str, window: i64) -> FeatureRecord {
    let item = common::item(product);
    FeatureRecord {
        product_id: product.into(),
        window: pipeline::Window {
            start: T0 + (window - 1) * W,
            end: T0 + window * W,
        },
        brand: item.brand.clone(),
        model: item.model.clone(),
        category: item.category.clone(),
        base_price: item.base_price,
        current_price: item.current_price(),
        cost: item.cost,
        price_version: 0,
        features: [1.0; pipeline::FEATURE_COUNT],
    }
}

#[test]
fn a_batch_is_decided_in_order_and_a_later_window_sees_the_earlier_decision() {
    let pricer = Pricer::new(Guardrails {
        holdout_share: 0.0,
        cooldown: 0,
        ..Guardrails::default()
    });
    let mut stage = Recorder {
        catalog: catalog(&["a"]),
        calls: Vec::new(),
    };
    let version: Arc<str> = "fixed".into();
    let records = [record("a", 1), record("ghost", 1), record("a", 2)];
    let mut model = Fixed {
        ratio: 1.5,
        short: false,
    };
    pricer
        .price_batch(&mut model, &version, &records, &mut stage)
        .unwrap();
    // Two 10 % steps: the second decision starts from the first's price.
    assert_eq!(
        stage.calls,
        [
            "item a",
            "decided a 100000 max_step 110",
            "item ghost",
            "skipped ghost",
            "item a",
            "decided a 200000 max_step 121",
        ]
    );
}

#[test]
fn a_short_answer_from_the_model_decides_nothing() {
    let pricer = Pricer::new(Guardrails::default());
    let mut stage = Recorder {
        catalog: catalog(&["a"]),
        calls: Vec::new(),
    };
    let version: Arc<str> = "fixed".into();
    let mut model = Fixed {
        ratio: 1.0,
        short: true,
    };
    let err = pricer
        .price_batch(&mut model, &version, &[record("a", 1)], &mut stage)
        .unwrap_err();
    assert_eq!(err.message, "the model returned 0 outputs for 1 records");
    assert!(!err.retryable);
    assert!(stage.calls.is_empty());
}

proptest! {
    /// Whatever the events and however the host interleaves polling and
    /// settling, window n+1 is never handed out while window n is unsettled,
    /// windows come out in end order, and each exactly once.
    #[test]
    fn window_n_plus_one_never_before_n_is_settled(
        mut windows in proptest::collection::vec(0i64..30, 1..40),
        script in proptest::collection::vec(0u8..3, 1..200),
    ) {
        // In time order, so that no event is late (lateness is the core's own test).
        windows.sort();
        let catalog = catalog(&["a", "b"]);
        let orders = OrdersTable::new();
        let (mut d, p) = driver();
        let lines: Vec<String> = windows
            .iter()
            .enumerate()
            .map(|(i, k)| view(if i % 2 == 0 { "a" } else { "b" }, T0 + k * W + i as i64))
            .collect();
        ingest(&mut d, p, &lines, &catalog);
        let now = T0 + 10_000 * S;
        let mut handed: Vec<i64> = Vec::new();
        let mut open: Option<i64> = None;
        for step in script.iter().chain([2, 1].iter().cycle().take(200)) {
            match step {
                0 => d.end_of_input(),
                1 => {
                    if let Some(end) = open.take() {
                        d.settle(end).unwrap();
                    }
                }
                _ => {
                    if let Some(w) = d.next_window(now, &catalog, &orders) {
                        prop_assert!(open.is_none(), "window {} handed out while {:?} is open", w.end, open);
                        prop_assert!(handed.last().is_none_or(|&l| l < w.end));
                        handed.push(w.end);
                        open = Some(w.end);
                    }
                }
            }
        }
        d.end_of_input();
        loop {
            if let Some(end) = open.take() {
                d.settle(end).unwrap();
            }
            match d.next_window(now, &catalog, &orders) {
                Some(w) => {
                    prop_assert!(handed.last().is_none_or(|&l| l < w.end));
                    handed.push(w.end);
                    open = Some(w.end);
                }
                None => break,
            }
        }
        let mut expected: Vec<i64> = windows.iter().map(|k| T0 + (k + 1) * W).collect();
        expected.sort();
        expected.dedup();
        prop_assert_eq!(handed, expected);
    }
}
