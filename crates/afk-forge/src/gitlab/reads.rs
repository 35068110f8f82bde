//! What afk reads from GitLab ([`ForgeReads`]): the calls, each in GitLab's
//! own words; the wire shapes they read are the parent module's.

use super::*;

impl ForgeReads for Gitlab {
    fn requests(&self) -> usize {
        self.http.requests()
    }

    fn token_info(&self) -> Option<Result<crate::TokenInfo>> {
        Some(self.read_token_info())
    }

    fn branch_rules(&self, repo: &RepoName) -> Option<Result<crate::BranchRules>> {
        Some(self.read_branch_rules(repo))
    }

    /// `GET /user`: a person's account, or an access token's bot user.
    fn me(&self) -> Result<User> {
        if let Some(me) = &self.kept.lock().unwrap().me {
            return Ok(me.clone());
        }
        let u: WireUser = self.http.json("GET", "/user", None)?;
        if u.username.is_empty() {
            anyhow::bail!("forge: GET /user: GitLab's answer names no username");
        }
        let me = u.user();
        self.kept.lock().unwrap().me = Some(me.clone());
        Ok(me)
    }

    /// Git over HTTPS: user `oauth2`, the token as the password.
    fn git_credentials(&self) -> Option<Result<(String, String)>> {
        Some(self.http.token().map(|t| ("oauth2".to_string(), t)))
    }

    fn is_public(&self, repo: &RepoName) -> Result<bool> {
        let p: serde_json::Value = self.http.json("GET", &project(repo), None)?;
        Ok(p["visibility"].as_str() == Some("public"))
    }

    /// `GET /projects/:id/issues?state=opened&labels=…`, every page; the
    /// label re-checked on each (merge requests are never in that list).
    fn issues_with_label(&self, repo: &RepoName, label: &str) -> Result<Vec<Issue>> {
        let all: Vec<WireIssue> = self.http.get_all(&format!(
            "{}/issues?state=opened&labels={}",
            project(repo),
            enc(label)
        ))?;
        Ok(crate::model::open_issues_with(
            all.into_iter().map(WireIssue::into_issue).collect(),
            label,
        ))
    }

    fn issue(&self, repo: &RepoName, number: IssueNumber) -> Result<Issue> {
        let i: WireIssue =
            self.http
                .json("GET", &format!("{}/issues/{number}", project(repo)), None)?;
        Ok(i.into_issue())
    }

    /// The issue's label events (who armed it), its state events and its
    /// notes, in time order. A note is dated by its `updated_at` (an edited
    /// comment moves the issue's too); a system note saying the title or
    /// description changed is a rename. Only label events keep their ids;
    /// the others' are negated, so no id of one kind is taken for another's.
    fn timeline(&self, repo: &RepoName, number: IssueNumber) -> Result<Vec<TimelineEvent>> {
        let base = format!("{}/issues/{number}", project(repo));
        let labels: Vec<WireLabelEvent> = self
            .http
            .get_all(&format!("{base}/resource_label_events"))?;
        let mut states: Vec<WireStateEvent> = self
            .http
            .get_all(&format!("{base}/resource_state_events"))?;
        // a milestone, weight or iteration set after arming moves the
        // issue's `updated_at` and leaves only its own resource event (no
        // note): a change, not an edit of what the agent is told
        // (docs/fidelity/gitlab.md). Weight and iteration are GitLab
        // Premium's: a 404 or 403 (Free, Community Edition) is none.
        for kind in ["milestone", "weight", "iteration"] {
            let events: Vec<WireStateEvent> = crate::none_if_refused(
                self.http.get_all(&format!("{base}/resource_{kind}_events")),
            )?;
            states.extend(events);
        }
        let notes = self.notes(repo, Target::Issue(number))?;
        let mut out: Vec<TimelineEvent> = vec![];
        for e in labels {
            let Some(label) = e.label.filter(|l| !l.name.is_empty()) else {
                continue;
            };
            if let Some(u) = &e.user {
                self.remember_user(u);
            }
            let kind = match e.action.as_str() {
                "add" => EventKind::LabelAdded,
                "remove" => EventKind::LabelRemoved,
                _ => EventKind::Other,
            };
            out.push(TimelineEvent {
                id: e.id,
                kind,
                label: Some(label.name),
                actor: e.user.map(|u| u.username).unwrap_or_default(),
                created_at: e.created_at,
            });
        }
        for e in states {
            out.push(TimelineEvent {
                id: -e.id,
                kind: EventKind::Other,
                label: None,
                actor: e.user.map(|u| u.username).unwrap_or_default(),
                created_at: e.created_at,
            });
        }
        for n in notes {
            out.push(TimelineEvent {
                id: -n.id,
                kind: if n.is_edit() {
                    EventKind::Renamed
                } else {
                    EventKind::Other
                },
                label: None,
                actor: n.author.map(|u| u.username).unwrap_or_default(),
                created_at: n.updated_at.or(n.created_at),
            });
        }
        // time order, stable (label events are oldest first already); an
        // undated event last, so a rename nobody dated counts as after
        out.sort_by_key(|e| {
            let t = e.created_at.as_deref().and_then(crate::clock::parse);
            (t.is_none(), t)
        });
        Ok(out)
    }

    /// `members/all/:user_id`'s access level (inherited and shared
    /// membership, the highest); not a member (404) or no such user: none;
    /// a refused lookup is the error. A user who is not `active`, or a bot
    /// user (`GET /users/:id`), meets none.
    fn permission(&self, repo: &RepoName, login: &str) -> Result<Permission> {
        let Some(id) = self.user_id(login)? else {
            return Ok(Permission::ranked(Access::None, "no such user"));
        };
        let m: WireMember =
            match self
                .http
                .json("GET", &format!("{}/members/all/{id}", project(repo)), None)
            {
                Ok(m) => m,
                Err(e) if ForgeError::kind_of(&e) == Some(Failure::NotFound) => {
                    return Ok(Permission::ranked(Access::None, "not a member"));
                }
                Err(e) => return Err(e),
            };
        let Some(level) = m.access_level else {
            return Ok(Permission::ranked(Access::None, "no access level"));
        };
        if let Some(state) = m.state.as_deref().filter(|s| *s != "active") {
            return Ok(Permission::ranked(Access::None, &format!("{state} user")));
        }
        let (access, word) = access_level(level);
        if access == Access::None {
            return Ok(Permission::ranked(access, &word));
        }
        let u: WireUser = self.http.json("GET", &format!("/users/{id}"), None)?;
        if u.bot == Some(true) {
            return Ok(Permission::ranked(
                Access::None,
                &format!("bot user, {word}"),
            ));
        }
        if u.state.as_deref().is_some_and(|s| s != "active") {
            return Ok(Permission::ranked(
                Access::None,
                &format!("{} user", u.state.unwrap_or_default()),
            ));
        }
        Ok(Permission::ranked(access, &word))
    }

    /// `GET .../issues/:iid/links`, those that block this one; a `403`/`404`
    /// (a tier without blocking links, GitLab Free) means none.
    fn dependencies(&self, repo: &RepoName, number: IssueNumber) -> Result<Vec<Issue>> {
        match self.http.json::<Vec<WireIssue>>(
            "GET",
            &format!("{}/issues/{number}/links", project(repo)),
            None,
        ) {
            Ok(v) => Ok(v
                .into_iter()
                .filter(|i| i.link_type.as_deref() == Some("is_blocked_by"))
                .map(WireIssue::into_issue)
                .collect()),
            Err(e)
                if matches!(
                    ForgeError::kind_of(&e),
                    Some(Failure::NotFound | Failure::Forbidden)
                ) =>
            {
                Ok(vec![])
            }
            Err(e) => Err(e),
        }
    }

    /// `GET /projects/:id/labels` (group labels included), once per tick.
    /// `GET /projects/:id/hooks` (one page): GitLab's hooks have no active
    /// flag; a hook is active unless GitLab disabled it or it sends none of
    /// the events afk reads ([`hook_active`]).
    fn hooks(&self, repo: &RepoName) -> Result<Vec<crate::HookInfo>> {
        let wire: Vec<serde_json::Value> =
            self.http
                .json("GET", &format!("{}/hooks", project(repo)), None)?;
        Ok(wire
            .iter()
            .map(|h| crate::HookInfo {
                url: h["url"].as_str().unwrap_or_default().to_string(),
                active: hook_active(h),
            })
            .collect())
    }

    fn repo_labels(&self, repo: &RepoName) -> Result<Vec<Label>> {
        if let Some(l) = self.kept.lock().unwrap().labels.get(repo) {
            return Ok(l.clone());
        }
        let wire: Vec<WireLabel> = self.http.get_all(&format!("{}/labels", project(repo)))?;
        let l: Vec<Label> = wire
            .into_iter()
            .map(|w| Label {
                id: w.id,
                name: w.name,
            })
            .collect();
        self.kept
            .lock()
            .unwrap()
            .labels
            .insert(repo.clone(), l.clone());
        Ok(l)
    }

    /// The notes of an issue or a merge request, oldest first, system notes
    /// left out. A note whose `updated_at` moved only by a reaction or a
    /// resolve is given back unedited ([`note_edited`]; its award emoji read
    /// only when its dates differ).
    fn comments(&self, repo: &RepoName, on: Target) -> Result<Vec<Comment>> {
        let mut out = vec![];
        for mut n in self.notes(repo, on)? {
            if n.system {
                continue;
            }
            if afk_wire::edits::edited(n.created_at.as_deref(), n.updated_at.as_deref()) {
                let awards: Vec<WireAward> = self.http.get_all(&format!(
                    "{}/{}/award_emoji",
                    Self::notes_path(repo, on),
                    n.id
                ))?;
                let at: Vec<Option<&str>> =
                    awards.iter().map(|a| a.created_at.as_deref()).collect();
                let given = awards.iter().map(WireAward::reaction).collect();
                self.kept
                    .lock()
                    .unwrap()
                    .awards
                    .insert((repo.clone(), n.id), given);
                if !note_edited(
                    n.created_at.as_deref(),
                    n.updated_at.as_deref(),
                    n.resolved_at.as_deref(),
                    &at,
                ) {
                    n.updated_at = n.created_at.clone();
                }
            }
            out.push(n.into_comment());
        }
        Ok(out)
    }

    fn open_pulls(&self, repo: &RepoName) -> Result<Vec<PullRequest>> {
        let v: Vec<WireMr> = self
            .http
            .get_all(&format!("{}/merge_requests?state=opened", project(repo)))?;
        Ok(self.pulls(repo, v))
    }

    /// The most recently updated merged and closed merge requests: one page of each.
    fn recent_closed_pulls(&self, repo: &RepoName) -> Result<Vec<PullRequest>> {
        let mut all: Vec<WireMr> = vec![];
        for state in ["merged", "closed"] {
            let v: Vec<WireMr> = self.http.json(
                "GET",
                &format!(
                    "{}/merge_requests?state={state}&order_by=updated_at&sort=desc&page=1&per_page=50",
                    project(repo)
                ),
                None,
            )?;
            all.extend(v);
        }
        all.sort_by(|a, b| b.updated_at.cmp(&a.updated_at));
        Ok(self.pulls(repo, all))
    }

    /// The single merge request (its `GET` also starts GitLab's mergeability
    /// check), with whether a rebase is running.
    fn pull(&self, repo: &RepoName, number: PrNumber) -> Result<PullRequest> {
        let m: WireMr = self.http.json(
            "GET",
            &format!(
                "{}/merge_requests/{number}?include_rebase_in_progress=true",
                project(repo)
            ),
            None,
        )?;
        self.remember_mr(repo, &m);
        Ok(m.into_pull(repo))
    }

    /// CI of `sha` (docs/gitlab.md#what-afk-reads-and-writes): for a merge
    /// request head read this tick, its `head_pipeline` when that ran on the
    /// head, else its newest pipeline of the head, else its newest merged
    /// results or merge train pipeline when that merged the head; else (or
    /// for any other commit) the head's commit statuses, the latest per name
    /// (a pipeline's jobs are among them). A chosen pipeline's jobs are its
    /// lines.
    fn combined_status(&self, repo: &RepoName, sha: &str) -> Result<CombinedStatus> {
        let head = self
            .kept
            .lock()
            .unwrap()
            .heads
            .get(&(repo.clone(), sha.to_string()))
            .cloned();
        if let Some((iid, head_pipeline)) = head {
            if let Some(p) = head_pipeline
                && self.pipeline_of_head(repo, &p, iid, sha)?
            {
                return self.jobs_status(repo, sha, &p);
            }
            let pipelines: Vec<WirePipeline> = self.http.json(
                "GET",
                &format!("{}/merge_requests/{iid}/pipelines", project(repo)),
                None,
            )?;
            let newest = |of: &dyn Fn(&WirePipeline) -> bool| {
                pipelines
                    .iter()
                    .filter(|p| of(p))
                    .max_by_key(|p| p.id)
                    .cloned()
            };
            if let Some(p) = newest(&|p| p.sha == sha) {
                return self.jobs_status(repo, sha, &p);
            }
            if let Some(p) = newest(&|p| merge_ref_of(p, iid))
                && self.pipeline_of_head(repo, &p, iid, sha)?
            {
                return self.jobs_status(repo, sha, &p);
            }
        }
        let statuses: Vec<WireJob> = self.http.get_all(&format!(
            "{}/repository/commits/{}/statuses",
            project(repo),
            enc(sha)
        ))?;
        Ok(crate::github::merge_ci(sha, latest_per_name(statuses)))
    }

    /// `GET .../repository/commits?ref_name=…&since=…`, newest first, down
    /// to the first older than `since`.
    fn commits(
        &self,
        repo: &RepoName,
        branch: &str,
        since: time::OffsetDateTime,
    ) -> Result<Vec<crate::Commit>> {
        let mut out = vec![];
        self.http.walk(
            &format!(
                "{}/repository/commits?ref_name={}&since={}",
                project(repo),
                enc(branch),
                enc(&crate::clock::ts(since))
            ),
            |page: Vec<WireCommit>| {
                let page = page
                    .into_iter()
                    .map(|w| crate::Commit {
                        sha: w.id,
                        message: w.message,
                        date: w.committed_date,
                        author: None,
                    })
                    .collect();
                crate::commits::keep_until(page, since, &mut out)
            },
        )?;
        Ok(out)
    }

    /// `GET .../repository/commits/:sha/diff`: what it changed against its
    /// first parent, file by file.
    fn diff(&self, repo: &RepoName, sha: &str) -> Result<Vec<crate::FileDiff>> {
        let files: Vec<WireDiff> = self.http.get_all(&format!(
            "{}/repository/commits/{}/diff",
            project(repo),
            enc(sha)
        ))?;
        Ok(files.into_iter().map(WireDiff::into_diff).collect())
    }

    /// One GraphQL `note` query for the note's `lastEditedAt`, at
    /// `/api/graphql` beside the REST root (the same origin only): any edit
    /// of its text, even one in its own second; an emoji, added or taken
    /// back, is none (`super::note_ever_edited`). An answer that does not
    /// say (a GitLab before 15.9 has no `Query.note`) is an error, never
    /// "not edited".
    fn comment_ever_edited(&self, c: &crate::model::Comment) -> Result<Option<bool>> {
        let root = self.http.root();
        let beside = root.strip_suffix("/v4").unwrap_or(root);
        let body = serde_json::json!({"query": super::NOTE_EDITED_QUERY,
                                      "variables": {"id": format!("gid://gitlab/Note/{}", c.id)}});
        let v: serde_json::Value = self.http.post_json_beside(beside, "/graphql", &body)?;
        if let Some(e) = v.get("errors").filter(|e| !e.is_null()) {
            let first = e[0]["message"].as_str().unwrap_or("an error");
            anyhow::bail!(
                "forge: GraphQL lastEditedAt (GitLab 15.9 or later): {}",
                crate::core::sanitize::one_line(first, 200)
            );
        }
        match super::note_ever_edited(&v["data"]) {
            Some(edited) => Ok(Some(edited)),
            None => anyhow::bail!("forge: GraphQL lastEditedAt: no such note in the answer"),
        }
    }

    /// The note's award emoji (one page), unless this tick's `comments`
    /// read them already.
    fn reactions(
        &self,
        repo: &RepoName,
        on: Target,
        comment: i64,
    ) -> Result<Vec<(String, String)>> {
        let kept = self
            .kept
            .lock()
            .unwrap()
            .awards
            .get(&(repo.clone(), comment))
            .cloned();
        let given = match kept {
            Some(given) => given,
            None => {
                let v: Vec<WireAward> = self.http.json(
                    "GET",
                    &format!(
                        "{}/{comment}/award_emoji?page=1&per_page={}",
                        Self::notes_path(repo, on),
                        crate::REACTIONS_MAX
                    ),
                    None,
                )?;
                v.iter().map(WireAward::reaction).collect()
            }
        };
        Ok(given.into_iter().take(crate::REACTIONS_MAX).collect())
    }

    /// The conversation on merge request `pr`
    /// (docs/gitlab.md#what-differs-from-gitea-and-github): each person's
    /// unresolved resolvable threads and reviewer state `requested_changes`,
    /// superseded by resolution or their later approval, as one request for
    /// changes each (`gitlab_talk`). Reads `.../discussions`, `.../reviewers`
    /// and the merge request's notes (GitLab writes approvals and change
    /// requests as system notes).
    fn reviews(&self, repo: &RepoName, pr: PrNumber) -> Result<Vec<Review>> {
        let base = format!("{}/merge_requests/{pr}", project(repo));
        let head = {
            let k = self.kept.lock().unwrap();
            k.heads
                .iter()
                .find(|((r, _), (iid, _))| r == repo && *iid == pr.0)
                .map(|((_, sha), _)| sha.clone())
        };
        let head = match head {
            Some(h) => h,
            None => self.pull(repo, pr)?.head.sha,
        };
        let discussions: Vec<crate::gitlab_talk::Discussion> =
            self.http.get_all(&format!("{base}/discussions"))?;
        // one answer, not paged: the description declares no `page` here
        let reviewers: Vec<crate::gitlab_talk::Reviewer> =
            self.http.json("GET", &format!("{base}/reviewers"), None)?;
        let notes: Vec<crate::gitlab_talk::TalkNote> = self
            .http
            .get_all(&format!("{base}/notes?sort=asc&order_by=created_at"))?;
        let (reviews, lines) = crate::gitlab_talk::reviews(&head, &discussions, &reviewers, &notes);
        self.kept
            .lock()
            .unwrap()
            .talk
            .insert((repo.clone(), pr.0), lines);
        Ok(reviews)
    }

    /// The notes of the threads of `review` (as [`Self::reviews`] made it
    /// this tick; read again when it was not).
    fn line_comments(&self, repo: &RepoName, pr: PrNumber, review: i64) -> Result<LineComments> {
        let kept = |s: &Self| {
            s.kept
                .lock()
                .unwrap()
                .talk
                .get(&(repo.clone(), pr.0))
                .map(|t| t.get(&review).cloned().unwrap_or_default())
        };
        if let Some(l) = kept(self) {
            return Ok(l);
        }
        self.reviews(repo, pr)?;
        Ok(kept(self).unwrap_or_default())
    }

    /// `GET .../repository/branches/:branch` (the name encoded as one segment).
    fn branch(&self, repo: &RepoName, name: &str) -> Result<Option<BranchHead>> {
        match self.http.json::<WireBranch>(
            "GET",
            &format!("{}/repository/branches/{}", project(repo), enc(name)),
            None,
        ) {
            Ok(b) => Ok(Some(BranchHead {
                name: b.name,
                commit: HeadCommit {
                    id: b.commit.id,
                    message: b.commit.message,
                    committer: Some(CommitPerson {
                        name: b.commit.committer_name,
                        email: b.commit.committer_email,
                    }),
                },
            })),
            Err(e) if ForgeError::kind_of(&e) == Some(Failure::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

impl Gitlab {
    /// Whether pipeline `p` ran on merge request `iid`'s head `sha`: its own
    /// sha, or a merged results or merge train pipeline whose merge commit
    /// merged that head (a parent after the first). The ref alone is not
    /// enough: GitLab's `head_pipeline` stays the old head's until it makes
    /// one for the new head, so right after a push it would be the previous
    /// head's verdict (docs/fidelity/gitlab.md).
    fn pipeline_of_head(
        &self,
        repo: &RepoName,
        p: &WirePipeline,
        iid: u64,
        sha: &str,
    ) -> Result<bool> {
        if p.sha == sha {
            return Ok(true);
        }
        if !merge_ref_of(p, iid)
            || p.sha.is_empty()
            || !p.sha.chars().all(|c| c.is_ascii_hexdigit())
        {
            return Ok(false);
        }
        let c: WireParents = self.http.json(
            "GET",
            &format!("{}/repository/commits/{}", project(repo), p.sha),
            None,
        )?;
        Ok(c.parent_ids.iter().skip(1).any(|parent| parent == sha))
    }
}

/// The events of a project hook that `afk hook` reads (`lib/api/entities/project_hook.rb`
/// names one flag per event).
const HOOK_EVENTS: &[&str] = &[
    "issues_events",
    "note_events",
    "confidential_note_events",
    "merge_requests_events",
    "pipeline_events",
    "emoji_events",
];

/// Whether a project hook as GitLab lists it delivers to afk: not disabled
/// by GitLab after failing deliveries (`alert_status` `temporarily_disabled`
/// or `disabled`, `app/models/concerns/web_hooks/auto_disabling.rb`), and
/// subscribed to one of the events afk reads. A field GitLab does not send
/// (an older GitLab) says nothing against it.
pub fn hook_active(h: &serde_json::Value) -> bool {
    let disabled = matches!(
        h["alert_status"].as_str(),
        Some("temporarily_disabled" | "disabled")
    );
    let flags: Vec<&serde_json::Value> = HOOK_EVENTS
        .iter()
        .map(|e| &h[*e])
        .filter(|v| v.is_boolean())
        .collect();
    let subscribed = flags.is_empty() || flags.iter().any(|v| v.as_bool() == Some(true));
    !disabled && subscribed
}
