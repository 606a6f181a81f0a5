//! File I/O around the core (NDJSON, CSV and JSON tables). The DynamoDB and
//! Kinesis adapters are in the service crate.

pub mod files;
