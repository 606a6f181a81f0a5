//! SageMaker backend: InvokeEndpoint through the official SDK.
//!
//! Batches are split to stay under the 6 MB payload limit; CSV (`text/csv`,
//! one row per record) or JSON (`{"instances": [[…], …]}`) bodies; the SDK's
//! standard retry strategy handles throttling and 5xx with exponential
//! backoff, and an operation timeout bounds each call. A response that does
//! not hold one number per record is a clear error, never a guess. The
//! feature contract comes from configuration (the endpoint cannot tell).

use std::time::Duration;

use aws_sdk_sagemakerruntime::Client;
use aws_sdk_sagemakerruntime::error::SdkError;
use aws_sdk_sagemakerruntime::operation::invoke_endpoint::InvokeEndpointError;
use aws_smithy_types::Blob;
use pipeline::{FeatureRecord, ModelError, PriceModel};

use crate::backend::ContentType;
use crate::contract;

/// SageMaker's InvokeEndpoint payload limit.
pub const MAX_PAYLOAD: usize = 6 * 1024 * 1024;

/// How to call the endpoint, and the features it was trained on.
#[derive(Clone, Debug)]
pub struct SageMakerConfig {
    pub endpoint: String,
    /// Overrides the SageMaker runtime endpoint (`aws.endpoint_url`; emulators).
    pub endpoint_url: Option<String>,
    pub content_type: ContentType,
    /// The endpoint model's feature list and version (checked against the pipeline's).
    pub features: Vec<String>,
    pub features_version: String,
    /// Per call, retries included.
    pub timeout: Duration,
    /// Attempts per call (1 = no retries).
    pub max_attempts: u32,
    pub initial_backoff: Duration,
    /// Largest request body; at most `MAX_PAYLOAD`.
    pub max_payload: usize,
}

impl SageMakerConfig {
    /// Defaults for an endpoint trained on the pipeline's current features.
    pub fn new(endpoint: impl Into<String>) -> SageMakerConfig {
        SageMakerConfig {
            endpoint: endpoint.into(),
            endpoint_url: None,
            content_type: ContentType::Csv,
            features: pipeline::FEATURE_NAMES
                .iter()
                .map(|s| s.to_string())
                .collect(),
            features_version: pipeline::FEATURES_VERSION.to_string(),
            timeout: Duration::from_secs(10),
            max_attempts: 4,
            initial_backoff: Duration::from_millis(100),
            max_payload: MAX_PAYLOAD,
        }
    }
}

pub struct SageMakerModel {
    client: Client,
    runtime: tokio::runtime::Runtime,
    config: SageMakerConfig,
    version: String,
}

impl SageMakerModel {
    /// Credentials and region from the AWS default chain, built by the
    /// project's one client setup (`awsclient`): the config's
    /// `endpoint_url` (or `AWS_ENDPOINT_URL`) for emulators, this backend's
    /// retries and timeout.
    pub fn connect(config: SageMakerConfig) -> Result<SageMakerModel, String> {
        let rt = awsclient::runtime()?;
        let options = awsclient::ClientOptions {
            endpoint_url: config.endpoint_url.clone(),
            max_attempts: config.max_attempts,
            initial_backoff: config.initial_backoff,
            operation_timeout: Some(config.timeout),
        };
        let sdk = awsclient::load(&rt, &options)?;
        SageMakerModel::with_client(Client::new(&sdk), config, rt)
    }

    /// With a given client (tests use mocked ones).
    pub fn with_client(
        client: Client,
        config: SageMakerConfig,
        runtime: tokio::runtime::Runtime,
    ) -> Result<SageMakerModel, String> {
        let names: Vec<&str> = config.features.iter().map(String::as_str).collect();
        contract::check(&names, &config.features_version)
            .map_err(|e| format!("SageMaker endpoint {}: {e}", config.endpoint))?;
        if config.max_payload == 0 || config.max_payload > MAX_PAYLOAD {
            return Err(format!("max_payload must be 1 to {MAX_PAYLOAD} bytes"));
        }
        Ok(SageMakerModel {
            version: format!("sagemaker:{}", config.endpoint),
            client,
            runtime,
            config,
        })
    }

    /// A runtime for [`SageMakerModel::with_client`] (tests of mocked clients).
    pub fn new_runtime() -> Result<tokio::runtime::Runtime, String> {
        awsclient::runtime()
    }

    /// Request bodies, each within `max_payload`, with their row counts.
    fn bodies(&self, records: &[FeatureRecord]) -> Result<Vec<(Vec<u8>, usize)>, ModelError> {
        let (head, sep, tail) = match self.config.content_type {
            ContentType::Csv => ("", "", ""),
            ContentType::Json => ("{\"instances\":[", ",", "]}"),
        };
        let row = |r: &FeatureRecord| {
            let values = r
                .features
                .iter()
                .map(|v| v.to_string())
                .collect::<Vec<_>>()
                .join(",");
            match self.config.content_type {
                ContentType::Csv => values + "\n",
                ContentType::Json => format!("[{values}]"),
            }
        };
        let limit = self.config.max_payload;
        let mut bodies = Vec::new();
        let (mut body, mut rows) = (String::from(head), 0usize);
        for r in records {
            let line = row(r);
            let needed = body.len() + sep.len() + line.len() + tail.len();
            if rows > 0 && needed > limit {
                body.push_str(tail);
                bodies.push((
                    std::mem::replace(&mut body, String::from(head)).into_bytes(),
                    rows,
                ));
                rows = 0;
            }
            if head.len() + line.len() + tail.len() > limit {
                return Err(ModelError::fatal(format!(
                    "one record needs {} bytes, over max_payload {limit}",
                    line.len()
                )));
            }
            if rows > 0 {
                body.push_str(sep);
            }
            body.push_str(&line);
            rows += 1;
        }
        body.push_str(tail);
        bodies.push((body.into_bytes(), rows));
        Ok(bodies)
    }

    fn invoke(&self, body: Vec<u8>, rows: usize) -> Result<Vec<f32>, ModelError> {
        let call = self
            .client
            .invoke_endpoint()
            .endpoint_name(&self.config.endpoint)
            .content_type(self.config.content_type.mime())
            .accept("application/json, text/csv")
            .body(Blob::new(body))
            .send();
        let out = self
            .runtime
            .block_on(call)
            .map_err(|e| classify(&self.config.endpoint, e))?;
        let bytes = out.body().map(|b| b.as_ref()).unwrap_or_default();
        parse_response(bytes, rows).map_err(|e| {
            ModelError::fatal(format!(
                "malformed response from SageMaker endpoint {}: {e}",
                self.config.endpoint
            ))
        })
    }
}

/// Names whose fault a failed call was, and whether trying again could help
/// (the project's one classification of SDK errors).
fn classify(endpoint: &str, e: SdkError<InvokeEndpointError>) -> ModelError {
    let e = awsclient::AwsError::new(format!("SageMaker endpoint {endpoint}"), &e);
    let retryable = e.fault.retryable();
    let what = if retryable {
        "failed after retries"
    } else {
        "failed"
    };
    ModelError {
        message: format!("{}: {what}: {}", e.operation, e.message),
        retryable,
    }
}

/// One number per row: CSV/lines, a JSON array (of numbers or one-element
/// arrays), or `{"predictions": [...]}` (numbers, arrays or `{"score": x}`).
pub fn parse_response(body: &[u8], rows: usize) -> Result<Vec<f32>, String> {
    let text = std::str::from_utf8(body).map_err(|_| "the body is not UTF-8".to_string())?;
    let trimmed = text.trim();
    let values: Vec<f32> = if trimmed.starts_with('[') || trimmed.starts_with('{') {
        let v: serde_json::Value =
            serde_json::from_str(trimmed).map_err(|e| format!("invalid JSON: {e}"))?;
        let list = match &v {
            serde_json::Value::Array(a) => a,
            serde_json::Value::Object(o) => o
                .get("predictions")
                .and_then(|p| p.as_array())
                .ok_or("a JSON object without a `predictions` array")?,
            _ => return Err("unexpected JSON".into()),
        };
        list.iter()
            .map(|x| {
                let n = match x {
                    serde_json::Value::Array(a) if a.len() == 1 => a[0].as_f64(),
                    serde_json::Value::Object(o) => o.get("score").and_then(|s| s.as_f64()),
                    other => other.as_f64(),
                };
                n.map(|n| n as f32)
                    .ok_or_else(|| format!("not a number: {x}"))
            })
            .collect::<Result<_, _>>()?
    } else {
        trimmed
            .split(['\n', ','])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| s.parse::<f32>().map_err(|_| format!("not a number: {s:?}")))
            .collect::<Result<_, _>>()?
    };
    if values.len() != rows {
        return Err(format!("{} values for {rows} records", values.len()));
    }
    Ok(values)
}

impl PriceModel for SageMakerModel {
    fn version(&self) -> &str {
        &self.version
    }

    fn predict(&mut self, records: &[FeatureRecord]) -> Result<Vec<f32>, ModelError> {
        if records.is_empty() {
            return Ok(Vec::new());
        }
        let mut out = Vec::with_capacity(records.len());
        for (body, rows) in self.bodies(records)? {
            out.extend(self.invoke(body, rows)?);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_in_every_common_shape() {
        assert_eq!(parse_response(b"1.1\n0.9\n", 2).unwrap(), vec![1.1, 0.9]);
        assert_eq!(parse_response(b"1.1,0.9", 2).unwrap(), vec![1.1, 0.9]);
        assert_eq!(parse_response(b"[1.1, 0.9]", 2).unwrap(), vec![1.1, 0.9]);
        assert_eq!(parse_response(b"[[1.1],[0.9]]", 2).unwrap(), vec![1.1, 0.9]);
        assert_eq!(
            parse_response(br#"{"predictions":[{"score":1.1},0.9]}"#, 2).unwrap(),
            vec![1.1, 0.9]
        );
        assert!(
            parse_response(b"1.1", 2)
                .unwrap_err()
                .contains("1 values for 2 records")
        );
        assert!(
            parse_response(b"{\"oops\":1}", 1)
                .unwrap_err()
                .contains("predictions")
        );
        assert!(
            parse_response(b"NaNx", 1)
                .unwrap_err()
                .contains("not a number")
        );
        assert!(parse_response(&[0xff], 1).unwrap_err().contains("UTF-8"));
    }
}
