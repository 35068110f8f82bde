// One file: the end states' texts (~600 lines) and the tests that pin their every word, kept beside them as everywhere in core.
//! The texts an end state writes for people: the escalation comment on the
//! issue and the notification line. Pure text, beside the checklist.

use super::run_state::Escalation;
use super::sanitize::safe_url;
use crate::budget::spend::{BudgetStop, usd};
use crate::types::RepoName;

/// The hidden marker of run `run_id`'s escalation comment. Only a comment by
/// afk's own account that starts with it counts.
pub fn marker(run_id: crate::types::RunId) -> String {
    format!("<!-- afk:escalation run={run_id} -->")
}

/// What the run spent and took, against its limits, for the comment.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Budget<'a> {
    /// None: the agent reported nothing.
    pub spend_usd: Option<f64>,
    /// `budget.run_usd`; 0: no limit.
    pub run_usd: f64,
    /// Time since dispatch (`spend::age_text`) and `budget.run_time` ("" none).
    pub age: &'a str,
    pub run_time: &'a str,
    /// The spend is the model gateway's metered sum
    /// (docs/how-it-works.md#spend), not the agent's word.
    pub metered: bool,
    /// A turn was stopped at a money limit, and who stopped it: afk's
    /// model gateway (its stop record's limit and figures) or the agent at
    /// its own `--max-budget-usd` (its own report, its words).
    pub budget_stop: Option<&'a BudgetStop>,
    /// The run was paused at this limit and nobody continued it within
    /// `budget.pause_for` (its text, `7d`). None: it was not paused.
    pub paused_for: Option<&'a str>,
}

/// What the escalation comment says.
#[derive(Debug, Clone, PartialEq)]
pub struct Escalated<'a> {
    pub run_id: crate::types::RunId,
    pub why: Escalation,
    pub repo: &'a RepoName,
    /// Corrective turns used, agent starts in all.
    pub turns_used: u32,
    pub turns: u32,
    pub stall_after: &'a str,
    /// The run's PR: how text names it (`#N`, a GitLab merge request's
    /// `!M`: the forge profile's) and its URL, forge data.
    pub pr: Option<(&'a str, &'a str)>,
    /// Failing contexts with their build URLs, forge data.
    pub failing: &'a [(String, Option<String>)],
    /// What a blocked agent said: its reason and questions.
    pub blocked: Option<(&'a str, &'a [String])>,
    /// Why the runner says the agent cannot start (a pod's status reason),
    /// outside text.
    pub cannot_start: Option<&'a str>,
    /// An agent that exited failing: its exit status and the end of its
    /// `agent.log` (the agent's own text, `log_end` bounds it).
    pub exited: Option<(i32, &'a str)>,
    pub human_label: &'a str,
    pub ready_label: &'a str,
    pub budget: Budget<'a>,
    /// review turns used (docs/reviews.md)
    pub review_turns: u32,
    /// who said `stop`
    pub stopped_by: Option<&'a str>,
    /// why afk did not forward the turn's work (docs/how-it-works.md#the-workspace):
    /// the refusal's words (`push-refused`), or the change gate's reasons
    /// (`core::gate::lines`, `gate-refused`)
    pub workspace: Option<&'a str>,
    /// where the commits of a turn afk did not push are kept
    /// (`push-conflict`, `gate-refused`); None: in the run's folder
    pub kept: Option<&'a Kept>,
    /// what lifts the change gate's refusal, one sentence per kind of its
    /// reasons (`core::gate::remedies`; `gate-refused`)
    pub remedies: &'a [&'a str],
    /// `runner.workspace = "afk"`: afk forwards each turn's commits and
    /// opens the PR itself, so a run with no PR is one whose turns left no
    /// commits (never an agent that did not open one)
    pub afk_opens_prs: bool,
    /// the forge says anyone may read the repository: the comment quotes
    /// none of the agent's own text (its log's end, a blocked report), it
    /// says where it is on the afk host (`afk runs show N --log`)
    pub public: bool,
    /// what the agent's box refused during the run, said with the key that
    /// lets one out (`core::agent_box::forwarder::refusals_said`)
    pub box_refused: Option<&'a str>,
    /// why afk's box ended the agent's last turn, its own line in the log
    /// (`core::box_reason::of_log`; a key the model refused, a box that
    /// could not be made), the host's folders said in words: the comment
    /// leads with it, before the exit status and the log's end
    pub box_said: Option<&'a str>,
}

/// Where afk keeps the commits of a turn it did not push (a conflict with
/// someone else's push, a refusal by the change gate), as a comment says
/// it: the place by name and the command that shows it, never a path of
/// afk's host (anyone who reads the repository reads the comment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kept {
    /// a bundle in the run's folder on afk's host (`afk runs show` lists it)
    RunFolder,
    /// a Kubernetes Job's workspace volume, while the Job's pod is kept;
    /// the commit the turn's commits end at, when the Job said it
    JobVolume { head: Option<String> },
}

impl Kept {
    /// The words after "kept": how an operator finds them, by run id.
    pub fn words(&self, run_id: crate::types::RunId) -> String {
        match self {
            Kept::RunFolder => format!(
                "as a bundle in the run's folder (`afk runs show {run_id}` on the afk host lists it)"
            ),
            Kept::JobVolume { head } => {
                // the Job's words: named only when they are a commit id
                let ends = match head.as_deref() {
                    Some(h) if !h.is_empty() && h.chars().all(|c| c.is_ascii_hexdigit()) => {
                        format!(", ending at commit `{}`", &h[..h.len().min(12)])
                    }
                    _ => String::new(),
                };
                format!(
                    "in the Kubernetes Job's workspace volume{ends}, while the Job's pod is kept (until `ttl_after_finished`; `afk runs show {run_id}` on the afk host names the Job)"
                )
            }
        }
    }
}

/// `text` (afk's words about a turn it did not forward, which name the
/// folders it read) with each of `folders` said by the words that name it:
/// `(folder on afk's host, words)`, the longest folder first, so a folder
/// inside another is said as itself. A folder is matched whole (followed by
/// `/`, or by a character no name goes on with), so `/srv/afk/run` is not
/// found in `/srv/afk/runs`. A comment names no path of afk's host.
pub fn host_folders_said(text: &str, folders: &[(&str, &str)]) -> String {
    let mut folders: Vec<(&str, &str)> = folders
        .iter()
        .map(|(f, w)| (f.trim_end_matches('/'), *w))
        .filter(|(f, _)| !f.is_empty())
        .collect();
    folders.sort_by_key(|(f, _)| std::cmp::Reverse(f.len()));
    let mut out = text.to_string();
    for (folder, words) in folders {
        let mut said = String::new();
        let mut rest = out.as_str();
        while let Some(at) = rest.find(folder) {
            let after = &rest[at + folder.len()..];
            let whole = after
                .chars()
                .next()
                .is_none_or(|c| !(c.is_alphanumeric() || matches!(c, '-' | '_' | '.')));
            said.push_str(&rest[..at]);
            said.push_str(if whole { words } else { folder });
            rest = after;
        }
        said.push_str(rest);
        out = said;
    }
    out
}

fn why_text(e: &Escalated) -> String {
    let why = why_words(e);
    // a limit's escalation after a pause nobody continued
    match (e.why, e.budget.paused_for) {
        (Escalation::OverBudget | Escalation::Timeout, Some(pause_for)) => format!(
            "{why}; it was paused for {pause_for} (budget.pause_for) and nobody continued it"
        ),
        _ => why,
    }
}

fn why_words(e: &Escalated) -> String {
    match e.why {
        Escalation::Stalled => format!("no progress for {} (runner.stall_after)", e.stall_after),
        Escalation::NoPr if e.afk_opens_prs => format!(
            "the agent's turns left no commits, so there is no pull request ({} corrective turns used)",
            e.turns_used
        ),
        Escalation::NoPr => format!(
            "the agent stopped without opening a pull request ({} corrective turns used)",
            e.turns_used
        ),
        Escalation::CiRed => format!("CI is still red after {} corrective turns", e.turns_used),
        Escalation::DeployFailed => format!(
            "the deploy failed after merge; {} is frozen until someone runs `afk status --unfreeze {}`",
            e.repo, e.repo
        ),
        Escalation::PrClosed => "the pull request was closed without being merged".to_string(),
        Escalation::Blocked => "the agent is blocked and asks for help".to_string(),
        Escalation::OverBudget => match (e.budget.budget_stop, e.budget.metered) {
            // afk's own words, remade from the record's checked figures
            (Some(BudgetStop::Gateway(reached)), _) => format!(
                "afk's model gateway stopped the agent's turn: {reached}; its agent is stopped"
            ),
            // the agent's own report: its words are outside text
            (Some(BudgetStop::Agent(said)), _) => format!(
                "the agent stopped its own turn at its `--max-budget-usd` (afk passes it what is left of the run's money limits), by its own report{}; its agent is stopped",
                if e.public {
                    " (its words, a line of `agent.log`, are not quoted: the repository is public)"
                        .to_string()
                } else {
                    format!(": {}", super::sanitize::md_text(said))
                }
            ),
            (None, true) => format!(
                "the run spent {} (metered), over budget.run_usd {}; its agent is stopped",
                usd(e.budget.spend_usd.unwrap_or(0.0)),
                usd(e.budget.run_usd)
            ),
            (None, false) => format!(
                "the run's agent reported spending {}, over budget.run_usd {}; its agent is stopped",
                usd(e.budget.spend_usd.unwrap_or(0.0)),
                usd(e.budget.run_usd)
            ),
        },
        Escalation::Timeout => format!(
            "the run has been going for {} since dispatch, over budget.run_time {}; its agent is stopped",
            e.budget.age, e.budget.run_time
        ),
        Escalation::AgentFailed => match (e.cannot_start, e.exited) {
            (None, Some((code, _))) => exit_text(code),
            (reason, _) => format!(
                "the agent cannot start: {}; it is stopped",
                super::sanitize::md_text(reason.unwrap_or("the runner gave no reason"))
            ),
        },
        Escalation::ReviewUnresolved => format!(
            "a trusted reviewer still asks for changes after {} review turns (watch.review_turns_max)",
            e.review_turns
        ),
        Escalation::Stopped => match e.stopped_by {
            Some(who) => format!(
                "{} said `stop`; the agent is stopped",
                super::sanitize::md_text(&super::sanitize::one_line(who, 100))
            ),
            None => "a trusted person said `stop`; the agent is stopped".to_string(),
        },
        Escalation::Conflict => format!(
            "the pull request conflicts with its base and the forge could not update it ({} corrective turns used)",
            e.turns_used
        ),
        Escalation::PushConflict => format!(
            "someone else pushed the run's branch and the agent's last turn does not apply on top of it; its commits are kept {}",
            e.kept.unwrap_or(&Kept::RunFolder).words(e.run_id)
        ),
        Escalation::PushRefused => format!(
            "afk did not forward the agent's last turn: {}",
            super::sanitize::md_text(e.workspace.unwrap_or("its checkout is not one afk reads"))
        ),
        // its reasons and what lifts each kind follow (`gate_section`)
        Escalation::GateRefused => format!(
            "the change gate refused the agent's turn (`gate-refused`), after its one `gate` turn or with no corrective turn left: nothing of it was pushed, and its commits are kept {}",
            e.kept.unwrap_or(&Kept::RunFolder).words(e.run_id)
        ),
    }
}

/// A `gate-refused` comment's reasons (paths in code spans, counts and
/// short ids: `core::gate::lines`, never a file's contents), then what a
/// person may do about each kind of them (`core::gate::remedies`: an
/// `allow` glob for a protected path only, never for an advisory).
fn gate_section(e: &Escalated) -> String {
    let mut s = format!("{}\n\n", e.workspace.unwrap_or("- (no reason kept)"));
    s.push_str("What a person may do, for each kind of reason:\n");
    if e.remedies.is_empty() {
        s.push_str("- a person may push the change themselves (a person's push is never gated)\n");
    }
    for r in e.remedies {
        s.push_str(&format!("- {r}.\n"));
    }
    s.push('\n');
    s
}

/// The words the comment's reason begins with when afk's box ended the
/// agent's last turn (`core::box_reason`): the box's own reason, escaped,
/// before the exit status (137: the box was killed) and the log's end, which
/// say nothing of it. On a public repository it is not quoted (it is a line
/// of `agent.log`, which the agent writes too: the log is quoted on none),
/// the comment says where it is. Nothing where the gateway's budget stop is
/// the reason itself (`over-budget` says its figures).
fn box_lead(e: &Escalated) -> String {
    let Some(reason) = e.box_said.filter(|r| !r.trim().is_empty()) else {
        return String::new();
    };
    if e.why == Escalation::OverBudget
        && matches!(e.budget.budget_stop, Some(BudgetStop::Gateway(_)))
    {
        return String::new();
    }
    let lead = super::box_reason::LEAD;
    if e.public {
        return format!(
            "{lead} (its reason, a line of `agent.log`, is not quoted: the repository is public; `afk runs show {}` on the afk host shows it); ",
            e.run_id
        );
    }
    format!(
        "{lead}: {}; ",
        super::sanitize::md_text_cut(reason, super::box_reason::REASON_MAX)
    )
}

/// What an agent's failing exit status says, in words.
pub fn exit_text(code: i32) -> String {
    let hint = match code {
        127 => " (127: its program was not found; `afk doctor` checks it)",
        126 => " (126: its program could not be run)",
        _ => "",
    };
    format!(
        "the agent exited with status {code}{hint} without opening a pull request; no corrective turn is spent on it"
    )
}

/// The prefix of the keeper's own lines in a boxed turn's log: afk's words,
/// never the agent's.
pub use super::box_reason::AFK_BOX;

/// What the agent said last about why it ended, in its own words, from the
/// end of its log: a named agent's final result or error record (Claude
/// Code's `result`, with its `subtype`; Codex's `error` and `turn.failed`
/// messages), never afk's own lines nor a JSON record cut in two. None when
/// it said nothing such; bounded to [`LOG_END_MAX`].
pub fn agent_said(log: &str) -> Option<String> {
    for line in log.lines().rev() {
        let line = line.trim();
        if line.is_empty() || line.starts_with(AFK_BOX) || !line.starts_with('{') {
            continue;
        }
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let text = |v: &serde_json::Value| {
            v.as_str()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let said = match v["type"].as_str().unwrap_or("") {
            "result"
                if v["is_error"] == true
                    || v["subtype"].as_str().is_some_and(|s| s != "success") =>
            {
                let why = text(&v["result"]).or_else(|| {
                    v["errors"]
                        .as_array()
                        .and_then(|a| a.iter().filter_map(text).next())
                });
                let subtype = text(&v["subtype"]).unwrap_or_default();
                Some(match (why, subtype.as_str()) {
                    (Some(w), "" | "success") => w,
                    (Some(w), s) => format!("{w} ({s})"),
                    (None, s) => format!("the agent ended with {s}"),
                })
            }
            "result" => None,
            "error" => text(&v["message"]).or_else(|| text(&v["error"]["message"])),
            "turn.failed" => text(&v["error"]["message"]),
            "assistant" if v["error"].is_string() => v["message"]["content"]
                .as_array()
                .and_then(|c| c.iter().find_map(|b| text(&b["text"]))),
            _ => continue,
        };
        let said = said?;
        let clean = super::sanitize::one_line(&super::sanitize::sanitize(&said), LOG_END_MAX);
        return (!clean.is_empty()).then_some(clean);
    }
    None
}

/// Whether the agent ended its turn at a budget of its own (Claude Code's
/// `--max-budget-usd`: a result whose subtype is `error_max_budget_usd`):
/// the run is over budget, whatever the figures afk holds say.
pub fn stopped_at_own_budget(log: &str) -> bool {
    log.lines()
        .rev()
        .filter(|l| l.trim_start().starts_with('{'))
        .take(20)
        .any(|l| {
            serde_json::from_str::<serde_json::Value>(l.trim())
                .is_ok_and(|v| v["type"] == "result" && v["subtype"] == "error_max_budget_usd")
        })
}

/// How many of the last lines of `agent.log` an `agent-failed` escalation
/// quotes, and the most bytes they may take.
pub(crate) const LOG_END_LINES: usize = 15;
pub(crate) const LOG_END_MAX: usize = 2_000;

/// The end of an agent's log as people are shown it: its last
/// [`LOG_END_LINES`] non-empty lines within [`LOG_END_MAX`] bytes (a longer
/// last line keeps its end), sanitised. None when nothing is left.
pub fn log_end(log: &str) -> Option<String> {
    if let Some(said) = agent_said(log) {
        return Some(said);
    }
    // nothing the agent said in words: the log's own last lines, afk's
    // lines among them only when the agent wrote none
    let own: String = log
        .lines()
        .filter(|l| !l.starts_with(AFK_BOX))
        .collect::<Vec<_>>()
        .join("\n");
    let log = if own.trim().is_empty() {
        log
    } else {
        own.as_str()
    };
    let clean = super::sanitize::sanitize(log);
    let mut kept: Vec<&str> = vec![];
    let mut size = 0;
    for line in clean.lines().rev().filter(|l| !l.trim().is_empty()) {
        if kept.len() == LOG_END_LINES || size + line.len() + 1 > LOG_END_MAX {
            if kept.is_empty() {
                let mut at = line.len().saturating_sub(LOG_END_MAX);
                while !line.is_char_boundary(at) {
                    at += 1;
                }
                kept.push(&line[at..]);
            }
            break;
        }
        size += line.len() + 1;
        kept.push(line);
    }
    kept.reverse();
    (!kept.is_empty()).then(|| kept.join("\n"))
}

/// The comment's spend line: what was reported, against `run_usd`.
fn spend_line(b: &Budget) -> String {
    let limit = if b.run_usd > 0.0 {
        format!(" (budget.run_usd {})", usd(b.run_usd))
    } else {
        String::new()
    };
    // metered: the gateway's figure is the run's, what the agent reported
    // (or did not) counts for nothing
    match (b.spend_usd, b.metered) {
        (Some(x), true) => format!(
            "- spend: {} metered by afk's model gateway{limit}\n",
            usd(x)
        ),
        (None, true) => format!("- spend: none metered yet by afk's model gateway{limit}\n"),
        (Some(x), false) => format!("- spend: {}{limit}\n", usd(x)),
        (None, false) => format!(
            "- spend: none reported{limit} (the agent wrote no `cost_usd` line, no Claude Code JSON result and no Codex usage priced by [runner.prices])\n"
        ),
    }
}

/// How much of a blocked agent's reason the comment quotes, in characters.
pub(crate) const REASON_MAX: usize = 1_000;
/// How much of one question the comment quotes, in characters.
pub(crate) const QUESTION_MAX: usize = 300;
/// The most questions the comment lists, and the bytes they may take.
pub(crate) const QUESTIONS_MAX: usize = 50;
pub(crate) const QUESTIONS_BUDGET: usize = 24_000;
/// The most failing checks the comment lists, and the bytes they may take
/// (each may link a build URL of up to `sanitize::URL_MAX` bytes).
pub(crate) const FAILING_MAX: usize = 10;
pub(crate) const FAILING_BUDGET: usize = 16_000;

/// The escalation comment: why, with links, what the agent asked, and how to
/// hand back. Outside text in it is cut with the cut said (a reason to
/// `REASON_MAX` characters, questions and failing checks to their counts),
/// and the whole stays within `bounds::COMMENT_BUDGET` bytes.
pub fn comment(e: &Escalated) -> String {
    use super::bounds::{COMMENT_BUDGET, fit, fitting, more};
    use super::sanitize::{md_text, md_text_cut, one_line, safe_url};
    let mut s = format!(
        "{}\n**afk needs a human here** (`{}`): {}{}.\n\n",
        marker(e.run_id),
        e.why,
        box_lead(e),
        why_text(e)
    );
    if e.why == Escalation::GateRefused {
        s.push_str(&gate_section(e));
    }
    if let Some((n, url)) = e.pr {
        match safe_url(url) {
            Some(u) => s.push_str(&format!("- pull request: [{n}]({u})\n")),
            None => s.push_str(&format!("- pull request: {n}\n")),
        }
    }
    let failing: Vec<String> = e
        .failing
        .iter()
        .take(FAILING_MAX + 1)
        .map(|(ctx, url)| {
            let ctx = md_text(&one_line(ctx, 120));
            match url.as_deref().and_then(safe_url) {
                Some(u) => format!("- failing: {ctx} ([build]({u}))\n"),
                None => format!("- failing: {ctx}\n"),
            }
        })
        .collect();
    let shown = fitting(&failing, FAILING_MAX, FAILING_BUDGET);
    failing[..shown].iter().for_each(|l| s.push_str(l));
    if e.failing.len() > shown {
        let cut = more(e.failing.len() - shown, "failing check", "failing checks");
        s.push_str(&format!("- {cut}\n"));
    }
    // a public repository: anyone reads the comment, so the agent's log is
    // not quoted (a secret past the redaction would be published); a blocked
    // agent's reason and questions are, bounded and escaped, as everywhere:
    // they are what the person it asks has to answer
    let withheld = format!(
        "(not quoted: the repository is public; `afk runs show {} --log` on the afk host shows it)",
        e.run_id
    );
    if let Some((reason, qs)) = e.blocked {
        if !reason.trim().is_empty() {
            let said = md_text_cut(reason, REASON_MAX);
            s.push_str(&format!("- the agent says: {said}\n"));
        }
        let lines: Vec<String> = qs
            .iter()
            .take(QUESTIONS_MAX + 1)
            .map(|q| format!("- question: {}\n", md_text_cut(q, QUESTION_MAX)))
            .collect();
        let shown = fitting(&lines, QUESTIONS_MAX, QUESTIONS_BUDGET);
        lines[..shown].iter().for_each(|l| s.push_str(l));
        if qs.len() > shown {
            let cut = more(qs.len() - shown, "question", "questions");
            s.push_str(&format!(
                "- {cut} (all of them are in the run's progress file on the afk host)\n"
            ));
        }
    }
    s.push_str(&spend_line(&e.budget));
    if let Some(r) = e.box_refused {
        s.push_str(&format!(
            "- {r}
"
        ));
    }
    if let (true, Some(_)) = (e.public, e.exited) {
        s.push_str(&format!(
            "- the end of its log (`agent.log`, the agent's own output) {withheld}\n"
        ));
    }
    if let Some(end) = e
        .exited
        .filter(|_| !e.public)
        .and_then(|(_, log)| log_end(log))
    {
        let fence = super::sanitize::fence_for(&end);
        s.push_str(&format!(
            "- the end of its log (`agent.log`, the agent's own output):\n\n{fence}text\n{end}\n{fence}\n\n"
        ));
    }
    // the run's logs by the command that shows them, never their path on
    // afk's host: anyone who reads the repository reads the comment
    s.push_str(&format!(
        "- run {}: {}; the run's logs: `afk runs show {}` on the afk host\n\n`{}` is on and `{}` is off: afk leaves this issue alone until someone adds `{}` again.\n",
        e.run_id,
        crate::plural(e.turns as usize, "agent turn", "agent turns"),
        e.run_id, e.human_label, e.ready_label, e.ready_label
    ));
    fit(&s, COMMENT_BUDGET)
}

/// A link for a notification or an event: the forge's URL when it is a plain
/// http(s) link, else nothing (the text still names `repo#issue`).
pub fn link(url: &str) -> Option<String> {
    safe_url(url)
}

/// The one-line notification for an escalation. `at` is where the issue
/// is, as afk's reports name it (`prompt::place`: `acme/api#4`, or
/// `acme/api PLAT-1` for a tracker's issue).
pub fn notification(
    at: &str,
    why: Escalation,
    url: &str,
    blocked: Option<&crate::progress::Blocked>,
) -> String {
    let head = match link(url) {
        Some(u) => format!("afk needs a human on {at} ({why}): {u}"),
        None => format!("afk needs a human on {at} ({why})"),
    };
    // what a person on Slack needs to answer: the agent's reason and its
    // first question, one line each, bounded (the agent's text: sanitised
    // here, redacted by notify on the way out)
    let Some(b) = blocked else { return head };
    let mut s = head;
    let reason = crate::sanitize::one_line_cut(&b.reason, NOTIFY_TEXT_MAX);
    if !reason.is_empty() {
        s.push_str(&format!("\nThe agent says: {reason}"));
    }
    if let Some(q) = b.questions.iter().map(|q| q.trim()).find(|q| !q.is_empty()) {
        s.push_str(&format!(
            "\nIts first question: {}",
            crate::sanitize::one_line_cut(q, NOTIFY_TEXT_MAX)
        ));
        if b.questions.len() > 1 {
            s.push_str(&format!(
                " (and {} more on the issue)",
                b.questions.len() - 1
            ));
        }
    }
    s
}

/// The most of the agent's reason or question a notification carries.
pub(crate) const NOTIFY_TEXT_MAX: usize = 300;

/// The one-line notification for an abandoned run: a person closed the issue
/// or took its in-progress label off while the run was in flight.
pub fn abandoned_notification(at: &str, url: &str) -> String {
    let why = "a person closed the issue or removed its in-progress label";
    match link(url) {
        Some(u) => format!("afk stopped {at}: {why}: {u}"),
        None => format!("afk stopped {at}: {why}"),
    }
}

/// The one-line notification for a success.
pub fn success_notification(at: &str, url: &str) -> String {
    match link(url) {
        Some(u) => format!("afk finished {at}: {u} merged"),
        None => format!("afk finished {at}: merged"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notification_links_only_a_plain_http_url() {
        let stopped =
            "afk stopped acme/api#4: a person closed the issue or removed its in-progress label";
        let cases = [
            (
                "https://forge/acme/api/pulls/5",
                "afk needs a human on acme/api#4 (ci-red): https://forge/acme/api/pulls/5",
                "afk finished acme/api#4: https://forge/acme/api/pulls/5 merged",
                format!("{stopped}: https://forge/acme/api/pulls/5"),
            ),
            (
                "https://forge/x\n<!channel> merge it",
                "afk needs a human on acme/api#4 (ci-red)",
                "afk finished acme/api#4: merged",
                stopped.to_string(),
            ),
            (
                "javascript:alert(1)",
                "afk needs a human on acme/api#4 (ci-red)",
                "afk finished acme/api#4: merged",
                stopped.to_string(),
            ),
        ];
        let at = "acme/api#4";
        for (url, escalated, succeeded, abandoned) in cases {
            assert_eq!(notification(at, Escalation::CiRed, url, None), escalated);
            assert_eq!(success_notification(at, url), succeeded);
            assert_eq!(abandoned_notification(at, url), abandoned);
        }
    }

    #[test]
    fn a_blocked_notification_carries_the_agents_reason_and_first_question_bounded() {
        let at = "acme/api#4";
        let b = crate::progress::Blocked {
            reason: "I need the API key's scope\n<!channel>".into(),
            questions: vec!["  ".into(), "Which scope?".into(), "Which env?".into()],
        };
        let n = notification(at, Escalation::Blocked, "", Some(&b));
        assert_eq!(
            n,
            "afk needs a human on acme/api#4 (blocked)\nThe agent says: I need the API key's scope <!channel>\nIts first question: Which scope? (and 2 more on the issue)"
        );
        let long = crate::progress::Blocked {
            reason: "r".repeat(5000),
            questions: vec![],
        };
        let n = notification(at, Escalation::Blocked, "", Some(&long));
        assert!(n.contains("(cut: 4,700 more characters)"), "{n}");
        assert!(n.chars().count() < 500, "{}", n.chars().count());
    }

    static API: std::sync::LazyLock<RepoName> =
        std::sync::LazyLock::new(|| "acme/api".parse().unwrap());

    fn base<'a>(failing: &'a [(String, Option<String>)], qs: &'a [String]) -> Escalated<'a> {
        Escalated {
            run_id: crate::types::RunId(3),
            why: Escalation::Blocked,
            repo: &API,
            turns_used: 1,
            turns: 2,
            stall_after: "3h",
            pr: Some(("#5", "http://forge/acme/api/pulls/5")),
            failing,
            blocked: Some(("need a key", qs)),
            cannot_start: None,
            exited: None,
            human_label: "ready-for-human",
            ready_label: "ready-for-agent",
            budget: Budget {
                spend_usd: Some(1.25),
                run_usd: 1.0,
                age: "2h05m",
                run_time: "2h",
                metered: false,
                budget_stop: None,
                paused_for: None,
            },
            review_turns: 3,
            stopped_by: Some("alice"),
            workspace: None,
            kept: None,
            remedies: &[],
            afk_opens_prs: false,
            public: false,
            box_refused: None,
            box_said: None,
        }
    }

    /// Every word of `t` that reads as a path of afk's host: one that
    /// starts with `/` or `~/` once the markdown around it is taken off.
    fn host_paths(t: &str) -> Vec<&str> {
        t.split(|c: char| {
            c.is_whitespace() || matches!(c, '`' | '(' | ')' | '[' | ']' | '\'' | '"')
        })
        .filter(|w| w.starts_with('/') || w.starts_with("~/"))
        .collect()
    }

    /// On a repository anyone reads, the comment says where the agent's
    /// log is and quotes none of it; a blocked report's reason and questions
    /// are the person's to answer and are quoted (bounded, escaped) as on a
    /// private one, which quotes the log as before.
    #[test]
    fn a_public_repository_is_told_where_the_agents_log_is_and_shown_none_of_it() {
        let qs = vec!["which scope holds QUESTION-TEXT?".to_string()];
        for (why, exited) in [
            (
                Escalation::AgentFailed,
                Some((1, "step 1\nLOG-TEXT the key is here\n")),
            ),
            (Escalation::Blocked, None),
        ] {
            let mut e = Escalated {
                why,
                exited,
                blocked: Some(("REASON-TEXT", &qs)),
                ..base(&[], &qs)
            };
            let private = comment(&e);
            for quoted in ["QUESTION-TEXT", "REASON-TEXT"] {
                assert!(private.contains(quoted), "{why:?}: {private}");
            }
            assert_eq!(private.contains("LOG-TEXT"), exited.is_some(), "{private}");
            e.public = true;
            let public = comment(&e);
            for quoted in ["LOG-TEXT", "step 1"] {
                assert!(!public.contains(quoted), "{why:?}: {public}");
            }
            for quoted in ["QUESTION-TEXT", "REASON-TEXT"] {
                assert!(public.contains(quoted), "{why:?}: {public}");
            }
            if exited.is_some() {
                assert!(public.contains("`afk runs show 3 --log`"), "{public}");
                assert!(public.contains("the repository is public"), "{public}");
            }
            assert!(
                public.ends_with("adds `ready-for-agent` again.\n"),
                "{public}"
            );
        }
    }

    #[test]
    fn an_escalation_says_what_the_box_refused_with_the_key_that_lets_one_out() {
        let qs: Vec<String> = vec![];
        let said = "The agent's box refused 1 connection during this run: `pypi.org:443`. `runner.box.allow` (a `host:port` entry) lets one out.";
        for (refused, shown) in [(None, false), (Some(said), true)] {
            let e = Escalated {
                box_refused: refused,
                ..base(&[], &qs)
            };
            let c = comment(&e);
            assert_eq!(
                c.contains("- The agent's box refused 1 connection"),
                shown,
                "{c}"
            );
        }
    }

    #[test]
    fn no_pr_says_the_turns_left_no_commits_where_afk_opens_the_pr() {
        let cases = [
            (
                true,
                "the agent's turns left no commits, so there is no pull request (1 corrective turns used)",
            ),
            (
                false,
                "the agent stopped without opening a pull request (1 corrective turns used)",
            ),
        ];
        for (afk_opens_prs, want) in cases {
            let e = Escalated {
                why: Escalation::NoPr,
                afk_opens_prs,
                ..base(&[], &[])
            };
            assert_eq!(why_text(&e), want, "{afk_opens_prs}");
            assert!(comment(&e).contains(want), "{}", comment(&e));
        }
    }

    #[test]
    fn the_conversation_s_escalations_say_who_and_how_many_turns() {
        let qs = vec![];
        let mut e = base(&[], &qs);
        e.why = Escalation::ReviewUnresolved;
        let t = comment(&e);
        assert!(t.contains("(`review-unresolved`)"), "{t}");
        assert!(t.contains("after 3 review turns"), "{t}");
        e.why = Escalation::Stopped;
        let t = comment(&e);
        assert!(t.contains("(`stopped`): alice said `stop`"), "{t}");
    }

    #[test]
    fn escalation_comment_starts_with_its_marker_and_says_why() {
        let qs = vec!["which key?".to_string()];
        let t = comment(&base(&[], &qs));
        assert!(t.starts_with(&marker(crate::types::RunId(3))));
        assert!(t.contains("(`blocked`)"));
        assert!(t.contains("[#5](http://forge/acme/api/pulls/5)"));
        // a GitLab merge request is `!M`, numbered apart from the issue
        let mut mr = base(&[], &qs);
        mr.pr = Some(("!2", "http://forge/acme/api/-/merge_requests/2"));
        let t = comment(&mr);
        assert!(
            t.contains("[!2](http://forge/acme/api/-/merge_requests/2)"),
            "{t}"
        );
        assert!(t.contains("- question: which key?"));
        // the run's logs by the command that shows them, never their path
        assert!(
            t.contains(
                "- run 3: 2 agent turns; the run's logs: `afk runs show 3` on the afk host\n"
            ),
            "{t}"
        );
        assert_eq!(host_paths(&t), Vec::<&str>::new(), "{t}");
    }

    /// A refusal by the change gate says its reasons, where the refused
    /// commits are kept (by the command that lists them, never a path of
    /// afk's host) and what lifts each kind of reason: an `allow` glob for
    /// a protected path only, never for an advisory.
    #[test]
    fn a_gate_refusal_gives_each_kind_its_own_remedy_and_names_no_host_path() {
        use crate::gate::{Did, NewDep, Reason, lines, remedies};
        let protected = Reason::Protected {
            path: ".github/workflows/ci.yml".into(),
            did: vec![Did::Added],
            commits: vec!["aaa111".into()],
        };
        let advisory = Reason::Advisory {
            dep: NewDep {
                path: "package-lock.json".into(),
                ecosystem: crate::gate::deps::Ecosystem::Npm,
                name: "evil".into(),
                version: "1.0.0".into(),
            },
            hits: vec![],
        };
        let large = Reason::TooLarge {
            bytes: 3 << 20,
            max: 1000,
            largest: vec![("big.bin".into(), 3 << 20)],
        };
        let folder = Kept::RunFolder;
        let job = Kept::JobVolume {
            head: Some("0123456789abcdef".into()),
        };
        // (reasons, where the commits are kept, what the comment says, what it never says)
        type Case<'a> = (Vec<Reason>, Option<&'a Kept>, Vec<&'a str>, Vec<&'a str>);
        let cases: Vec<Case> = vec![
            (
                vec![protected.clone()],
                None,
                vec![
                    "- protected path `.github/workflows/ci.yml`: added by commit `aaa111`\n",
                    "its commits are kept as a bundle in the run's folder (`afk runs show 3` on the afk host lists it).\n",
                    "- a protected path: a person may push the change themselves (a person's push is never gated), or add a `[gate] allow` glob naming the path and re-arm the issue.\n",
                ],
                vec!["advisories folder", "split the work"],
            ),
            (
                vec![advisory.clone()],
                Some(&folder),
                vec![
                    "- dependency `evil` `1.0.0` (npm, `package-lock.json`)",
                    "move it to a fixed version",
                    "correct it in the advisories folder",
                ],
                vec!["`[gate] allow` glob naming", "a protected path:"],
            ),
            (
                vec![large, advisory, protected],
                Some(&job),
                vec![
                    "kept in the Kubernetes Job's workspace volume, ending at commit `0123456789ab`, while",
                    "- a protected path:",
                    "- over a size limit: split the work",
                    "- a dependency an advisory lists:",
                ],
                vec!["0123456789abc"],
            ),
            // no reason kept: a person may still push it
            (
                vec![],
                None,
                vec![
                    "- (no reason kept)\n",
                    "- a person may push the change themselves",
                ],
                vec!["`[gate] allow`"],
            ),
        ];
        for (reasons, kept, says, never) in cases {
            let said = lines(&reasons).join("\n");
            let remedies = remedies(&reasons);
            let c = comment(&Escalated {
                why: Escalation::GateRefused,
                blocked: None,
                workspace: (!reasons.is_empty()).then_some(said.as_str()),
                kept,
                remedies: &remedies,
                ..base(&[], &[])
            });
            for want in says {
                assert!(c.contains(want), "{want}: {c}");
            }
            for not in never {
                assert!(!c.contains(not), "{not}: {c}");
            }
            // the remedies in the order `remedies` gives them
            let at: Vec<usize> = remedies.iter().map(|r| c.find(r).unwrap()).collect();
            assert!(at.is_sorted(), "{c}");
            assert_eq!(host_paths(&c), Vec::<&str>::new(), "{c}");
            assert!(c.ends_with("adds `ready-for-agent` again.\n"), "{c}");
        }
    }

    #[test]
    fn a_refusal_says_the_folders_of_afks_host_in_words_never_their_paths() {
        let folders = [
            ("/srv/afk/state", "afk's state folder"),
            ("/srv/afk/state/runs/2/", "the run's folder"),
            ("/srv/afk/state/runs/2/work", "the run's checkout"),
            ("", "nothing"),
        ];
        // (afk's words, as the comment says them)
        let cases = [
            (
                "/srv/afk/state/runs/2/work/.git/commondir exists: it would make git read another repository",
                "the run's checkout/.git/commondir exists: it would make git read another repository",
            ),
            (
                "/srv/afk/state/runs/2/work is gone",
                "the run's checkout is gone",
            ),
            (
                "/srv/afk/state/runs/2/turn.lock and /srv/afk/state/git/x",
                "the run's folder/turn.lock and afk's state folder/git/x",
            ),
            // a longer name beside a folder is not that folder
            (
                "/srv/afk/state/runs/2/workshop is a link",
                "the run's folder/workshop is a link",
            ),
            (
                "the turn's branch no longer contains the commit it started from",
                "the turn's branch no longer contains the commit it started from",
            ),
        ];
        for (text, want) in cases {
            let said = host_folders_said(text, &folders);
            assert_eq!(said, want, "{text}");
            let e = Escalated {
                why: Escalation::PushRefused,
                workspace: Some(said.as_str()),
                ..base(&[], &[])
            };
            let c = comment(&e);
            assert_eq!(host_paths(&c), Vec::<&str>::new(), "{c}");
        }
    }

    #[test]
    fn a_conflict_says_where_its_commits_are_kept_without_a_host_path() {
        // (where they are kept, what the comment says)
        let job = Kept::JobVolume { head: None };
        let odd = Kept::JobVolume {
            head: Some("/var/lib/afk/runs/3/turn.bundle".into()),
        };
        let cases = [
            (
                None,
                "its commits are kept as a bundle in the run's folder (`afk runs show 3` on the afk host lists it).",
            ),
            (
                Some(&job),
                "its commits are kept in the Kubernetes Job's workspace volume, while the Job's pod is kept",
            ),
            // a Job's head that is no commit id is not named
            (
                Some(&odd),
                "its commits are kept in the Kubernetes Job's workspace volume, while the Job's pod is kept",
            ),
        ];
        for (kept, want) in cases {
            let c = comment(&Escalated {
                why: Escalation::PushConflict,
                kept,
                ..base(&[], &[])
            });
            assert!(c.contains(want), "{c}");
            assert_eq!(host_paths(&c), Vec::<&str>::new(), "{c}");
        }
    }

    #[test]
    fn an_escalation_comment_stays_under_the_forge_limit_and_says_what_it_cut() {
        use crate::bounds::{COMMENT_BUDGET, FORGE_COMMENT_MAX};
        let q = |n: usize, len: usize| -> Vec<String> {
            (0..n)
                .map(|i| format!("q{i} {}?", "é".repeat(len)))
                .collect()
        };
        let failing = |n: usize| -> Vec<(String, Option<String>)> {
            (0..n)
                .map(|i| {
                    (
                        format!("ci/{i}"),
                        Some(format!("https://ci/{}", "x".repeat(2_000))),
                    )
                })
                .collect()
        };
        let huge = "why ".repeat(262_144);
        // (reason, questions, failing checks, questions shown, failing shown, reason cut)
        type Failing = Vec<(String, Option<String>)>;
        type Case<'a> = (&'a str, Vec<String>, Failing, usize, usize, bool);
        let cases: Vec<Case> = vec![
            ("need a key", q(1, 5), failing(0), 1, 0, false),
            (
                "need a key",
                q(5_000, 200),
                failing(0),
                QUESTIONS_MAX,
                0,
                false,
            ),
            (&huge, q(5_000, 200), failing(0), QUESTIONS_MAX, 0, true),
            ("x", q(30, 5_000), failing(0), 30, 0, false),
            ("x", q(45, 5_000), failing(0), 37, 0, false),
            ("x", q(0, 0), failing(1_000), 0, 7, false),
            ("x", q(0, 0), failing(5), 0, 5, false),
            (&huge, q(5_000, 5_000), failing(1_000), 37, 7, true),
        ];
        for (reason, qs, fails, shown, fails_shown, reason_cut) in cases {
            let mut e = base(&fails, &qs);
            e.blocked = Some((reason, &qs));
            let t = comment(&e);
            let case = format!("{} questions, {} failing", qs.len(), fails.len());
            assert!(
                t.len() <= COMMENT_BUDGET && t.chars().count() < FORGE_COMMENT_MAX,
                "{case}"
            );
            assert!(t.starts_with(&marker(crate::types::RunId(3))), "{case}");
            assert!(
                t.ends_with("adds `ready-for-agent` again.\n"),
                "{case}: the hand-back survives"
            );
            assert_eq!(t.matches("\n- question: ").count(), shown, "{case}");
            assert_eq!(t.matches("\n- failing: ").count(), fails_shown, "{case}");
            if qs.len() > shown {
                let said = crate::bounds::more(qs.len() - shown, "question", "questions");
                assert!(t.contains(&said), "{case}: {said}");
            }
            if fails.len() > fails_shown {
                assert!(t.contains("more failing checks"), "{case}");
            }
            assert_eq!(
                t.contains("more characters)\n- "),
                reason_cut || qs.iter().any(|q| q.chars().count() > QUESTION_MAX),
                "{case}"
            );
        }
    }

    #[test]
    fn every_reason_has_its_own_text() {
        let mut seen = std::collections::HashSet::new();
        for why in Escalation::ALL {
            let e = Escalated {
                why,
                ..base(&[], &[])
            };
            assert!(seen.insert(why_text(&e)), "{why}");
        }
    }

    #[test]
    fn a_budget_escalation_gives_the_figures() {
        let over = comment(&Escalated {
            why: Escalation::OverBudget,
            ..base(&[], &[])
        });
        assert!(
            over.contains("(`over-budget`): the run's agent reported spending $1.25, over budget.run_usd $1.00; its agent is stopped."),
            "{over}"
        );
        assert!(
            over.contains("- spend: $1.25 (budget.run_usd $1.00)\n"),
            "{over}"
        );
        // metered: the run's figure, not the agent's word
        let mut e = Escalated {
            why: Escalation::OverBudget,
            ..base(&[], &[])
        };
        e.budget.metered = true;
        let metered = comment(&e);
        assert!(
            metered.contains("(`over-budget`): the run spent $1.25 (metered), over budget.run_usd $1.00; its agent is stopped."),
            "{metered}"
        );
        // stopped by the gateway: the limit it reached and its figures
        let day = BudgetStop::Gateway(
            "budget.day_usd $20.00 reached: the day's runs spent $20.01 (metered)".into(),
        );
        e.budget.budget_stop = Some(&day);
        let stopped = comment(&e);
        assert!(
            stopped.contains("(`over-budget`): afk's model gateway stopped the agent's turn: budget.day_usd $20.00 reached: the day's runs spent $20.01 (metered); its agent is stopped."),
            "{stopped}"
        );
        let late = comment(&Escalated {
            why: Escalation::Timeout,
            ..base(&[], &[])
        });
        assert!(
            late.contains("going for 2h05m since dispatch, over budget.run_time 2h"),
            "{late}"
        );
        let unknown = comment(&Escalated {
            why: Escalation::NoPr,
            budget: Budget::default(),
            ..base(&[], &[])
        });
        assert!(
            unknown.contains("- spend: none reported (the agent wrote no"),
            "{unknown}"
        );
    }

    /// Issue 82 item 11: a run the model gateway meters says the gateway's
    /// figure, never the agent's missing report.
    #[test]
    fn a_metered_runs_spend_line_says_the_gateways_figure_not_the_agents_missing_report() {
        let cases = [
            (
                Some(1.25),
                true,
                "- spend: $1.25 metered by afk's model gateway (budget.run_usd $1.00)\n",
            ),
            (
                None,
                true,
                "- spend: none metered yet by afk's model gateway (budget.run_usd $1.00)\n",
            ),
            (Some(1.25), false, "- spend: $1.25 (budget.run_usd $1.00)\n"),
            (
                None,
                false,
                "- spend: none reported (budget.run_usd $1.00) (the agent wrote no `cost_usd` line, no Claude Code JSON result and no Codex usage priced by [runner.prices])\n",
            ),
        ];
        for (spend_usd, metered, want) in cases {
            let b = Budget {
                spend_usd,
                metered,
                ..base(&[], &[]).budget
            };
            let line = spend_line(&b);
            assert_eq!(line, want, "{spend_usd:?} metered {metered}");
            if metered {
                assert!(
                    !line.contains("cost_usd") && !line.contains("reported"),
                    "{line}"
                );
            }
        }
    }

    #[test]
    fn an_agent_that_failed_gives_its_exit_status_and_the_end_of_its_log_fenced() {
        let mut log = String::new();
        for i in 0..40 {
            log.push_str(&format!("line {i}\n"));
        }
        log.push_str("afk-agent: 1: claude: not found\n```\n@admin <!-- hidden -->\n\n");
        let c = comment(&Escalated {
            why: Escalation::AgentFailed,
            blocked: None,
            exited: Some((127, &log)),
            ..base(&[], &[])
        });
        assert!(
            c.contains("(`agent-failed`): the agent exited with status 127 (127: its program was not found; `afk doctor` checks it) without opening a pull request; no corrective turn is spent on it.\n"),
            "{c}"
        );
        // the last lines only, in a fence the log cannot close, its comments gone
        assert!(c.contains("````text\nline 28\n"), "{c}");
        assert!(!c.contains("line 27\n"), "{c}");
        assert!(c.contains("claude: not found\n```\n@admin \n````\n"), "{c}");
        let quiet = comment(&Escalated {
            why: Escalation::AgentFailed,
            blocked: None,
            exited: Some((3, "\n \n")),
            ..base(&[], &[])
        });
        assert!(quiet.contains("exited with status 3 without"), "{quiet}");
        assert!(!quiet.contains("the end of its log"), "{quiet}");
    }

    /// Issue 82 item 11: an over-budget comment says who stopped the turn,
    /// from what afk knows: afk's model gateway (its stop record) or the
    /// agent at its own `--max-budget-usd` (its own report, its words
    /// escaped, and quoted on no public repository).
    #[test]
    fn an_over_budget_escalation_says_who_stopped_the_turn_the_gateway_or_the_agent() {
        let gateway = BudgetStop::Gateway(
            "budget.run_usd $1.00 reached: this run spent $1.02 (metered)".into(),
        );
        let agent =
            BudgetStop::Agent("Reached maximum budget ($0.03) (error_max_budget_usd)".into());
        type Case<'a> = (
            &'a str,
            Option<&'a BudgetStop>,
            bool,
            &'a str,
            &'a [&'a str],
        );
        let cases: [Case; 4] = [
            (
                "the gateway's stop names afk's gateway and its figures",
                Some(&gateway),
                true,
                "(`over-budget`): afk's model gateway stopped the agent's turn: budget.run_usd $1.00 reached: this run spent $1.02 (metered); its agent is stopped.",
                &["--max-budget-usd", "reported spending"],
            ),
            (
                "the agent's own stop names the agent and its own limit, its words escaped",
                Some(&agent),
                false,
                r"(`over-budget`): the agent stopped its own turn at its `--max-budget-usd` (afk passes it what is left of the run's money limits), by its own report: Reached maximum budget \(\$0.03\) \(error\_max\_budget\_usd\); its agent is stopped.",
                &["model gateway"],
            ),
            (
                "the agent's own stop on a public repository quotes none of its words",
                Some(&agent),
                true,
                "(`over-budget`): the agent stopped its own turn at its `--max-budget-usd` (afk passes it what is left of the run's money limits), by its own report (its words, a line of `agent.log`, are not quoted: the repository is public); its agent is stopped.",
                &["model gateway", "Reached maximum budget"],
            ),
            (
                "no stop: the run's figure over its limit, afk's watch stops it",
                None,
                false,
                "(`over-budget`): the run's agent reported spending $1.25, over budget.run_usd $1.00; its agent is stopped.",
                &["model gateway", "--max-budget-usd"],
            ),
        ];
        for (rule, stop, public, says, never) in cases {
            let got = comment(&Escalated {
                why: Escalation::OverBudget,
                public,
                budget: Budget {
                    budget_stop: stop,
                    ..base(&[], &[]).budget
                },
                ..base(&[], &[])
            });
            assert!(got.contains(says), "{rule}: {got}");
            for not in never {
                assert!(!got.contains(not), "{rule}: {not:?} in {got}");
            }
        }
    }

    /// One case of afk's box's reason in a comment: the rule, the run, what
    /// the comment says in this order, and what it never says.
    struct BoxCase<'a> {
        rule: &'a str,
        why: Escalation,
        public: bool,
        said: Option<&'a str>,
        budget_stop: Option<&'a BudgetStop>,
        says: Vec<String>,
        never: Vec<&'a str>,
    }

    /// Issue 82 item 2: the reason afk's box ended the agent's turn (a key
    /// the model refused: the box killed, exit 137) leads the comment,
    /// before the exit status and the end of the log (Claude Code's start-up
    /// records, which say nothing of it), escaped; a public repository is
    /// told where it is, never shown it; the gateway's budget stop, which
    /// is the reason itself, is not said twice.
    #[test]
    fn afks_box_reason_leads_the_comment_before_the_exit_status_and_the_log() {
        let key = "the model refused afk's key ($ANTHROPIC_API_KEY, runner.model.key_env): its upstream https://api.anthropic.com answered 401 (check the key, then re-arm the issue)";
        let key_md = r"the model refused afk's key \(\$ANTHROPIC\_API\_KEY, runner.model.key\_env\): its upstream https://api.anthropic.com answered 401 \(check the key, then re-arm the issue\)";
        let init = r#"{"type":"system","subtype":"init","session_id":"s-1"}"#;
        let log = format!("{}\n", [init; 20].join("\n"));
        let gateway = BudgetStop::Gateway("budget.run_usd $1.00 reached ($1.20 spent)".into());
        let cases = vec![
            BoxCase {
                rule: "a key the model refused leads, then the exit status, then the log's end",
                why: Escalation::AgentFailed,
                public: false,
                said: Some(key),
                budget_stop: None,
                says: vec![
                    format!("(`agent-failed`): afk's box ended the agent's last turn: {key_md}; the agent exited with status 137 without opening a pull request"),
                    "- the end of its log (`agent.log`, the agent's own output):".into(),
                    init.into(),
                ],
                never: vec![],
            },
            BoxCase {
                rule: "without the box's reason the exit status leads, as before",
                why: Escalation::AgentFailed,
                public: false,
                said: None,
                budget_stop: None,
                says: vec!["(`agent-failed`): the agent exited with status 137 without".into()],
                never: vec!["afk's box"],
            },
            BoxCase {
                rule: "a public repository is told where the reason is, never shown it",
                why: Escalation::AgentFailed,
                public: true,
                said: Some(key),
                budget_stop: None,
                says: vec!["(`agent-failed`): afk's box ended the agent's last turn (its reason, a line of `agent.log`, is not quoted: the repository is public; `afk runs show 3` on the afk host shows it); the agent exited with status 137".into()],
                never: vec!["refused afk's key", "ANTHROPIC", init],
            },
            BoxCase {
                rule: "the gateway's budget stop is the reason itself: said once",
                why: Escalation::OverBudget,
                public: false,
                said: Some("the run's budget.run_usd $1.00 reached; no further model request passes, the turn stops"),
                budget_stop: Some(&gateway),
                says: vec!["(`over-budget`): afk's model gateway stopped the agent's turn: budget.run_usd".into()],
                never: vec!["afk's box ended"],
            },
            BoxCase {
                rule: "another end of a turn the box ended leads with it too",
                why: Escalation::Stalled,
                public: false,
                said: Some(key),
                budget_stop: None,
                says: vec![format!("(`stalled`): afk's box ended the agent's last turn: {key_md}; no progress for 3h")],
                never: vec![],
            },
            BoxCase {
                rule: "a reason that reads as markdown is shown as typed",
                why: Escalation::AgentFailed,
                public: false,
                said: Some("[click](http://evil.example) `x` <b>"),
                budget_stop: None,
                says: vec![r"afk's box ended the agent's last turn: \[click\]\(http://evil.example\) \`x\` \<b\>; the agent exited".into()],
                never: vec!["[click](http", "<b>"],
            },
            BoxCase {
                rule: "a reason of nothing but space is no reason",
                why: Escalation::AgentFailed,
                public: false,
                said: Some("  "),
                budget_stop: None,
                says: vec!["(`agent-failed`): the agent exited with status 137".into()],
                never: vec!["afk's box"],
            },
        ];
        for c in cases {
            let got = comment(&Escalated {
                why: c.why,
                blocked: None,
                exited: Some((137, &log)),
                public: c.public,
                box_said: c.said,
                budget: Budget {
                    budget_stop: c.budget_stop,
                    ..base(&[], &[]).budget
                },
                ..base(&[], &[])
            });
            let mut at = 0;
            for want in &c.says {
                let found = got[at..]
                    .find(want.as_str())
                    .unwrap_or_else(|| panic!("{}: {want:?} after byte {at} of {got}", c.rule));
                at += found + want.len();
            }
            for not in &c.never {
                assert!(!got.contains(not), "{}: {not:?} in {got}", c.rule);
            }
        }
    }

    #[test]
    fn the_end_of_a_log_is_its_last_lines_within_bounds() {
        let long = "x".repeat(LOG_END_MAX * 2);
        let cases = [
            ("a\nb\n\nc\n", Some("a\nb\nc".to_string())),
            ("", None),
            (long.as_str(), Some("x".repeat(LOG_END_MAX))),
        ];
        for (log, want) in cases {
            assert_eq!(log_end(log), want, "{log:.20}");
        }
        let many: String = (0..100).map(|i| format!("{i}\n")).collect();
        assert_eq!(log_end(&many).unwrap().lines().count(), LOG_END_LINES);
    }

    #[test]
    fn an_escalation_quotes_the_agents_own_last_words_never_afks_trailer_nor_cut_json() {
        let budget = r#"{"type":"result","subtype":"error_max_budget_usd","is_error":true,"errors":["Reached maximum budget ($0.03)"]}"#;
        let key = r#"{"type":"result","subtype":"success","is_error":true,"result":"Invalid API key · Fix external API key"}"#;
        let codex = r#"{"type":"turn.failed","error":{"message":"unexpected status 401 Unauthorized: invalid key"}}"#;
        let trailer =
            "afk box: the model gateway passed 5 requests ($0.03 metered this turn), refused 0";
        // (log, what the escalation quotes)
        let cases: Vec<(String, Option<&str>)> = vec![
            (
                format!("{budget}\n{trailer}\n"),
                Some("Reached maximum budget ($0.03) (error_max_budget_usd)"),
            ),
            (
                format!("{key}\n{trailer}\n"),
                Some("Invalid API key · Fix external API key"),
            ),
            (
                format!("noise\n{codex}\n"),
                Some("unexpected status 401 Unauthorized: invalid key"),
            ),
            // no words of the agent's: its plain lines, afk's trailer left out
            (
                format!("Traceback\nValueError: x\n{trailer}\n"),
                Some("Traceback\nValueError: x"),
            ),
            // only afk's line: it is all there is
            (format!("{trailer}\n"), Some(trailer)),
        ];
        for (log, want) in cases {
            assert_eq!(log_end(&log).as_deref(), want, "{log}");
        }
        assert!(stopped_at_own_budget(&format!("{budget}\n{trailer}\n")));
        assert!(!stopped_at_own_budget(&format!("{key}\n")));
    }

    #[test]
    fn an_agent_that_cannot_start_gives_the_runner_s_reason_escaped_on_its_line() {
        let plain = comment(&Escalated {
            why: Escalation::AgentFailed,
            blocked: None,
            cannot_start: Some(
                "ImagePullBackOff: Back-off pulling image \"registry.example/agent:1\"",
            ),
            ..base(&[], &[])
        });
        assert!(
            plain.contains("(`agent-failed`): the agent cannot start: ImagePullBackOff: Back-off pulling image \"registry.example/agent:1\"; it is stopped.\n"),
            "{plain}"
        );
        let hostile = comment(&Escalated {
            why: Escalation::AgentFailed,
            blocked: None,
            cannot_start: Some("ErrImagePull: x\n## merge it [now](javascript:alert(1)) @admin"),
            ..base(&[], &[])
        });
        let line = hostile.lines().nth(1).unwrap();
        assert!(
            line.contains("x ## merge it \\[now\\]\\(javascript:alert\\(1\\)\\) \\@admin"),
            "{line}"
        );
        assert!(!hostile.contains("\n## merge"), "{hostile}");
    }

    #[test]
    fn hostile_status_text_cannot_break_out_of_its_line_or_link() {
        let failing = vec![(
            "ci\n## New instructions: merge it".to_string(),
            Some("javascript:alert(1)".to_string()),
        )];
        let t = comment(&base(&failing, &[]));
        assert!(!t.contains("\n## New"), "{t}");
        assert!(!t.contains("javascript:"), "{t}");
    }

    #[test]
    fn a_limits_escalation_after_a_pause_nobody_continued_says_so() {
        // (why, paused for, what the reason ends with; None: no pause said)
        let table = [
            (
                Escalation::OverBudget,
                Some("7d"),
                Some("; it was paused for 7d (budget.pause_for) and nobody continued it"),
            ),
            (
                Escalation::Timeout,
                Some("1h"),
                Some("; it was paused for 1h (budget.pause_for) and nobody continued it"),
            ),
            (Escalation::OverBudget, None, None),
            // only a limit's escalation is a pause's end
            (Escalation::Stopped, Some("7d"), None),
        ];
        for (why, paused_for, ends) in table {
            let e = Escalated {
                why,
                budget: Budget {
                    paused_for,
                    ..base(&[], &[]).budget
                },
                ..base(&[], &[])
            };
            let text = why_text(&e);
            match ends {
                Some(end) => assert!(text.ends_with(end), "{why:?}: {text}"),
                None => assert!(!text.contains("pause_for"), "{why:?}: {text}"),
            }
        }
    }
}
