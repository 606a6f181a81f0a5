//! pricestream's shopper simulator.
//!
//! Seeded and event-driven in simulated time: sessions arrive as a
//! non-homogeneous Poisson process with daily and weekly shape plus Hawkes
//! trend bursts, walk a view → click → cart → purchase funnel whose purchase
//! step reads the live catalog price, buy from stock, and emit the exact
//! click-event bytes of the wire contract on product-keyed partitions.
//! Faults can be injected and are counted; an oracle gives the best price
//! per product and window. Scenarios are TOML files (docs/scenarios.md).

mod alias;
pub mod demand;
pub mod engine;
pub mod faults;
pub mod hawkes;
pub mod oracle;
pub mod outcome;
pub mod output;
pub mod plan;
pub mod planner;
pub mod scenario;
pub mod shop;
pub mod stats;
pub mod traffic;
pub mod wire;

pub use engine::{RecordSink, Simulator};
pub use faults::FaultCounts;
pub use oracle::OracleRecord;
pub use outcome::ProductOutcome;
pub use scenario::{Scenario, ScenarioError};
pub use shop::Shop;
pub use stats::SimStats;
