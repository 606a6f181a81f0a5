//! Invariants of the core under arbitrary input (proptest).

mod common;

use common::*;
use pipeline::{
    ClickEvent, EventType, Output, Pipeline, PipelineConfig, Position, RawRecord, decode,
};
use proptest::prelude::*;

const PRODUCTS: [&str; 3] = ["a", "b", "c"];

/// A record that is valid, or damaged in one of many ways.
fn record() -> impl Strategy<Value = Vec<u8>> {
    let valid = (0u32..40, 0usize..5, 0i64..400_000, 0usize..4, 0u32..8).prop_map(
        |(id, ty, dt, product, session)| {
            let product = PRODUCTS.get(product).copied().unwrap_or("unknown");
            event(
                &format!("e{id}"),
                EventType::ALL[ty].as_str(),
                T0 + dt,
                product,
                &format!("s{session}"),
            )
            .into_bytes()
        },
    );
    prop_oneof![
        6 => valid.clone(),
        1 => (valid.clone(), any::<prop::sample::Index>(), any::<u8>()).prop_map(|(mut v, at, b)| {
            let i = at.index(v.len());
            v[i] = b;
            v
        }),
        1 => (valid, any::<prop::sample::Index>()).prop_map(|(v, at)| v[..at.index(v.len())].to_vec()),
        1 => prop::collection::vec(any::<u8>(), 0..64),
    ]
}

/// Runs `records` (partition, bytes) through a fresh core, calling into it once per
/// batch; `cuts[i]` ends a batch after record i. Returns features, dead letters and stats as JSON.
fn run(
    config: &PipelineConfig,
    records: &[(usize, Vec<u8>)],
    cuts: &[bool],
) -> (String, String, pipeline::Stats) {
    let mut p = Pipeline::new(config.clone()).unwrap();
    let parts = [p.register_partition("p0"), p.register_partition("p1")];
    let catalog = catalog(&PRODUCTS);
    let orders = pipeline::OrdersTable::new();
    let mut out = Output::default();
    let mut batch: Vec<RawRecord> = Vec::new();
    let mut features = String::new();
    let mut dead = String::new();
    for (i, (part, bytes)) in records.iter().enumerate() {
        batch.push(RawRecord {
            bytes,
            position: Position::Offset(i as u64),
            truncated: None,
            layout: None,
        });
        let next_part = records.get(i + 1).map(|r| r.0);
        if cuts.get(i).copied().unwrap_or(true) || next_part != Some(*part) {
            p.ingest(parts[*part], T0, &batch, &catalog, &mut out);
            p.advance(T0, &catalog, &orders, &mut out);
            batch.clear();
        }
    }
    p.finish(&catalog, &orders, &mut out);
    for f in &out.features {
        features += &serde_json::to_string(f).unwrap();
        features.push('\n');
    }
    for d in &out.dead_letters {
        dead += &serde_json::to_string(d).unwrap();
        dead.push('\n');
    }
    (features, dead, p.stats())
}

fn config(hop: bool) -> PipelineConfig {
    PipelineConfig {
        window: 100 * S,
        hop: hop.then_some(40 * S),
        out_of_orderness: 20 * S,
        allowed_lateness: 5 * S,
        ..PipelineConfig::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic_and_counters_add_up(
        records in prop::collection::vec((0usize..2, prop::collection::vec(any::<u8>(), 0..200)), 0..40),
    ) {
        let (_, dead, stats) = run(&config(false), &records, &[]);
        prop_assert!(stats.balanced());
        prop_assert_eq!(stats.received, records.len() as u64);
        prop_assert_eq!(dead.lines().count() as u64, stats.dead_lettered);
    }

    #[test]
    fn counters_add_up_on_damaged_events(
        records in prop::collection::vec((0usize..2, record()), 0..120),
        hop in any::<bool>(),
    ) {
        let (features, dead, stats) = run(&config(hop), &records, &[]);
        prop_assert!(stats.balanced());
        prop_assert_eq!(stats.received, records.len() as u64);
        prop_assert_eq!(dead.lines().count() as u64, stats.dead_lettered);
        prop_assert_eq!(features.lines().count() as u64, stats.feature_records);
        // Every accepted event is counted in the windows it belongs to (views etc. sum up).
        let counted: f64 = features
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .map(|v| ["views", "clicks", "add_to_carts", "remove_from_carts", "purchases"]
                .iter()
                .map(|k| v["features"][k].as_f64().unwrap())
                .sum::<f64>())
            .sum();
        if !hop {
            prop_assert_eq!(counted as u64, stats.accepted);
        }
    }

    #[test]
    fn output_does_not_depend_on_batch_boundaries(
        records in prop::collection::vec((0usize..2, record()), 0..120),
        cuts in prop::collection::vec(any::<bool>(), 120),
        hop in any::<bool>(),
    ) {
        let c = config(hop);
        let one_by_one = run(&c, &records, &[]);
        let batched = run(&c, &records, &cuts);
        let whole = run(&c, &records, &[false; 120]);
        prop_assert_eq!(&one_by_one.0, &batched.0);
        prop_assert_eq!(&one_by_one.1, &batched.1);
        prop_assert_eq!(&one_by_one.0, &whole.0);
        prop_assert_eq!(&one_by_one.1, &whole.1);
        prop_assert_eq!(one_by_one.2.accepted, whole.2.accepted);
    }

    #[test]
    fn any_valid_event_round_trips_through_the_wire_format(
        id in "\\PC{1,20}", session in "\\PC{1,20}", product in "\\PC{1,20}",
        referrer in "\\PC{1,12}", campaign in proptest::option::of("\\PC{0,12}"),
        user in proptest::option::of("\\PC{0,12}"),
        ty in 0usize..5, dt in 0i64..10_000_000_000, price in 0.01f64..1e6,
    ) {
        let ev = ClickEvent {
            event_id: id.into(),
            event_type: EventType::ALL[ty],
            event_time: T0 + dt,
            session_id: session.into(),
            product_id: product.into(),
            user_id: user.map(Into::into),
            price,
            referrer: referrer.into(),
            campaign: campaign.map(Into::into),
        };
        let json = ev.to_json();
        prop_assert_eq!(decode(json.as_bytes()), Ok(ev));
    }

    /// A KPL aggregate of records is the same input as the records one by one.
    #[test]
    fn kpl_aggregates_are_unpacked_into_the_same_records(
        records in prop::collection::vec(record(), 1..60),
        cuts in prop::collection::vec(any::<bool>(), 60),
    ) {
        let c = config(false);
        let plain: Vec<(usize, Vec<u8>)> = records.iter().map(|r| (0, r.clone())).collect();
        // Group consecutive records into aggregates at the cut points.
        let mut packed = Vec::new();
        let mut group: Vec<&[u8]> = Vec::new();
        for (i, r) in records.iter().enumerate() {
            group.push(r);
            if cuts[i] || i + 1 == records.len() {
                let items: Vec<(&str, &[u8])> = group.iter().map(|b| ("pk", *b)).collect();
                packed.push((0usize, pipeline::kpl::pack(&items)));
                group.clear();
            }
        }
        let (f1, d1, s1) = run(&c, &plain, &[]);
        let (f2, d2, s2) = run(&c, &packed, &[]);
        prop_assert_eq!(f1, f2);
        prop_assert_eq!(s1.received, s2.received);
        prop_assert_eq!(s1.dead_letters, s2.dead_letters);
        prop_assert_eq!(d1.lines().count(), d2.lines().count());
        prop_assert!(s2.balanced());
    }
}
