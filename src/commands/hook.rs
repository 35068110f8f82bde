//! `afk hook`: one forge webhook delivery in, one scoped poll or watch tick
//! out (docs/hook.md). It wires: the request (`webhook`), the
//! rules (`core::hook`), the answer (`output::answer_and_hang_up`), the
//! lock's bounded wait (`lock::wait_free`) and the tick
//! (`tick::run` over `ops::poll` or `ops::watch` with `Scope::Repo`).

use crate::core::event_fold;
use crate::core::hook::{self, Answer, Sender, Verdict, Work};
use crate::events;
use crate::ops::{Scope, poll, watch};
use crate::session::{Outcome, Session};
use crate::types::RepoName;
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
    let Some(dialect) = Sender::of_forge(cfg.forge.kind) else {
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
    start_tick(ctx, cfg, (kind, &name), (delivery, &print), news)
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
    dialect: Sender,
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
    if matches!(work, Work::Tick(..))
        && let (Some(hook::CommentNews::Written(Some(id))), Some(name)) = (news, repo.as_deref())
    {
        note_written(ctx, name, id);
    }
    let print = crate::webhook::fingerprint(request);
    if matches!(work, Work::Tick(..))
        && (delivery.is_some_and(|id| handled(ctx, id)) || handled(ctx, &print))
    {
        work = Work::Replayed;
    }
    (work, news, print)
}

/// The ticks an accepted event starts (docs/hook.md#bursts): the slot for
/// its kind and repository taken, or the event folded into the follow-up
/// of the tick that holds it (this process ends at once); then the tick,
/// a new comment's once its edit grace is past; then at most one
/// follow-up; an issue event's poll then watch, where a run of the
/// repository is in flight.
fn start_tick(
    ctx: &Session,
    cfg: &crate::config::Config,
    (kind, name): (TickKind, &str),
    (delivery, print): (Option<&str>, &str),
    news: Option<hook::CommentNews>,
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
    // a new comment is read once an edit in its own second would have been
    // reported (answered first: the forge is not kept waiting); a trigger
    // that asks now meanwhile gets its tick at once, and this comment's
    // read is that tick's follow-up (no tick takes a command from it before:
    // store::comments_in_grace)
    let grace = match news {
        Some(hook::CommentNews::Written(_)) => hook::EDIT_GRACE,
        _ => std::time::Duration::ZERO,
    };
    let not_before = events::ms_after(grace);
    let line = event_fold::due_line(delivery, print, not_before);
    let Some(slot) = events::slot_or_fold(ctx, kind, &repo, &line)? else {
        return Ok(Outcome::OK);
    };
    if !grace.is_zero() {
        slot.defer(not_before)?;
    }
    let own: Vec<&str> = delivery.into_iter().chain([print]).collect();
    let outcome = events::event_ticks(ctx, cfg, (kind, &repo), slot, &own, &scoped(ctx))?;
    let in_flight = match ctx.read_store().and_then(|s| s.runs_in_flight()) {
        Ok(runs) => runs.iter().filter(|r| r.repo == repo).count(),
        Err(_) => 0,
    };
    if !event_fold::then_watch(kind, in_flight) {
        return Ok(outcome);
    }
    let line = event_fold::due_line(None, "-", 0);
    let Some(slot) = events::slot_or_fold(ctx, TickKind::Watch, &repo, &line)? else {
        return Ok(outcome);
    };
    let watched = events::event_ticks(ctx, cfg, (TickKind::Watch, &repo), slot, &[], &scoped(ctx))?;
    Ok(events::worse(outcome, watched))
}

/// An event's tick of a kind over one repository: `ops::poll` or
/// `ops::watch` under `tick::run`, as cron's.
pub(crate) fn scoped(
    ctx: &Session,
) -> impl Fn(TickKind, &RepoName, &crate::tick::Event) -> Result<Outcome> + '_ {
    move |kind, repo, event| {
        // a watch tick reads the gate's advisories' verdict before it
        // touches anything
        if kind == TickKind::Watch {
            crate::advisories::check(ctx.config(), ctx.state_dir())?;
        }
        let scope = Scope::Repo(repo.clone());
        match kind {
            TickKind::Poll => crate::tick::run(ctx, kind, |c| poll::tick_if(c, &scope, event)),
            _ => crate::tick::run(ctx, kind, |c| watch::tick_if(c, &scope, event)),
        }
    }
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

/// Keep that comment `id` of `repo` was written just now: no tick takes a
/// command from it before its edit grace ends, so an edit in its own
/// second is reported first. Written as [`note_edit`] is; a state file
/// that cannot keep it says so, and the comment's own tick still waits
/// out the grace.
fn note_written(ctx: &Session, repo: &str, id: i64) {
    let until = events::ms_after(hook::EDIT_GRACE);
    let kept = ctx
        .local()
        .and_then(|l| l.store.note_comment_written(repo, id, until));
    if let Err(e) = kept {
        crate::log::warn(&format!(
            "hook: cannot keep that comment {id} of {repo} is new: {e:#}"
        ));
    }
}

/// Keep that comment `id` of `repo` was edited. It is the one write outside
/// a tick's lock: an insert SQLite serialises, which no tick overwrites.
/// A state file that cannot keep it says so in the log; its tick goes on.
/// afk's own comment (a run's checklist, edited every tick that moves it)
/// is kept too, but said at debug: it never was a command, and a run
/// edits it dozens of times.
fn note_edit(ctx: &Session, repo: &str, id: i64) {
    let kept = ctx.local().and_then(|l| {
        l.store
            .note_comment_edited(repo, id, &events::stamp_now())?;
        // which it was only decides the log line's level: not knowing is
        // a person's
        Ok(l.store.is_afks_comment(repo, id).unwrap_or(false))
    });
    match kept {
        Ok(true) => crate::log::debug(&format!(
            "hook: comment {id} of {repo} was edited: afk's own comment, no command"
        )),
        Ok(false) => crate::log::info(&format!(
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
