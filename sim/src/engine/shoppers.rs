//! Shoppers walk the funnel: view → click → cart → purchase decision at the
//! live price, then browse on. Traffic draws come from the traffic stream;
//! each decision draws its two uniforms from the decision stream.

use pipeline::{EventType, Millis};
use rand::Rng;
use rand_distr::{Distribution, Exp1};

use super::{
    Action, BOT_SOURCE, REGULAR_REFERRERS, Segment, Session, Simulator, Stage, TREND_STAY,
};
use crate::demand;
use crate::shop::{ProductIx, Shop};
use crate::wire::Shopper;

impl Simulator {
    pub(super) fn spawn(
        &mut self,
        t: Millis,
        product: ProductIx,
        segment: Segment,
        stage: Stage,
        shop: &mut Shop,
    ) {
        self.next_session += 1;
        let source = match segment {
            Segment::Regular => {
                self.stats.sessions_regular += 1;
                self.regular_referrer.sample(&mut self.rng) as u8
            }
            Segment::Trend(_) => {
                (REGULAR_REFERRERS.len() + self.trend_referrer.sample(&mut self.rng)) as u8
            }
            Segment::Bot => {
                self.stats.sessions_bot += 1;
                BOT_SOURCE
            }
        };
        let user = (self.rng.random::<f64>() < self.sc.funnel.logged_in)
            .then(|| self.rng.random_range(0..50_000));
        let session = Session {
            product,
            segment,
            stage,
            products_left: self.sc.funnel.max_products,
            source,
        };
        let slot = match self.free.pop() {
            Some(s) => {
                self.sessions[s as usize] = session;
                self.shoppers[s as usize].set(self.next_session, user);
                s
            }
            None => {
                self.sessions.push(session);
                self.shoppers.push(Shopper::new(self.next_session, user));
                self.sessions.len() as u32 - 1
            }
        };
        self.step(t, slot, shop);
    }

    pub(super) fn gap(&mut self) -> Millis {
        let e: f64 = Exp1.sample(&mut self.rng);
        (e * self.sc.funnel.step_mean.0 as f64) as Millis + 1
    }

    pub(super) fn step(&mut self, t: Millis, slot: u32, shop: &mut Shop) {
        let s = self.sessions[slot as usize];
        let f = &self.sc.funnel;
        let (click, cart, remove) = (f.click_rate, f.cart_rate, f.remove_rate);
        match s.stage {
            Stage::View => {
                self.emit(t, EventType::View, &s, slot, shop);
                if self.rng.random::<f64>() < click {
                    self.advance(slot, Stage::Click, t);
                } else {
                    self.next_product(t, slot);
                }
            }
            Stage::Click => {
                self.emit(t, EventType::Click, &s, slot, shop);
                if self.rng.random::<f64>() < cart {
                    self.advance(slot, Stage::Cart, t);
                } else {
                    self.next_product(t, slot);
                }
            }
            Stage::Cart => {
                self.emit(t, EventType::AddToCart, &s, slot, shop);
                self.advance(slot, Stage::Decide, t);
            }
            Stage::Decide => {
                let p = s.product;
                let price = shop.price(p);
                let reference = self.reference_price(p, price, t);
                let segment = match s.segment {
                    Segment::Trend(i) => demand::trend_segment(i as usize),
                    _ => demand::REGULAR,
                };
                self.oracle_note(p, t, segment, reference, shop);
                self.stats.decisions += 1;
                let q = self
                    .demand
                    .probability(segment, price, shop.get(p).base_price, reference);
                // Both uniforms are drawn whatever happens (common random numbers).
                let (u_buy, u_remove): (f64, f64) =
                    (self.decide_rng.random(), self.decide_rng.random());
                let outcome = &mut self.outcomes[p as usize];
                outcome.decisions += 1;
                if shop.inventory(p) > 0 {
                    outcome.expected_profit += q * (price - shop.get(p).cost);
                }
                if u_buy < q {
                    self.next_order += 1;
                    match shop.buy(p, format!("o{}", self.next_order), t) {
                        Some(paid) => {
                            let (cost, left) = (shop.get(p).cost, shop.inventory(p));
                            self.outcomes[p as usize].sold(paid, cost, left, t);
                            self.emit(t, EventType::Purchase, &s, slot, shop);
                            self.stats.orders += 1;
                            self.stats.revenue += paid;
                            self.stats.profit += paid - cost;
                        }
                        None => {
                            self.outcomes[p as usize].missed += 1;
                            self.stats.missed_out_of_stock += 1;
                        }
                    }
                } else if u_remove < remove {
                    self.emit(t, EventType::RemoveFromCart, &s, slot, shop);
                }
                self.next_product(t, slot);
            }
            Stage::BotView(left) => {
                let product = self.rng.random_range(0..shop.len() as u32);
                let s = Session { product, ..s };
                self.emit(t, EventType::View, &s, slot, shop);
                if left > 1 {
                    self.sessions[slot as usize].stage = Stage::BotView(left - 1);
                    let next = t + self.rng.random_range(500..3_000);
                    self.schedule(next, Action::Step(slot));
                } else {
                    self.free.push(slot);
                }
            }
        }
    }

    pub(super) fn advance(&mut self, slot: u32, stage: Stage, t: Millis) {
        self.sessions[slot as usize].stage = stage;
        let next = t + self.gap();
        self.schedule(next, Action::Step(slot));
    }

    /// Browse on to another product, or end the session.
    pub(super) fn next_product(&mut self, t: Millis, slot: u32) {
        let s = self.sessions[slot as usize];
        if s.products_left <= 1 || self.rng.random::<f64>() >= self.sc.funnel.browse_rate {
            self.free.push(slot);
            return;
        }
        let product = match s.segment {
            Segment::Trend(i) if self.rng.random::<f64>() < TREND_STAY => {
                let b = &self.bursts[i as usize];
                b.targets[b.pick.sample(&mut self.rng)]
            }
            _ => self.popular.sample(&mut self.rng) as ProductIx,
        };
        let s = &mut self.sessions[slot as usize];
        s.product = product;
        s.products_left -= 1;
        self.advance(slot, Stage::View, t);
    }

    /// The product's reference price: an EWMA of the live price seen at decisions.
    pub(super) fn reference_price(&mut self, p: ProductIx, price: f64, t: Millis) -> f64 {
        let half = self.sc.demand.reference_halflife.0 as f64;
        let (r, last) = &mut self.reference[p as usize];
        let w = 1.0 - 0.5f64.powf((t - *last).max(0) as f64 / half);
        let before = *r;
        *r += w * (price - *r);
        *last = t;
        before
    }
}
