// One file: the status page's HTML (~1,110 lines: one page, its sections, escaping and SVG charts written in the order they are read) and its tests.
//! The status page (`status_page`, `afk status --html`): one self-contained
//! HTML file for the whole team. Pure: the command layer reads the state file
//! into a [`Page`] of plain data, and [`render`] turns it into a String.
//!
//! Safe by construction: every string that came from a forge, an agent or a
//! registry goes through [`esc`] (HTML-escaped, controls and bidi overrides
//! shown as visible escapes); every link is built by [`Links`] from the
//! configured forge URL, a valid `owner/repo` and a number, never from a
//! stored URL; the page carries no script at all and a Content-Security-Policy
//! that forbids one; the charts are inline SVG drawn with patterns and text
//! labels, so they read without colour and without JavaScript.

use crate::budget::spend::usd;
use crate::types::{IssueNumber, PrNumber, RunId};
use std::fmt::Write as _;

/// The Content-Security-Policy the page declares: nothing loads, nothing
/// runs; inline styles and data: images only.
pub(crate) const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'none'; base-uri 'none'";

/// Everything the page shows, as plain data.
#[derive(Debug, Clone, Default)]
pub struct Page {
    /// when the page was built (RFC 3339)
    pub generated_at: String,
    /// `status_page` is set: the page is rewritten after every tick (else
    /// it was built once, by `afk status --html`)
    pub rewritten: bool,
    /// the configured `forge.url`, and the path segment of a PR's web
    /// address there (the forge's profile's: `pulls`, `pull`; empty: `pulls`)
    pub forge_url: String,
    pub pr_segment: String,
    /// how text names a PR: `#` (empty: `#`), GitLab's `!` (merge requests
    /// are numbered apart from issues: `!M`)
    pub pr_sigil: String,
    /// how the forge's web addresses are made from a repository's name
    pub web: WebShape,
    pub stop_file: String,
    pub stop_present: bool,
    pub poll_enabled: bool,
    pub in_flight: Vec<RunRow>,
    pub ended: Vec<RunRow>,
    pub escalations: Vec<EscalationRow>,
    /// all open escalations, of which `escalations` are the oldest
    pub escalations_total: usize,
    pub templates: Vec<TemplateRow>,
    pub spend: Spend,
    pub upgrades: Vec<UpgradeRow>,
    /// (recipe, when the registries were last asked)
    pub scans: Vec<(String, String)>,
    /// open lessons by type; None: `lessons.enabled = false`
    pub lessons: Option<Vec<(String, i64)>>,
    pub frozen: Vec<FrozenRow>,
    /// tick health, one row per kind (`page_health`: its section and banner)
    pub ticks: Vec<crate::status::health::TickRow>,
    /// the pilot figures of the last `report::DEFAULT_DAYS` days
    /// (`core::status::report`); None: not read
    pub pilot: Option<crate::status::report::Report>,
    /// the journal's head: (entries, last hash) (docs/audit.md); None: empty
    pub audit: Option<(u64, String)>,
    /// the journal's head as the last run ended (the status issue's copy)
    pub audit_run_end: Option<(u64, String)>,
}

/// A run, in flight or ended.
#[derive(Debug, Clone, Default)]
pub struct RunRow {
    pub id: RunId,
    pub repo: String,
    pub issue: IssueNumber,
    /// a tracker's issue: its key (`PLAT-12`); None: the forge's issue
    pub key: Option<String>,
    pub state: String,
    /// since dispatch (in flight) or when it ended (ended)
    pub age: String,
    pub phase: String,
    pub pr: Option<PrNumber>,
    pub ci: String,
    pub turns: String,
    pub spend_usd: Option<f64>,
    /// where the spend figures came from (`claude`, `codex-priced`,
    /// `progress`, `thread`): each the agent's word or its service's
    pub spend_from: Vec<crate::budget::spend::Source>,
    /// harvest's outcome (ended runs)
    pub outcome: Option<String>,
    /// a run on `/afk hold`: `conversation::held_text` (who, since when)
    pub held: Option<String>,
    /// a run paused at a limit: `pause::cell` (its figures, since and until
    /// when, moments only), the status issue's State cell
    pub paused: Option<String>,
    /// the run's limits a trusted comment raised, and who
    /// (`pause::raised_words`: `$7.00 by alice`), said by its spend;
    /// None: the config's
    pub raised: Option<String>,
    /// the state's own moments (RFC 3339), not ages: when it was dispatched
    /// (in flight) or ended (ended), and green since; what the status issue
    /// shows, so a tick that changed nothing leaves it unchanged
    pub since: String,
    pub green_since: Option<String>,
}

/// An escalation no later run has taken over.
#[derive(Debug, Clone, Default)]
pub struct EscalationRow {
    pub run_id: RunId,
    pub repo: String,
    pub issue: IssueNumber,
    pub since: String,
    pub reason: String,
    pub questions: Vec<String>,
}

/// A template: its current version, the canary shown (live, else the last
/// decided one), and the trail of every decided canary.
#[derive(Debug, Clone, Default)]
pub struct TemplateRow {
    pub name: String,
    pub current: Option<i64>,
    pub canary: Option<CanaryView>,
    pub trail: Vec<TrailRow>,
}

/// One canary with its evidence.
#[derive(Debug, Clone, Default)]
pub struct CanaryView {
    pub version: i64,
    pub live: bool,
    pub since: String,
    /// outcomes in end order: (Unix seconds, success)
    pub canary: Vec<(i64, bool)>,
    pub control: Vec<(i64, bool)>,
    /// P(canary's success rate < control's), Beta(1,1) priors
    pub p_worse: f64,
    /// `harvest.confidence`: roll back at or above it, promote early when
    /// P(better) reaches it
    pub confidence: f64,
    pub next_checkpoint: Option<u32>,
    pub checkpoints: Vec<u32>,
}

/// A decided canary.
#[derive(Debug, Clone, Default)]
pub struct TrailRow {
    pub version: i64,
    pub decision: String,
    pub reason: String,
    pub at: String,
    /// (checkpoint, P(worse), P(better), result)
    pub checkpoints: Vec<(u32, f64, f64, String)>,
}

/// Spend per UTC day (oldest first) and, for today, per repo.
#[derive(Debug, Clone, Default)]
pub struct Spend {
    /// (day, spend, runs)
    pub days: Vec<(String, f64, usize)>,
    pub day_limit: f64,
    pub repo_limit: f64,
    pub per_repo: Vec<(String, f64)>,
}

/// An upgrade flow.
#[derive(Debug, Clone, Default)]
pub struct UpgradeRow {
    pub recipe: String,
    pub mirror: String,
    pub pr: PrNumber,
    pub bump: String,
    pub step: String,
    pub queue_place: Option<u32>,
    pub since: String,
    /// `since`'s moment alone (RFC 3339), without its age: the status issue's
    pub step_since: Option<String>,
    pub result: String,
}

#[derive(Debug, Clone, Default)]
pub struct FrozenRow {
    pub repo: String,
    pub reason: String,
    pub since: String,
}

pub use crate::status::html::esc;
use crate::status::html::esc_whole;

/// The most questions of one escalation the page lists.
pub(crate) const QUESTIONS_SHOWN: usize = 20;

/// How a forge's web addresses are made from a repository's name.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum WebShape {
    /// `{forge}/{owner/repo}`, its issue `…/issues/{n}` (Gitea, Forgejo,
    /// GitHub, GitLab: an issue address there redirects to a PR's)
    #[default]
    OwnerRepo,
    /// Azure DevOps: a repository `{org}/{project}/_git/{repo}`, a work item
    /// `{org}/{project}/_workitems/edit/{n}`, each name percent-encoded
    /// (a project's name may hold spaces)
    AzureDevops,
}

impl WebShape {
    pub fn of(kind: crate::types::ForgeKind) -> WebShape {
        use crate::types::ForgeKind as K;
        match kind {
            K::Gitea | K::Forgejo | K::Github | K::Gitlab => WebShape::OwnerRepo,
            K::AzureDevops => WebShape::AzureDevops,
        }
    }
}

/// A path segment percent-encoded (all but RFC 3986's unreserved).
fn seg(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Links to the configured forge only: its origin and path (no user info,
/// no query), then a valid `owner/repo` and a number.
#[derive(Debug, Clone)]
pub(crate) struct Links {
    base: Option<String>,
    pr_segment: String,
    pr_sigil: String,
    web: WebShape,
}

impl RunRow {
    /// How a report names the run's issue: `acme/api#12` on the forge, or
    /// the tracker's key beside the repository it is built in
    /// (`acme/api PLAT-12`), never a forge number the forge does not have.
    pub(crate) fn issue_name(&self) -> String {
        match &self.key {
            Some(k) => format!("{} {k}", self.repo),
            None => format!("{}#{}", self.repo, self.issue),
        }
    }

    /// The issue's web address on the forge; None for a tracker's issue
    /// (the forge has no such issue).
    pub(crate) fn issue_link(&self, l: &Links) -> Option<String> {
        match self.key {
            Some(_) => None,
            None => l.issue(&self.repo, self.issue),
        }
    }
}

impl Links {
    /// `forge_url` must be http(s) with a host of printable ASCII and none
    /// of the characters that end or bend an attribute; else no links.
    pub fn new(forge_url: &str, pr_segment: &str) -> Links {
        Links {
            base: forge_base(forge_url),
            pr_segment: match pr_segment {
                "" => "pulls".into(),
                s => s.into(),
            },
            pr_sigil: "#".into(),
            web: WebShape::OwnerRepo,
        }
    }

    /// Make addresses as `web` says.
    pub fn web(mut self, web: WebShape) -> Links {
        self.web = web;
        self
    }

    /// Name PRs with `sigil` (`!` on GitLab; empty: `#`).
    pub fn sigil(mut self, sigil: &str) -> Links {
        if !sigil.is_empty() {
            self.pr_sigil = sigil.into();
        }
        self
    }

    /// How text names PR `n`: `#n`, or a GitLab merge request's `!n`.
    pub fn pr_text(&self, n: PrNumber) -> String {
        format!("{}{n}", self.pr_sigil)
    }

    pub fn repo(&self, repo: &str) -> Option<String> {
        let base = self.base.as_ref()?;
        // GitLab's nested groups too (`group/sub/project`)
        let name = crate::types::RepoName::parse_any(repo).ok()?;
        Some(match self.web {
            WebShape::OwnerRepo => format!("{base}/{repo}"),
            WebShape::AzureDevops => {
                format!("{base}/{}/_git/{}", seg(name.owner()), seg(name.name()))
            }
        })
    }

    pub fn issue(&self, repo: &str, n: IssueNumber) -> Option<String> {
        match self.web {
            WebShape::OwnerRepo => self.repo(repo).map(|r| format!("{r}/issues/{n}")),
            WebShape::AzureDevops => {
                let base = self.base.as_ref()?;
                let name = crate::types::RepoName::parse_any(repo).ok()?;
                Some(format!("{base}/{}/_workitems/edit/{n}", seg(name.owner())))
            }
        }
    }

    /// A PR's web address: `{repo}/{segment}/{n}`; the segment is the
    /// forge profile's, one or more path parts (`pulls`, `-/merge_requests`)
    /// of letters, digits, `-` and `_`, never `..` or an empty part.
    pub fn pr(&self, repo: &str, n: PrNumber) -> Option<String> {
        let seg = &self.pr_segment;
        seg.split('/')
            .all(|part| {
                !part.is_empty()
                    && part
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            })
            .then(|| self.repo(repo).map(|r| format!("{r}/{seg}/{n}")))
            .flatten()
    }
}

/// `scheme://host[:port][/path]` of an http(s) URL, user info, query and
/// fragment dropped, no trailing slash; None for anything else.
fn forge_base(url: &str) -> Option<String> {
    let url = url.trim();
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let rest = rest.split(['?', '#']).next().unwrap_or("");
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let host = authority.rsplit('@').next().unwrap_or("");
    let ok = |s: &str| {
        s.chars()
            .all(|c| c.is_ascii_graphic() && !"\"'<>`\\()@{}|^[]".contains(c))
    };
    if host.is_empty() || !ok(host) || !ok(path) {
        return None;
    }
    Some(format!("{scheme}://{host}{}", path.trim_end_matches('/')))
}

/// An ended run's outcome: harvest's, else for a merged run what is known
/// until harvest runs (never a bare `-` beside a success).
fn outcome_cell(r: &RunRow) -> String {
    match (
        r.outcome.as_deref().filter(|o| !o.is_empty()),
        r.state.as_str(),
    ) {
        (Some(o), _) => esc(o),
        (None, "succeeded") => "merged (harvest pending)".into(),
        (None, _) => "-".into(),
    }
}

/// `<a href>` to the forge when there is a link, else the text alone.
fn link(href: Option<String>, text: &str) -> String {
    match href {
        Some(h) => format!("<a href=\"{}\">{}</a>", esc_whole(&h), esc(text)),
        None => esc(text),
    }
}

const STYLE: &str = "
:root{color-scheme:light dark}
body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0 auto;max-width:1200px;padding:12px;background:#fff;color:#111}
h1{font-size:1.4em;margin:.2em 0}h2{font-size:1.15em;margin:1.4em 0 .4em;border-bottom:2px solid #999}
h3{font-size:1em;margin:1em 0 .3em}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch;max-width:100%}
table{border-collapse:collapse;min-width:100%;font-size:.92em}
th,td{border:1px solid #bbb;padding:4px 6px;text-align:left;vertical-align:top;white-space:nowrap}
td.wrap{white-space:normal;min-width:14em}
th{background:#eee;white-space:normal}
#pilot td{white-space:normal}
.banner{padding:12px 14px;border:4px solid;font-weight:bold;font-size:1.15em;margin:8px 0}
.stop{border-color:#b00;background:#fdd;color:#600}
.stop::before{content:'\\26D4  '}
.go{border-color:#070;background:#efe;color:#030;border-style:dashed}
.off{border-color:#b60;background:#ffe9cc;color:#520}
svg.chart{width:100%;max-width:640px;height:auto;display:block;background:#fafafa;border:1px solid #ccc}
svg text{font:11px sans-serif;fill:#111}
.muted{color:#555}
ul{margin:.2em 0 .2em 1.2em;padding:0}
@media (max-width:600px){body{font-size:14px;padding:6px}th,td{padding:3px 4px}svg.chart{width:560px;max-width:none}}
@media (prefers-color-scheme:dark){body{background:#111;color:#eee}th{background:#333}svg.chart{background:#fff}.muted{color:#aaa}a{color:#8cf}}
";

/// The whole page.
pub fn render(p: &Page) -> String {
    let links = Links::new(&p.forge_url, &p.pr_segment)
        .sigil(&p.pr_sigil)
        .web(p.web);
    let mut o = String::with_capacity(64 * 1024);
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"referrer\" content=\"no-referrer\">\
         <meta name=\"afk-generated\" content=\"{}\">\
         <title>afk status</title><style>{STYLE}</style></head><body>\n\
         <h1>afk status</h1><p class=\"muted\">built {} from the state file; {}</p>\n",
        esc(&p.generated_at),
        esc(&p.generated_at),
        if p.rewritten {
            "rewritten after every tick (an old time here: no tick has run since)"
        } else {
            "built once, by afk status --html (set status_page for a page every tick rewrites)"
        }
    );
    o.push_str(&crate::status::health::banner(&p.ticks, &p.generated_at));
    o.push_str(&stop_section(p));
    o.push_str(&runs_section(p, &links));
    o.push_str(&escalations_section(p, &links));
    o.push_str(&templates_section(p));
    o.push_str(&spend_section(&p.spend, &links));
    o.push_str(&pilot_section(p, &links));
    o.push_str(&upgrades_section(p, &links));
    o.push_str(&lessons_section(p));
    o.push_str(&frozen_section(p, &links));
    o.push_str(&crate::status::health::section(&p.ticks, &p.generated_at));
    o.push_str(&audit_line(p));
    o.push_str("</body></html>\n");
    o
}

/// The journal's head as this page was built (docs/audit.md): a copy the
/// host cannot take back once the page was read or archived, for `afk audit
/// verify --head`.
fn audit_line(p: &Page) -> String {
    match &p.audit {
        Some((n, head)) => format!(
            "<p class=\"muted\">journal: {n} entries, head <code>{n}:{}</code> (<code>afk audit verify --head {n}:{}</code>)</p>\n",
            esc(head),
            esc(head)
        ),
        None => String::new(),
    }
}

/// The stop file and the kill switch, first and loud.
fn stop_section(p: &Page) -> String {
    let mut o = String::from("<section id=\"stop\">");
    if p.stop_present {
        let _ = write!(
            o,
            "<div class=\"banner stop\" role=\"alert\">STOP FILE PRESENT: every tick does nothing ({}). Remove it to resume.</div>",
            esc(&p.stop_file)
        );
    } else {
        let _ = write!(
            o,
            "<div class=\"banner go\">Stop file absent ({}): ticks run.</div>",
            esc(&p.stop_file)
        );
    }
    if p.poll_enabled {
        o.push_str("<div class=\"banner go\">Kill switch: poll.enabled = true, new issues are dispatched.</div>");
    } else {
        o.push_str("<div class=\"banner off\">KILL SWITCH OFF: poll.enabled = false, nothing new is dispatched.</div>");
    }
    o.push_str("</section>\n");
    o
}

/// A table inside a horizontally scrolling box; cells are HTML already.
fn table(head: &[&str], rows: &[Vec<String>]) -> String {
    let mut o = String::from("<div class=\"scroll\"><table><thead><tr>");
    for h in head {
        let _ = write!(o, "<th scope=\"col\">{}</th>", esc(h));
    }
    o.push_str("</tr></thead><tbody>");
    for r in rows {
        o.push_str("<tr>");
        for c in r {
            if c.starts_with("<ul") {
                let _ = write!(o, "<td class=\"wrap\">{c}</td>");
            } else {
                let _ = write!(o, "<td>{c}</td>");
            }
        }
        o.push_str("</tr>");
    }
    o.push_str("</tbody></table></div>\n");
    o
}

/// A run's CI cell: in flight, since when its PR has been green, else what
/// the PR head's CI last said (`red`, `pending`) or `not green yet`; ended,
/// the CI its PR's head last had (a merged run: the CI it merged with).
/// `green_for` is the age of `green_since`; `last_ci` is [`Checks::word`]'s.
///
/// [`Checks::word`]: crate::run_state::Checks::word
pub fn ci_cell(
    ended: bool,
    has_pr: bool,
    green_for: Option<&str>,
    last_ci: Option<&str>,
) -> String {
    match (ended, green_for, last_ci) {
        (false, Some(age), _) => format!("green since {age}"),
        (false, None, Some(w @ ("red" | "pending"))) if has_pr => w.to_string(),
        (false, None, _) if has_pr => "not green yet".into(),
        (true, _, Some("none")) => "no checks".into(),
        (true, _, Some(w)) => w.to_string(),
        _ => String::new(),
    }
}

fn or_dash(s: &str) -> String {
    if s.is_empty() { "-".into() } else { esc(s) }
}

fn run_cells(r: &RunRow, l: &Links, ended: bool) -> Vec<String> {
    let mut cells = vec![
        link(r.issue_link(l), &r.issue_name()),
        r.id.to_string(),
        match &r.held {
            Some(h) if !ended => format!(
                "{} <strong class=\"held\">{}</strong>",
                esc(&r.state),
                esc(h)
            ),
            _ => esc(&r.state),
        },
        or_dash(&r.age),
    ];
    if ended {
        cells.push(outcome_cell(r));
    } else {
        cells.push(or_dash(&r.phase));
    }
    cells.push(match r.pr {
        Some(n) => link(l.pr(&r.repo, n), &l.pr_text(n)),
        None => "-".into(),
    });
    cells.push(or_dash(&r.ci));
    cells.push(esc(&r.turns));
    let spend = match r.spend_usd {
        None => "-".into(),
        Some(x) if r.spend_from.is_empty() => usd(x),
        Some(x) => {
            let from: Vec<String> = r.spend_from.iter().map(|f| f.to_string()).collect();
            format!(
                "{} <span class=\"muted\">({})</span>",
                usd(x),
                esc(&from.join(", "))
            )
        }
    };
    // money a comment raised is said where money is
    cells.push(match &r.raised {
        Some(raised) if !ended => format!(
            "{spend} <span class=\"muted\">(limit raised: {})</span>",
            esc(raised)
        ),
        _ => spend,
    });
    cells
}

fn runs_section(p: &Page, l: &Links) -> String {
    let mut o = format!(
        "<section id=\"runs\"><h2>Runs in flight ({})</h2>",
        p.in_flight.len()
    );
    if p.in_flight.is_empty() {
        o.push_str("<p>None.</p>");
    } else {
        let rows: Vec<Vec<String>> = p.in_flight.iter().map(|r| run_cells(r, l, false)).collect();
        o.push_str(&table(
            &[
                "Issue", "Run", "State", "Age", "Phase", "PR", "CI", "Turns", "Spend",
            ],
            &rows,
        ));
    }
    let _ = write!(o, "<h2>Last {} ended runs</h2>", p.ended.len());
    if p.ended.is_empty() {
        o.push_str("<p>None yet.</p>");
    } else {
        let rows: Vec<Vec<String>> = p.ended.iter().map(|r| run_cells(r, l, true)).collect();
        o.push_str(&table(
            &[
                "Issue", "Run", "End", "Ended", "Outcome", "PR", "CI", "Turns", "Spend",
            ],
            &rows,
        ));
    }
    o.push_str("</section>\n");
    o
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        return "-".into();
    }
    let mut o = String::from("<ul>");
    for i in items {
        let _ = write!(o, "<li>{}</li>", esc(i));
    }
    o.push_str("</ul>");
    o
}

/// An escalation's questions: the first `QUESTIONS_SHOWN`, then how many more.
fn questions(items: &[String]) -> String {
    if items.len() <= QUESTIONS_SHOWN {
        return list(items);
    }
    let mut o = list(&items[..QUESTIONS_SHOWN]);
    o.truncate(o.len() - "</ul>".len());
    let more = crate::bounds::more(items.len() - QUESTIONS_SHOWN, "question", "questions");
    let _ = write!(o, "<li>{}</li></ul>", esc(&more));
    o
}

fn escalations_section(p: &Page, l: &Links) -> String {
    let mut o = format!(
        "<section id=\"escalations\"><h2>Open escalations ({}), oldest first</h2>",
        p.escalations_total
    );
    if p.escalations.is_empty() {
        o.push_str("<p>None.</p></section>\n");
        return o;
    }
    if p.escalations_total > p.escalations.len() {
        let _ = write!(o, "<p>The oldest {} are shown.</p>", p.escalations.len());
    }
    let rows: Vec<Vec<String>> = p
        .escalations
        .iter()
        .map(|e| {
            vec![
                link(
                    l.issue(&e.repo, e.issue),
                    &format!("{}#{}", e.repo, e.issue),
                ),
                e.run_id.to_string(),
                or_dash(&afk_model::stamp::shown(&e.since)),
                or_dash(&e.reason),
                questions(&e.questions),
            ]
        })
        .collect();
    o.push_str(&table(
        &["Issue", "Run", "Since", "Reason", "Questions"],
        &rows,
    ));
    o.push_str("</section>\n");
    o
}

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

fn templates_section(p: &Page) -> String {
    let mut o = String::from("<section id=\"templates\"><h2>Templates and canaries</h2>");
    if p.templates.is_empty() {
        o.push_str("<p>No template versions.</p>");
    }
    for t in &p.templates {
        let _ = write!(
            o,
            "<h3>{} <span class=\"muted\">current version: {}</span></h3>",
            esc(&t.name),
            t.current.map_or("none".into(), |v| v.to_string())
        );
        match &t.canary {
            Some(c) => o.push_str(&canary_block(&t.name, c)),
            None => o.push_str("<p>No canary.</p>"),
        }
        o.push_str(&trail_table(&t.trail));
    }
    o.push_str("</section>\n");
    o
}

fn canary_block(name: &str, c: &CanaryView) -> String {
    let (ok, n) = tally(&c.canary);
    let (kok, kn) = tally(&c.control);
    let mut o = format!(
        "<p>{} {}@{} since {}: canary {ok}/{n} succeeded, control {kok}/{kn}; P(canary worse) = {}; next checkpoint: {}; checkpoints at {}.</p>",
        if c.live {
            "Live canary"
        } else {
            "Last canary (decided)"
        },
        esc(name),
        c.version,
        esc(&afk_model::stamp::shown(&c.since)),
        pct(c.p_worse),
        c.next_checkpoint
            .map_or("none left".into(), |n| format!("{n} canary outcomes")),
        c.checkpoints
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(", "),
    );
    let _ = write!(
        o,
        "<div class=\"scroll\">{}{}</div>",
        outcome_chart(c),
        posterior_chart(c.p_worse, c.confidence)
    );
    o
}

fn tally(xs: &[(i64, bool)]) -> (usize, usize) {
    (xs.iter().filter(|x| x.1).count(), xs.len())
}

fn trail_table(trail: &[TrailRow]) -> String {
    if trail.is_empty() {
        return "<p>No past canary decisions.</p>".into();
    }
    let rows: Vec<Vec<String>> = trail
        .iter()
        .map(|t| {
            let cps: Vec<String> = t
                .checkpoints
                .iter()
                .map(|(at, w, b, r)| {
                    format!("at {at}: P(worse) {}, P(better) {}: {r}", pct(*w), pct(*b))
                })
                .collect();
            vec![
                t.version.to_string(),
                esc(&t.decision),
                or_dash(&t.reason),
                or_dash(&afk_model::stamp::shown(&t.at)),
                list(&cps),
            ]
        })
        .collect();
    format!(
        "<p>Decision trail:</p>{}",
        table(
            &["Version", "Decision", "Reason", "When", "Checkpoints"],
            &rows
        )
    )
}

/// Cumulative success rate over time of the canary (solid line, circles)
/// and its control (dashed line, squares), 0–100 %.
fn outcome_chart(c: &CanaryView) -> String {
    let (w, h, left, top, pw, ph) = (640.0, 260.0, 44.0, 48.0, 570.0, 170.0);
    let all = c.canary.iter().chain(c.control.iter()).map(|x| x.0);
    let t0 = all.clone().min().unwrap_or(0);
    let t1 = all.max().unwrap_or(0).max(t0 + 1);
    let x = |t: i64| left + pw * (t - t0) as f64 / (t1 - t0) as f64;
    let y = |r: f64| top + ph * (1.0 - r);
    let mut o = format!(
        "<svg class=\"chart canary-outcomes\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"success rate over time, canary and control\" xmlns=\"http://www.w3.org/2000/svg\">\
         <title>Cumulative success rate over time: canary (solid, circles) and control (dashed, squares)</title>"
    );
    for r in [0.0, 0.5, 1.0] {
        let _ = write!(
            o,
            "<line x1=\"{left}\" x2=\"{}\" y1=\"{yy}\" y2=\"{yy}\" stroke=\"#bbb\"/><text x=\"4\" y=\"{}\">{}</text>",
            left + pw,
            y(r) + 4.0,
            pct(r),
            yy = y(r)
        );
    }
    for (series, dash, square, label) in [
        (&c.control, "6 4", true, "control (current)"),
        (&c.canary, "", false, "canary"),
    ] {
        o.push_str(&series_path(series, &x, &y, dash, square));
        let ly = if square { 30.0 } else { 14.0 };
        let lx = 60.0;
        let _ = write!(
            o,
            "<line x1=\"{lx}\" x2=\"{}\" y1=\"{ly}\" y2=\"{ly}\" stroke=\"#000\" stroke-width=\"2\" stroke-dasharray=\"{dash}\"/><text x=\"{}\" y=\"{}\">{} ({})</text>",
            lx + 30.0,
            lx + 36.0,
            ly + 4.0,
            label,
            if square {
                "dashed, squares"
            } else {
                "solid, circles"
            }
        );
    }
    let _ = write!(
        o,
        "<text x=\"{left}\" y=\"{}\">{}</text><text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text></svg>",
        h - 12.0,
        esc(&ts_day(t0)),
        left + pw,
        h - 12.0,
        esc(&ts_day(t1))
    );
    o
}

/// One series: a polyline of the running success rate and a marker per outcome.
fn series_path(
    s: &[(i64, bool)],
    x: &dyn Fn(i64) -> f64,
    y: &dyn Fn(f64) -> f64,
    dash: &str,
    square: bool,
) -> String {
    let mut sorted: Vec<(i64, bool)> = s.to_vec();
    sorted.sort();
    let (mut ok, mut pts, mut marks) = (0usize, String::new(), String::new());
    for (i, (t, good)) in sorted.iter().enumerate() {
        ok += usize::from(*good);
        let (px, py) = (x(*t), y(ok as f64 / (i + 1) as f64));
        let _ = write!(pts, "{px:.1},{py:.1} ");
        let fill = if *good { "#000" } else { "#fff" };
        if square {
            let _ = write!(
                marks,
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"6\" height=\"6\" fill=\"{fill}\" stroke=\"#000\"/>",
                px - 3.0,
                py - 3.0
            );
        } else {
            let _ = write!(
                marks,
                "<circle cx=\"{px:.1}\" cy=\"{py:.1}\" r=\"3.5\" fill=\"{fill}\" stroke=\"#000\"/>"
            );
        }
    }
    format!(
        "<polyline points=\"{}\" fill=\"none\" stroke=\"#000\" stroke-width=\"2\" stroke-dasharray=\"{dash}\"/>{marks}",
        pts.trim_end()
    )
}

fn ts_day(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .map(crate::types::stamp::ts)
        .unwrap_or_default()
}

/// P(canary worse) on a 0–100 % bar, hatched, with the two thresholds drawn:
/// roll back at `confidence`, promote early at `1 - confidence`.
fn posterior_chart(p_worse: f64, confidence: f64) -> String {
    let (left, pw) = (20.0, 600.0);
    let x = |v: f64| left + pw * v.clamp(0.0, 1.0);
    let mut o = String::from(
        "<svg class=\"chart canary-posterior\" viewBox=\"0 0 640 96\" role=\"img\" aria-label=\"posterior probability that the canary is worse\" xmlns=\"http://www.w3.org/2000/svg\">\
         <title>P(canary worse) with the roll-back and promote thresholds</title>\
         <defs><pattern id=\"hatch\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\"><line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"#000\" stroke-width=\"2\"/></pattern></defs>",
    );
    let _ = write!(
        o,
        "<rect x=\"{left}\" y=\"30\" width=\"{pw}\" height=\"22\" fill=\"#fff\" stroke=\"#000\"/>\
         <rect class=\"p-worse\" x=\"{left}\" y=\"30\" width=\"{:.1}\" height=\"22\" fill=\"url(#hatch)\" stroke=\"#000\"/>\
         <text x=\"{left}\" y=\"20\">P(canary worse) = {}</text>",
        x(p_worse) - left,
        pct(p_worse)
    );
    for (v, label, anchor) in [
        (
            confidence,
            format!("roll back at {}", pct(confidence)),
            "end",
        ),
        (
            1.0 - confidence,
            format!("promote early at {}", pct(1.0 - confidence)),
            "start",
        ),
    ] {
        let _ = write!(
            o,
            "<line class=\"threshold\" x1=\"{xx:.1}\" x2=\"{xx:.1}\" y1=\"24\" y2=\"58\" stroke=\"#000\" stroke-width=\"3\" stroke-dasharray=\"3 2\"/><text x=\"{xx:.1}\" y=\"72\" text-anchor=\"{anchor}\">{label}</text>",
            xx = x(v)
        );
    }
    o.push_str("<text x=\"20\" y=\"90\">0%</text><text x=\"620\" y=\"90\" text-anchor=\"end\">100%</text></svg>");
    o
}

fn spend_section(s: &Spend, l: &Links) -> String {
    let mut o = String::from("<section id=\"spend\"><h2>Spend per day (UTC)</h2>");
    let _ = write!(o, "<div class=\"scroll\">{}</div>", spend_chart(s));
    if s.day_limit > 0.0 {
        let _ = write!(o, "<p>budget.day_usd: {}</p>", usd(s.day_limit));
    } else {
        o.push_str("<p>No day limit is set (budget.day_usd = 0).</p>");
    }
    if s.repo_limit > 0.0 || s.day_limit > 0.0 {
        let rows: Vec<Vec<String>> = s
            .per_repo
            .iter()
            .map(|(repo, v)| vec![link(l.repo(repo), repo), usd(*v)])
            .collect();
        let _ = write!(
            o,
            "<h3>Today per repo{}</h3>",
            if s.repo_limit > 0.0 {
                format!(" (budget.repo_day_usd {})", usd(s.repo_limit))
            } else {
                String::new()
            }
        );
        if rows.is_empty() {
            o.push_str("<p>Nothing dispatched today.</p>");
        } else {
            o.push_str(&table(&["Repo", "Spend today"], &rows));
        }
    }
    o.push_str("</section>\n");
    o
}

/// Bars per day with their figures written on them, the day limit dashed.
fn spend_chart(s: &Spend) -> String {
    let (left, top, pw, ph) = (44.0, 20.0, 580.0, 150.0);
    let max = s
        .days
        .iter()
        .map(|d| d.1)
        .fold(s.day_limit, f64::max)
        .max(0.01)
        * 1.15;
    let y = |v: f64| top + ph * (1.0 - v / max);
    let n = s.days.len().max(1) as f64;
    let bw = pw / n;
    let mut o = String::from(
        "<svg class=\"chart spend\" viewBox=\"0 0 640 210\" role=\"img\" aria-label=\"spend per day\" xmlns=\"http://www.w3.org/2000/svg\">\
         <title>Spend per UTC day (metered, else reported)</title>\
         <defs><pattern id=\"dots\" width=\"5\" height=\"5\" patternUnits=\"userSpaceOnUse\"><rect width=\"5\" height=\"5\" fill=\"#ddd\"/><circle cx=\"2.5\" cy=\"2.5\" r=\"1.2\" fill=\"#000\"/></pattern></defs>",
    );
    for (i, (day, v, runs)) in s.days.iter().enumerate() {
        let bx = left + bw * i as f64 + 2.0;
        let _ = write!(
            o,
            "<rect class=\"bar\" x=\"{bx:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"url(#dots)\" stroke=\"#000\"><title>{}: {} over {}</title></rect>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text><text x=\"{:.1}\" y=\"196\" text-anchor=\"middle\">{}</text>",
            y(*v),
            (bw - 4.0).max(1.0),
            y(0.0) - y(*v),
            esc(day),
            usd(*v),
            crate::plural(*runs, "run", "runs"),
            bx + bw / 2.0 - 2.0,
            y(*v) - 3.0,
            short_usd(*v),
            bx + bw / 2.0 - 2.0,
            esc(day.get(5..).unwrap_or(day))
        );
    }
    if s.day_limit > 0.0 {
        let _ = write!(
            o,
            "<line class=\"limit\" x1=\"{left}\" x2=\"{}\" y1=\"{ly:.1}\" y2=\"{ly:.1}\" stroke=\"#000\" stroke-width=\"2\" stroke-dasharray=\"8 4\"/><text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">day limit {}</text>",
            left + pw,
            left + pw,
            y(s.day_limit) - 4.0,
            usd(s.day_limit),
            ly = y(s.day_limit)
        );
    }
    let _ = write!(
        o,
        "<line x1=\"{left}\" x2=\"{}\" y1=\"{b:.1}\" y2=\"{b:.1}\" stroke=\"#000\"/><text x=\"2\" y=\"{b:.1}\">$0</text></svg>",
        left + pw,
        b = y(0.0)
    );
    o
}

/// The pilot figures (`core::status::report`): one row per repository and one for
/// all, every figure `none` where nothing was measured.
fn pilot_section(p: &Page, l: &Links) -> String {
    use crate::status::report::{self, Outcome};
    let Some(r) = &p.pilot else {
        return String::new();
    };
    let mut o = format!(
        "<section id=\"pilot\"><h2>Pilot figures ({} days)</h2>",
        report::DEFAULT_DAYS
    );
    if r.overall.runs == 0 && r.overall.start_failures == 0 {
        let _ = writeln!(
            o,
            "<p>No run was dispatched from {} to {}: every figure is none.</p></section>",
            esc(&r.from),
            esc(&r.to)
        );
        return o;
    }
    let _ = write!(
        o,
        "<p class=\"muted\">The runs dispatched from {} to {} (afk report --since {}); {}; to PR and to merge as median / p90 by nearest rank; corrective turns per merged PR: the merged runs' turns after their first, over the merged runs; spend per merged PR: all the window's spend over the merged runs; escalations by reason; failed starts (the agent never started) apart from the runs.</p>",
        esc(&r.from),
        esc(&r.to),
        esc(&r.since),
        esc(&report::from_text(&r.overall))
    );
    let survival = format!("Survival {}", r.overall.survival.window);
    let rows: Vec<Vec<String>> = r
        .repos
        .iter()
        .map(|x| (link(l.repo(&x.repo), &x.repo), &x.figures))
        .chain(std::iter::once(("<b>All</b>".to_string(), &r.overall)))
        .map(|(repo, f)| {
            let mut cells = vec![repo, f.runs.to_string()];
            cells.extend(
                Outcome::OF_RUNS
                    .iter()
                    .map(|x| f.outcomes.of(*x).to_string()),
            );
            cells.push(f.start_failures.to_string());
            cells.extend([
                esc(&report::spread_text(&f.to_pr)),
                esc(&report::spread_text(&f.to_merge)),
                esc(&report::per_merged_text(f.corrective_turns.per_merged_pr)),
                esc(&report::usd_text(f.spend.per_merged_pr_usd)),
                esc(&report::zero_touch_text(&f.zero_touch)),
                esc(&report::survival_text(&f.survival)),
                esc(&report::by_reason_text(&f.escalations)),
            ]);
            cells
        })
        .collect();
    o.push_str(&table(
        &[
            "Repo",
            "Runs",
            "Succeeded",
            "Escalated",
            "Abandoned",
            "In flight",
            "Failed starts",
            "To PR",
            "To merge",
            "Corrective turns per merged PR",
            "Spend per merged PR",
            "Zero-touch",
            &survival,
            "Escalations",
        ],
        &rows,
    ));
    o.push_str(&board_table(r, l));
    o.push_str("</section>\n");
    o
}

/// The published leaderboards' four figures, per repository and for all
/// (docs/reports.md#compared-with-published-figures).
fn board_table(r: &crate::status::report::Report, l: &Links) -> String {
    use crate::status::leaderboard as board;
    let rows: Vec<Vec<String>> = r
        .repos
        .iter()
        .map(|x| (link(l.repo(&x.repo), &x.repo), &x.figures))
        .chain(std::iter::once(("<b>All</b>".to_string(), &r.overall)))
        .map(|(repo, f)| {
            vec![
                repo,
                esc(&board::per_1000_text(&f.reverts)),
                esc(&board::churn_text(&f.churn)),
                esc(&board::rounds_text(&f.review_rounds)),
                esc(&board::per_kept_text(&f.cost)),
            ]
        })
        .collect();
    let mut o = String::from(
        "<p class=\"muted\">As the published agent leaderboards measure them: reverts per 1,000 merged runs (found at any time), 7-day file churn, review rounds to merge (median / p90), spend per merged run that was kept (docs/reports.md).</p>",
    );
    o.push_str(&table(
        &[
            "Repo",
            "Reverts/1000",
            "Churn 7d",
            "Review rounds",
            "$/kept",
        ],
        &rows,
    ));
    o
}

fn short_usd(v: f64) -> String {
    if v >= 100.0 {
        format!("${v:.0}")
    } else {
        usd(v)
    }
}

fn upgrades_section(p: &Page, l: &Links) -> String {
    let mut o = String::from("<section id=\"upgrades\"><h2>Upgrade flows</h2>");
    if p.upgrades.is_empty() {
        o.push_str("<p>None.</p>");
    } else {
        let rows: Vec<Vec<String>> = p
            .upgrades
            .iter()
            .map(|u| {
                vec![
                    esc(&u.recipe),
                    link(l.pr(&u.mirror, u.pr), &format!("{}#{}", u.mirror, u.pr)),
                    or_dash(&u.bump),
                    or_dash(&u.step),
                    u.queue_place.map_or("-".into(), |n| n.to_string()),
                    or_dash(&u.since),
                    or_dash(&u.result),
                ]
            })
            .collect();
        o.push_str(&table(
            &[
                "Recipe",
                "PR",
                "Bump",
                "Step",
                "Queue",
                "Waiting since",
                "Result",
            ],
            &rows,
        ));
    }
    if p.scans.is_empty() {
        o.push_str("<p>Last scan: never.</p>");
    } else {
        let scans: Vec<String> = p.scans.iter().map(|(r, at)| format!("{r}: {at}")).collect();
        let _ = write!(o, "<p>Last scan:</p>{}", list(&scans));
    }
    o.push_str("</section>\n");
    o
}

fn lessons_section(p: &Page) -> String {
    let mut o = String::from("<section id=\"lessons\"><h2>Open lessons by type</h2>");
    match &p.lessons {
        None => o.push_str("<p>The lessons journal is off (lessons.enabled = false).</p>"),
        Some(l) if l.is_empty() => o.push_str("<p>None open.</p>"),
        Some(l) => {
            let rows: Vec<Vec<String>> =
                l.iter().map(|(t, n)| vec![esc(t), n.to_string()]).collect();
            o.push_str(&table(&["Type", "Open"], &rows));
        }
    }
    o.push_str("</section>\n");
    o
}

fn frozen_section(p: &Page, l: &Links) -> String {
    let mut o = format!(
        "<section id=\"frozen\"><h2>Frozen repos ({})</h2>",
        p.frozen.len()
    );
    if p.frozen.is_empty() {
        o.push_str("<p>None.</p>");
    } else {
        let rows: Vec<Vec<String>> = p
            .frozen
            .iter()
            .map(|f| {
                vec![
                    link(l.repo(&f.repo), &f.repo),
                    esc(&f.reason),
                    or_dash(&f.since),
                    esc(&format!("afk status --unfreeze {}", f.repo)),
                ]
            })
            .collect();
        o.push_str(&table(&["Repo", "Reason", "Since", "Lift with"], &rows));
    }
    o.push_str("</section>\n");
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rule "a tracker's run is named by its key and links to no
    /// forge issue": the forge has no issue of afk's number for it.
    #[test]
    fn a_tracker_run_is_named_by_its_key_and_links_no_forge_issue() {
        let l = Links::new("https://git.example.org", "pulls");
        let forge = RunRow {
            repo: "acme/api".into(),
            issue: IssueNumber(12),
            ..Default::default()
        };
        assert_eq!(forge.issue_name(), "acme/api#12");
        assert_eq!(
            forge.issue_link(&l).as_deref(),
            Some("https://git.example.org/acme/api/issues/12")
        );
        let tracked = RunRow {
            key: Some("PLAT-7".into()),
            issue: IssueNumber(10001),
            ..forge
        };
        assert_eq!(tracked.issue_name(), "acme/api PLAT-7");
        assert_eq!(tracked.issue_link(&l), None);
        let cells = run_cells(&tracked, &l, false);
        assert!(
            !cells[0].contains("href") && cells[0].contains("acme/api PLAT-7"),
            "{}",
            cells[0]
        );
    }
    use crate::status::html::CELL_MAX;

    /// (ended, has a PR, green for, last CI) → the cell.
    #[test]
    fn a_runs_ci_cell_says_how_long_green_or_its_last_ci_and_a_merged_run_keeps_it() {
        let cases = [
            (false, true, Some("5m"), Some("green"), "green since 5m"),
            (false, true, None, Some("red"), "red"),
            (false, true, None, Some("pending"), "pending"),
            (false, true, None, Some("none"), "not green yet"),
            (false, true, None, None, "not green yet"),
            (false, false, None, None, ""),
            // ended: the CI its PR's head last had, whatever green_since says
            (true, true, None, Some("green"), "green"),
            (true, true, Some("5m"), Some("red"), "red"),
            (true, true, None, Some("none"), "no checks"),
            (true, false, None, None, ""),
        ];
        for (ended, pr, green, last, want) in cases {
            assert_eq!(
                ci_cell(ended, pr, green, last),
                want,
                "{ended} {pr} {green:?} {last:?}"
            );
        }
    }

    #[test]
    fn esc_makes_attacker_text_inert() {
        let cases = [
            (
                "<script>alert(1)</script>",
                "&lt;script&gt;alert(1)&lt;/script&gt;",
            ),
            ("\" onerror=\"x", "&quot; onerror=&quot;x"),
            ("it's & co", "it&#39;s &amp; co"),
            ("a\u{202e}b", "a\\u{202e}b"),
            ("bell\u{7}", "bell\\x07"),
            ("plain", "plain"),
        ];
        for (raw, want) in cases {
            assert_eq!(esc(raw), want, "{raw:?}");
        }
    }

    #[test]
    fn the_page_shows_a_bounded_part_of_each_outside_string_and_list() {
        let huge = "why ".repeat(262_144);
        let qs: Vec<String> = (0..5_000)
            .map(|i| format!("q{i} {}", "x".repeat(200)))
            .collect();
        let cases: &[(&str, usize, bool)] = &[("short", 5, false), (&huge, CELL_MAX, true)];
        for (raw, shown, cut) in cases {
            let e = esc(raw);
            assert_eq!(e.contains("more characters)"), *cut, "{shown}");
            assert!(e.chars().count() <= shown + 40);
        }
        let mut p = sample();
        p.escalations[0].reason = huge.clone();
        p.escalations[0].questions = qs;
        p.in_flight[0].phase = huge;
        let page = render(&p);
        assert!(page.len() < 60_000, "{} bytes", page.len());
        assert!(page.contains("… and 4,980 more questions"));
        assert_eq!(page.matches("<li>q").count(), QUESTIONS_SHOWN);
    }

    /// A PR is named `#N` on Gitea and GitHub, a GitLab merge request `!M`
    /// (the forge profile's sigil; none given: `#`), on the page and in the
    /// status issue alike.
    #[test]
    fn an_ended_runs_outcome_is_harvests_else_merged_pending_for_a_success() {
        let row = |state: &str, outcome: Option<&str>| RunRow {
            state: state.into(),
            outcome: outcome.map(str::to_string),
            ..RunRow::default()
        };
        let cases = [
            (row("succeeded", Some("merged")), "merged"),
            (row("succeeded", None), "merged (harvest pending)"),
            (row("succeeded", Some("")), "merged (harvest pending)"),
            (row("escalated", None), "-"),
            (row("abandoned", Some("<b>")), "&lt;b&gt;"),
        ];
        for (r, want) in cases {
            assert_eq!(outcome_cell(&r), want, "{r:?}");
        }
    }

    #[test]
    fn a_pr_is_named_with_its_forges_sigil() {
        let n = PrNumber(2);
        let gl = Links::new("https://gitlab.example.org", "-/merge_requests").sigil("!");
        let cases = [
            (Links::new("https://git.example.org", "pulls"), "#2"),
            (
                Links::new("https://git.example.org", "pulls").sigil(""),
                "#2",
            ),
            (gl, "!2"),
        ];
        for (l, want) in cases {
            assert_eq!(l.pr_text(n), want);
        }
        let mut p = sample();
        p.forge_url = "https://gitlab.example.org".into();
        p.pr_segment = "-/merge_requests".into();
        p.pr_sigil = "!".into();
        let page = render(&p);
        assert!(page.contains("/-/merge_requests/"), "{page}");
        assert!(page.contains(">!"), "{page}");
        // a nested group's project is linked as any other
        let nested = Links::new("https://gitlab.example.org", "-/merge_requests");
        assert_eq!(
            nested.pr("grp/sub/proj", n).as_deref(),
            Some("https://gitlab.example.org/grp/sub/proj/-/merge_requests/2")
        );
        assert_eq!(
            nested.issue("grp/sub/proj", IssueNumber(5)).as_deref(),
            Some("https://gitlab.example.org/grp/sub/proj/issues/5")
        );
        assert_eq!(nested.repo("grp/../x"), None);
    }

    /// On Azure DevOps a repository is `{org}/{project}/_git/{repo}`, its PR
    /// under it, a work item the project's `_workitems/edit/{n}`; each name
    /// percent-encoded, as the service's own links are.
    #[test]
    fn azure_devops_links_a_work_item_by_its_project_and_a_pr_by_its_repository() {
        let az =
            Links::new("https://dev.azure.com/fabrikam", "pullrequest").web(WebShape::AzureDevops);
        // (repo, its link, work item 7's, PR 7's)
        let cases = [
            (
                "Fabrikam/api",
                Some("https://dev.azure.com/fabrikam/Fabrikam/_git/api"),
                Some("https://dev.azure.com/fabrikam/Fabrikam/_workitems/edit/7"),
                Some("https://dev.azure.com/fabrikam/Fabrikam/_git/api/pullrequest/7"),
            ),
            (
                "Fabrikam Fiber/web app",
                Some("https://dev.azure.com/fabrikam/Fabrikam%20Fiber/_git/web%20app"),
                Some("https://dev.azure.com/fabrikam/Fabrikam%20Fiber/_workitems/edit/7"),
                Some(
                    "https://dev.azure.com/fabrikam/Fabrikam%20Fiber/_git/web%20app/pullrequest/7",
                ),
            ),
            ("javascript:alert(1)//x", None, None, None),
        ];
        for (repo, r, i, p) in cases {
            assert_eq!(az.repo(repo).as_deref(), r, "{repo}");
            assert_eq!(az.issue(repo, IssueNumber(7)).as_deref(), i, "{repo}");
            assert_eq!(az.pr(repo, PrNumber(7)).as_deref(), p, "{repo}");
        }
        assert_eq!(
            WebShape::of(crate::types::ForgeKind::AzureDevops),
            WebShape::AzureDevops
        );
        assert_eq!(
            WebShape::of(crate::types::ForgeKind::Gitlab),
            WebShape::OwnerRepo
        );
        let mut p = sample();
        p.forge_url = "https://dev.azure.com/fabrikam".into();
        p.pr_segment = "pullrequest".into();
        p.pr_sigil = "!".into();
        p.web = WebShape::AzureDevops;
        let page = render(&p);
        assert!(!page.contains("/issues/"), "{page}");
        assert!(page.contains("/_workitems/edit/"), "{page}");
    }

    #[test]
    fn links_go_only_to_the_configured_forge() {
        let g = Links::new("https://git.example.org/", "pulls");
        let h = Links::new("https://github.com", "pull");
        let cases: [(&Links, &str, Option<&str>, Option<&str>); 6] = [
            (
                &g,
                "acme/api",
                Some("https://git.example.org/acme/api/issues/7"),
                Some("https://git.example.org/acme/api/pulls/7"),
            ),
            (
                &h,
                "acme/api",
                Some("https://github.com/acme/api/issues/7"),
                Some("https://github.com/acme/api/pull/7"),
            ),
            // not an owner/repo: text, no link
            (&g, "javascript:alert(1)//x", None, None),
            (&g, "acme/api\"onmouseover=x", None, None),
            (&g, "../../evil.example/x", None, None),
            (&g, "acme/a<b", None, None),
        ];
        for (l, repo, issue, pr) in cases {
            assert_eq!(l.issue(repo, IssueNumber(7)).as_deref(), issue, "{repo}");
            assert_eq!(l.pr(repo, PrNumber(7)).as_deref(), pr, "{repo}");
        }
        // a segment of more parts (a merge request's), never one that climbs
        let segments = [
            (
                "-/merge_requests",
                Some("https://x.org/acme/api/-/merge_requests/7"),
            ),
            ("../evil", None),
            ("a//b", None),
            ("pulls/", None),
            ("pull?x=1", None),
        ];
        for (seg, want) in segments {
            let l = Links::new("https://x.org", seg);
            assert_eq!(l.pr("acme/api", PrNumber(7)).as_deref(), want, "{seg}");
        }
    }

    #[test]
    fn the_forge_base_is_http_origin_and_path_only() {
        let cases = [
            ("https://git.example.org", Some("https://git.example.org")),
            ("http://127.0.0.1:3000/", Some("http://127.0.0.1:3000")),
            ("https://example.org/git/", Some("https://example.org/git")),
            ("HTTPS://x.org/?q=1#f", Some("https://x.org")),
            // user info (a secret) never reaches the page
            (
                "https://bot:hunter2@git.example.org",
                Some("https://git.example.org"),
            ),
            ("javascript:alert(1)", None),
            ("javascript://x.org/%0aalert(1)", None),
            ("data:text/html,x", None),
            ("ftp://x.org", None),
            ("https://", None),
            ("https://x.org/\"><script>", None),
            ("", None),
        ];
        for (url, want) in cases {
            assert_eq!(forge_base(url).as_deref(), want, "{url}");
        }
    }

    fn sample() -> Page {
        let hostile = "<script>alert(1)</script>\"onerror=x \u{202e}";
        Page {
            generated_at: "2026-11-23T10:00:00Z".into(),
            forge_url: "https://git.example.org".into(),
            stop_file: "/var/lib/afk/STOP".into(),
            in_flight: vec![RunRow {
                id: RunId(3),
                repo: "acme/api".into(),
                issue: IssueNumber(4),
                state: "pr_open".into(),
                age: "5m".into(),
                phase: hostile.into(),
                pr: Some(PrNumber(9)),
                turns: "1/3".into(),
                ..Default::default()
            }],
            escalations: vec![EscalationRow {
                run_id: RunId(2),
                repo: "acme/api".into(),
                issue: IssueNumber(1),
                reason: "blocked".into(),
                questions: vec![hostile.into()],
                ..Default::default()
            }],
            escalations_total: 1,
            templates: vec![TemplateRow {
                name: "implementer".into(),
                current: Some(1),
                canary: Some(CanaryView {
                    version: 2,
                    live: true,
                    canary: vec![(100, true), (200, false)],
                    control: vec![(150, true)],
                    p_worse: 0.6,
                    confidence: 0.975,
                    next_checkpoint: Some(4),
                    checkpoints: vec![4, 6, 8],
                    ..Default::default()
                }),
                trail: vec![],
            }],
            spend: Spend {
                days: vec![("2026-11-22".into(), 1.5, 2), ("2026-11-23".into(), 4.0, 3)],
                day_limit: 5.0,
                ..Default::default()
            },
            ..Default::default()
        }
    }

    #[test]
    fn a_held_run_shows_as_held_by_whom_and_since_when() {
        let mut p = sample();
        p.in_flight[0].held = Some(crate::conversation::held_text(
            "<b>eve</b>",
            "2026-11-23T09:00:00Z",
            "1h",
        ));
        let html = render(&p);
        assert!(
            html.contains(
                "pr_open <strong class=\"held\">held by &lt;b&gt;eve&lt;/b&gt; since 2026-11-23T09:00:00Z (1h)</strong>"
            ),
            "{html}"
        );
        // not held: the state alone
        let html = render(&sample());
        assert!(!html.contains("held by"), "{html}");
    }

    #[test]
    fn the_page_has_no_script_and_a_policy_that_forbids_one() {
        let html = render(&sample());
        assert!(html.contains(&format!(
            "<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">"
        )));
        assert!(CSP.starts_with("default-src 'none'"));
        assert!(!html.to_ascii_lowercase().contains("<script"), "{html}");
        assert!(!html.contains("\"onerror"));
        assert!(!html.contains('\u{202e}'));
        assert!(html.contains("&lt;script&gt;"));
    }

    #[test]
    fn the_stop_file_comes_first_and_loud() {
        let mut p = sample();
        p.stop_present = true;
        let html = render(&p);
        let stop = html.find("STOP FILE PRESENT").unwrap();
        assert!(stop < html.find("Runs in flight").unwrap());
        assert!(html.contains("KILL SWITCH OFF"));
        p.stop_present = false;
        p.poll_enabled = true;
        let html = render(&p);
        assert!(!html.contains("STOP FILE PRESENT") && !html.contains("KILL SWITCH OFF"));
    }

    #[test]
    fn charts_draw_the_thresholds_and_the_day_limit() {
        let html = render(&sample());
        for want in [
            "class=\"chart canary-outcomes\"",
            "class=\"chart canary-posterior\"",
            "roll back at 97.5%",
            "promote early at 2.5%",
            "P(canary worse) = 60.0%",
            "class=\"chart spend\"",
            "day limit $5.00",
            "next checkpoint: 4 canary outcomes",
        ] {
            assert!(html.contains(want), "{want}");
        }
        let mut p = sample();
        p.spend.day_limit = 0.0;
        assert!(!render(&p).contains("class=\"limit\""));
    }

    #[test]
    fn every_href_is_built_from_the_forge_url() {
        let html = render(&sample());
        let hrefs: Vec<&str> = html
            .split("href=\"")
            .skip(1)
            .map(|s| s.split('"').next().unwrap())
            .collect();
        assert_eq!(
            hrefs,
            vec![
                "https://git.example.org/acme/api/issues/4",
                "https://git.example.org/acme/api/pulls/9",
                "https://git.example.org/acme/api/issues/1",
            ]
        );
        let mut p = sample();
        p.forge_url = "javascript:alert(1)".into();
        assert!(!render(&p).contains("href="));
    }

    #[test]
    fn a_runs_spend_says_where_its_figures_came_from() {
        use crate::budget::spend::Source;
        let l = Links::new("https://git.example.org", "pulls");
        let row = |spend: Option<f64>, from: Vec<Source>| RunRow {
            id: RunId(1),
            repo: "acme/api".into(),
            issue: IssueNumber(1),
            spend_usd: spend,
            spend_from: from,
            ..Default::default()
        };
        let cases = [
            (row(None, vec![]), "-"),
            (row(Some(1.5), vec![]), "$1.50"),
            (
                row(Some(1.5), vec![Source::Claude, Source::Progress]),
                "$1.50 <span class=\"muted\">(claude, progress)</span>",
            ),
            // a limit a trusted comment raised, and who
            (
                RunRow {
                    raised: Some("$7.00 by <alice>".into()),
                    ..row(Some(1.5), vec![])
                },
                "$1.50 <span class=\"muted\">(limit raised: $7.00 by &lt;alice&gt;)</span>",
            ),
        ];
        for (r, want) in cases {
            let cells = run_cells(&r, &l, false);
            assert_eq!(cells.last().unwrap(), want);
        }
    }

    #[test]
    fn the_pilot_section_shows_each_repo_and_all_and_none_where_nothing_was_measured() {
        use crate::status::report::{RunFacts, report};
        use crate::types::RunStatus;
        let at =
            |m: i64| time::macros::datetime!(2026-05-01 00:00 UTC) + time::Duration::minutes(m);
        let run = |repo: &str, state, pr: Option<i64>, merged: Option<i64>| RunFacts {
            board: Default::default(),
            repo: repo.into(),
            state,
            armed_at: None,
            dispatched_at: Some(at(-120)),
            pr_at: pr.map(at),
            merged_at: merged.map(at),
            ended_at: merged.map(at),
            turns: 2,
            turn_reasons: vec!["ci-red".into()],
            spend_usd: Some(3.0),
            end_reason: Some("ci-red".into()),
            reverted: false,
            zero_touch: None,
            survival: None,
            template: None,
        };
        let runs = [
            run("acme/api", RunStatus::Succeeded, Some(-100), Some(-60)),
            run("<b>x/y", RunStatus::Escalated, None, None),
        ];
        let day = std::time::Duration::from_secs(86_400);
        let html = render(&Page {
            forge_url: "https://git.example.org".into(),
            pilot: Some(report(&runs, day, at(0), 0.5)),
            ..Page::default()
        });
        let section = html
            .split("<section id=\"pilot\">")
            .nth(1)
            .and_then(|s| s.split("</section>").next())
            .unwrap();
        assert!(section.contains("Pilot figures (30 days)"), "{section}");
        assert!(
            section.contains("<a href=\"https://git.example.org/acme/api\">acme/api</a>"),
            "{section}"
        );
        // acme/api: PR after 20m, merged after 1h, one corrective turn, $3
        assert!(
            section.contains(
                "<td>20m0s / 20m0s</td><td>1h0m / 1h0m</td><td>1</td><td>$3.00</td><td>none</td>"
            ),
            "{section}"
        );
        // zero-touch unknown (recorded by an older afk), survival pending
        assert!(
            section.contains("<td>$3.00</td><td>none</td><td>pending</td><td>none</td>"),
            "{section}"
        );
        assert!(
            section
                .contains("<th scope=\"col\">Zero-touch</th><th scope=\"col\">Survival 30d</th>"),
            "{section}"
        );
        // the other repo's name is escaped, its figures none
        assert!(section.contains("&lt;b&gt;x/y"), "{section}");
        assert!(
            section
                .contains("<td>none</td><td>none</td><td>none</td><td>none</td><td>ci-red 1</td>"),
            "{section}"
        );
        // all: two runs, $6 over one merged PR
        assert!(
            section.contains("<b>All</b></td><td>2</td><td>1</td><td>1</td>"),
            "{section}"
        );
        assert!(section.contains("<td>$6.00</td>"), "{section}");
        let empty = render(&Page {
            pilot: Some(report(&[], day, at(0), 0.5)),
            ..Page::default()
        });
        assert!(
            empty.contains("No run was dispatched from 2026-04-30T00:00:00Z to 2026-05-01T00:00:00Z: every figure is none."),
            "{empty}"
        );
        assert!(!render(&Page::default()).contains("id=\"pilot\""));
    }

    #[test]
    fn the_page_says_whether_ticks_rewrite_it() {
        for (rewritten, want) in [
            (true, "rewritten after every tick"),
            (false, "built once, by afk status --html"),
        ] {
            let html = render(&Page {
                rewritten,
                ..Page::default()
            });
            assert!(html.contains(want), "{rewritten}: {html}");
        }
    }
}
