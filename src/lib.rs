//! afk as a library: the binary (`main.rs`), the tests and the benchmark use it.
//!
//! `core` holds the pure decisions; `forge`, `runner`, `store`, `sandbox` are the
//! adapters at the edges; `commands` wires them, one file per subcommand.

#[cfg(test)]
mod layers;

pub mod cli;
pub mod clock;
pub mod commands;
pub mod config;
pub mod core;
pub mod crash;
pub mod edges;
pub mod forge;
pub mod git;
pub mod lessons;
pub mod link;
pub mod lock;
pub mod log;
pub mod metrics;
pub mod notify;
pub mod private_files;
pub mod process;
pub mod registry;
pub mod runner;
pub mod sandbox;
pub mod store;
pub mod types;
