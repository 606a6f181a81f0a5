//! The pricer: a model's proposed price ratio → a guarded decision, an
//! audit record and, when applied, a conditional price update. Sans-IO.
//!
//! Guardrails, in the order they are checked:
//! 1. `replay`: the catalog already holds a decision for this window or a later one;
//! 2. `invalid_output`: NaN, infinite, ≤ 0 or outside `output_range`;
//! 3. `kill_switch`: global or for this product;
//! 4. `holdout`: the product is in the deterministic holdout (hash of its id);
//! 5. `cooldown`: the last applied change is less than `cooldown` old;
//! 6. `infeasible_bounds`: floor above ceiling;
//! 7. clamp into [floor, ceiling] (`floor`, `ceiling`), where
//!    floor = max(cost × (1 + min_margin), MAP, min_price) and
//!    ceiling = min(max_price, base × max_ratio);
//! 8. `max_step`: at most `max_step` relative change from the current price,
//!    unless the current price is itself outside the bounds (then the bounds win);
//!    `trend_step`: in a confirmed trend (`trend_intensity` ≥
//!    `trend_confirm_intensity` for at least `trend_confirm`), a rise may be
//!    as large as `trend_step` (0: the mode is off);
//! 9. `min_change`: changes under `min_change` are not applied (hysteresis).

use std::sync::Arc;

use rustc_hash::FxHashSet;
use serde::{Deserialize, Serialize};

pub use crate::audit::{AuditRecord, RawOutput};
use crate::catalog::CatalogItem;
use crate::config::{ConfigError, err as config_err};
use crate::features::FeatureRecord;
use crate::time::{MINUTE, Millis, serialize_rfc3339};

/// Guardrail settings: the service's `[guardrails]` section deserializes
/// straight into this, and `pricestream run --config` evaluates the same.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Guardrails {
    /// The floor keeps at least this margin over cost.
    pub min_margin: f64,
    /// The ceiling is at most base × this.
    pub max_ratio: f64,
    /// Largest relative change per decision.
    pub max_step: f64,
    /// Least time between two applied changes of a product (ms; `"5m"` in files).
    #[serde(with = "crate::time::duration")]
    pub cooldown: Millis,
    /// Smaller relative changes are not applied.
    pub min_change: f64,
    /// Share of products kept at their price (A/B control), 0–1.
    pub holdout_share: f64,
    /// Model outputs (ratios) outside this range are rejected as invalid.
    pub output_range: (f32, f32),
    /// Confirmed-trend mode: the largest relative rise per decision once a
    /// trend is confirmed (0 turns the mode off; audited as `trend_step`).
    pub trend_step: f64,
    /// A trend is confirmed when the product's views over the last hour are
    /// at least this multiple of its baseline (`trend_intensity`)…
    pub trend_confirm_intensity: f64,
    /// …and its trend has lasted this long (`trend_age_hours`).
    #[serde(with = "crate::time::duration")]
    pub trend_confirm: Millis,
}

impl Default for Guardrails {
    fn default() -> Self {
        Guardrails {
            min_margin: 0.10,
            max_ratio: 1.5,
            max_step: 0.10,
            cooldown: 5 * MINUTE,
            min_change: 0.01,
            holdout_share: 0.10,
            output_range: (0.05, 20.0),
            trend_step: 0.5,
            trend_confirm_intensity: 3.0,
            trend_confirm: 5 * MINUTE,
        }
    }
}

impl Guardrails {
    /// Every setting in its range; the error names the key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        for (key, v, lo, hi) in [
            ("min_margin", self.min_margin, 0.0, 10.0),
            ("max_ratio", self.max_ratio, 0.1, 100.0),
            ("max_step", self.max_step, 0.0, 1.0),
            ("min_change", self.min_change, 0.0, 1.0),
            ("holdout_share", self.holdout_share, 0.0, 1.0),
            ("trend_step", self.trend_step, 0.0, 10.0),
            (
                "trend_confirm_intensity",
                self.trend_confirm_intensity,
                1.0,
                1000.0,
            ),
        ] {
            if !(lo..=hi).contains(&v) {
                return config_err(key, format!("must be between {lo} and {hi}, got {v}"));
            }
        }
        for (key, v) in [
            ("cooldown", self.cooldown),
            ("trend_confirm", self.trend_confirm),
        ] {
            if !(0..=30 * 24 * 60 * MINUTE).contains(&v) {
                return config_err(key, "must be between 0 and 30 days");
            }
        }
        let (lo, hi) = self.output_range;
        if !(lo > 0.0 && lo < hi) {
            return config_err(
                "output_range",
                format!("must be [low, high] with 0 < low < high, got [{lo}, {hi}]"),
            );
        }
        Ok(())
    }

    /// [floor, ceiling] for an item.
    pub fn bounds(&self, item: &CatalogItem) -> (f64, f64) {
        let floor = (item.cost * (1.0 + self.min_margin))
            .max(item.map_price)
            .max(item.min_price);
        let ceiling = item.max_price.min(item.base_price * self.max_ratio);
        (floor, ceiling)
    }

    /// Whether the record's product is in a confirmed trend (and the mode is on).
    pub fn confirmed_trend(&self, record: &FeatureRecord) -> bool {
        if self.trend_step <= 0.0 {
            return false;
        }
        // Resolved at compile time: this runs for every decision.
        const INTENSITY: usize = column("trend_intensity");
        const AGE_HOURS: usize = column("trend_age_hours");
        let (intensity, age_hours) = (record.features[INTENSITY], record.features[AGE_HOURS]);
        f64::from(intensity) >= self.trend_confirm_intensity
            && f64::from(age_hours) * crate::time::HOUR as f64 >= self.trend_confirm as f64
    }

    /// Whether the product is in the holdout: a stable hash of its id.
    pub fn in_holdout(&self, product_id: &str) -> bool {
        let bucket = xxhash_rust::xxh3::xxh3_64(product_id.as_bytes()) % 10_000;
        (bucket as f64) < self.holdout_share * 10_000.0
    }
}

/// A feature's column; a name that is not a feature fails the build.
const fn column(name: &str) -> usize {
    match crate::features::feature_index(name) {
        Some(i) => i,
        None => panic!("not a feature name"),
    }
}

/// Which guardrail decided the outcome (`model` when none did).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    Model,
    Replay,
    InvalidOutput,
    KillSwitch,
    Holdout,
    Cooldown,
    InfeasibleBounds,
    Floor,
    Ceiling,
    MaxStep,
    TrendStep,
    MinChange,
}

impl Rule {
    /// The snake_case name used in audit records and summaries.
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::Model => "model",
            Rule::Replay => "replay",
            Rule::InvalidOutput => "invalid_output",
            Rule::KillSwitch => "kill_switch",
            Rule::Holdout => "holdout",
            Rule::Cooldown => "cooldown",
            Rule::InfeasibleBounds => "infeasible_bounds",
            Rule::Floor => "floor",
            Rule::Ceiling => "ceiling",
            Rule::MaxStep => "max_step",
            Rule::TrendStep => "trend_step",
            Rule::MinChange => "min_change",
        }
    }

    pub const ALL: [Rule; 12] = [
        Rule::Model,
        Rule::Replay,
        Rule::InvalidOutput,
        Rule::KillSwitch,
        Rule::Holdout,
        Rule::Cooldown,
        Rule::InfeasibleBounds,
        Rule::Floor,
        Rule::Ceiling,
        Rule::MaxStep,
        Rule::TrendStep,
        Rule::MinChange,
    ];
}

/// A price change to write, conditional on the window: it applies only if
/// the item's `last_window` is before `window_end`, so a replay is a no-op.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PriceUpdate {
    pub product_id: String,
    #[serde(serialize_with = "serialize_rfc3339")]
    pub window_end: Millis,
    pub previous_price: f64,
    pub price: f64,
}

/// The update was refused: the item already has a decision for that window or later.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{product_id}: window {window_end} already decided (last_window {last_window})")]
pub struct StaleUpdate {
    pub product_id: String,
    pub window_end: Millis,
    pub last_window: Millis,
}

impl PriceUpdate {
    /// Applies the update to an item if `last_window < window_end` (the
    /// conditional write); bumps `price_version`.
    pub fn apply_to(&self, item: &mut CatalogItem) -> Result<(), StaleUpdate> {
        if item.last_window >= self.window_end {
            return Err(StaleUpdate {
                product_id: item.product_id.to_string(),
                window_end: self.window_end,
                last_window: item.last_window,
            });
        }
        item.current_price = Some(self.price);
        item.price_version += 1;
        item.last_window = self.window_end;
        Ok(())
    }
}

/// What the pricer decided for one record.
#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    pub audit: AuditRecord,
    pub update: Option<PriceUpdate>,
}

/// The pricer: guardrails plus kill switches.
#[derive(Clone, Debug, Default)]
pub struct Pricer {
    pub guardrails: Guardrails,
    kill_all: bool,
    killed: FxHashSet<String>,
}

/// Hash of a record's features, for the audit log.
pub fn features_hash(record: &FeatureRecord) -> u64 {
    let mut bytes = [0u8; 4 * crate::features::FEATURE_COUNT];
    for (chunk, f) in bytes.chunks_exact_mut(4).zip(&record.features) {
        chunk.copy_from_slice(&f.to_le_bytes());
    }
    xxhash_rust::xxh3::xxh3_64(&bytes)
}

impl Pricer {
    pub fn new(guardrails: Guardrails) -> Pricer {
        Pricer {
            guardrails,
            ..Pricer::default()
        }
    }

    /// The global kill switch: while on, nothing is applied.
    pub fn set_kill_switch(&mut self, on: bool) {
        self.kill_all = on;
    }

    pub fn kill_switch(&self) -> bool {
        self.kill_all
    }

    /// The per-product kill switch.
    pub fn set_product_kill_switch(&mut self, product_id: &str, on: bool) {
        if on {
            self.killed.insert(product_id.to_string());
        } else {
            self.killed.remove(product_id);
        }
    }

    /// Decides for one record given the model output and the catalog item as it is now.
    pub fn decide(
        &self,
        record: &FeatureRecord,
        output: f32,
        item: &CatalogItem,
        model_version: &Arc<str>,
    ) -> Decision {
        let g = &self.guardrails;
        let current = item.current_price();
        let (floor, ceiling) = g.bounds(item);
        let mut audit = AuditRecord {
            product_id: record.product_id.to_string(),
            window_end: record.window.end,
            model_version: model_version.clone(),
            features_hash: features_hash(record),
            raw_output: RawOutput(output),
            current_price: current,
            proposed_price: None,
            final_price: current,
            floor,
            ceiling,
            rule: Rule::Model,
            applied: false,
            last_window: item.last_window,
        };
        if item.last_window >= record.window.end {
            return held(audit, Rule::Replay);
        }
        let (lo, hi) = g.output_range;
        if !(output.is_finite() && output > 0.0 && output >= lo && output <= hi) {
            return held(audit, Rule::InvalidOutput);
        }
        let proposed = item.base_price * f64::from(output);
        audit.proposed_price = Some(proposed);
        if self.kill_all || self.killed.contains(&*item.product_id) {
            return held(audit, Rule::KillSwitch);
        }
        if g.in_holdout(&item.product_id) {
            return held(audit, Rule::Holdout);
        }
        if item.last_window > 0 && record.window.end - item.last_window < g.cooldown {
            return held(audit, Rule::Cooldown);
        }
        if floor > ceiling {
            return held(audit, Rule::InfeasibleBounds);
        }
        let mut rule = Rule::Model;
        let mut price = proposed;
        if price < floor {
            (price, rule) = (floor, Rule::Floor);
        } else if price > ceiling {
            (price, rule) = (ceiling, Rule::Ceiling);
        }
        // The step limit binds only while the current price is itself in bounds.
        let in_bounds = (floor..=ceiling).contains(&current);
        let rise = if g.confirmed_trend(record) {
            g.max_step.max(g.trend_step)
        } else {
            g.max_step
        };
        if in_bounds {
            let (step_lo, step_hi) = (current * (1.0 - g.max_step), current * (1.0 + rise));
            if price < step_lo {
                (price, rule) = (step_lo.max(floor), Rule::MaxStep);
            } else if price > step_hi {
                let limit = if rise > g.max_step {
                    Rule::TrendStep
                } else {
                    Rule::MaxStep
                };
                (price, rule) = (step_hi.min(ceiling), limit);
            } else if price > current * (1.0 + g.max_step) {
                // Only the confirmed trend let it rise this far.
                rule = Rule::TrendStep;
            }
        }
        // Whole cents, without rounding past the step limit.
        let mut price = (price * 100.0).round() / 100.0;
        let limit = if price > current { rise } else { g.max_step };
        if in_bounds && (price - current).abs() > current * limit {
            price -= 0.01 * (price - current).signum();
        }
        let price = price.clamp(floor, ceiling);
        if ((price - current) / current).abs() < g.min_change {
            return held(audit, Rule::MinChange);
        }
        audit.final_price = price;
        audit.rule = rule;
        audit.applied = true;
        Decision {
            update: Some(PriceUpdate {
                product_id: item.product_id.to_string(),
                window_end: record.window.end,
                previous_price: current,
                price,
            }),
            audit,
        }
    }
}

/// A decision that leaves the price as it is.
fn held(mut audit: AuditRecord, rule: Rule) -> Decision {
    audit.rule = rule;
    Decision {
        audit,
        update: None,
    }
}
