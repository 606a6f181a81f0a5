//! The rule baseline: a transparent policy every learned model must beat.
//!
//! From the current price ratio (current / base), trend signals counting only
//! in windows with at least 5 views (fewer is noise):
//! - strong trend (views ≥ 2× their EWMA) and under 14 days of cover: +8 %;
//! - rising (≥ 1.3× the EWMA): +4 %;
//! - fading (≤ 0.7× the EWMA) with over 60 days of cover: −4 %;
//! - otherwise drift 2 % of the way back toward the base price.
//!
//! The pricer's guardrails bound whatever this proposes.

use pipeline::features::feature_index;
use pipeline::{FeatureRecord, ModelError, PriceModel};

#[derive(Clone, Debug)]
pub struct RulesModel {
    growth: usize,
    cover: usize,
    price: usize,
    views: usize,
}

impl Default for RulesModel {
    fn default() -> Self {
        let ix = |n| feature_index(n).unwrap_or(0);
        RulesModel {
            growth: ix("view_growth_ewma"),
            cover: ix("days_of_cover"),
            price: ix("price_ratio_base"),
            views: ix("views"),
        }
    }
}

impl RulesModel {
    pub fn ratio(&self, features: &[f32]) -> f32 {
        let (growth, cover, ratio) = (
            features[self.growth],
            features[self.cover],
            features[self.price],
        );
        let signal = features[self.views] >= 5.0;
        if signal && growth >= 2.0 && cover < 14.0 {
            ratio * 1.08
        } else if signal && growth >= 1.3 {
            ratio * 1.04
        } else if growth <= 0.7 && cover > 60.0 {
            ratio * 0.96
        } else {
            ratio + (1.0 - ratio) * 0.02
        }
    }
}

impl PriceModel for RulesModel {
    fn version(&self) -> &str {
        "rules:v1"
    }

    fn predict(&mut self, records: &[FeatureRecord]) -> Result<Vec<f32>, ModelError> {
        Ok(records.iter().map(|r| self.ratio(&r.features)).collect())
    }
}

/// The control: always proposes the current price (never changes it).
#[derive(Clone, Copy, Debug, Default)]
pub struct StaticModel;

impl PriceModel for StaticModel {
    fn version(&self) -> &str {
        "static"
    }

    fn predict(&mut self, records: &[FeatureRecord]) -> Result<Vec<f32>, ModelError> {
        Ok(records
            .iter()
            .map(|r| (r.current_price / r.base_price) as f32)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pipeline::FEATURE_COUNT;

    fn features(growth: f32, cover: f32, ratio: f32) -> [f32; FEATURE_COUNT] {
        let mut f = [0.0; FEATURE_COUNT];
        let ix = |n| feature_index(n).unwrap();
        f[ix("view_growth_ewma")] = growth;
        f[ix("days_of_cover")] = cover;
        f[ix("price_ratio_base")] = ratio;
        f[ix("views")] = 10.0;
        f
    }

    #[test]
    fn rules_as_documented() {
        let m = RulesModel::default();
        assert_eq!(m.ratio(&features(3.0, 5.0, 1.0)), 1.08);
        assert_eq!(m.ratio(&features(3.0, 50.0, 1.0)), 1.04);
        assert_eq!(m.ratio(&features(0.5, 100.0, 1.0)), 0.96);
        assert_eq!(m.ratio(&features(1.0, 30.0, 1.1)), 1.1 + (1.0 - 1.1) * 0.02);
        let mut quiet = features(3.0, 5.0, 1.0);
        quiet[feature_index("views").unwrap()] = 2.0;
        assert_eq!(m.ratio(&quiet), 1.0, "too few views to call a trend");
    }
}

/// A static price level: every product held at `ratio` × its base price
/// (reached within the pricer's step limits), for finding the best static price.
#[derive(Clone, Debug)]
pub struct FixedRatioModel {
    ratio: f32,
    version: String,
}

impl FixedRatioModel {
    pub fn new(ratio: f32) -> FixedRatioModel {
        FixedRatioModel {
            ratio,
            version: format!("static@{ratio}"),
        }
    }
}

impl PriceModel for FixedRatioModel {
    fn version(&self) -> &str {
        &self.version
    }

    fn predict(&mut self, records: &[FeatureRecord]) -> Result<Vec<f32>, ModelError> {
        Ok(vec![self.ratio; records.len()])
    }
}
