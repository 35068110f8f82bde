//! One HTTP helper for every forge call: per-request timeout, retries with
//! backoff (connect errors, 5xx, 429 and secondary rate limits honouring
//! `Retry-After` within the tick's wait budget), pagination in the caller's
//! style (`page`/`limit` or `Link` + `per_page`), the rate limit read from
//! every answer by the style's [`RateRule`] (a primary limit spent: no more
//! requests this tick; metered use slowed: no more optional reads), conditional GETs
//! through a [`ConditionalCache`], request counters, and errors that name
//! method, path and status, never the token.
//!
//! Its own crate (`afk-http`), with the one client builder (`client`) and the
//! one `Link` parser (`link`): below the forges, the agent-thread runner and
//! the registry, it names none of them, nor the store or a command. The
//! binary re-exports it as `afk::forge::http` (and `afk::client`, `afk::link`).
//!
//! This file only names the rooms and hands their names on. One job a
//! file: `http.rs` (the client [`Http`] and how it is built), `send.rs` (a
//! call on the wire and its tries; the one room that sends), `paging.rs`
//! (lists page by page), `cache.rs` (conditional GETs), `token.rs` (the
//! token in hand, its one refresh), `rate.rs` (the rate limit and the
//! requests in flight), `errors.rs` (what a failed call says), `failure.rs`
//! (the failure types and their [`Reason`]), `bounded.rs` (bodies read
//! within bounds), `stale.rs` (what a write made stale), `fan_out.rs`,
//! `path.rs`.

pub mod bounded;
mod cache;
pub mod client;
mod errors;
mod failure;
mod fan_out;
mod http;
pub mod link;
mod paging;
mod path;
mod rate;
mod send;
mod stale;
mod token;

pub use afk_model::Cached;
pub use errors::MESSAGE_MAX;
pub use failure::{Exhausted, Failure, ForgeError, LastTry, Reason, refused_text};
pub use fan_out::fan_out;
pub use http::{
    ApiStyle, ConditionalCache, Http, Paging, RateCarry, RateRule, Refresher, Response,
};
pub use link::next_link;
pub use paging::MAX_PAGES;
pub use path::{enc, repo_path};
pub use rate::{first_in_line, reset_text};
