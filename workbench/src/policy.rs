//! Pricing policies the workbench can run.

use std::path::PathBuf;

/// Who sets the price.
#[derive(Clone, Debug, PartialEq)]
pub enum Policy {
    /// Never changes a price (the control).
    Static,
    /// Every price held at this fraction of its base price (`static@0.9`).
    StaticAt(f32),
    /// The transparent rule baseline.
    Rules,
    /// An ONNX model file.
    Model(PathBuf),
    /// The clairvoyant oracle: knows each window's expected shoppers.
    Oracle,
}

impl Policy {
    pub fn name(&self) -> String {
        match self {
            Policy::StaticAt(r) => format!("static@{r}"),
            other => other.kind().to_string(),
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Policy::Static | Policy::StaticAt(_) => "static",
            Policy::Rules => "rules",
            Policy::Model(_) => "model",
            Policy::Oracle => "oracle",
        }
    }

    /// Parses `static`, `rules`, `model` (with `model_path`) or `oracle`.
    pub fn parse(name: &str, model_path: &std::path::Path) -> Result<Policy, String> {
        match name.trim() {
            "static" => Ok(Policy::Static),
            "rules" => Ok(Policy::Rules),
            "model" => Ok(Policy::Model(model_path.to_path_buf())),
            "oracle" => Ok(Policy::Oracle),
            other => match other.strip_prefix("static@").map(str::parse::<f32>) {
                Some(Ok(r)) if r > 0.0 && r < 20.0 => Ok(Policy::StaticAt(r)),
                _ => Err(format!(
                    "unknown policy {other:?}: use model, rules, static, static@RATIO (e.g. static@0.9) or oracle"
                )),
            },
        }
    }
}
