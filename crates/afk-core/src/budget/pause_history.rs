//! The checklist's lines for a run's past pauses and continuations: one
//! line per pause (`paused at $2.20 of $2.00 (budget.run_usd) since
//! …`) and one per continuation (`continued by alice: budget $2.00 →
//! $7.00`), kept after the run continues.

use super::Limit;
use crate::budget::pause::Figures;
use crate::sanitize::md_text;
use crate::types::format_duration;

/// One past pause (`continued: false`) or continuation, as the store keeps
/// it: when, the limit's key, the limit's words then (`$2.00`, `4h`), the
/// spend at a pause, who continued.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Past<'a> {
    pub continued: bool,
    pub at: &'a str,
    pub limit: &'a str,
    pub limit_words: &'a str,
    pub spend_usd: Option<f64>,
    pub who: Option<&'a str>,
}

/// The words of the limit a pause's figures stand at: the run's money limit
/// (`$2.00`), the day's cap, or the run's time limit (`4h`).
pub fn limit_words(f: &Figures) -> String {
    match f.limit {
        Limit::RunUsd => crate::budget::spend::usd(f.run_usd),
        Limit::DayUsd | Limit::RepoDayUsd => crate::budget::spend::usd(f.day_cap_usd),
        Limit::RunTime => f.run_time.map(format_duration).unwrap_or_default(),
    }
}

/// A money limit's words read back (`$2.00`, as [`limit_words`] writes
/// them); None for any other words (a time, nothing).
pub fn money(words: &str) -> Option<f64> {
    let v: f64 = words.strip_prefix('$')?.parse().ok()?;
    (v.is_finite() && v >= 0.0).then_some(v)
}

/// The checklist's lines (markdown: who and when escaped), oldest first. `paused_now`: the run is paused and
/// the checklist's own **paused** line says its last pause, which then has
/// no line here. A continuation says the limit it raised, from the pause's
/// to its own (`budget $2.00 → $7.00`, `time 4h → 6h`); nothing where the
/// limit did not move or a new UTC day continued it.
pub fn lines(past: &[Past], paused_now: bool) -> Vec<String> {
    let mut out = vec![];
    let mut from: Option<&str> = None;
    for (i, p) in past.iter().enumerate() {
        let key: String = p
            .limit
            .chars()
            .filter(|c| c.is_ascii_lowercase() || *c == '_')
            .take(40)
            .collect();
        let time = p.limit == Limit::RunTime.key();
        if !p.continued {
            from = Some(p.limit_words);
            if paused_now && i + 1 == past.len() {
                continue;
            }
            let at = match (time, p.spend_usd) {
                (true, _) => format!("after {} of work", p.limit_words),
                (false, Some(s)) => {
                    format!("at {} of {}", crate::budget::spend::usd(s), p.limit_words)
                }
                (false, None) => format!("at {}", p.limit_words),
            };
            out.push(format!(
                "paused {at} (budget.{key}) since {}",
                md_text(p.at)
            ));
            continue;
        }
        let day = Limit::parse(p.limit).is_some_and(|l| l.is_day());
        let what = if time { "time" } else { "budget" };
        let raised = match from.take() {
            Some(f) if f != p.limit_words && !day => format!(": {what} {f} → {}", p.limit_words),
            _ => String::new(),
        };
        out.push(format!(
            "continued by {}{raised}",
            md_text(p.who.unwrap_or("a maintainer"))
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_money_limits_words_read_back_and_nothing_else_does() {
        let table = [
            ("$2.00", Some(2.0)),
            ("$0.25", Some(0.25)),
            ("4h", None),
            ("", None),
            ("$", None),
            ("$-1.00", None),
            ("$NaN", None),
            ("2.00", None),
        ];
        for (words, want) in table {
            assert_eq!(money(words), want, "{words}");
        }
    }

    fn paused<'a>(limit: &'a str, words: &'a str, spend: Option<f64>) -> Past<'a> {
        Past {
            at: "T1",
            limit,
            limit_words: words,
            spend_usd: spend,
            ..Past::default()
        }
    }

    fn continued<'a>(limit: &'a str, words: &'a str, who: &'a str) -> Past<'a> {
        Past {
            continued: true,
            at: "T2",
            limit,
            limit_words: words,
            who: Some(who),
            ..Past::default()
        }
    }

    #[test]
    fn the_checklist_keeps_one_line_per_pause_and_continuation() {
        let money = [
            paused("run_usd", "$2.00", Some(2.2)),
            continued("run_usd", "$7.00", "alice"),
        ];
        let again = [
            paused("run_usd", "$2.00", Some(2.2)),
            continued("run_usd", "$7.00", "alice"),
            paused("run_usd", "$7.00", Some(7.1)),
        ];
        let time = [
            paused("run_time", "4h", None),
            continued("run_time", "6h", "bob"),
        ];
        let day = [
            paused("day_usd", "$20.00", Some(20.0)),
            continued("day_usd", "$20.00", "a new UTC day"),
        ];
        let unmoved = [
            paused("run_usd", "$2.00", Some(2.2)),
            continued("run_usd", "$2.00", "alice"),
        ];
        let cases: [(&[Past], bool, &[&str]); 7] = [
            (&[], false, &[]),
            (
                &money,
                false,
                &[
                    "paused at $2.20 of $2.00 (budget.run_usd) since T1",
                    "continued by alice: budget $2.00 → $7.00",
                ],
            ),
            // paused again: the checklist's own paused line says the last
            (
                &again,
                true,
                &[
                    "paused at $2.20 of $2.00 (budget.run_usd) since T1",
                    "continued by alice: budget $2.00 → $7.00",
                ],
            ),
            // the one current pause has no line of its own here
            (&money[..1], true, &[]),
            (
                &time,
                false,
                &[
                    "paused after 4h of work (budget.run_time) since T1",
                    "continued by bob: time 4h → 6h",
                ],
            ),
            (
                &day,
                false,
                &[
                    "paused at $20.00 of $20.00 (budget.day_usd) since T1",
                    "continued by a new UTC day",
                ],
            ),
            (
                &unmoved,
                false,
                &[
                    "paused at $2.20 of $2.00 (budget.run_usd) since T1",
                    "continued by alice",
                ],
            ),
        ];
        for (i, (past, now, want)) in cases.into_iter().enumerate() {
            assert_eq!(lines(past, now), want, "case {i}");
        }
    }
}
