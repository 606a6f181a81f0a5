//! pricestream's price models behind `pipeline::PriceModel`: ONNX Runtime,
//! the rule baseline and the static control. Models propose a price ratio
//! (target / base price) per feature record; the pipeline's pricer applies
//! the guardrails.

pub mod contract;
pub mod onnx;
pub mod rules;

pub use onnx::{OnnxError, OnnxModel};
pub use rules::{RulesModel, StaticModel};
