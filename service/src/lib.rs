//! pricestream's production mode (in progress): the service configuration,
//! AWS clients and `aws init` (stream and tables) now; the Kinesis consumer,
//! DynamoDB adapters, the `serve` driver and the Lambda pricer next.

#[cfg(feature = "aws")]
pub mod aws;
pub mod config;
#[cfg(feature = "aws")]
pub mod consumer;
#[cfg(feature = "aws")]
pub mod dlq;
#[cfg(feature = "aws")]
pub mod leases;
pub mod moto;
#[cfg(feature = "aws")]
pub mod produce;
pub mod shards;
#[cfg(feature = "aws")]
pub mod tables;

pub use config::{Config, ConfigError};
