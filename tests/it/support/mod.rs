//! Shared test helpers: the sandbox as a child process on port 0, a scratch
//! directory with a config, and the afk binary run through assert_cmd.
//!
//! The sandbox speaks the [`Dialect`] of the running test: Gitea unless the
//! test runs inside [`both_dialects!`], which makes one test per dialect from
//! one body (`gitea::name` and `github::name`). `Afk` configs follow the
//! sandbox they are made for.
#![allow(dead_code)]

pub mod paths;
pub mod registry;

pub use paths::{Listed, Paths};

use serde_json::{Value, json};
use std::cell::Cell;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The tokens every test's sandbox is seeded with (a sandbox draws its own
/// at random unless its seed names them: docs/sandbox.md).
pub const TOKEN: &str = "test-forge-token";
pub const K8S_TOKEN: &str = "test-k8s-token";
pub const AGENT_TOKEN: &str = "test-agent-token";

/// The forge API a test's sandbox speaks: the sandbox's own list of
/// dialects ([`Dialect::ALL`]), never a second one here. What the tests
/// know of each beyond the sandbox is [`Plays`].
pub use afk::sandbox::Dialect;

/// The dialects the tests play against afk: the sandbox's, each whose
/// [`Plays::played`] says so.
pub fn played() -> impl Iterator<Item = Dialect> {
    Dialect::ALL.into_iter().filter(|d| d.played())
}

/// What the tests know of a dialect beyond what the sandbox says of it:
/// matches, so a new dialect takes its arm in each (even one kept out of
/// `both_dialects!`; `contract_reviews.rs` walks [`played`]).
pub trait Plays: Copy {
    /// its name (`--dialect`, `forge.kind`)
    fn name(self) -> &'static str;
    /// Where its API lives under the sandbox's URL.
    fn prefix(self) -> &'static str;
    /// The published contracts (`tests/contracts/`) its requests are checked
    /// against: the main API's subset and the reviews'.
    fn contracts(self) -> (&'static str, &'static str);
    /// What the forge answers where forges differ (`forge_reviews.rs`).
    fn differs(self) -> Differs;
    /// The profile of the forge kind it plays: what afk knows of that kind
    /// (its client, a PR's web path, whether reads are conditional, its
    /// `Authorization` header).
    fn profile(self) -> &'static afk::forge::Profile;
    /// An API path of `repo` (`rest` after it, e.g. `issues/1/labels`), as
    /// this forge names it; [`api_path`].
    fn repo_path(self, repo: &str, rest: &str) -> String;
    /// The number the first PR of a repository gets when `items` issues
    /// (and PRs) were made before it: Gitea and GitHub number PRs with
    /// issues, GitLab its merge requests apart (`!1`).
    fn first_pr(self, items: u64) -> u64;
    /// How afk's text names PR `n`: `#n`, or a merge request's `!n`.
    fn pr_ref(self, n: u64) -> String;
    /// [`Plays::pr_ref`] as afk's markdown writes it (the checklist's link
    /// text): every `!` escaped, as `md_text` escapes all of afk's forge
    /// text, so GitLab's `!n` is `\!n` there (rendered `!n`).
    fn pr_ref_md(self, n: u64) -> String;
    /// The API path (under the repository, [`Plays::repo_path`]'s `rest`)
    /// of the reactions (award emoji) on comment `comment` of `on`.
    fn reactions_path(self, on: On, comment: i64) -> String;
    /// The API path (under the repository) of comment `comment` of `on`:
    /// a note hangs off its issue or merge request on GitLab.
    fn comment_path(self, on: On, comment: i64) -> String;
    /// How the forge edits a comment: `PATCH` (Gitea, GitHub) or `PUT` (a
    /// GitLab note).
    fn edit_method(self) -> &'static str;
    /// A part of the path of every comment list afk reads, for a fault
    /// there: `/comments`, GitLab's `/notes`.
    fn comments_part(self) -> &'static str;
    /// A part of the path of the PR list afk reads, for a fault there:
    /// `/pulls`, GitLab's `/merge_requests`.
    fn pulls_part(self) -> &'static str;
    /// The longest comment the forge takes, in characters, and how it
    /// refuses a longer one: GitHub's 65,536 (the sandbox's for Gitea too)
    /// and `422`, GitLab's 1,000,000 and `400`.
    fn comment_limit(self) -> (usize, u16);
    /// How an issue's text is edited: (method, the field of its body),
    /// `PATCH` of `body`, or GitLab's `PUT` of `description`.
    fn issue_edit(self) -> (&'static str, &'static str);
    /// The repository's commit list (under the repository): `commits`,
    /// GitLab's `repository/commits`.
    fn commits_rest(self) -> &'static str;
    /// The PR list (`None`) or PR `n` under the repository: `pulls`,
    /// GitLab's `merge_requests`.
    fn pr_rest(self, n: Option<u64>) -> String;
    /// The fields a new PR is opened with: its head, base, title and body
    /// (GitLab's `source_branch`, `target_branch`, `title`, `description`).
    fn pr_fields(self) -> [&'static str; 4];
    /// The body afk's comment of `text` has on this forge: on GitLab a line
    /// that begins with `/` gets a space before it, as every note afk writes
    /// does (SPEC 2.1.22, `sanitize::no_quick_actions`).
    fn as_afk_writes(self, text: &str) -> String;
    /// Whether the shared tests play it against afk ([`played`]): a
    /// dialect the sandbox serves before afk's forge of that kind passes
    /// them is not, yet.
    fn played(self) -> bool;
}

impl Plays for Dialect {
    fn name(self) -> &'static str {
        self.as_str()
    }
    fn prefix(self) -> &'static str {
        self.api_prefix()
    }
    fn contracts(self) -> (&'static str, &'static str) {
        match self {
            Dialect::Gitea => ("gitea-v1-subset.json", "gitea-v1-review-subset.json"),
            Dialect::Github => ("github-rest-subset.json", "github-review-subset.json"),
            // one subset: its notes, discussions and approvals are in it
            Dialect::Gitlab => ("gitlab-v4-subset.json", "gitlab-v4-subset.json"),
        }
    }
    /// A `mergeable` not computed yet (Gitea has no null: false while it
    /// checks), a branch update with nothing new on the base (Gitea does
    /// nothing and says started; GitHub says up to date), and whether an
    /// update names the head it expects (GitHub's `expected_head_sha`).
    fn differs(self) -> Differs {
        match self {
            Dialect::Gitea => Differs {
                unknown_mergeable: Some(false),
                nothing_new: afk::forge::BranchUpdate::Started,
                checks_expected_head: false,
                label_add: ("POST", "/issues/1/labels"),
                timeline: "/timeline",
                conflict_said_later: false,
                reviews_are_requests: false,
                commit_accounts: true,
            },
            Dialect::Github => Differs {
                unknown_mergeable: None,
                nothing_new: afk::forge::BranchUpdate::UpToDate,
                checks_expected_head: true,
                label_add: ("POST", "/issues/1/labels"),
                timeline: "/timeline",
                conflict_said_later: false,
                reviews_are_requests: false,
                commit_accounts: true,
            },
            // SPEC 2.1.20: `detailed_merge_status` still computing is not
            // known; the rebase answers 202, names no head, and a conflict
            // is the merge request's `merge_error` after it
            Dialect::Gitlab => Differs {
                unknown_mergeable: None,
                nothing_new: afk::forge::BranchUpdate::Started,
                checks_expected_head: false,
                label_add: ("PUT", "/issues/1"),
                timeline: "/resource_label_events",
                conflict_said_later: true,
                reviews_are_requests: true,
                commit_accounts: false,
            },
        }
    }
    fn profile(self) -> &'static afk::forge::Profile {
        afk::forge::profile::of(afk::forge::ForgeKind::parse(self.name()).unwrap())
    }
    fn played(self) -> bool {
        match self {
            Dialect::Gitea | Dialect::Github => true,
            // afk's GitLab forge passes poll; the shared suites speak its
            // wire through this table, and watch, the conversation and
            // forge_reviews still fail on it in places: branch gitlab-on (#59)
            Dialect::Gitlab => true,
        }
    }
    fn first_pr(self, items: u64) -> u64 {
        match self {
            Dialect::Gitea | Dialect::Github => items + 1,
            Dialect::Gitlab => 1,
        }
    }
    fn pr_ref(self, n: u64) -> String {
        match self {
            Dialect::Gitea | Dialect::Github => format!("#{n}"),
            Dialect::Gitlab => format!("!{n}"),
        }
    }
    fn pr_ref_md(self, n: u64) -> String {
        self.pr_ref(n).replace('!', "\\!")
    }
    fn comment_path(self, on: On, comment: i64) -> String {
        match self {
            Dialect::Gitea | Dialect::Github => format!("issues/comments/{comment}"),
            Dialect::Gitlab => match on {
                On::Issue(n) => format!("issues/{n}/notes/{comment}"),
                On::Pr(n) => format!("merge_requests/{n}/notes/{comment}"),
            },
        }
    }
    fn edit_method(self) -> &'static str {
        match self {
            Dialect::Gitea | Dialect::Github => "PATCH",
            Dialect::Gitlab => "PUT",
        }
    }
    fn comments_part(self) -> &'static str {
        match self {
            Dialect::Gitea | Dialect::Github => "/comments",
            Dialect::Gitlab => "/notes",
        }
    }
    fn pulls_part(self) -> &'static str {
        match self {
            Dialect::Gitea | Dialect::Github => "/pulls",
            Dialect::Gitlab => "/merge_requests",
        }
    }
    fn comment_limit(self) -> (usize, u16) {
        match self {
            Dialect::Gitea | Dialect::Github => (65_536, 422),
            Dialect::Gitlab => (1_000_000, 400),
        }
    }
    fn issue_edit(self) -> (&'static str, &'static str) {
        match self {
            Dialect::Gitea | Dialect::Github => ("PATCH", "body"),
            Dialect::Gitlab => ("PUT", "description"),
        }
    }
    fn commits_rest(self) -> &'static str {
        match self {
            Dialect::Gitea | Dialect::Github => "commits",
            Dialect::Gitlab => "repository/commits",
        }
    }
    fn pr_rest(self, n: Option<u64>) -> String {
        let list = self.pulls_part().trim_start_matches('/');
        match n {
            None => list.to_string(),
            Some(n) => format!("{list}/{n}"),
        }
    }
    fn pr_fields(self) -> [&'static str; 4] {
        match self {
            Dialect::Gitea | Dialect::Github => ["head", "base", "title", "body"],
            Dialect::Gitlab => ["source_branch", "target_branch", "title", "description"],
        }
    }
    fn as_afk_writes(self, text: &str) -> String {
        match self {
            Dialect::Gitea | Dialect::Github => text.to_string(),
            Dialect::Gitlab => afk::core::sanitize::no_quick_actions(text).into_owned(),
        }
    }
    fn reactions_path(self, on: On, comment: i64) -> String {
        match self {
            // a comment's id is the repository's, whatever it is on
            Dialect::Gitea | Dialect::Github => format!("issues/comments/{comment}/reactions"),
            Dialect::Gitlab => match on {
                On::Issue(n) => format!("issues/{n}/notes/{comment}/award_emoji"),
                On::Pr(n) => format!("merge_requests/{n}/notes/{comment}/award_emoji"),
            },
        }
    }
    fn repo_path(self, repo: &str, rest: &str) -> String {
        match self {
            // Gitea's and GitHub's shared REST shape
            Dialect::Gitea | Dialect::Github => match rest {
                "" => format!("/repos/{repo}"),
                _ => format!("/repos/{repo}/{rest}"),
            },
            // a project's full path encoded as one segment (SPEC 2.1.3);
            // `rest` in GitLab's words (`issues/1/notes`)
            Dialect::Gitlab => {
                let id = repo.replace('/', "%2F");
                match rest {
                    "" => format!("/projects/{id}"),
                    _ => format!("/projects/{id}/{rest}"),
                }
            }
        }
    }
}

/// An item on the forge by the number people see: an issue, or a pull
/// (merge) request, whose numbers are apart on GitLab. The admin API takes
/// either as [`On::key`] names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum On {
    Issue(u64),
    Pr(u64),
}

impl On {
    /// The admin API's key and number (`"issue": n` or `"pr": n`).
    pub fn key(self) -> (&'static str, u64) {
        match self {
            On::Issue(n) => ("issue", n),
            On::Pr(n) => ("pr", n),
        }
    }
}

/// A pull (merge) request as the tests read it through the API, in any
/// dialect: its number (a merge request's `iid`), head branch and commit,
/// body (`description`) and state (`open`, `closed`, `merged`).
#[derive(Debug, Clone)]
pub struct Pr {
    pub number: u64,
    pub head: String,
    pub sha: String,
    pub body: String,
    pub state: String,
}

impl Pr {
    fn of(d: Dialect, v: &Value) -> Pr {
        let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
        match d {
            Dialect::Gitea | Dialect::Github => Pr {
                number: v["number"].as_u64().unwrap(),
                head: s(&v["head"]["ref"]),
                sha: s(&v["head"]["sha"]),
                body: s(&v["body"]),
                state: match (v["merged"].as_bool(), v["merged_at"].is_null()) {
                    (Some(true), _) | (None, false) => "merged".into(),
                    _ => s(&v["state"]),
                },
            },
            Dialect::Gitlab => Pr {
                number: v["iid"].as_u64().unwrap(),
                head: s(&v["source_branch"]),
                sha: s(&v["sha"]),
                body: s(&v["description"]),
                state: match v["state"].as_str() {
                    Some("opened") => "open".into(),
                    _ => s(&v["state"]),
                },
            },
        }
    }
}

/// An API path (under the API root) of `repo` in dialect `d`:
/// `api_path(d, "acme/api", "issues/1/labels")`. The suites name forge
/// paths through it, never Gitea's and GitHub's `/repos/…` themselves.
pub fn api_path(d: Dialect, repo: &str, rest: &str) -> String {
    d.repo_path(repo, rest)
}

/// The header that carries `token` to dialect `d`'s API, as afk sends it
/// (its profile's `api`): `(name, value)`.
pub fn auth_header(d: Dialect, token: &str) -> (&'static str, String) {
    let api = &d.profile().api;
    (api.auth_header, format!("{}{token}", api.scheme))
}

/// What a forge answers where forges differ ([`Plays::differs`]).
pub struct Differs {
    pub unknown_mergeable: Option<bool>,
    pub nothing_new: afk::forge::BranchUpdate,
    pub checks_expected_head: bool,
    /// how afk adds a label to issue 1: (method, the path's end)
    pub label_add: (&'static str, &'static str),
    /// the path's end of what afk reads to learn who armed an issue
    pub timeline: &'static str,
    /// whether a branch update that conflicts is accepted and its conflict
    /// said later, on the PR (GitLab's `merge_error` after a `202`), not
    /// in the update's answer
    pub conflict_said_later: bool,
    /// whether its reviews are only standing requests for changes (GitLab's
    /// unresolved threads and `requested_changes`): no approval, dismissal
    /// or comment is read as a review
    pub reviews_are_requests: bool,
    /// whether a commit read from the API names its author's account
    /// (GitLab's name only a name and an e-mail: a revert by message alone
    /// counts nobody there)
    pub commit_accounts: bool,
}

thread_local! {
    static DIALECT: Cell<Dialect> = const { Cell::new(Dialect::Gitea) };
}

/// The dialect sandboxes started on this thread speak.
pub fn dialect() -> Dialect {
    DIALECT.with(|d| d.get())
}

/// Run `f` with sandboxes speaking `d`.
pub fn with_dialect<R>(d: Dialect, f: impl FnOnce() -> R) -> R {
    DIALECT.with(|c| c.set(d));
    f()
}

/// One test per dialect from one body: wrap `#[test] fn name() { ... }`
/// items; they become `gitea::name`, `github::name` and `gitlab::name` (the
/// last a no-op while GitLab is not [`played`]).
#[allow(unused_macros)]
macro_rules! both_dialects {
    ($($(#[$m:meta])* fn $name:ident() $body:block)*) => {
        mod gitea {
            #[allow(unused_imports)]
            use super::*;
            $($(#[$m])* fn $name() {
                crate::support::with_dialect(crate::support::Dialect::Gitea, || $body)
            })*
        }
        mod github {
            #[allow(unused_imports)]
            use super::*;
            $($(#[$m])* fn $name() {
                crate::support::with_dialect(crate::support::Dialect::Github, || $body)
            })*
        }
        mod gitlab {
            #[allow(unused_imports)]
            use super::*;
            $($(#[$m])* fn $name() {
                if !crate::support::Plays::played(crate::support::Dialect::Gitlab) {
                    return;
                }
                crate::support::with_dialect(crate::support::Dialect::Gitlab, || $body)
            })*
        }
    };
}

pub fn afk_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_afk"))
}

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
        let mut line = String::new();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        stdout.read_line(&mut line).unwrap();
        let url = line
            .trim()
            .strip_prefix("AFK_SANDBOX_URL=")
            .expect("sandbox prints its URL first")
            .to_string();
        let mut git = String::new();
        stdout.read_line(&mut git).unwrap();
        let git = PathBuf::from(
            git.trim()
                .strip_prefix("AFK_SANDBOX_GIT=")
                .expect("then its git directory"),
        );
        let mut model_url = String::new();
        stdout.read_line(&mut model_url).unwrap();
        let model_url = model_url
            .trim()
            .strip_prefix("AFK_SANDBOX_MODEL_URL=")
            .expect("then its model's URL")
            .to_string();
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

    /// An API path of `repo` in this sandbox's dialect ([`api_path`]).
    pub fn path(&self, repo: &str, rest: &str) -> String {
        api_path(self.dialect, repo, rest)
    }

    /// A request through the API with afk's token ([`auth_header`]): its
    /// status and JSON answer (`null` when it has none).
    pub fn api_call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let (name, value) = auth_header(self.dialect, TOKEN);
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

    pub fn writes(&self) -> Vec<Value> {
        self.requests()
            .into_iter()
            .filter(|r| r["method"] != "GET")
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
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.git);
    }
}

/// Run git in `dir`, panicking with its stderr on failure; returns stdout.
pub fn git(dir: &Path, args: &[&str]) -> String {
    git_by(dir, "t", "t@t.invalid", args)
}

/// Run git in `dir` with `name` and `email` as author and committer,
/// panicking with its stderr on failure; returns stdout.
fn git_by(dir: &Path, name: &str, email: &str, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", name)
        .env("GIT_AUTHOR_EMAIL", email)
        .env("GIT_COMMITTER_NAME", name)
        .env("GIT_COMMITTER_EMAIL", email)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Panic with the process's stderr unless it exited 0.
pub fn assert_success(out: &std::process::Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `afk <args>` (a demo) without a forge token, given `secs` at most; its
/// output, once it exited 0.
pub fn demo(args: &[&str], secs: u64) -> std::process::Output {
    let out = assert_cmd::Command::new(afk_bin())
        .args(args)
        .env_remove("AFK_FORGE_TOKEN")
        .timeout(std::time::Duration::from_secs(secs))
        .output()
        .unwrap();
    assert_success(&out);
    out
}

/// The address the sandbox maps to the account `who`, as a forge maps a
/// commit's author email to the account that owns it.
pub fn email_of(who: &str) -> String {
    format!("{who}@users.afk.invalid")
}

/// Run git in `dir` as `who` (author and committer, with [`email_of`]).
pub fn git_as(dir: &Path, who: &str, args: &[&str]) -> String {
    git_by(dir, who, &email_of(who), args)
}

impl Sandbox {
    /// As `who`, in a fresh clone of `repo` on `branch` (made from `main`
    /// when it is new): `work` changes the work tree and commits (with
    /// [`git_as`]); then the branch is pushed. Returns its new head.
    pub fn work_as(&self, repo: &str, branch: &str, work: impl FnOnce(&Path)) -> String {
        let s = Scratch::new();
        let remote = self.git.join(format!("{repo}.git"));
        git(&s.dir, &["clone", "-q", remote.to_str().unwrap(), "w"]);
        let w = s.dir.join("w");
        let exists = !git(&w, &["ls-remote", "--heads", "origin", branch]).is_empty();
        let from = if exists {
            format!("origin/{branch}")
        } else {
            "origin/main".to_string()
        };
        git(&w, &["checkout", "-q", "-B", branch, &from]);
        work(&w);
        git(&w, &["push", "-q", "origin", branch]);
        git(&w, &["rev-parse", "HEAD"])
    }

    /// `who` writes `files` (path, text) on `branch` of `repo` and commits
    /// them with `message`; returns the commit.
    pub fn commit_as(
        &self,
        repo: &str,
        branch: &str,
        who: &str,
        files: &[(&str, &str)],
        message: &str,
    ) -> String {
        self.work_as(repo, branch, |w| {
            for (path, text) in files {
                std::fs::write(w.join(path), text).unwrap();
            }
            git(w, &["add", "."]);
            git_as(w, who, &["commit", "-q", "-m", message]);
        })
    }

    /// A person (`by`) merges pull request `pr`; returns the merge commit.
    pub fn merge_by(&self, repo: &str, pr: u64, by: &str) -> String {
        let r = self.admin(
            "POST",
            "/merge",
            Some(json!({"repo": repo, "pr": pr, "by": by})),
        );
        r["merge_commit_sha"].as_str().unwrap().to_string()
    }

    /// Push a commit to `branch` of `repo` (as an agent would); returns its sha.
    pub fn push_commit(&self, repo: &str, branch: &str, file: &str) -> String {
        let s = Scratch::new();
        let remote = self.git.join(format!("{repo}.git"));
        git(&s.dir, &["clone", "-q", remote.to_str().unwrap(), "w"]);
        let w = s.dir.join("w");
        let exists = !git(&w, &["ls-remote", "--heads", "origin", branch]).is_empty();
        if exists {
            git(
                &w,
                &["checkout", "-q", "-B", branch, &format!("origin/{branch}")],
            );
        } else {
            git(&w, &["checkout", "-q", "-b", branch]);
        }
        std::fs::write(w.join(file), format!("{file}\n")).unwrap();
        git(&w, &["add", "."]);
        git(&w, &["commit", "-q", "-m", &format!("add {file}")]);
        git(&w, &["push", "-q", "origin", branch]);
        git(&w, &["rev-parse", "HEAD"])
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
        v.as_array()
            .unwrap()
            .iter()
            .map(|p| Pr::of(self.dialect, p))
            .collect()
    }

    /// PR `n` of `repo`, as the API answers it.
    pub fn pr(&self, repo: &str, n: u64) -> Pr {
        let rest = match self.dialect {
            Dialect::Gitea | Dialect::Github => format!("pulls/{n}"),
            Dialect::Gitlab => format!("merge_requests/{n}"),
        };
        let (code, v) = self.api(&self.path(repo, &rest));
        assert_eq!(code, 200, "PR {n} of {repo}: {v}");
        Pr::of(self.dialect, &v)
    }

    /// The reactions (award emoji) on comment `comment` of `on` in `repo`:
    /// (who, what), as the API lists them.
    pub fn reactions(&self, repo: &str, on: On, comment: i64) -> (u16, Vec<(String, String)>) {
        let (code, v) = self.api(&self.path(repo, &self.dialect.reactions_path(on, comment)));
        let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
        let got = v.as_array().map_or(vec![], |a| {
            a.iter()
                .map(|r| match self.dialect {
                    Dialect::Gitea | Dialect::Github => (s(&r["user"]["login"]), s(&r["content"])),
                    Dialect::Gitlab => (s(&r["user"]["username"]), s(&r["name"])),
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

static N: AtomicUsize = AtomicUsize::new(0);

/// A scratch directory removed on drop.
pub struct Scratch {
    pub dir: PathBuf,
}

impl Scratch {
    pub fn new() -> Scratch {
        let dir = std::env::temp_dir().join(format!(
            "afk-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch { dir }
    }
    pub fn path(&self, p: &str) -> PathBuf {
        self.dir.join(p)
    }
    pub fn write(&self, p: &str, text: &str) -> PathBuf {
        let path = self.path(p);
        std::fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub fn demo_agent() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/demo-agent.sh")
}

/// An afk setup: scratch dir, config pointing at the sandbox, state inside.
pub struct Afk {
    pub scratch: Scratch,
    pub config: PathBuf,
    /// the sandbox URL whose `/_hooks/slack` and `/_hooks/webhook` receive notifications
    pub hooks: Option<String>,
    /// `AFK_NOW` for every later command: the clock, pinned (see `later`)
    pub now: std::cell::RefCell<Option<String>>,
    /// more environment for every later command (the real agents' model, PATH, HOME)
    pub env: Vec<(String, String)>,
}

impl Afk {
    /// Pin afk's clock at `t` for every later command, the way a tick that
    /// runs then sees it.
    pub fn at(&self, t: time::OffsetDateTime) {
        let text = t
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap();
        *self.now.borrow_mut() = Some(text);
    }

    /// Pin afk's clock `hours` from the real now (see [`Afk::at`]).
    pub fn later(&self, hours: i64) {
        let t = time::OffsetDateTime::now_utc() + time::Duration::hours(hours);
        let text = t
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap();
        *self.now.borrow_mut() = Some(text);
    }

    /// `extra` is appended to a config with [forge] filled in; it may add keys to
    /// [poll] because [poll] is written last when `poll` is given.
    pub fn new(sb: &Sandbox, poll: &str, extra: &str) -> Afk {
        let scratch = Scratch::new();
        let text = format!(
            "state_path = \"state/afk.db\"\n\n[forge]\n{}timeout = \"5s\"\nretries = 2\n\n\
             [runner]\nworkspace = \"agent\"\ncommand = [\"sh\", \"{}\"]\n\n{extra}\n\n[poll]\n{poll}\n",
            sb.forge_keys(),
            demo_agent().display()
        );
        let config = scratch.write("afk.toml", &text);
        Afk {
            scratch,
            config,
            hooks: None,
            now: Default::default(),
            env: vec![],
        }
    }

    pub fn with_text(text: &str) -> Afk {
        let scratch = Scratch::new();
        let config = scratch.write("afk.toml", text);
        Afk {
            scratch,
            config,
            hooks: None,
            now: Default::default(),
            env: vec![],
        }
    }

    pub fn cmd(&self) -> assert_cmd::Command {
        let mut c = assert_cmd::Command::from_std(self.std_cmd());
        c.timeout(std::time::Duration::from_secs(60));
        c
    }

    /// The same command as `cmd`, as a plain `std::process::Command` (for a
    /// test that chooses where stdout goes, or runs ticks side by side).
    pub fn std_cmd(&self) -> std::process::Command {
        let mut c = std::process::Command::new(afk_bin());
        // a config without state_path uses $XDG_STATE_HOME: the scratch's, never the machine's
        c.env("AFK_FORGE_TOKEN", TOKEN)
            .env("XDG_STATE_HOME", self.scratch.path("xdg-state"))
            .env_remove("AFK_CONFIG")
            .arg("--config")
            .arg(&self.config);
        if let Some(h) = &self.hooks {
            c.env("AFK_TEST_SLACK", format!("{h}/_hooks/slack"))
                .env("AFK_TEST_WEBHOOK", format!("{h}/_hooks/webhook"));
        }
        match self.now.borrow().as_deref() {
            Some(t) => c.env("AFK_NOW", t),
            None => c.env_remove("AFK_NOW"),
        };
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c
    }

    pub fn state(&self) -> PathBuf {
        self.scratch.path("state/afk.db")
    }

    /// Run `afk --json <args>` and return (exit code, report, stderr).
    pub fn json(&self, args: &[&str]) -> (i32, Value, String) {
        let out = self.cmd().arg("--json").args(args).output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        let report = serde_json::from_str(&stdout).unwrap_or(Value::Null);
        (
            out.status.code().unwrap_or(-1),
            report,
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    }

    /// Run `id`'s row as `afk --json runs` lists it.
    pub fn run_row(&self, id: i64) -> Value {
        let (code, r, err) = self.json(&["runs"]);
        assert_eq!(code, 0, "{err}");
        r["runs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["run_id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("no run {id} in {r}"))
    }

    pub fn poll(&self) -> (i32, Value, String) {
        self.json(&["poll"])
    }

    pub fn sql(&self, q: &str) {
        let c = rusqlite::Connection::open(self.state()).unwrap();
        c.execute_batch(q).unwrap();
    }

    pub fn sql_rows(&self, q: &str) -> Vec<Vec<String>> {
        let c = rusqlite::Connection::open(self.state()).unwrap();
        let mut st = c.prepare(q).unwrap();
        let n = st.column_count();
        st.query_map([], |r| {
            Ok((0..n)
                .map(|i| {
                    r.get::<_, rusqlite::types::Value>(i)
                        .map(|v| match v {
                            rusqlite::types::Value::Null => "NULL".to_string(),
                            rusqlite::types::Value::Integer(i) => i.to_string(),
                            rusqlite::types::Value::Text(t) => t,
                            other => format!("{other:?}"),
                        })
                        .unwrap()
                })
                .collect())
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
    }
}

/// `(repo, issue)` pairs of a report list.
pub fn pairs(v: &Value) -> Vec<(String, u64)> {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|x| {
                    (
                        x["repo"].as_str().unwrap_or("").to_string(),
                        x["issue"].as_u64().unwrap_or(0),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

pub fn reason_of(report: &Value, repo: &str, issue: u64) -> Option<String> {
    report["skipped"]
        .as_array()?
        .iter()
        .find(|s| s["repo"] == repo && s["issue"] == issue)
        .map(|s| s["reason"].as_str().unwrap().to_string())
}

pub fn repo(name: &str, issues: Value) -> Value {
    json!({"name": name, "collaborators": {"alice": "write", "mallory": "read", "root": "admin"}, "issues": issues})
}

pub fn ready(number: u64, by: &str) -> Value {
    json!({"number": number, "title": format!("Issue {number}"), "body": "do it", "labels": ["ready-for-agent"], "labeled_by": by})
}

impl Afk {
    /// A config for watch tests: the scripted agent works against the sandbox's
    /// git and API in `mode`; `watch` and `extra` add keys to [watch] and elsewhere.
    pub fn agent(sb: &Sandbox, mode: &str, watch: &str, extra: &str) -> Afk {
        let scratch = Scratch::new();
        let text = format!(
            "state_path = \"state/afk.db\"\n\n[forge]\n{forge}timeout = \"5s\"\nretries = 1\n\n\
             [runner]\nworkspace = \"agent\"\ncommand = [\"env\", \"AFK_DEMO_GIT={git}\", \"AFK_DEMO_API={api}\", \"AFK_DEMO_FORGE={kind}\", \"AFK_DEMO_TOKEN={TOKEN}\", \"AFK_DEMO_MODE={mode}\", \"sh\", \"{agent}\"]\n\n\
             [poll]\nenabled = true\nallowlist = [\"acme/api\"]\n\n[watch]\n{watch}\n\n{extra}\n",
            forge = sb.forge_keys(),
            api = sb.api_url(),
            kind = sb.dialect.name(),
            // the agent does its own git over the forge's smart HTTP, as a
            // real one would (the forge is in its box's default allow)
            git = sb.url,
            agent = demo_agent().display(),
        );
        let config = scratch.write("afk.toml", &text);
        Afk {
            scratch,
            config,
            hooks: Some(sb.url.clone()),
            now: Default::default(),
            env: vec![],
        }
    }

    /// Wait (bounded) until run `id`'s agent has written its exit status.
    pub fn wait_agent(&self, id: i64) -> i32 {
        let p = self.scratch.path(&format!("state/runs/{id}/exit_status"));
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            if let Ok(s) = std::fs::read_to_string(&p) {
                return s.trim().parse().unwrap();
            }
            assert!(
                std::time::Instant::now() < deadline,
                "agent of run {id} did not finish; log: {}",
                std::fs::read_to_string(self.scratch.path(&format!("state/runs/{id}/agent.log")))
                    .unwrap_or_default()
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }

    pub fn watch(&self) -> (i32, Value, String) {
        self.json(&["watch"])
    }
}

/// The `action` (and reason) watch reported for an issue.
pub fn action_of(report: &Value, issue: u64) -> (String, Option<String>) {
    let a = report["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["issue"] == issue)
        .unwrap_or_else(|| panic!("no action for #{issue} in {report}"));
    (
        a["action"].as_str().unwrap().to_string(),
        a["reason"].as_str().map(str::to_string),
    )
}

/// Runs `cmd` (afk) to its end: (exit code, stdout, its peak RSS in KiB).
/// The peak is afk's own high-water mark, VmHWM of its address space,
/// sampled while it runs. Not wait4's ru_maxrss: Linux's exec records the
/// spawning process's high-water RSS into the new program's, so a child of
/// this test binary reports the whole test process's peak (all tests at
/// once) whenever that is higher: it read 186 MiB once under a full suite.
#[expect(
    clippy::zombie_processes,
    reason = "the child is reaped by libc::wait4"
)]
pub fn run_sampled(mut cmd: std::process::Command) -> (i32, Vec<u8>, u64) {
    use std::io::Read;
    use std::process::Stdio;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (done, status) = (done.clone(), format!("/proc/{}/status", child.id()));
        std::thread::spawn(move || {
            let (mut peak, mut samples) = (0u64, 0u32);
            while !done.load(Ordering::Relaxed) {
                let hwm = std::fs::read_to_string(&status).ok().and_then(|s| {
                    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?.to_string();
                    line.split_whitespace().nth(1)?.parse::<u64>().ok()
                });
                if let Some(kib) = hwm {
                    peak = peak.max(kib);
                    samples += 1;
                }
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            (peak, samples)
        })
    };
    let mut out = vec![];
    child.stdout.take().unwrap().read_to_end(&mut out).unwrap();
    let mut status = 0;
    // SAFETY: waits for our own child, whose pid std gave us; status is valid
    // for writes, and a null rusage asks for none.
    let pid = unsafe {
        libc::wait4(
            child.id() as libc::pid_t,
            &mut status,
            0,
            std::ptr::null_mut(),
        )
    };
    done.store(true, Ordering::Relaxed);
    let (peak, samples) = sampler.join().unwrap();
    assert_eq!(pid, child.id() as libc::pid_t, "wait4");
    assert!(libc::WIFEXITED(status), "afk died: status {status:#x}");
    assert!(samples > 0 && peak > 0, "afk's memory was never sampled");
    (libc::WEXITSTATUS(status), out, peak)
}
