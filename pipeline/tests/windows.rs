//! Windows, watermarks, lateness, dedup and enrichment, as specified in
//! DESIGN.md ("Windows and time") — through the core's public API.

mod common;

use common::*;
use pipeline::{PipelineConfig, Reason};

fn config(f: impl FnOnce(&mut PipelineConfig)) -> PipelineConfig {
    let mut c = PipelineConfig {
        out_of_orderness: 0,
        ..PipelineConfig::default()
    };
    f(&mut c);
    c
}

#[test]
fn an_event_exactly_at_a_boundary_opens_the_next_window() {
    let mut h = Harness::new(config(|_| {}), 1, &["a"]);
    h.push(0, T0, &[view("a", T0 + 99_999), view("a", T0 + 100 * S)]);
    h.finish();
    assert_eq!(
        h.views(),
        vec![("a".into(), 0, 1.0), ("a".into(), 100, 1.0)]
    );
}

#[test]
fn the_watermark_closes_a_window_only_after_its_end() {
    let mut h = Harness::new(config(|_| {}), 1, &["a"]);
    h.push(0, T0, &[view("a", T0 + 10 * S), view("a", T0 + 99_999)]);
    assert!(h.features.is_empty(), "watermark is just before the end");
    h.push(0, T0, &[view("a", T0 + 100 * S)]);
    assert_eq!(h.views(), vec![("a".into(), 0, 2.0)]);
}

#[test]
fn out_of_order_within_tolerance_is_accepted_beyond_it_is_late() {
    let mut h = Harness::new(config(|c| c.out_of_orderness = 10 * S), 1, &["a"]);
    h.push(0, T0, &[view("a", T0 + 50 * S), view("a", T0 + 105 * S)]);
    // Watermark 95 s: window [0,100) still open.
    h.push(0, T0, &[view("a", T0 + 99 * S)]);
    assert!(h.dead_letters.is_empty());
    h.push(0, T0, &[view("a", T0 + 111 * S), view("a", T0 + 98 * S)]);
    assert_eq!(h.reasons(), vec![Reason::Late]);
    assert_eq!(h.views()[0], ("a".into(), 0, 2.0));
    assert!(
        h.dead_letters[0]
            .detail
            .contains("which closed when the watermark reached"),
        "{}",
        h.dead_letters[0].detail
    );
}

#[test]
fn allowed_lateness_keeps_a_window_open_past_the_watermark() {
    let mut h = Harness::new(config(|c| c.allowed_lateness = 30 * S), 1, &["a"]);
    h.push(0, T0, &[view("a", T0 + 120 * S), view("a", T0 + 10 * S)]);
    assert!(h.dead_letters.is_empty() && h.features.is_empty());
    h.push(0, T0, &[view("a", T0 + 130 * S), view("a", T0 + 20 * S)]);
    assert_eq!(h.reasons(), vec![Reason::Late]);
    assert_eq!(h.views(), vec![("a".into(), 0, 1.0)]);
}

#[test]
fn hopping_windows_count_an_event_in_every_window_that_contains_it() {
    let mut h = Harness::new(config(|c| c.hop = Some(50 * S)), 1, &["a"]);
    h.push(0, T0, &[view("a", T0 + 60 * S), view("a", T0 + 120 * S)]);
    h.finish();
    assert_eq!(
        h.views(),
        vec![
            ("a".into(), 0, 1.0),   // [0, 100): 60
            ("a".into(), 50, 2.0),  // [50, 150): 60, 120
            ("a".into(), 100, 1.0), // [100, 200): 120
        ]
    );
    assert_eq!(h.pipeline.stats().accepted, 2);
}

#[test]
fn hopping_event_is_accepted_while_any_of_its_windows_is_open() {
    let mut h = Harness::new(config(|c| c.hop = Some(50 * S)), 1, &["a"]);
    // Watermark 100 s closes [0,100); an event at 60 s still fits [50,150).
    h.push(0, T0, &[view("a", T0 + 100 * S), view("a", T0 + 60 * S)]);
    h.push(0, T0, &[view("a", T0 + 150 * S), view("a", T0 + 120 * S)]);
    h.push(0, T0, &[view("a", T0 + 90 * S)]);
    assert_eq!(
        h.reasons(),
        vec![Reason::Late],
        "90 s: [0,100) and [50,150) closed"
    );
    h.finish();
    let v = h.views();
    assert_eq!(
        v[0],
        ("a".into(), 50, 2.0),
        "[50,150): 100 and 60; 0..100 had no events"
    );
}

#[test]
fn the_slowest_partition_holds_the_watermark_until_it_goes_idle() {
    let c = config(|c| c.idle_timeout = 60 * S);
    let mut h = Harness::new(c, 2, &["a", "b"]);
    h.push(0, T0, &[view("a", T0 + 10 * S)]);
    h.push(1, T0, &[view("b", T0 + 20 * S)]);
    h.push(0, T0 + 30 * S, &[view("a", T0 + 250 * S)]);
    assert!(h.features.is_empty(), "partition 1 is at 20 s");
    // Host time passes; partition 1 sends nothing for more than the idle timeout.
    h.advance(T0 + 60 * S);
    assert!(h.features.is_empty(), "exactly 60 s idle is not idle yet");
    h.advance(T0 + 60 * S + 1);
    assert_eq!(h.views(), vec![("a".into(), 0, 1.0), ("b".into(), 0, 1.0)]);
    // It comes back: its old events are now late, new ones count.
    h.push(
        1,
        T0 + 90 * S,
        &[view("b", T0 + 50 * S), view("b", T0 + 260 * S)],
    );
    assert_eq!(h.reasons(), vec![Reason::Late]);
}

#[test]
fn a_closed_partition_stops_holding_the_watermark() {
    let mut h = Harness::new(config(|_| {}), 2, &["a"]);
    h.push(0, T0, &[view("a", T0 + 150 * S)]);
    assert!(h.features.is_empty());
    h.close_partition(1);
    h.advance(T0);
    assert_eq!(h.views(), vec![]);
    h.finish();
    assert_eq!(h.views(), vec![("a".into(), 100, 1.0)]);
}

#[test]
fn duplicates_are_dropped_within_the_horizon() {
    let c = config(|c| c.dedup_horizon = 1_000 * S);
    let mut h = Harness::new(c, 1, &["a"]);
    let e = event("same", "view", T0 + 5 * S, "a", "s1");
    h.push(0, T0, &[e.clone(), e.clone()]);
    h.push(0, T0, &[e]);
    h.finish();
    assert_eq!(h.reasons(), vec![Reason::Duplicate, Reason::Duplicate]);
    assert_eq!(h.views(), vec![("a".into(), 0, 1.0)]);
}

#[test]
fn after_the_horizon_an_old_duplicate_is_late_not_counted_twice() {
    let c = config(|c| c.dedup_horizon = 10 * S);
    let mut h = Harness::new(c, 1, &["a"]);
    let e = event("same", "view", T0 + 5 * S, "a", "s1");
    h.push(
        0,
        T0,
        &[e.clone(), view("a", T0 + 200 * S), view("a", T0 + 201 * S)],
    );
    h.push(0, T0, &[e]);
    assert_eq!(h.reasons(), vec![Reason::Late]);
    assert_eq!(h.pipeline.stats().dedup.entries, 2, "the first id expired");
}

#[test]
fn unknown_products_are_dead_lettered() {
    let mut h = Harness::tumbling(&["a"]);
    h.push(0, T0, &[view("zzz", T0), view("a", T0)]);
    assert_eq!(h.reasons(), vec![Reason::UnknownProduct]);
    assert_eq!(
        h.dead_letters[0].detail,
        r#"product_id "zzz" is not in the catalog"#
    );
}

#[test]
fn enrichment_joins_catalog_and_orders_at_window_close() {
    let mut h = Harness::new(config(|c| c.velocity_horizon = 24 * 3600 * S), 1, &["a"]);
    h.order("a", T0 + 10 * S, 2, 90.0);
    h.order("a", T0 + 120 * S, 1, 95.0);
    h.order("a", T0 - 3600 * S, 4, 100.0);
    h.push(0, T0, &[view("a", T0 + 1), view("a", T0 + 2)]);
    h.catalog.get_mut("a").unwrap().current_price = Some(110.0);
    h.push(0, T0, &[view("a", T0 + 100 * S)]);
    // The price change made before the close is what the window sees.
    let f = &h.features[0];
    assert_eq!(f.current_price, 110.0);
    assert_eq!(f.get("price_ratio_base"), Some(1.1));
    assert_eq!(f.get("units_ordered"), Some(2.0));
    assert_eq!(f.get("revenue_ordered"), Some(180.0));
    assert_eq!(
        f.get("sales_velocity_per_day"),
        Some(6.0),
        "4 + 2 units in the last 24 h"
    );
    assert_eq!(f.get("days_of_cover"), Some(50.0 / 6.0));
    h.catalog.get_mut("a").unwrap().current_price = Some(120.0);
    h.finish();
    assert_eq!(
        h.features[1].current_price, 120.0,
        "takes effect for the next window"
    );
    assert_eq!(h.features[1].get("units_ordered"), Some(1.0));
}

#[test]
fn counts_rates_and_trend_features() {
    let mut h = Harness::new(config(|_| {}), 1, &["a", "b"]);
    let mut first = vec![view("a", T0 + 1), view("b", T0 + 2)];
    first.push(event("c1", "click", T0 + 3, "a", "s-x"));
    first.push(event("c2", "add_to_cart", T0 + 4, "a", "s-x"));
    first.push(event("c3", "purchase", T0 + 5, "a", "s-x"));
    h.push(0, T0, &first);
    // Window 2: "a" trends (6 views); "b" is silent; window 3: "b" is back.
    let second: Vec<_> = (0..6).map(|i| view("a", T0 + 100 * S + i)).collect();
    h.push(0, T0, &second);
    h.push(0, T0, &[view("b", T0 + 200 * S)]);
    h.finish();
    let get = |i: usize, n: &str| h.features[i].get(n).unwrap();
    assert_eq!(h.views()[..2], [("a".into(), 0, 1.0), ("b".into(), 0, 1.0)]);
    assert_eq!(get(0, "unique_sessions"), 2.0);
    assert_eq!(get(0, "click_through_rate"), 1.0);
    assert_eq!(get(0, "cart_to_purchase_rate"), 1.0);
    assert_eq!(
        get(0, "view_growth_prev"),
        1.0,
        "the first window is neutral"
    );
    assert_eq!(get(2, "view_growth_prev"), 7.0 / 2.0);
    assert_eq!(get(2, "view_growth_ewma"), 7.0 / 2.0);
    assert_eq!(get(2, "views_per_minute"), 3.6);
    // "b" skipped a window: previous views 0, EWMA 1 decayed once by 0.7.
    assert_eq!(&*h.features[3].product_id, "b");
    assert_eq!(get(3, "view_growth_prev"), 2.0);
    assert_eq!(get(3, "view_growth_ewma"), (2.0f64 / 1.7) as f32);
}

#[test]
fn features_come_out_by_window_end_then_product_id() {
    let mut h = Harness::new(config(|_| {}), 1, &["a", "b", "c"]);
    h.push(
        0,
        T0,
        &[
            view("c", T0),
            view("b", T0 + 2),
            view("a", T0 + 1),
            view("b", T0 + 150 * S),
        ],
    );
    h.finish();
    let order: Vec<_> = h.views().into_iter().map(|(p, w, _)| (p, w)).collect();
    let expected = [("a", 0), ("b", 0), ("c", 0), ("b", 100)];
    assert_eq!(order, expected.map(|(p, w)| (p.to_string(), w)));
}

#[test]
fn a_host_clock_rejects_events_too_far_in_the_future() {
    let c = config(|c| c.max_future_skew = Some(60 * S));
    let mut h = Harness::new(c, 1, &["a"]);
    h.push(0, T0, &[view("a", T0 + 60 * S), view("a", T0 + 61 * S)]);
    assert_eq!(h.reasons(), vec![Reason::EventTimeOutOfRange]);
}

#[test]
fn oversize_records_keep_their_bytes() {
    let c = config(|c| c.max_record_bytes = 200);
    let mut h = Harness::new(c, 1, &["a"]);
    let big = view("a", T0).replace("search", &"x".repeat(300));
    h.push(0, T0, std::slice::from_ref(&big));
    assert_eq!(h.reasons(), vec![Reason::Oversize]);
    assert_eq!(h.dead_letters[0].bytes, big.as_bytes());
    assert_eq!(h.dead_letters[0].partition.as_ref(), "p0");
    assert_eq!(h.dead_letters[0].position, "1");
}

#[test]
fn a_product_first_seen_after_a_fully_observed_window_grew_from_zero() {
    let mut h = Harness::new(config(|_| {}), 1, &["a", "b"]);
    // Events since T0 + 50 s: [0, 100) is partial, [100, 200) fully observed.
    h.push(0, T0, &[view("a", T0 + 50 * S), view("b", T0 + 150 * S)]);
    h.push(
        0,
        T0,
        &[
            view("b", T0 + 250 * S),
            view("b", T0 + 251 * S),
            view("b", T0 + 300 * S),
        ],
    );
    h.finish();
    let growth: Vec<_> = h
        .features
        .iter()
        .map(|f| (&*f.product_id, f.get("view_growth_prev").unwrap()))
        .collect();
    // a: neutral (its previous window was before the first event); b at 100: neutral too,
    // since [0, 100) was partial; b at 200 follows b at 100.
    assert_eq!(
        growth,
        vec![("a", 1.0), ("b", 1.0), ("b", 1.5), ("b", 2.0 / 3.0)]
    );
    let mut h = Harness::new(config(|_| {}), 1, &["a", "b"]);
    h.push(
        0,
        T0,
        &[
            view("a", T0),
            view("a", T0 + 150 * S),
            view("b", T0 + 250 * S),
        ],
    );
    h.finish();
    let b = h.features.iter().find(|f| &*f.product_id == "b").unwrap();
    assert_eq!(
        b.get("view_growth_prev"),
        Some(2.0),
        "[100, 200) was observed without b"
    );
}

#[test]
fn records_after_finish_are_late_and_change_nothing() {
    let mut h = Harness::tumbling(&["a"]);
    h.push(0, T0, &[view("a", T0 + 10 * S)]);
    h.finish();
    h.push(0, T0, &[view("a", T0 + 20 * S)]);
    h.finish();
    assert_eq!(h.views(), vec![("a".into(), 0, 1.0)]);
    assert_eq!(h.reasons(), vec![Reason::Late]);
    assert!(
        h.pipeline
            .stats()
            .watermark
            .is_some_and(|w| w < T0 + 100 * S)
    );
}

#[test]
fn a_corrupted_kpl_aggregate_is_dead_lettered_whole() {
    let mut h = Harness::tumbling(&["a"]);
    let good = pipeline::kpl::pack(&[
        ("a", view("a", T0).as_bytes()),
        ("a", view("a", T0 + 1).as_bytes()),
    ]);
    let mut bad = good.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 0x55;
    let raw = [
        pipeline::RawRecord {
            bytes: &good,
            position: pipeline::Position::Sequence("100"),
            truncated: None,
            layout: None,
        },
        pipeline::RawRecord {
            bytes: &bad,
            position: pipeline::Position::Sequence("101"),
            truncated: None,
            layout: None,
        },
    ];
    let mut out = pipeline::Output::default();
    let p = h.parts[0];
    h.pipeline.ingest(p, T0, &raw, &h.catalog, &mut out);
    let s = h.pipeline.stats();
    assert_eq!((s.received, s.accepted, s.dead_lettered), (3, 2, 1));
    assert_eq!(out.dead_letters[0].reason, Reason::BadAggregate);
    assert_eq!(
        out.dead_letters[0].bytes, bad,
        "the whole aggregate is kept"
    );
    assert_eq!(out.dead_letters[0].position, "101");
}

#[test]
fn an_empty_kpl_aggregate_is_counted_and_dead_lettered() {
    let mut h = Harness::tumbling(&["a"]);
    let empty = pipeline::kpl::pack(&[]);
    let raw = [pipeline::RawRecord {
        bytes: &empty,
        position: pipeline::Position::Sequence("7"),
        truncated: None,
        layout: None,
    }];
    let mut out = pipeline::Output::default();
    let p = h.parts[0];
    h.pipeline.ingest(p, T0, &raw, &h.catalog, &mut out);
    let s = h.pipeline.stats();
    assert_eq!((s.received, s.accepted, s.dead_lettered), (1, 0, 1));
    assert_eq!(out.dead_letters[0].reason, Reason::BadAggregate);
    assert_eq!(out.dead_letters[0].bytes, empty);
}
