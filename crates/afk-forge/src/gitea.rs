//! Gitea / Forgejo API v1 endpoints afk uses, with the shapes of
//! `contracts/gitea-v1-subset.json` (only the fields afk reads).

use super::http::{Failure, ForgeError, Http, enc, repo_path as rp};
pub use super::model::*;
use super::rest::{NewPull, Rest};
use super::{ForgeReads, ForgeWrites};
use crate::types::{IssueNumber, Permission, PrNumber, RepoName};
use anyhow::Result;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// Gitea's timeline entry (`TimelineComment`), only the fields afk reads.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct WireTimelineEvent {
    pub id: i64,
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub label: Option<Label>,
    #[serde(default)]
    pub user: Option<User>,
    #[serde(default)]
    pub created_at: Option<String>,
}

impl WireTimelineEvent {
    /// Gitea marks an added label with body "1" and a removed one with "";
    /// a title change is `change_title`.
    pub fn into_event(self) -> TimelineEvent {
        let kind = match self.kind.as_str() {
            "label" if self.body.as_deref() == Some("1") => EventKind::LabelAdded,
            "label" => EventKind::LabelRemoved,
            "change_title" => EventKind::Renamed,
            _ => EventKind::Other,
        };
        TimelineEvent {
            id: self.id,
            kind,
            label: self.label.map(|l| l.name),
            actor: self.user.map(|u| u.login).unwrap_or_default(),
            created_at: self.created_at,
        }
    }
}

pub struct Gitea {
    pub rest: Rest,
    /// an owner's organisation labels, read at most once per tick (none
    /// for a user: Gitea answers 404)
    org_labels: std::sync::Mutex<std::collections::BTreeMap<String, Vec<Label>>>,
}

/// The work-in-progress title prefixes Gitea ships (`[repository.pull-request]
/// WORK_IN_PROGRESS_PREFIXES`: `WIP:`, `[WIP]`; some releases add `Draft:`
/// and `(Draft)`), upper-cased as Gitea compares them.
const WIP_PREFIXES: [&str; 4] = ["WIP:", "[WIP]", "DRAFT:", "(DRAFT)"];

/// Whether Gitea counts `title` as a work-in-progress PR's: a prefix of
/// [`WIP_PREFIXES`] at its start, compared upper-cased
/// (`HasWorkInProgressPrefix` in Gitea's `models/issues/pull.go`).
fn is_work_in_progress(title: &str) -> bool {
    let upper = title.to_uppercase();
    WIP_PREFIXES.iter().any(|p| upper.starts_with(p))
}

/// Gitea's `mergeable` as afk reads it: Gitea's `Mergeable()` is `false`
/// for every work-in-progress PR, so on one that `false` says nothing of a
/// conflict and is read as not known (`None`, asked again later), never as
/// a conflict (docs/fidelity/gitea.md). Work in progress is the PR's
/// `draft` where Gitea sends it (by the instance's own prefixes), else its
/// title by the prefixes Gitea ships.
fn read_mergeable(mut p: PullRequest) -> PullRequest {
    let wip = p.draft.unwrap_or_else(|| is_work_in_progress(&p.title));
    if p.mergeable == Some(false) && wip {
        p.mergeable = None;
    }
    read_gone_head(p)
}

/// A PR whose head branch is gone (deleted on merge, the usual setting) as
/// Gitea answers it: `head.ref` is `refs/pull/{n}/head`, `head.repo` is
/// `null`, and `head.label` still names the branch (`ToAPIPullRequest` sets
/// the branch's own only where it exists). Read as that branch in no known
/// repository, so only the run that recorded this PR's number takes it
/// (`afk_core::ci::belongs`), never a fork's branch of the same name.
fn read_gone_head(mut p: PullRequest) -> PullRequest {
    let gone = p.head.name.starts_with("refs/pull/") && p.head.name.ends_with("/head");
    if gone && let Some(label) = p.head.label.clone().filter(|l| !l.is_empty()) {
        p.head.name = label;
        p.head.repo = None;
    }
    p
}

impl Gitea {
    pub fn new(http: Http) -> Gitea {
        Gitea {
            rest: Rest::new(http),
            org_labels: Default::default(),
        }
    }

    /// The labels of `repo`'s owner when it is an organisation (`GET
    /// /orgs/{org}/labels`, every page; a user's 404 is none): an issue may
    /// carry them beside the repository's own, and the repository's list
    /// never shows them (docs/fidelity/gitea.md).
    fn org_labels(&self, repo: &RepoName) -> Result<Vec<Label>> {
        let owner = repo.owner().to_string();
        if let Some(l) = self.org_labels.lock().unwrap().get(&owner) {
            return Ok(l.clone());
        }
        let l: Vec<Label> = match self
            .rest
            .http
            .get_all(&format!("/orgs/{}/labels", enc(&owner)))
        {
            Ok(l) => l,
            Err(e) if ForgeError::kind_of(&e) == Some(Failure::NotFound) => vec![],
            Err(e) => return Err(e),
        };
        self.org_labels.lock().unwrap().insert(owner, l.clone());
        Ok(l)
    }

    fn label_id(&self, repo: &RepoName, name: &str) -> Result<i64> {
        self.repo_labels(repo)?
            .into_iter()
            .find(|l| l.name == name)
            .map(|l| l.id)
            .ok_or_else(|| {
                anyhow::Error::new(crate::NoSuchLabel {
                    repo: repo.to_string(),
                    name: name.to_string(),
                    note: "",
                })
            })
    }
}

impl ForgeReads for Gitea {
    fn requests(&self) -> usize {
        self.rest.http.requests()
    }

    /// afk's account. A scoped token (Gitea 1.19 and later) without
    /// `read:user` is refused this with a 403, which is said with the scope
    /// it lacks: every watch needs it (docs/fidelity/gitea.md).
    fn me(&self) -> Result<User> {
        self.rest.me().map_err(|e| {
            if ForgeError::kind_of(&e) == Some(Failure::Forbidden) {
                e.context(
                    "the token may not read its own account: a scoped token needs \
                     the read:user scope (make one with read:user, or all)",
                )
            } else {
                e
            }
        })
    }

    /// Open issues (never pull requests) carrying `label`, every page. The label is
    /// re-checked here: Gitea drops an unknown label name from the filter.
    /// Gitea's `labels=` filter resolves the repository's labels only (a
    /// name that is none is dropped: every open issue comes back). Where the
    /// owner has an organisation label of that name beside the repository's,
    /// an issue carrying the organisation's is missed by the filter, so the
    /// open issues are listed again unfiltered; only then.
    fn issues_with_label(&self, repo: &RepoName, label: &str) -> Result<Vec<Issue>> {
        let listed = self.rest.issues_labelled(repo, label, "&type=issues")?;
        if !self.org_labels(repo)?.iter().any(|l| l.name == label)
            || !self.rest.repo_labels(repo)?.iter().any(|l| l.name == label)
        {
            return Ok(listed);
        }
        let all: Vec<Issue> = self.rest.http.get_all(&format!(
            "/repos/{}/issues?state=open&type=issues",
            rp(repo)
        ))?;
        Ok(super::model::open_issues_with(all, label))
    }

    fn issue(&self, repo: &RepoName, number: IssueNumber) -> Result<Issue> {
        self.rest.issue(repo, number)
    }

    /// Gitea puts a `null` element where it cannot convert an entry
    /// (`ToTimelineComment` returns nil: a comment whose milestone, label
    /// or poster no longer loads): skipped, never a failed read of the
    /// issue. An arming it hides is no arming (docs/fidelity/gitea.md).
    fn timeline(&self, repo: &RepoName, number: IssueNumber) -> Result<Vec<TimelineEvent>> {
        let wire: Vec<Option<WireTimelineEvent>> = self.rest.timeline(repo, number)?;
        Ok(wire
            .into_iter()
            .flatten()
            .map(WireTimelineEvent::into_event)
            .collect())
    }

    fn is_public(&self, repo: &RepoName) -> Result<bool> {
        self.rest.is_public(repo)
    }

    /// The collaborator's permission, Gitea's word as it answered; not a
    /// user is `none`.
    /// Gitea answers `read` for any signed-in account on a public
    /// repository (`GetUserRepoPermission`): there, `read` is a
    /// collaborator's only when `GET …/collaborators/{login}` says so (204),
    /// else `none` (docs/fidelity/gitea.md).
    fn permission(&self, repo: &RepoName, login: &str) -> Result<Permission> {
        let p = self.rest.permission(repo, login)?;
        let level = Permission::from_forge(p.as_ref().map_or("none", |p| p.permission.as_str()));
        if level == Permission::from_forge("read")
            && self.rest.is_open(repo)?
            && !self.rest.is_collaborator(repo, login)?
        {
            return Ok(Permission::from_forge("none"));
        }
        Ok(level)
    }

    /// Issues this one depends on. A 404 means dependencies are off: none.
    fn dependencies(&self, repo: &RepoName, number: IssueNumber) -> Result<Vec<Issue>> {
        self.rest.all_or_none(
            &format!("/repos/{}/issues/{number}/dependencies", rp(repo)),
            &[Failure::NotFound],
        )
    }

    /// The hooks that post Gitea's own deliveries for `repo`: the
    /// repository's (every page: Gitea pages them by 30 with no `Link`), then
    /// its organisation's, which post for every repository of it and which
    /// the repository's list never shows (a user's name, or a token that is
    /// no owner of the organisation, reads none). A hook to a chat service
    /// (`slack`, `discord`, `matrix`, …) posts a message afk cannot read: not
    /// afk's (docs/fidelity/gitea.md).
    fn hooks(&self, repo: &RepoName) -> Result<Vec<crate::HookInfo>> {
        let mut all = self
            .rest
            .wire_hooks(&format!("/repos/{}/hooks", rp(repo)))?;
        all.extend(crate::none_if_refused(
            self.rest
                .wire_hooks(&format!("/orgs/{}/hooks", enc(repo.owner()))),
        )?);
        Ok(all
            .into_iter()
            .filter(|h| matches!(h.kind.as_str(), "" | "gitea" | "forgejo" | "gogs"))
            .map(crate::HookInfo::from)
            .collect())
    }

    /// The repository's labels, then its organisation's (an issue may
    /// carry either; the repository's is found first by name).
    fn repo_labels(&self, repo: &RepoName) -> Result<Vec<Label>> {
        let mut all = self.rest.repo_labels(repo)?;
        let org = self.org_labels(repo)?;
        let own: Vec<i64> = all.iter().map(|l| l.id).collect();
        all.extend(org.into_iter().filter(|o| !own.contains(&o.id)));
        Ok(all)
    }

    fn comments(&self, repo: &RepoName, on: Target) -> Result<Vec<Comment>> {
        // this endpoint has no paging parameters: one call returns them all
        self.rest.http.json(
            "GET",
            &format!("/repos/{}/issues/{on}/comments", rp(repo)),
            None,
        )
    }

    /// Open pull requests of a repo, every page. A `null` element (Gitea's
    /// where `ToAPIPullRequest` fails) is skipped: the run's recorded PR is
    /// then asked for by its number.
    fn open_pulls(&self, repo: &RepoName) -> Result<Vec<PullRequest>> {
        let all: Vec<Option<PullRequest>> = self
            .rest
            .http
            .get_all(&format!("/repos/{}/pulls?state=open", rp(repo)))?;
        Ok(all.into_iter().flatten().map(read_mergeable).collect())
    }

    /// The most recently updated closed (or merged) pull requests: one page.
    fn recent_closed_pulls(&self, repo: &RepoName) -> Result<Vec<PullRequest>> {
        let closed: Vec<PullRequest> = self.rest.http.json(
            "GET",
            &format!(
                "/repos/{}/pulls?state=closed&sort=recentupdate&page=1&limit=50",
                rp(repo)
            ),
            None,
        )?;
        Ok(closed.into_iter().map(read_gone_head).collect())
    }

    fn pull(&self, repo: &RepoName, number: PrNumber) -> Result<PullRequest> {
        self.rest.pull(repo, number).map(read_mergeable)
    }

    /// The combined status of a commit (its latest status per context).
    fn combined_status(&self, repo: &RepoName, sha: &str) -> Result<CombinedStatus> {
        self.rest.http.json(
            "GET",
            &format!("/repos/{}/commits/{}/status?limit=50", rp(repo), enc(sha)),
            None,
        )
    }

    /// Gitea's branch is afk's `BranchHead` as it answers it.
    fn branch(&self, repo: &RepoName, name: &str) -> Result<Option<BranchHead>> {
        self.rest.branch(repo, name)
    }

    fn commits(
        &self,
        repo: &RepoName,
        branch: &str,
        since: time::OffsetDateTime,
    ) -> Result<Vec<super::Commit>> {
        self.list_commits(repo, branch, since)
    }

    fn reactions(
        &self,
        repo: &RepoName,
        _on: Target,
        comment: i64,
    ) -> Result<Vec<(String, String)>> {
        self.rest.reactions(repo, comment)
    }

    /// Page by page (Gitea sends no `ETag` here).
    fn reviews(&self, repo: &RepoName, pr: PrNumber) -> Result<Vec<Review>> {
        self.rest.reviews(repo, pr)
    }

    /// `GET .../pulls/{n}/reviews/{id}/comments`: one call, no paging.
    fn line_comments(&self, repo: &RepoName, pr: PrNumber, review: i64) -> Result<LineComments> {
        let wire: Vec<super::reviews::WireLineComment> = self.rest.http.json(
            "GET",
            &format!("/repos/{}/pulls/{pr}/reviews/{review}/comments", rp(repo)),
            None,
        )?;
        Ok(super::reviews::keep_comments(
            super::reviews::without_resolved(wire),
            super::reviews::Lines::Gitea,
        ))
    }

    /// `GET /repos/{o}/{r}/git/commits/{sha}.diff`: the raw `git diff` against
    /// the first parent (what Gitea runs for it), split into files. The
    /// operation produces `text/plain` (its contract says so), so that is
    /// what is asked for.
    fn diff(&self, repo: &RepoName, sha: &str) -> Result<Vec<super::FileDiff>> {
        let r = self.rest.http.send_accepting(
            "GET",
            &format!("/repos/{}/git/commits/{}.diff", rp(repo), enc(sha)),
            None,
            "text/plain",
        )?;
        Ok(super::commits::split_diff(&r.body))
    }
}

impl ForgeWrites for Gitea {
    /// By the label's id; the answer (the issue's labels) must hold it:
    /// Gitea answers 200 to an id it ignored (`GetLabelsByIDs` drops one
    /// deleted since the tick read the list), which is no label added
    /// (docs/fidelity/gitea.md).
    fn add_label(&self, repo: &RepoName, number: IssueNumber, name: &str) -> Result<()> {
        let id = self.label_id(repo, name)?;
        let path = format!("/repos/{}/issues/{number}/labels", rp(repo));
        let now: Option<Vec<Label>> =
            self.rest
                .http
                .json("POST", &path, Some(&json!({ "labels": [id] })))?;
        if now.unwrap_or_default().iter().any(|l| l.id == id) {
            return Ok(());
        }
        // read the list again next time it is asked
        self.rest.forget_labels(repo);
        Err(anyhow::Error::new(crate::NoSuchLabel {
            repo: repo.to_string(),
            name: name.to_string(),
            note: " any more (Gitea answered without it)",
        }))
    }

    /// By the label's id: every label of that name, the repository's and
    /// its organisation's, since Gitea lets labels share a name
    /// (`CreateLabel` refuses none) and removes by id alone; a label not on
    /// the issue is Gitea's silent 204 (`deleteIssueLabel`), so almost
    /// always one request. A label the repository does not have is on no
    /// issue: nothing to do.
    fn remove_label(&self, repo: &RepoName, number: IssueNumber, name: &str) -> Result<()> {
        let ids: Vec<i64> = self
            .repo_labels(repo)?
            .into_iter()
            .filter(|l| l.name == name)
            .map(|l| l.id)
            .collect();
        for id in ids {
            // a label deleted since the tick read the list is Gitea's 422
            // "label does not exist": there is nothing left to remove
            match self.rest.remove_label(repo, number, &id.to_string()) {
                Err(e) if ForgeError::kind_of(&e) == Some(Failure::Unprocessable) => {}
                other => other?,
            }
        }
        Ok(())
    }

    /// Afterwards this tick reads the labels again (`label_id`).
    fn create_label(&self, repo: &RepoName, name: &str, color: &str) -> Result<()> {
        self.rest.create_label(repo, name, color)
    }

    /// Gitea refuses to close an issue whose dependencies are still open
    /// (`412`, `EditIssue`: `ErrDependenciesLeft`; docs/fidelity/gitea.md):
    /// that is [`crate::CloseRefused`], never an error to try again.
    fn close_issue(&self, repo: &RepoName, number: IssueNumber) -> Result<()> {
        match self.rest.close_issue(repo, number, json!({})) {
            Err(e) if ForgeError::kind_of(&e) == Some(Failure::Other(412)) => {
                Err(anyhow::Error::new(crate::CloseRefused {
                    issue: format!("forge: {repo}#{}", number.0),
                    why: "Gitea keeps an issue open while an issue it depends on is open".into(),
                }))
            }
            other => other,
        }
    }

    fn create_comment(&self, repo: &RepoName, on: Target, body: &str) -> Result<Comment> {
        self.rest.create_comment(repo, on, body)
    }

    fn edit_comment(&self, repo: &RepoName, _on: Target, id: i64, body: &str) -> Result<Comment> {
        self.rest.edit_comment(repo, id, body)
    }

    fn edit_issue_body(&self, repo: &RepoName, on: Target, body: &str) -> Result<()> {
        self.rest.edit_issue_body(repo, on, body)
    }

    fn create_pull(
        &self,
        repo: &RepoName,
        head: &str,
        base: &str,
        title: &str,
        body: &str,
    ) -> Result<PullRequest> {
        let pr = NewPull {
            head,
            base,
            title,
            body,
        };
        self.rest.create_pull(repo, pr, false)
    }

    fn close_pull(&self, repo: &RepoName, number: PrNumber) -> Result<()> {
        self.rest.close_pull(repo, number)
    }

    fn react(&self, repo: &RepoName, _on: Target, comment: i64, content: &str) -> Result<()> {
        self.rest.react(repo, comment, content)
    }

    /// `POST .../pulls/{n}/update?style=merge|rebase`: 200 done (also when
    /// there was nothing to do), 409 a conflict, 403 or 422 refused. Gitea
    /// takes no expected head.
    fn update_branch(
        &self,
        repo: &RepoName,
        pr: PrNumber,
        style: UpdateStyle,
        _expected_head_sha: &str,
        _under_way: Option<&str>,
    ) -> Result<BranchUpdate> {
        match self.rest.http.send(
            "POST",
            &format!(
                "/repos/{}/pulls/{pr}/update?style={}",
                rp(repo),
                style.as_str()
            ),
            None,
        ) {
            Ok(_) => Ok(BranchUpdate::Started),
            Err(e) => match ForgeError::kind_of(&e) {
                Some(Failure::Conflict) => Ok(BranchUpdate::Conflict),
                Some(Failure::Forbidden | Failure::Unprocessable) => {
                    Ok(BranchUpdate::Refused(super::reviews::words(&e)))
                }
                // Gitea answers a head with nothing new to take 500 ("HeadBranch
                // of PR N is up to date", blank in production:
                // `services/pull/update.go Update`); any 500 is looked up: a
                // PR whose merge base is its base's head is up to date
                Some(Failure::Other(500)) if self.up_to_date(repo, pr)? => {
                    Ok(BranchUpdate::UpToDate)
                }
                _ => Err(e),
            },
        }
    }
}

/// What `up_to_date` reads of a pull request: Gitea's `merge_base` and the
/// base branch's head.
#[derive(Deserialize)]
struct WireBases {
    #[serde(default)]
    merge_base: String,
    #[serde(default)]
    base: WireSha,
}

#[derive(Deserialize, Default)]
struct WireSha {
    #[serde(default)]
    sha: String,
}

impl Gitea {
    /// Whether PR `pr`'s head already holds its base's head (its
    /// `merge_base` is the base's head): an update has nothing to take.
    fn up_to_date(&self, repo: &RepoName, pr: PrNumber) -> Result<bool> {
        let p: WireBases =
            self.rest
                .http
                .json("GET", &format!("/repos/{}/pulls/{pr}", rp(repo)), None)?;
        Ok(!p.merge_base.is_empty() && p.merge_base == p.base.sha)
    }

    /// `GET /repos/{o}/{r}/commits?sha=<branch>` page by page, newest first,
    /// stopping at the first commit older than `since` (no diff stats, no
    /// signature checks: only sha, message and date are read).
    fn list_commits(
        &self,
        repo: &RepoName,
        branch: &str,
        since: time::OffsetDateTime,
    ) -> Result<Vec<super::Commit>> {
        const LIMIT: usize = 50;
        let mut out = vec![];
        for page in 1..=1000 {
            let wire: Vec<super::commits::WireCommit> = self.rest.http.json(
                "GET",
                &format!(
                    "/repos/{}/commits?sha={}&stat=false&verification=false&files=false&page={page}&limit={LIMIT}",
                    rp(repo),
                    enc(branch)
                ),
                None,
            )?;
            let n = wire.len();
            let page = wire.into_iter().map(|w| w.into_commit()).collect();
            if !super::commits::keep_until(page, since, &mut out) || n < LIMIT {
                break;
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_are_encoded() {
        assert_eq!(enc("ready for agent"), "ready%20for%20agent");
        assert_eq!(enc("a/b"), "a%2Fb");
        assert_eq!(rp("acme/api"), "acme/api");
        assert_eq!(rp("x/.."), "x/..");
        assert_eq!(rp("a b/c?d"), "a%20b/c%3Fd");
    }

    #[test]
    fn a_work_in_progress_prs_false_mergeable_is_not_known() {
        // (title, mergeable as Gitea answers it, as afk reads it)
        let table = [
            ("WIP: fix the parser", Some(false), None),
            ("wip: fix the parser", Some(false), None),
            ("[WIP] fix the parser", Some(false), None),
            ("Draft: fix the parser", Some(false), None),
            ("(draft) fix the parser", Some(false), None),
            ("fix the parser", Some(false), Some(false)),
            ("fix the WIP: parser", Some(false), Some(false)),
            ("WIP: fix the parser", Some(true), Some(true)),
            ("WIPE the cache", Some(false), Some(false)),
        ];
        for (title, answered, read) in table {
            let p = PullRequest {
                title: title.into(),
                mergeable: answered,
                ..PullRequest::default()
            };
            assert_eq!(read_mergeable(p).mergeable, read, "{title}");
        }
        // Gitea's own `draft` (its instance's prefixes) decides where sent
        let p = |title: &str, draft| PullRequest {
            title: title.into(),
            draft: Some(draft),
            mergeable: Some(false),
            ..PullRequest::default()
        };
        assert_eq!(read_mergeable(p("Draft: x", false)).mergeable, Some(false));
        assert_eq!(read_mergeable(p("[afk] x", true)).mergeable, None);
    }

    #[test]
    fn gitea_label_events_map_to_added_removed_and_renames() {
        let w = |kind: &str, body: &str| WireTimelineEvent {
            id: 1,
            kind: kind.into(),
            body: Some(body.into()),
            label: Some(Label {
                id: 1,
                name: "ready".into(),
            }),
            user: Some(User {
                id: 0,
                login: "alice".into(),
            }),
            created_at: None,
        };
        let cases = [
            (w("label", "1"), EventKind::LabelAdded),
            (w("label", ""), EventKind::LabelRemoved),
            (w("change_title", ""), EventKind::Renamed),
            (w("comment", ""), EventKind::Other),
        ];
        for (wire, want) in cases {
            let k = wire.kind.clone();
            let e = wire.into_event();
            assert_eq!(e.kind, want, "{k}");
            assert_eq!(e.actor, "alice");
        }
    }
}
