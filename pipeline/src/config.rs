//! Settings of the streaming core.

use serde::{Deserialize, Serialize};

use crate::time::{HOUR, MINUTE, Millis, SECOND};
use crate::window::WindowSpec;

/// How the core windows, orders and bounds its input. Times in
/// milliseconds; in configuration files durations like `"100s"` (the
/// service's `[pipeline]` section deserializes straight into this; the
/// command-line flags of the same names convert into it). Defaults live
/// only in `Default`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PipelineConfig {
    /// Window size, 1 s to 1 h. Default 100 s (the reference architecture's).
    #[serde(with = "crate::time::duration")]
    pub window: Millis,
    /// Hopping windows: a new window every `hop` (≤ window). `None`: tumbling.
    #[serde(with = "crate::time::duration::option")]
    pub hop: Option<Millis>,
    /// Watermark = max event time − this, per partition.
    #[serde(with = "crate::time::duration")]
    pub out_of_orderness: Millis,
    /// A window closes when the watermark passes its end + this.
    #[serde(with = "crate::time::duration")]
    pub allowed_lateness: Millis,
    /// A partition without records for this long (host time) stops holding the watermark.
    #[serde(with = "crate::time::duration")]
    pub idle_timeout: Millis,
    /// Most event ids remembered for dedup.
    pub dedup_capacity: usize,
    /// Ids are forgotten once their event time is this far behind the watermark.
    #[serde(with = "crate::time::duration")]
    pub dedup_horizon: Millis,
    /// Larger records are dead-lettered as `oversize`.
    pub max_record_bytes: usize,
    /// Events further ahead of the host's clock are
    /// `event_time_out_of_range`. Meant for hosts with a wall clock
    /// (`serve`; the documented deployment sets 5 min): replay's clock is
    /// the batch's first arrival, which later events of a batch may pass.
    /// Off (`None`, `"off"`) by default.
    #[serde(with = "crate::time::duration::option")]
    pub max_future_skew: Option<Millis>,
    /// An event further ahead of the latest accepted event time is held
    /// until the data confirms the jump (the next event of its partition
    /// lands near it or later, or the stream catches up) or refutes it (the
    /// next event is far behind: `event_time_out_of_range`), so one wrong
    /// clock cannot make a partition's later events `late`. Data-relative:
    /// replay and serve agree. Default 5 min; `"off"` accepts any jump.
    #[serde(with = "crate::time::duration::option")]
    pub max_time_jump: Option<Millis>,
    /// Weight of the newest window in the views EWMA (0 < α ≤ 1).
    pub ewma_alpha: f64,
    /// Trailing period of `sales_velocity_per_day`.
    #[serde(with = "crate::time::duration")]
    pub velocity_horizon: Millis,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            window: 100 * SECOND,
            hop: None,
            out_of_orderness: 5 * SECOND,
            allowed_lateness: 0,
            idle_timeout: MINUTE,
            dedup_capacity: 500_000,
            dedup_horizon: 10 * MINUTE,
            max_record_bytes: 64 * 1024,
            max_future_skew: None,
            max_time_jump: Some(5 * MINUTE),
            ewma_alpha: 0.3,
            velocity_horizon: 24 * HOUR,
        }
    }
}

/// A setting that is out of range; `key` is the field name.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{key}`: {message}")]
pub struct ConfigError {
    pub key: &'static str,
    pub message: String,
}

pub(crate) fn err(key: &'static str, message: impl Into<String>) -> Result<(), ConfigError> {
    Err(ConfigError {
        key,
        message: message.into(),
    })
}

impl PipelineConfig {
    pub fn window_spec(&self) -> WindowSpec {
        WindowSpec::hopping(self.window, self.hop.unwrap_or(self.window))
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(SECOND..=HOUR).contains(&self.window) {
            return err(
                "window",
                format!("must be between 1s and 1h, got {} ms", self.window),
            );
        }
        if let Some(hop) = self.hop
            && !(SECOND..=self.window).contains(&hop)
        {
            return err(
                "hop",
                format!(
                    "must be between 1s and the window size ({} ms), got {hop} ms",
                    self.window
                ),
            );
        }
        for (key, v) in [
            ("out_of_orderness", self.out_of_orderness),
            ("allowed_lateness", self.allowed_lateness),
            ("idle_timeout", self.idle_timeout),
            ("dedup_horizon", self.dedup_horizon),
            ("velocity_horizon", self.velocity_horizon),
        ] {
            if !(0..=30 * 24 * HOUR).contains(&v) {
                return err(key, format!("must be between 0 and 30 days, got {v} ms"));
            }
        }
        if let Some(jump) = self.max_time_jump
            && !(SECOND..=30 * 24 * HOUR).contains(&jump)
        {
            return err(
                "max_time_jump",
                format!("must be between 1s and 30 days (or \"off\"), got {jump} ms"),
            );
        }
        if self.velocity_horizon == 0 {
            return err("velocity_horizon", "must be positive");
        }
        // The dedup index numbers its entries in 32 bits.
        if !(1..=u32::MAX as usize).contains(&self.dedup_capacity) {
            return err(
                "dedup_capacity",
                format!(
                    "must be between 1 and {}, got {}",
                    u32::MAX,
                    self.dedup_capacity
                ),
            );
        }
        if self.max_record_bytes == 0 {
            return err("max_record_bytes", "must be at least 1");
        }
        if !(self.ewma_alpha > 0.0 && self.ewma_alpha <= 1.0) {
            return err(
                "ewma_alpha",
                format!("must be in (0, 1], got {}", self.ewma_alpha),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_key() {
        let c = PipelineConfig {
            window: 2 * HOUR,
            ..Default::default()
        };
        assert_eq!(c.validate().unwrap_err().key, "window");
        let c = PipelineConfig {
            hop: Some(200 * SECOND),
            ..Default::default()
        };
        assert_eq!(c.validate().unwrap_err().key, "hop");
        for bad in [0, u32::MAX as usize + 1] {
            let c = PipelineConfig {
                dedup_capacity: bad,
                ..Default::default()
            };
            assert_eq!(c.validate().unwrap_err().key, "dedup_capacity");
        }
        assert!(PipelineConfig::default().validate().is_ok());
    }
}
