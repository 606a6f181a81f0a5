//! The price-model contract: feature records in (batched), one proposed
//! price ratio (target price / base price) out per record. Backends live in
//! the `model` crate; the pricer turns proposals into guarded decisions.

use crate::features::FeatureRecord;

/// Why a model could not answer a batch.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ModelError {
    pub message: String,
    /// Worth trying again (throttling, timeouts, 5xx); otherwise a bug or bad config.
    pub retryable: bool,
}

impl ModelError {
    pub fn fatal(message: impl Into<String>) -> Self {
        ModelError {
            message: message.into(),
            retryable: false,
        }
    }

    pub fn retryable(message: impl Into<String>) -> Self {
        ModelError {
            message: message.into(),
            retryable: true,
        }
    }
}

/// A pricing model.
pub trait PriceModel {
    /// Names the model and its version in audit records, e.g. `onnx:pricing.onnx@3f2a…`.
    fn version(&self) -> &str;

    /// One proposed price ratio per record, in order. Values are checked by
    /// the pricer: NaN, infinite or absurd ratios are rejected, never applied.
    fn predict(&mut self, records: &[FeatureRecord]) -> Result<Vec<f32>, ModelError>;
}
