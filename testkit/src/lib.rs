//! Test harnesses shared across the workspace, in their own crate so that
//! no production library carries them: only dev-dependencies name it.
//!
//! - [`moto`]: moto's server on loopback (the AWS emulator the service's
//!   tests run against);
//! - [`fixtures`]: small, fixed examples of the core's records;
//! - [`tmux`]: driving a binary in a real terminal.

pub mod fixtures;
pub mod moto;
pub mod tmux;
