//! What a scenario will cost before it runs: expected sessions, events and
//! bytes of event files, from the same funnel arithmetic the simulator uses
//! to size its stock. Printed before a large `sim` or `run`.

use pipeline::time::DAY;

use super::Scenario;

/// Mean bytes of one event line as the simulator writes it (measured on the
/// shipped scenarios: 170–200).
const BYTES_PER_EVENT: f64 = 190.0;

/// Expected size of a simulation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Estimate {
    pub sessions: f64,
    pub events: f64,
    pub bytes: f64,
}

impl Estimate {
    /// Above this, commands print the estimate before starting.
    pub const LARGE_EVENTS: f64 = 20e6;

    pub fn is_large(&self) -> bool {
        self.events > Self::LARGE_EVENTS
    }
}

impl std::fmt::Display for Estimate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "about {:.1} M sessions, {:.1} M events, {:.1} GB of event files",
            self.sessions / 1e6,
            self.events / 1e6,
            self.bytes / 1e9
        )
    }
}

impl Scenario {
    /// Expected sessions, events and event-file bytes.
    pub fn estimate(&self) -> Estimate {
        let f = &self.funnel;
        let products: f64 = (0..f.max_products)
            .map(|k| f.browse_rate.powi(k as i32))
            .sum();
        // Per product seen: a view, maybe a click, a cart, a purchase.
        let click = f.click_rate;
        let per_product = 1.0 + click + click * f.cart_rate * (1.0 + f.purchase_rate);
        let per_session = products * per_product;
        let days = self.duration.0 as f64 / DAY as f64;
        let regular = self.traffic.sessions_per_day * days;
        let trend: f64 = self
            .trend
            .iter()
            .map(|t| t.shock / (1.0 - t.branching))
            .sum();
        let (bot_sessions, bot_events) = self.faults.bots.iter().fold((0.0, 0.0), |(s, e), b| {
            let n = f64::from(b.sessions);
            (s + n, e + n * f64::from(b.views_per_session))
        });
        let events = (regular + trend) * per_session + bot_events;
        Estimate {
            sessions: regular + trend + bot_sessions,
            events,
            bytes: events * BYTES_PER_EVENT,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn more_days_more_events() {
        let mut day = Scenario::parse(include_str!("../../../scenarios/steady.toml")).unwrap();
        day.duration.0 = DAY;
        let mut week = day.clone();
        week.duration.0 = 7 * DAY;
        let (a, b) = (day.estimate(), week.estimate());
        assert!(a.events > 0.0);
        assert!((b.events / a.events - 7.0).abs() < 1e-9);
        assert!(!a.is_large());
    }
}
