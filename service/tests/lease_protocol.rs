//! The lease protocol (`service::leases::membership`) with simulated workers
//! and time: workers start at random moments, crash, pause past their lease
//! and come back, while others take, steal and hand over shards. The table
//! is an in-memory stand-in with DynamoDB's conditional-write rules (the
//! real table's conditions are checked against moto in `leases.rs`).
//!
//! Properties:
//! - a worker only ever acts on a shard (reads, checkpoints) while the table
//!   names it the owner: never two workers at once;
//! - a worker that lost a lease can neither renew nor checkpoint it;
//! - once the crashes and pauses stop, every shard is owned by a live worker
//!   and live workers' loads differ by at most one.

use std::collections::BTreeMap;

use proptest::prelude::*;
use service::error::Error;
use service::leases::{Lease, LeaseTable, Membership, Outcome, Position, ShardSpec};

const LEASE: i64 = 3_000;
const TICK: i64 = LEASE / 3;

#[derive(Default)]
struct Table {
    items: BTreeMap<String, Lease>,
    /// Checkpoints that went through, as (shard, worker).
    checkpoints: Vec<(String, String)>,
}

impl Table {
    fn owned_at(&self, shard: &str, me: &str, counter: u64) -> bool {
        self.items
            .get(shard)
            .is_some_and(|l| l.owner.as_deref() == Some(me) && l.counter == counter)
    }
    fn outcome(ok: bool) -> Result<Outcome, Error> {
        Ok(if ok { Outcome::Done } else { Outcome::Lost })
    }
}

impl LeaseTable for Table {
    fn load(&mut self) -> Result<Vec<Lease>, Error> {
        Ok(self.items.values().cloned().collect())
    }
    fn take(&mut self, seen: &Lease, me: &str) -> Result<Outcome, Error> {
        let ok = self
            .items
            .get(&seen.shard_id)
            .is_none_or(|l| l.counter == seen.counter);
        if ok {
            let next = Lease {
                owner: Some(me.into()),
                counter: seen.counter + 1,
                handover_to: None,
                ..seen.clone()
            };
            self.items.insert(seen.shard_id.clone(), next);
        }
        Table::outcome(ok)
    }
    fn renew(&mut self, lease: &mut Lease, me: &str) -> Result<Outcome, Error> {
        let ok = self.owned_at(&lease.shard_id, me, lease.counter);
        if ok {
            self.items.get_mut(&lease.shard_id).unwrap().counter += 1;
            lease.counter += 1;
        }
        Table::outcome(ok)
    }
    fn request_handover(&mut self, seen: &Lease, me: &str) -> Result<Outcome, Error> {
        let l = self.items.get_mut(&seen.shard_id);
        let ok = l.as_ref().is_some_and(|l| {
            l.owner.is_some()
                && l.owner == seen.owner
                && l.counter == seen.counter
                && l.handover_to.is_none()
        });
        if ok {
            l.unwrap().handover_to = Some(me.into());
        }
        Table::outcome(ok)
    }
    fn hand_over(&mut self, lease: &Lease, me: &str, to: &str) -> Result<Outcome, Error> {
        let ok = self.owned_at(&lease.shard_id, me, lease.counter);
        if ok {
            let l = self.items.get_mut(&lease.shard_id).unwrap();
            l.owner = Some(to.into());
            l.counter += 1;
            l.handover_to = None;
        }
        Table::outcome(ok)
    }
    fn checkpoint(&mut self, lease: &mut Lease, me: &str, at: &Position) -> Result<Outcome, Error> {
        let ok = self.owned_at(&lease.shard_id, me, lease.counter);
        if ok {
            let l = self.items.get_mut(&lease.shard_id).unwrap();
            l.checkpoint = Some(at.processed.clone());
            l.finished = at.finished;
            self.checkpoints
                .push((lease.shard_id.clone(), me.to_string()));
        }
        Table::outcome(ok)
    }
    fn release(&mut self, lease: &Lease, me: &str) -> Result<Outcome, Error> {
        let ok = self.owned_at(&lease.shard_id, me, lease.counter);
        if ok {
            let l = self.items.get_mut(&lease.shard_id).unwrap();
            l.owner = None;
            l.counter += 1;
            l.handover_to = None;
        }
        Table::outcome(ok)
    }
}

/// What can happen to a worker in one step of the simulation.
#[derive(Clone, Debug)]
enum Fault {
    /// Dies without releasing; a new worker (new id) starts in its place later.
    Crash,
    /// Stops for this long (ms), then goes on as if nothing happened.
    Pause(i64),
    /// Stops cleanly: checkpoints and releases.
    Leave,
}

struct Worker {
    m: Membership,
    next_tick: i64,
    paused_until: i64,
    alive: bool,
    /// Shards asked for, to hand over on the next step (after a checkpoint).
    asked: Vec<String>,
}

impl Worker {
    fn new(id: &str, now: i64) -> Worker {
        Worker {
            m: Membership::new(id, LEASE),
            next_tick: now,
            paused_until: now,
            alive: true,
            asked: Vec::new(),
        }
    }
}

fn shards(n: usize) -> Vec<ShardSpec> {
    (0..n)
        .map(|i| ShardSpec {
            id: format!("shard-{i}"),
            parents: Vec::new(),
        })
        .collect()
}

fn position(now: i64) -> Position {
    Position {
        processed: now.to_string(),
        ..Position::default()
    }
}

/// One step of a live worker at `now`: hand over what was asked for, tick
/// when due, then act on every shard it holds (read + checkpoint).
fn step(w: &mut Worker, table: &mut Table, now: i64, specs: &[ShardSpec]) {
    for id in std::mem::take(&mut w.asked) {
        if w.m.holds(&id) {
            w.m.checkpoint(table, &id, &position(now)).unwrap();
            w.m.hand_over(table, &id).unwrap();
        }
    }
    if now >= w.next_tick {
        let change = w.m.tick(table, now, specs).unwrap();
        w.asked = change.asked;
        w.next_tick = now + TICK;
    }
    w.m.expire(now);
    let held: Vec<String> = w.m.held().map(|l| l.shard_id.clone()).collect();
    for id in held {
        let l = &table.items[&id];
        assert_eq!(
            l.owner.as_deref(),
            Some(w.m.me()),
            "{} acts on {id} at {now} ms, but the table says {:?}",
            w.m.me(),
            l.owner
        );
        assert_eq!(
            w.m.checkpoint(table, &id, &position(now)).unwrap(),
            Outcome::Done,
            "{} owns {id} but cannot checkpoint it",
            w.m.me()
        );
    }
}

/// Runs `workers` workers (started at the given offsets) on `n` shards with
/// `faults` (worker, at ms, what), then `settle` ms without faults.
fn simulate(
    n: usize,
    starts: &[i64],
    faults: &[(usize, i64, Fault)],
    step_ms: i64,
) -> (Table, Vec<Worker>) {
    let specs = shards(n);
    let mut table = Table::default();
    let mut workers: Vec<Worker> = Vec::new();
    let mut started = vec![false; starts.len()];
    let mut generation = vec![0; starts.len()];
    let last_fault = faults.iter().map(|f| f.1).max().unwrap_or(0);
    let end = last_fault.max(*starts.iter().max().unwrap_or(&0)) + 40 * LEASE;
    let mut slots: Vec<Option<usize>> = vec![None; starts.len()];
    let mut now = 0;
    while now <= end {
        for (slot, &at) in starts.iter().enumerate() {
            if !started[slot] && now >= at {
                started[slot] = true;
                slots[slot] = Some(workers.len());
                workers.push(Worker::new(&format!("w{slot}"), now));
            }
        }
        for (slot, at, fault) in faults {
            let (slot, at) = (*slot % starts.len(), *at);
            if now < at || now >= at + step_ms {
                continue;
            }
            let Some(i) = slots[slot] else { continue };
            let w = &mut workers[i];
            if !w.alive || now < w.paused_until {
                continue;
            }
            match fault {
                Fault::Crash => {
                    w.alive = false;
                    generation[slot] += 1;
                    // Restarted a little later, as a supervisor would.
                    slots[slot] = Some(workers.len());
                    let mut fresh = Worker::new(&format!("w{slot}.{}", generation[slot]), now);
                    fresh.paused_until = now + LEASE / 2;
                    fresh.next_tick = now + LEASE / 2;
                    workers.push(fresh);
                }
                Fault::Pause(ms) => w.paused_until = now + ms,
                Fault::Leave => {
                    w.alive = false;
                    w.m.release_all(&mut table);
                }
            }
        }
        for w in workers
            .iter_mut()
            .filter(|w| w.alive && now >= w.paused_until)
        {
            step(w, &mut table, now, &specs);
        }
        now += step_ms;
    }
    (table, workers)
}

fn fault() -> impl Strategy<Value = Fault> {
    prop_oneof![
        3 => Just(Fault::Crash),
        4 => (100i64..3 * LEASE).prop_map(Fault::Pause),
        1 => Just(Fault::Leave),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn one_owner_at_a_time_and_every_shard_ends_up_owned_and_balanced(
        n in 1usize..12,
        starts in prop::collection::vec(0i64..4 * LEASE, 1..6),
        faults in prop::collection::vec((0usize..6, 0i64..20 * LEASE, fault()), 0..8),
        step_ms in prop_oneof![Just(50i64), Just(170), Just(400)],
    ) {
        let (table, workers) = simulate(n, &starts, &faults, step_ms);
        let live: Vec<&Worker> = workers.iter().filter(|w| w.alive).collect();
        // (Everyone may have left.)
        for spec in shards(n).iter().filter(|_| !live.is_empty()) {
            let owner = table.items.get(&spec.id).and_then(|l| l.owner.clone());
            prop_assert!(
                owner.as_ref().is_some_and(|o| live.iter().any(|w| w.m.me() == o)),
                "{} is owned by {owner:?}, not a live worker", spec.id
            );
        }
        if !live.is_empty() {
            let loads: Vec<usize> = live.iter().map(|w| w.m.held().count()).collect();
            let (lo, hi) = (loads.iter().min().unwrap(), loads.iter().max().unwrap());
            prop_assert!(hi - lo <= 1, "loads {loads:?} for {n} shards");
        }
    }
}

#[test]
fn a_paused_worker_cannot_renew_or_checkpoint_what_was_taken_meanwhile() {
    let specs = shards(2);
    let mut table = Table::default();
    let mut a = Membership::new("a", LEASE);
    let mut b = Membership::new("b", LEASE);
    a.tick(&mut table, 0, &specs).unwrap();
    assert_eq!(a.held().count(), 2);
    let stale: Vec<Lease> = a.held().cloned().collect();
    // a stops; b waits out the lease and takes both.
    let mut now = 0;
    while b.held().count() < 2 {
        now += TICK;
        b.tick(&mut table, now, &specs).unwrap();
        assert!(now < 3 * LEASE, "b never took the expired leases");
    }
    assert!(
        now >= LEASE,
        "taken after {now} ms, before the lease ran out"
    );
    // a comes back with its old view: every write is refused.
    for mut l in stale {
        assert_eq!(table.renew(&mut l.clone(), "a").unwrap(), Outcome::Lost);
        assert_eq!(
            table.checkpoint(&mut l, "a", &position(now)).unwrap(),
            Outcome::Lost
        );
    }
    let change = a.tick(&mut table, now, &specs).unwrap();
    assert_eq!(change.lost.len(), 2, "{change:?}");
    assert_eq!(a.held().count(), 0);
}

#[test]
fn a_joining_worker_gets_its_share_by_handover_without_waiting_for_expiry() {
    let specs = shards(8);
    let mut table = Table::default();
    let mut a = Worker::new("a", 0);
    step(&mut a, &mut table, 0, &specs);
    assert_eq!(a.m.held().count(), 8);
    let mut b = Worker::new("b", 0);
    let mut now = 0;
    while b.m.held().count() < 4 {
        now += 100;
        step(&mut a, &mut table, now, &specs);
        step(&mut b, &mut table, now, &specs);
        assert!(
            now < 20 * TICK,
            "b has {} after {now} ms",
            b.m.held().count()
        );
    }
    // Well before a lease could have expired per shard moved.
    assert_eq!(a.m.held().count(), 4);
    assert!(table.items.values().all(|l| l.handover_to.is_none()));
}

#[test]
fn children_are_taken_only_after_their_parent_is_finished() {
    let mut specs = shards(1);
    specs.push(ShardSpec {
        id: "child".into(),
        parents: vec!["shard-0".into()],
    });
    let mut table = Table::default();
    let mut a = Membership::new("a", LEASE);
    a.tick(&mut table, 0, &specs).unwrap();
    let held: Vec<String> = a.held().map(|l| l.shard_id.clone()).collect();
    assert_eq!(held, ["shard-0"]);
    let finished = Position {
        processed: "9".into(),
        finished: true,
        ..Position::default()
    };
    let mut parent = a.lease("shard-0").unwrap().clone();
    table.checkpoint(&mut parent, "a", &finished).unwrap();
    a.tick(&mut table, TICK, &specs).unwrap();
    assert!(a.holds("child"));
}
