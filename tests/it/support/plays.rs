//! What the tests know of each forge dialect beyond what the sandbox says
//! of it ([`Plays`], one arm per dialect), the items named by the number
//! people see ([`On`]) and PRs read in any dialect ([`Pr`]), and the
//! dialect this thread's sandboxes speak ([`with_dialect`]).

use super::Dialect;
use serde_json::Value;
use std::cell::Cell;

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
    /// The end of the API path of issue `n`'s comment list, for a fault
    /// there or a request to it: `/issues/1/comments`, GitLab's
    /// `/issues/1/notes`, a work item's `/wit/workItems/1/comments`.
    fn issue_comments(self, n: u64) -> String;
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
    /// does (`sanitize::no_quick_actions`).
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
            // one subset: threads, votes and policy evaluations are in it
            Dialect::AzureDevops => (
                "azure-devops-7.1-subset.json",
                "azure-devops-7.1-subset.json",
            ),
        }
    }
    /// A `mergeable` not computed yet (Gitea has no null: false while it
    /// checks), a branch update with nothing new on the base (Gitea's 500,
    /// looked up; GitHub says so), and whether an
    /// update names the head it expects (GitHub's `expected_head_sha`).
    fn differs(self) -> Differs {
        match self {
            Dialect::Gitea => Differs {
                unknown_mergeable: Some(false),
                nothing_new: afk::forge::BranchUpdate::UpToDate,
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
            // `detailed_merge_status` still computing is not known; the
            // rebase answers 202, names no head, and a conflict is the merge
            // request's `merge_error` after it
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
            // `mergeStatus` `queued` is not known; there is no branch
            // update: afk merges the base into its branch and moves the ref
            // by compare-and-swap; tags are set by a JSON Patch of the work
            // item, and who armed it is in its updates
            Dialect::AzureDevops => Differs {
                unknown_mergeable: None,
                nothing_new: afk::forge::BranchUpdate::UpToDate,
                checks_expected_head: true,
                label_add: ("PATCH", "/workitems/1"),
                timeline: "/updates",
                conflict_said_later: false,
                reviews_are_requests: false,
                // a commit's author is a name and an e-mail (GitUserDate)
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
            // the shared suites' Azure DevOps module is `#[ignore]`d (the
            // both_dialects! macro): played when asked to
            Dialect::AzureDevops => true,
        }
    }
    fn first_pr(self, items: u64) -> u64 {
        match self {
            Dialect::Gitea | Dialect::Github => items + 1,
            Dialect::Gitlab | Dialect::AzureDevops => 1,
        }
    }
    fn pr_ref(self, n: u64) -> String {
        match self {
            Dialect::Gitea | Dialect::Github => format!("#{n}"),
            Dialect::Gitlab | Dialect::AzureDevops => format!("!{n}"),
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
            Dialect::AzureDevops => match on {
                On::Issue(n) => format!("wit/workItems/{n}/comments/{comment}"),
                On::Pr(n) => format!("pullRequests/{n}/threads/{comment}"),
            },
        }
    }
    fn edit_method(self) -> &'static str {
        match self {
            Dialect::Gitea | Dialect::Github | Dialect::AzureDevops => "PATCH",
            Dialect::Gitlab => "PUT",
        }
    }
    fn comments_part(self) -> &'static str {
        match self {
            Dialect::Gitea | Dialect::Github => "/comments",
            Dialect::Gitlab => "/notes",
            Dialect::AzureDevops => "/comments",
        }
    }
    fn issue_comments(self, n: u64) -> String {
        match self {
            Dialect::AzureDevops => format!("/wit/workItems/{n}/comments"),
            _ => format!("/issues/{n}{}", self.comments_part()),
        }
    }
    fn pulls_part(self) -> &'static str {
        match self {
            Dialect::Gitea | Dialect::Github => "/pulls",
            Dialect::Gitlab => "/merge_requests",
            Dialect::AzureDevops => "/pullrequests",
        }
    }
    fn comment_limit(self) -> (usize, u16) {
        match self {
            Dialect::Gitea | Dialect::Github => (65_536, 422),
            Dialect::Gitlab => (1_000_000, 400),
            // a work-item comment's and a thread comment's 150,000
            Dialect::AzureDevops => (150_000, 400),
        }
    }
    fn issue_edit(self) -> (&'static str, &'static str) {
        match self {
            Dialect::Gitea | Dialect::Github => ("PATCH", "body"),
            Dialect::Gitlab => ("PUT", "description"),
            Dialect::AzureDevops => ("PATCH", "System.Description"),
        }
    }
    fn commits_rest(self) -> &'static str {
        match self {
            Dialect::Gitea | Dialect::Github => "commits",
            Dialect::Gitlab => "repository/commits",
            Dialect::AzureDevops => "commits",
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
            Dialect::AzureDevops => ["sourceRefName", "targetRefName", "title", "description"],
        }
    }
    fn as_afk_writes(self, text: &str) -> String {
        match self {
            Dialect::Gitea | Dialect::Github | Dialect::AzureDevops => text.to_string(),
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
            // who liked it: a work-item comment's engaged users, the likes
            // of a thread's first comment (`comment` names the thread)
            Dialect::AzureDevops => match on {
                On::Issue(n) => {
                    format!("wit/workItems/{n}/comments/{comment}/reactions/like/users")
                }
                On::Pr(n) => format!("pullRequests/{n}/threads/{comment}/comments/1/likes"),
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
            // a project's full path encoded as one segment;
            // `rest` in GitLab's words (`issues/1/notes`)
            Dialect::Gitlab => {
                let id = repo.replace('/', "%2F");
                match rest {
                    "" => format!("/projects/{id}"),
                    _ => format!("/projects/{id}/{rest}"),
                }
            }
            // `project/repository`: work items (`wit/…`) are the
            // project's, the rest the repository's
            Dialect::AzureDevops => {
                let (project, name) = repo.split_once('/').unwrap_or((repo, repo));
                match rest {
                    "" => format!("/{project}/_apis/git/repositories/{name}"),
                    _ if rest.starts_with("wit/") => format!("/{project}/_apis/{rest}"),
                    _ => format!("/{project}/_apis/git/repositories/{name}/{rest}"),
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
    pub(super) fn of(d: Dialect, v: &Value) -> Pr {
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
            Dialect::AzureDevops => Pr {
                number: v["pullRequestId"].as_u64().unwrap(),
                head: s(&v["sourceRefName"])
                    .trim_start_matches("refs/heads/")
                    .to_string(),
                sha: s(&v["lastMergeSourceCommit"]["commitId"]),
                body: s(&v["description"]),
                state: match v["status"].as_str() {
                    Some("active") => "open".into(),
                    Some("completed") => "merged".into(),
                    Some("abandoned") => "closed".into(),
                    _ => s(&v["status"]),
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
/// (its profile's `api`): `(name, value)`; `Basic`'s credential is a PAT
/// with an empty user name, as afk's client makes it.
pub fn auth_header(d: Dialect, token: &str) -> (&'static str, String) {
    let api = &d.profile().api;
    let credential = match api.scheme {
        "Basic " => afk::forge::profile::basic_credential(token),
        _ => token.to_string(),
    };
    (api.auth_header, format!("{}{credential}", api.scheme))
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
    /// (GitLab's and Azure DevOps' name only a name and an e-mail: a revert
    /// by message alone counts nobody there)
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
