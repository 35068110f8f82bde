//! `afk hook`: one forge webhook delivery in, one scoped poll or watch tick
//! out (docs/hook.md). It wires: the request (`webhook`), the
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
    let Some(dialect) = Dialect::of_forge(cfg.forge.kind) else {
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
    let (work, news, print) = work_of(ctx, cfg, dialect, &request, (event, delivery));
    let answer = Answer::Accepted(work);
    crate::log::info(&hook::log_line(&answer, event, delivery));
    crate::output::answer_and_hang_up(&answer.response());
    let Answer::Accepted(Work::Tick(kind, name)) = answer else {
        return Ok(Outcome::code(answer.exit().unwrap_or(0)));
    };
    // a new comment's tick reads it once an edit in its own second would
    // have been reported (answered first: the forge is not kept waiting)
    if news == Some(hook::CommentNews::Written) {
        std::thread::sleep(hook::EDIT_GRACE);
    }
    start_tick(ctx, cfg, (kind, &name), delivery, &print)
}

/// What a signed delivery starts (`core::hook::work`), held by the brakes
/// (kill switch, stop file: nothing read or written) and by a replay (its
/// id or what it delivered handled already); an edit it reports is kept
/// first, whatever becomes of the tick (busy lock, replay): the comment's
/// dates may never show it (docs/reviews.md#commands). With what it says
/// of a comment and the fingerprint of what was delivered.
fn work_of(
    ctx: &Session,
    cfg: &crate::config::Config,
    dialect: Dialect,
    request: &crate::webhook::Request,
    (event, delivery): (Option<&str>, Option<&str>),
) -> (Work, Option<hook::CommentNews>, String) {
    let repo = dialect.repo_of(&request.body);
    let allowlisted = |name: &str| {
        cfg.poll
            .allowlist
            .iter()
            .any(|r| r.as_str().eq_ignore_ascii_case(name))
    };
    let mut work = hook::work(dialect, event, repo.as_deref(), allowlisted);
    let stop = ctx.paths().stop.clone();
    let stop_there = stop.exists().then(|| stop.display().to_string());
    if matches!(work, Work::Tick(..))
        && let Some(why) = hook::brake(cfg.poll.enabled, stop_there.as_deref())
    {
        work = Work::Ignored(why);
    }
    let news = hook::comment_news(dialect, event, &request.body);
    if matches!(work, Work::Tick(..))
        && let (Some(hook::CommentNews::Edited(id)), Some(name)) = (news, repo.as_deref())
    {
        note_edit(ctx, name, id);
    }
    let print = crate::webhook::fingerprint(request);
    if matches!(work, Work::Tick(..))
        && (delivery.is_some_and(|id| handled(ctx, id)) || handled(ctx, &print))
    {
        work = Work::Replayed;
    }
    (work, news, print)
}

/// The tick an accepted event starts: the allowlist's own spelling of the
/// repository, a bounded wait for a tick of its kind, then the scoped tick
/// under cron's rules, which records the delivery and counts itself once
/// it holds its lock ([`begins`]): the event writes nothing to the state
/// file outside the tick's lock, so a cron tick never meets it there.
fn start_tick(
    ctx: &Session,
    cfg: &crate::config::Config,
    (kind, name): (TickKind, &str),
    delivery: Option<&str>,
    print: &str,
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
    // one bound for all the waiting: for the tick holding the lock now, and
    // for one that takes it a moment before this one does
    let until = std::time::Instant::now() + cfg.hook.wait_lock;
    if !free_in_time(ctx, kind, until, &repo)? {
        return Ok(Outcome::OK);
    }
    let now = stamp_now();
    let first = |t: &crate::tick::Tick| begins(t, kind, delivery, print, &now);
    let again = || {
        free_in_time(ctx, kind, until, &repo).unwrap_or_else(|e| {
            crate::log::warn(&format!("hook: {e:#}"));
            false
        })
    };
    let event = crate::tick::Event {
        first: &first,
        again: &again,
    };
    let scope = Scope::Repo(repo.clone());
    match kind {
        TickKind::Poll => crate::tick::run(ctx, kind, |c| poll::tick_if(c, &scope, &event)),
        _ => crate::tick::run(ctx, kind, |c| watch::tick_if(c, &scope, &event)),
    }
}

/// Whether the lock of `kind` is free before `until` (`lock::wait_free`,
/// which only looks); past it the log says the event for `repo` is left to
/// the next tick.
fn free_in_time(
    ctx: &Session,
    kind: TickKind,
    until: std::time::Instant,
    repo: &crate::types::RepoName,
) -> Result<bool> {
    let left = until.saturating_duration_since(std::time::Instant::now());
    if crate::lock::wait_free(ctx.state_dir(), kind.as_str(), left)? {
        return Ok(true);
    }
    crate::log::info(&format!(
        "hook: a {kind} tick held the lock past hook.wait_lock ({}): the event for {repo} is left to the next tick",
        crate::types::format_duration(ctx.config().hook.wait_lock)
    ));
    Ok(false)
}

/// On the event's opened tick, under its lock and on its state file (a
/// dry run's copy): the delivery recorded and the tick counted, in one
/// transaction; false when another event's tick handled the delivery
/// first (then this one does nothing). A state file that cannot record
/// them lets the tick go on and say why.
fn begins(
    t: &crate::tick::Tick,
    kind: TickKind,
    delivery: Option<&str>,
    print: &str,
    now: &str,
) -> bool {
    let ids: Vec<&str> = delivery.into_iter().chain([print]).collect();
    match t.store().hook_tick_begins_as(&ids, kind.as_str(), now) {
        Ok(true) => true,
        Ok(false) => {
            crate::log::info(&format!(
                "hook: delivery {} was handled by another event's tick meanwhile; nothing to do",
                delivery.unwrap_or_default()
            ));
            false
        }
        Err(e) => {
            crate::log::warn(&format!("hook: cannot record the event's tick: {e:#}"));
            true
        }
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

/// Keep that comment `id` of `repo` was edited. It is the one write outside
/// a tick's lock: an insert SQLite serialises, which no tick overwrites.
/// A state file that cannot keep it says so in the log; its tick goes on.
fn note_edit(ctx: &Session, repo: &str, id: i64) {
    let kept = ctx
        .local()
        .and_then(|l| l.store.note_comment_edited(repo, id, &stamp_now()));
    match kept {
        Ok(()) => crate::log::info(&format!(
            "hook: comment {id} of {repo} was edited: it is nobody's command"
        )),
        Err(e) => crate::log::warn(&format!(
            "hook: cannot keep the edit of comment {id}: {e:#}"
        )),
    }
}

/// Whether delivery `id` was handled already, read without writing (no
/// state file: not). A file that cannot be read says not: the tick, which
/// records the delivery under its lock, decides then.
fn handled(ctx: &Session, id: &str) -> bool {
    if !ctx.paths().file.exists() {
        return false;
    }
    match ctx.read_store().and_then(|s| s.hook_delivery_handled(id)) {
        Ok(seen) => seen,
        Err(e) => {
            crate::log::debug(&format!("hook: cannot read delivery {id}: {e:#}"));
            false
        }
    }
}
