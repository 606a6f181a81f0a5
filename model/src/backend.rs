//! Which model prices, as configuration names it: one tagged enum and one
//! factory for every host (the service's `[model]` section, the Lambda, and
//! the workbench's `model` policy, also through `run --config`).

use std::path::PathBuf;

use pipeline::{Millis, PriceModel};
use serde::Deserialize;

/// A model ready to price, whatever its backend.
pub type BoxedModel = Box<dyn PriceModel + Send>;

/// A model backend and its settings (`backend = "onnx" | "sagemaker" | "rules" | "plan"`).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(tag = "backend", rename_all = "snake_case", deny_unknown_fields)]
pub enum ModelSpec {
    /// An ONNX file run in process by ONNX Runtime.
    Onnx {
        path: PathBuf,
        /// Intra-op threads.
        #[serde(default = "one")]
        threads: usize,
    },
    /// A SageMaker endpoint (built with the `sagemaker` feature).
    Sagemaker(SageMakerSpec),
    /// The built-in rule baseline (no model file; for trials).
    Rules,
    /// The stock-aware `plan` policy: forecast from the feature records,
    /// then the profit-maximizing plan within the stock (`PlanParams`).
    Plan(crate::PlanParams),
}

fn one() -> usize {
    1
}

/// How to call a SageMaker endpoint, and the features its model was trained on.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SageMakerSpec {
    pub endpoint: String,
    #[serde(default)]
    pub content_type: ContentType,
    /// The endpoint model's features, when they differ from the pipeline's (they must not).
    pub features: Option<Vec<String>>,
    pub features_version: Option<String>,
    /// Per call, retries included.
    #[serde(default = "ten_seconds", with = "pipeline::time::duration")]
    pub timeout: Millis,
    /// Attempts per call (1 = no retries).
    #[serde(default = "four")]
    pub max_attempts: u32,
}

fn ten_seconds() -> Millis {
    10_000
}

fn four() -> u32 {
    4
}

/// The request body an endpoint takes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContentType {
    #[default]
    Csv,
    Json,
}

impl ContentType {
    pub fn mime(self) -> &'static str {
        match self {
            ContentType::Csv => "text/csv",
            ContentType::Json => "application/json",
        }
    }
}

impl ModelSpec {
    /// An ONNX file with one thread (the workbench's `--model PATH`).
    pub fn onnx(path: impl Into<PathBuf>) -> ModelSpec {
        ModelSpec::Onnx {
            path: path.into(),
            threads: 1,
        }
    }

    /// Loads the model; `endpoint_url` overrides AWS endpoints (emulators).
    /// The error says what to fix (a path, the ONNX Runtime library, the
    /// feature contract, a missing region).
    pub fn load(&self, endpoint_url: Option<&str>) -> Result<BoxedModel, String> {
        match self {
            ModelSpec::Rules => Ok(Box::new(crate::RulesModel::default())),
            ModelSpec::Onnx { path, threads } => crate::OnnxModel::load(path, *threads)
                .map(|m| Box::new(m) as BoxedModel)
                .map_err(|e| e.to_string()),
            ModelSpec::Sagemaker(spec) => load_sagemaker(spec, endpoint_url),
            ModelSpec::Plan(params) => {
                crate::PlanningModel::new(params.clone()).map(|m| Box::new(m) as BoxedModel)
            }
        }
    }
}

#[cfg(feature = "sagemaker")]
fn load_sagemaker(spec: &SageMakerSpec, endpoint_url: Option<&str>) -> Result<BoxedModel, String> {
    let mut c = crate::SageMakerConfig::new(&spec.endpoint);
    c.content_type = spec.content_type;
    if let Some(f) = &spec.features {
        c.features = f.clone();
    }
    if let Some(v) = &spec.features_version {
        c.features_version = v.clone();
    }
    c.timeout = std::time::Duration::from_millis(spec.timeout.max(0) as u64);
    c.max_attempts = spec.max_attempts;
    c.endpoint_url = endpoint_url.map(str::to_string);
    crate::SageMakerModel::connect(c).map(|m| Box::new(m) as BoxedModel)
}

#[cfg(not(feature = "sagemaker"))]
fn load_sagemaker(spec: &SageMakerSpec, _: Option<&str>) -> Result<BoxedModel, String> {
    Err(format!(
        "SageMaker endpoint {}: this build has no SageMaker backend (the `sagemaker` feature of pricestream-model)",
        spec.endpoint
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ModelSpec, String> {
        serde_json::from_str(text).map_err(|e| e.to_string())
    }

    #[test]
    fn each_backend_reads_its_own_keys_with_defaults() {
        assert_eq!(
            parse(r#"{"backend": "onnx", "path": "m.onnx"}"#).unwrap(),
            ModelSpec::onnx("m.onnx")
        );
        assert_eq!(parse(r#"{"backend": "rules"}"#).unwrap(), ModelSpec::Rules);
        let ModelSpec::Sagemaker(s) =
            parse(r#"{"backend": "sagemaker", "endpoint": "p", "timeout": "2s"}"#).unwrap()
        else {
            panic!("not sagemaker");
        };
        assert_eq!((s.timeout, s.max_attempts), (2_000, 4));
        assert_eq!(s.content_type, ContentType::Csv);
    }

    #[test]
    fn a_key_of_another_backend_or_a_missing_one_is_an_error_naming_it() {
        let e = parse(r#"{"backend": "onnx", "path": "m.onnx", "endpoint": "p"}"#).unwrap_err();
        assert!(e.contains("endpoint"), "{e}");
        let e = parse(r#"{"backend": "onnx"}"#).unwrap_err();
        assert!(e.contains("path"), "{e}");
        let e = parse(r#"{"backend": "tensorflow"}"#).unwrap_err();
        assert!(e.contains("tensorflow") && e.contains("onnx"), "{e}");
    }

    #[test]
    fn the_factory_loads_rules_and_names_a_missing_file() {
        assert_eq!(ModelSpec::Rules.load(None).unwrap().version(), "rules:v1");
        let plan = parse(r#"{"backend": "plan", "elasticity": -2.0, "fans": {"wtp_median": 1.6}}"#)
            .unwrap();
        assert_eq!(plan.load(None).unwrap().version(), "plan:v1");
        let e = parse(r#"{"backend": "plan", "elasticity": 1.0}"#)
            .unwrap()
            .load(None)
            .err()
            .unwrap();
        assert!(e.contains("`elasticity`"), "{e}");
        let e = ModelSpec::onnx("/nonexistent/m.onnx")
            .load(None)
            .err()
            .unwrap();
        assert!(e.contains("/nonexistent/m.onnx"), "{e}");
    }
}
