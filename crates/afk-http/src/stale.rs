//! What one client (one tick) read through its conditional cache and what it
//! wrote: the reads its own writes made stale (`core::revalidate::changed_by`),
//! which `Http::revalidate` reads again once at the tick's end so that the
//! next tick's `If-None-Match` matches and costs nothing.

use std::collections::BTreeSet;
use std::sync::Mutex;

#[derive(Default)]
pub(crate) struct Ledger {
    reads: Mutex<BTreeSet<String>>,
    writes: Mutex<BTreeSet<String>>,
}

impl Ledger {
    pub(crate) fn read(&self, path: &str) {
        let mut r = self.reads.lock().unwrap();
        if !r.contains(path) {
            r.insert(path.to_string());
        }
    }

    pub(crate) fn wrote(&self, path: &str) {
        let mut w = self.writes.lock().unwrap();
        if !w.contains(path) {
            w.insert(path.to_string());
        }
    }

    /// The reads a write since the last call may have changed, each once;
    /// both sets start afresh.
    pub(crate) fn stale(&self) -> Vec<String> {
        let writes = std::mem::take(&mut *self.writes.lock().unwrap());
        let reads = std::mem::take(&mut *self.reads.lock().unwrap());
        reads
            .into_iter()
            .filter(|r| {
                writes
                    .iter()
                    .any(|w| afk_wire::revalidate::changed_by(w, r))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_reads_a_write_changed_are_stale_and_each_once() {
        let l = Ledger::default();
        l.read("/repos/a/b/issues?state=open");
        l.read("/repos/a/b/issues?state=open");
        l.read("/repos/a/b/pulls/2/reviews");
        l.read("/repos/a/b/issues/1/comments?per_page=100");
        assert!(l.stale().is_empty(), "no write, nothing stale");
        l.read("/repos/a/b/issues?state=open");
        l.read("/repos/a/b/pulls/2/reviews");
        l.wrote("/repos/a/b/issues/comments/9");
        l.wrote("/repos/a/b/issues/comments/9");
        assert_eq!(l.stale(), ["/repos/a/b/issues?state=open"]);
        assert!(l.stale().is_empty(), "started afresh");
    }
}
