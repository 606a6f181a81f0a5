//! Audit records: one per decision, applied or not, written as JSON (the
//! audit log, the audit table's `record` attribute) and read back.

use std::sync::Arc;

use serde::de::{self, Deserializer};
use serde::ser::Serializer;
use serde::{Deserialize, Serialize};

use crate::pricer::{PriceUpdate, Rule};
use crate::time::{Millis, format_rfc3339, parse_rfc3339};

/// A model output as written in the audit log: a number, or "NaN"/"inf"/"-inf".
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RawOutput(pub f32);

impl Serialize for RawOutput {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0.is_finite() {
            s.serialize_f32(self.0)
        } else {
            s.serialize_str(&self.0.to_string())
        }
    }
}

/// One decision, applied or not, with everything needed to explain it.
#[derive(Clone, Debug, PartialEq)]
pub struct AuditRecord {
    pub product_id: String,
    pub window_end: Millis,
    pub model_version: Arc<str>,
    /// xxh3-64 of the feature values (written as 16 hex digits).
    pub features_hash: u64,
    pub raw_output: RawOutput,
    pub current_price: f64,
    /// base × output, when the output was valid.
    pub proposed_price: Option<f64>,
    /// The price after guardrails (the current price when not applied).
    pub final_price: f64,
    pub floor: f64,
    pub ceiling: f64,
    pub rule: Rule,
    pub applied: bool,
    /// The item's `last_window` when decided (for replay and cooldown).
    pub last_window: Millis,
}

impl AuditRecord {
    /// The price change this decision applied, if it applied one.
    pub fn applied_update(&self) -> Option<PriceUpdate> {
        self.applied.then(|| PriceUpdate {
            product_id: self.product_id.clone(),
            window_end: self.window_end,
            previous_price: self.current_price,
            price: self.final_price,
        })
    }

    /// Why, in words; derived from the record (not stored, so the hot path
    /// formats nothing).
    pub fn reason(&self) -> String {
        let secs = |ms: Millis| ms / 1000;
        match self.rule {
            Rule::Model => "model price applied".into(),
            Rule::Replay => format!(
                "window already decided (last_window {})",
                format_rfc3339(self.last_window)
            ),
            Rule::InvalidOutput => format!(
                "model output {} is not a usable price ratio",
                self.raw_output.0
            ),
            Rule::KillSwitch => "kill switch is on".into(),
            Rule::Holdout => "product is in the holdout (static price)".into(),
            Rule::Cooldown => format!(
                "last change {} s ago, inside the cooldown",
                secs(self.window_end - self.last_window)
            ),
            Rule::InfeasibleBounds => format!(
                "floor {:.2} is above ceiling {:.2}",
                self.floor, self.ceiling
            ),
            Rule::Floor => format!("raised to the floor {:.2}", self.floor),
            Rule::Ceiling => format!("lowered to the ceiling {:.2}", self.ceiling),
            Rule::MaxStep => "limited to the max step".into(),
            Rule::TrendStep => "a confirmed trend allowed a larger rise (trend step)".into(),
            Rule::MinChange => "change under the minimum, not applied".into(),
        }
    }
}

impl Serialize for AuditRecord {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut m = s.serialize_struct("AuditRecord", 14)?;
        m.serialize_field("product_id", &self.product_id)?;
        m.serialize_field("window_end", &format_rfc3339(self.window_end))?;
        m.serialize_field("model_version", &*self.model_version)?;
        m.serialize_field("features_hash", &format!("{:016x}", self.features_hash))?;
        m.serialize_field("raw_output", &self.raw_output)?;
        m.serialize_field("current_price", &self.current_price)?;
        m.serialize_field("proposed_price", &self.proposed_price)?;
        m.serialize_field("final_price", &self.final_price)?;
        m.serialize_field("floor", &self.floor)?;
        m.serialize_field("ceiling", &self.ceiling)?;
        m.serialize_field("rule", &self.rule)?;
        m.serialize_field("applied", &self.applied)?;
        m.serialize_field("last_window", &format_rfc3339(self.last_window))?;
        m.serialize_field("reason", &self.reason())?;
        m.end()
    }
}

impl<'de> Deserialize<'de> for RawOutput {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Wire {
            Number(f32),
            Text(String),
        }
        match Wire::deserialize(d)? {
            Wire::Number(v) => Ok(RawOutput(v)),
            Wire::Text(t) => t
                .parse()
                .map(RawOutput)
                .map_err(|_| de::Error::custom(format!("raw_output {t:?} is not a number"))),
        }
    }
}

impl<'de> Deserialize<'de> for AuditRecord {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        /// The written shape; `reason` is derived, so it is not read.
        #[derive(Deserialize)]
        struct Wire {
            product_id: String,
            window_end: String,
            model_version: String,
            features_hash: String,
            raw_output: RawOutput,
            current_price: f64,
            proposed_price: Option<f64>,
            final_price: f64,
            floor: f64,
            ceiling: f64,
            rule: Rule,
            applied: bool,
            /// Absent in records written before it was added.
            #[serde(default)]
            last_window: Option<String>,
        }
        let w = Wire::deserialize(d)?;
        let time = |field: &str, v: &str| {
            parse_rfc3339(v)
                .ok_or_else(|| de::Error::custom(format!("`{field}` {v:?} is not RFC 3339")))
        };
        Ok(AuditRecord {
            window_end: time("window_end", &w.window_end)?,
            last_window: match &w.last_window {
                Some(v) => time("last_window", v)?,
                None => 0,
            },
            features_hash: u64::from_str_radix(&w.features_hash, 16).map_err(|_| {
                de::Error::custom(format!("`features_hash` {:?} is not hex", w.features_hash))
            })?,
            product_id: w.product_id,
            model_version: Arc::from(w.model_version),
            raw_output: w.raw_output,
            current_price: w.current_price,
            proposed_price: w.proposed_price,
            final_price: w.final_price,
            floor: w.floor,
            ceiling: w.ceiling,
            rule: w.rule,
            applied: w.applied,
        })
    }
}
