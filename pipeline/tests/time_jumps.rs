//! `max_time_jump`: an event far ahead of the stream is held until the data
//! confirms or refutes it, so one wrong clock cannot make everything after
//! it `late` (docs/events.md, "Events from the future").

mod common;

use common::*;
use pipeline::{PipelineConfig, Reason};

const MIN: i64 = 60 * S;
const YEAR: i64 = 365 * 24 * 60 * MIN;

fn config(f: impl FnOnce(&mut PipelineConfig)) -> PipelineConfig {
    let mut c = PipelineConfig {
        out_of_orderness: 0,
        ..PipelineConfig::default()
    };
    f(&mut c);
    c
}

/// Views of `a` every 10 s for `n` steps from `from`.
fn steady(from: i64, n: i64) -> Vec<String> {
    (0..n).map(|i| view("a", from + i * 10 * S)).collect()
}

#[test]
fn one_event_decades_ahead_is_refuted_and_the_stream_moves_on() {
    let mut h = Harness::new(config(|_| {}), 1, &["a"]);
    h.push(0, T0, &steady(T0, 10));
    h.push(0, T0, &[view("a", T0 + 70 * YEAR)]);
    h.push(0, T0, &steady(T0 + 100 * S, 10));
    h.finish();
    assert_eq!(h.reasons(), vec![Reason::EventTimeOutOfRange]);
    let detail = &h.dead_letters[0].detail;
    assert!(
        detail.contains("2096") && detail.contains("the next event of its partition is at"),
        "{detail}"
    );
    assert_eq!(
        h.views(),
        vec![("a".into(), 0, 10.0), ("a".into(), 100, 10.0)],
        "no event after it is late"
    );
    let stats = h.pipeline.stats();
    assert!(stats.balanced(), "{stats:?}");
    assert_eq!(stats.held, 0);
}

#[test]
fn without_the_bound_the_same_event_makes_everything_after_it_late() {
    let mut h = Harness::new(config(|c| c.max_time_jump = None), 1, &["a"]);
    h.push(0, T0, &steady(T0, 10));
    h.push(0, T0, &[view("a", T0 + 70 * YEAR)]);
    h.push(0, T0, &steady(T0 + 100 * S, 10));
    h.finish();
    assert_eq!(h.reasons(), vec![Reason::Late; 10]);
}

#[test]
fn a_real_jump_after_a_quiet_hour_is_confirmed_by_the_next_session() {
    let mut h = Harness::new(config(|_| {}), 1, &["a"]);
    h.push(0, T0, &steady(T0, 5));
    // An hour later: the first event waits, the second (another session) confirms it.
    let later = T0 + 60 * MIN;
    h.push(0, T0, &[view("a", later)]);
    assert_eq!(h.pipeline.stats().held, 1);
    h.push(0, T0, &[view("a", later + 20 * S)]);
    assert_eq!(h.pipeline.stats().held, 0);
    h.finish();
    assert!(h.dead_letters.is_empty(), "{:?}", h.reasons());
    assert_eq!(
        h.views(),
        vec![("a".into(), 0, 5.0), ("a".into(), 3600, 2.0)]
    );
}

#[test]
fn a_burst_from_one_session_with_a_wrong_clock_does_not_confirm_itself() {
    let mut h = Harness::new(config(|_| {}), 1, &["a"]);
    h.push(0, T0, &steady(T0, 5));
    let wrong = T0 + 2 * YEAR;
    let burst: Vec<String> = ["view", "click", "add_to_cart", "purchase"]
        .iter()
        .enumerate()
        .map(|(i, ty)| event(&format!("w{i}"), ty, wrong + i as i64 * S, "a", "phone"))
        .collect();
    h.push(0, T0, &burst);
    assert_eq!(h.pipeline.stats().held, 4);
    h.push(0, T0, &steady(T0 + 50 * S, 10));
    h.finish();
    assert_eq!(h.reasons(), vec![Reason::EventTimeOutOfRange; 4]);
    assert_eq!(
        h.views(),
        vec![("a".into(), 0, 10.0), ("a".into(), 100, 5.0)]
    );
}

#[test]
fn a_partition_holds_at_most_sixteen_events() {
    let mut h = Harness::new(config(|_| {}), 1, &["a"]);
    h.push(0, T0, &steady(T0, 2));
    let burst: Vec<String> = (0..20)
        .map(|i| event(&format!("w{i}"), "view", T0 + YEAR + i * S, "a", "phone"))
        .collect();
    h.push(0, T0, &burst);
    assert_eq!(h.pipeline.stats().held, 16);
    assert_eq!(h.reasons(), vec![Reason::EventTimeOutOfRange; 4]);
    assert!(
        h.dead_letters[0]
            .detail
            .contains("16 events of its partition already wait")
    );
    h.finish();
    assert_eq!(h.reasons(), vec![Reason::EventTimeOutOfRange; 20]);
}

#[test]
fn a_held_event_is_confirmed_when_the_other_partitions_catch_up() {
    let c = config(|c| {
        c.idle_timeout = 3_600 * S;
        c.out_of_orderness = 5 * S;
    });
    let mut h = Harness::new(c, 2, &["a", "b"]);
    h.push(0, T0, &[view("a", T0)]);
    h.push(1, T0, &[view("b", T0 + S)]);
    // Partition 0 runs 10 min ahead of the stream, then says nothing more.
    h.push(0, T0, &[view("a", T0 + 10 * MIN)]);
    assert_eq!(h.pipeline.stats().held, 1);
    // Partition 1 gets there too: it was right.
    h.push(1, T0, &steady_b(T0 + 2 * S, T0 + 9 * MIN));
    assert_eq!(h.pipeline.stats().held, 1);
    h.push(1, T0, &[view("b", T0 + 10 * MIN)]);
    assert_eq!(h.pipeline.stats().held, 0);
    h.finish();
    assert!(h.dead_letters.is_empty(), "{:?}", h.reasons());
    assert!(
        h.views().contains(&("a".into(), 600, 1.0)),
        "{:?}",
        h.views()
    );
}

fn steady_b(from: i64, to: i64) -> Vec<String> {
    (from..=to).step_by(30_000).map(|t| view("b", t)).collect()
}

#[test]
fn a_jump_still_unconfirmed_at_the_end_of_input_is_refuted() {
    let mut h = Harness::new(config(|_| {}), 1, &["a"]);
    h.push(0, T0, &steady(T0, 3));
    h.push(0, T0, &[view("a", T0 + YEAR)]);
    h.finish();
    assert_eq!(h.reasons(), vec![Reason::EventTimeOutOfRange]);
    assert!(
        h.dead_letters[0]
            .detail
            .contains("no later event confirmed it")
    );
}

#[test]
fn a_lone_first_event_has_nothing_to_jump_from_and_is_kept() {
    let mut h = Harness::new(config(|_| {}), 1, &["a"]);
    h.push(0, T0, &[view("a", T0 + 10 * S)]);
    assert_eq!(
        h.pipeline.stats().held,
        1,
        "the first event waits for a second"
    );
    h.finish();
    assert!(h.dead_letters.is_empty());
    assert_eq!(h.views(), vec![("a".into(), 0, 1.0)]);
}

#[test]
fn a_wrong_first_event_is_refuted_by_the_second() {
    let mut h = Harness::new(config(|_| {}), 1, &["a"]);
    h.push(0, T0, &[view("a", T0 + 70 * YEAR)]);
    h.push(0, T0, &steady(T0, 10));
    h.finish();
    assert_eq!(h.reasons(), vec![Reason::EventTimeOutOfRange]);
    assert_eq!(h.views(), vec![("a".into(), 0, 10.0)]);
}

#[test]
fn a_closed_partition_decides_what_it_holds() {
    let mut h = Harness::new(config(|_| {}), 2, &["a", "b"]);
    h.push(0, T0, &[view("a", T0), view("a", T0 + 10 * S)]);
    h.push(1, T0, &[view("b", T0 + 5 * S)]);
    h.push(1, T0, &[view("b", T0 + YEAR)]);
    assert_eq!(h.pipeline.stats().held, 1);
    h.close_partition(1);
    assert_eq!(h.pipeline.stats().held, 0);
    assert_eq!(h.reasons(), vec![Reason::EventTimeOutOfRange]);
}
