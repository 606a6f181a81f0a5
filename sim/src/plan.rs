//! The stock-aware oracle's forecast: the expected shoppers at the
//! purchase decision per product, hour and segment, from which
//! `pipeline::plan::solve` plans each product's hourly prices until its next
//! restock (or the run's end). Re-solved whenever stock or the hour changes,
//! so the realized policy reacts to what actually sold.
//!
//! It knows the expected traffic (the intensity and every burst's pre-drawn
//! arrivals), never a shopper's dice. Shop-anchored shoppers are planned at
//! their steady state (the reference has caught up with the price), so for
//! an ordinary product with plenty of stock the plan is the segment's
//! profit-optimal static price.

use pipeline::Millis;
use pipeline::time::HOUR;

use crate::demand;

pub use pipeline::plan::{Plan, Product, ReferenceNow, solve};

/// Expected shoppers at the purchase decision, per hour of the run, per segment.
#[derive(Clone, Debug)]
pub struct Forecast {
    pub start: Millis,
    pub end: Millis,
    /// Next restocks after the start (sorted); stock is planned until the next one.
    pub restocks: Vec<Millis>,
    /// Baseline decisions per hour for a product of popularity 1.
    pub baseline: Vec<f64>,
    /// Per burst: decisions per hour for a product taking all of the burst.
    pub bursts: Vec<Vec<f64>>,
    /// Per burst: its first arrival.
    pub burst_starts: Vec<Millis>,
    /// Reactive: a burst is known only once it has started (the upper bound
    /// for a policy that cannot foresee a sighting, only see it).
    pub reactive: bool,
    /// Per product: its share of baseline decisions and of each burst.
    pub shares: Vec<Shares>,
    /// Half-life of the shop reference price (the EWMA shoppers compare with), in hours.
    pub reference_halflife_hours: f64,
}

#[derive(Clone, Debug, Default)]
pub struct Shares {
    pub baseline: f64,
    /// (burst index, share)
    pub bursts: Vec<(usize, f64)>,
}

impl Forecast {
    fn hour_of(&self, t: Millis) -> usize {
        ((t - self.start).max(0) / HOUR) as usize
    }

    /// End of the stock horizon seen from `now`.
    pub fn horizon(&self, now: Millis) -> Millis {
        self.restocks
            .iter()
            .copied()
            .find(|&r| r > now)
            .unwrap_or(self.end)
            .min(self.end)
    }

    /// Expected decisions of product `p` per segment in hour `h` (whole hour).
    fn hour_weights(&self, p: usize, h: usize, now: Millis, segments: usize, out: &mut [f64]) {
        out[..segments].fill(0.0);
        let s = &self.shares[p];
        out[demand::REGULAR] = self.baseline.get(h).copied().unwrap_or(0.0) * s.baseline;
        for &(b, share) in &s.bursts {
            if self.reactive && self.burst_starts.get(b).is_none_or(|&t| t > now) {
                continue;
            }
            out[demand::trend_segment(b)] += self.bursts[b].get(h).copied().unwrap_or(0.0) * share;
        }
    }

    /// Expected decisions of product `p` per hour from `now` to the horizon
    /// (the first hour scaled to what is left of it), per segment.
    pub fn ahead(&self, p: usize, now: Millis, segments: usize) -> Vec<Vec<f64>> {
        let horizon = self.horizon(now);
        let (first, last) = (self.hour_of(now), self.hour_of(horizon - 1));
        let mut out = Vec::with_capacity(last + 1 - first.min(last + 1));
        for h in first..=last {
            let mut w = vec![0.0; segments];
            self.hour_weights(p, h, now, segments, &mut w);
            let lo = (self.start + h as Millis * HOUR).max(now);
            let hi = (self.start + (h as Millis + 1) * HOUR).min(horizon);
            let part = (hi - lo).max(0) as f64 / HOUR as f64;
            w.iter_mut().for_each(|x| *x *= part);
            out.push(w);
        }
        out
    }
}
