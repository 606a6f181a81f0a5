//! I/O adapters around the core: files now; DynamoDB and Kinesis later.

pub mod files;
pub mod kpl;
