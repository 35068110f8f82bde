//! The commands on a run's limits: a trusted `budget` raises the run's own
//! limit (and continues a paused run), a trusted `resume` on a paused run
//! with no room yet is answered. `trusted.rs` carries them out; the rules
//! are `core::budget::budget_command` and `core::budget::pause`.

use super::super::limits;
use super::super::lists::Watch;
use crate::core::budget::budget_command;
use crate::store::runs::Run;
use crate::store::talk::Talk;

/// The reply to a trusted `resume` on `run` paused with no room yet under
/// its limits as they stand (`core::budget::pause::still_at`); None: not paused,
/// or room (the resume continues it).
pub(super) fn still_at_its_limit(w: &Watch, run: &Run, talk: &Talk) -> Option<String> {
    talk.pause.since.as_ref()?;
    let limit = talk
        .pause
        .limit
        .as_deref()
        .and_then(crate::core::budget::Limit::parse)?;
    let b = &w.t.config().budget;
    let age = crate::clock::parse(&run.created_at).map_or(std::time::Duration::ZERO, |at| {
        crate::core::progress::since(at, w.t.now)
    });
    let r = crate::core::budget::pause::Resumed {
        limit,
        spend_usd: run.spend_usd.unwrap_or(0.0),
        run_usd: limits::run_usd(w, talk),
        max_run_usd: b.max_run_usd,
        worked: limits::held_age(w, age, talk),
        run_time: limits::run_time(w, talk),
        max_run_time: b.max_run_time,
    };
    crate::core::budget::pause::still_at(r, &w.t.settled.command_prefix)
}

/// A trusted `budget`: the run's own limit raised to what
/// `core::budget::budget_command` makes of its words against the run's limits as
/// they stand (`limits::run_usd`, `run_time`: a `+N` adds to them when
/// carried out) and the config's maxima, set by `author`; a paused run is
/// continued by it (`core::run_state` starts its continuation when it has
/// room under every limit). Or the reply, nothing changed.
pub(super) fn raise(
    w: &Watch,
    talk: &mut Talk,
    args: &str,
    author: &str,
) -> std::result::Result<(), budget_command::Refused> {
    let b = &w.t.config().budget;
    // a day's cap is the operator's, not a thread's
    let day = talk
        .pause
        .limit
        .as_deref()
        .and_then(crate::core::budget::Limit::parse)
        .filter(|l| l.is_day() && talk.pause.since.is_some());
    if let Some(day) = day {
        return Err(budget_command::day_refusal(
            &w.t.settled.command_prefix,
            day.key(),
        ));
    }
    let limits = budget_command::Limits {
        limit_cents: budget_command::to_cents(limits::run_usd(w, talk)),
        max_cents: budget_command::to_cents(b.max_run_usd),
        limit_time: limits::run_time(w, talk),
        max_time: b.max_run_time,
    };
    match budget_command::answer(&w.t.settled.command_prefix, args, limits)? {
        budget_command::Raise::MoneyTo(cents) => talk.pause.limit_cents = Some(cents),
        budget_command::Raise::TimeTo(t) => talk.pause.limit_time_secs = Some(t.as_secs()),
    }
    talk.pause.limits_set_by = Some(author.to_string());
    if talk.pause.since.is_some() {
        let by = crate::core::run_state::ContinuedBy::Budget;
        talk.pause.continued = Some(by.key().into());
        talk.pause.continued_by = Some(author.to_string());
    }
    Ok(())
}
