//! Baseline session arrivals: a non-homogeneous Poisson process with daily
//! and weekly shape, simulated exactly by thinning (Lewis–Shedler).

use pipeline::Millis;
use pipeline::time::{DAY, HOUR};
use rand::Rng;
use rand_distr::{Distribution, Exp1};

use crate::scenario::TrafficSpec;

#[derive(Clone, Debug)]
pub struct Intensity {
    /// Sessions per millisecond at multiplier 1.
    base: f64,
    /// Hourly multipliers normalized to mean 1.
    hourly: [f64; 24],
    weekend: f64,
    max: f64,
    /// The hour the last candidate fell in, `[from, to)` in ms, and its
    /// rate: most candidates fall in the same hour as the one before, and
    /// the rate's hour and weekday arithmetic sat on the path to the
    /// accept-or-reject branch, which the CPU often guesses wrong.
    hour: (f64, f64, f64),
}

impl Intensity {
    pub fn new(spec: &TrafficSpec) -> Intensity {
        let mean = spec.daily_shape.iter().sum::<f64>() / 24.0;
        let mut hourly = [0.0; 24];
        for (h, v) in hourly.iter_mut().zip(&spec.daily_shape) {
            *h = v / mean;
        }
        let base = spec.sessions_per_day / DAY as f64;
        let peak = hourly.iter().cloned().fold(0.0, f64::max);
        Intensity {
            base,
            hourly,
            weekend: spec.weekend_factor,
            max: base * peak * spec.weekend_factor.max(1.0),
            hour: (0.0, 0.0, 0.0),
        }
    }

    /// The multiplier at time `t`: hour of day × weekday/weekend.
    pub fn shape(&self, t: Millis) -> f64 {
        let hour = (t.rem_euclid(DAY) / HOUR) as usize;
        // 1970-01-01 was a Thursday: Saturday and Sunday are 2 and 3 days later.
        let weekday = (t.div_euclid(DAY) + 3).rem_euclid(7);
        let week = if weekday >= 5 { self.weekend } else { 1.0 };
        self.hourly[hour] * week
    }

    /// Sessions per millisecond at `t`.
    pub fn rate(&self, t: Millis) -> f64 {
        self.base * self.shape(t)
    }

    /// `rate(t as Millis)`, from the hour kept when `t` falls in it.
    fn rate_at(&mut self, t: f64) -> f64 {
        let (from, to, rate) = self.hour;
        if t >= from && t < to {
            return rate;
        }
        let ms = t as Millis;
        let rate = self.rate(ms);
        // From 0 on, `as` rounds down: every `t` in the hour has this rate.
        if ms >= 0 {
            let from = ms - ms.rem_euclid(HOUR);
            self.hour = (from as f64, (from + HOUR) as f64, rate);
        }
        rate
    }

    /// The next arrival strictly after `t` (fractional ms), or `None` past `end`.
    pub fn next_arrival<R: Rng>(&mut self, mut t: f64, end: f64, rng: &mut R) -> Option<f64> {
        if self.max <= 0.0 {
            return None;
        }
        loop {
            let gap: f64 = Exp1.sample(rng);
            t += gap / self.max;
            if t >= end {
                return None;
            }
            if rng.random::<f64>() * self.max < self.rate_at(t) {
                return Some(t);
            }
        }
    }
}
