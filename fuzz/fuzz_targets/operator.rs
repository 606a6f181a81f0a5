//! The whole operator on a stream of arbitrary records: lines of the input
//! spread over three partitions, the clock moving with them, windows closed
//! as it goes and at the end. Nothing panics and nothing vanishes: every
//! record is counted, `received = accepted + dead_lettered`, one dead letter
//! per dead-lettered record, each no larger than the limits allow.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use pipeline::dead_letter::KEPT_PREFIX;
use pipeline::{CatalogTable, OrdersTable, Output, Pipeline, PipelineConfig, Position, RawRecord};

const T0: i64 = 1_795_874_400_000; // 2026-11-28T14:00:00Z, the sample's day

fn catalog() -> &'static CatalogTable {
    static CATALOG: OnceLock<CatalogTable> = OnceLock::new();
    CATALOG.get_or_init(|| {
        let csv = include_bytes!("../../scenarios/sample/catalog.csv");
        pipeline::adapters::files::parse_catalog("catalog.csv".as_ref(), &csv[..])
            .expect("the sample catalog")
            .into_iter()
            .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let config = PipelineConfig {
        max_record_bytes: 512,
        ..PipelineConfig::default()
    };
    let mut pipeline = Pipeline::new(config).expect("valid settings");
    let parts = ["a", "b", "c"].map(|p| pipeline.register_partition(p));
    let (catalog, orders) = (catalog(), OrdersTable::new());
    let mut out = Output::default();
    let records: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
    for (i, bytes) in records.iter().enumerate() {
        // The first byte of a record picks how far the clock moves (0–255 s).
        let now = T0 + 1_000 * i64::from(bytes.first().copied().unwrap_or(0)) * i as i64;
        // Every other record as `replay` hands it over, decoded already.
        let layout = if i % 2 == 0 { pipeline::Layout::of(bytes) } else { None };
        let raw = [RawRecord {
            bytes,
            position: Position::Offset(i as u64),
            truncated: None,
            layout: layout.as_ref(),
        }];
        pipeline.ingest(parts[i % 3], now, &raw, catalog, &mut out);
        pipeline.advance(now, catalog, &orders, &mut out);
    }
    pipeline.finish(catalog, &orders, &mut out);
    let s = pipeline.stats();
    assert!(s.received >= records.len() as u64, "a record vanished");
    assert_eq!(s.received, s.accepted + s.dead_lettered);
    assert_eq!(out.dead_letters.len() as u64, s.dead_lettered);
    for d in &out.dead_letters {
        match d.truncated {
            Some(t) => assert!(d.bytes.len() <= KEPT_PREFIX && t.len > 512),
            None => assert!(d.bytes.len() <= 512),
        }
    }
});
