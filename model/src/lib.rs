//! pricestream's price models behind `pipeline::PriceModel`: ONNX Runtime,
//! SageMaker (feature `sagemaker`), the rule baseline and the static control. Models propose a price ratio
//! (target / base price) per feature record; the pipeline's pricer applies
//! the guardrails.

pub mod backend;
pub mod baselines;
pub mod contract;
pub mod onnx;
pub mod planning;
pub mod rules;
#[cfg(feature = "sagemaker")]
pub mod sagemaker;

pub use backend::{BoxedModel, ContentType, ModelSpec, SageMakerSpec};
pub use baselines::{StaticOptModel, TrendRuleModel};
pub use onnx::{OnnxError, OnnxModel};
pub use planning::{FanParams, PlanParams, PlanningModel};
pub use rules::{FixedRatioModel, RulesModel, StaticModel};
#[cfg(feature = "sagemaker")]
pub use sagemaker::{SageMakerConfig, SageMakerModel};
