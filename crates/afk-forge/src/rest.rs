//! What Gitea's and GitHub's REST APIs spell the same way: one copy, which
//! both forges' `Forge` implementations call.

use super::http::{Failure, ForgeError, Http, enc, repo_path as rp};
use super::model::{Comment, Issue, Label, PullRequest, Review, Target, User};
use crate::types::{IssueNumber, PrNumber, RepoName};
use anyhow::Result;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;
use std::collections::HashMap;
use std::sync::Mutex;

/// A collaborator's permission as both forges answer it; GitHub adds
/// `role_name` (`maintain`, `triage`), Gitea leaves it out.
#[derive(Debug, Clone, Deserialize)]
pub struct WirePermission {
    #[serde(default)]
    pub permission: String,
    #[serde(default)]
    pub role_name: String,
}

/// The HTTP client and what one tick keeps of the forge (each repo's labels).
pub struct Rest {
    pub http: Http,
    labels: Mutex<HashMap<RepoName, Vec<Label>>>,
    /// afk's own account, once read: one request a tick, however many
    /// workers ask at once (they wait for the first)
    me: Mutex<Option<User>>,
    /// each repository's openness (`is_open`), read at most once per tick
    open: Mutex<HashMap<RepoName, bool>>,
}

impl Rest {
    pub fn new(http: Http) -> Rest {
        Rest {
            http,
            labels: Mutex::new(HashMap::new()),
            me: Mutex::new(None),
            open: Mutex::new(HashMap::new()),
        }
    }

    /// Both forges: `GET /repos/{repo}`'s `private`, and GitHub's
    /// `visibility` where it says (`internal` is not public).
    pub fn is_public(&self, repo: &RepoName) -> Result<bool> {
        let r: serde_json::Value = self
            .http
            .json("GET", &format!("/repos/{}", rp(repo)), None)?;
        Ok(match r["visibility"].as_str() {
            Some(v) => v.eq_ignore_ascii_case("public"),
            None => r["private"].as_bool() == Some(false),
        })
    }

    /// Whether anyone beyond its collaborators may read `repo`: public, or
    /// GitHub's and Gitea's `internal` (every member of the enterprise or
    /// every signed-in account), where the forges answer `read` of them;
    /// read at most once per tick.
    pub fn is_open(&self, repo: &RepoName) -> Result<bool> {
        if let Some(o) = self.open.lock().unwrap().get(repo) {
            return Ok(*o);
        }
        let r: serde_json::Value = self
            .http
            .json("GET", &format!("/repos/{}", rp(repo)), None)?;
        let open = match r["visibility"].as_str() {
            Some(v) => !v.eq_ignore_ascii_case("private"),
            None => r["private"].as_bool() == Some(false) || r["internal"].as_bool() == Some(true),
        };
        self.open.lock().unwrap().insert(repo.clone(), open);
        Ok(open)
    }

    /// Whether `login` is a collaborator of `repo` (`GET
    /// …/collaborators/{login}`: 204 yes, 404 no).
    pub fn is_collaborator(&self, repo: &RepoName, login: &str) -> Result<bool> {
        let path = format!("/repos/{}/collaborators/{}", rp(repo), enc(login));
        match self.http.send("GET", &path, None) {
            Ok(_) => Ok(true),
            Err(e) if ForgeError::kind_of(&e) == Some(Failure::NotFound) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// afk's own account: read once a tick (a refusal is asked again).
    pub fn me(&self) -> Result<User> {
        let mut kept = self.me.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(me) = kept.as_ref() {
            return Ok(me.clone());
        }
        let me: User = self.http.json("GET", "/user", None)?;
        *kept = Some(me.clone());
        Ok(me)
    }

    pub fn issue(&self, repo: &RepoName, number: IssueNumber) -> Result<Issue> {
        self.http
            .json("GET", &format!("/repos/{}/issues/{number}", rp(repo)), None)
    }

    pub fn close_pull(&self, repo: &RepoName, number: PrNumber) -> Result<()> {
        self.http.send(
            "PATCH",
            &format!("/repos/{}/pulls/{number}", rp(repo)),
            Some(&json!({ "state": "closed" })),
        )?;
        Ok(())
    }

    /// Both forges: an issue's and a PR's comments are the issue's.
    pub fn create_comment(&self, repo: &RepoName, on: Target, body: &str) -> Result<Comment> {
        self.http.json(
            "POST",
            &format!("/repos/{}/issues/{on}/comments", rp(repo)),
            Some(&json!({ "body": body })),
        )
    }

    /// Both forges: `PATCH /repos/{repo}/issues/{n}` with `{body}`, an
    /// issue's or a PR's (one sequence).
    pub fn edit_issue_body(&self, repo: &RepoName, on: Target, body: &str) -> Result<()> {
        self.http.send(
            "PATCH",
            &format!("/repos/{}/issues/{on}", rp(repo)),
            Some(&json!({ "body": body })),
        )?;
        Ok(())
    }

    pub fn edit_comment(&self, repo: &RepoName, id: i64, body: &str) -> Result<Comment> {
        self.http.json(
            "PATCH",
            &format!("/repos/{}/issues/comments/{id}", rp(repo)),
            Some(&json!({ "body": body })),
        )
    }

    /// React on an issue or PR comment (both forges: 201 new, 200 when
    /// afk's account had reacted so already; the comment's id says which).
    pub fn react(&self, repo: &RepoName, comment: i64, content: &str) -> Result<()> {
        self.http.send(
            "POST",
            &format!("/repos/{}/issues/comments/{comment}/reactions", rp(repo)),
            Some(&json!({ "content": content })),
        )?;
        Ok(())
    }

    /// Who reacted to a comment and with what (both forges: `GET
    /// .../issues/comments/{id}/reactions`, one page of [`REACTIONS_MAX`]).
    pub fn reactions(&self, repo: &RepoName, comment: i64) -> Result<Vec<(String, String)>> {
        #[derive(Deserialize)]
        struct WireReaction {
            #[serde(default)]
            user: Option<User>,
            #[serde(default)]
            content: String,
        }
        // Gitea answers `null` for a comment with no reaction (a nil
        // slice encoded: routers/api/v1/repo/issue_reaction.go)
        let v: Option<Vec<WireReaction>> = self.http.json(
            "GET",
            &format!(
                "/repos/{}/issues/comments/{comment}/reactions?page=1&limit={max}&per_page={max}",
                rp(repo),
                max = crate::REACTIONS_MAX
            ),
            None,
        )?;
        Ok(v.unwrap_or_default()
            .into_iter()
            .take(crate::REACTIONS_MAX)
            .map(|r| (r.user.map(|u| u.login).unwrap_or_default(), r.content))
            .collect())
    }

    /// The repo's labels, fetched at most once per tick.
    pub fn repo_labels(&self, repo: &RepoName) -> Result<Vec<Label>> {
        if let Some(l) = self.labels.lock().unwrap().get(repo) {
            return Ok(l.clone());
        }
        let l: Vec<Label> = self.http.get_all(&format!("/repos/{}/labels", rp(repo)))?;
        self.labels.lock().unwrap().insert(repo.clone(), l.clone());
        Ok(l)
    }

    /// Open issues carrying `label`, every page; `filter` is what the
    /// forge's query adds (Gitea's `&type=issues`). The caller re-checks.
    pub fn issues_labelled(
        &self,
        repo: &RepoName,
        label: &str,
        filter: &str,
    ) -> Result<Vec<Issue>> {
        let all: Vec<Issue> = self.http.get_all(&format!(
            "/repos/{}/issues?state=open{filter}&labels={}",
            rp(repo),
            enc(label)
        ))?;
        Ok(super::model::open_issues_with(all, label))
    }

    /// An issue's timeline, every page, in the forge's own entry shape.
    pub fn timeline<W: DeserializeOwned>(
        &self,
        repo: &RepoName,
        number: IssueNumber,
    ) -> Result<Vec<W>> {
        // Gitea's pages may come back short before the end; GitHub's
        // carry `Link`, which decides as always
        self.http
            .get_all_to_empty(&format!("/repos/{}/issues/{number}/timeline", rp(repo)))
    }

    /// The collaborator's permission as answered; 404 (not a user) is
    /// `None`; 403 (afk's account may not look) is the error.
    pub fn permission(&self, repo: &RepoName, login: &str) -> Result<Option<WirePermission>> {
        let path = format!(
            "/repos/{}/collaborators/{}/permission",
            rp(repo),
            enc(login)
        );
        match self.http.json("GET", &path, None) {
            Ok(p) => Ok(Some(p)),
            Err(e) if ForgeError::kind_of(&e) == Some(Failure::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Every page of `path`, or none where the forge answers one of `off`
    /// (dependencies switched off: 404, GitHub's 410).
    pub fn all_or_none(&self, path: &str, off: &[Failure]) -> Result<Vec<Issue>> {
        match self.http.get_all(path) {
            Ok(v) => Ok(v),
            Err(e) if ForgeError::kind_of(&e).is_some_and(|k| off.contains(&k)) => Ok(vec![]),
            Err(e) => Err(e),
        }
    }

    /// Every page of the repository's hooks (both forges page them by 30:
    /// afk's may be past the first page).
    pub fn hooks(&self, repo: &RepoName) -> Result<Vec<crate::HookInfo>> {
        Ok(self
            .wire_hooks(&format!("/repos/{}/hooks", rp(repo)))?
            .into_iter()
            .map(crate::HookInfo::from)
            .collect())
    }

    pub(crate) fn wire_hooks(&self, path: &str) -> Result<Vec<crate::model::WireHook>> {
        self.http.get_all(path)
    }

    pub fn open_pulls(&self, repo: &RepoName) -> Result<Vec<PullRequest>> {
        self.http
            .get_all(&format!("/repos/{}/pulls?state=open", rp(repo)))
    }

    pub fn pull(&self, repo: &RepoName, number: PrNumber) -> Result<PullRequest> {
        self.http
            .json("GET", &format!("/repos/{}/pulls/{number}", rp(repo)), None)
    }

    /// `GET .../branches/{branch}`: both forges route `branches/*`, so a
    /// name's `/` stays a `/`, each segment encoded on its own; 404 is
    /// `None`.
    pub fn branch<B: DeserializeOwned>(&self, repo: &RepoName, name: &str) -> Result<Option<B>> {
        let path: Vec<String> = name.split('/').map(enc).collect();
        match self.http.json(
            "GET",
            &format!("/repos/{}/branches/{}", rp(repo), path.join("/")),
            None,
        ) {
            Ok(b) => Ok(Some(b)),
            Err(e) if ForgeError::kind_of(&e) == Some(Failure::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `GET .../pulls/{n}/reviews`, page by page (conditional where the
    /// forge sends an `ETag`).
    pub fn reviews(&self, repo: &RepoName, pr: PrNumber) -> Result<Vec<Review>> {
        super::reviews::read_reviews(
            &self.http,
            &format!("/repos/{}/pulls/{pr}/reviews", rp(repo)),
        )
    }

    pub fn create_label(&self, repo: &RepoName, name: &str, color: &str) -> Result<()> {
        self.http.send(
            "POST",
            &format!("/repos/{}/labels", rp(repo)),
            Some(&json!({ "name": name, "color": color })),
        )?;
        self.forget_labels(repo);
        Ok(())
    }

    /// `DELETE` a label from an issue by the forge's word for it (GitHub's
    /// name, Gitea's id); a label already gone (404) is done.
    pub fn remove_label(&self, repo: &RepoName, number: IssueNumber, label: &str) -> Result<()> {
        match self.http.send(
            "DELETE",
            &format!("/repos/{}/issues/{number}/labels/{label}", rp(repo)),
            None,
        ) {
            Ok(_) => Ok(()),
            Err(e) if ForgeError::kind_of(&e) == Some(Failure::NotFound) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// `PATCH .../issues/{n}` closing it, with what the forge adds
    /// (GitHub's `state_reason`).
    pub fn close_issue(
        &self,
        repo: &RepoName,
        number: IssueNumber,
        mut fields: serde_json::Value,
    ) -> Result<()> {
        fields["state"] = json!("closed");
        self.http.send(
            "PATCH",
            &format!("/repos/{}/issues/{number}", rp(repo)),
            Some(&fields),
        )?;
        Ok(())
    }

    /// `POST .../pulls` with head, base, title and body, and what the caller
    /// adds (`draft`).
    pub fn create_pull(&self, repo: &RepoName, pr: NewPull, draft: bool) -> Result<PullRequest> {
        let mut fields =
            json!({ "head": pr.head, "base": pr.base, "title": pr.title, "body": pr.body });
        if draft {
            fields["draft"] = json!(true);
        }
        self.http
            .json("POST", &format!("/repos/{}/pulls", rp(repo)), Some(&fields))
    }

    /// Drop what this tick kept of `repo`'s labels (after creating one).
    pub fn forget_labels(&self, repo: &RepoName) {
        self.labels.lock().unwrap().remove(repo);
    }
}

/// A pull request to open: its branches, title and body.
#[derive(Debug, Clone, Copy)]
pub struct NewPull<'a> {
    pub head: &'a str,
    pub base: &'a str,
    pub title: &'a str,
    pub body: &'a str,
}
