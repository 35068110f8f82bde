//! `afk hook`: one forge webhook delivery in, one scoped poll or watch tick
//! out (SPEC 10.2, docs/hook.md). It wires: the request (`webhook`), the
//! rules (`core::hook`), the answer (`output::answer_and_hang_up`), the
//! lock's bounded wait (`lock::wait_free`) and the tick
//! (`tick::run` over `ops::poll` or `ops::watch` with `Scope::Repo`).

use crate::core::hook::{self, Answer, Dialect, Verdict, Work};
use crate::ops::{Scope, poll, watch};
use crate::session::{Outcome, Session};
use crate::types::TickKind;
use anyhow::Result;
use std::path::PathBuf;

/// `afk hook` reads one HTTP/1.1 request on stdin, or `--body` and `--header`.
#[derive(clap::Args, Debug, Default)]
pub struct Args {
    /// The request's body from FILE (a CI step, a test) instead of an HTTP
    /// request on standard input
    #[arg(long, value_name = "FILE")]
    pub body: Option<PathBuf>,
    /// One header of that request, `Name: value` (repeat it; with --body)
    #[arg(long = "header", value_name = "NAME: VALUE", requires = "body")]
    pub headers: Vec<String>,
}

pub fn run(ctx: &Session, args: &Args) -> Result<Outcome> {
    // the options first: a bad one is a usage error, nothing read or answered
    let options = crate::webhook::header_options(&args.headers)?;
    let config = ctx.load();
    let defaults = crate::config::Hook::default();
    let limits = config.as_ref().map_or(&defaults, |c| &c.hook);
    let request = match &args.body {
        Some(file) => crate::webhook::from_file(file, options, limits.max_body)?,
        None => crate::webhook::read_stdin(limits.max_body, limits.read_timeout),
    };
    let cfg = match config {
        Ok(cfg) => cfg,
        Err(e) => return refuse(Answer::NoSecret, Err(e)),
    };
    let request = match request {
        Ok(r) => r,
        Err(answer) => return refuse(answer, Ok(())),
    };
    let secret = match cfg.hook_secret() {
        Ok(Some(s)) => s,
        Ok(None) => return refuse(Answer::NoSecret, Err(cfg.no_hook_secret())),
        Err(e) => return refuse(Answer::NoSecret, Err(e)),
    };
    let Some(dialect) = Dialect::of_forge(cfg.forge.kind.as_str()) else {
        let e = crate::config::cfg_err(format!(
            "config: afk hook reads no webhooks of forge.kind {}",
            cfg.forge.kind
        ));
        return refuse(Answer::NoSecret, Err(e));
    };
    let headers = &request.headers;
    let event = hook::first_of(headers, dialect.event_headers());
    let delivery = hook::first_of(headers, dialect.delivery_headers());
    // verified before anything else: no state file, no lock, no forge
    if crate::webhook::verify(dialect, &request, &secret) != Verdict::Signed {
        let answer = Answer::Unauthorized;
        crate::log::warn(&hook::log_line(&answer, event, delivery));
        crate::output::answer_and_hang_up(&answer.response());
        return Ok(Outcome::code(1));
    }
    let repo = dialect.repo_of(&request.body);
    let allowlisted = |name: &str| {
        cfg.poll
            .allowlist
            .iter()
            .any(|r| r.as_str().eq_ignore_ascii_case(name))
    };
    let mut work = hook::work(dialect, event, repo.as_deref(), allowlisted);
    let now = stamp_now();
    if let (Work::Tick(kind, _), Some(id)) = (&work, delivery)
        && writes_state(ctx, *kind)
        && !first_delivery(ctx, id, &now)
    {
        work = Work::Replayed;
    }
    let answer = Answer::Accepted(work);
    crate::log::info(&hook::log_line(&answer, event, delivery));
    crate::output::answer_and_hang_up(&answer.response());
    let Answer::Accepted(Work::Tick(kind, name)) = answer else {
        return Ok(Outcome::code(answer.exit().unwrap_or(0)));
    };
    start_tick(ctx, cfg, kind, &name, &now)
}

/// The tick an accepted event starts: the allowlist's own spelling of the
/// repository, a bounded wait for a tick of its kind, the count, then the
/// scoped tick under cron's rules.
fn start_tick(
    ctx: &Session,
    cfg: &crate::config::Config,
    kind: TickKind,
    name: &str,
    now: &str,
) -> Result<Outcome> {
    // the allowlist's own entry: the name as the config spells it
    let Some(repo) = cfg
        .poll
        .allowlist
        .iter()
        .find(|r| r.as_str().eq_ignore_ascii_case(name))
        .cloned()
    else {
        return Ok(Outcome::OK);
    };
    if !crate::lock::wait_free(ctx.state_dir(), kind.as_str(), cfg.hook.wait_lock)? {
        crate::log::info(&format!(
            "hook: a {kind} tick held the lock past hook.wait_lock ({}): the event for {repo} is left to the next tick",
            crate::types::format_duration(cfg.hook.wait_lock)
        ));
        return Ok(Outcome::OK);
    }
    if writes_state(ctx, kind)
        && let Err(e) = ctx
            .local()
            .and_then(|l| l.store.hook_tick(kind.as_str(), now))
    {
        crate::log::warn(&format!("hook: cannot count the tick: {e:#}"));
    }
    let scope = Scope::Repo(repo);
    match kind {
        TickKind::Poll => crate::tick::run(ctx, kind, |c| poll::tick(c, &scope)),
        _ => crate::tick::run(ctx, kind, |c| watch::tick(c, &scope)),
    }
}

/// Now as tick health keeps a time: RFC 3339, whole seconds.
fn stamp_now() -> String {
    let now = crate::clock::now();
    (now.replace_nanosecond(0).unwrap_or(now))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Answer `answer` (a refusal) and end with its exit, or with `error` (a
/// configuration's, exit 2), said once in the log.
fn refuse(answer: Answer, error: Result<()>) -> Result<Outcome> {
    if error.is_ok() {
        crate::log::warn(&hook::log_line(&answer, None, None));
    }
    crate::output::answer_and_hang_up(&answer.response());
    error.map(|()| Outcome::code(answer.exit().unwrap_or(1)))
}

/// Whether the tick of `kind` would write the state file: not a dry run,
/// not stopped (the stop file, poll's kill switch), and for watch a state
/// file that exists (a watch with none creates nothing). Only then are the
/// delivery and the tick recorded.
fn writes_state(ctx: &Session, kind: TickKind) -> bool {
    let paths = ctx.paths();
    !ctx.dry_run()
        && !paths.stop.exists()
        && match kind {
            TickKind::Poll => ctx.config().poll.enabled,
            _ => paths.file.exists(),
        }
}

/// Record delivery `id`: false when it was handled already. A state file
/// that cannot record it lets the tick say why (it opens the same file).
fn first_delivery(ctx: &Session, id: &str, now: &str) -> bool {
    match ctx
        .local()
        .and_then(|l| l.store.hook_delivery_first(id, now))
    {
        Ok(first) => first,
        Err(e) => {
            crate::log::warn(&format!("hook: cannot record delivery {id}: {e:#}"));
            true
        }
    }
}
