//! The money limits of `[budget]` as poll and watch apply them; the rules
//! are `core::budget::spend`'s.
//!
//! Poll's gate (the day limits, docs/how-it-works.md#afk-poll-step-by-step):
//! what the runs dispatched on the current UTC day spent, each run's stored
//! figure brought up to date with what its agent wrote since watch last read it
//! (in memory: only watch stores a ledger, so poll and watch never count a byte
//! twice), against `day_usd` and `repo_day_usd`. And what an agent is handed as
//! `AFK_BUDGET_USD` (docs/runners.md#command-a-local-process) when a turn
//! starts: a new run's from the same book; a corrective turn's from its run's
//! spend as watch just read it and the stored spend of the other runs of its
//! day.

use crate::config::Budget;
use crate::core::budget::spend::{self, DayLimits, DayRun, MoneyLimits, Stop};
use crate::core::gateway::budget::Gate;
use crate::store::Store;
use crate::store::runs::Run;
use crate::tick::Tick;
use crate::types::RepoName;
use anyhow::Result;
use time::OffsetDateTime;

/// The runs dispatched today and what each spent (empty when no day limit is
/// set: then nothing is read), as of the tick's `now`.
#[derive(Debug, Default)]
pub struct Book {
    runs: Vec<(String, OffsetDateTime, Option<f64>)>,
    now: Option<OffsetDateTime>,
}

/// The day's runs and their spend now.
pub fn book(t: &Tick) -> Result<Book> {
    let (b, now) = (&t.config().budget, t.now);
    if b.day_usd <= 0.0 && b.repo_day_usd <= 0.0 {
        return Ok(Book {
            runs: vec![],
            now: Some(now),
        });
    }
    let runs = t.store().runs_of_day(spend::day_of(now))?;
    // each run's spend by the UTC day each of its turns started
    let mut entries = vec![];
    for r in &runs {
        let spend = current(t, r);
        let days = t.store().day_entries(r, spend, None, now)?;
        for d in days {
            entries.push((d.repo.to_string(), d.dispatched_at, d.spend_usd));
        }
    }
    Ok(Book {
        runs: entries,
        now: Some(now),
    })
}

impl Book {
    fn day_runs(&self) -> Vec<DayRun<'_>> {
        self.runs
            .iter()
            .map(|(repo, dispatched_at, spend_usd)| DayRun {
                repo,
                dispatched_at: *dispatched_at,
                spend_usd: *spend_usd,
            })
            .collect()
    }

    /// The day limits reached (empty: dispatch may go on everywhere).
    pub fn stops(&self, b: &Budget, repos: &[RepoName]) -> Vec<Stop> {
        match self.now {
            Some(now) => spend::day_stops(day_limits(b), &self.day_runs(), now, repos),
            None => vec![],
        }
    }

    /// What a new run of `repo`'s agent is handed: all of `run_usd`, or less
    /// when the day's or the repo's day's remainder is smaller; None without
    /// a money limit.
    pub fn left_for(&self, b: &Budget, repo: &RepoName) -> Option<f64> {
        let (limits, run) = self.new_run(b, repo);
        spend::money_left(limits, &run, &self.day_runs())
    }

    /// The model gateway's gate of a new run of `repo`
    /// (docs/runners.md#the-model-gateway-runnermodel): the limits and the
    /// day's runs as this book counts them; None without a money limit.
    pub fn gate_for(&self, b: &Budget, repo: &RepoName) -> Option<Gate> {
        let (limits, run) = self.new_run(b, repo);
        Gate::of(limits, &run, &self.day_runs())
    }

    /// The money limits and the day's entry of a run of `repo` starting now.
    fn new_run<'r>(&self, b: &Budget, repo: &'r RepoName) -> (MoneyLimits, DayRun<'r>) {
        let limits = MoneyLimits {
            run_usd: b.run_usd,
            day: day_limits(b),
        };
        let run = DayRun {
            repo,
            // no tick's moment (a test's empty book): no day runs either
            dispatched_at: self.now.unwrap_or(OffsetDateTime::UNIX_EPOCH),
            spend_usd: None,
        };
        (limits, run)
    }
}

/// What is left of `run`'s money limits as its corrective or continuation
/// turn starts, under the run's own money limit `run_usd` (the config's, or
/// the larger one a trusted `/afk budget` set), its spend so far
/// `spend_usd` (as watch just read it), and the model gateway's gate of the
/// turn (docs/runners.md#the-model-gateway-runnermodel); None without a
/// money limit. The other runs of its day count with their stored figures,
/// read through `store` (the worker's connection). The turn's start is kept
/// with its gate (`run_files::keep_turn_start`), so an agent's own stop at
/// what it was handed is read at its limit.
pub fn left_under(
    t: &Tick,
    store: &Store,
    run: &Run,
    spend_usd: Option<f64>,
    run_usd: f64,
) -> Result<(Option<f64>, Option<Gate>)> {
    let now = t.now;
    let dispatched_at = crate::clock::parse(&run.created_at).unwrap_or(now);
    // the turn counts toward the UTC day it starts: a run's
    // first day as always; a later day counts the run's turns started on it
    let later_day = spend::day_of(now) != spend::day_of(dispatched_at);
    let counted_at = if later_day { now } else { dispatched_at };
    let b = &t.config().budget;
    let day = day_limits(b);
    let others = match day.day_usd > 0.0 || day.repo_day_usd > 0.0 {
        true => store.runs_of_day(spend::day_of(counted_at))?,
        false => vec![],
    };
    // the other runs' spend by the day each of their turns started
    let mut entries: Vec<DayRun> = vec![];
    for r in others.iter().filter(|r| r.id != run.id) {
        entries.extend(store.day_entries(r, r.spend_usd, None, now)?);
    }
    let others = entries;
    let this = DayRun {
        repo: &run.repo,
        dispatched_at: counted_at,
        spend_usd,
    };
    let limits = MoneyLimits { run_usd, day };
    if !later_day {
        return Ok((
            spend::money_left(limits, &this, &others),
            Gate::of(limits, &this, &others),
        ));
    }
    let mut gate = Gate::of(limits, &this, &others);
    if let Some(g) = gate.as_mut() {
        let today = spent_on_day(store, run, spend_usd, now)?;
        g.run_before_day = Some(crate::core::gateway::prices::micro(today));
    }
    Ok((gate.and_then(|g| g.left()), gate))
}

/// What of `run`'s spend `spend_usd` (before the turn starting at `at`)
/// counts toward `at`'s UTC day: the spend of its turns started that day
/// (`Store::day_entries`), the turn about to start not yet.
fn spent_on_day(
    store: &Store,
    run: &Run,
    spend_usd: Option<f64>,
    at: OffsetDateTime,
) -> Result<f64> {
    let days = store.day_entries(run, spend_usd, Some(run.turns), at)?;
    Ok(crate::core::budget::turn_day::spent_on_day(&days, at))
}

fn day_limits(b: &Budget) -> DayLimits {
    DayLimits {
        day_usd: b.day_usd,
        repo_day_usd: b.repo_day_usd,
    }
}

/// A run's spend now: its stored figure, and while its agent may still be at
/// work, what the agent wrote since (a torn last line waits for watch).
fn current(t: &Tick, r: &Run) -> Option<f64> {
    if !r.state.watched() {
        return r.spend_usd;
    }
    let dir = t.run_dir(r);
    let stored = r.spend_ledger.as_deref();
    let meter = &t.settled.meter;
    crate::runner::spend::read_now(t.runner.as_ref(), &dir, meter, stored, r.turns, false).spend()
}

/// Whether any money limit is set (`run_usd`, `day_usd`, `repo_day_usd`).
pub fn money_limited(b: &Budget) -> bool {
    b.run_usd > 0.0 || b.day_usd > 0.0 || b.repo_day_usd > 0.0
}

/// The models the config asks its agent for, each with where it was named:
/// `--model` in `runner.command`, else Codex's `model` in the config.toml
/// of `$CODEX_HOME` (else `~/.codex`), read up to 256 KiB.
pub fn asked_models(c: &crate::config::Config) -> Vec<(String, &'static str)> {
    use crate::core::gateway::{Api, doctor};
    let agent = c.runner.agent();
    let mut asked: Vec<(String, &'static str)> =
        doctor::models_in_command(agent, &c.runner.command)
            .into_iter()
            .map(|m| (m, "runner.command"))
            .collect();
    if asked.is_empty() && Api::of_agent(agent) == Some(Api::OpenAi) {
        let home = std::env::var_os("CODEX_HOME")
            .map(std::path::PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".codex")));
        let text = home.and_then(|h| {
            use std::io::Read;
            let mut t = String::new();
            let f = std::fs::File::open(h.join("config.toml")).ok()?;
            f.take(256 * 1024).read_to_string(&mut t).ok()?;
            Some(t)
        });
        if let Some(m) = text.as_deref().and_then(doctor::codex_config_model) {
            asked.push((m, "Codex's config.toml"));
        }
    }
    asked
}

/// Why poll dispatches nothing this tick, when it does not: a money limit
/// is set, afk's gateway meters the turns, and the agent is asked for a
/// model afk cannot price (its guess, the API's highest price, would be
/// every figure the limits read). None: dispatch may go on. Without a money
/// limit the guess stays, said once in the run's log.
pub fn unpriced_refusal(c: &crate::config::Config) -> Option<String> {
    use crate::core::gateway::{Api, doctor, prices};
    if !money_limited(&c.budget) || !crate::runner::checks::of(c).metered_by_gateway() {
        return None;
    }
    let api = Api::of_agent(c.runner.agent())?;
    let asked = asked_models(c);
    let models = c.runner.prices.models();
    let p = prices::Prices {
        models: &models,
        flat: c.runner.prices.flat(),
        table: prices::table(),
    };
    let (model, from) = doctor::unpriced(api, &asked, &p).into_iter().next()?;
    Some(doctor::refused_line(model, from, &p.table.date))
}
