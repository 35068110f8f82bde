//! `afk hook`: one forge webhook delivery in, one scoped poll or watch tick
//! out (docs/hook.md). It reads the request (`webhook`), verifies it and
//! answers it (`output::answer_and_hang_up`); what the delivery starts and
//! its ticks (the slot, the follow-ups, the follow-up watch) are
//! `ops::event_loop`'s.

use crate::core::hook::{self, Answer, Sender, Verdict, Work};
use crate::ops::event_loop;
use crate::session::{Outcome, Session};
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
    crate::spans::triggered_by("hook");
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
    let (dialect, secret) = match side_and_secret(cfg, &request) {
        Ok(found) => found,
        Err(refused) => return refused,
    };
    let headers = &request.headers;
    // verified before anything else: no state file, no lock, no forge, and
    // nothing of the body read (Azure DevOps names its event and delivery
    // there: none said of a refused one)
    let signed = crate::webhook::verify(dialect, &request, &secret) == Verdict::Signed;
    // Linear's must also be fresh by the time inside its body, read once
    // signed: a stale one is a replay
    if !signed || (dialect == Sender::Linear && !hook::linear_fresh(&request.body, now_ms())) {
        let answer = Answer::Unauthorized;
        let event = hook::first_of(headers, dialect.event_headers());
        let delivery = hook::first_of(headers, dialect.delivery_headers());
        crate::log::warn(&hook::log_line(&answer, event, delivery));
        crate::output::answer_and_hang_up(&answer.response());
        return Ok(Outcome::code(1));
    }
    // a form-encoded delivery (GitHub's default) read for the JSON it carries
    let request = crate::webhook::as_json(request);
    let headers = &request.headers;
    let (event, delivery) = hook::named(dialect, headers, &request.body);
    let (event, delivery) = (event.as_deref(), delivery.as_deref());
    if let Some(user) = hook::basic_user(dialect, headers) {
        // it proves nothing (the password did): said, never used
        crate::log::debug(&format!("hook: Basic auth user {user:?}"));
    }
    let (work, news, print) = event_loop::work_of(ctx, cfg, dialect, &request, (event, delivery));
    let answer = Answer::Accepted(work);
    crate::log::info(&hook::log_line_to(&answer, Some(dialect), event, delivery));
    crate::output::answer_and_hang_up(&answer.response_to(dialect));
    // a tracker's delivery, before any lock: a Linear agent session's first
    // thought, a Jira delivery's issues for its ticks' search to reconcile
    if matches!(answer, Answer::Accepted(Work::Ticks(..))) {
        crate::ops::session_ack::before_ticks(ctx, cfg, dialect, &request.body);
    }
    let done = answer.exit().unwrap_or(0);
    match answer {
        Answer::Accepted(Work::Tick(kind, name)) => {
            event_loop::delivery_ticks(ctx, cfg, (kind, &name), (delivery, &print), news)
        }
        Answer::Accepted(Work::Ticks(kind, names)) => {
            event_loop::delivery_ticks_over(ctx, cfg, (kind, &names), (delivery, &print))
        }
        _ => Ok(Outcome::code(done)),
    }
}

/// The clock as milliseconds since the epoch (Linear's `webhookTimestamp`'s unit).
fn now_ms() -> i64 {
    (crate::clock::now().unix_timestamp_nanos() / 1_000_000) as i64
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

/// Whose delivery `request` is and the secret it must be signed with: the
/// forge's (`[hook]`'s) or, with a tracker beside the forge, Jira's
/// (`[tracker]`'s), by the signature header it carries; one carrying both
/// counts for neither (docs/trackers.md#webhooks). Err: the refusal, made.
fn side_and_secret(
    cfg: &crate::config::Config,
    request: &crate::webhook::Request,
) -> Result<(Sender, crate::redact::Secret), Result<Outcome>> {
    let Some(forge) = Sender::of_forge(cfg.forge.kind) else {
        let e = crate::config::cfg_err(format!(
            "config: afk hook reads no webhooks of forge.kind {}",
            cfg.forge.kind
        ));
        return Err(refuse(Answer::NoSecret, Err(e)));
    };
    // with a tracker beside the forge, a delivery is the forge's or the
    // tracker's by the signature header it carries; one carrying both
    // counts for neither (docs/trackers.md#webhooks)
    let dialect = match &cfg.tracker {
        Some(t) if t.linear() => hook::side(forge, Sender::Linear, &request.headers),
        Some(_) => hook::side(forge, Sender::Jira, &request.headers),
        None => Some(forge),
    };
    let Some(dialect) = dialect else {
        let answer = Answer::Unauthorized;
        crate::log::warn(&hook::log_line(&answer, None, None));
        crate::output::answer_and_hang_up(&answer.response());
        return Err(Ok(Outcome::code(1)));
    };
    let tracker = match dialect {
        Sender::Jira => Some("Jira's admin webhook"),
        Sender::Linear => Some("Linear's webhook"),
        _ => None,
    };
    let secret = match tracker {
        Some(_) => cfg.tracker_hook_secret(),
        None => cfg.hook_secret(),
    };
    let secret = match (secret, tracker) {
        (Ok(Some(s)), _) => s,
        (Ok(None), Some(whose)) => {
            let e = crate::config::cfg_hint(
                format!(
                    "config: afk hook has no secret for {whose} deliveries: neither tracker.hook_secret_env nor tracker.hook_secret_file holds one"
                ),
                format!(
                    "set tracker.hook_secret_env or tracker.hook_secret_file to the secret {whose} signs with"
                ),
            );
            return Err(refuse(Answer::NoSecret, Err(e)));
        }
        (Ok(None), None) => return Err(refuse(Answer::NoSecret, Err(cfg.no_hook_secret()))),
        (Err(e), _) => return Err(refuse(Answer::NoSecret, Err(e))),
    };
    Ok((dialect, secret))
}
