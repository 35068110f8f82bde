//! [`fan_out`]: work over a list with a bounded number of threads, results
//! in the list's order (a tick's repos, its revalidations).

use std::sync::atomic::{AtomicUsize, Ordering};

/// Run `f` over `items` with at most `concurrency` in flight; results keep
/// input order. Started inside a [`crate::first_in_line`] read (a project's
/// query and its batch reads), its workers' requests are first in line too.
/// Each item is a chain of work of its own, in the items' order
/// ([`crate::rate::in_chain`]: an earlier item's requests go first), unless
/// the fan-out is part of one already: then every item is of that one.
pub fn fan_out<T: Sync, R: Send>(
    items: &[T],
    concurrency: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let inherited = crate::rate::chain();
    let base = match inherited {
        Some(_) => 0,
        None => crate::rate::new_chains(items.len()),
    };
    let one =
        |i: usize| crate::rate::in_chain(inherited.unwrap_or(base + i as u64), || f(&items[i]));
    let n = concurrency.max(1).min(items.len().max(1));
    if n <= 1 || items.len() <= 1 {
        return (0..items.len()).map(one).collect();
    }
    let next = AtomicUsize::new(0);
    let results: Vec<std::sync::Mutex<Option<R>>> =
        items.iter().map(|_| std::sync::Mutex::new(None)).collect();
    let first = crate::rate::is_first_in_line();
    let work = || {
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= items.len() {
                break;
            }
            let r = one(i);
            *results[i].lock().unwrap() = Some(r);
        }
    };
    std::thread::scope(|s| {
        for _ in 0..n {
            s.spawn(|| match first {
                true => crate::first_in_line(work),
                false => work(),
            });
        }
    });
    results
        .into_iter()
        .map(|m| m.into_inner().unwrap().expect("every item ran"))
        .collect()
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fan_out_keeps_order_and_bounds_concurrency() {
        let live = AtomicUsize::new(0);
        let peak = AtomicUsize::new(0);
        let items: Vec<usize> = (0..40).collect();
        let out = fan_out(&items, 4, |i| {
            let now = live.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            std::thread::yield_now();
            live.fetch_sub(1, Ordering::SeqCst);
            i * 2
        });
        assert_eq!(out, items.iter().map(|i| i * 2).collect::<Vec<_>>());
        assert!(peak.load(Ordering::SeqCst) <= 4);
    }

    #[test]
    fn a_fan_out_inside_a_read_first_in_line_keeps_its_standing_in_every_worker() {
        let items: Vec<usize> = (0..6).collect();
        // (started first in line, what each worker's requests are)
        for (first, want) in [(true, true), (false, false)] {
            let run = || fan_out(&items, 3, |_| crate::rate::is_first_in_line());
            let got = match first {
                true => crate::first_in_line(run),
                false => run(),
            };
            assert_eq!(
                got,
                vec![want; items.len()],
                "started first in line: {first}"
            );
        }
        assert!(
            !crate::rate::is_first_in_line(),
            "the standing ends with the read"
        );
    }

    #[test]
    fn each_item_of_a_fan_out_is_a_chain_of_its_own_in_order_and_a_nested_one_keeps_its_chain() {
        let items: Vec<usize> = (0..5).collect();
        // (concurrency: threads, or the caller's own thread)
        for concurrency in [1, 3] {
            let got = fan_out(&items, concurrency, |_| {
                let mine = crate::rate::chain();
                let nested = fan_out(&[0, 1, 2], 2, |_| crate::rate::chain());
                (mine, nested)
            });
            let chains: Vec<u64> = got.iter().map(|(c, _)| c.expect("a chain")).collect();
            assert!(
                chains.windows(2).all(|w| w[1] == w[0] + 1),
                "in the items' order: {chains:?}"
            );
            for (mine, nested) in &got {
                assert_eq!(
                    nested,
                    &vec![*mine; 3],
                    "a nested fan-out is its item's chain"
                );
            }
            assert_eq!(
                crate::rate::chain(),
                None,
                "the chain ends with the fan-out"
            );
        }
    }
}
