//! `/afk budget …`: what a trusted comment asking for more money or time
//! for one run says, and what it comes to against the run's limits and the
//! config's maximum. Pure: the words after the verb in, a raise or the
//! reply's reason out. Money is whole cents, so `+5.50` twice is exactly
//! $11.00.

use crate::types::format_duration;
use std::fmt;
use std::time::Duration;

/// What a `budget` command asks, parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ask {
    /// `budget +<usd>` (`add`) or `budget <usd>`, in cents
    Money { add: bool, cents: u64 },
    /// `budget time +<duration>` (`add`) or `budget time <duration>`
    Time { add: bool, by: Duration },
}

/// The grammar a malformed command is answered with, the prefix in force
/// (`/afk`) in front of each form.
pub fn grammar(prefix: &str) -> String {
    format!(
        "{prefix} budget +<usd>  raise this run's money limit by <usd>\n\
         {prefix} budget <usd>  set this run's money limit to <usd>\n\
         {prefix} budget time +<duration>  raise this run's time limit by <duration>\n\
         {prefix} budget time <duration>  set this run's time limit to <duration>\n\
         <usd>: digits, optionally \".\" and one or two digits, optionally led by \"$\": 5, 7.5, $12.25\n\
         <duration>: a number and s, m, h or d: 90m, 2h, 1d"
    )
}

/// The words after the verb `budget` (the rest of the comment's first line,
/// any spacing between words): the ask, or None when they are not the
/// grammar (no argument, a word, a sign other than a leading `+`, zero, a
/// third decimal, an exponent, a second number, trailing words).
pub fn parse(args: &str) -> Option<Ask> {
    let words: Vec<&str> = args.split_whitespace().collect();
    match words.as_slice() {
        [time, amount] if time.eq_ignore_ascii_case("time") => {
            let (add, rest) = signed(amount);
            Some(Ask::Time {
                add,
                by: duration(rest)?,
            })
        }
        [amount] => {
            let (add, rest) = signed(amount);
            Some(Ask::Money {
                add,
                cents: cents(rest)?,
            })
        }
        _ => None,
    }
}

/// A leading `+` (one), and the rest.
fn signed(word: &str) -> (bool, &str) {
    match word.strip_prefix('+') {
        Some(rest) => (true, rest),
        None => (false, word),
    }
}

/// `5`, `7.5`, `$12.25` in cents; more than zero.
fn cents(word: &str) -> Option<u64> {
    let word = word.strip_prefix('$').unwrap_or(word);
    let (whole, frac) = match word.split_once('.') {
        Some((w, f)) => (w, f),
        None => (word, ""),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || (word.contains('.') && !digits(frac)) || frac.len() > 2 {
        return None;
    }
    let frac_cents = match frac.len() {
        0 => 0,
        1 => frac.parse::<u64>().ok()? * 10,
        _ => frac.parse::<u64>().ok()?,
    };
    let c = whole
        .parse::<u64>()
        .ok()?
        .checked_mul(100)?
        .checked_add(frac_cents)?;
    Some(c).filter(|&c| c > 0)
}

/// `90m`, `2h`, `1d` (also `s`); more than zero.
fn duration(word: &str) -> Option<Duration> {
    let at = word.find(|c: char| !c.is_ascii_digit())?;
    let (n, unit) = word.split_at(at);
    let per = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86400,
        _ => return None,
    };
    let n: u64 = n.parse().ok()?;
    n.checked_mul(per)
        .map(Duration::from_secs)
        .filter(|d| !d.is_zero())
}

/// A run's limits as they stand and what a comment may set them to:
/// `limit_cents` the run's money limit now (0: none), `max_cents`
/// `budget.max_run_usd` (0: comments cannot raise money); the same for time
/// (`None`: none, and comments cannot raise time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub limit_cents: u64,
    pub max_cents: u64,
    pub limit_time: Option<Duration>,
    pub max_time: Option<Duration>,
}

/// What a well-formed command comes to: the run's new limit, or why
/// not, each answered and never acted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// carried out: the run's money limit becomes this many cents
    MoneyTo(u64),
    /// carried out: the run's time limit becomes this
    TimeTo(Duration),
    /// the run has no such limit (`run_usd = 0` / `run_time = ""`):
    /// nothing to raise, and a set would impose a limit, which only the
    /// config does (commands only raise)
    NoLimit {
        time: bool,
    },
    /// `max_run_usd = 0` / `max_run_time = ""`: the config route only
    RaisesOff {
        time: bool,
    },
    /// the result would be over the maximum (the result, the maximum)
    PastMoneyMax {
        would: u64,
        max: u64,
    },
    PastTimeMax {
        would: Duration,
        max: Duration,
    },
    /// a set at or below the run's current limit: commands only raise
    NotARaise {
        time: bool,
    },
}

/// What `ask` comes to against `l`: a run with no such limit has nothing
/// to raise; `+N` adds to the limit as it stands when carried out (two `+5`
/// raise by $10), a set must be above it, and either at most the maximum.
pub fn outcome(ask: Ask, l: Limits) -> Outcome {
    match ask {
        Ask::Money { .. } if l.limit_cents == 0 => Outcome::NoLimit { time: false },
        Ask::Time { .. } if l.limit_time.is_none() => Outcome::NoLimit { time: true },
        Ask::Money { .. } if l.max_cents == 0 => Outcome::RaisesOff { time: false },
        Ask::Money { add, cents } => {
            let would = match add {
                true => l.limit_cents.saturating_add(cents),
                false => cents,
            };
            if would > l.max_cents {
                Outcome::PastMoneyMax {
                    would,
                    max: l.max_cents,
                }
            } else if would <= l.limit_cents {
                Outcome::NotARaise { time: false }
            } else {
                Outcome::MoneyTo(would)
            }
        }
        Ask::Time { add, by } => {
            let Some(max) = l.max_time else {
                return Outcome::RaisesOff { time: true };
            };
            let now = l.limit_time.unwrap_or(Duration::ZERO);
            let would = match add {
                true => now.saturating_add(by),
                false => by,
            };
            if would > max {
                Outcome::PastTimeMax { would, max }
            } else if would <= now {
                Outcome::NotARaise { time: true }
            } else {
                Outcome::TimeTo(would)
            }
        }
    }
}

/// Cents as dollars to the cent: `$7.00`.
pub(crate) struct Usd(pub u64);

impl fmt::Display for Usd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "${}.{:02}", self.0 / 100, self.0 % 100)
    }
}

/// A dollar figure in whole cents, rounded to the nearest (the config's
/// `run_usd` and `max_run_usd`); a limit under a cent is a cent, never
/// none (the run is paused at it: a comment must be able to raise it).
pub fn to_cents(usd: f64) -> u64 {
    if usd.is_finite() && usd > 0.0 {
        ((usd * 100.0).round() as u64).max(1)
    } else {
        0
    }
}

impl Outcome {
    /// The reply to a command not carried out (None: it was), naming the
    /// key and the figure; `prefix` is the command prefix in force (`/afk`).
    pub fn refusal(&self, prefix: &str) -> Option<String> {
        Some(match *self {
            Outcome::MoneyTo(_) | Outcome::TimeTo(_) => return None,
            Outcome::NoLimit { time: false } => "nothing to raise: this run has no money limit \
                (`budget.run_usd` is 0), and a comment never sets one."
                .into(),
            Outcome::NoLimit { time: true } => "nothing to raise: this run has no time limit \
                (`budget.run_time` is \"\"), and a comment never sets one."
                .into(),
            Outcome::RaisesOff { time: false } => format!(
                "comments cannot raise this run's budget (`budget.max_run_usd` is 0): ask the \
                 operator to raise `[budget] run_usd` and say `{prefix} resume`."
            ),
            Outcome::RaisesOff { time: true } => format!(
                "comments cannot raise this run's time (`budget.max_run_time` is \"\"): ask the \
                 operator to raise `[budget] run_time` and say `{prefix} resume`."
            ),
            Outcome::PastMoneyMax { would, max } => format!(
                "refused: that would set this run's budget to {}; a comment may set at most {} \
                 (`budget.max_run_usd`). Ask the operator to raise `[budget] run_usd` or \
                 `max_run_usd`.",
                Usd(would),
                Usd(max)
            ),
            Outcome::PastTimeMax { would, max } => format!(
                "refused: that would set this run's time limit to {}; a comment may set at most \
                 {} (`budget.max_run_time`). Ask the operator to raise `[budget] run_time` or \
                 `max_run_time`.",
                format_duration(would),
                format_duration(max)
            ),
            Outcome::NotARaise { time: false } => {
                "not a raise: a comment only raises this run's budget, never lowers it.".into()
            }
            Outcome::NotARaise { time: true } => {
                "not a raise: a comment only raises this run's time limit, never lowers it.".into()
            }
        })
    }
}

/// A command carried out: the run's new limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Raise {
    /// the run's money limit becomes this many cents
    MoneyTo(u64),
    /// the run's time limit becomes this
    TimeTo(Duration),
}

/// A command answered and never acted on: the word afk's trail
/// records (`answered: <why>`) and the reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub why: &'static str,
    pub reply: String,
}

/// What a trusted `budget` command whose words after the verb are `args`
/// comes to against `l`, `prefix` the command prefix in force: the raise
/// to carry out, or the reply. A malformed command is answered with the
/// grammar and the run's limits as they stand, a set that is no raise
/// with those limits, a raise past the maximum or with raises off with its
/// key and figures ([`Outcome::refusal`]).
pub fn answer(prefix: &str, args: &str, l: Limits) -> Result<Raise, Refused> {
    let Some(ask) = parse(args) else {
        return Err(Refused {
            why: "not the budget grammar",
            reply: format!(
                "afk does not read that as a budget command. The forms:\n\n```text\n{}\n```\n\n{}",
                grammar(prefix),
                standing(l)
            ),
        });
    };
    let o = outcome(ask, l);
    let why = match o {
        Outcome::MoneyTo(cents) => return Ok(Raise::MoneyTo(cents)),
        Outcome::TimeTo(by) => return Ok(Raise::TimeTo(by)),
        Outcome::NoLimit { .. } => "no such limit",
        Outcome::RaisesOff { .. } => "budget raises off",
        Outcome::PastMoneyMax { .. } | Outcome::PastTimeMax { .. } => "past the budget maximum",
        Outcome::NotARaise { .. } => "not a raise",
    };
    let said = o.refusal(prefix).unwrap_or_default();
    let reply = match o {
        Outcome::NotARaise { .. } | Outcome::NoLimit { .. } => format!("{said} {}", standing(l)),
        _ => said,
    };
    Err(Refused { why, reply })
}

/// The reply to a `budget` on a run paused at a day's cap (`key`:
/// `day_usd` or `repo_day_usd`): the cap is the operator's, not a
/// thread's; the run continues by itself at 00:00 UTC.
pub fn day_refusal(prefix: &str, key: &str) -> Refused {
    Refused {
        why: "a day's pause",
        reply: format!(
            "this run is paused at the day's budget (`budget.{key}`), which a comment does not \
             raise: it continues by itself at 00:00 UTC. The operator may raise `[budget] {key}` \
             in afk's config and say `{prefix} resume` to go on now."
        ),
    }
}

/// The run's limits as they stand and how far a comment may raise them,
/// one sentence: `This run's budget: $2.00 (a comment may set it up to
/// $20.00, `budget.max_run_usd`); its time limit: none (…).`
pub fn standing(l: Limits) -> String {
    let money = match l.limit_cents {
        0 => "none".to_string(),
        c => Usd(c).to_string(),
    };
    let money_max = match l.max_cents {
        0 => "comments cannot raise it: `budget.max_run_usd` is 0".to_string(),
        c => format!(
            "a comment may set it up to {}, `budget.max_run_usd`",
            Usd(c)
        ),
    };
    let time = l.limit_time.map_or("none".to_string(), format_duration);
    let time_max = match l.max_time {
        None => "comments cannot raise it: `budget.max_run_time` is \"\"".to_string(),
        Some(t) => format!(
            "a comment may set it up to {}, `budget.max_run_time`",
            format_duration(t)
        ),
    };
    format!("This run's budget: {money} ({money_max}); its time limit: {time} ({time_max}).")
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: u64 = 3600;

    #[test]
    fn the_budget_verb_reads_its_grammar_and_nothing_else() {
        let money = |add, cents| Some(Ask::Money { add, cents });
        let time = |add, secs| {
            Some(Ask::Time {
                add,
                by: Duration::from_secs(secs),
            })
        };
        let table = [
            ("+5", money(true, 500)),
            ("5", money(false, 500)),
            ("+5.50", money(true, 550)),
            ("7.5", money(false, 750)),
            ("$12.25", money(false, 1225)),
            ("+$3", money(true, 300)),
            ("  +5  ", money(true, 500)),
            ("time +2h", time(true, 2 * H)),
            ("TIME 90m", time(false, 90 * 60)),
            ("Time   +1d", time(true, 24 * H)),
            // malformed: answered with the grammar
            ("", None),
            ("more", None),
            ("-5", None),
            ("++5", None),
            ("0", None),
            ("+0.00", None),
            ("5.555", None),
            ("1e3", None),
            ("5 6", None),
            ("+5 please", None),
            ("5.", None),
            (".5", None),
            ("$+5", None),
            ("5$", None),
            ("time", None),
            ("time 2", None),
            ("time 2w", None),
            ("time 0h", None),
            ("time -2h", None),
            ("time +2h more", None),
            ("2h", None),
        ];
        for (args, want) in table {
            assert_eq!(parse(args), want, "budget {args:?}");
        }
    }

    /// $2.00 and 4h, at most $20.00 and 8h.
    fn two_dollars_four_hours() -> Limits {
        Limits {
            limit_cents: 200,
            max_cents: 2000,
            limit_time: Some(Duration::from_secs(4 * H)),
            max_time: Some(Duration::from_secs(8 * H)),
        }
    }

    #[test]
    fn a_raise_is_carried_out_within_the_maximum_and_refused_with_its_reason_and_no_limit_is_never_raised()
     {
        let l = two_dollars_four_hours();
        let off = Limits {
            max_cents: 0,
            max_time: None,
            ..l
        };
        let none = Limits {
            limit_cents: 0,
            limit_time: None,
            ..l
        };
        let money = |add, cents| Ask::Money { add, cents };
        let time = |add, secs| Ask::Time {
            add,
            by: Duration::from_secs(secs),
        };
        let table = [
            // +N adds to the limit as it stands
            (money(true, 500), l, Outcome::MoneyTo(700)),
            (money(false, 1000), l, Outcome::MoneyTo(1000)),
            // up to the maximum exactly
            (money(false, 2000), l, Outcome::MoneyTo(2000)),
            (money(true, 1800), l, Outcome::MoneyTo(2000)),
            (
                money(true, 1801),
                l,
                Outcome::PastMoneyMax {
                    would: 2001,
                    max: 2000,
                },
            ),
            (
                money(false, 5000),
                l,
                Outcome::PastMoneyMax {
                    would: 5000,
                    max: 2000,
                },
            ),
            // a set at or below the limit is no raise
            (money(false, 200), l, Outcome::NotARaise { time: false }),
            (money(false, 100), l, Outcome::NotARaise { time: false }),
            (money(true, 500), off, Outcome::RaisesOff { time: false }),
            (
                time(true, 2 * H),
                l,
                Outcome::TimeTo(Duration::from_secs(6 * H)),
            ),
            (
                time(true, 5 * H),
                l,
                Outcome::PastTimeMax {
                    would: Duration::from_secs(9 * H),
                    max: Duration::from_secs(8 * H),
                },
            ),
            (time(false, 3 * H), l, Outcome::NotARaise { time: true }),
            (time(true, H), off, Outcome::RaisesOff { time: true }),
            // a run with no such limit: nothing to raise, whatever the maximum
            (money(true, 500), none, Outcome::NoLimit { time: false }),
            (money(false, 500), none, Outcome::NoLimit { time: false }),
            (time(true, H), none, Outcome::NoLimit { time: true }),
            (time(false, 2 * H), none, Outcome::NoLimit { time: true }),
        ];
        for (ask, limits, want) in table {
            let got = outcome(ask, limits);
            assert_eq!(got, want, "{ask:?} on {limits:?}");
            assert_eq!(
                got.refusal("/afk").is_none(),
                matches!(want, Outcome::MoneyTo(_) | Outcome::TimeTo(_)),
                "{ask:?}"
            );
        }
    }

    #[test]
    fn a_refusal_names_the_key_and_the_figures() {
        let past = Outcome::PastMoneyMax {
            would: 700,
            max: 400,
        };
        assert_eq!(
            past.refusal("/afk").unwrap(),
            "refused: that would set this run's budget to $7.00; a comment may set at most \
             $4.00 (`budget.max_run_usd`). Ask the operator to raise `[budget] run_usd` or \
             `max_run_usd`."
        );
        let past_time = Outcome::PastTimeMax {
            would: Duration::from_secs(9 * H),
            max: Duration::from_secs(8 * H),
        };
        let said = past_time.refusal("/afk").unwrap();
        assert!(said.contains("`budget.max_run_time`"), "{said}");
        assert!(said.contains("9h") && said.contains("8h"), "{said}");
        for off in [true, false] {
            let said = Outcome::RaisesOff { time: off }.refusal("/afk").unwrap();
            let key = if off { "max_run_time" } else { "max_run_usd" };
            assert!(said.contains(key), "{said}");
            let said = Outcome::NoLimit { time: off }.refusal("/afk").unwrap();
            let key = if off {
                "`budget.run_time`"
            } else {
                "`budget.run_usd`"
            };
            assert!(said.contains(key), "{said}");
        }
        assert_eq!(Usd(5).to_string(), "$0.05");
        assert_eq!(Usd(1225).to_string(), "$12.25");
        assert_eq!(to_cents(2.2), 220);
        assert_eq!(to_cents(0.0), 0);
        // a limit under a cent is one the run is paused at: never none
        assert_eq!(to_cents(0.001), 1);
        assert_eq!(to_cents(f64::NAN), 0);
    }

    #[test]
    fn a_command_is_carried_out_or_answered_once_with_what_it_needs() {
        let l = two_dollars_four_hours();
        let off = Limits {
            limit_cents: 0,
            max_cents: 0,
            limit_time: None,
            max_time: None,
        };
        // limits standing, raises off
        let shut = Limits {
            max_cents: 0,
            max_time: None,
            ..l
        };
        let raise = |r| Ok::<Raise, &str>(r);
        // (args, limits, the raise or the recorded why, what the reply holds)
        type Case<'a> = (&'a str, Limits, Result<Raise, &'a str>, &'a [&'a str]);
        let table: [Case; 11] = [
            ("+5", l, raise(Raise::MoneyTo(700)), &[]),
            (
                "time +2h",
                l,
                raise(Raise::TimeTo(Duration::from_secs(6 * H))),
                &[],
            ),
            (
                "",
                l,
                Err("not the budget grammar"),
                &[
                    "```text\n!bot budget +<usd>",
                    "budget: $2.00",
                    "up to $20.00",
                    "4h",
                    "8h",
                ],
            ),
            (
                "lots more",
                off,
                Err("not the budget grammar"),
                &[
                    "budget: none",
                    "`budget.max_run_usd` is 0",
                    "time limit: none",
                ],
            ),
            (
                "+20",
                l,
                Err("past the budget maximum"),
                &["$22.00", "$20.00"],
            ),
            (
                "time 9h",
                l,
                Err("past the budget maximum"),
                &["9h", "8h", "`budget.max_run_time`"],
            ),
            (
                "+5",
                shut,
                Err("budget raises off"),
                &["`budget.max_run_usd` is 0", "`!bot resume`"],
            ),
            (
                "time +1h",
                shut,
                Err("budget raises off"),
                &["`budget.max_run_time` is \"\"", "`!bot resume`"],
            ),
            // no limit to raise: a set would impose one, only the config does
            (
                "+5",
                off,
                Err("no such limit"),
                &["no money limit", "`budget.run_usd` is 0", "budget: none"],
            ),
            (
                "time 2h",
                off,
                Err("no such limit"),
                &["no time limit", "`budget.run_time` is \"\""],
            ),
            (
                "1.50",
                l,
                Err("not a raise"),
                &["never lowers", "This run's budget: $2.00"],
            ),
        ];
        for (args, limits, want, holds) in table {
            let got = answer("!bot", args, limits);
            match (&got, want) {
                (Ok(r), Ok(w)) => assert_eq!(*r, w, "{args:?}"),
                (Err(Refused { why, reply }), Err(w)) => {
                    assert_eq!(*why, w, "{args:?}");
                    for h in holds {
                        assert!(reply.contains(h), "{args:?}: {h:?} not in {reply}");
                    }
                    // every command a reply names is in the prefix in force
                    assert!(!reply.contains("/afk"), "{reply}");
                }
                _ => panic!("{args:?} on {limits:?}: {got:?}"),
            }
        }
    }

    #[test]
    fn a_budget_on_a_days_pause_is_answered_that_midnight_or_the_operator_continues_it() {
        for key in ["day_usd", "repo_day_usd"] {
            let r = day_refusal("!bot", key);
            assert_eq!(r.why, "a day's pause");
            for want in [
                format!("`budget.{key}`"),
                "00:00 UTC".to_string(),
                format!("raise `[budget] {key}`"),
                "`!bot resume`".to_string(),
            ] {
                assert!(r.reply.contains(&want), "{want}: {}", r.reply);
            }
        }
    }

    #[test]
    fn the_grammar_reply_names_the_prefix_in_force_before_every_form() {
        let g = grammar("!bot");
        assert_eq!(g.matches("!bot budget").count(), 4, "{g}");
        assert!(!g.contains("/afk"), "{g}");
    }
}
