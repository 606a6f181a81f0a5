//! What the clairvoyant knows: the expected shoppers per hour (for the
//! stock-aware oracle's plan) and the realized decisions per (product,
//! window) (for the per-window oracle records).

use pipeline::Millis;

use super::{Simulator, TREND_STAY};
use crate::oracle::{self, Decision, OracleRecord};
use crate::plan::{Forecast, Shares};
use crate::shop::{ProductIx, Shop};

impl Simulator {
    /// The clairvoyant's forecast: expected shoppers at the purchase
    /// decision per hour, for baseline traffic (from its intensity) and for
    /// each burst (from its pre-drawn arrivals), and each product's share.
    pub fn forecast(&self, shop: &Shop) -> Forecast {
        use pipeline::time::{HOUR, MINUTE};
        let f = &self.sc.funnel;
        let to_decision = f.click_rate * f.cart_rate;
        let per_session: f64 = (0..f.max_products)
            .map(|k| f.browse_rate.powi(k as i32))
            .sum();
        let hours = ((self.end - self.start + HOUR - 1) / HOUR) as usize;
        let baseline = (0..hours)
            .map(|h| {
                let t0 = self.start + h as Millis * HOUR;
                (0..4)
                    .map(|q| self.intensity.rate(t0 + q * 15 * MINUTE + 450_000) * 900_000.0)
                    .sum::<f64>()
                    * per_session
                    * to_decision
            })
            .collect();
        // A session reaches its decision about three pauses after arriving.
        let lag = 3 * f.step_mean.0;
        let views = 1.0 + f.browse_rate * TREND_STAY;
        let bursts = self
            .bursts
            .iter()
            .map(|b| {
                let mut per_hour = vec![0.0; hours];
                for &t in &b.times {
                    let h = ((t + lag - self.start) / HOUR) as usize;
                    if let Some(x) = per_hour.get_mut(h) {
                        *x += views * to_decision;
                    }
                }
                per_hour
            })
            .collect();
        let burst_starts = self
            .bursts
            .iter()
            .map(|b| b.times.iter().copied().min().unwrap_or(Millis::MAX))
            .collect();
        let pop = shop.popularity();
        let shares = (0..shop.len())
            .map(|p| Shares {
                baseline: pop[p],
                bursts: self
                    .bursts
                    .iter()
                    .enumerate()
                    .filter(|(_, b)| b.targets.contains(&(p as ProductIx)))
                    .map(|(i, b)| {
                        let total: f64 = b.targets.iter().map(|&t| pop[t as usize]).sum();
                        (i, pop[p] / total.max(f64::MIN_POSITIVE))
                    })
                    .collect(),
            })
            .collect();
        let restocks = match self.sc.catalog.restock_every {
            Some(every) => (1..)
                .map(|k| self.start + k * every.0)
                .take_while(|&t| t < self.end)
                .collect(),
            None => Vec::new(),
        };
        Forecast {
            start: self.start,
            end: self.end,
            restocks,
            baseline,
            bursts,
            burst_starts,
            reactive: false,
            shares,
            reference_halflife_hours: self.sc.demand.reference_halflife.0 as f64 / HOUR as f64,
        }
    }

    /// Oracle records of the windows closed so far, drained.
    pub fn take_oracle(&mut self, shop: &Shop) -> Vec<OracleRecord> {
        let window = self.sc.oracle_window.0;
        std::mem::take(&mut self.oracle_done)
            .into_iter()
            .map(|(p, start, decisions, stock, price)| {
                oracle::solve(
                    &self.demand,
                    shop.get(p),
                    (start, start + window),
                    &decisions,
                    stock,
                    price,
                )
            })
            .collect()
    }

    pub(super) fn oracle_note(
        &mut self,
        p: ProductIx,
        t: Millis,
        segment: usize,
        reference: f64,
        shop: &Shop,
    ) {
        let size = self.sc.oracle_window.0;
        let start = t.div_euclid(size) * size;
        if self.oracle_open[p as usize].0 != start {
            self.close_oracle(p);
            self.oracle_open[p as usize] = (start, Vec::new(), shop.inventory(p), shop.price(p));
        }
        self.oracle_open[p as usize].1.push(Decision {
            segment: segment as u16,
            reference: reference as f32,
            weight: 1.0,
        });
    }

    pub(super) fn close_oracle(&mut self, p: ProductIx) {
        let (start, decisions, stock, price) = std::mem::replace(
            &mut self.oracle_open[p as usize],
            (Millis::MIN, Vec::new(), 0, 0.0),
        );
        if decisions.is_empty() {
            return;
        }
        self.oracle_done.push((p, start, decisions, stock, price));
    }
}
