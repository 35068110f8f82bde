//! The pure rules afk's host, client and forges share with its decisions:
//! what text may cross an edge (a terminal, a forge, a prompt), when an app
//! token is reused or exchanged, how long a `Retry-After` says to wait, which
//! `Link` stays under the API root, which lists a write made stale, and how
//! much of a review afk keeps. Like afk-core (which re-exports every module
//! here under the same name, so `afk_core::sanitize` still reads as it did):
//! no I/O, no clock, table tests. A crate of its own so that an edit to a
//! decision in afk-core rebuilds neither the host nor the client nor the
//! forges.

pub mod app_token;
pub mod azure;
pub mod blocked_by;
pub mod edits;
pub mod redact;
pub mod retry_after;
pub mod revalidate;
pub mod review_bounds;
pub mod sanitize;
pub mod secrets;
pub mod tracker;
