//! A running `afk sandbox` (the forge, its admin API, the scripted model and
//! the Kubernetes API on port 0), what the tests ask of it, and the seeds
//! its repositories start from.

use super::{
    AGENT_TOKEN, Dialect, K8S_TOKEN, Listed, On, Paths, Plays, Pr, TOKEN, afk_bin, api_path,
    auth_header, dialect,
};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

/// A running `afk sandbox`, killed on drop.
pub struct Sandbox {
    child: Child,
    _stdout: BufReader<std::process::ChildStdout>,
    pub url: String,
    /// The scripted model's own root (another port than the forge's)
    pub model_url: String,
    /// `<git>/<owner>/<repo>.git` are the sandbox's bare repositories
    pub git: PathBuf,
    pub dialect: Dialect,
    agent: ureq::Agent,
}

impl Sandbox {
    /// A sandbox in this thread's dialect, seeded.
    pub fn start(seed: Value) -> Sandbox {
        Sandbox::start_in(dialect(), seed)
    }

    pub fn start_in(dialect: Dialect, seed: Value) -> Sandbox {
        let mut child = Command::new(afk_bin())
            .args([
                "sandbox",
                "--addr",
                "127.0.0.1:0",
                "--dialect",
                dialect.name(),
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start afk sandbox");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        // its first lines, in order: `key=value`, the value
        let mut next = |key: &str, what: &str| {
            let mut line = String::new();
            stdout.read_line(&mut line).unwrap();
            let value = line.trim().strip_prefix(key).map(str::to_string);
            value.unwrap_or_else(|| panic!("{what}"))
        };
        let url = next("AFK_SANDBOX_URL=", "sandbox prints its URL first");
        let git = PathBuf::from(next("AFK_SANDBOX_GIT=", "then its git directory"));
        let model_url = next("AFK_SANDBOX_MODEL_URL=", "then its model's URL");
        let sb = Sandbox {
            child,
            _stdout: stdout,
            git,
            url,
            model_url,
            dialect,
            agent: ureq::AgentBuilder::new().build(),
        };
        let mut seed = seed;
        for (key, token) in [
            ("token", TOKEN),
            ("k8s_token", K8S_TOKEN),
            ("agent_token", AGENT_TOKEN),
        ] {
            if seed.get(key).is_none() {
                seed[key] = json!(token);
            }
        }
        sb.admin("POST", "/seed", Some(seed));
        sb
    }

    /// The API root (`forge.api_url`).
    pub fn api_url(&self) -> String {
        format!("{}{}", self.url, self.dialect.prefix())
    }

    /// The `[forge]` keys that point afk at this sandbox (without the table name).
    pub fn forge_keys(&self) -> String {
        format!("{}\n", self.dialect.forge_keys(&self.url))
    }

    /// The `[forge]` sub-tables afk needs beside [`Sandbox::forge_keys`]
    /// for the repositories `allowlist` names: on Azure DevOps each one's
    /// area path (`[forge.azure_devops.area_paths]`, `"project/repo" =
    /// 'project\repo'`, the area the sandbox files that repository's work
    /// items under: docs/sandbox.md); none on the other dialects.
    pub fn forge_tables(&self, allowlist: &[String]) -> String {
        if self.dialect != Dialect::AzureDevops || allowlist.is_empty() {
            return String::new();
        }
        let mut t = String::from("[forge.azure_devops.area_paths]\n");
        for r in allowlist {
            let (project, name) = r.split_once('/').unwrap_or((r.as_str(), r.as_str()));
            t.push_str(&format!("\"{r}\" = '{project}\\{name}'\n"));
        }
        t
    }

    /// An API path of `repo` in this sandbox's dialect ([`api_path`]).
    pub fn path(&self, repo: &str, rest: &str) -> String {
        api_path(self.dialect, repo, rest)
    }

    /// A request through the API with afk's token ([`auth_header`]): its
    /// status and JSON answer (`null` when it has none).
    pub fn api_call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let (name, value) = auth_header(self.dialect, TOKEN);
        let path = versioned(self.dialect, path);
        let req = self
            .agent
            .request(method, &format!("{}{path}", self.api_url()))
            .set(name, &value);
        let answer = match body {
            Some(b) => req.send_json(b),
            None => req.call(),
        };
        match answer {
            Ok(r) => (r.status(), r.into_json().unwrap_or(Value::Null)),
            Err(ureq::Error::Status(s, r)) => (s, r.into_json().unwrap_or(Value::Null)),
            Err(e) => panic!("{e}"),
        }
    }

    pub fn admin(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let req = self
            .agent
            .request(method, &format!("{}/_admin{path}", self.url));
        let resp = match body {
            Some(b) => req.send_json(b),
            None => req.call(),
        }
        .unwrap_or_else(|e| panic!("admin {method} {path}: {e}"));
        resp.into_json().unwrap()
    }

    /// Every API request the sandbox received: {method, path, query, body}.
    pub fn requests(&self) -> Vec<Value> {
        self.admin("GET", "/requests", None)
            .as_array()
            .unwrap()
            .clone()
    }

    /// What afk asked that may change something: every request but a
    /// GET, and but Azure DevOps' two reads sent as a POST (a WIQL query,
    /// a batch read of work items), which change nothing.
    pub fn writes(&self) -> Vec<Value> {
        self.requests()
            .into_iter()
            .filter(|r| r["method"] != "GET")
            .filter(|r| {
                let p = r["path"].as_str().unwrap_or("").to_ascii_lowercase();
                !p.ends_with("/wit/wiql") && !p.ends_with("/wit/workitemsbatch")
            })
            .collect()
    }

    pub fn clear_requests(&self) {
        self.admin("DELETE", "/requests", None);
    }

    pub fn faults(&self, faults: Value) {
        self.admin("POST", "/faults", Some(json!({ "faults": faults })));
    }

    pub fn label(&self, repo: &str, issue: u64, label: &str, by: &str, add: bool) {
        self.admin(
            "POST",
            "/label",
            Some(json!({"repo": repo, "issue": issue, "label": label, "by": by, "add": add})),
        );
    }

    pub fn issue(&self, repo: &str, number: u64) -> Value {
        let st = self.admin("GET", "/state", None);
        st["repos"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == repo)
            .and_then(|r| {
                r["issues"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|i| i["number"] == number)
                    .cloned()
            })
            .unwrap_or_else(|| panic!("no issue {repo}#{number}"))
    }

    pub fn labels_of(&self, repo: &str, number: u64) -> Vec<String> {
        self.issue(repo, number)["labels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["name"].as_str().unwrap().to_string())
            .collect()
    }

    /// A GET through the API with the token, as afk would make it.
    pub fn api(&self, path: &str) -> (u16, Value) {
        self.api_call("GET", path, None)
    }

    /// The API path of comment `id` on `on` of `repo` ([`Plays::comment_path`]).
    pub fn comment_path(&self, repo: &str, on: On, id: i64) -> String {
        self.path(repo, &self.dialect.comment_path(on, id))
    }

    /// Edit comment `id` on `on` of `repo` through the API with afk's token
    /// (an account with write access), as the forge edits one; its status.
    pub fn edit_comment(&self, repo: &str, on: On, id: i64, body: &str) -> u16 {
        // Azure DevOps lets only a comment's author edit it: the person's
        // own edit, through the dialect's admin calls (a work item's comment
        // by its id, a PR comment as its thread's first)
        if self.dialect == Dialect::AzureDevops {
            let (path, edit) = match on {
                On::Issue(_) => ("/ado/comment", json!({"comment": id, "text": body})),
                On::Pr(pr) => (
                    "/ado/thread",
                    json!({"pr": pr, "thread": id, "comment": 1, "text": body}),
                ),
            };
            let url = format!("{}/_admin{path}", self.url);
            return match self.agent.post(&url).send_json(edit) {
                Ok(r) => r.status(),
                Err(ureq::Error::Status(code, _)) => code,
                Err(e) => panic!("admin POST {path}: {e}"),
            };
        }
        let path = self.comment_path(repo, on, id);
        let method = self.dialect.edit_method();
        self.api_call(method, &path, Some(json!({ "body": body })))
            .0
    }

    /// `PATCH` an API path with afk's token (an account with write access).
    pub fn api_patch(&self, path: &str, body: Value) -> (u16, Value) {
        self.api_call("PATCH", path, Some(body))
    }
}

impl Drop for Sandbox {
    /// Stopped and its folder gone; then, a test that passed so far fails
    /// if the sandbox answered a forge request no fidelity ledger row lists
    /// (`support::ledger`).
    fn drop(&mut self) {
        let log = (!std::thread::panicking())
            .then(|| {
                self.agent
                    .get(&format!("{}/_admin/requests?brief=1", self.url))
                    .call()
                    .ok()
            })
            .flatten()
            .and_then(|r| r.into_json::<Vec<Value>>().ok());
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.git);
        if let Some(log) = log {
            let unlisted = super::ledger::unlisted(self.dialect, &log);
            assert!(
                unlisted.is_empty(),
                "the sandbox answered requests no row of its fidelity ledger \
                 (docs/fidelity/) lists: {unlisted:#?}"
            );
        }
    }
}

impl Sandbox {
    /// A person (`by`) merges pull request `pr`; returns the merge commit.
    pub fn merge_by(&self, repo: &str, pr: u64, by: &str) -> String {
        let r = self.admin(
            "POST",
            "/merge",
            Some(json!({"repo": repo, "pr": pr, "by": by})),
        );
        r["merge_commit_sha"].as_str().unwrap().to_string()
    }

    /// Open a PR through the API as an agent would; returns its number (a
    /// merge request's `iid`).
    pub fn open_pr(&self, repo: &str, head: &str, body: &str) -> u64 {
        let title = format!("work on {head}");
        let (rest, pr) = match self.dialect {
            Dialect::Gitea | Dialect::Github => (
                "pulls",
                json!({"head": head, "base": "main", "title": title, "body": body}),
            ),
            Dialect::Gitlab => (
                "merge_requests",
                json!({"source_branch": head, "target_branch": "main", "title": title,
                       "description": body}),
            ),
            Dialect::AzureDevops => (
                "pullrequests",
                json!({"sourceRefName": format!("refs/heads/{head}"),
                       "targetRefName": "refs/heads/main", "title": title,
                       "description": body}),
            ),
        };
        let (code, r) = self.api_call("POST", &self.path(repo, rest), Some(pr));
        assert!(
            (200..300).contains(&code),
            "open a PR on {repo}: {code} {r}"
        );
        Pr::of(self.dialect, &r).number
    }

    /// The open PRs of `repo`, as the API lists them.
    pub fn open_prs(&self, repo: &str) -> Vec<Pr> {
        let (code, v) = self.api(&self.dialect.prs_path(repo, Listed::Open));
        assert_eq!(code, 200, "list the PRs of {repo}: {v}");
        api_list(&v)
            .iter()
            .map(|p| Pr::of(self.dialect, p))
            .collect()
    }

    /// PR `n` of `repo`, as the API answers it.
    pub fn pr(&self, repo: &str, n: u64) -> Pr {
        let rest = match self.dialect {
            Dialect::Gitea | Dialect::Github => format!("pulls/{n}"),
            Dialect::Gitlab => format!("merge_requests/{n}"),
            Dialect::AzureDevops => format!("pullrequests/{n}"),
        };
        let (code, v) = self.api(&self.path(repo, &rest));
        assert_eq!(code, 200, "PR {n} of {repo}: {v}");
        Pr::of(self.dialect, &v)
    }

    /// From now on every comment afk lists is dated (`created_at` and
    /// `updated_at`) in one second, an hour ahead: an edit shows in no
    /// date, as one made in a comment's own second does on the forges.
    /// Returns that second, for a test that adds faults beside it.
    pub fn date_comments_in_one_second(&self) -> String {
        let second = (time::OffsetDateTime::now_utc() + time::Duration::hours(1))
            .replace_nanosecond(0)
            .unwrap()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap();
        self.faults(
            json!([{"method": "GET", "path": self.dialect.comments_part(), "dates": second}]),
        );
        second
    }

    /// `user` gives comment `comment` a 👍, as each dialect keeps it (a
    /// reaction, GitLab's award emoji `thumbsup`).
    pub fn thumbs_up(&self, comment: i64, user: &str) {
        let v = match self.dialect {
            Dialect::Gitlab => self.admin(
                "POST",
                "/award",
                Some(json!({"note": comment, "user": user, "name": "thumbsup"})),
            ),
            // a like, the one quiet reaction (the shared `/react`)
            Dialect::Gitea | Dialect::Github | Dialect::AzureDevops => self.admin(
                "POST",
                "/react",
                Some(json!({"comment": comment, "user": user, "content": "+1"})),
            ),
        };
        assert!(v["id"].as_i64().is_some(), "{v}");
    }

    /// The reactions (award emoji) on comment `comment` of `on` in `repo`:
    /// (who, what), as the API lists them.
    pub fn reactions(&self, repo: &str, on: On, comment: i64) -> (u16, Vec<(String, String)>) {
        let (code, v) = self.api(&self.path(repo, &self.dialect.reactions_path(on, comment)));
        let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
        let got = (v.is_array() || v["value"].is_array()).then(|| api_list(&v));
        let got = got.map_or(vec![], |a| {
            a.iter()
                .map(|r| match self.dialect {
                    Dialect::Gitea | Dialect::Github => (s(&r["user"]["login"]), s(&r["content"])),
                    Dialect::Gitlab => (s(&r["user"]["username"]), s(&r["name"])),
                    Dialect::AzureDevops => (s(&r["uniqueName"]), "like".to_string()),
                })
                .collect()
        });
        (code, got)
    }

    /// Whether comment `c` of `/_admin/state` is on PR `pr`: its number,
    /// marked `pull` where merge requests are numbered apart (GitLab).
    pub fn is_on_pr(&self, c: &Value, pr: u64) -> bool {
        let apart = self.dialect.first_pr(1) == 1;
        c["issue"] == pr && (c["pull"] == true || !apart)
    }

    /// A comment by `user` on `on` of `repo` through the admin API; its id.
    pub fn comment_on(&self, repo: &str, on: On, user: &str, body: &str) -> i64 {
        let (key, n) = on.key();
        let v = self.admin(
            "POST",
            "/comment",
            Some(json!({"repo": repo, key: n, "user": user, "body": body})),
        );
        v["id"].as_i64().unwrap()
    }

    pub fn status(&self, repo: &str, branch: &str, context: &str, state: &str) -> String {
        let r = self.admin(
            "POST",
            "/status",
            Some(
                json!({"repo": repo, "branch": branch, "context": context, "state": state,
                        "target_url": format!("http://ci.invalid/{context}/{state}")}),
            ),
        );
        r["sha"].as_str().unwrap().to_string()
    }

    pub fn merge(&self, repo: &str, pr: u64) -> String {
        let r = self.admin("POST", "/merge", Some(json!({"repo": repo, "pr": pr})));
        r["merge_commit_sha"].as_str().unwrap().to_string()
    }

    pub fn hooks(&self) -> Vec<Value> {
        self.admin("GET", "/hooks", None)
            .as_array()
            .unwrap()
            .clone()
    }
}

/// A list as the API answers one: an array, or Azure DevOps's
/// `{count, value}`.
pub fn api_list(v: &Value) -> Vec<Value> {
    v.as_array()
        .or_else(|| v["value"].as_array())
        .unwrap_or_else(|| panic!("not a list: {v}"))
        .clone()
}

/// `path` with the `api-version` the Azure DevOps dialect requires of
/// every call: `7.1-preview.1` for a comment's reactions and policy
/// evaluations, `7.1-preview.4` for work-item comments, else `7.1`; as it
/// is on the other dialects, or when it names one.
fn versioned(d: Dialect, path: &str) -> String {
    if d != Dialect::AzureDevops || path.contains("api-version=") {
        return path.to_string();
    }
    let low = path.to_lowercase();
    let bare = low.split('?').next().unwrap_or_default();
    let version = if bare.contains("/reactions/") || bare.contains("/policy/evaluations") {
        "7.1-preview.1"
    } else if bare.contains("/wit/workitems/") && bare.contains("/comments") {
        "7.1-preview.4"
    } else {
        "7.1"
    };
    let sep = if path.contains('?') { '&' } else { '?' };
    format!("{path}{sep}api-version={version}")
}

pub fn repo(name: &str, issues: Value) -> Value {
    json!({"name": name, "collaborators": {"alice": "write", "mallory": "read", "root": "admin"}, "issues": issues})
}

pub fn ready(number: u64, by: &str) -> Value {
    json!({"number": number, "title": format!("Issue {number}"), "body": "do it", "labels": ["ready-for-agent"], "labeled_by": by})
}
