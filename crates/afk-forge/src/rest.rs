//! What Gitea's and GitHub's REST APIs spell the same way: one copy, which
//! both forges' `Forge` implementations call.

use super::http::{Http, repo_path as rp};
use super::model::{Comment, Issue, Label, Target, User};
use crate::types::{IssueNumber, PrNumber, RepoName};
use anyhow::Result;
use serde_json::json;
use std::collections::HashMap;
use std::sync::Mutex;

/// The HTTP client and what one tick keeps of the forge (each repo's labels).
pub struct Rest {
    pub http: Http,
    labels: Mutex<HashMap<RepoName, Vec<Label>>>,
}

impl Rest {
    pub fn new(http: Http) -> Rest {
        Rest {
            http,
            labels: Mutex::new(HashMap::new()),
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

    pub fn me(&self) -> Result<User> {
        self.http.json("GET", "/user", None)
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

    /// The repo's labels, fetched at most once per tick.
    pub fn repo_labels(&self, repo: &RepoName) -> Result<Vec<Label>> {
        if let Some(l) = self.labels.lock().unwrap().get(repo) {
            return Ok(l.clone());
        }
        let l: Vec<Label> = self.http.get_all(&format!("/repos/{}/labels", rp(repo)))?;
        self.labels.lock().unwrap().insert(repo.clone(), l.clone());
        Ok(l)
    }

    /// Drop what this tick kept of `repo`'s labels (after creating one).
    pub fn forget_labels(&self, repo: &RepoName) {
        self.labels.lock().unwrap().remove(repo);
    }
}
