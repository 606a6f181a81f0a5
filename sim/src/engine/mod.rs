//! The simulator: an event-driven loop in simulated time. Sessions arrive
//! (baseline traffic, trend bursts, bots), walk the funnel reading the live
//! price, buy from stock; every event becomes wire bytes on its partition.
//! Same scenario and seed ⇒ the same bytes.

use std::collections::BinaryHeap;

use pipeline::Millis;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use rand_distr::Distribution;

use crate::alias::AliasTable;
use crate::demand::Demand;
use crate::faults::{FaultCounts, Faults};
use crate::hawkes::burst_times;
use crate::oracle::Decision;
use crate::outcome::ProductOutcome;
use crate::scenario::{Scenario, ScenarioError};
use crate::shop::{ProductIx, Shop};
use crate::stats::SimStats;
use crate::traffic::Intensity;
use crate::wire::{Encoder, Shopper, Source};
use outbox::Outbox;

mod emit;
mod forecast;
mod outbox;
mod shoppers;

/// How much simulated time a long run goes between delivery rounds: a
/// round looks at every partition's queue, and rounds every second
/// (most of them finding some partitions with nothing due) were a third
/// of the simulator's branch mispredictions. Records wait at most this
/// long in memory (a minute of the busiest scenario is a few MB); what
/// each partition receives, and in what order, is the same.
const DELIVERY_ROUND: Millis = 60_000;

/// Where delivered records go: one call per record, in delivery order per
/// partition (calls for different partitions interleave in no set order).
pub trait RecordSink {
    fn record(&mut self, partition: u32, delivered_at: Millis, bytes: &[u8]);
}

impl<F: FnMut(u32, Millis, &[u8])> RecordSink for F {
    fn record(&mut self, partition: u32, delivered_at: Millis, bytes: &[u8]) {
        self(partition, delivered_at, bytes)
    }
}

/// A scheduled action, ordered by time then scheduling order: both in one
/// `u128` key (one comparison where a tuple takes two and a branch), and
/// reversed, so the heap's greatest is the earliest.
#[derive(Clone, Copy, Debug)]
struct Scheduled {
    /// The time with its sign bit flipped (so it orders as unsigned) over the
    /// sequence number. Unique: the action need never be compared.
    key: u128,
    action: Action,
}

impl Scheduled {
    fn new(time: Millis, seq: u64, action: Action) -> Scheduled {
        let time = (time as u64) ^ (1 << 63);
        Scheduled {
            key: (u128::from(time) << 64) | u128::from(seq),
            action,
        }
    }

    fn time(&self) -> Millis {
        (((self.key >> 64) as u64) ^ (1 << 63)) as Millis
    }

    /// Later than anything scheduled (its time is `Millis::MAX`).
    const NEVER: Scheduled = Scheduled {
        key: u128::MAX,
        action: Action::Baseline,
    };
}

impl Ord for Scheduled {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        other.key.cmp(&self.key)
    }
}

impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl Eq for Scheduled {}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Action {
    Baseline,
    Burst(u16),
    Bot(u16),
    Step(u32),
    Restock,
    SaleStart(u16),
    SaleEnd(u16),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Segment {
    Regular,
    Trend(u16),
    Bot,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    View,
    Click,
    Cart,
    Decide,
    BotView(u32),
}

/// A session's state in the funnel; its ids are its slot's `Shopper`.
#[derive(Clone, Copy, Debug)]
struct Session {
    product: ProductIx,
    segment: Segment,
    stage: Stage,
    products_left: u32,
    /// Its referrer and campaign, in `Simulator::sources`.
    source: u8,
}

/// A trend burst's pre-drawn arrivals and who it sends shoppers to.
struct Burst {
    times: Vec<Millis>,
    next: usize,
    targets: Vec<ProductIx>,
    pick: AliasTable,
}

struct Bot {
    times: Vec<Millis>,
    next: usize,
    views: u32,
}

const REGULAR_REFERRERS: [(&str, f64); 7] = [
    ("search", 0.38),
    ("direct", 0.27),
    ("email", 0.10),
    ("instagram", 0.10),
    ("tiktok", 0.08),
    ("youtube", 0.04),
    ("facebook", 0.03),
];
const TREND_REFERRERS: [(&str, f64); 4] = [
    ("instagram", 0.55),
    ("tiktok", 0.30),
    ("youtube", 0.05),
    ("direct", 0.10),
];
/// Where a session came from, in `Simulator::sources`: the regular
/// referrers (an email brings the newsletter campaign), then the trend
/// referrers; a bot comes direct.
fn sources() -> Vec<Source> {
    let regular = REGULAR_REFERRERS
        .iter()
        .map(|&(r, _)| Source::new(r, (r == "email").then_some("newsletter")));
    let trend = TREND_REFERRERS.iter().map(|&(r, _)| Source::new(r, None));
    regular.chain(trend).collect()
}

/// A bot's source: "direct" among the regular referrers.
const BOT_SOURCE: u8 = 1;

/// A trend shopper's next product is another target with this probability.
const TREND_STAY: f64 = 0.7;

pub struct Simulator {
    sc: Scenario,
    /// Traffic and browsing: arrivals, products, funnel steps. Never drawn
    /// from by anything a price changes, so every policy sees the same shoppers.
    rng: SmallRng,
    /// Purchase decisions: two uniforms per decision, always drawn
    /// (common random numbers: a policy changes outcomes, not the dice).
    decide_rng: SmallRng,
    start: Millis,
    end: Millis,
    intensity: Intensity,
    demand: Demand,
    queue: BinaryHeap<Scheduled>,
    /// The queue's top is the action being run: the next action scheduled
    /// takes its place (one sift down where a pop and a push take two).
    top_done: bool,
    /// The next baseline arrival (there is always one, until the end), out
    /// of the heap: about half of all actions, each one comparison here
    /// instead of a sift through the heap. Ordered with the heap's actions
    /// by the same key, so the order of actions is the same.
    baseline: Scheduled,
    seq: u64,
    sessions: Vec<Session>,
    /// Per session slot, its session's ids and their text.
    shoppers: Vec<Shopper>,
    free: Vec<u32>,
    baseline_next: f64,
    bursts: Vec<Burst>,
    bots: Vec<Bot>,
    sale_targets: Vec<Vec<ProductIx>>,
    sale_saved: Vec<Vec<f64>>,
    popular: AliasTable,
    regular_referrer: AliasTable,
    trend_referrer: AliasTable,
    reference: Vec<(f64, Millis)>,
    json_ids: Vec<String>,
    sources: Vec<Source>,
    partition_of: Vec<u32>,
    encoder: Encoder,
    /// Per partition, records awaiting delivery.
    pending: Vec<Outbox>,
    faults: Faults,
    next_event: u64,
    next_session: u64,
    next_order: u64,
    clock: Millis,
    stats: SimStats,
    oracle_open: Vec<(Millis, Vec<Decision>, i64, f64)>,
    /// Closed windows, solved when taken (solving is not part of generation).
    oracle_done: Vec<(ProductIx, Millis, Vec<Decision>, i64, f64)>,
    /// Per product, the last live price seen (its bits) and it in cents.
    cents: Vec<(u64, u64)>,
    delivered_until: Millis,
    daily_views: Vec<Vec<u64>>,
    outcomes: Vec<ProductOutcome>,
}

fn alias(weights: &[f64]) -> AliasTable {
    AliasTable::new(weights)
        .unwrap_or_else(|| AliasTable::new(&[1.0]).expect("a single weight is valid"))
}

fn err(sc_key: String, message: String) -> ScenarioError {
    ScenarioError {
        file: Default::default(),
        key: sc_key,
        message,
    }
}

/// Seed of a named random stream derived from the scenario's seed.
fn stream_seed(seed: u64, name: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64_with_seed(name, seed)
}

/// Expected units a day from baseline traffic, for sizing starting stock.
fn expected_units_per_day(sc: &Scenario) -> f64 {
    let f = &sc.funnel;
    let products_per_session: f64 = (0..f.max_products)
        .map(|k| f.browse_rate.powi(k as i32))
        .sum();
    sc.traffic.sessions_per_day
        * products_per_session
        * f.click_rate
        * f.cart_rate
        * f.purchase_rate
}

impl Simulator {
    /// Builds the simulator and its shop (generated, or `shop` when given, e.g. loaded from a file).
    pub fn new(sc: Scenario, shop: Option<Shop>) -> Result<(Simulator, Shop), ScenarioError> {
        let mut rng = SmallRng::seed_from_u64(sc.seed);
        let mut shop = match shop {
            Some(s) => s,
            None => Shop::generate(&sc.catalog, expected_units_per_day(&sc), &mut rng),
        };
        if shop.is_empty() {
            return Err(err("catalog".into(), "the catalog has no products".into()));
        }
        let start = sc.start.0;
        let end = start + sc.duration.0;
        shop.set_next_restock(sc.catalog.restock_every.map_or(0, |every| start + every.0));
        let targets = |key: String,
                       product: &Option<String>,
                       brand: &Option<String>|
         -> Result<Vec<ProductIx>, ScenarioError> {
            let found: Vec<ProductIx> = match (product, brand) {
                (Some(p), _) => shop.ix(p).into_iter().collect(),
                (None, Some(b)) => (0..shop.len() as u32)
                    .filter(|&i| *shop.get(i).brand == **b)
                    .collect(),
                (None, None) => (0..shop.len() as u32).collect(),
            };
            if found.is_empty() {
                let what = product.as_ref().map_or_else(
                    || format!("no product of brand {:?}", brand.as_deref().unwrap_or("")),
                    |p| {
                        format!(
                            "unknown product {p:?} (generated ids are sku-0000 to sku-{:04})",
                            shop.len() - 1
                        )
                    },
                );
                return Err(err(key, what));
            }
            Ok(found)
        };
        let mut bursts = Vec::new();
        let mut stocked = Vec::new();
        for (i, t) in sc.trend.iter().enumerate() {
            let ids = targets(format!("trend[{i}].product"), &t.product, &t.brand)?;
            let weights: Vec<f64> = ids.iter().map(|&p| shop.popularity()[p as usize]).collect();
            let times = burst_times(t, (start + t.at.0) as f64, end as f64, &mut rng)
                .into_iter()
                .map(|x| x as Millis)
                .collect();
            if let Some(stock) = t.stock {
                stocked.extend(ids.iter().map(|&p| (p, stock)));
            }
            bursts.push(Burst {
                times,
                next: 0,
                pick: alias(&weights),
                targets: ids,
            });
        }
        let mut sale_targets = Vec::new();
        for (i, s) in sc.sale.iter().enumerate() {
            sale_targets.push(targets(format!("sale[{i}].product"), &s.product, &s.brand)?);
        }
        for (p, stock) in stocked {
            shop.set_stock(p, stock);
        }
        let bots = sc
            .faults
            .bots
            .iter()
            .map(|b| {
                let mut times: Vec<Millis> = (0..b.sessions)
                    .map(|_| start + b.at.0 + (rng.random::<f64>() * b.length.0 as f64) as Millis)
                    .collect();
                times.sort_unstable();
                Bot {
                    times,
                    next: 0,
                    views: b.views_per_session,
                }
            })
            .collect();
        let json_ids = shop
            .items()
            .iter()
            .map(|i| {
                let quoted = serde_json::to_string(&i.product_id).unwrap_or_default();
                quoted[1..quoted.len().saturating_sub(1).max(1)].to_string()
            })
            .collect();
        let partition_of = shop
            .items()
            .iter()
            .map(|i| {
                (xxhash_rust::xxh3::xxh3_64(i.product_id.as_bytes()) % u64::from(sc.partitions))
                    as u32
            })
            .collect();
        let weights = |w: &[(&str, f64)]| alias(&w.iter().map(|x| x.1).collect::<Vec<_>>());
        let n = shop.len();
        let mut sim = Simulator {
            intensity: Intensity::new(&sc.traffic),
            demand: crate::demand::from_scenario(&sc),
            rng,
            decide_rng: SmallRng::seed_from_u64(stream_seed(sc.seed, b"decisions")),
            start,
            end,
            queue: BinaryHeap::new(),
            top_done: false,
            baseline: Scheduled::NEVER,
            seq: 0,
            sessions: Vec::new(),
            shoppers: Vec::new(),
            free: Vec::new(),
            baseline_next: start as f64,
            bursts,
            bots,
            sale_saved: vec![Vec::new(); sc.sale.len()],
            sale_targets,
            popular: alias(shop.popularity()),
            regular_referrer: weights(&REGULAR_REFERRERS),
            trend_referrer: weights(&TREND_REFERRERS),
            reference: shop
                .items()
                .iter()
                .map(|i| (i.current_price(), start))
                .collect(),
            json_ids,
            sources: sources(),
            partition_of,
            encoder: Encoder::new(),
            pending: (0..sc.partitions).map(|_| Outbox::default()).collect(),
            faults: Faults::new(&sc.faults),
            next_event: 0,
            next_session: 0,
            next_order: 0,
            clock: start,
            stats: SimStats::new(sc.trend.len()),
            oracle_open: vec![(Millis::MIN, Vec::new(), 0, 0.0); n],
            oracle_done: Vec::new(),
            cents: shop
                .items()
                .iter()
                .map(|i| {
                    (
                        i.current_price().to_bits(),
                        (i.current_price() * 100.0).round() as u64,
                    )
                })
                .collect(),
            delivered_until: start,
            daily_views: vec![Vec::new(); n],
            outcomes: vec![ProductOutcome::default(); n],
            sc,
        };
        sim.schedule_initial();
        Ok((sim, shop))
    }

    fn schedule(&mut self, time: Millis, action: Action) {
        self.seq += 1;
        let next = Scheduled::new(time, self.seq, action);
        if action == Action::Baseline {
            self.baseline = next;
        } else if std::mem::take(&mut self.top_done)
            && let Some(mut top) = self.queue.peek_mut()
        {
            *top = next;
        } else {
            self.queue.push(next);
        }
    }

    fn schedule_initial(&mut self) {
        self.next_baseline();
        for i in 0..self.bursts.len() {
            if let Some(&t) = self.bursts[i].times.first() {
                self.schedule(t, Action::Burst(i as u16));
            }
        }
        for i in 0..self.bots.len() {
            if let Some(&t) = self.bots[i].times.first() {
                self.schedule(t, Action::Bot(i as u16));
            }
        }
        if let Some(every) = self.sc.catalog.restock_every {
            self.schedule(self.start + every.0, Action::Restock);
        }
        for (i, s) in self.sc.sale.clone().iter().enumerate() {
            self.schedule(self.start + s.at.0, Action::SaleStart(i as u16));
            self.schedule(self.start + s.at.0 + s.length.0, Action::SaleEnd(i as u16));
        }
    }

    fn next_baseline(&mut self) {
        if let Some(t) =
            self.intensity
                .next_arrival(self.baseline_next, self.end as f64, &mut self.rng)
        {
            self.baseline_next = t;
            self.schedule(t as Millis, Action::Baseline);
        }
    }

    pub fn start(&self) -> Millis {
        self.start
    }

    pub fn end(&self) -> Millis {
        self.end
    }

    /// Simulated time reached so far.
    pub fn clock(&self) -> Millis {
        self.clock
    }

    pub fn scenario(&self) -> &Scenario {
        &self.sc
    }

    pub fn stats(&self) -> &SimStats {
        &self.stats
    }

    pub fn fault_counts(&self) -> &FaultCounts {
        self.faults.counts()
    }

    /// What each product sold, missed and when it sold out (catalog order).
    pub fn outcomes(&self) -> &[ProductOutcome] {
        &self.outcomes
    }

    /// The products trend `i` sends its shoppers to.
    pub fn trend_targets(&self, i: usize) -> &[ProductIx] {
        self.bursts.get(i).map_or(&[], |b| &b.targets)
    }

    pub fn demand(&self) -> &Demand {
        &self.demand
    }

    /// Views of a product per UTC day since the start (day 0 = the start's day).
    pub fn daily_views(&self, p: ProductIx) -> &[u64] {
        &self.daily_views[p as usize]
    }

    /// Runs every action before `until` (capped at the scenario's end) and
    /// delivers the records due before it.
    pub fn run_until<S: RecordSink + ?Sized>(
        &mut self,
        until: Millis,
        shop: &mut Shop,
        sink: &mut S,
    ) {
        let until = until.min(self.end);
        loop {
            let queued = self.queue.peek().copied().unwrap_or(Scheduled::NEVER);
            let next = if queued.key < self.baseline.key {
                queued
            } else {
                self.baseline
            };
            let time = next.time();
            if time >= until {
                break;
            }
            self.clock = time;
            if next.key == self.baseline.key {
                self.baseline = Scheduled::NEVER;
                self.act(time, Action::Baseline, shop);
            } else {
                self.top_done = true;
                self.act(time, next.action, shop);
                if std::mem::take(&mut self.top_done) {
                    self.queue.pop();
                }
            }
            // Records due before now can be delivered: anything new is due later.
            if self.clock >= self.delivered_until + DELIVERY_ROUND {
                self.delivered_until = self.clock;
                self.deliver(Some(self.clock), sink);
            }
        }
        self.clock = self.clock.max(until);
        self.deliver(Some(until), sink);
    }

    /// Runs to the end and delivers everything, closing the oracle's windows.
    pub fn finish<S: RecordSink + ?Sized>(&mut self, shop: &mut Shop, sink: &mut S) {
        self.run_until(self.end, shop, sink);
        self.deliver(None, sink);
        for p in 0..self.oracle_open.len() as u32 {
            self.close_oracle(p);
        }
    }

    pub fn is_done(&self) -> bool {
        self.clock >= self.end
    }

    fn deliver<S: RecordSink + ?Sized>(&mut self, before: Option<Millis>, sink: &mut S) {
        for (p, outbox) in self.pending.iter_mut().enumerate() {
            outbox.deliver(before, |at, bytes| sink.record(p as u32, at, bytes));
        }
    }

    fn act(&mut self, t: Millis, action: Action, shop: &mut Shop) {
        match action {
            Action::Baseline => {
                let product = self.popular.sample(&mut self.rng) as ProductIx;
                self.spawn(t, product, Segment::Regular, Stage::View, shop);
                self.next_baseline();
            }
            Action::Burst(i) => {
                let b = &mut self.bursts[i as usize];
                let product = b.targets[b.pick.sample(&mut self.rng)];
                b.next += 1;
                if let Some(&next) = b.times.get(b.next) {
                    self.schedule(next, Action::Burst(i));
                }
                self.stats.sessions_trend[i as usize] += 1;
                self.spawn(t, product, Segment::Trend(i), Stage::View, shop);
            }
            Action::Bot(i) => {
                let b = &mut self.bots[i as usize];
                let views = b.views;
                b.next += 1;
                if let Some(&next) = b.times.get(b.next) {
                    self.schedule(next, Action::Bot(i));
                }
                let product = self.rng.random_range(0..shop.len() as u32);
                self.spawn(t, product, Segment::Bot, Stage::BotView(views), shop);
            }
            Action::Step(slot) => self.step(t, slot, shop),
            Action::Restock => {
                shop.restock();
                self.stats.restocks += 1;
                if let Some(every) = self.sc.catalog.restock_every {
                    self.schedule(t + every.0, Action::Restock);
                    shop.set_next_restock(t + every.0);
                }
            }
            Action::SaleStart(i) => {
                let d = self.sc.sale[i as usize].discount;
                let mut saved = Vec::new();
                for &p in &self.sale_targets[i as usize] {
                    saved.push(shop.price(p));
                    let base = shop.get(p).base_price;
                    shop.set_price(p, (base * (1.0 - d) * 100.0).round() / 100.0);
                }
                self.sale_saved[i as usize] = saved;
            }
            Action::SaleEnd(i) => {
                let saved = std::mem::take(&mut self.sale_saved[i as usize]);
                for (&p, price) in self.sale_targets[i as usize].iter().zip(saved) {
                    shop.set_price(p, price);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bot_comes_direct_without_a_campaign() {
        let bot = &sources()[usize::from(BOT_SOURCE)];
        assert_eq!(
            (bot.referrer.as_str(), bot.campaign.as_deref()),
            ("direct", None)
        );
    }
}
