//! What afk writes on GitLab ([`ForgeWrites`]): labels, notes, descriptions,
//! merge requests, award emoji and the rebase, every text through
//! [`no_quick_actions`].

use super::*;

impl ForgeWrites for Gitlab {
    /// `PUT` the issue with `add_labels` (never `labels=`, which replaces),
    /// once the project is known to have the label: GitLab's `add_labels`
    /// would make a missing one.
    fn add_label(&self, repo: &RepoName, number: IssueNumber, name: &str) -> Result<()> {
        self.label_exists(repo, name)?;
        self.put_issue(repo, number, json!({ "add_labels": label_param(name)? }))
    }

    fn remove_label(&self, repo: &RepoName, number: IssueNumber, name: &str) -> Result<()> {
        self.put_issue(repo, number, json!({ "remove_labels": label_param(name)? }))
    }

    /// `POST /projects/:id/labels`; GitLab's color is `#rrggbb`.
    fn create_label(&self, repo: &RepoName, name: &str, color: &str) -> Result<()> {
        let color = if color.starts_with('#') {
            color.to_string()
        } else {
            format!("#{color}")
        };
        self.http.send(
            "POST",
            &format!("{}/labels", project(repo)),
            Some(&json!({ "name": name, "color": color })),
        )?;
        self.kept.lock().unwrap().labels.remove(repo);
        Ok(())
    }

    /// A note on the issue or the merge request, no line of it a quick action.
    fn create_comment(&self, repo: &RepoName, on: Target, body: &str) -> Result<Comment> {
        let n: WireNote = self
            .http
            .json(
                "POST",
                &Self::notes_path(repo, on),
                Some(&json!({ "body": no_quick_actions(body) })),
            )
            .map_err(refused_text)?;
        Ok(n.into_comment())
    }

    fn edit_comment(&self, repo: &RepoName, on: Target, id: i64, body: &str) -> Result<Comment> {
        let n: WireNote = self
            .http
            .json(
                "PUT",
                &format!("{}/{id}", Self::notes_path(repo, on)),
                Some(&json!({ "body": no_quick_actions(body) })),
            )
            .map_err(refused_text)?;
        Ok(n.into_comment())
    }

    fn close_issue(&self, repo: &RepoName, number: IssueNumber) -> Result<()> {
        self.put_issue(repo, number, json!({ "state_event": "close" }))
    }

    /// The issue's or the merge request's `description`.
    fn edit_issue_body(&self, repo: &RepoName, on: Target, body: &str) -> Result<()> {
        let path = match on {
            Target::Issue(n) => format!("{}/issues/{n}", project(repo)),
            Target::Pr(n) => format!("{}/merge_requests/{n}", project(repo)),
        };
        self.http
            .send(
                "PUT",
                &path,
                Some(&json!({ "description": no_quick_actions(body) })),
            )
            .map_err(refused_text)?;
        Ok(())
    }

    /// `POST /projects/:id/merge_requests` from `head` into `base`, never a
    /// draft by accident ([`mr_title`]); `remove_source_branch` is not sent
    /// (the project's setting decides). A `409` (one is open from that
    /// branch already) is adopted only when it is afk's own.
    fn create_pull(
        &self,
        repo: &RepoName,
        head: &str,
        base: &str,
        title: &str,
        body: &str,
    ) -> Result<PullRequest> {
        self.create_mr(repo, head, base, &mr_title(title), body)
    }

    /// GitLab's `Draft: ` prefix, on a title cleaned of any the issue had.
    fn create_draft_pull(
        &self,
        repo: &RepoName,
        head: &str,
        base: &str,
        title: &str,
        body: &str,
    ) -> Result<PullRequest> {
        self.create_mr(
            repo,
            head,
            base,
            &format!("Draft: {}", mr_title(title)),
            body,
        )
    }

    fn close_pull(&self, repo: &RepoName, number: PrNumber) -> Result<()> {
        self.http.send(
            "PUT",
            &format!("{}/merge_requests/{number}", project(repo)),
            Some(&json!({ "state_event": "close" })),
        )?;
        Ok(())
    }

    /// Award emoji `content` (afk acknowledges with `eyes`) on note
    /// `comment`; GitLab's `404` "has already been taken" means it is there.
    fn react(&self, repo: &RepoName, on: Target, comment: i64, content: &str) -> Result<()> {
        match self.http.send(
            "POST",
            &format!("{}/{comment}/award_emoji", Self::notes_path(repo, on)),
            Some(&json!({ "name": content })),
        ) {
            Ok(_) => Ok(()),
            Err(e)
                if ForgeError::kind_of(&e) == Some(Failure::NotFound)
                    && crate::reviews::words(&e).contains("already been taken") =>
            {
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// `PUT .../merge_requests/:iid/rebase`: `202` accepted (GitLab reports
    /// later: `merge_error` once `rebase_in_progress` is false, read by
    /// [`mergeable`]); a `403` refused; a `409` (one already running) waits.
    /// GitLab's API cannot merge the base in.
    fn update_branch(
        &self,
        repo: &RepoName,
        pr: PrNumber,
        style: UpdateStyle,
        _expected_head_sha: &str,
        _under_way: Option<&str>,
    ) -> Result<BranchUpdate> {
        if style != UpdateStyle::Rebase {
            anyhow::bail!(
                "forge: GitLab cannot merge the target branch into a merge request's branch, only rebase it: set watch.update_branch = \"rebase\""
            );
        }
        match self.http.send(
            "PUT",
            &format!("{}/merge_requests/{pr}/rebase", project(repo)),
            Some(&json!({})),
        ) {
            Ok(_) => Ok(BranchUpdate::Started),
            Err(e) => match ForgeError::kind_of(&e) {
                Some(Failure::Conflict) => Ok(BranchUpdate::HeadMoved),
                Some(Failure::Forbidden) => Ok(BranchUpdate::Refused(crate::reviews::words(&e))),
                _ => Err(e),
            },
        }
    }
}

impl Gitlab {
    /// `POST /projects/:id/merge_requests` with `title` as given (afk's own:
    /// cleaned, or a draft's prefix on it). A `409` (one is open from that
    /// branch already) is the forge's refusal, kept as it is.
    fn create_mr(
        &self,
        repo: &RepoName,
        head: &str,
        base: &str,
        title: &str,
        body: &str,
    ) -> Result<PullRequest> {
        match self.http.json::<WireMr>(
            "POST",
            &format!("{}/merge_requests", project(repo)),
            Some(&json!({
                "source_branch": head,
                "target_branch": base,
                "title": title,
                "description": no_quick_actions(body),
            })),
        ) {
            Ok(m) => {
                self.remember_mr(repo, &m);
                Ok(m.into_pull(repo))
            }
            // a `409`: one is open from that branch already; the caller
            // asks which and adopts it only when it is afk's
            // (docs/how-it-works.md#the-workspace), as on every forge
            Err(e) => Err(e),
        }
    }
}
