//! File I/O around the core (NDJSON, CSV and JSON tables) and the KPL
//! aggregate codec. The DynamoDB and Kinesis adapters are in the service crate.

pub mod files;
pub mod kpl;
