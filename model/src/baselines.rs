//! Baselines a pricing manager would use, as price models.
//!
//! - [`StaticOptModel`] ("static-opt"): each product at its profit-optimal
//!   static price for constant elasticity ε, c · ε / (1 + ε), which the
//!   pricer clamps into [floor, ceiling]. The competent manager's level: it
//!   knows cost and a literature elasticity, nothing about trends.
//! - [`TrendRuleModel`] ("trend-rule"): static-opt plus a transparent trend
//!   rule. While a product is *hot* — its views jumped (≥ `growth` × their
//!   EWMA in a window with ≥ `min_views` views) or its stock covers less
//!   than `cover_days` days of recent sales — it asks for `step` more per
//!   decision; while its stock stays thin (under `hold_days` of cover) it
//!   holds a raised price; otherwise it returns to the static-opt level.

use pipeline::features::feature_index;
use pipeline::{FeatureRecord, ModelError, PriceModel};

/// The profit-optimal static price ratio for constant elasticity ε < −1:
/// (cost / base) · ε / (1 + ε). For |ε| ≤ 1 profit rises with price: the
/// ceiling (a ratio the pricer clamps).
pub fn static_opt_ratio(cost: f64, base: f64, elasticity: f64) -> f32 {
    if elasticity >= -1.0 || base <= 0.0 {
        return 10.0;
    }
    (cost / base * elasticity / (1.0 + elasticity)) as f32
}

#[derive(Clone, Debug)]
pub struct StaticOptModel {
    elasticity: f64,
    version: String,
}

impl StaticOptModel {
    pub fn new(elasticity: f64) -> StaticOptModel {
        StaticOptModel {
            elasticity,
            version: format!("static-opt:e={elasticity}"),
        }
    }
}

impl PriceModel for StaticOptModel {
    fn version(&self) -> &str {
        &self.version
    }

    fn predict(&mut self, records: &[FeatureRecord]) -> Result<Vec<f32>, ModelError> {
        Ok(records
            .iter()
            .map(|r| static_opt_ratio(r.cost, r.base_price, self.elasticity))
            .collect())
    }
}

#[derive(Clone, Debug)]
pub struct TrendRuleModel {
    elasticity: f64,
    /// View growth against the EWMA that marks a jump.
    pub growth: f32,
    pub min_views: f32,
    /// Days of cover under which stock is scarce.
    pub cover_days: f32,
    /// Days of cover under which a raised price is held.
    pub hold_days: f32,
    /// Relative rise asked per decision while hot.
    pub step: f32,
    ix: [usize; 4],
    version: String,
}

impl TrendRuleModel {
    pub fn new(elasticity: f64) -> TrendRuleModel {
        let ix = |n| feature_index(n).unwrap_or(0);
        TrendRuleModel {
            elasticity,
            growth: 3.0,
            min_views: 10.0,
            cover_days: 2.0,
            hold_days: 7.0,
            step: 0.10,
            ix: [
                ix("view_growth_ewma"),
                ix("views"),
                ix("days_of_cover"),
                ix("price_ratio_base"),
            ],
            version: format!("trend-rule:e={elasticity}"),
        }
    }

    pub fn ratio(&self, r: &FeatureRecord) -> f32 {
        let [growth, views, cover, ratio] = self.ix.map(|i| r.features[i]);
        let jump = views >= self.min_views && growth >= self.growth;
        // Out of stock (cover 0) is not hot: there is nothing left to price.
        let scarce = cover > 0.0 && cover < self.cover_days;
        let level = static_opt_ratio(r.cost, r.base_price, self.elasticity);
        if jump || scarce {
            ratio * (1.0 + self.step)
        } else if cover > 0.0 && cover < self.hold_days && ratio > level {
            ratio
        } else {
            level
        }
    }
}

impl PriceModel for TrendRuleModel {
    fn version(&self) -> &str {
        &self.version
    }

    fn predict(&mut self, records: &[FeatureRecord]) -> Result<Vec<f32>, ModelError> {
        Ok(records.iter().map(|r| self.ratio(r)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(views: f32, growth: f32, cover: f32, ratio: f32) -> FeatureRecord {
        let mut r = testkit::fixtures::record("p", 100_000, [0.0; pipeline::FEATURE_COUNT]);
        r.base_price = 100.0;
        r.cost = 55.0;
        for (name, v) in [
            ("views", views),
            ("view_growth_ewma", growth),
            ("days_of_cover", cover),
            ("price_ratio_base", ratio),
        ] {
            r.features[feature_index(name).unwrap()] = v;
        }
        r
    }

    #[test]
    fn static_opt_is_the_markup_rule_for_constant_elasticity() {
        let r = static_opt_ratio(55.0, 100.0, -2.62);
        assert!((f64::from(r) - 0.55 * 2.62 / 1.62).abs() < 1e-6);
        assert_eq!(
            static_opt_ratio(55.0, 100.0, -0.8),
            10.0,
            "inelastic: ceiling"
        );
    }

    #[test]
    fn the_trend_rule_rises_while_hot_and_returns_to_static_opt() {
        let m = TrendRuleModel::new(-2.62);
        let calm = m.ratio(&record(3.0, 1.0, 30.0, 1.2));
        assert!((calm - 0.55 * 2.62 / 1.62).abs() < 1e-6, "{calm}");
        assert!(
            (m.ratio(&record(20.0, 3.0, 30.0, 1.2)) - 1.32).abs() < 1e-6,
            "jump"
        );
        assert!(
            (m.ratio(&record(1.0, 1.0, 1.5, 1.2)) - 1.32).abs() < 1e-6,
            "scarce"
        );
        assert!(
            (m.ratio(&record(6.0, 3.0, 30.0, 1.2)) - calm).abs() < 1e-6,
            "few views"
        );
        assert!(
            (m.ratio(&record(1.0, 1.0, 5.0, 1.2)) - 1.2).abs() < 1e-6,
            "thin: held"
        );
        assert!(
            (m.ratio(&record(1.0, 1.0, 0.0, 1.2)) - calm).abs() < 1e-6,
            "sold out"
        );
    }
}
