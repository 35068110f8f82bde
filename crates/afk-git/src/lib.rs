//! The git adapter of `afk upgrade` (docs/how-it-works.md#afk-upgrade): the
//! real `git`, driven through `std::process::Command`, over clones that live in
//! `upgrade.work_dir`.
//!
//! Owns: the upstream clone of a recipe (cloned once, fetched only when
//! upstream `main` moved, its work tree kept at upstream `main` and never
//! edited), upgrade commits made with plumbing (afk's identity and an
//! `Afk-Upgrade:` trailer, on top of upstream `main`, without touching the
//! work tree), pushes to the mirror with a lease, and the fixer's clone.
//!
//! The forge token reaches git only through `GIT_ASKPASS`: a small script in
//! the work dir (holding no secret) that answers only prompts for the forge's
//! own host and reads the password from a file afk writes (0600) for that one
//! git call and removes after it. The token is never in an argument, a remote
//! URL, a `.git/config` or a child's environment (where any process of the
//! same user reads it in `/proc/<pid>/environ`); credential helpers are
//! switched off for those calls so none can store it, and git follows no
//! redirect there (`http.followRedirects=false`), so it never takes the
//! credentials to another host.
//!
//! This file only names the rooms and hands their names on. One job a file:
//! `git.rs` ([`Git`] and how it is built), `run.rs` (one git process, its
//! deadline, [`Overran`]), `credential.rs` (the askpass helper and its
//! secret), `fetch.rs` (clones and fetches, [`Git::look`]), `commit.rs`
//! (plumbing commits), `push.rs` (a push under a [`Lease`]), `ops.rs` (the
//! [`GitOps`] trait the edges wrap for a dry run), `identity.rs` (afk's
//! commits), `refs.rs` (a ref read from the files); `workspace/` is the
//! agents' checkouts.

mod commit;
mod credential;
mod fetch;
mod git;
mod identity;
mod ops;
mod push;
mod refs;
mod run;
pub mod workspace;

pub use credential::{Credentials, credential_origin};
pub use fetch::{Checkout, Look, LookAt};
pub use git::{Git, MainReader};
pub use identity::{AFK_EMAIL, AFK_NAME, TRAILER, made_by_afk};
pub use ops::GitOps;
pub use push::Lease;
pub use refs::read_ref;
pub use run::Overran;
