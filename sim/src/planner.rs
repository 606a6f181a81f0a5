//! The stock-aware oracle over a run: per product, the plan of `plan::solve`
//! asked at every window's close for the price of the next window, given
//! the stock left and the live price. It follows the shop reference price
//! from the live prices it is shown and re-plans when the hour changes, or
//! when the stock changes where stock may bind. Used by the workbench's
//! `oracle` policy and for training labels.

use pipeline::time::HOUR;
use pipeline::{CatalogItem, Millis};

use crate::demand::Demand;
use crate::engine::Simulator;
use crate::plan::{self, Forecast, Plan, Product, ReferenceNow};
use crate::shop::{ProductIx, Shop};

pub struct Planner {
    forecast: Forecast,
    demand: Demand,
    products: Vec<Product>,
    /// Per product: the last plan and the (stock, hour, trends known) it was made for.
    cache: Vec<Option<(i64, Millis, usize, Plan)>>,
    /// Per product: the shop reference price (the EWMA shoppers compare
    /// with) as followed from the live prices, and when.
    reference: Vec<Option<(f64, Millis)>>,
}

impl Planner {
    /// A planner for the simulator's run; `bounds` gives each product's
    /// floor and ceiling (the pricer's guardrails).
    pub fn new(
        sim: &Simulator,
        shop: &Shop,
        bounds: impl Fn(&CatalogItem) -> (f64, f64),
    ) -> Planner {
        Planner {
            forecast: sim.forecast(shop),
            demand: sim.demand().clone(),
            products: shop
                .items()
                .iter()
                .map(|item| Product {
                    base: item.base_price,
                    cost: item.cost,
                    bounds: bounds(item),
                })
                .collect(),
            cache: vec![None; shop.len()],
            reference: vec![None; shop.len()],
        }
    }

    /// The same planner learning of each trend only when it starts.
    pub fn reactive(mut self) -> Planner {
        self.forecast.reactive = true;
        self
    }

    /// Follows the shop reference with `price`, the live price since the last call.
    fn observe(&mut self, p: usize, now: Millis, price: f64) -> ReferenceNow {
        let half = self.forecast.reference_halflife_hours * HOUR as f64;
        let r = self.reference[p].get_or_insert((price, now));
        let w = 1.0 - 0.5f64.powf((now - r.1).max(0) as f64 / half.max(1.0));
        r.0 += w * (price - r.0);
        r.1 = now;
        ReferenceNow {
            price: r.0,
            halflife_hours: self.forecast.reference_halflife_hours,
        }
    }

    /// The planned price of product `p` from `now`, with `stock` left and
    /// `live_price` the price since the last call.
    pub fn price(&mut self, p: ProductIx, now: Millis, stock: i64, live_price: f64) -> f64 {
        let ix = p as usize;
        let reference = self.observe(ix, now, live_price);
        let hour = (now - self.forecast.start).div_euclid(HOUR);
        let known = if self.forecast.reactive {
            self.forecast
                .burst_starts
                .iter()
                .filter(|&&t| t <= now)
                .count()
        } else {
            0
        };
        if let Some((s, h, k, plan)) = self.cache[ix]
            && h == hour
            && k == known
            && (s == stock || (plan.shadow_price == 0.0 && stock as f64 >= plan.could_sell))
        {
            return plan.price;
        }
        let segments = self.demand.segments().len();
        let ahead = self.forecast.ahead(ix, now, segments);
        let plan = plan::solve(
            &self.demand,
            self.products[ix],
            &ahead,
            stock as f64,
            self.forecast.horizon(now),
            Some(reference),
        );
        self.cache[ix] = Some((stock, hour, known, plan));
        plan.price
    }
}
