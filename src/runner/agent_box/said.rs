//! The box's own lines: what the keeper and the gateway say on
//! stderr, after `afk box:`, through the redacting sink (a file of its own,
//! so the programs that say them need not name each other).

/// How the box's own lines begin.
pub(super) const SAID: &str = "afk box:";

/// The keeper's and the gateway's own line on stderr, after
/// `afk box:`, through the redacting sink.
pub(super) fn say(msg: &str) {
    afk_host::say::err(&format!("{SAID} {msg}"));
}
