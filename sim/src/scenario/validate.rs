//! Scenario validation: every value in range, every target known; errors
//! are (dotted key, message), turned into a `ScenarioError` naming the file.

use pipeline::time::DAY;

use super::{Dur, Kernel, Scenario};

impl Scenario {
    pub(super) fn validate(&self) -> Result<(), (String, String)> {
        let bad = |key: &str, msg: String| Err((key.to_string(), msg));
        let in_range = |key: &str, v: f64, lo: f64, hi: f64| {
            if v.is_finite() && v >= lo && v <= hi {
                Ok(())
            } else {
                bad(key, format!("must be between {lo} and {hi}, got {v}"))
            }
        };
        self.check_duration()?;
        if !(1..=1024).contains(&self.partitions) {
            return bad(
                "partitions",
                format!("must be 1 to 1024, got {}", self.partitions),
            );
        }
        if self.out_of_orderness.0 > 60_000 {
            return bad("out_of_orderness", "must be at most 60s".into());
        }
        if !(1_000..=3_600_000).contains(&self.oracle_window.0) {
            return bad("oracle_window", "must be between 1s and 1h".into());
        }
        let c = &self.catalog;
        if c.file.is_none() {
            if !(1..=100_000).contains(&c.products) {
                return bad(
                    "catalog.products",
                    format!("must be 1 to 100000, got {}", c.products),
                );
            }
            if c.brands.is_empty() {
                return bad("catalog.brands", "must name at least one brand".into());
            }
            if c.categories.is_empty() {
                return bad(
                    "catalog.categories",
                    "must name at least one category".into(),
                );
            }
        }
        in_range("catalog.zipf_exponent", c.zipf_exponent, 0.0, 5.0)?;
        let [lo, hi] = c.price_range;
        if !(lo > 0.0 && hi >= lo && hi < 1e6) {
            return bad(
                "catalog.price_range",
                format!("must be [low, high] with 0 < low <= high, got [{lo}, {hi}]"),
            );
        }
        let [clo, chi] = c.cost_ratio;
        if !(clo > 0.0 && chi >= clo && chi < 1.0) {
            return bad(
                "catalog.cost_ratio",
                format!("must be [low, high] within (0, 1), got [{clo}, {chi}]"),
            );
        }
        in_range("catalog.map_ratio", c.map_ratio, 0.0, 1.0)?;
        in_range("catalog.min_ratio", c.min_ratio, 0.0, 1.0)?;
        in_range("catalog.max_ratio", c.max_ratio, 1.0, 10.0)?;
        in_range("catalog.cover_days", c.cover_days, 0.0, 365.0)?;
        let [ilo, ihi] = c.inventory_range;
        if !(0 <= ilo && ilo <= ihi) {
            return bad(
                "catalog.inventory_range",
                format!("must be [low, high] with 0 <= low <= high, got [{ilo}, {ihi}]"),
            );
        }
        if c.restock_every.is_some_and(|d| d.0 < 60_000) {
            return bad("catalog.restock_every", "must be at least 1m".into());
        }
        let t = &self.traffic;
        in_range("traffic.sessions_per_day", t.sessions_per_day, 0.0, 1e9)?;
        if t.daily_shape.len() != 24
            || t.daily_shape.iter().any(|v| !(v.is_finite() && *v >= 0.0))
            || t.daily_shape.iter().sum::<f64>() <= 0.0
        {
            return bad(
                "traffic.daily_shape",
                "must be 24 non-negative numbers (hours 0–23), not all zero".into(),
            );
        }
        in_range("traffic.weekend_factor", t.weekend_factor, 0.0, 10.0)?;
        let f = &self.funnel;
        for (key, v) in [
            ("funnel.click_rate", f.click_rate),
            ("funnel.cart_rate", f.cart_rate),
            ("funnel.purchase_rate", f.purchase_rate),
            ("funnel.remove_rate", f.remove_rate),
            ("funnel.browse_rate", f.browse_rate),
            ("funnel.logged_in", f.logged_in),
        ] {
            in_range(key, v, 0.0, 1.0)?;
        }
        if !(1..=100).contains(&f.max_products) {
            return bad("funnel.max_products", "must be 1 to 100".into());
        }
        if f.step_mean.0 <= 0 {
            return bad("funnel.step_mean", "must be positive".into());
        }
        let d = &self.demand;
        in_range("demand.elasticity", d.elasticity, -20.0, 0.0)?;
        in_range("demand.max_purchase_prob", d.max_purchase_prob, 0.0, 1.0)?;
        in_range(
            "demand.reference_sensitivity",
            d.reference_sensitivity,
            0.0,
            20.0,
        )?;
        if d.max_purchase_prob < f.purchase_rate {
            return bad(
                "demand.max_purchase_prob",
                "must be at least funnel.purchase_rate".into(),
            );
        }
        if d.reference_halflife.0 <= 0 {
            return bad("demand.reference_halflife", "must be positive".into());
        }
        for (i, tr) in self.trend.iter().enumerate() {
            let k = |f: &str| format!("trend[{i}].{f}");
            self.check_target(
                &k("product"),
                tr.product.as_deref(),
                tr.brand.as_deref(),
                true,
            )?;
            self.check_offset(&k("at"), tr.at)?;
            in_range(&k("shock"), tr.shock, 0.0, 1e7)?;
            in_range(&k("branching"), tr.branching, 0.0, 0.99)?;
            // Bursts are drawn up front: bound their expected size (and memory).
            if tr.shock / (1.0 - tr.branching) > 5e7 {
                return bad(
                    &k("shock"),
                    "shock / (1 - branching) must stay under 50 million sessions".into(),
                );
            }
            if tr.decay.0 <= 0 {
                return bad(&k("decay"), "must be positive".into());
            }
            if tr.kernel == Kernel::PowerLaw {
                in_range(&k("tail"), tr.tail, 1.01, 10.0)?;
            }
            in_range(&k("elasticity"), tr.elasticity, -20.0, 0.0)?;
            in_range(&k("slow_share"), tr.slow_share, 0.0, 1.0)?;
            if tr.slow_decay.0 <= 0 {
                return bad(&k("slow_decay"), "must be positive".into());
            }
            if let Some(w) = tr.wtp {
                in_range(&k("wtp.median"), w.median, 0.05, 20.0)?;
                in_range(&k("wtp.sigma"), w.sigma, 0.01, 3.0)?;
            }
            in_range(
                &k("reference_sensitivity"),
                tr.reference_sensitivity,
                0.0,
                20.0,
            )?;
            if let Some(stock) = tr.stock
                && !(0..=1_000_000).contains(&stock)
            {
                return bad(&k("stock"), format!("must be 0 to 1000000, got {stock}"));
            }
        }
        for (i, s) in self.sale.iter().enumerate() {
            let k = |f: &str| format!("sale[{i}].{f}");
            self.check_target(
                &k("product"),
                s.product.as_deref(),
                s.brand.as_deref(),
                false,
            )?;
            self.check_offset(&k("at"), s.at)?;
            in_range(&k("discount"), s.discount, 0.01, 0.9)?;
        }
        let ft = &self.faults;
        for (key, v) in [
            ("faults.malformed_json", ft.malformed_json),
            ("faults.missing_field", ft.missing_field),
            ("faults.bad_value", ft.bad_value),
            ("faults.oversize", ft.oversize),
            ("faults.unknown_product", ft.unknown_product),
            ("faults.duplicate", ft.duplicate),
            ("faults.late", ft.late),
            ("faults.future", ft.future),
        ] {
            in_range(key, v, 0.0, 0.5)?;
        }
        if ft.future_by.0 < 3_600_000 {
            return bad(
                "faults.future_by",
                "must be at least 1h (far beyond the pipeline's `max_time_jump`)".into(),
            );
        }
        if ft.late_by.0 < 10 * 60_000 {
            return bad(
                "faults.late_by",
                "must be at least 10m (so the event's window has surely closed)".into(),
            );
        }
        // Every count that allocates up front is capped (bot sessions are drawn
        // in advance; the lists are walked per event).
        for (key, n, max) in [
            ("trend", self.trend.len(), 100),
            ("sale", self.sale.len(), 1_000),
            ("faults.bots", ft.bots.len(), 100),
        ] {
            if n > max {
                return bad(key, format!("at most {max} entries, got {n}"));
            }
        }
        for (i, b) in ft.bots.iter().enumerate() {
            self.check_offset(&format!("faults.bots[{i}].at"), b.at)?;
            if !(1..=1_000_000).contains(&b.sessions) {
                return bad(
                    &format!("faults.bots[{i}].sessions"),
                    format!("must be 1 to 1000000, got {}", b.sessions),
                );
            }
            if b.views_per_session == 0 || b.views_per_session > 10_000 {
                return bad(
                    &format!("faults.bots[{i}].views_per_session"),
                    "must be 1 to 10000".into(),
                );
            }
        }
        Ok(())
    }

    /// The duration's own range; a `--duration` override is held to it (a
    /// shorter run simply leaves out what is scheduled after its end).
    pub(crate) fn check_duration(&self) -> Result<(), (String, String)> {
        if self.duration.0 <= 0 || self.duration.0 > 366 * DAY {
            return Err(("duration".into(), "must be between 1ms and 366 days".into()));
        }
        Ok(())
    }

    fn check_offset(&self, key: &str, at: Dur) -> Result<(), (String, String)> {
        if at.0 >= self.duration.0 {
            return Err((
                key.into(),
                format!(
                    "{} ms is past the end of the scenario ({} ms)",
                    at.0, self.duration.0
                ),
            ));
        }
        Ok(())
    }

    fn check_target(
        &self,
        key: &str,
        product: Option<&str>,
        brand: Option<&str>,
        required: bool,
    ) -> Result<(), (String, String)> {
        match (product, brand) {
            (Some(_), Some(_)) => Err((key.into(), "give `product` or `brand`, not both".into())),
            (None, None) if required => Err((key.into(), "give `product` or `brand`".into())),
            (None, Some(b))
                if self.catalog.file.is_none() && !self.catalog.brands.iter().any(|x| x == b) =>
            {
                Err((
                    key.replace(".product", ".brand"),
                    format!(
                        "unknown brand {b:?}; the catalog has {}",
                        self.catalog.brands.join(", ")
                    ),
                ))
            }
            _ => Ok(()),
        }
    }
}
