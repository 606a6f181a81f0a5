//! `replay`, the file host of the core. The other hosts (the workbench's
//! closed loop, the AWS service) live in their own crates; every host drives
//! the core through [`crate::host::Driver`].

pub mod replay;
