//! pricestream's streaming core.
//!
//! Click-event bytes go in; windowed, enriched [`FeatureRecord`]s and
//! [`DeadLetter`]s come out. Everything outside [`adapters`] and [`drivers`]
//! is sans-IO: synchronous state machines that take records, the host's clock
//! reading and the reference tables, and never read a clock, sleep or touch
//! a file or the network.

pub mod aggregate;
pub mod audit;
mod byte_scan;
pub mod catalog;
pub mod config;
pub mod dead_letter;
pub mod decode;
pub mod dedup;
pub mod demand;
pub mod event;
pub mod features;
mod hold;
pub mod host;
pub mod kpl;
pub mod model;
pub mod operator;
pub mod plan;
pub mod prehashed;
pub mod pricer;
pub mod sized_writer;
pub mod stats;
pub mod tables;
pub mod time;
pub mod watermark;
pub mod window;

pub mod adapters;
pub mod drivers;

pub use catalog::{Catalog, CatalogItem, Order, OrderTotals, Orders};
pub use config::{ConfigError, PipelineConfig};
pub use dead_letter::{DeadLetter, Position, Reason, Truncation};
pub use decode::{Layout, Rejection, decode, decode_general};
pub use event::{ClickEvent, EventType, EventView};
pub use features::{FEATURE_COUNT, FEATURE_NAMES, FEATURES_VERSION, FeatureRecord};
pub use hold::{ArrivalClock, PROVISIONAL_RECORDS};
pub use host::{ClosedWindow, Driver, PriceStage, SettleError};
pub use model::{ModelError, PriceModel};
pub use operator::{Output, PartitionState, Pipeline, RawRecord};
pub use pricer::{AuditRecord, Decision, Guardrails, PriceUpdate, Pricer, Rule};
pub use stats::Stats;
pub use tables::{CatalogTable, FeaturesTable, OrdersTable};
pub use time::Millis;
pub use watermark::PartitionId;
pub use window::{Window, WindowSpec};
