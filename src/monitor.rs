//! What a tick tells the world outside itself when it ends: the heartbeat,
//! the metrics file (`metrics`), the status page and issue (`page`). The
//! tick runner (`tick::run`) calls it; no command does.

use crate::session::Session;
use crate::types::TickKind;

/// A tick's monitor. A dry run tells nothing, but says what it would write
/// to the status issue.
pub struct Monitor<'a> {
    session: &'a Session,
}

impl Monitor<'_> {
    /// The monitor of a tick run on `session`.
    pub fn of(session: &Session) -> Monitor<'_> {
        Monitor { session }
    }

    /// The tick could not run at all: the heartbeat's /fail.
    pub fn failed(&self, kind: TickKind) {
        if !self.session.dry_run() {
            crate::metrics::heartbeat(self.session.config(), kind, crate::metrics::Ping::Fail);
        }
    }
    /// The tick ran: the metrics file, the heartbeat, then the status page
    /// and issue rewritten from the state (`page::after_tick`).
    pub fn ran(&self, stats: &crate::metrics::TickStats) {
        if !self.session.dry_run() {
            let s = self.session;
            crate::metrics::after_tick(s.config(), s.state_path(), stats);
        }
        crate::page::after_tick(self.session);
    }
}
