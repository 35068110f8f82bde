//! The forge's state, independent of any API dialect: repositories with their
//! labels, issues and pull requests (one numbering), comments, each issue's
//! label timeline, and commit statuses; plus the rules that change it (label,
//! merge, add a status). The routes render it in a forge's shapes.

use super::faults::Faults;
use super::git;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;

pub(crate) mod app;
pub(crate) mod azure;
pub(crate) mod ci;
pub(crate) mod dates;
pub(crate) mod gitlab;
pub(crate) mod jira;
pub(crate) mod labels;
pub(crate) mod linear;
pub(crate) mod otlp;
pub(crate) mod outbox;
pub(crate) mod registry;
pub(crate) mod talk;

pub(crate) use dates::wall;

/// The agent-thread service's threads (`crate::agent`): id -> {id, repo,
/// issue, title, prompt, status, phase, messages, updated_at}
pub(crate) type Threads = BTreeMap<String, Value>;

/// What the webhook receiver (`crate::hooks`) holds.
#[derive(Default)]
pub(crate) struct Hooks {
    /// `{hook: name, body, user_agent}`, in arrival order
    pub(crate) received: Vec<Value>,
    /// how many of the next deliveries answer 500
    pub(crate) failures: u32,
    /// the next deliveries answer `307 Location: <to>` (`(to, times)`), as a
    /// moved or hostile endpoint would
    pub(crate) redirect: Option<(String, u32)>,
    /// Gitea: hooks to a chat service listed before the one to the receiver
    /// (`/_admin/gitea/hooks`)
    pub(crate) others: usize,
    /// Gitea: the hook to the receiver is the organisation's, not the
    /// repository's
    pub(crate) at_org: bool,
}

pub(super) struct Issue {
    pub(super) id: i64,
    pub(super) number: u64,
    pub(super) title: String,
    pub(super) body: String,
    pub(super) state: String,
    /// label ids, in the order they were added
    pub(super) labels: Vec<i64>,
    pub(super) pull: bool,
    pub(super) author: String,
    /// issue numbers in the same repo this one depends on
    pub(super) deps: Vec<u64>,
    /// its dependencies made through Gitea's (`/_admin/gitea/depend`): while
    /// one is open, Gitea closes the issue neither by a request (412) nor by
    /// a merged PR's closing keyword (`ErrDependenciesLeft`)
    pub(crate) gitea_deps: bool,
    /// of `deps`, those Gitea hides from afk's account (a blocker in a
    /// repository it may not read, afk without write here): each answered
    /// as Gitea's `HIDDEN` stand-in
    pub(crate) hidden_deps: Vec<u64>,
    pub(super) timeline: Vec<LabelEvent>,
    /// the ids of timeline entries afk's account may not see: references
    /// from a repository it cannot read, which Gitea drops from a page after
    /// paging (`isXRefCommentAccessible`)
    pub(super) hidden: Vec<i64>,
    /// the ids of timeline entries Gitea cannot convert (`ToTimelineComment`
    /// returns nil: a comment whose milestone, label or poster no longer
    /// loads): each a `null` element of its page
    pub(super) broken: Vec<i64>,
    /// when the issue last changed (a label, a rename, a body edit), as a
    /// forge's `updated_at` moves; `None`: never since it was seeded
    pub(super) updated_at: Option<String>,
    /// title changes, oldest first
    pub(super) renames: Vec<Rename>,
    /// for a pull request: its head branch
    pub(super) head: Option<String>,
    /// for a pull request from a fork: the fork's full name
    pub(super) head_repo: Option<String>,
    pub(super) base: String,
    pub(super) merged: bool,
    pub(super) merge_sha: Option<String>,
    /// a GitHub pull request opened with `draft: true`
    pub(super) draft: bool,
    /// for a merged pull request whose head branch was deleted on merge:
    /// the head's last commit (Gitea keeps it as `refs/pull/{n}/head`)
    pub(super) head_gone: Option<String>,
    /// when it was opened, last closed and merged: the wall clock of that
    /// moment, as a forge dates them (`afk report`'s time to merge and its
    /// line survival are read from these)
    pub(super) created_at: String,
    pub(super) closed_at: Option<String>,
    pub(super) merged_at: Option<String>,
}

/// A change of an issue's title, as its timeline shows it.
pub(super) struct Rename {
    pub(super) id: i64,
    pub(super) by: String,
    pub(super) from: String,
    pub(super) to: String,
    /// when (`Forge::stamp`)
    pub(super) at: String,
}

/// A label added to or removed from an issue, as its timeline shows it.
pub(super) struct LabelEvent {
    pub(super) id: i64,
    pub(super) label: i64,
    pub(super) name: String,
    pub(super) by: String,
    pub(super) added: bool,
    /// when (`Forge::stamp`)
    pub(super) at: String,
}

pub(super) struct Repo {
    pub(super) id: i64,
    pub(super) full_name: String,
    /// (id, name), in creation order
    pub(super) labels: Vec<(i64, String)>,
    /// which of `labels` are its owner's organisation labels (Gitea: an
    /// issue may carry them; the repository's list and its `labels=`
    /// filter never show them)
    pub(super) org_labels: std::collections::BTreeSet<i64>,
    pub(super) issues: BTreeMap<u64, Issue>,
    /// login -> permission ("read", "write", "admin")
    pub(super) collaborators: BTreeMap<String, String>,
    pub(super) deps_enabled: bool,
    /// false: draft pull requests are refused (GitHub: a private repository
    /// of a Free or Pro plan)
    pub(crate) drafts: bool,
    pub(super) permission_lookup: bool,
    pub(super) renamed_to: Option<String>,
    /// the forge says so (`private`; GitHub's `visibility` too); a seed's
    /// `"private": false` makes a public repository
    pub(super) private: bool,
}

pub(super) struct Comment {
    pub(super) id: i64,
    pub(super) repo: String,
    pub(super) issue: u64,
    pub(super) body: String,
    pub(super) user: String,
    /// when it was posted (`Forge::stamp`)
    pub(super) created_at: String,
    /// when its body was last edited (PATCH); None: never
    pub(super) updated_at: Option<String>,
}

/// A commit status as a CI reported it.
pub(super) struct Status {
    pub(super) id: i64,
    pub(super) state: String,
    pub(super) context: String,
    pub(super) target_url: String,
    pub(super) description: String,
    pub(super) creator: String,
    /// when it was set (`Forge::stamp`)
    pub(super) updated_at: String,
}

/// The states a commit status can be in (Gitea's set: `skipped` is its Actions').
const STATES: &str = "pending success error failure warning skipped";

/// Everything the sandbox holds: the forge model, and the test machinery's
/// state beside it (request log, faults, webhooks received, agent threads).
pub struct Forge {
    pub(super) token: String,
    /// the agent-thread service's bearer token (drawn per sandbox, or a seed's)
    pub(super) agent_token: String,
    /// a credential that may only push over git (never the API): what an
    /// upgrade fixer, which does its own git, is handed in the demo, so no
    /// agent holds afk's forge token
    pub(super) push_token: String,
    pub(super) me: String,
    /// the sandbox's URL, for the links in answers
    pub(super) base: String,
    next_id: i64,
    pub(super) repos: BTreeMap<String, Repo>,
    pub(super) comments: BTreeMap<i64, Comment>,
    /// commit statuses by (repo, sha), oldest first
    pub(super) statuses: BTreeMap<(String, String), Vec<Status>>,
    /// where the bare git repositories live: `<dir>/<owner>/<repo>.git`
    /// (and the CI's runs, `<dir>/.ci-runs/<id>`, while they run)
    pub(super) dir: PathBuf,
    /// every forge and agent-service request received: {method, path, query, body}
    pub(super) log: Vec<Value>,
    /// git's smart-HTTP requests, `{method, repo, service}` (`/_admin/git`):
    /// kept apart from the API's log, whose counts tests pin
    pub(super) git_log: Vec<Value>,
    /// the scripted model's steps per (repo, issue) (`model_api`)
    pub(super) scripts: std::collections::HashMap<(String, u64), Vec<super::model_api::Step>>,
    /// a script per turn (the first turn's first), for an issue whose seed gives `turns`
    pub(super) turn_scripts:
        std::collections::HashMap<(String, u64), Vec<Vec<super::model_api::Step>>>,
    /// the key the scripted model requires (a seed's `model_key`; none: it checks none)
    pub(super) model_key: Option<String>,
    /// how many times each scripted step with `times` was asked (`model_api`)
    pub(super) model_asked: std::collections::HashMap<String, u32>,
    /// the scripted model's requests, the newest [`MODEL_LOG_MAX`] (`/_admin/model/requests`)
    pub(super) model_log: std::collections::VecDeque<Value>,
    pub(super) faults: Faults,
    pub(super) hooks: Hooks,
    pub(super) threads: Threads,
    /// the OCI registry served at `/v2/` (`super::registry`)
    pub(super) registry: registry::Registry,
    /// a CI that answers test comments (`super::ci`)
    pub(super) ci: ci::Ci,
    /// the last time `stamp` handed out, in milliseconds since the epoch
    last_stamp: i64,
    /// what GitHub shows beyond the shared model (check runs, rate limit, ...)
    pub(super) gh: GithubSide,
    /// when set, every git request is answered with a redirect to this base
    /// URL (a hostile or compromised forge sending git to another host)
    pub(super) git_redirect: Option<String>,
    /// the Kubernetes API served at `/k8s` (`super::kube`)
    pub(super) kube: super::kube::Cluster,
    /// the Jira Cloud site beside the forge (`/rest/api/3`)
    pub(super) jira: jira::Jira,
    /// the Linear workspace beside the forge (`/linear/graphql`)
    pub(super) linear: linear::Linear,
    /// reviews, reactions, mergeability and branch updates (`super::reviews`)
    pub(super) talk: talk::Talk,
    /// the longest comment body taken, in characters: GitHub's 65,536 unless
    /// a test sets a stricter forge (`/_admin/comment_max`)
    pub(super) comment_max: usize,
    /// Gitea's `[api] MAX_RESPONSE_ITEMS` (default 50): the most items of
    /// one page, whatever `limit` asks (`services/convert/utils.go`,
    /// `/_admin/max_response_items`)
    pub(crate) max_response_items: usize,
    /// GitLab's ways beside the shared model (`gitlab::GitlabSide`)
    pub(super) gl: gitlab::GitlabSide,
    /// the webhooks the forge sends (`outbox`; `webhooks.rs` sends them)
    pub(super) outbox: outbox::Outbox,
    /// the OTLP/HTTP trace receiver's requests and fault (`super::otlp`)
    pub(crate) otlp: otlp::Receiver,
    /// Azure DevOps's ways beside the shared model (`azure::AzureSide`)
    pub(super) az: azure::AzureSide,
}

/// How many of the scripted model's requests its log keeps (the newest).
pub const MODEL_LOG_MAX: usize = 1000;

/// GitHub's limit on a comment's body, in characters (Unicode scalar values):
/// "Body is too long (maximum is 65536 characters)".
pub const COMMENT_MAX: usize = 65_536;

/// Azure DevOps' limit on a comment, in characters: the contract's PR
/// thread comment POST and PATCH ("Comments can be up to 150,000
/// characters."); the sandbox holds a work item's comments to it too.
pub const AZURE_COMMENT_MAX: usize = 150_000;

impl Forge {
    /// Speak Azure DevOps' model: its comments up to [`AZURE_COMMENT_MAX`].
    /// Before anything is seeded.
    pub fn azure_devops(&mut self) {
        self.az.on = true;
        self.comment_max = AZURE_COMMENT_MAX;
    }

    /// Why a comment body is refused (too long for this forge), if it is.
    pub(super) fn comment_refused(&self, body: &str) -> Option<String> {
        (body.chars().count() > self.comment_max).then(|| {
            format!(
                "Body is too long (maximum is {} characters)",
                self.comment_max
            )
        })
    }

    pub(super) fn new(base: String, dir: PathBuf) -> Forge {
        let dir_k8s = dir.clone();
        let token = super::draw_token("forge");
        Forge {
            kube: super::kube::Cluster::new(dir_k8s, &token),
            jira: jira::Jira::new(super::draw_token("jira"), super::draw_token("jira-oauth")),
            linear: linear::Linear::new(
                super::draw_token("linear"),
                super::draw_token("linear-oauth"),
            ),
            agent_token: super::draw_token("agent"),
            push_token: super::draw_token("push"),
            token,
            me: "afk-bot".into(),
            base,
            next_id: 1,
            repos: BTreeMap::new(),
            comments: BTreeMap::new(),
            statuses: BTreeMap::new(),
            dir,
            log: vec![],
            git_log: vec![],
            scripts: Default::default(),
            turn_scripts: Default::default(),
            model_key: None,
            model_asked: Default::default(),
            model_log: Default::default(),
            faults: Faults::default(),
            hooks: Hooks::default(),
            threads: Threads::new(),
            registry: Default::default(),
            ci: Default::default(),
            last_stamp: 0,
            comment_max: COMMENT_MAX,
            max_response_items: 50,
            gh: GithubSide::default(),
            git_redirect: None,
            talk: Default::default(),
            gl: Default::default(),
            outbox: Default::default(),
            otlp: Default::default(),
            az: Default::default(),
        }
    }

    /// The exit code of a Job of the sandbox's cluster, once its process ended.
    pub fn k8s_job_exit(&mut self, job: &str) -> Option<i32> {
        self.kube.job_exit(job)
    }

    /// The bodies of the comments that start with `prefix`, oldest first
    /// (the demo shows afk's own by their marker); then afk's own on the
    /// Azure DevOps side, which the shared model does not hold (its pull
    /// requests' thread comments, its work-item comments).
    pub fn comments_starting(&self, prefix: &str) -> Vec<String> {
        let me = self.az.by_name(&self.me).map(|i| i.id.clone());
        let mine = |by: &str| me.as_deref().is_some_and(|m| m.eq_ignore_ascii_case(by));
        let threads = (self.az.threads.values())
            .flat_map(|t| t.comments.iter())
            .filter(|c| mine(c.by.as_str()))
            .map(|c| c.content.clone());
        let items = (self.az.comments.values())
            .filter(|c| mine(c.by.as_str()))
            .map(|c| c.text.clone());
        (self.comments.values().map(|c| c.body.clone()))
            .chain(threads)
            .chain(items)
            .filter(|b| b.starts_with(prefix))
            .collect()
    }

    /// The repositories it serves, `owner/name`, sorted.
    pub fn repo_names(&self) -> Vec<String> {
        self.repos.keys().cloned().collect()
    }

    pub fn git_dir(&self, repo: &str) -> PathBuf {
        self.dir.join(format!("{repo}.git"))
    }

    /// The last id handed out: anything with a greater one is newer.
    pub(super) fn last_id(&self) -> i64 {
        self.next_id
    }

    /// A fresh id; issues, labels, comments, events and statuses share one sequence.
    pub(super) fn id(&mut self) -> i64 {
        self.next_id += 1;
        self.next_id
    }

    /// The commit a pull request's head branch points at ("" if none).
    pub(super) fn head_sha(&self, repo: &str, i: &Issue) -> String {
        if let Some(sha) = &i.head_gone {
            return sha.clone();
        }
        i.head
            .as_deref()
            .and_then(|h| git::head(&self.git_dir(repo), h))
            .unwrap_or_default()
    }

    /// Add or remove a label as `by`, with its timeline event.
    /// A person renames an issue: the title changes and the timeline says so.
    pub(super) fn rename(
        &mut self,
        repo: &str,
        number: u64,
        title: &str,
        by: &str,
    ) -> Result<(), String> {
        let ev = self.id();
        let at = self.stamp();
        let r = self.repos.get_mut(repo).ok_or(format!("no repo {repo}"))?;
        let issue = r
            .issues
            .get_mut(&number)
            .ok_or(format!("no issue {repo}#{number}"))?;
        let from = std::mem::replace(&mut issue.title, title.to_string());
        let note = format!("changed title from **{from}** to **{title}**");
        issue.renames.push(Rename {
            id: ev,
            by: by.to_string(),
            from,
            to: title.to_string(),
            at: at.clone(),
        });
        issue.updated_at = Some(at);
        self.system_note(repo, number, &note, by);
        Ok(())
    }

    /// The author edits the body: no timeline event, only `updated_at` moves.
    /// The edit is stamped a minute after anything before it, as a person
    /// editing later would be (afk allows a forge two seconds between a label
    /// and the `updated_at` it causes).
    pub(super) fn edit_body(&mut self, repo: &str, number: u64, body: &str) -> Result<(), String> {
        let at = self.stamp_after(60);
        let r = self.repos.get_mut(repo).ok_or(format!("no repo {repo}"))?;
        let issue = r
            .issues
            .get_mut(&number)
            .ok_or(format!("no issue {repo}#{number}"))?;
        let note = Forge::description_note(&issue.body, body);
        issue.body = body.to_string();
        issue.updated_at = Some(at);
        let author = issue.author.clone();
        self.system_note(repo, number, &note, &author);
        Ok(())
    }

    /// Merge a PR like a person would: a merge commit, the PR closed and merged,
    /// and every issue its body closes (`Closes #N`) closed.
    pub fn merge(&mut self, repo: &str, number: u64) -> Result<String, String> {
        self.merge_by(repo, number, None, false)
    }

    /// Merge pull request `pr` as a person names it (a GitLab merge
    /// request's own iid, numbered apart from issues), like [`Forge::merge`].
    pub fn merge_pr(&mut self, repo: &str, pr: u64) -> Result<String, String> {
        self.merge_by(repo, self.pr_key(pr), None, false)
    }

    /// [`Forge::merge`] by account `by`: the merge commit is theirs (or the
    /// sandbox's own, no account's, when `None`).
    pub fn merge_by(
        &mut self,
        repo: &str,
        number: u64,
        by: Option<&str>,
        delete_branch: bool,
    ) -> Result<String, String> {
        let gd = self.git_dir(repo);
        let az = self.az.pr_of(repo, number); // Azure DevOps: "Merged PR <id>: <title>"
        let r = self.repos.get_mut(repo).ok_or("no such repo")?;
        let pr = r
            .issues
            .get_mut(&number)
            .filter(|i| i.pull)
            .ok_or("no such pull request")?;
        if pr.merged || pr.state != "open" {
            return Err("the pull request is not open".into());
        }
        let head = pr
            .head
            .clone()
            .ok_or("the pull request has no head branch")?;
        let message = if number > gitlab::MR_KEYS {
            format!(
                "Merge branch '{head}' into '{}'\n\nSee merge request {repo}!{}",
                pr.base,
                Forge::shown(number)
            )
        } else if let Some(id) = az {
            format!("Merged PR {id}: {}", pr.title)
        } else {
            format!("Merge pull request #{number}")
        };
        let sha = git::merge(&gd, &pr.base, &head, &message, by)?;
        if delete_branch {
            // as a forge's "delete the branch after merge": its last
            // commit stays reachable from the PR's own ref
            let was = git::head(&gd, &head).ok_or("the head branch is gone")?;
            git::git(
                &gd,
                &["update-ref", &format!("refs/pull/{number}/head"), &was],
                None,
            )?;
            git::git(
                &gd,
                &["update-ref", "-d", &format!("refs/heads/{head}")],
                None,
            )?;
            pr.head_gone = Some(was);
        }
        pr.merged = true;
        pr.merged_at = Some(wall());
        pr.set_state("closed");
        pr.merge_sha = Some(sha.clone());
        let body = pr.body.clone();
        let open: Vec<u64> = r
            .issues
            .values()
            .filter(|i| i.state == "open")
            .map(|i| i.number)
            .collect();
        for i in r
            .issues
            .values_mut()
            .filter(|i| !i.pull && i.state == "open")
        {
            // Gitea leaves an issue with open dependencies open
            let held = i.gitea_deps && i.deps.iter().any(|d| open.contains(d));
            if closes(&body, i.number) && !held {
                i.set_state("closed");
            }
        }
        Ok(sha)
    }

    /// Record a commit status on `sha` (the repo need not be seeded, like a
    /// forge that accepts statuses for any commit it will later see).
    pub(super) fn push_status(
        &mut self,
        repo: &str,
        sha: &str,
        mut status: Status,
    ) -> Result<(), String> {
        if !STATES.split(' ').any(|s| s == status.state) {
            return Err(format!("invalid state \"{}\"", status.state));
        }
        status.id = self.id();
        status.updated_at = self.stamp();
        self.webhook(outbox::Event::Status {
            repo: repo.to_string(),
            sha: sha.to_string(),
            state: status.state.clone(),
            context: status.context.clone(),
        });
        self.statuses
            .entry((repo.to_string(), sha.to_string()))
            .or_default()
            .push(status);
        Ok(())
    }

    /// Every status on `sha`, oldest first.
    pub(super) fn statuses(&self, repo: &str, sha: &str) -> &[Status] {
        self.statuses
            .get(&(repo.to_string(), sha.to_string()))
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// The latest status per context on `sha`, in the order the contexts last reported.
    pub(super) fn latest_statuses(&self, repo: &str, sha: &str) -> Vec<&Status> {
        let mut latest: Vec<&Status> = vec![];
        for st in self.statuses(repo, sha).iter().rev() {
            if !latest.iter().any(|l| l.context == st.context) {
                latest.push(st);
            }
        }
        latest.reverse();
        latest
    }
}

// ---- what only the GitHub dialect shows ------------------------------------------

/// A check run as a CI app reported it (GitHub's Checks API).
pub(super) struct CheckRun {
    pub(super) id: i64,
    pub(super) name: String,
    /// queued | in_progress | completed | waiting | requested | pending
    pub(super) status: String,
    /// set once completed: success | failure | neutral | cancelled | skipped | timed_out | action_required | stale
    pub(super) conclusion: Option<String>,
    pub(super) html_url: String,
    pub(super) details_url: String,
}

/// GitHub's primary rate limit for afk's token, as the sandbox counts it:
/// every API answer but a 304 (and `GET /rate_limit`) uses one.
pub(super) struct RateLimit {
    pub(super) limit: u64,
    pub(super) remaining: u64,
    /// epoch seconds
    pub(super) reset: u64,
    pub(super) used: u64,
    /// what a spent limit answers: 403 (GitHub's usual) or 429
    pub(super) status: u16,
}

/// The state beside the shared model that only GitHub's API shows.
pub(super) struct GithubSide {
    /// check runs by (repo, sha), oldest first
    pub(super) check_runs: BTreeMap<(String, String), Vec<CheckRun>>,
    /// why a closed issue was closed, when someone said (`state_reason`)
    pub(super) state_reasons: BTreeMap<(String, u64), String>,
    pub(super) rate: RateLimit,
    /// `x-oauth-scopes` for a classic token; None: a fine-grained token
    pub(super) scopes: Option<String>,
    /// the GitHub App seeded with `/_admin/app`, if any
    pub(super) app: Option<app::AppSide>,
}

impl Default for GithubSide {
    fn default() -> GithubSide {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        GithubSide {
            check_runs: BTreeMap::new(),
            state_reasons: BTreeMap::new(),
            rate: RateLimit {
                limit: 5000,
                remaining: 5000,
                reset: now + 3600,
                used: 0,
                status: 403,
            },
            scopes: None,
            app: None,
        }
    }
}

/// The states a check run's status and conclusion can be in.
const CHECK_STATUSES: &[&str] = &[
    "queued",
    "in_progress",
    "completed",
    "waiting",
    "requested",
    "pending",
];
const CHECK_CONCLUSIONS: &[&str] = &[
    "success",
    "failure",
    "neutral",
    "cancelled",
    "skipped",
    "timed_out",
    "action_required",
    "stale",
];

impl Forge {
    /// Record a check run on `sha`: `{name, status = completed, conclusion, html_url, details_url}`.
    pub(super) fn push_check_run(
        &mut self,
        repo: &str,
        sha: &str,
        body: &Value,
    ) -> Result<i64, String> {
        let text = |k: &str| body[k].as_str().map(str::to_string);
        let status = text("status").unwrap_or_else(|| "completed".into());
        if !CHECK_STATUSES.contains(&status.as_str()) {
            return Err(format!("invalid check run status \"{status}\""));
        }
        let conclusion = text("conclusion");
        match (&conclusion, status.as_str()) {
            (Some(c), "completed") if CHECK_CONCLUSIONS.contains(&c.as_str()) => {}
            (None, s) if s != "completed" => {}
            _ => return Err("a completed check run needs a valid conclusion; others none".into()),
        }
        let name = text("name").ok_or("name is required")?;
        let id = self.id();
        self.webhook(outbox::Event::CheckRun {
            repo: repo.to_string(),
            sha: sha.to_string(),
            name: name.clone(),
            conclusion: conclusion.clone(),
        });
        let html_url =
            text("html_url").unwrap_or_else(|| format!("{}/{repo}/runs/{id}", self.base));
        self.gh
            .check_runs
            .entry((repo.to_string(), sha.to_string()))
            .or_default()
            .push(CheckRun {
                id,
                name,
                status,
                conclusion,
                html_url,
                details_url: text("details_url").unwrap_or_default(),
            });
        Ok(id)
    }
}

/// The combined state of the latest statuses: any failure or error fails it,
/// anything not yet successful (or nothing at all) leaves it pending.
pub(super) fn combined_state(latest: &[&Status]) -> &'static str {
    let states: Vec<&str> = latest.iter().map(|s| s.state.as_str()).collect();
    if states.iter().any(|s| *s == "failure" || *s == "error") {
        "failure"
    } else if states.is_empty() || states.iter().any(|s| *s != "success") {
        "pending"
    } else {
        "success"
    }
}

/// The sandbox forge's own reading of closing keywords (its copy, not the
/// client's, so a bug in afk's rule shows up against it): `close(s|d)`,
/// `fix(es|ed)`, `resolve(s|d)`, any case, an optional `:`, then `#N` with no
/// digit after it; text in HTML comments and invisible characters do not count.
fn closes(body: &str, number: u64) -> bool {
    let mut text = String::new();
    let mut rest = body;
    while let Some(i) = rest.find("<!--") {
        text.push_str(&rest[..i]);
        rest = rest[i..].find("-->").map_or("", |j| &rest[i + j + 3..]);
    }
    text.push_str(rest);
    let text: String = text
        .chars()
        .filter(|c| !matches!(c, '\u{200b}'..='\u{200f}' | '\u{2060}'..='\u{2064}' | '\u{feff}' | '\u{ad}'))
        .collect::<String>()
        .to_lowercase();
    let words = [
        "close", "closes", "closed", "fix", "fixes", "fixed", "resolve", "resolves", "resolved",
    ];
    let tokens: Vec<&str> = text.split_whitespace().collect();
    let target = format!("#{number}");
    let is_ref = |t: &str| {
        t.strip_prefix(&target)
            .is_some_and(|after| !after.starts_with(|c: char| c.is_ascii_digit()))
    };
    tokens.iter().enumerate().any(|(k, t)| {
        // "fixes #7", "fixes: #7", "fixes:#7"
        let (word, inline) = match t.split_once(':') {
            Some((w, r)) if !r.is_empty() => (w, Some(r)),
            _ => (t.trim_end_matches(':'), None),
        };
        let word = word.trim_start_matches(|c: char| !c.is_ascii_alphanumeric());
        words.contains(&word)
            && match inline {
                Some(r) => is_ref(r),
                None => tokens.get(k + 1).is_some_and(|n| is_ref(n)),
            }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merging_closes_the_issues_a_visible_closing_keyword_names() {
        let cases = [
            ("This Closes #7.", true),
            ("fixes: #7", true),
            ("fixes:#7", true),
            ("Resolves #7", true),
            ("(resolved #7)", true),
            ("Closes #70", false),
            ("see #7", false),
            ("prefixes #7", false),
            ("<!-- closes #7 -->", false),
            // an invisible character hides nothing: a person sees "closes"
            ("clo\u{200b}ses #7", true),
            ("", false),
        ];
        for (body, want) in cases {
            assert_eq!(super::closes(body, 7), want, "{body:?}");
        }
    }

    fn st(context: &str, state: &str) -> Status {
        Status {
            id: 0,
            state: state.into(),
            context: context.into(),
            target_url: String::new(),
            description: String::new(),
            creator: String::new(),
            updated_at: String::new(),
        }
    }

    #[test]
    fn any_failure_fails_the_combined_status_and_anything_unfinished_leaves_it_pending() {
        let cases: [(&[(&str, &str)], &str); 6] = [
            (&[], "pending"),
            (&[("a", "success")], "success"),
            (&[("a", "success"), ("b", "pending")], "pending"),
            (&[("a", "success"), ("b", "warning")], "pending"),
            (&[("a", "pending"), ("b", "error")], "failure"),
            (&[("a", "success"), ("b", "failure")], "failure"),
        ];
        for (statuses, expected) in cases {
            let owned: Vec<Status> = statuses.iter().map(|(c, s)| st(c, s)).collect();
            let latest: Vec<&Status> = owned.iter().collect();
            assert_eq!(combined_state(&latest), expected, "case {statuses:?}");
        }
    }
}
