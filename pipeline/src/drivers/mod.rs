//! Hosts of the core: `replay` over files now; the simulated-time loop and the
//! AWS service later.

pub mod replay;
