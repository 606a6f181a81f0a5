//! Trend bursts as a Hawkes (self-exciting) process, simulated exactly by its
//! cluster (branching) construction: an exogenous shock brings Poisson(shock)
//! immigrant sessions; every session brings Poisson(branching) more, each
//! delayed by a draw from the decay kernel. The expected cluster size per
//! immigrant is 1 / (1 − branching). A share of offspring can take a slow
//! exponential delay instead (a mixture kernel), so interest lingers for days.

use rand::Rng;
use rand_distr::{Distribution, Exp1, Poisson};

use crate::scenario::{Kernel, TrendSpec};

/// A draw from the offspring delay kernel, in ms.
pub fn kernel_delay<R: Rng>(kernel: Kernel, scale: f64, tail: f64, rng: &mut R) -> f64 {
    match kernel {
        Kernel::Exponential => {
            let e: f64 = Exp1.sample(rng);
            e * scale
        }
        // Lomax: P(T > t) = (1 + t/scale)^-tail, by inversion.
        Kernel::PowerLaw => scale * ((1.0 - rng.random::<f64>()).powf(-1.0 / tail) - 1.0),
    }
}

/// Poisson counts of one mean, the distribution built once: building it
/// takes an `exp`, which was taken for every offspring draw.
struct Counts(Option<Poisson<f64>>);

impl Counts {
    fn new(mean: f64) -> Counts {
        Counts((mean > 0.0).then(|| Poisson::new(mean).ok()).flatten())
    }

    fn sample<R: Rng>(&self, rng: &mut R) -> u64 {
        self.0.as_ref().map_or(0, |p| p.sample(rng) as u64)
    }
}

/// Arrival times (ms, sorted) of all sessions of one burst that fall before `end`.
pub fn burst_times<R: Rng>(spec: &TrendSpec, t0: f64, end: f64, rng: &mut R) -> Vec<f64> {
    let mut times = Vec::new();
    let offspring = Counts::new(spec.branching);
    let mut pending: Vec<f64> = (0..Counts::new(spec.shock).sample(rng))
        .map(|_| {
            let e: f64 = Exp1.sample(rng);
            t0 + e * spec.shock_spread.0 as f64
        })
        .collect();
    // Children of sessions past the end would also be past it.
    while let Some(t) = pending.pop() {
        if t >= end {
            continue;
        }
        times.push(t);
        for _ in 0..offspring.sample(rng) {
            // The slow component: interest that lingers for days.
            let delay = if spec.slow_share > 0.0 && rng.random::<f64>() < spec.slow_share {
                let e: f64 = Exp1.sample(rng);
                e * spec.slow_decay.0 as f64
            } else {
                kernel_delay(spec.kernel, spec.decay.0 as f64, spec.tail, rng)
            };
            pending.push(t + delay);
        }
    }
    // Equal times are equal bits: an unstable sort gives the same list.
    times.sort_unstable_by(f64::total_cmp);
    times
}

/// Size of the whole cluster one immigrant starts (itself included), without
/// a time limit; `cap` bounds the work.
pub fn cluster_size<R: Rng>(branching: f64, cap: u64, rng: &mut R) -> u64 {
    let offspring = Counts::new(branching);
    let (mut size, mut open) = (0u64, 1u64);
    while open > 0 && size < cap {
        open -= 1;
        size += 1;
        open += offspring.sample(rng);
    }
    size
}
