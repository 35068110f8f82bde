//! Conditional GETs: what a [`ConditionalCache`] holds for a URL is sent as
//! `If-None-Match` (a 304 is answered from it, costing no rate limit), and
//! what this client's own writes made stale is read again once at the
//! tick's end ([`Http::revalidate`]; the ledger is `stale.rs`).

use crate::fan_out::fan_out;
use crate::http::{ConditionalCache, Http};
use crate::send::Call;
use afk_model::Cached;

impl Http {
    /// Send `If-None-Match` on every GET with what `cache` holds for its URL,
    /// and keep what answers with an `ETag`.
    pub fn set_cache(&mut self, cache: Box<dyn ConditionalCache>) {
        self.cache = Some(cache);
    }

    /// Read again, once, each conditional GET this client's own writes made
    /// stale (`core::revalidate`), at most `concurrency` at a time: GitHub's
    /// `ETag` is opaque, so only a read after the write keeps the next tick's
    /// `If-None-Match` matching. A failure is left to the next tick, which
    /// reads the list anyway. An optional read: none once an answer slowed
    /// the tick ([`Http::optional_reads`]). Returns how many were read again.
    pub fn revalidate(&self, concurrency: usize) -> usize {
        if !self.optional_reads() {
            return 0;
        }
        let stale = self.ledger.stale();
        fan_out(&stale, concurrency, |p| {
            let _ = self.send("GET", p, None);
        });
        stale.len()
    }

    /// What the cache holds for a GET (noted as read); a write is noted as
    /// one, for `revalidate`.
    pub(crate) fn cached(&self, call: &Call) -> Option<Cached> {
        match (&self.cache, call.method) {
            (Some(c), "GET") => {
                self.ledger.read(call.path);
                c.get(&call.url)
            }
            (Some(_), _) => {
                self.ledger.wrote(call.path);
                None
            }
            _ => None,
        }
    }
}
