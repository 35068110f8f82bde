//! afk as a library: the binary (`main.rs`), the tests and the benchmark use it.
//!
//! `core` holds the pure decisions; `forge`, `store`, `git`, `registry` and
//! `runner` are the adapters, which `edges` builds and `session` hands out;
//! `commands` holds one file or folder per subcommand, `ops` the ticks they run;
//! `sandbox` is the loopback fake the tests and the demo run against
//! (ARCHITECTURE.md's map), there only with the `test-world` feature (on by
//! default; the production build, `--no-default-features`, leaves it, `afk
//! sandbox`, `afk demo` and `example` out).

#[cfg(test)]
mod layers;

/// The pure decisions: the `afk-core` crate (crates/afk-core).
pub use afk_core as core;
/// The forges (Gitea and Forgejo, GitHub, GitLab) behind the `Forge` trait: the `afk-forge` crate (crates/afk-forge).
pub use afk_forge as forge;
/// git over afk's clones (upgrade's, and the agents' checkouts in `git::workspace`): the `afk-git` crate (crates/afk-git).
pub use afk_git as git;
/// The clock, the log, private files and redaction (`Secret`): the `afk-host` crate (crates/afk-host).
pub use afk_host::{clock, log, private_files, redact};
/// The one client builder and the one `Link` parser: the `afk-http` crate (crates/afk-http).
pub use afk_http::{client, link};
/// The shared values and shapes: the `afk-model` crate (crates/afk-model).
pub use afk_model as types;
/// afk upgrade's container-registry adapter: the `afk-registry` crate (crates/afk-registry).
pub use afk_registry as registry;
/// The loopback fake forge, registry, cluster and model: the `afk-sandbox` crate (crates/afk-sandbox),
/// with the `test-world` feature only.
#[cfg(feature = "test-world")]
pub use afk_sandbox as sandbox;
/// The state file: the `afk-store` crate (crates/afk-store).
pub use afk_store as store;

pub mod advisories;
mod budget;
mod claims;
mod clap_values;
pub mod cli;
pub mod command_error;
pub mod commands;
pub mod config;
mod crash;
mod deadline;
pub mod document;
mod edges;
mod events;
// the world `afk demo` and `afk sandbox --example` share: test world only
#[cfg(feature = "test-world")]
mod example;
mod exit_status;
pub mod hint;
mod lessons;
pub mod lock;
mod manpage;
mod metrics;
mod notify;
pub mod ops;
pub mod output;
mod page;
pub mod process;
mod run_files;
pub mod runner;
pub mod session;
pub mod spans;
pub mod telemetry;
mod tense;
#[cfg(test)]
mod testing;
mod tick;
pub mod upstream_refs;
mod webhook;
mod workspace;
mod workspace_pod;
