//! pricestream's production mode (in progress): the service configuration
//! now; the AWS resources, the Kinesis consumer, DynamoDB adapters, the
//! `serve` driver and the Lambda pricer next.

pub mod config;

pub use config::{Config, ConfigError};
