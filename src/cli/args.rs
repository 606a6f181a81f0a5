//! Value parsers and the flags several commands share.

use clap::Args;
use pipeline::{Millis, PipelineConfig};

use super::error::CliError;

pub fn duration(s: &str) -> Result<Millis, String> {
    let d = humantime::parse_duration(s)
        .map_err(|e| format!("{e} (write e.g. 100s, 5m, 1h, 250ms)"))?;
    Millis::try_from(d.as_millis()).map_err(|_| "too long".to_string())
}

/// The shipped model: `model/pricing.onnx` in the working directory, else in
/// the checkout the executable was built in (so `run` works from anywhere).
pub fn default_model() -> std::path::PathBuf {
    const SHIPPED: &str = "model/pricing.onnx";
    if std::path::Path::new(SHIPPED).exists() {
        return SHIPPED.into();
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| {
            exe.ancestors()
                .skip(1)
                .map(|d| d.join(SHIPPED))
                .find(|p| p.exists())
        })
        .unwrap_or_else(|| SHIPPED.into())
}

#[derive(Clone, Debug)]
pub struct Seeds(pub Vec<u64>);

pub fn seeds(s: &str) -> Result<Seeds, String> {
    let parsed: Option<Vec<u64>> = match s.split_once("..") {
        Some((a, b)) => match (a.trim().parse::<u64>(), b.trim().parse::<u64>()) {
            (Ok(a), Ok(b)) if a <= b && b - a < 10_000 => Some((a..=b).collect()),
            _ => None,
        },
        None => s.split(',').map(|x| x.trim().parse().ok()).collect(),
    };
    parsed
        .filter(|v| !v.is_empty())
        .map(Seeds)
        .ok_or_else(|| format!("{s:?}: write a range like 1..5 or a list like 1,2,7"))
}

/// Simulated time per real second; `None` is as fast as possible.
#[derive(Clone, Copy, Debug)]
pub struct Speed(pub Option<f64>);

pub fn speed(s: &str) -> Result<Speed, String> {
    if s == "max" {
        return Ok(Speed(None));
    }
    match s.trim_end_matches(['x', '×']).parse::<f64>() {
        Ok(v) if v > 0.0 && v.is_finite() => Ok(Speed(Some(v))),
        _ => Err(format!("{s:?}: write a factor like 600 or `max`")),
    }
}

pub fn cap_ratio(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if (1.0..=10.0).contains(&v) => Ok(v),
        _ => Err(format!(
            "{s:?}: write a multiple of list between 1 and 10, e.g. 1.5"
        )),
    }
}

/// The streaming core's settings as flags (`replay`, `run`); unset flags keep
/// `PipelineConfig`'s defaults.
#[derive(Args, Clone, Debug, Default)]
pub struct PipelineFlags {
    /// Window size, 1s to 1h [default: 100s].
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    window: Option<Millis>,
    /// Hopping windows: start a window every DURATION (≤ window) [default: tumbling].
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    hop: Option<Millis>,
    /// Allowed out-of-orderness per partition (watermark = max event time − this) [default: 5s].
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    out_of_orderness: Option<Millis>,
    /// Keep windows open this long after the watermark passes their end [default: 0s].
    #[arg(long, alias = "lateness", value_name = "DURATION", value_parser = duration)]
    allowed_lateness: Option<Millis>,
    /// A partition with no records for this long stops holding the watermark [default: 60s].
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    idle_timeout: Option<Millis>,
    /// Most event ids remembered for dedup [default: 500000].
    #[arg(long, value_name = "N")]
    dedup_capacity: Option<usize>,
    /// Forget event ids this far behind the watermark [default: 10m].
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    dedup_horizon: Option<Millis>,
    /// Larger records are dead-lettered as oversize [default: 65536].
    #[arg(long, value_name = "BYTES")]
    max_record_bytes: Option<usize>,
    /// Events further ahead of the host clock are event_time_out_of_range
    /// [default: off].
    #[arg(long, value_name = "DURATION|off", value_parser = skew)]
    max_future_skew: Option<Skew>,
    /// Events further ahead of the stream wait until another session's
    /// event confirms the jump, else are event_time_out_of_range [default: 5m].
    #[arg(long, value_name = "DURATION|off", value_parser = skew)]
    max_time_jump: Option<Skew>,
}

/// `--max-future-skew`, `--max-time-jump`: a duration or `off`.
#[derive(Clone, Copy, Debug)]
pub struct Skew(Option<Millis>);

fn skew(s: &str) -> Result<Skew, String> {
    if s == "off" {
        return Ok(Skew(None));
    }
    duration(s).map(|d| Skew(Some(d)))
}

impl PipelineFlags {
    /// The settings, validated; an error names the flag (one flag per key:
    /// `--allowed-lateness` sets `allowed_lateness`).
    pub fn config(&self) -> Result<PipelineConfig, CliError> {
        self.config_over(PipelineConfig::default())
    }

    /// The flags set on top of `d` (e.g. a deployment's `[pipeline]`).
    pub fn config_over(&self, d: PipelineConfig) -> Result<PipelineConfig, CliError> {
        let config = PipelineConfig {
            window: self.window.unwrap_or(d.window),
            hop: self.hop.or(d.hop),
            out_of_orderness: self.out_of_orderness.unwrap_or(d.out_of_orderness),
            allowed_lateness: self.allowed_lateness.unwrap_or(d.allowed_lateness),
            idle_timeout: self.idle_timeout.unwrap_or(d.idle_timeout),
            dedup_capacity: self.dedup_capacity.unwrap_or(d.dedup_capacity),
            dedup_horizon: self.dedup_horizon.unwrap_or(d.dedup_horizon),
            max_record_bytes: self.max_record_bytes.unwrap_or(d.max_record_bytes),
            max_future_skew: self.max_future_skew.map_or(d.max_future_skew, |s| s.0),
            max_time_jump: self.max_time_jump.map_or(d.max_time_jump, |s| s.0),
            ..d
        };
        config.validate().map_err(|e| {
            CliError::input(format!("--{}: {}", e.key.replace('_', "-"), e.message))
        })?;
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_take_ranges_and_lists() {
        assert_eq!(seeds("1..3").unwrap().0, [1, 2, 3]);
        assert_eq!(seeds("4, 9").unwrap().0, [4, 9]);
        assert!(seeds("3..1").is_err() && seeds("").is_err() && seeds("a").is_err());
    }

    #[test]
    fn a_bad_pipeline_setting_names_its_flag() {
        let flags = PipelineFlags {
            allowed_lateness: Some(-1),
            ..PipelineFlags::default()
        };
        let e = format!("{:?}", flags.config().unwrap_err());
        assert!(e.contains("--allowed-lateness"), "{e}");
        assert!(PipelineFlags::default().config().is_ok());
    }
}
