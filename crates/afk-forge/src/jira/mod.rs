//! Jira Cloud (REST API v3) as the tracker beside the forge
//! (docs/trackers.md): the ready issues of the mapped projects, each read
//! again and every condition re-checked on that answer; who armed one, from
//! its changelog; whether that person is trusted, from Jira's own accounts
//! and groups; its text from Atlassian Document Format; and afk's writes on
//! it: labels added and removed one by one, its own comments (marked by a
//! comment property, never by text), the Done transition. The odd answers
//! each of these gives, with their sources, are docs/fidelity/jira-cloud.md.

use crate::http::{Failure, ForgeError, Http, MAX_PAGES, enc};
use crate::model::{Comment, Issue, Label, RepoMeta, State, User};
use crate::types::tracker::{JiraAccount, JiraChange};
use crate::types::{IssueNumber, TimelineEvent};
use afk_wire::tracker::{adf, jira as rules, map};
mod as_tracker;
mod doctor;
pub mod service_account;
mod trust;
mod writes;

use anyhow::{Result, anyhow};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// How Jira's REST API wants to be asked: `Authorization: Basic
/// base64(email:token)` (the caller hands the encoded pair as the token),
/// JSON, and its rate limits: a `429` (or a `503`) waits for
/// `Retry-After`, a `429` else until `X-RateLimit-Reset`
/// (docs/fidelity/jira-cloud.md).
pub const JIRA_API: crate::http::ApiStyle = crate::http::ApiStyle {
    auth_header: "Authorization",
    scheme: "Basic ",
    accept: "application/json",
    headers: &[],
    paging: crate::http::Paging::PageLimit {
        size: "maxResults",
        limit: 100,
    },
    probe_rate: false,
    rate: crate::http::RateRule::Jira,
};

/// [`JIRA_API`] with an OAuth 2.0 access token (`auth = "bearer"`), sent to
/// the gateway `https://api.atlassian.com/ex/jira/{cloudId}`.
pub const JIRA_API_BEARER: crate::http::ApiStyle = crate::http::ApiStyle {
    scheme: "Bearer ",
    ..JIRA_API
};

/// What the binary's config says of the tracker (this crate never sees the
/// config).
#[derive(Debug, Clone, Default)]
pub struct JiraSetup {
    /// the site (`https://acme.atlassian.net`): an issue's web address is
    /// `{site}/browse/{key}`
    pub site: String,
    /// `basic` (an API token), `bearer` (an OAuth 2.0 access token) or
    /// `client_credentials` (a service account's): doctor says what it
    /// cannot read of each
    pub auth: String,
    pub ready_label: String,
    /// `ready = "status"`: the status (an id, or a name) that arms an
    /// issue in place of the ready label, which then stands for it
    pub ready_status: Option<String>,
    pub map: Vec<map::Entry>,
    /// group ids (never names: names change)
    pub trusted_groups: Vec<String>,
    /// project role names or ids, their actors read in the issue's project
    pub trusted_roles: Vec<String>,
    /// accountIds trusted whatever their groups or kind
    pub trusted_accounts: Vec<String>,
    /// the transition afk performs on success; "": the first available one
    /// into the status category Done
    pub done_transition: String,
    /// the issue link type whose inward side means "is blocked by"
    pub blocked_by_link: String,
    /// how many reads go out at once
    pub concurrency: usize,
    /// a webhook secret for the tracker is set (`afk hook` takes Jira's
    /// deliveries): doctor reads whether an admin webhook sends them
    pub hook: bool,
    /// the issues a verified webhook delivery named (at most 50): each
    /// search asks Jira to reconcile them (`reconcileIssues`), so an issue
    /// armed a moment before is found though the search's index lags
    pub reconcile: Vec<i64>,
}

/// An issue as `GET /rest/api/3/issue/{id}` answers it, with the fields
/// afk asks for.
#[derive(Debug, Clone, Deserialize)]
pub struct JiraIssue {
    pub id: String,
    pub key: String,
    pub fields: Fields,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Fields {
    #[serde(default)]
    pub summary: String,
    /// ADF, or `null` when empty
    #[serde(default)]
    pub description: Value,
    #[serde(default)]
    pub labels: Vec<String>,
    #[serde(default)]
    pub components: Vec<Named>,
    /// absent: the answer is refused, never read as "not done"
    pub status: Option<Status>,
    pub project: Option<Project>,
    #[serde(default)]
    pub issuelinks: Value,
    #[serde(default)]
    pub creator: Option<JiraAccount>,
    #[serde(default)]
    pub created: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Named {
    #[serde(default)]
    pub name: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub name: String,
    pub status_category: Option<Category>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Category {
    pub key: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Project {
    pub key: String,
}

/// The fields every read of an issue asks for.
const FIELDS: &str =
    "summary,description,labels,components,status,project,issuelinks,creator,created";

impl JiraIssue {
    /// Whether its status category is Done; an answer that does not say is
    /// an error (an absent category is not "done", nor "not done").
    pub fn done(&self) -> Result<bool> {
        let key = self
            .fields
            .status
            .as_ref()
            .and_then(|s| s.status_category.as_ref())
            .map(|c| c.key.as_str())
            .ok_or_else(|| anyhow!("jira: {} has no status category in the answer", self.key))?;
        Ok(key == "done")
    }

    fn number(&self) -> Result<IssueNumber> {
        self.id
            .parse()
            .map(IssueNumber)
            .map_err(|_| anyhow!("jira: an issue id is not a number ({:?})", self.id))
    }

    fn components(&self) -> Vec<String> {
        self.fields
            .components
            .iter()
            .map(|c| c.name.clone())
            .collect()
    }

    /// Where the map sends it.
    pub fn mapped(&self, m: &[map::Entry]) -> map::Mapped {
        let project = self.fields.project.as_ref().map_or("", |p| p.key.as_str());
        map::map_issue(m, project, &self.components(), &self.fields.labels)
    }
}

/// A changelog page (`PageBeanChangelog`).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChangePage {
    #[serde(default)]
    values: Vec<JiraChange>,
    #[serde(default)]
    is_last: Option<bool>,
}

/// A comments page (`PageOfComments`: no `isLast`).
#[derive(Deserialize)]
struct CommentPage {
    #[serde(default)]
    comments: Vec<WireComment>,
    #[serde(default)]
    total: Option<usize>,
}

#[derive(Deserialize, Clone)]
struct WireComment {
    id: String,
    #[serde(default)]
    author: Option<JiraAccount>,
    #[serde(default)]
    body: Value,
    #[serde(default)]
    created: Option<String>,
    #[serde(default)]
    updated: Option<String>,
}

/// The comment property afk writes on its own comments (its marker), as
/// well as the marker's visible first line: Jira returns a comment's
/// properties only through `POST /rest/api/3/comment/list`, outside the
/// contract, so afk finds its comments again by that line alone.
const PROPERTY: &str = "afk";

/// Jira Cloud through its REST API v3, for one tick.
pub struct Jira {
    http: Http,
    pub setup: JiraSetup,
    me: Mutex<Option<JiraAccount>>,
    /// each search's nominees, read again, by label (one search a label a
    /// tick, for every mapped repository)
    found: crate::memo::Memo<String, Arc<Vec<JiraIssue>>>,
    /// each issue as this tick read it
    issues: Mutex<HashMap<u64, JiraIssue>>,
    /// each project's roles' actors as this tick read them, by (project
    /// key, role id) (`trust.rs`)
    roles: Mutex<HashMap<(String, u64), trust::Actors>>,
    /// each armer's account and group ids as this tick read them, by
    /// accountId: many issues armed by one account ask once (`trust.rs`)
    accounts: crate::memo::Memo<String, (JiraAccount, Vec<String>)>,
    /// each `trusted_roles` name's id in a project, by (project key, name)
    role_ids: crate::memo::Memo<(String, String), u64>,
}

impl Jira {
    pub fn new(http: Http, setup: JiraSetup) -> Jira {
        Jira {
            http,
            setup,
            me: Mutex::new(None),
            // every repository's worker waits for the one search
            found: crate::memo::Memo::shared(),
            issues: Mutex::new(HashMap::new()),
            roles: Mutex::new(HashMap::new()),
            accounts: Default::default(),
            role_ids: Default::default(),
        }
    }

    pub fn requests(&self) -> usize {
        self.http.requests()
    }

    /// afk's own account (`GET /rest/api/3/myself`), once a tick.
    pub fn me(&self) -> Result<JiraAccount> {
        let mut kept = self.me.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(me) = kept.as_ref() {
            return Ok(me.clone());
        }
        let me: JiraAccount = self.http.json("GET", "/rest/api/3/myself", None)?;
        *kept = Some(me.clone());
        Ok(me)
    }

    /// One issue by its id, as this tick read it (the first read is kept).
    pub fn issue(&self, id: IssueNumber) -> Result<JiraIssue> {
        if let Some(i) = self.issues.lock().unwrap().get(&id.0) {
            return Ok(i.clone());
        }
        let path = format!("/rest/api/3/issue/{}?fields={FIELDS}", id.0);
        let i: JiraIssue = self.http.json("GET", &path, None)?;
        if i.id != id.0.to_string() {
            return Err(anyhow!(
                "jira: issue {} answered as issue {} ({})",
                id.0,
                i.id,
                i.key
            ));
        }
        self.issues.lock().unwrap().insert(id.0, i.clone());
        Ok(i)
    }

    /// The mapped projects' issues carrying `label` that are not done: one
    /// search (`POST /rest/api/3/search/jql`, paged by `nextPageToken`)
    /// nominates them, and each is read again and kept only when that
    /// answer still carries the label and is not done. The search is
    /// eventually consistent; the read is not.
    pub fn labelled(&self, label: &str) -> Result<Arc<Vec<JiraIssue>>> {
        self.found
            .get(label.to_string(), || self.search_labelled(label))
    }

    /// [`Jira::labelled`]'s search and reads, made once a tick.
    fn search_labelled(&self, label: &str) -> Result<Arc<Vec<JiraIssue>>> {
        let mut projects: Vec<String> = self.setup.map.iter().map(|e| e.project.clone()).collect();
        projects.sort();
        projects.dedup();
        let ready_status = self.ready_status_of(label);
        let jql = match ready_status {
            Some(status) => rules::ready_status_jql(&projects, status),
            None => rules::ready_jql(&projects, label),
        };
        let mut ids: Vec<String> = vec![];
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut body = json!({"jql": jql, "fields": ["id"], "maxResults": 100});
            // the same on every page, as Jira asks of a paginated search
            if !self.setup.reconcile.is_empty() {
                body["reconcileIssues"] = json!(self.setup.reconcile);
            }
            if let Some(t) = &token {
                body["nextPageToken"] = json!(t);
            }
            let page: Value = self.http.query_json("/rest/api/3/search/jql", &body)?;
            let issues = page
                .get("issues")
                .and_then(Value::as_array)
                .ok_or_else(|| anyhow!("jira: the search's answer has no issues list"))?;
            for i in issues {
                let id = i
                    .get("id")
                    .and_then(Value::as_str)
                    .ok_or_else(|| anyhow!("jira: a searched issue has no id"))?;
                ids.push(id.to_string());
            }
            // the last page has no `nextPageToken` at all
            token = page
                .get("nextPageToken")
                .and_then(Value::as_str)
                .map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        let numbers: Vec<IssueNumber> = ids
            .iter()
            .map(|id| {
                id.parse()
                    .map(IssueNumber)
                    .map_err(|_| anyhow!("jira: an issue id is not a number ({id:?})"))
            })
            .collect::<Result<_>>()?;
        let read = crate::fan_out(&numbers, self.setup.concurrency, |n| self.issue(*n));
        let mut out = vec![];
        for i in read {
            let i = i?;
            if self.labels_of(&i).iter().any(|l| l == label) && !i.done()? {
                out.push(i);
            }
        }
        Ok(Arc::new(out))
    }

    /// The issues carrying `label` that the map sends to no repository or
    /// to several (`map::map_issue`): worked on nowhere, never one picked.
    pub fn unplaced(&self, label: &str) -> Result<Vec<crate::Unplaced>> {
        let mut out = vec![];
        for i in self.labelled(label)?.iter() {
            let entries = match i.mapped(&self.setup.map) {
                map::Mapped::To(_) => continue,
                map::Mapped::Unmapped => vec![],
                map::Mapped::Ambiguous(e) => e,
            };
            out.push(crate::Unplaced {
                number: i.number()?,
                key: i.key.clone(),
                entries,
            });
        }
        Ok(out)
    }

    /// The whole changelog of an issue, oldest first, every page.
    pub fn changelog(&self, id: IssueNumber) -> Result<Vec<JiraChange>> {
        let mut out = vec![];
        for _ in 0..MAX_PAGES {
            let path = format!(
                "/rest/api/3/issue/{}/changelog?startAt={}&maxResults=100",
                id.0,
                out.len()
            );
            let page: ChangePage = self.http.json("GET", &path, None)?;
            let n = page.values.len();
            out.extend(page.values);
            if page.is_last != Some(false) || n == 0 {
                return Ok(out);
            }
        }
        Err(anyhow!(
            "jira: issue {}'s changelog runs past {MAX_PAGES} pages",
            id.0
        ))
    }

    /// The issue as afk's forge-neutral shape: its id as the number, its
    /// summary as the title, its description as text, the repository the
    /// map sends it to.
    pub fn to_issue(&self, i: &JiraIssue) -> Result<Issue> {
        let text =
            adf::to_text(&i.fields.description).map_err(|e| anyhow!("jira: {}: {e}", i.key))?;
        let repo = match i.mapped(&self.setup.map) {
            map::Mapped::To(r) => Some(RepoMeta { full_name: r }),
            _ => None,
        };
        Ok(Issue {
            id: i.id.parse().unwrap_or(0),
            number: i.number()?,
            title: i.fields.summary.clone(),
            body: Some(text.text),
            state: match i.done()? {
                true => State::Closed,
                false => State::Open,
            },
            labels: self
                .labels_of(i)
                .into_iter()
                .map(|name| Label { id: 0, name })
                .collect(),
            html_url: self.web_url(&i.key),
            pull_request: None,
            repository: repo,
            user: i.fields.creator.as_ref().map(|c| User {
                id: 0,
                login: c.account_id.clone(),
            }),
            // the timeline says every change afk reads (the changelog)
            updated_at: None,
        })
    }

    /// With `ready = "status"`, the ready status when `label` is the ready
    /// label it stands for.
    pub fn ready_status_of(&self, label: &str) -> Option<&str> {
        self.setup
            .ready_status
            .as_deref()
            .filter(|_| label == self.setup.ready_label)
    }

    /// Whether the issue is in the ready status (`ready = "status"`): its
    /// status's id, or its name (Jira's names are the site's, compared
    /// without case as JQL compares them).
    fn in_ready_status(&self, i: &JiraIssue) -> bool {
        let (Some(want), Some(st)) = (&self.setup.ready_status, &i.fields.status) else {
            return false;
        };
        st.id == *want || (!st.name.is_empty() && st.name.eq_ignore_ascii_case(want))
    }

    /// The issue's labels as afk reads them: with `ready = "status"` the
    /// ready label is the ready status's alone (a real label of that name
    /// arms nothing), else as Jira answers them.
    fn labels_of(&self, i: &JiraIssue) -> Vec<String> {
        let mut labels = i.fields.labels.clone();
        if self.setup.ready_status.is_some() {
            labels.retain(|l| *l != self.setup.ready_label);
            if self.in_ready_status(i) {
                labels.push(self.setup.ready_label.clone());
            }
        }
        labels
    }

    /// An issue's web address: `{site}/browse/{key}`.
    pub fn web_url(&self, key: &str) -> String {
        format!(
            "{}/browse/{}",
            self.setup.site.trim_end_matches('/'),
            enc(key)
        )
    }

    /// The issue's changelog as afk's timeline (`afk_wire::tracker::jira::timeline`),
    /// afk's own account written as `me_login`.
    pub fn timeline(&self, id: IssueNumber, me_login: &str) -> Result<Vec<TimelineEvent>> {
        let i = self.issue(id)?;
        let changes = self.changelog(id)?;
        let me = self.me()?;
        let map_labels: Vec<String> = self
            .setup
            .map
            .iter()
            .filter_map(|e| e.label.clone())
            .collect();
        let labels = self.labels_of(&i);
        let ready_id = i.fields.status.as_ref().map_or("", |s| s.id.as_str());
        let now = rules::Now {
            creator: i.fields.creator.as_ref().map(|c| c.account_id.as_str()),
            created: i.fields.created.as_deref(),
            labels: &labels,
            // the ready status's id: the issue's own, when it is in it (a
            // name in the config is matched to the id there)
            ready: self
                .setup
                .ready_status
                .as_ref()
                .filter(|_| self.in_ready_status(&i))
                .map(|_| (ready_id, self.setup.ready_label.as_str())),
        };
        let reads = rules::MapReads {
            components: self.setup.map.iter().any(|e| e.component.is_some()),
            labels: &map_labels,
        };
        rules::timeline(&changes, (&me.account_id, me_login), &now, &reads)
            .map_err(|e| anyhow!("{e} on issue {}", i.key))
    }

    /// The issues blocking this one, each named by its key: its inward
    /// links of the `blocked_by_link` type whose blocker is not done, then
    /// the keys its description's blocker lines name
    /// (`rules::description_blockers`), each read by its key. Of those, one
    /// not done blocks, and so does one afk cannot read (Jira answers 404
    /// for an issue afk may not see), one of a project the map does not
    /// name, and one past the first `MAX_DESCRIBED_BLOCKERS` (unread): its
    /// state is unknown.
    pub fn blockers(&self, id: IssueNumber) -> Result<Vec<Issue>> {
        let i = self.issue(id)?;
        let mut out: Vec<Issue> =
            rules::blockers(&i.fields.issuelinks, &self.setup.blocked_by_link)
                .into_iter()
                .map(|rules::Blocker::Open(key)| self.blocker(key, State::Open))
                .collect();
        let text =
            adf::to_text(&i.fields.description).map_err(|e| anyhow!("jira: {}: {e}", i.key))?;
        let named = rules::description_blockers(&text.text, &self.setup.site);
        for (n, key) in named.into_iter().filter(|k| *k != i.key).enumerate() {
            if out.iter().any(|b| b.title == key) {
                continue;
            }
            let project = key.split('-').next().unwrap_or("");
            let mapped = self.setup.map.iter().any(|e| e.project == project);
            let state = match n < rules::MAX_DESCRIBED_BLOCKERS && mapped {
                false => State::Unknown,
                true => match self.done_by_key(&key)? {
                    Some(true) => continue,
                    Some(false) => State::Open,
                    None => State::Unknown,
                },
            };
            out.push(self.blocker(key, state));
        }
        Ok(out)
    }

    /// A blocker in the forge-neutral shape: no number, its key as the
    /// repository (`ops/poll` names it by the key).
    fn blocker(&self, key: String, state: State) -> Issue {
        Issue {
            id: 0,
            number: IssueNumber(0),
            title: key.clone(),
            body: None,
            state,
            labels: vec![],
            html_url: self.web_url(&key),
            pull_request: None,
            repository: Some(RepoMeta { full_name: key }),
            user: None,
            updated_at: None,
        }
    }

    /// Whether issue `key` is done; None where Jira answers 404 (no such
    /// issue, or one afk's account may not see: Jira does not say which).
    fn done_by_key(&self, key: &str) -> Result<Option<bool>> {
        let path = format!("/rest/api/3/issue/{}?fields=status", enc(key));
        match self.http.json::<JiraIssue>("GET", &path, None) {
            Ok(b) => Ok(Some(b.done()?)),
            Err(e) if ForgeError::kind_of(&e) == Some(Failure::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// afk's own comments on an issue (every page read; those of others are
    /// no concern of afk's: a tracker comment is never a command), each
    /// with its marker (its visible first line) read back, written by
    /// `me_login`.
    pub fn own_comments(&self, id: IssueNumber, me_login: &str) -> Result<Vec<Comment>> {
        let me = self.me()?;
        let mut all: Vec<WireComment> = vec![];
        for _ in 0..MAX_PAGES {
            let path = format!(
                "/rest/api/3/issue/{}/comment?startAt={}&maxResults=100&orderBy=created",
                id.0,
                all.len()
            );
            let page: CommentPage = self.http.json("GET", &path, None)?;
            let n = page.comments.len();
            all.extend(page.comments);
            if n == 0 || page.total.is_none_or(|t| all.len() >= t) {
                break;
            }
        }
        all.into_iter()
            .filter(|c| {
                c.author
                    .as_ref()
                    .is_some_and(|a| a.account_id == me.account_id)
            })
            .map(|c| self.comment(id, c, me_login))
            .collect()
    }

    /// One of afk's own comments, its visible marker line read back as the
    /// forge's hidden one (`afk_wire::tracker::marker`).
    fn comment(&self, issue: IssueNumber, c: WireComment, me_login: &str) -> Result<Comment> {
        let text =
            adf::to_text(&c.body).map_err(|e| anyhow!("jira: a comment on {}: {e}", issue.0))?;
        let body = afk_wire::tracker::marker::marker_in(&text.text);
        let when = |s: &Option<String>| s.as_deref().and_then(rules::time).map(rules::rfc3339);
        Ok(Comment {
            id: c
                .id
                .parse()
                .map_err(|_| anyhow!("jira: a comment id is not a number ({:?})", c.id))?,
            body,
            html_url: String::new(),
            user: Some(User {
                id: 0,
                login: me_login.to_string(),
            }),
            created_at: when(&c.created),
            updated_at: when(&c.updated),
            node_id: None,
        })
    }

    /// Whether an error is Jira's "no such issue" (or not readable by afk).
    pub fn gone(e: &anyhow::Error) -> bool {
        ForgeError::kind_of(e) == Some(Failure::NotFound)
    }
}

/// A body's marker line (`<!-- afk:… -->` first) and the rest.
fn split_marker(body: &str) -> (Option<String>, &str) {
    let (first, rest) = body.split_once('\n').unwrap_or((body, ""));
    let f = first.trim();
    match f.starts_with("<!-- afk:") && f.ends_with("-->") {
        true => (Some(f.to_string()), rest),
        false => (None, body),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_marker_line_is_split_from_the_text() {
        let cases = [
            (
                "<!-- afk:checklist -->\nbody",
                Some("<!-- afk:checklist -->"),
                "body",
            ),
            (
                "body\n<!-- afk:checklist -->",
                None,
                "body\n<!-- afk:checklist -->",
            ),
            ("<!-- not afk's -->\nx", None, "<!-- not afk's -->\nx"),
        ];
        for (body, marker, rest) in cases {
            let (m, r) = split_marker(body);
            assert_eq!((m.as_deref(), r), (marker, rest), "{body}");
        }
    }
}
