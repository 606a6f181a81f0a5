//! The streaming core from JSON bytes to feature records, against a
//! parse-only baseline over the same bytes in the same run.
//!
//! Workload: 200 products with Zipf(1.1) popularity, 200 000 events at
//! 100 events/s (2 000 s of event time, 20 windows of 100 s), a realistic
//! funnel mix, social and search referrers, RFC 3339 times with up to 2 s of
//! out-of-order jitter, 0.5 % producer-retry duplicates, 4 partitions.
//!
//! `cargo bench --bench core`; the ratio to report is pipeline / parse_only.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pipeline::time::format_rfc3339;
use pipeline::{
    CatalogItem, CatalogTable, Millis, Order, OrdersTable, Output, Pipeline, PipelineConfig,
    Position, RawRecord, decode, decode_general,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Zipf};
use serde::Deserialize;

const PRODUCTS: usize = 200;
const EVENTS: usize = 200_000;
const PARTITIONS: usize = 4;
const BATCH: usize = 500;
/// How often the host polls each partition, in arrival time.
const POLL: Millis = 5_000;
const T0: Millis = 1_795_874_400_000;

struct Workload {
    /// Per partition, in arrival order: (arrival time, record bytes), the
    /// bytes back to back in one buffer as a reader or a GetRecords
    /// response holds them.
    partitions: Vec<Vec<(Millis, std::ops::Range<usize>)>>,
    bytes: Vec<u8>,
    catalog: CatalogTable,
    orders: OrdersTable,
}

impl Workload {
    fn records(&self) -> impl Iterator<Item = &[u8]> {
        self.partitions
            .iter()
            .flatten()
            .map(|(_, r)| &self.bytes[r.clone()])
    }
}

fn workload() -> Workload {
    let mut rng = StdRng::seed_from_u64(42);
    let zipf = Zipf::new(PRODUCTS as f64, 1.1).unwrap();
    let product = |i: usize| format!("sku-{i:04}");
    let catalog: CatalogTable = (0..PRODUCTS)
        .map(|i| CatalogItem {
            product_id: product(i).into(),
            brand: ["Aerial", "Kestrel", "Northway"][i % 3].into(),
            model: format!("Model {i}").into(),
            category: "sneakers".into(),
            base_price: 80.0 + (i % 17) as f64 * 10.0,
            current_price: None,
            cost: 40.0,
            min_price: 60.0,
            max_price: 400.0,
            map_price: 0.0,
            inventory: 500,
            price_version: 0,
            last_window: 0,
            next_restock: 0,
        })
        .collect();
    let mut orders = OrdersTable::new();
    let mut partitions = vec![Vec::new(); PARTITIONS];
    let types = [
        ("view", 70),
        ("click", 20),
        ("add_to_cart", 6),
        ("remove_from_cart", 2),
        ("purchase", 2),
    ];
    let referrers = [
        "instagram",
        "tiktok",
        "search",
        "direct",
        "email",
        "youtube",
    ];
    let mut arrival = T0;
    let mut last: Option<(usize, Vec<u8>)> = None;
    for n in 0..EVENTS {
        arrival += rng.random_range(0..20);
        if rng.random_bool(0.005)
            && let Some((p, bytes)) = &last
        {
            partitions[*p].push((arrival, bytes.clone()));
            continue;
        }
        let p = zipf.sample(&mut rng) as usize - 1;
        let mut roll: u32 = rng.random_range(0..100);
        let (ty, _) = *types
            .iter()
            .find(|(_, w)| {
                let hit = roll < *w;
                roll = roll.saturating_sub(*w);
                hit
            })
            .unwrap();
        let t = arrival - rng.random_range(0..2_000);
        let id = product(p);
        let price = 80.0 + (p % 17) as f64 * 10.0;
        let record = format!(
            r#"{{"event_id":"ev-{n:08}","event_type":"{ty}","event_time":"{}","session_id":"sess-{:06}","product_id":"{id}","user_id":"u-{}","price":{price:.2},"referrer":"{}"}}"#,
            format_rfc3339(t),
            rng.random_range(0..30_000),
            rng.random_range(0..10_000),
            referrers[rng.random_range(0..referrers.len())],
        );
        if ty == "purchase" {
            orders.insert(&Order {
                order_id: format!("o{n}"),
                product_id: id,
                quantity: 1,
                unit_price: price,
                order_time: t,
            });
        }
        let partition = p % PARTITIONS;
        partitions[partition].push((arrival, record.clone().into_bytes()));
        last = Some((partition, record.into_bytes()));
    }
    let mut bytes = Vec::new();
    let partitions = partitions
        .into_iter()
        .map(|part| {
            part.into_iter()
                .map(|(arrival, record)| {
                    let start = bytes.len();
                    bytes.extend_from_slice(&record);
                    (arrival, start..bytes.len())
                })
                .collect()
        })
        .collect();
    Workload {
        partitions,
        bytes,
        catalog,
        orders,
    }
}

/// What a minimal consumer must do: deserialize the event into a borrowed struct.
#[derive(Deserialize)]
#[allow(dead_code)]
struct ParsedEvent<'a> {
    event_id: &'a str,
    event_type: &'a str,
    event_time: &'a str,
    session_id: &'a str,
    product_id: &'a str,
    user_id: Option<&'a str>,
    price: f64,
    referrer: &'a str,
    campaign: Option<&'a str>,
}

/// Hosts the core like a shard poller: every `POLL` of arrival time, each
/// partition delivers what arrived since the last poll.
fn run_pipeline(w: &Workload) -> pipeline::Stats {
    let mut p = Pipeline::new(PipelineConfig::default()).unwrap();
    let ids: Vec<_> = (0..PARTITIONS)
        .map(|i| p.register_partition(&format!("shard-{i}")))
        .collect();
    let mut out = Output::default();
    let mut records: Vec<RawRecord> = Vec::with_capacity(BATCH);
    let mut next = [0usize; PARTITIONS];
    let mut now = T0;
    while next
        .iter()
        .zip(&w.partitions)
        .any(|(n, part)| *n < part.len())
    {
        now += POLL;
        for (i, part) in w.partitions.iter().enumerate() {
            let from = next[i];
            // A forward scan, as a poller reads: a binary search over the
            // whole partition missed the cache at every step (8 % of this
            // benchmark's time was the harness's).
            let to = from
                + part[from..]
                    .iter()
                    .take_while(|(arrival, _)| *arrival < now)
                    .count();
            next[i] = to;
            for chunk in part[from..to].chunks(BATCH) {
                records.clear();
                records.extend(chunk.iter().enumerate().map(|(k, (_, r))| RawRecord {
                    bytes: &w.bytes[r.clone()],
                    position: Position::Offset((from + k) as u64),
                    truncated: None,
                    layout: None,
                }));
                p.ingest(ids[i], now, &records, &w.catalog, &mut out);
            }
        }
        p.advance(now, &w.catalog, &w.orders, &mut out);
        out.clear();
    }
    p.finish(&w.catalog, &w.orders, &mut out);
    p.stats()
}

fn core(c: &mut Criterion) {
    let w = workload();
    let bytes: usize = w.records().map(<[u8]>::len).sum();
    eprintln!(
        "workload: {EVENTS} events, {:.1} MB, {} bytes/event",
        bytes as f64 / 1e6,
        bytes / EVENTS
    );
    let stats = run_pipeline(&w);
    eprintln!(
        "pipeline: {} accepted, {} dead letters {:?}, {} feature records",
        stats.accepted, stats.dead_lettered, stats.dead_letters, stats.feature_records
    );
    let mut g = c.benchmark_group("core");
    g.throughput(Throughput::Elements(EVENTS as u64));
    g.sample_size(10);
    g.bench_function("parse_only", |b| {
        b.iter(|| {
            let mut ok = 0u64;
            for r in w.records() {
                ok += u64::from(serde_json::from_slice::<ParsedEvent>(r).is_ok());
            }
            black_box(ok)
        })
    });
    g.bench_function("decode", |b| {
        b.iter(|| {
            let mut ok = 0u64;
            for r in w.records() {
                ok += u64::from(decode(r).is_ok());
            }
            black_box(ok)
        })
    });
    // The general (serde) path alone: what `decode` did before its fast path.
    g.bench_function("decode_general", |b| {
        b.iter(|| {
            let mut ok = 0u64;
            for r in w.records() {
                ok += u64::from(decode_general(r).is_ok());
            }
            black_box(ok)
        })
    });
    g.bench_function("pipeline", |b| b.iter(|| black_box(run_pipeline(&w))));
    g.finish();
}

criterion_group!(benches, core);
criterion_main!(benches);
