//! Restarting from a checkpoint: a core that is stopped anywhere, restored
//! from each partition's [`PartitionState`] and fed again from
//! [`Pipeline::replay_from`], emits exactly what an uninterrupted core does
//! (proptest over inputs and stop points).

mod common;

use common::*;
use pipeline::{
    DeadLetter, Output, PartitionState, Pipeline, PipelineConfig, Position, RawRecord, Reason,
};
use proptest::prelude::*;

/// Partition key = product: a and b live on partition 0, c on partition 1.
const PRODUCTS: [(&str, usize); 3] = [("a", 0), ("b", 0), ("c", 1)];

/// Records in arrival order as (partition, bytes): events with unique ids
/// and times that drift forward with jitter, exact duplicates of earlier
/// records, stragglers far behind, events far ahead, gaps, and garbage.
fn input() -> impl Strategy<Value = Vec<(usize, Vec<u8>)>> {
    let step = prop_oneof![
        6 => (0usize..3, 0i64..30_000, 0u32..6, 0usize..5).prop_map(|(p, dt, s, ty)| Step::Event(p, dt, s, ty)),
        1 => any::<prop::sample::Index>().prop_map(Step::Duplicate),
        1 => (0usize..3, 100_000i64..400_000).prop_map(|(p, back)| Step::Straggler(p, back)),
        1 => (0usize..2, prop::collection::vec(any::<u8>(), 0..40)).prop_map(|(p, b)| Step::Garbage(p, b)),
        1 => (0usize..3, 310_000i64..20 * 86_400_000).prop_map(|(p, ahead)| Step::FarAhead(p, ahead)),
        1 => (310_000i64..7_200_000).prop_map(Step::Gap),
    ];
    prop::collection::vec(step, 0..150).prop_map(|steps| {
        let mut out: Vec<(usize, Vec<u8>)> = Vec::new();
        let mut t = T0;
        for (i, step) in steps.into_iter().enumerate() {
            t += 4 * S;
            match step {
                Step::Event(p, dt, s, ty) => {
                    let (product, part) = PRODUCTS[p];
                    let ty = pipeline::EventType::ALL[ty].as_str();
                    let e = event(&format!("e{i}"), ty, t + dt, product, &format!("s{s}"));
                    out.push((part, e.into_bytes()));
                }
                Step::Duplicate(at) if !out.is_empty() => {
                    let copy = out[at.index(out.len())].clone();
                    out.push(copy);
                }
                Step::Duplicate(_) => {}
                Step::Straggler(p, back) => {
                    let (product, part) = PRODUCTS[p];
                    out.push((part, view(product, t - back).into_bytes()));
                }
                Step::Garbage(p, bytes) => out.push((p, bytes)),
                Step::FarAhead(p, ahead) => {
                    let (product, part) = PRODUCTS[p];
                    out.push((part, view(product, t + ahead).into_bytes()));
                }
                Step::Gap(gap) => t += gap,
            }
        }
        out
    })
}

#[derive(Clone, Debug)]
enum Step {
    Event(usize, i64, u32, usize),
    Duplicate(prop::sample::Index),
    Straggler(usize, i64),
    Garbage(usize, Vec<u8>),
    /// One event with a wrong clock, far ahead of the stream.
    FarAhead(usize, i64),
    /// The whole stream jumps (a quiet night).
    Gap(i64),
}

fn config(hop: bool) -> PipelineConfig {
    PipelineConfig {
        window: 100 * S,
        hop: hop.then_some(50 * S),
        out_of_orderness: 30 * S,
        allowed_lateness: 5 * S,
        // Ids are never forgotten here: when an id expires depends on when
        // the watermark moves, which a restart changes (near the horizon a
        // restored id can outlive the uninterrupted run's copy). Far-ahead
        // events stay within the horizon too: two that agree (from two
        // sessions) are taken as a real jump.
        dedup_horizon: 30 * 24 * 3_600 * S,
        ..PipelineConfig::default()
    }
}

/// A host like `serve`: one record per poll, windows closed one at a time.
struct Host {
    core: Pipeline,
    parts: [pipeline::PartitionId; 2],
    /// Per partition, the ordinal a restarted core resumed at: records
    /// before `processed` were handled before the stop.
    processed: [u64; 2],
    /// Ordinal of each partition's first record this core was fed.
    base: [u64; 2],
    /// Per partition, the record held for confirmation at the stop: its
    /// dead letter was not written before.
    held: [Vec<String>; 2],
    features: Vec<String>,
    dead: Vec<DeadLetter>,
}

impl Host {
    fn new(config: &PipelineConfig) -> Host {
        let mut core = Pipeline::new(config.clone()).unwrap();
        let parts = [core.register_partition("p0"), core.register_partition("p1")];
        Host {
            core,
            parts,
            processed: [0; 2],
            base: [0; 2],
            held: [Vec::new(), Vec::new()],
            features: Vec::new(),
            dead: Vec::new(),
        }
    }

    /// Feeds the record with this partition ordinal (ordinals count from the stream start).
    fn feed(&mut self, part: usize, ordinal: u64, bytes: &[u8]) {
        let catalog = catalog(&["a", "b", "c"]);
        let orders = pipeline::OrdersTable::new();
        let mut out = Output::default();
        let position = ordinal.to_string();
        let record = RawRecord {
            bytes,
            position: Position::Sequence(&position),
            truncated: None,
            layout: None,
        };
        self.core
            .ingest(self.parts[part], T0, &[record], &catalog, &mut out);
        while self
            .core
            .advance_one(T0, &catalog, &orders, &mut out)
            .is_some()
        {}
        self.collect(out);
    }

    fn finish(&mut self) {
        let catalog = catalog(&["a", "b", "c"]);
        let orders = pipeline::OrdersTable::new();
        let mut out = Output::default();
        while self.core.finish_one(&catalog, &orders, &mut out).is_some() {}
        self.collect(out);
    }

    fn collect(&mut self, out: Output) {
        self.features.extend(
            out.features
                .iter()
                .map(|f| serde_json::to_string(f).unwrap()),
        );
        // Dead letters of records handled before the stop were stored then.
        for d in out.dead_letters {
            let part = usize::from(&*d.partition == "p1");
            let ordinal: u64 = d.position.parse().unwrap();
            if ordinal >= self.processed[part] || self.held[part].contains(&d.position) {
                self.dead.push(d);
            }
        }
    }

    /// The checkpoint of each partition: (ordinal to replay from, ordinal
    /// processed, state).
    fn checkpoint(&self) -> [(u64, u64, PartitionState); 2] {
        [0, 1].map(|i| {
            let p = self.parts[i];
            let processed = self.base[i] + self.core.ordinal(p);
            let from = self
                .core
                .replay_from(p)
                .map_or(processed, |o| self.base[i] + o);
            (from, processed, self.core.partition_state(p))
        })
    }
}

/// Runs `input` uninterrupted, or stopped after `stop` records and restarted.
fn run(config: &PipelineConfig, input: &[(usize, Vec<u8>)], stop: Option<usize>) -> Host {
    let ordinals: Vec<u64> = {
        let mut next = [0u64; 2];
        input
            .iter()
            .map(|(p, _)| {
                next[*p] += 1;
                next[*p] - 1
            })
            .collect()
    };
    let mut first = Host::new(config);
    let stop = stop.unwrap_or(input.len()).min(input.len());
    for (i, (p, bytes)) in input[..stop].iter().enumerate() {
        first.feed(*p, ordinals[i], bytes);
    }
    if stop == input.len() {
        first.finish();
        return first;
    }
    let checkpoint = first.checkpoint();
    let mut second = Host::new(config);
    for (i, (from, processed, state)) in checkpoint.into_iter().enumerate() {
        second.held[i] = state.held.clone();
        second.core.resume(second.parts[i], state);
        second.base[i] = from;
        second.processed[i] = processed;
    }
    second.features = first.features;
    second.dead = first.dead;
    for (i, (p, bytes)) in input.iter().enumerate() {
        if ordinals[i] >= second.base[*p] {
            second.feed(*p, ordinals[i], bytes);
        }
    }
    second.finish();
    second
}

fn letters(dead: &[DeadLetter]) -> Vec<(String, u64, Reason)> {
    let mut v: Vec<_> = dead
        .iter()
        .map(|d| {
            (
                d.partition.to_string(),
                d.position.parse().unwrap(),
                d.reason,
            )
        })
        .collect();
    v.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    v
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn a_restart_from_the_checkpoint_emits_what_an_uninterrupted_run_does(
        input in input(),
        stop in any::<prop::sample::Index>(),
        hop in any::<bool>(),
    ) {
        let c = config(hop);
        let whole = run(&c, &input, None);
        let restarted = run(&c, &input, Some(stop.index(input.len() + 1)));
        let mut a = whole.features.clone();
        let mut b = restarted.features.clone();
        a.sort();
        b.sort();
        // Emitted in window order, so nothing is emitted twice either.
        prop_assert_eq!(&a, &b);
        let (da, db) = (letters(&whole.dead), letters(&restarted.dead));
        prop_assert_eq!(da.len(), db.len());
        for (x, y) in da.iter().zip(&db) {
            prop_assert_eq!((&x.0, x.1), (&y.0, y.1));
            // The checkpoint keeps the ids of events in closed windows, so a
            // duplicate of one is still a `duplicate` after a restart (see
            // the test below). One case remains: an event in a window still
            // open at the stop is read again, but the restart's watermark
            // (its partitions resume at different records) has closed its
            // window by then; it is not remembered, and its duplicate is `late`.
            if x.2 != y.2 {
                prop_assert_eq!((x.2, y.2), (Reason::Duplicate, Reason::Late));
            }
        }
    }
}

#[test]
fn a_duplicate_of_an_event_whose_window_closed_before_a_restart_is_still_a_duplicate() {
    // e0 in the first window; later events close it; the stop comes after
    // them, and a producer retry of e0 arrives after the restart.
    // (Both partitions move, so the watermark does.)
    let mut input: Vec<(usize, Vec<u8>)> = (0..8)
        .flat_map(|i| {
            [
                (0, view_with_id(&format!("a{i}"), "a", T0 + i * 60 * S)),
                (1, view_with_id(&format!("c{i}"), "c", T0 + i * 60 * S)),
            ]
        })
        .collect();
    input.push(input[0].clone());
    let c = config(false);
    let whole = run(&c, &input, None);
    let restarted = run(&c, &input, Some(input.len() - 1));
    let reasons = |h: &Host| {
        letters(&h.dead)
            .into_iter()
            .map(|l| l.2)
            .collect::<Vec<_>>()
    };
    assert_eq!(reasons(&whole), [Reason::Duplicate]);
    assert_eq!(reasons(&restarted), [Reason::Duplicate]);
}

fn view_with_id(id: &str, product: &str, t: i64) -> Vec<u8> {
    event(id, "view", t, product, "s0").into_bytes()
}
