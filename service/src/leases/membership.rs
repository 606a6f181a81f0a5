//! A worker's side of the lease protocol (the KCL's design). Every tick it
//! renews what it holds, reads every lease, takes unowned and expired ones
//! up to its fair share (shards ÷ live workers, rounded up), and when it is
//! below its share and nothing is free, asks the most-loaded worker for one
//! shard. The owner hands an asked-for shard over after its next checkpoint,
//! so a shard moves without being read twice; a dead owner's lease is taken
//! once its counter has not moved for `lease_duration` on the taker's clock.
//!
//! Safety rests on two rules: every write is conditional on the owner and
//! counter last seen (a stale worker can neither renew nor checkpoint), and
//! a worker stops using a lease it has not renewed for three quarters of
//! `lease_duration`, before anyone may take it (the quarter covers the time
//! between reading a clock and a write landing, and clock-rate drift).
//! Time is passed in, so the protocol runs the same against DynamoDB and in
//! a simulation (`tests/lease_protocol.rs`).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::{Hash, Hasher};

use pipeline::Millis;

use super::{Lease, LeaseTable, Outcome, Position};
use crate::error::Error;

/// A shard as the lease protocol sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShardSpec {
    pub id: String,
    /// Parents (after a split or merge): the shard is taken only once their
    /// leases say they were read to the end.
    pub parents: Vec<String>,
}

/// What a tick changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Change {
    /// Leases now held that were not before.
    pub gained: Vec<String>,
    /// Leases no longer held: taken by another worker, or not renewed in time.
    pub lost: Vec<String>,
    /// Held leases another worker asked for: checkpoint, then [`Membership::hand_over`].
    pub asked: Vec<String>,
}

impl Change {
    /// Whether the set of shards to read changed (or is about to).
    pub fn any(&self) -> bool {
        !(self.gained.is_empty() && self.lost.is_empty() && self.asked.is_empty())
    }
}

#[derive(Clone, Debug)]
struct Held {
    lease: Lease,
    renewed_at: Millis,
}

/// One worker's leases and what it has seen of the others'.
#[derive(Debug)]
pub struct Membership {
    me: String,
    lease_duration: Millis,
    held: BTreeMap<String, Held>,
    /// Other workers' leases: the counter last seen and since when (this
    /// worker's clock): unchanged for `lease_duration`, the owner is gone.
    seen: HashMap<String, (u64, Millis)>,
    /// Shards with work left that no live worker held at the last tick.
    orphaned: usize,
    /// Shards with work left that other live workers held at the last tick.
    held_by_others: usize,
}

impl Membership {
    pub fn new(me: &str, lease_duration: Millis) -> Membership {
        Membership {
            me: me.to_string(),
            lease_duration: lease_duration.max(1),
            held: BTreeMap::new(),
            seen: HashMap::new(),
            orphaned: 0,
            held_by_others: 0,
        }
    }

    pub fn me(&self) -> &str {
        &self.me
    }

    /// The shards this worker may read now.
    pub fn held(&self) -> impl Iterator<Item = &Lease> {
        self.held.values().map(|h| &h.lease)
    }

    pub fn holds(&self, shard: &str) -> bool {
        self.held.contains_key(shard)
    }

    /// Forgets leases not renewed for ¾ of `lease_duration` (another worker
    /// may take them soon). Call before acting on a shard after a pause.
    pub fn expire(&mut self, now: Millis) -> Vec<String> {
        let limit = self.lease_duration - self.lease_duration / 4;
        let gone: Vec<String> = self
            .held
            .iter()
            .filter(|(_, h)| now.saturating_sub(h.renewed_at) >= limit)
            .map(|(id, _)| id.clone())
            .collect();
        for id in &gone {
            self.held.remove(id);
        }
        gone
    }

    /// Renews every lease held; returns those lost (expired here or taken).
    pub fn renew(&mut self, table: &mut dyn LeaseTable, now: Millis) -> Result<Vec<String>, Error> {
        let mut lost = self.expire(now);
        let ids: Vec<String> = self.held.keys().cloned().collect();
        for id in ids {
            let Some(h) = self.held.get_mut(&id) else {
                continue;
            };
            match table.renew(&mut h.lease, &self.me)? {
                Outcome::Done => h.renewed_at = now,
                Outcome::Lost => {
                    self.held.remove(&id);
                    lost.push(id);
                }
            }
        }
        Ok(lost)
    }

    /// Renews, reads every lease, takes and asks (see the module docs).
    /// `shards` are the stream's shards; other items in the table are ignored.
    pub fn tick(
        &mut self,
        table: &mut dyn LeaseTable,
        now: Millis,
        shards: &[ShardSpec],
    ) -> Result<Change, Error> {
        let mut change = Change {
            lost: self.renew(table, now)?,
            ..Change::default()
        };
        let known: BTreeSet<&str> = shards.iter().map(|s| s.id.as_str()).collect();
        let leases: BTreeMap<String, Lease> = table
            .load()?
            .into_iter()
            .filter(|l| known.contains(l.shard_id.as_str()))
            .map(|l| (l.shard_id.clone(), l))
            .collect();
        // Handed over to this worker by its previous owner (or held here
        // before a pause): used only once renewed, since others may have
        // been watching its counter for a while.
        for l in leases.values() {
            if l.owner.as_deref() == Some(&self.me) && !self.held.contains_key(&l.shard_id) {
                let mut lease = l.clone();
                if table.renew(&mut lease, &self.me)? == Outcome::Done {
                    change.gained.push(l.shard_id.clone());
                    self.held.insert(
                        l.shard_id.clone(),
                        Held {
                            lease,
                            renewed_at: now,
                        },
                    );
                }
            }
        }
        for (id, h) in self.held.iter_mut() {
            if let Some(l) = leases.get(id)
                && l.counter == h.lease.counter
                && l.handover_to.as_deref().is_some_and(|t| t != self.me)
            {
                h.lease.handover_to = l.handover_to.clone();
                change.asked.push(id.clone());
            }
        }
        self.observe(&leases, now);
        self.balance(table, now, shards, &leases, &mut change)?;
        let others: Vec<bool> = open_shards(shards, &leases)
            .into_iter()
            .filter(|s| !self.held.contains_key(&s.id))
            .map(|s| {
                leases
                    .get(&s.id)
                    .is_some_and(|l| l.owner.is_some() && !self.expired(l, now))
            })
            .collect();
        self.held_by_others = others.iter().filter(|live| **live).count();
        self.orphaned = others.len() - self.held_by_others;
        Ok(change)
    }

    /// Shards with work left that no live worker held at the last tick.
    pub fn orphaned(&self) -> usize {
        self.orphaned
    }

    /// Shards with work left that other live workers held at the last tick.
    pub fn held_by_others(&self) -> usize {
        self.held_by_others
    }

    /// Notes when each other worker's counter last moved.
    fn observe(&mut self, leases: &BTreeMap<String, Lease>, now: Millis) {
        self.seen.retain(|id, _| leases.contains_key(id));
        for l in leases.values() {
            let entry = self
                .seen
                .entry(l.shard_id.clone())
                .or_insert((l.counter, now));
            if entry.0 != l.counter {
                *entry = (l.counter, now);
            }
        }
    }

    fn expired(&self, l: &Lease, now: Millis) -> bool {
        self.seen.get(&l.shard_id).is_some_and(|(c, since)| {
            *c == l.counter && now.saturating_sub(*since) >= self.lease_duration
        })
    }

    fn balance(
        &mut self,
        table: &mut dyn LeaseTable,
        now: Millis,
        shards: &[ShardSpec],
        leases: &BTreeMap<String, Lease>,
        change: &mut Change,
    ) -> Result<(), Error> {
        let open = open_shards(shards, leases);
        if open.is_empty() {
            return Ok(());
        }
        // Live workers: owners whose counters move, those waiting for a
        // handover, and this one.
        let mut load: BTreeMap<&str, usize> = BTreeMap::from([(self.me.as_str(), 0)]);
        for s in &open {
            if let Some(l) = leases.get(&s.id)
                && !self.expired(l, now)
            {
                if let Some(o) = l.owner.as_deref() {
                    *load.entry(o).or_default() += 1;
                }
                // A worker waiting for a handover (unless the request is
                // stale: the lease expired, so asker and owner may be gone).
                if let Some(t) = l.handover_to.as_deref() {
                    load.entry(t).or_default();
                }
            }
        }
        let mine = self
            .held
            .keys()
            .filter(|id| open.iter().any(|s| &s.id == *id))
            .count();
        let target = open.len().div_ceil(load.len());
        if mine >= target {
            return Ok(());
        }
        // Free leases first, in an order of this worker's own, so that
        // workers starting together mostly try different shards.
        let mut free: Vec<Lease> = open
            .iter()
            .filter(|s| !self.held.contains_key(&s.id))
            .filter_map(|s| match leases.get(&s.id) {
                None => Some(Lease {
                    shard_id: s.id.clone(),
                    ..Lease::default()
                }),
                Some(l) if l.owner.is_none() || self.expired(l, now) => Some(l.clone()),
                Some(_) => None,
            })
            .collect();
        free.sort_by_key(|l| self.order(&l.shard_id));
        let mut mine = mine;
        for seen in free {
            if mine >= target {
                return Ok(());
            }
            if table.take(&seen, &self.me)? == Outcome::Done {
                let id = seen.shard_id.clone();
                let lease = Lease {
                    owner: Some(self.me.clone()),
                    counter: seen.counter + 1,
                    handover_to: None,
                    ..seen
                };
                self.held.insert(
                    id.clone(),
                    Held {
                        lease,
                        renewed_at: now,
                    },
                );
                change.gained.push(id);
                mine += 1;
            }
        }
        if mine >= target
            || leases
                .values()
                .any(|l| l.handover_to.as_deref() == Some(&self.me))
        {
            return Ok(());
        }
        // Ask the most-loaded worker for one shard, if it has at least two
        // more (so no shard moves back and forth).
        let Some((&victim, &most)) = load
            .iter()
            .filter(|(w, _)| **w != self.me)
            .max_by_key(|(w, n)| (**n, std::cmp::Reverse(**w)))
        else {
            return Ok(());
        };
        if most < mine + 2 {
            return Ok(());
        }
        let wanted = open
            .iter()
            .filter_map(|s| leases.get(&s.id))
            .filter(|l| l.owner.as_deref() == Some(victim) && l.handover_to.is_none())
            .min_by_key(|l| self.order(&l.shard_id));
        if let Some(l) = wanted {
            table.request_handover(l, &self.me)?;
        }
        Ok(())
    }

    /// This worker's order of shards (a hash of its id and the shard's).
    fn order(&self, shard: &str) -> u64 {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (self.me.as_str(), shard).hash(&mut h);
        h.finish()
    }

    /// Checkpoints a held shard; `Lost` (and the lease is forgotten) if
    /// another worker has it now.
    pub fn checkpoint(
        &mut self,
        table: &mut dyn LeaseTable,
        shard: &str,
        at: &Position,
    ) -> Result<Outcome, Error> {
        let Some(h) = self.held.get_mut(shard) else {
            return Ok(Outcome::Lost);
        };
        let r = table.checkpoint(&mut h.lease, &self.me, at)?;
        if r == Outcome::Lost {
            self.held.remove(shard);
        }
        Ok(r)
    }

    /// The lease as last written by this worker.
    pub fn lease(&self, shard: &str) -> Option<&Lease> {
        self.held.get(shard).map(|h| &h.lease)
    }

    /// Hands an asked-for shard to the worker that asked (call after its
    /// last checkpoint). The shard is no longer held either way.
    pub fn hand_over(&mut self, table: &mut dyn LeaseTable, shard: &str) -> Result<(), Error> {
        let Some(h) = self.held.remove(shard) else {
            return Ok(());
        };
        match h.lease.handover_to.as_deref() {
            Some(to) => table.hand_over(&h.lease, &self.me, to)?,
            None => table.release(&h.lease, &self.me)?,
        };
        Ok(())
    }

    /// Releases every lease (on shutdown), so others take them at once.
    pub fn release_all(&mut self, table: &mut dyn LeaseTable) -> Vec<(String, Error)> {
        let mut failed = Vec::new();
        for (id, h) in std::mem::take(&mut self.held) {
            if let Err(e) = table.release(&h.lease, &self.me) {
                failed.push((id, e));
            }
        }
        failed
    }
}

/// Shards with work left whose parents are done (or gone from the stream).
fn open_shards<'a>(
    shards: &'a [ShardSpec],
    leases: &BTreeMap<String, Lease>,
) -> Vec<&'a ShardSpec> {
    let finished = |id: &str| leases.get(id).is_some_and(|l| l.finished);
    shards
        .iter()
        .filter(|s| !finished(&s.id))
        .filter(|s| {
            s.parents
                .iter()
                .all(|p| finished(p) || !shards.iter().any(|q| &q.id == p))
        })
        .collect()
}
