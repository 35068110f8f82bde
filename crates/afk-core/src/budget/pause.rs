// One file: a pause's words and figures (comment, notifications, prompt, standing, a run's limits), one table test per rule beside them.
//! The words of a pause at a limit: the issue's comment (one per pause,
//! found again by its marker), the `run.paused` notification's text and
//! the continuation turn's prompt. Pure: figures in, text out.

use super::Limit;
use crate::types::format_duration;
use std::time::Duration;

/// What a pause's words need.
#[derive(Debug, Clone)]
pub struct Figures<'a> {
    pub run_id: crate::types::RunId,
    /// the run's pauses, this one included (the marker's `n=`)
    pub n: u32,
    pub limit: Limit,
    pub prefix: &'a str,
    pub spend_usd: f64,
    /// the run's money limit when it paused (its own, else `run_usd`)
    pub run_usd: f64,
    /// `budget.max_run_usd` (0: comments cannot raise money)
    pub max_run_usd: f64,
    /// the day's cap a day's pause is at (`day_usd` or `repo_day_usd`)
    pub day_cap_usd: f64,
    /// the run's working time and its time limit
    pub worked: Duration,
    pub run_time: Option<Duration>,
    /// `budget.max_run_time` (None: comments cannot raise time)
    pub max_run_time: Option<Duration>,
    pub branch: &'a str,
    /// the PR's reference (`#41`), if any
    pub pr: Option<String>,
    /// `budget.pause_for`, and when it runs out (UTC, `2026-12-04 14:03 UTC`)
    pub pause_for: Duration,
    pub until: String,
    /// a day's-cap pause whose run has continued by itself as often as
    /// `budget.day_continuations` allows: it waits for a person
    pub day_spent: bool,
    /// the issue is a tracker's, whose comments are never commands: afk
    /// hears them on the run's pull request only
    pub pr_only: bool,
}

/// Who continued a day's-cap pause that continued by itself at 00:00 UTC
/// (the checklist's and the continuation prompt's words).
pub const BY_A_NEW_DAY: &str = "a new UTC day";

/// The pause comment's hidden marker: `<!-- afk:paused run=R n=K -->`.
pub fn marker(run_id: crate::types::RunId, n: u32) -> String {
    format!("<!-- afk:paused run={run_id} n={n} -->")
}

/// Dollars to the cent: `$2.20`.
fn usd(v: f64) -> String {
    format!("${v:.2}")
}

/// The raise a pause comment offers, in cents: $5.00, or what is left
/// between the run's limit and `budget.max_run_usd` when that is less;
/// None when comments cannot raise it (no maximum, or none left).
pub(crate) fn raise_step(run_usd: f64, max_run_usd: f64) -> Option<u64> {
    if max_run_usd <= 0.0 {
        return None;
    }
    let room = ((max_run_usd - run_usd) * 100.0 + 1e-6).floor();
    (room >= 1.0).then(|| (room as u64).min(500))
}

/// Cents as a `budget +N` takes them: `5`, `2.5`, `0.75`.
fn amount(cents: u64) -> String {
    match cents % 100 {
        0 => format!("{}", cents / 100),
        c if c % 10 == 0 => format!("{}.{}", cents / 100, c / 10),
        c => format!("{}.{c:02}", cents / 100),
    }
}

/// The comment's first sentence: what paused the run, with its figures.
pub fn first_sentence(f: &Figures) -> String {
    match f.limit {
        Limit::RunUsd => format!(
            "afk paused this run at {} of its {} budget (`budget.run_usd`).",
            usd(f.spend_usd),
            usd(f.run_usd)
        ),
        Limit::RunTime => format!(
            "afk paused this run after {} of work (`budget.run_time`{}).",
            format_duration(f.worked),
            f.run_time
                .map(|t| format!(" {}", format_duration(t)))
                .unwrap_or_default()
        ),
        Limit::DayUsd | Limit::RepoDayUsd => format!(
            "afk paused this run at the day's budget ({}, `budget.{}`).",
            usd(f.day_cap_usd),
            f.limit.key()
        ),
    }
}

/// What "hard" means, where the spend went past the run's money limit: a
/// limit stops every model request after it is reached, never the one
/// under way, which is billed (docs/configuration.md#budget-spend-limits).
fn past_the_limit(f: &Figures) -> String {
    let over = f.spend_usd - f.run_usd;
    match f.limit == Limit::RunUsd && f.run_usd > 0.0 && over >= 0.005 {
        true => format!(
            " The limit stops every model request after it is reached; the one under way then is billed: {} past it.",
            usd(over)
        ),
        false => String::new(),
    }
}

/// A day's pause comment: no command raises a day's cap (the operator's,
/// not a thread's); it continues by itself at 00:00 UTC.
fn day_comment(f: &Figures, marker: &str, work: &str) -> String {
    let p = f.prefix;
    // a tracker's comment is never a command: said where they are heard
    let on = match (f.pr_only, &f.pr) {
        (true, Some(pr)) => format!(" on {pr}"),
        (true, None) => " on the run's pull request, once it has one".into(),
        (false, _) => String::new(),
    };
    format!(
        "{marker}\n{} Its checkout, the agent's session and the branch `{}` are kept{work}.\n\n\
         It continues by itself at 00:00 UTC ({}); the operator may raise `[budget] {}` in afk's \
         config and say `{p} resume`{on} to go on now. `{p} stop`{on} ends the run.\n",
        first_sentence(f),
        f.branch,
        f.until,
        f.limit.key(),
    )
}

/// The pause comment on the issue: the marker, the limit and its figures,
/// what is kept, how to continue and when it escalates. Returns (marker,
/// body).
pub fn comment(f: &Figures) -> (String, String) {
    let marker = marker(f.run_id, f.n);
    let work = match &f.pr {
        Some(pr) => format!("; the work so far is on {pr}"),
        None => String::new(),
    };
    if f.limit.is_day() && !f.day_spent {
        return (marker.clone(), day_comment(f, &marker, &work));
    }
    let p = f.prefix;
    let raise = match f.limit {
        // a raise offered stays within the maximum: +$5.00, or what is left
        // under `max_run_usd` when that is less; none where nothing is
        Limit::RunUsd if raise_step(f.run_usd, f.max_run_usd).is_some() => {
            let step = raise_step(f.run_usd, f.max_run_usd).unwrap_or(0);
            Some(format!(
                "- `{p} budget +{}` — raise this run's budget by {} (to {}), or `{p} budget <usd>` — set it \
                 (at most {}, `budget.max_run_usd`);\n",
                amount(step),
                usd(step as f64 / 100.0),
                usd(f.run_usd + step as f64 / 100.0),
                usd(f.max_run_usd)
            ))
        }
        Limit::RunTime => f.max_run_time.map(|max| {
            format!(
                "- `{p} budget time +2h` — raise this run's time limit by 2h, or `{p} budget time <duration>` — \
                 set it (at most {}, `budget.max_run_time`);\n",
                format_duration(max)
            )
        }),
        Limit::RunUsd | Limit::DayUsd | Limit::RepoDayUsd => None,
    };
    let key = f.limit.key();
    let config_route = match raise {
        Some(_) => format!("- or, after raising `[budget] {key}` in afk's config, `{p} resume`.\n"),
        None => format!("- after raising `[budget] {key}` in afk's config, `{p} resume`.\n"),
    };
    // a day's cap ends: said where it no longer continues by itself
    let ended = match f.limit.is_day() {
        true => {
            " It has continued by itself at 00:00 UTC as often as `budget.day_continuations` allows, so a day's cap now waits for a person."
        }
        false => "",
    };
    let kept = format!(
        "{marker}\n{}{}{ended} Its checkout, the agent's session and the branch `{}` are kept{work}.\n\n",
        first_sentence(f),
        past_the_limit(f),
        f.branch,
    );
    let deadline = format!(
        "by {} (`budget.pause_for` {}), it is escalated `{}`.\n",
        f.until,
        format_duration(f.pause_for),
        f.limit.escalates_as(),
    );
    // a tracker's comment is never a command: where they are heard, or
    // that no one can continue the run until it has a pull request
    let body = match (f.pr_only, &f.pr) {
        (true, None) => format!(
            "{kept}afk hears commands on the run's pull request only, and this run has none yet, so no comment \
             continues it; removing afk's in-progress label from this issue ends it. Unless it ends sooner, \
             {deadline}"
        ),
        (true, Some(pr)) => format!(
            "{kept}To continue, a maintainer comments on {pr} (afk hears commands on the pull request only, \
             never here):\n{}{config_route}`{p} stop` there ends the run. Unless continued {deadline}",
            raise.unwrap_or_default(),
        ),
        (false, _) => format!(
            "{kept}To continue, a maintainer comments:\n{}{config_route}\
             `{p} stop` ends the run. Unless continued {deadline}",
            raise.unwrap_or_default(),
        ),
    };
    (marker, body)
}

/// The `run.paused` notification's text: the comment's first sentence and
/// where (the issue's URL). `at` names the issue (`crate::prompt::place`:
/// `acme/api#12`, or a tracker's `acme/api PLAT-7`).
pub fn notification(at: &str, first: &str, url: &str) -> String {
    let first = first.replacen("afk paused this run", &format!("afk paused {at}"), 1);
    match url.is_empty() {
        true => first,
        false => format!("{first} {url}"),
    }
}

/// The `run.continued` notification's text: which run, who continued it
/// and how (`budget`, `resume`, `day`), and where.
pub fn continued_notification(at: &str, who: &str, how: &str, url: &str) -> String {
    let said = format!("afk continued {at}, paused at a limit: continued by {who} ({how}).");
    match url.is_empty() {
        true => said,
        false => format!("{said} {url}"),
    }
}

/// The continuation turn's prompt: the pause's figures, who raised what,
/// what is left, and that the task is unchanged; `task` the issue and
/// `leftover` the subject of the paused turn's leftover commit
/// (`workspace_pr::leftover_subject`).
pub fn prompt(
    f: &Figures,
    by: &str,
    now: (f64, Option<Duration>),
    (task, leftover): (&str, &str),
) -> String {
    let (run_usd, run_time) = now;
    let (paused, raised) = match f.limit {
        Limit::RunUsd => (
            format!(
                "when it reached its budget: {} of {} (`budget.run_usd`)",
                usd(f.spend_usd),
                usd(f.run_usd)
            ),
            format!(
                "{by} raised the run's budget to {}, so {} is left (AFK_BUDGET_USD)",
                usd(run_usd),
                usd((run_usd - f.spend_usd).max(0.0))
            ),
        ),
        Limit::DayUsd | Limit::RepoDayUsd => (
            format!(
                "at the day's budget ({}, `budget.{}`)",
                usd(f.day_cap_usd),
                f.limit.key()
            ),
            match by == BY_A_NEW_DAY {
                true => format!(
                    "A new UTC day began: the new UTC day's budget is {}",
                    usd(f.day_cap_usd)
                ),
                false => format!(
                    "{by} continued it; the day's budget is {}",
                    usd(f.day_cap_usd)
                ),
            },
        ),
        Limit::RunTime => {
            let limit = run_time.unwrap_or_default();
            (
                format!(
                    "after {} of work (`budget.run_time`)",
                    format_duration(f.worked)
                ),
                format!(
                    "{by} raised the run's time limit to {}: {} are left",
                    format_duration(limit),
                    format_duration(limit.saturating_sub(f.worked))
                ),
            )
        }
    };
    format!(
        "afk paused this run {paused}. {raised}. Continue the task where you stopped: the checkout \
         holds your work as it was (uncommitted changes were committed as \"{}\"; the last command you \
         ran may not have finished). The task is unchanged: {task}, branch {}. afk stops you again at the \
         new limit.\n",
        leftover, f.branch
    )
}

/// Where a paused run stands when a trusted `resume` asks to continue it: its
/// limit, spend and working time, and how far a comment may raise each.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Resumed {
    pub limit: Limit,
    pub spend_usd: f64,
    /// the run's money limit now (its own, else `run_usd`; 0: none)
    pub run_usd: f64,
    /// `budget.max_run_usd` (0: comments cannot raise money)
    pub max_run_usd: f64,
    /// the run's working time (held and paused time not counted) and its
    /// time limit now
    pub worked: Duration,
    pub run_time: Option<Duration>,
    /// `budget.max_run_time` (None: comments cannot raise time)
    pub max_run_time: Option<Duration>,
}

/// The reply to a trusted `resume` on a paused run with no room yet under
/// its limits ("still at $2.20 of $2.00: raise it…"), answered once and
/// nothing acted on; None: it has room, the resume continues it. A day's
/// pause: the day's cap is the gateway's to check per request (the
/// operator raised `day_usd`), never refused here.
pub fn still_at(r: Resumed, prefix: &str) -> Option<String> {
    if r.limit.is_day() {
        return None;
    }
    if r.run_usd > 0.0 && r.spend_usd >= r.run_usd {
        let how = match r.max_run_usd > 0.0 {
            true => format!(
                "raise it with `{prefix} budget +N` (up to {}, `budget.max_run_usd`) or `[budget] run_usd` in the config",
                usd(r.max_run_usd)
            ),
            false => "raise `[budget] run_usd` in the config".to_string(),
        };
        return Some(format!(
            "still at {} of {} (`budget.run_usd`): {how}, then `{prefix} resume`.",
            usd(r.spend_usd),
            usd(r.run_usd)
        ));
    }
    let limit = r.run_time.filter(|t| r.worked >= *t)?;
    let how = match r.max_run_time {
        Some(max) => format!(
            "raise it with `{prefix} budget time +N` (up to {}, `budget.max_run_time`) or `[budget] run_time` in the config",
            format_duration(max)
        ),
        None => "raise `[budget] run_time` in the config".to_string(),
    };
    Some(format!(
        "still at {} of work of its {} limit (`budget.run_time`): {how}, then `{prefix} resume`.",
        format_duration(r.worked),
        format_duration(limit)
    ))
}

/// A run's money limit: `budget.run_usd` (`config`), or the larger one a
/// trusted `/afk budget` set for it (`cents`); a comment's limit counts
/// only where the config has one (0: none).
pub fn run_usd(config: f64, cents: Option<u64>) -> f64 {
    match cents {
        Some(cents) if config > 0.0 => config.max(cents as f64 / 100.0),
        _ => config,
    }
}

/// A run's time limit: `budget.run_time` (`config`), or the longer one a
/// trusted `/afk budget time` set for it (`secs`); None: no time limit.
pub fn run_time(config: Option<Duration>, secs: Option<u64>) -> Option<Duration> {
    let config = config?;
    Some(secs.map_or(config, |s| config.max(Duration::from_secs(s))))
}

/// A run's own limits as `afk runs show` says them
/// (`limits: {run_usd, run_time, set_by}`): the limits in force (null:
/// none), and who raised one by a comment, named only while a comment's
/// limit is the one in force (a config raised past it is the operator's).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RunLimits {
    pub run_usd: Option<f64>,
    pub run_time: Option<String>,
    pub set_by: Option<String>,
}

/// The run's limits from the config's (`run_usd`, `run_time`), its own
/// stored ones (cents, seconds) and who set them.
pub fn run_limits(
    config: (f64, Option<Duration>),
    own: (Option<u64>, Option<u64>),
    set_by: Option<&str>,
) -> RunLimits {
    let (config_usd, config_time) = config;
    let money = run_usd(config_usd, own.0);
    let time = run_time(config_time, own.1);
    let raised = money > config_usd || time > config_time;
    RunLimits {
        run_usd: (money > 0.0).then_some(money),
        run_time: time.map(format_duration),
        set_by: set_by.filter(|_| raised).map(str::to_string),
    }
}

/// `runs show`'s line of the run's limits: `limits: run_usd $7.00, run_time
/// 4h (raised by alice)`, `(the config's)` when no comment raised them;
/// None: the run has no limit.
pub fn limits_line(l: &RunLimits) -> Option<String> {
    let mut parts = vec![];
    if let Some(v) = l.run_usd {
        parts.push(format!("run_usd {}", usd(v)));
    }
    if let Some(t) = &l.run_time {
        parts.push(format!("run_time {t}"));
    }
    if parts.is_empty() {
        return None;
    }
    let whose = match &l.set_by {
        Some(by) => format!("raised by {}", crate::sanitize::one_line(by, 60)),
        None => "the config's".to_string(),
    };
    Some(format!("limits: {} ({whose})", parts.join(", ")))
}

/// Who raised a run's limits by a comment, with the limits in force, as
/// the status page's row says it by the run's spend:
/// `$7.00, 6h by alice`; None while the config's are in force.
pub fn raised_words(l: &RunLimits) -> Option<String> {
    let by = l.set_by.as_deref()?;
    let mut parts = vec![];
    if let Some(v) = l.run_usd {
        parts.push(usd(v));
    }
    if let Some(t) = &l.run_time {
        parts.push(t.clone());
    }
    Some(format!(
        "{} by {}",
        parts.join(", "),
        crate::sanitize::one_line(by, 60)
    ))
}

/// The spend a watch report's entry carries: a pause's always says it (`0`
/// when nothing was reported yet: a time limit reached before any report);
/// any other action's what is known (None: nothing).
pub fn report_spend(pausing: bool, spend_usd: Option<f64>) -> Option<f64> {
    match pausing {
        true => Some(spend_usd.unwrap_or(0.0)),
        false => spend_usd,
    }
}

/// The config's limits a pause is shown against.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Configured {
    pub run_usd: f64,
    pub run_time: Option<Duration>,
    pub day_usd: f64,
    pub repo_day_usd: f64,
    /// `budget.pause_for` (None: `"0s"`)
    pub pause_for: Option<Duration>,
    /// whether a new day still continues the run by itself: its
    /// continuations by a new day (`budget.day_continuations`) not spent
    pub day_continues: bool,
}

/// A run's pause as every view shows it: `afk status`, `afk runs` and
/// `runs show`, the status page and the status issue. The limit's key, its
/// figure (dollars for money and a day's cap, a duration for time), the
/// run's spend, since when, and until when: `pause_for` after the pause, or
/// the next 00:00 UTC for a day's cap (None: pausing off, it ends at the
/// next tick).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Standing {
    pub limit: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit_usd: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit_time: Option<String>,
    pub spend_usd: Option<f64>,
    pub since: String,
    pub until: Option<String>,
}

/// The pause standing at `limit` since `since` (as stored, RFC 3339), the
/// run's own limits set by comments (`own`: cents, seconds; each counts
/// only where larger than the config's, and only where the config has the
/// limit), against `c`.
pub fn standing(
    limit: Limit,
    since: &str,
    own: (Option<u64>, Option<u64>),
    c: Configured,
    spend_usd: Option<f64>,
) -> Standing {
    let (cents, secs) = own;
    let limit_usd = match limit {
        Limit::RunUsd => Some(run_usd(c.run_usd, cents)),
        Limit::DayUsd => Some(c.day_usd),
        Limit::RepoDayUsd => Some(c.repo_day_usd),
        Limit::RunTime => None,
    };
    let limit_time = (limit == Limit::RunTime).then(|| {
        run_time(c.run_time, secs)
            .map(format_duration)
            .unwrap_or_default()
    });
    let at = crate::types::stamp::parse(since);
    // a day's cap ends at midnight only while a new day still continues
    // the run; after that it waits for a person (no until)
    let until = match limit.is_day() {
        true => at
            .filter(|_| c.day_continues)
            .map(crate::budget::turn_day::next_midnight),
        false => at.zip(c.pause_for).map(|(at, d)| at + d),
    };
    Standing {
        limit: limit.key().to_string(),
        limit_usd,
        limit_time,
        spend_usd,
        since: since.to_string(),
        until: until.map(crate::types::stamp::ts),
    }
}

/// A pause's figure: `$2.20 of $2.00` (the spend of the limit), `4h` (a
/// time limit), `its limit` when the figure is not known.
pub fn figure(s: &Standing) -> String {
    match (s.limit_usd, &s.limit_time) {
        (Some(limit), _) => format!(
            "{} of {}",
            s.spend_usd.map_or("$-".to_string(), usd),
            usd(limit)
        ),
        (None, Some(t)) if !t.is_empty() => t.clone(),
        _ => "its limit".to_string(),
    }
}

/// A pause in one cell (the status issue's, `afk runs`' reason):
/// `paused at $2.20 of $2.00 (run_usd) since …, until …`; time: `paused at
/// 4h (run_time) since …`.
pub fn cell(s: &Standing) -> String {
    let at = figure(s);
    let until = s
        .until
        .as_deref()
        .map(|u| format!(", until {u}"))
        .unwrap_or_default();
    format!("paused at {at} ({}) since {}{until}", s.limit, s.since)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEFTOVER: &str = "Uncommitted changes left by turn 1";

    #[test]
    fn a_resume_with_no_room_is_answered_still_at_its_limit_and_continues_nothing() {
        const H: u64 = 3600;
        let base = Resumed {
            limit: Limit::RunUsd,
            spend_usd: 2.2,
            run_usd: 2.0,
            max_run_usd: 20.0,
            worked: Duration::from_secs(H),
            run_time: Some(Duration::from_secs(4 * H)),
            max_run_time: None,
        };
        // (the run as it stands, what the reply holds; empty: continued)
        let table: [(Resumed, &[&str]); 7] = [
            (
                base,
                &[
                    "still at $2.20 of $2.00 (`budget.run_usd`)",
                    "`!bot budget +N` (up to $20.00",
                    "then `!bot resume`",
                ],
            ),
            // the config raised: room
            (
                Resumed {
                    run_usd: 3.0,
                    ..base
                },
                &[],
            ),
            // no money limit: room
            (
                Resumed {
                    run_usd: 0.0,
                    ..base
                },
                &[],
            ),
            // raises off: the config route only
            (
                Resumed {
                    max_run_usd: 0.0,
                    ..base
                },
                &["raise `[budget] run_usd` in the config"],
            ),
            // time: still over its time limit
            (
                Resumed {
                    limit: Limit::RunTime,
                    run_usd: 3.0,
                    worked: Duration::from_secs(4 * H),
                    ..base
                },
                &["still at 4h of work of its 4h limit", "`[budget] run_time`"],
            ),
            (
                Resumed {
                    limit: Limit::RunTime,
                    run_usd: 3.0,
                    run_time: Some(Duration::from_secs(6 * H)),
                    ..base
                },
                &[],
            ),
            // a day's pause: the gateway checks the day's cap per request
            (
                Resumed {
                    limit: Limit::DayUsd,
                    ..base
                },
                &[],
            ),
        ];
        for (r, holds) in table {
            let got = still_at(r, "!bot");
            assert_eq!(got.is_none(), holds.is_empty(), "{r:?}: {got:?}");
            for h in holds {
                let said = got.clone().unwrap_or_default();
                assert!(said.contains(h), "{h:?} not in {said}");
                assert!(!said.contains("/afk"), "{said}");
            }
        }
    }

    #[test]
    fn a_pause_is_shown_with_its_figures_and_deadline_everywhere() {
        let c = Configured {
            run_usd: 2.0,
            run_time: Some(Duration::from_secs(4 * 3600)),
            day_usd: 20.0,
            repo_day_usd: 5.0,
            pause_for: Some(Duration::from_secs(7 * 86400)),
            day_continues: true,
        };
        let since = "2026-11-27T14:03:00Z";
        // (limit, own limits, config, the cell)
        type Case = (Limit, (Option<u64>, Option<u64>), Configured, &'static str);
        let table: [Case; 8] = [
            (
                Limit::RunUsd,
                (None, None),
                c,
                "paused at $2.20 of $2.00 (run_usd) since 2026-11-27T14:03:00Z, until 2026-12-04T14:03:00Z",
            ),
            // a comment's larger limit is the run's
            (
                Limit::RunUsd,
                (Some(700), None),
                c,
                "paused at $2.20 of $7.00 (run_usd) since 2026-11-27T14:03:00Z, until 2026-12-04T14:03:00Z",
            ),
            (
                Limit::RunTime,
                (None, Some(6 * 3600)),
                c,
                "paused at 6h (run_time) since 2026-11-27T14:03:00Z, until 2026-12-04T14:03:00Z",
            ),
            // a day's cap: until the next 00:00 UTC, whatever pause_for says
            (
                Limit::DayUsd,
                (None, None),
                c,
                "paused at $2.20 of $20.00 (day_usd) since 2026-11-27T14:03:00Z, until 2026-11-28T00:00:00Z",
            ),
            (
                Limit::RepoDayUsd,
                (Some(900), None),
                c,
                "paused at $2.20 of $5.00 (repo_day_usd) since 2026-11-27T14:03:00Z, until 2026-11-28T00:00:00Z",
            ),
            // a day's cap whose continuations by a new day are spent: a
            // person continues it, no midnight does
            (
                Limit::DayUsd,
                (None, None),
                Configured {
                    day_continues: false,
                    ..c
                },
                "paused at $2.20 of $20.00 (day_usd) since 2026-11-27T14:03:00Z",
            ),
            // pausing switched off since: no deadline to show (it ends at the next tick)
            (
                Limit::RunUsd,
                (None, None),
                Configured {
                    pause_for: None,
                    ..c
                },
                "paused at $2.20 of $2.00 (run_usd) since 2026-11-27T14:03:00Z",
            ),
            // no config limit: a comment's own limit is not one
            (
                Limit::RunUsd,
                (Some(700), None),
                Configured { run_usd: 0.0, ..c },
                "paused at $2.20 of $0.00 (run_usd) since 2026-11-27T14:03:00Z, until 2026-12-04T14:03:00Z",
            ),
        ];
        for (limit, own, config, want) in table {
            let s = standing(limit, since, own, config, Some(2.2));
            assert_eq!(cell(&s), want, "{limit:?} {own:?}");
            assert_eq!(s.limit, limit.key());
            assert_eq!(s.limit_usd.is_some(), limit != Limit::RunTime);
            assert_eq!(s.limit_time.is_some(), limit == Limit::RunTime);
        }
        let json =
            serde_json::to_value(standing(Limit::RunTime, since, (None, None), c, None)).unwrap();
        assert_eq!(json["limit_time"], "4h");
        assert!(json.get("limit_usd").is_none(), "{json}");
    }

    fn figures() -> Figures<'static> {
        Figures {
            run_id: crate::types::RunId(3),
            n: 1,
            limit: Limit::RunUsd,
            prefix: "/afk",
            spend_usd: 2.2,
            run_usd: 2.0,
            max_run_usd: 20.0,
            day_cap_usd: 20.0,
            worked: Duration::from_secs(3600),
            run_time: None,
            max_run_time: None,
            branch: "afk/issue-12",
            pr: Some("#41".into()),
            pause_for: Duration::from_secs(7 * 86400),
            until: "2026-12-04 14:03 UTC".into(),
            day_spent: false,
            pr_only: false,
        }
    }

    /// On a tracker's issue, whose comments are never commands, the pause
    /// says where commands are heard: on the run's pull request, or that
    /// without one no comment continues the run. (the PR, what it says,
    /// what it never says)
    #[test]
    fn on_a_trackers_issue_the_pause_sends_commands_to_the_pull_request() {
        let cases: [(Option<&str>, &[&str], &[&str]); 2] = [
            (
                Some("#41"),
                &[
                    "To continue, a maintainer comments on #41 (afk hears commands on the pull request only, never here):",
                    "`/afk budget +5`",
                    "`/afk stop` there ends the run.",
                    "Unless continued by 2026-12-04 14:03 UTC",
                ],
                &["a maintainer comments:\n"],
            ),
            (
                None,
                &[
                    "afk hears commands on the run's pull request only, and this run has none yet, so no comment continues it",
                    "removing afk's in-progress label from this issue ends it.",
                    "Unless it ends sooner, by 2026-12-04 14:03 UTC (`budget.pause_for` 7d), it is escalated `over-budget`.",
                ],
                &["budget +", "resume", "To continue"],
            ),
        ];
        for (pr, says, never) in cases {
            let (_, body) = comment(&Figures {
                pr: pr.map(str::to_string),
                pr_only: true,
                ..figures()
            });
            for want in says {
                assert!(body.contains(want), "{pr:?} {want}: {body}");
            }
            for not in never {
                assert!(!body.contains(not), "{pr:?} {not}: {body}");
            }
        }
    }

    #[test]
    fn the_comment_says_the_limit_its_figures_and_how_to_continue() {
        let (marker, body) = comment(&figures());
        assert_eq!(marker, "<!-- afk:paused run=3 n=1 -->");
        assert!(body.starts_with(&marker), "{body}");
        for want in [
            "afk paused this run at $2.20 of its $2.00 budget (`budget.run_usd`). The limit stops every model request after it is reached; the one under way then is billed: $0.20 past it.",
            "the branch `afk/issue-12` are kept; the work so far is on #41.",
            "`/afk budget +5`",
            "$20.00, `budget.max_run_usd`",
            "`/afk resume`",
            "Unless continued by 2026-12-04 14:03 UTC (`budget.pause_for` 7d), it is escalated `over-budget`.",
        ] {
            assert!(body.contains(want), "{want}: {body}");
        }
    }

    fn prompt_of(f: &Figures, by: &str) -> String {
        prompt(f, by, (2.0, None), ("acme/api#12", LEFTOVER))
    }

    #[test]
    fn a_days_pause_says_it_continues_by_itself_at_midnight_and_offers_no_raise() {
        for limit in [Limit::DayUsd, Limit::RepoDayUsd] {
            let f = Figures {
                limit,
                until: "2026-11-28 00:00 UTC".into(),
                ..figures()
            };
            let (marker, body) = comment(&f);
            assert!(body.starts_with(&marker), "{body}");
            let key = limit.key();
            for want in [
                format!("afk paused this run at the day's budget ($20.00, `budget.{key}`)."),
                "It continues by itself at 00:00 UTC (2026-11-28 00:00 UTC)".to_string(),
                format!("raise `[budget] {key}`"),
                "`/afk resume`".to_string(),
                "`/afk stop` ends the run.".to_string(),
            ] {
                assert!(body.contains(&want), "{want}: {body}");
            }
            assert!(!body.contains("budget +"), "{body}");
            assert!(!body.contains("pause_for"), "{body}");
            let prompt = prompt(&f, BY_A_NEW_DAY, (2.0, None), ("acme/api#12", LEFTOVER));
            assert!(
                prompt.contains("committed as \"Uncommitted changes left by turn 1\""),
                "{prompt}"
            );
            assert!(
                prompt.contains("the new UTC day's budget is $20.00"),
                "{prompt}"
            );
            // a person's resume says who continued it, never a new day
            let prompt = prompt_of(&f, "alice");
            assert!(
                prompt.contains("alice continued it; the day's budget is $20.00")
                    && !prompt.contains("A new UTC day began"),
                "{prompt}"
            );
        }
    }

    /// The raise offered never passes `max_run_usd`: $5.00, what is left
    /// under it, or none.
    #[test]
    fn a_pause_offers_a_raise_within_the_maximum_only() {
        // (run_usd, max_run_usd, the command offered)
        let table = [
            (
                2.0,
                20.0,
                Some("`/afk budget +5` — raise this run's budget by $5.00 (to $7.00)"),
            ),
            (
                4.0,
                6.0,
                Some("`/afk budget +2` — raise this run's budget by $2.00 (to $6.00)"),
            ),
            (
                4.0,
                6.5,
                Some("`/afk budget +2.5` — raise this run's budget by $2.50 (to $6.50)"),
            ),
            (
                1.0,
                1.75,
                Some("`/afk budget +0.75` — raise this run's budget by $0.75 (to $1.75)"),
            ),
            (6.0, 6.0, None),
            (8.0, 6.0, None),
            (2.0, 0.0, None),
        ];
        for (run_usd, max_run_usd, want) in table {
            let (_, body) = comment(&Figures {
                run_usd,
                max_run_usd,
                ..figures()
            });
            match want {
                Some(w) => assert!(body.contains(w), "{run_usd} {max_run_usd}: {body}"),
                None => assert!(
                    !body.contains("budget +"),
                    "{run_usd} {max_run_usd}: {body}"
                ),
            }
        }
    }

    /// A day's cap ends: once the run has continued by itself as often as
    /// allowed, the day's pause comment says it waits for a person, offers
    /// the config's route and `resume`, never a midnight, and when
    /// `pause_for` ends it.
    #[test]
    fn a_days_pause_with_its_continuations_spent_waits_for_a_person() {
        let f = Figures {
            limit: Limit::DayUsd,
            day_spent: true,
            ..figures()
        };
        let (_, body) = comment(&f);
        for want in [
            "afk paused this run at the day's budget ($20.00, `budget.day_usd`).",
            "as often as `budget.day_continuations` allows",
            "after raising `[budget] day_usd` in afk's config, `/afk resume`",
            "Unless continued by 2026-12-04 14:03 UTC (`budget.pause_for` 7d), it is escalated `over-budget`.",
        ] {
            assert!(body.contains(want), "{want}: {body}");
        }
        assert!(!body.contains("continues by itself"), "{body}");
        assert!(!body.contains("budget +"), "{body}");
    }

    #[test]
    fn with_raises_off_only_the_config_route_is_offered() {
        let f = Figures {
            max_run_usd: 0.0,
            ..figures()
        };
        let (_, body) = comment(&f);
        assert!(!body.contains("budget +5"), "{body}");
        assert!(body.contains("after raising `[budget] run_usd`"), "{body}");
    }

    #[test]
    fn a_runs_limits_are_the_larger_of_the_configs_and_a_comments_with_who_raised_them() {
        const H: u64 = 3600;
        let four = Some(Duration::from_secs(4 * H));
        // (config usd, config time, own cents, own secs, set_by) -> (usd, time, set_by, line)
        type Case = (
            (f64, Option<Duration>),
            (Option<u64>, Option<u64>),
            Option<&'static str>,
            (Option<f64>, Option<&'static str>, Option<&'static str>),
            Option<&'static str>,
        );
        let table: [Case; 7] = [
            // the config's alone
            (
                (2.0, four),
                (None, None),
                None,
                (Some(2.0), Some("4h"), None),
                Some("limits: run_usd $2.00, run_time 4h (the config's)"),
            ),
            // a comment raised the money limit: it is in force, its author named
            (
                (2.0, four),
                (Some(700), None),
                Some("alice"),
                (Some(7.0), Some("4h"), Some("alice")),
                Some("limits: run_usd $7.00, run_time 4h (raised by alice)"),
            ),
            // a comment raised the time limit
            (
                (2.0, four),
                (None, Some(6 * H)),
                Some("bob"),
                (Some(2.0), Some("6h"), Some("bob")),
                Some("limits: run_usd $2.00, run_time 6h (raised by bob)"),
            ),
            // the operator raised the config past the comment's: the config's
            (
                (10.0, four),
                (Some(700), None),
                Some("alice"),
                (Some(10.0), Some("4h"), None),
                Some("limits: run_usd $10.00, run_time 4h (the config's)"),
            ),
            // commands only raise: a comment's limit at the config's is not a raise
            (
                (7.0, None),
                (Some(700), None),
                Some("alice"),
                (Some(7.0), None, None),
                Some("limits: run_usd $7.00 (the config's)"),
            ),
            // no config limit: a comment's own limit is not one
            (
                (0.0, None),
                (Some(700), Some(6 * H)),
                Some("alice"),
                (None, None, None),
                None,
            ),
            // time only
            (
                (0.0, four),
                (None, None),
                None,
                (None, Some("4h"), None),
                Some("limits: run_time 4h (the config's)"),
            ),
        ];
        for (i, (config, own, by, (usd, time, set_by), line)) in table.into_iter().enumerate() {
            let l = run_limits(config, own, by);
            assert_eq!(l.run_usd, usd, "case {i}");
            assert_eq!(l.run_time.as_deref(), time, "case {i}");
            assert_eq!(l.set_by.as_deref(), set_by, "case {i}");
            assert_eq!(limits_line(&l).as_deref(), line, "case {i}");
            // the status page's words: only where a comment's limit is in force
            assert_eq!(raised_words(&l).is_some(), set_by.is_some(), "case {i}");
        }
        let raised = run_limits((2.0, four), (Some(700), None), Some("alice"));
        assert_eq!(raised_words(&raised).as_deref(), Some("$7.00, 4h by alice"));
        let json = serde_json::to_value(run_limits((2.0, None), (Some(500), None), Some("alice")))
            .unwrap();
        assert_eq!(
            json,
            serde_json::json!({"run_usd": 5.0, "run_time": null, "set_by": "alice"})
        );
    }

    #[test]
    fn a_continuation_is_notified_with_who_continued_it_and_where() {
        // (who, how, url, the text)
        let table = [
            (
                "alice",
                "budget",
                "https://forge.example/acme/api/issues/12",
                "afk continued acme/api#12, paused at a limit: continued by alice (budget). https://forge.example/acme/api/issues/12",
            ),
            (
                "a new UTC day",
                "day",
                "",
                "afk continued acme/api#12, paused at a limit: continued by a new UTC day (day).",
            ),
        ];
        for (who, how, url, want) in table {
            assert_eq!(continued_notification("acme/api#12", who, how, url), want);
        }
    }

    #[test]
    fn a_pauses_report_entry_always_carries_its_spend() {
        // (pausing, the spend known, the entry's spend_usd)
        let table = [
            (true, Some(1.25), Some(1.25)),
            // a time limit reached before any report: the pause says $0
            (true, None, Some(0.0)),
            (false, Some(1.25), Some(1.25)),
            (false, None, None),
        ];
        for (pausing, known, want) in table {
            assert_eq!(report_spend(pausing, known), want, "{pausing} {known:?}");
        }
    }
}
