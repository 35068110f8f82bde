//! `afk upgrade verdict OWNER/REPO PR [--post] [--wait D]`: one PR's test
//! verdict, as `VERDICT=…` and `BUILD=…` lines (or one JSON document). Exit 0
//! GREEN, 1 RED, 3 PENDING, 4 unread. `--post` posts exactly one test comment first;
//! `--wait` polls until the verdict is not PENDING or the duration ends.
//! Exit 4 when the verdict could not be read (no such PR, a forge error).

use super::args::VerdictArgs;
use crate::command_error::UsageError;
use crate::core::upgrade::verdict::{self, Verdict};
use crate::ops::upgrade::{status_views, views};
use crate::session::{Outcome, Session};
use crate::types::{PrNumber, RepoName};
use anyhow::Result;
use serde::Serialize;
use std::time::{Duration, Instant};

#[derive(Serialize, Debug, Default)]
struct Report {
    command: &'static str,
    dry_run: bool,
    repo: String,
    pr: PrNumber,
    head_sha: Option<String>,
    verdict: Option<Verdict>,
    build_url: Option<String>,
    /// afk's own test comments on the PR
    test_runs: u32,
    posted: bool,
    errors: Vec<VerdictError>,
}

/// An error of `upgrade verdict`, shaped like every report's: `{repo, message}`.
#[derive(Serialize, Debug)]
struct VerdictError {
    repo: String,
    message: String,
    /// what to do about it, apart from the message (`crate::hint`)
    #[serde(skip_serializing_if = "Vec::is_empty")]
    hints: Vec<String>,
}

/// How long `--wait` sleeps between reads.
const POLL: Duration = Duration::from_secs(5);

pub fn run(s: &Session, a: &VerdictArgs) -> Result<Outcome> {
    let mut r = Report {
        command: "upgrade verdict",
        dry_run: s.dry_run(),
        repo: a.repo.clone(),
        pr: a.pr,
        ..Default::default()
    };
    match read(s, a, &mut r) {
        Ok(v) => {
            if s.json() {
                crate::output::emit(true, &r, "");
            } else {
                crate::output::line(&format!("VERDICT={v}"));
                // redacted by output (a CI link is forge data)
                let build = r.build_url.as_deref().unwrap_or("");
                crate::output::line(&format!("BUILD={build}"));
            }
            Ok(Outcome::code(match v {
                Verdict::Green => 0,
                Verdict::Red => 1,
                Verdict::Pending => 3,
            }))
        }
        Err(e) => {
            // a verdict that could not be read (no such PR, an outage) is 4,
            // never 1: a typo or an outage must not read as RED
            let e = crate::command_error::CommandError::from(e);
            let code = match e.exit_code() {
                2 => 2,
                _ => UNREAD,
            };
            crate::log::error(&e.person_line());
            let line = e.line();
            if s.json() {
                r.verdict = None;
                r.build_url = None;
                r.errors.push(VerdictError {
                    repo: a.repo.clone(),
                    message: line,
                    hints: e.hints,
                });
                crate::output::emit(true, &r, "");
            }
            Ok(Outcome::code(code))
        }
    }
}

/// The exit code of a verdict that could not be read.
const UNREAD: u8 = 4;

fn read(s: &Session, a: &VerdictArgs, r: &mut Report) -> Result<Verdict> {
    let Ok(repo) = RepoName::parse_any(&a.repo) else {
        return Err(
            UsageError(format!("upgrade verdict: \"{}\" is not OWNER/REPO", a.repo)).into(),
        );
    };
    let wait = match &a.wait {
        Some(d) => crate::config::parse_duration(d)
            .map_err(|e| UsageError(format!("upgrade verdict: --wait {d}: {e}")))?,
        None => Duration::ZERO,
    };
    let cfg = &s.load()?.upgrade;
    // a dry run's forge records the test comment instead of posting it
    let forge = s.forge()?;
    let me = forge.me()?.login;
    // the PR must exist before anything is posted on it
    forge.pull(&repo, a.pr)?;
    if a.post {
        let c = forge.create_comment(&repo, crate::forge::Target::Pr(a.pr), &cfg.testme_comment)?;
        r.posted = !crate::edges::dry::recorded(&c);
    }
    let deadline = Instant::now() + wait;
    loop {
        let pull = forge.pull(&repo, a.pr)?;
        let comments = forge.comments(&repo, crate::forge::Target::Pr(a.pr))?;
        let status = forge.combined_status(&repo, &pull.head.sha)?;
        let cv = views(&comments);
        let reading = verdict::read(
            &status_views(&status),
            &cfg.ci_context,
            verdict::cutoff(&cv, &me, &cfg.testme_comment),
        );
        r.head_sha = Some(pull.head.sha.clone());
        r.verdict = Some(reading.verdict);
        r.build_url = reading.build_url;
        r.test_runs = verdict::test_runs(&cv, &me, &cfg.testme_comment);
        let left = deadline.saturating_duration_since(Instant::now());
        if reading.verdict != Verdict::Pending || left.is_zero() {
            return Ok(reading.verdict);
        }
        std::thread::sleep(POLL.min(left));
    }
}
