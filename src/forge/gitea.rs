//! Gitea / Forgejo API v1 endpoints afk uses, with the shapes of
//! `contracts/gitea-v1-subset.json` (only the fields afk reads).

use super::http::{ForgeError, Http};
use anyhow::Result;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Debug, Clone, Deserialize, Serialize, Default)]
pub struct User {
    #[serde(default)]
    pub id: i64,
    pub login: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Label {
    pub id: i64,
    pub name: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct RepoMeta {
    #[serde(default)]
    pub full_name: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Issue {
    #[serde(default)]
    pub id: i64,
    pub number: u64,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub labels: Vec<Label>,
    #[serde(default)]
    pub html_url: String,
    #[serde(default)]
    pub pull_request: Option<serde_json::Value>,
    #[serde(default)]
    pub repository: Option<RepoMeta>,
}

impl Issue {
    pub fn has_label(&self, name: &str) -> bool {
        self.labels.iter().any(|l| l.name == name)
    }
    pub fn is_pull(&self) -> bool {
        self.pull_request.as_ref().is_some_and(|v| !v.is_null())
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct TimelineEvent {
    pub id: i64,
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub label: Option<Label>,
    #[serde(default)]
    pub user: Option<User>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Permission {
    pub permission: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Comment {
    pub id: i64,
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub html_url: String,
}

#[derive(Debug, Clone, Deserialize, Serialize, Default)]
pub struct Branch {
    #[serde(rename = "ref", default)]
    pub name: String,
    #[serde(default)]
    pub sha: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct PullRequest {
    pub number: u64,
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub merged: bool,
    #[serde(default)]
    pub merge_commit_sha: Option<String>,
    #[serde(default)]
    pub head: Branch,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub html_url: String,
}

impl PullRequest {
    /// Whether this PR is the one for `issue`: its head is `afk/issue-<N>` or its
    /// body says `Closes #N` / `Fixes #N` (or close/closed/fix/fixed/resolve(s|d)).
    pub fn closes(&self, issue: u64) -> bool {
        if self.head.name == format!("afk/issue-{issue}") {
            return true;
        }
        let body = self.body.as_deref().unwrap_or("").to_ascii_lowercase();
        let words = [
            "close", "closes", "closed", "fix", "fixes", "fixed", "resolve", "resolves", "resolved",
        ];
        let needle = format!("#{issue}");
        body.match_indices(&needle).any(|(i, _)| {
            let after = body[i + needle.len()..].chars().next();
            if after.is_some_and(|c| c.is_ascii_digit()) {
                return false;
            }
            let before = body[..i].trim_end();
            let before = before.trim_end_matches(':').trim_end();
            words.iter().any(|w| {
                before.ends_with(w)
                    && !before[..before.len() - w.len()]
                        .chars()
                        .last()
                        .is_some_and(|c| c.is_ascii_alphanumeric())
            })
        })
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct CommitStatus {
    #[serde(default)]
    pub context: String,
    /// Gitea names the state `status` in this object (`state` when creating one).
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub target_url: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct CombinedStatus {
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub sha: String,
    #[serde(default)]
    pub statuses: Option<Vec<CommitStatus>>,
}

/// The latest timeline event that added `label`: (event id, who added it).
/// Gitea marks an added label with body "1" and a removed one with "".
pub fn last_label_added(events: &[TimelineEvent], label: &str) -> Option<(i64, String)> {
    events
        .iter()
        .filter(|e| {
            e.kind == "label"
                && e.body.as_deref() == Some("1")
                && e.label.as_ref().is_some_and(|l| l.name == label)
        })
        .max_by_key(|e| e.id)
        .map(|e| {
            (
                e.id,
                e.user.as_ref().map(|u| u.login.clone()).unwrap_or_default(),
            )
        })
}

pub struct Gitea {
    pub http: Http,
    labels: Mutex<HashMap<String, Vec<Label>>>,
}

fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl Gitea {
    pub fn new(http: Http) -> Gitea {
        Gitea {
            http,
            labels: Mutex::new(HashMap::new()),
        }
    }

    pub fn me(&self) -> Result<User> {
        self.http.json("GET", "/user", None)
    }

    /// Open issues (never pull requests) carrying `label`, every page. The label is
    /// re-checked here: Gitea drops an unknown label name from the filter.
    pub fn issues_with_label(&self, repo: &str, label: &str) -> Result<Vec<Issue>> {
        let all: Vec<Issue> = self.http.get_all(&format!(
            "/repos/{repo}/issues?state=open&type=issues&labels={}",
            enc(label)
        ))?;
        Ok(all
            .into_iter()
            .filter(|i| !i.is_pull() && i.has_label(label) && i.state != "closed")
            .collect())
    }

    pub fn issue(&self, repo: &str, number: u64) -> Result<Issue> {
        self.http
            .json("GET", &format!("/repos/{repo}/issues/{number}"), None)
    }

    pub fn timeline(&self, repo: &str, number: u64) -> Result<Vec<TimelineEvent>> {
        self.http
            .get_all(&format!("/repos/{repo}/issues/{number}/timeline"))
    }

    /// The collaborator's permission; `Ok(None)` when the forge refuses the lookup (403).
    pub fn permission(&self, repo: &str, login: &str) -> Result<Option<String>> {
        match self.http.json::<Permission>(
            "GET",
            &format!("/repos/{repo}/collaborators/{}/permission", enc(login)),
            None,
        ) {
            Ok(p) => Ok(Some(p.permission)),
            Err(e) if ForgeError::status_of(&e) == Some(403) => Err(e),
            Err(e) if ForgeError::status_of(&e) == Some(404) => Ok(Some("none".into())),
            Err(e) => Err(e),
        }
    }

    /// Issues this one depends on. A 404 means dependencies are off: none.
    pub fn dependencies(&self, repo: &str, number: u64) -> Result<Vec<Issue>> {
        match self
            .http
            .get_all(&format!("/repos/{repo}/issues/{number}/dependencies"))
        {
            Ok(v) => Ok(v),
            Err(e) if ForgeError::status_of(&e) == Some(404) => Ok(vec![]),
            Err(e) => Err(e),
        }
    }

    /// The repo's labels, fetched at most once per tick.
    pub fn repo_labels(&self, repo: &str) -> Result<Vec<Label>> {
        if let Some(l) = self.labels.lock().unwrap().get(repo) {
            return Ok(l.clone());
        }
        let l: Vec<Label> = self.http.get_all(&format!("/repos/{repo}/labels"))?;
        self.labels
            .lock()
            .unwrap()
            .insert(repo.to_string(), l.clone());
        Ok(l)
    }

    pub fn label_id(&self, repo: &str, name: &str) -> Result<i64> {
        self.repo_labels(repo)?
            .into_iter()
            .find(|l| l.name == name)
            .map(|l| l.id)
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "forge: label \"{name}\" does not exist in {repo}: create it (afk init --create-labels)"
                )
            })
    }

    pub fn add_label(&self, repo: &str, number: u64, name: &str) -> Result<()> {
        let id = self.label_id(repo, name)?;
        self.http.send(
            "POST",
            &format!("/repos/{repo}/issues/{number}/labels"),
            Some(&json!({ "labels": [id] })),
        )?;
        Ok(())
    }

    pub fn remove_label(&self, repo: &str, number: u64, name: &str) -> Result<()> {
        let id = self.label_id(repo, name)?;
        match self.http.send(
            "DELETE",
            &format!("/repos/{repo}/issues/{number}/labels/{id}"),
            None,
        ) {
            Ok(_) => Ok(()),
            Err(e) if ForgeError::status_of(&e) == Some(404) => Ok(()),
            Err(e) => Err(e),
        }
    }

    pub fn create_label(&self, repo: &str, name: &str, color: &str) -> Result<()> {
        self.http.send(
            "POST",
            &format!("/repos/{repo}/labels"),
            Some(&json!({ "name": name, "color": color })),
        )?;
        Ok(())
    }

    pub fn comments(&self, repo: &str, number: u64) -> Result<Vec<Comment>> {
        // this endpoint has no paging parameters: one call returns them all
        self.http.json(
            "GET",
            &format!("/repos/{repo}/issues/{number}/comments"),
            None,
        )
    }

    /// Open pull requests of a repo, every page.
    pub fn open_pulls(&self, repo: &str) -> Result<Vec<PullRequest>> {
        self.http
            .get_all(&format!("/repos/{repo}/pulls?state=open"))
    }

    /// The most recently updated closed (or merged) pull requests: one page.
    pub fn recent_closed_pulls(&self, repo: &str) -> Result<Vec<PullRequest>> {
        self.http.json(
            "GET",
            &format!("/repos/{repo}/pulls?state=closed&sort=recentupdate&page=1&limit=50"),
            None,
        )
    }

    pub fn pull(&self, repo: &str, number: u64) -> Result<PullRequest> {
        self.http
            .json("GET", &format!("/repos/{repo}/pulls/{number}"), None)
    }

    /// The combined status of a commit (its latest status per context).
    pub fn combined_status(&self, repo: &str, sha: &str) -> Result<CombinedStatus> {
        self.http.json(
            "GET",
            &format!("/repos/{repo}/commits/{sha}/status?limit=50"),
            None,
        )
    }

    pub fn close_issue(&self, repo: &str, number: u64) -> Result<()> {
        self.http.send(
            "PATCH",
            &format!("/repos/{repo}/issues/{number}"),
            Some(&json!({ "state": "closed" })),
        )?;
        Ok(())
    }

    pub fn create_comment(&self, repo: &str, number: u64, body: &str) -> Result<Comment> {
        self.http.json(
            "POST",
            &format!("/repos/{repo}/issues/{number}/comments"),
            Some(&json!({ "body": body })),
        )
    }

    pub fn edit_comment(&self, repo: &str, id: i64, body: &str) -> Result<Comment> {
        self.http.json(
            "PATCH",
            &format!("/repos/{repo}/issues/comments/{id}"),
            Some(&json!({ "body": body })),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(id: i64, label: &str, body: &str, who: &str) -> TimelineEvent {
        TimelineEvent {
            id,
            kind: "label".into(),
            body: Some(body.into()),
            label: Some(Label {
                id: 1,
                name: label.into(),
            }),
            user: Some(User {
                id: 0,
                login: who.into(),
            }),
        }
    }

    #[test]
    fn latest_addition_of_the_label_is_the_arming_event() {
        let evs = vec![
            ev(1, "ready", "1", "alice"),
            ev(2, "ready", "", "alice"),
            ev(3, "ready", "1", "mallory"),
            ev(4, "other", "1", "bob"),
        ];
        assert_eq!(last_label_added(&evs, "ready"), Some((3, "mallory".into())));
        assert_eq!(last_label_added(&evs, "missing"), None);
    }

    fn pr(head: &str, body: &str) -> PullRequest {
        PullRequest {
            number: 9,
            state: "open".into(),
            merged: false,
            merge_commit_sha: None,
            head: Branch {
                name: head.into(),
                sha: "abc".into(),
            },
            body: Some(body.into()),
            html_url: String::new(),
        }
    }

    #[test]
    fn the_pr_for_an_issue_is_found_by_branch_or_closing_reference() {
        assert!(pr("afk/issue-7", "").closes(7));
        assert!(!pr("afk/issue-70", "").closes(7));
        assert!(pr("feature", "This Closes #7.").closes(7));
        assert!(pr("feature", "fixes: #7").closes(7));
        assert!(pr("feature", "Resolves #7").closes(7));
        assert!(!pr("feature", "Closes #70").closes(7));
        assert!(!pr("feature", "see #7").closes(7));
        assert!(!pr("feature", "prefixes #7").closes(7));
    }

    #[test]
    fn path_segments_are_encoded() {
        assert_eq!(enc("ready for agent"), "ready%20for%20agent");
        assert_eq!(enc("a/b"), "a%2Fb");
    }
}
