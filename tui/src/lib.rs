//! pricestream's live terminal UI (ratatui): prices, demand and decisions
//! as the closed loop runs. Rendering is a pure function of the UI state and
//! a snapshot of the loop; the host runs the loop on its own thread and
//! exchanges only latest-state snapshots and commands with the UI.

pub mod app;
pub mod host;
pub mod live;
pub mod snapshot;
pub mod ui;

pub use app::{App, Command, Sort};
pub use host::Simulation;
pub use live::{LiveView, Progress};
pub use snapshot::{DecisionLine, Rates, Snapshot, Tracker};
