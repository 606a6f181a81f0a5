//! pricestream's production mode: configuration, AWS clients and `aws init`,
//! the load producer, the Kinesis consumer with leases and checkpoints, the
//! DynamoDB adapters, the pricer stage (in `serve` or as a Lambda), metrics
//! and the `serve` driver.

#[cfg(feature = "aws")]
pub mod aws;
pub mod config;
#[cfg(feature = "aws")]
pub mod consumer;
#[cfg(feature = "aws")]
pub mod dlq;
#[cfg(feature = "aws")]
pub mod error;
#[cfg(feature = "aws")]
pub mod items;
#[cfg(feature = "aws")]
pub mod lambda;
#[cfg(feature = "aws")]
pub mod leases;
#[cfg(feature = "aws")]
pub mod metrics;
#[cfg(feature = "aws")]
pub mod pricing;
#[cfg(feature = "aws")]
pub mod produce;
#[cfg(feature = "aws")]
pub mod serve;
pub mod shards;
#[cfg(feature = "aws")]
pub mod streams;
#[cfg(feature = "aws")]
pub mod tables;

pub use config::{Config, ConfigError};
