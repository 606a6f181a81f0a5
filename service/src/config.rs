//! The service's configuration: one TOML file, with environment-variable
//! overrides `PRICESTREAM_<SECTION>_<KEY>` (e.g. `PRICESTREAM_STREAM_NAME`).
//! Credentials and region come only from the AWS default chain and never
//! appear here. Unknown keys and bad values are errors naming the file (or
//! variable) and the key.

use std::path::Path;

use model::ModelSpec;
use pipeline::{Guardrails, Millis, PipelineConfig};
use serde::Deserialize;

/// A duration written like `250ms`, `100s`, `5m` (or milliseconds).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub struct Dur(#[serde(with = "pipeline::time::duration")] pub Millis);

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub aws: AwsConfig,
    pub stream: StreamConfig,
    #[serde(default)]
    pub tables: Tables,
    /// The streaming core's settings (`pipeline::PipelineConfig`, as is).
    #[serde(default)]
    pub pipeline: PipelineConfig,
    /// How often `serve` re-reads its catalog and orders caches.
    #[serde(default)]
    pub caches: CacheConfig,
    /// Which model prices (`model::ModelSpec`, tagged by `backend`).
    pub model: ModelSpec,
    /// The pricer's guardrails (`pipeline::Guardrails`, as is).
    #[serde(default)]
    pub guardrails: Guardrails,
    #[serde(default)]
    pub pricer: PricerConfig,
    #[serde(default)]
    pub metrics: MetricsConfig,
}

/// Where AWS is; credentials and region come from the default chain.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsConfig {
    /// An emulator's URL (moto, LocalStack); omit for AWS itself.
    pub endpoint_url: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StartPosition {
    TrimHorizon,
    Latest,
    AtTimestamp,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamConfig {
    pub name: String,
    /// Shards `aws init` creates.
    #[serde(default = "defaults::shards")]
    pub shards: u32,
    /// Where a shard without a checkpoint starts.
    #[serde(default = "defaults::start")]
    pub start_position: StartPosition,
    /// RFC 3339, for `at_timestamp`.
    pub start_timestamp: Option<String>,
    /// Pause between GetRecords calls per shard (Kinesis allows 5 calls/s).
    #[serde(default = "defaults::poll")]
    pub poll_interval: Dur,
    /// Records per GetRecords call (≤ 10 000).
    #[serde(default = "defaults::max_records")]
    pub max_records: u32,
    /// A shard lease not renewed for this long may be taken by another worker.
    #[serde(default = "defaults::lease_duration")]
    pub lease_duration: Dur,
    /// Checkpoints are written at least this often (and after every window).
    #[serde(default = "defaults::checkpoint_interval")]
    pub checkpoint_interval: Dur,
    /// This worker's name in the lease table (default: host name, process id
    /// and a random suffix, unique per process).
    pub worker_id: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Tables {
    pub catalog: String,
    pub orders: String,
    pub features: String,
    pub checkpoints: String,
    pub audit: String,
    pub dead_letters: String,
}

impl Default for Tables {
    fn default() -> Self {
        let t = |s: &str| format!("pricestream-{s}");
        Tables {
            catalog: t("catalog"),
            orders: t("orders"),
            features: t("features"),
            checkpoints: t("checkpoints"),
            audit: t("audit"),
            dead_letters: t("dead-letters"),
        }
    }
}

/// How often the core's caches are re-read in full.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CacheConfig {
    /// The catalog (new products, attributes; prices arrive with decisions).
    pub catalog_refresh: Dur,
    /// The orders table.
    pub orders_refresh: Dur,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            catalog_refresh: Dur(60_000),
            orders_refresh: Dur(30_000),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PricerMode {
    /// `serve` runs the pricer on the features table's stream itself.
    InProcess,
    /// Another process prices (the Lambda); `serve` only waits for its decisions.
    External,
}

/// The pricer stage: where it runs and how `serve` waits for it.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PricerConfig {
    pub mode: PricerMode,
    /// Pause between GetRecords calls on the features table's stream.
    pub poll_interval: Dur,
    /// Feature records per model call.
    pub batch_size: usize,
    /// How long `serve` waits for a window's decisions before closing the
    /// next window with the prices it has (prices apply from the next window).
    pub settle_timeout: Dur,
}

impl Default for PricerConfig {
    fn default() -> Self {
        PricerConfig {
            mode: PricerMode::InProcess,
            poll_interval: Dur(250),
            batch_size: 100,
            settle_timeout: Dur(30_000),
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// Prometheus `/metrics` listens here.
    pub address: String,
    /// `text` or `json` logs.
    pub log_format: String,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            address: "127.0.0.1:9898".into(),
            log_format: "text".into(),
        }
    }
}

mod defaults {
    use super::*;
    pub fn shards() -> u32 {
        4
    }
    pub fn start() -> StartPosition {
        StartPosition::TrimHorizon
    }
    pub fn poll() -> Dur {
        Dur(250)
    }
    pub fn max_records() -> u32 {
        10_000
    }
    pub fn lease_duration() -> Dur {
        Dur(10_000)
    }
    pub fn checkpoint_interval() -> Dur {
        Dur(10_000)
    }
}

/// A configuration problem: where (file or variable) and which key.
#[derive(Debug, thiserror::Error)]
#[error("{source_name}: {key}{message}")]
pub struct ConfigError {
    pub source_name: String,
    /// "`stream.poll_interval`: " or empty.
    pub key: String,
    pub message: String,
}

fn err(source: &str, key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        source_name: source.to_string(),
        key: if key.is_empty() {
            String::new()
        } else {
            format!("`{key}`: ")
        },
        message: message.into(),
    }
}

const SECTIONS: [&str; 9] = [
    "aws",
    "stream",
    "tables",
    "pipeline",
    "caches",
    "model",
    "guardrails",
    "pricer",
    "metrics",
];

/// An endpoint URL must be `http(s)://host[:port][/path]`: checked at load,
/// not at the first request (where the SDK's error is a page of debug output).
fn check_endpoint(u: &str) -> Result<(), String> {
    let url = url::Url::parse(u).map_err(|e| format!("{u:?} is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return Err(format!(
            "{u:?} must be http:// or https:// with a host, e.g. \"http://127.0.0.1:5000\""
        ));
    }
    Ok(())
}

/// The file line of the key a deserialization error names, if the key is
/// in the file (it may come from a `PRICESTREAM_*` variable instead).
fn line_of(text: &str, path: &serde_path_to_error::Path) -> Option<usize> {
    use serde_path_to_error::Segment;
    let root = toml::de::DeTable::parse(text).ok()?;
    let mut segments = path.iter().filter(|s| !matches!(s, Segment::Unknown));
    let Some(Segment::Map { key }) = segments.next() else {
        return None;
    };
    let mut node = root.get_ref().get(key.as_str())?;
    for segment in segments {
        node = match segment {
            Segment::Map { key } => node.get_ref().get(key.as_str())?,
            Segment::Seq { index } => node.get_ref().get(*index)?,
            Segment::Enum { .. } | Segment::Unknown => continue,
        };
    }
    Some(
        text[..node.span().start.min(text.len())]
            .matches('\n')
            .count()
            + 1,
    )
}

impl Config {
    /// Reads `path`, applies `PRICESTREAM_*` variables from `env`, validates.
    pub fn load(
        path: &Path,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| err(&file, "", format!("cannot read: {e}")))?;
        Config::parse(&text, &file, env)
    }

    pub fn parse(
        text: &str,
        file: &str,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let mut table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
            err(
                file,
                "",
                format!(
                    "{}{}",
                    e.message(),
                    line.map(|l| format!(" (line {l})")).unwrap_or_default()
                ),
            )
        })?;
        for (var, value) in env {
            let Some(rest) = var.strip_prefix("PRICESTREAM_") else {
                continue;
            };
            let rest = rest.to_lowercase();
            let Some(section) = SECTIONS.iter().find(|s| rest.starts_with(&format!("{s}_"))) else {
                return Err(err(
                    &var,
                    "",
                    format!(
                        "unknown section; variables are PRICESTREAM_<{}>_<KEY>",
                        SECTIONS.join("|").to_uppercase()
                    ),
                ));
            };
            let key = &rest[section.len() + 1..];
            let parsed = format!("v = {value}")
                .parse::<toml::Table>()
                .ok()
                .and_then(|mut t| t.remove("v"))
                .unwrap_or(toml::Value::String(value.clone()));
            let entry = table
                .entry(section.to_string())
                .or_insert_with(|| toml::Value::Table(Default::default()));
            match entry {
                toml::Value::Table(t) => {
                    t.insert(key.to_string(), parsed);
                }
                _ => return Err(err(&var, section, "is not a section in the file")),
            }
        }
        // The path names the key of a type error or a missing field.
        let config: Config =
            serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|e| {
                let key = e.path().to_string();
                let key = if key == "." { String::new() } else { key };
                let at = line_of(text, e.path())
                    .map(|l| format!(" (line {l})"))
                    .unwrap_or_default();
                err(file, &key, format!("{}{at}", e.inner().message()))
            })?;
        config.validate(file)?;
        Ok(config)
    }

    fn validate(&self, file: &str) -> Result<(), ConfigError> {
        if let Some(u) = &self.aws.endpoint_url {
            check_endpoint(u).map_err(|m| err(file, "aws.endpoint_url", m))?;
        }
        let s = &self.stream;
        if s.name.is_empty() {
            return Err(err(file, "stream.name", "must not be empty"));
        }
        if !(1..=500).contains(&s.shards) {
            return Err(err(
                file,
                "stream.shards",
                format!("must be 1 to 500, got {}", s.shards),
            ));
        }
        if s.poll_interval.0 < 200 {
            return Err(err(
                file,
                "stream.poll_interval",
                "must be at least 200ms (Kinesis allows 5 GetRecords calls per second per shard)",
            ));
        }
        if !(1..=10_000).contains(&s.max_records) {
            return Err(err(
                file,
                "stream.max_records",
                "must be 1 to 10000 (the GetRecords limit)",
            ));
        }
        match (s.start_position, &s.start_timestamp) {
            (StartPosition::AtTimestamp, None) => {
                return Err(err(
                    file,
                    "stream.start_timestamp",
                    "is required with start_position = \"at_timestamp\"",
                ));
            }
            (_, Some(t)) if pipeline::time::parse_rfc3339(t).is_none() => {
                return Err(err(
                    file,
                    "stream.start_timestamp",
                    format!("{t:?} is not RFC 3339"),
                ));
            }
            _ => {}
        }
        if let ModelSpec::Onnx { threads: 0, .. } = self.model {
            return Err(err(file, "model.threads", "must be at least 1"));
        }
        if !(1..=10_000).contains(&self.pricer.batch_size) {
            return Err(err(file, "pricer.batch_size", "must be 1 to 10000"));
        }
        if !["text", "json"].contains(&self.metrics.log_format.as_str()) {
            return Err(err(
                file,
                "metrics.log_format",
                "must be \"text\" or \"json\"",
            ));
        }
        if self
            .metrics
            .address
            .parse::<std::net::SocketAddr>()
            .is_err()
        {
            return Err(err(
                file,
                "metrics.address",
                format!("{:?} is not host:port", self.metrics.address),
            ));
        }
        self.pipeline
            .validate()
            .map_err(|e| err(file, &format!("pipeline.{}", e.key), e.message))?;
        self.guardrails
            .validate()
            .map_err(|e| err(file, &format!("guardrails.{}", e.key), e.message))?;
        Ok(())
    }

    /// How often the core's catalog and orders caches are re-read.
    pub fn refresh(&self) -> (Millis, Millis) {
        (self.caches.catalog_refresh.0, self.caches.orders_refresh.0)
    }
}
