//! A tick's memory of what it read once: one value a key, fetched by the
//! first caller while every other caller of that key waits for it, so a
//! read that many workers need at once (a project's work-item states, a
//! security namespace, afk's own account) is one request a tick, never one
//! a worker that raced past an empty cache. A failed fetch is not kept:
//! the next caller asks again (its error is the answer it got, typed as
//! it came). Keys of their own never wait for each other.

use anyhow::Result;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

/// Values by key, each fetched at most once while it succeeds.
pub(crate) struct Memo<K, V> {
    cells: Mutex<HashMap<K, Arc<Mutex<Option<V>>>>>,
    /// its fetches go [`crate::http::first_in_line`]: every worker of the
    /// tick needs them, not one repository's
    shared: bool,
}

impl<K: Eq + Hash, V: Clone> Default for Memo<K, V> {
    fn default() -> Self {
        Memo {
            cells: Mutex::new(HashMap::new()),
            shared: false,
        }
    }
}

impl<K: Eq + Hash, V: Clone> Memo<K, V> {
    /// A memory of what the tick's workers all wait for (a project's
    /// states, afk's own account): its fetches' requests are first in
    /// line for room under `forge.concurrency`.
    pub(crate) fn shared() -> Self {
        Memo {
            shared: true,
            ..Memo::default()
        }
    }

    /// The value of `key`: kept, or `fetch`ed now by this caller alone
    /// (another caller of `key` waits for it, then has what it kept).
    /// `fetch` must not ask this memo for the same key.
    pub(crate) fn get(&self, key: K, fetch: impl FnOnce() -> Result<V>) -> Result<V> {
        let cell = self.cells.lock().unwrap().entry(key).or_default().clone();
        let mut slot = cell.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(v) = slot.as_ref() {
            return Ok(v.clone());
        }
        let v = match self.shared {
            true => crate::http::first_in_line(fetch)?,
            false => fetch()?,
        };
        *slot = Some(v.clone());
        Ok(v)
    }

    /// Forget `key`'s value: what a write changed is read again by the
    /// next caller.
    pub(crate) fn forget(&self, key: &K) {
        self.cells.lock().unwrap().remove(key);
    }

    /// Forget every value: a write that may change any of them.
    pub(crate) fn clear(&self) {
        self.cells.lock().unwrap().clear();
    }

    /// Change every kept value in place: what a write of afk's changed,
    /// written through instead of read again. A fetch under way is waited
    /// for, then changed; a key with nothing kept is left to its fetch.
    pub(crate) fn update(&self, mut change: impl FnMut(&K, &mut V))
    where
        K: Clone,
    {
        let cells: Vec<(K, Arc<Mutex<Option<V>>>)> = (self.cells.lock().unwrap().iter())
            .map(|(k, c)| (k.clone(), c.clone()))
            .collect();
        for (key, cell) in cells {
            let mut slot = cell.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(v) = slot.as_mut() {
                change(&key, v);
            }
        }
    }

    /// The value of `key` if one was kept, without fetching or waiting
    /// for a fetch under way.
    #[cfg(test)]
    pub(crate) fn peek(&self, key: &K) -> Option<V> {
        let cell = self.cells.lock().unwrap().get(key).cloned()?;
        let slot = cell.try_lock().ok()?;
        slot.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::anyhow;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::mpsc;

    #[test]
    fn a_read_once_a_tick_is_fetched_once_and_a_failure_is_not_kept() {
        let memo: Memo<&str, u32> = Memo::default();
        let fetched = AtomicUsize::new(0);
        let fetch = |v: Result<u32>| {
            fetched.fetch_add(1, Ordering::SeqCst);
            v
        };
        // (key, what a fetch would answer, what the caller gets, fetches so far)
        let table: [(&str, Result<u32>, Option<u32>, usize); 5] = [
            ("a", Ok(1), Some(1), 1),
            ("a", Ok(2), Some(1), 1),
            ("b", Err(anyhow!("503")), None, 2),
            ("b", Ok(3), Some(3), 3),
            ("b", Ok(4), Some(3), 3),
        ];
        for (key, answer, want, count) in table {
            let got = memo.get(key, || fetch(answer)).ok();
            assert_eq!(got, want, "{key}");
            assert_eq!(fetched.load(Ordering::SeqCst), count, "{key}");
        }
        assert_eq!(memo.peek(&"a"), Some(1));
        assert_eq!(memo.peek(&"c"), None);
        // forgotten, a key is fetched again; cleared, every key
        memo.forget(&"a");
        assert_eq!(memo.peek(&"a"), None);
        assert_eq!(memo.get("a", || fetch(Ok(5))).ok(), Some(5));
        assert_eq!(fetched.load(Ordering::SeqCst), 4);
        // updated, every kept value is changed in place and none fetched
        memo.update(|k, v| *v += if *k == "a" { 10 } else { 20 });
        assert_eq!((memo.peek(&"a"), memo.peek(&"b")), (Some(15), Some(23)));
        assert_eq!(memo.get("a", || fetch(Ok(6))).ok(), Some(15));
        assert_eq!(fetched.load(Ordering::SeqCst), 4);
        memo.clear();
        assert_eq!((memo.peek(&"a"), memo.peek(&"b")), (None, None));
        memo.update(|_, v| *v += 1);
        assert_eq!(memo.peek(&"a"), None, "nothing kept, nothing made");
    }

    #[test]
    fn callers_racing_on_one_key_fetch_it_once() {
        let memo: Memo<&str, u32> = Memo::default();
        let fetched = AtomicUsize::new(0);
        let (started, first_in) = mpsc::channel();
        let (release, hold) = mpsc::channel::<()>();
        let (memo, fetched) = (&memo, &fetched);
        std::thread::scope(|s| {
            let first = s.spawn(move || {
                memo.get("states", || {
                    fetched.fetch_add(1, Ordering::SeqCst);
                    started.send(()).unwrap();
                    hold.recv().unwrap();
                    Ok(7)
                })
            });
            // the first caller is inside its fetch: every other caller of
            // the key, whenever it arrives, has its value and fetches nothing
            first_in.recv().unwrap();
            let others: Vec<_> = (0..7)
                .map(|_| {
                    s.spawn(move || {
                        memo.get("states", || {
                            fetched.fetch_add(1, Ordering::SeqCst);
                            Ok(8)
                        })
                    })
                })
                .collect();
            assert_eq!(
                memo.peek(&"states"),
                None,
                "a fetch under way is not kept yet"
            );
            release.send(()).unwrap();
            assert_eq!(first.join().unwrap().unwrap(), 7);
            for o in others {
                assert_eq!(o.join().unwrap().unwrap(), 7);
            }
        });
        assert_eq!(fetched.load(Ordering::SeqCst), 1);
    }
}
