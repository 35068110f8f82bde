//! The box's own lines: what the keeper and the gateway say on
//! stderr, after `afk box:`, through the redacting sink (a file of its own,
//! so the programs that say them need not name each other).

/// How the box's own lines begin (`core::box_reason` reads them back).
pub(super) const SAID: &str = crate::core::box_reason::AFK_BOX;

/// The keeper's and the gateway's own line on stderr, after
/// `afk box:`, through the redacting sink.
pub(super) fn say(msg: &str) {
    afk_host::say::err(&format!("{SAID} {msg}"));
}

/// The line that says why the keeper or the gateway ends the turn, `afk
/// box: the turn ends: WHY` (`core::box_reason`): the turn's escalation and
/// `afk runs show` lead with it.
pub(super) fn say_turn_ends(why: &str) {
    say(&crate::core::box_reason::ends(why));
}
