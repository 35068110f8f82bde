//! The status room: what afk shows a team of itself, pure. The command
//! layer reads the state file into plain values; these rooms decide the
//! words, the figures and the page.
//!
//! - [`page`]: the status page (`afk status --html`), one self-contained
//!   HTML file, with its tick health ([`health`]) and its escaping
//!   ([`html`]);
//! - [`issue`]: the status issue, the page's Markdown twin on the forge;
//! - [`text`]: what `afk status` says in words;
//! - [`report`]: the pilot figures (`afk report`, the page's "Pilot
//!   figures", the metrics file's gauges), with [`leaderboard`]'s four
//!   figures as the published agent leaderboards define them.

pub mod health;
pub mod html;
pub mod issue;
pub mod leaderboard;
pub mod page;
pub mod report;
pub mod text;
