//! pricestream's workbench: runs scenarios in a closed loop (simulator →
//! streaming core → features table → pricer and policy → catalog), compares
//! pricing policies over seeds, and writes reports.

pub mod calibration;
pub mod charts;
pub mod compare;
pub mod oracle;
pub mod policy;
pub mod report;
mod report_tables;
mod report_trend;
pub mod run;
pub mod series;
pub mod summary;
pub mod training;

pub use policy::Policy;
pub use run::{ClosedLoop, RunOptions, RunResult, run};
pub use summary::Summary;
