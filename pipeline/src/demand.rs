//! The purchase decision: the probability that a shopper with a full cart
//! buys at a price. The simulator's shoppers decide by it, and the planners
//! (the simulator's clairvoyant oracle, the `plan` pricing policy) price by it. Each segment (regular shoppers, and the fans of
//! each trend) has its own price response and its own reference price.

use serde::{Deserialize, Deserializer};

/// The price a segment compares the live price with.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Reference {
    /// The shop's own recent price of the product (an EWMA): returning
    /// shoppers who saw earlier prices. Written `"shop"`.
    Shop,
    /// The list (base) price: shoppers new to the shop. Written `"list"`.
    List,
    /// A multiple of the list price, e.g. a resale level. Written as the number.
    Ratio(f64),
}

impl<'de> Deserialize<'de> for Reference {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            Name(String),
            Ratio(f64),
        }
        match Repr::deserialize(d).map_err(|_| {
            serde::de::Error::custom("write \"shop\", \"list\" or a multiple of list like 2.0")
        })? {
            Repr::Name(n) if n == "shop" => Ok(Reference::Shop),
            Repr::Name(n) if n == "list" => Ok(Reference::List),
            Repr::Ratio(r) if r.is_finite() && r > 0.0 && r <= 20.0 => Ok(Reference::Ratio(r)),
            Repr::Name(n) => Err(serde::de::Error::custom(format!(
                "unknown reference {n:?}: write \"shop\", \"list\" or a multiple of list like 2.0"
            ))),
            Repr::Ratio(r) => Err(serde::de::Error::custom(format!(
                "reference ratio must be in (0, 20], got {r}"
            ))),
        }
    }
}
/// How a segment's purchase probability responds to price / list price.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Curve {
    /// rate · x^elasticity.
    Elasticity(f64),
    /// Log-price logit with the same rate and point elasticity at list.
    Logit(f64),
    /// rate · S(x) / S(1), S the survival function of a lognormal
    /// willingness to pay (multiples of list) with this median and sigma.
    Wtp { median: f64, sigma: f64 },
}

/// One segment's demand: its curve, what it compares the price with, and
/// how much a price above that reference hurts.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SegmentDemand {
    pub curve: Curve,
    pub reference: Reference,
    /// Extra elasticity against the reference when above it; gains count half.
    pub sensitivity: f64,
}

/// Segment 0 is the regular shoppers, segment `1 + i` the fans of trend `i`.
#[derive(Clone, Debug)]
pub struct Demand {
    /// Purchase probability at the list price (no reference effect).
    base_rate: f64,
    max_prob: f64,
    segments: Vec<SegmentDemand>,
}

pub const REGULAR: usize = 0;

/// Segment index of trend `i`'s fans.
pub fn trend_segment(i: usize) -> usize {
    1 + i
}

impl Demand {
    /// Segments in order: the regular shoppers first, then the fans of each trend.
    pub fn new(base_rate: f64, max_prob: f64, segments: Vec<SegmentDemand>) -> Demand {
        Demand {
            base_rate,
            max_prob,
            segments,
        }
    }

    pub fn segments(&self) -> &[SegmentDemand] {
        &self.segments
    }

    /// The price a segment compares with: the shop's recent price, the list
    /// price, or a multiple of it (a resale level).
    pub fn reference(&self, segment: usize, base: f64, shop_reference: f64) -> f64 {
        match self.segments[segment].reference {
            Reference::Shop => shop_reference,
            Reference::List => base,
            Reference::Ratio(r) => base * r,
        }
    }

    /// P(purchase | cart) at `price` for a shopper of `segment`, for a
    /// product with list price `base` and shop reference `shop_reference`.
    pub fn probability(&self, segment: usize, price: f64, base: f64, shop_reference: f64) -> f64 {
        let s = &self.segments[segment];
        let reference = self.reference(segment, base, shop_reference);
        (self.curve(s.curve, price / base) * reference_factor(s.sensitivity, price, reference))
            .clamp(0.0, self.max_prob)
    }

    /// Σ weight × P(buy) at `price` over several shop-reference states
    /// (`(weight, shop_reference)` pairs): the curve is evaluated once, the
    /// reference factor once per state (or once, for a segment that does not
    /// look at the shop's price).
    pub fn expected_buyers(
        &self,
        segment: usize,
        price: f64,
        base: f64,
        states: &[(f64, f64)],
    ) -> f64 {
        let s = &self.segments[segment];
        let curve = self.curve(s.curve, price / base);
        let total: f64 = states.iter().map(|st| st.0).sum();
        let at = |reference: f64| {
            (curve * reference_factor(s.sensitivity, price, reference)).clamp(0.0, self.max_prob)
        };
        if s.reference != Reference::Shop || s.sensitivity == 0.0 {
            return total * at(self.reference(segment, base, base));
        }
        states.iter().map(|&(w, r)| w * at(r)).sum()
    }

    fn curve(&self, curve: Curve, x: f64) -> f64 {
        match curve {
            Curve::Elasticity(e) => self.base_rate * x.powf(e),
            Curve::Logit(e) => {
                let q = self.base_rate.clamp(1e-6, 1.0 - 1e-6);
                let a = (q / (1.0 - q)).ln();
                let b = e / (1.0 - q);
                1.0 / (1.0 + (-(a + b * x.ln())).exp())
            }
            Curve::Wtp { median, sigma } => {
                let survival =
                    |x: f64| 0.5 * libm::erfc((x.ln() - median.ln()) / (sigma * 2f64.sqrt()));
                self.base_rate * survival(x) / survival(1.0).max(1e-12)
            }
        }
    }
}

/// Loss aversion: a price above the reference hurts fully, below it helps half as much.
fn reference_factor(sensitivity: f64, price: f64, reference: f64) -> f64 {
    if sensitivity == 0.0 || reference <= 0.0 {
        return 1.0;
    }
    let r = price / reference;
    let s = if r > 1.0 {
        sensitivity
    } else {
        sensitivity / 2.0
    };
    // The default exponents (1 for losses, ½ for gains) without a pow: the
    // oracle evaluates this millions of times.
    if s == 1.0 {
        1.0 / r
    } else if s == 0.5 {
        1.0 / r.sqrt()
    } else {
        r.powf(-s)
    }
}
