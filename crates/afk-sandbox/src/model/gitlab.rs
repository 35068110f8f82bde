//! What GitLab keeps beside the shared model, and the ways its model differs:
//! merge requests numbered apart from issues (each its own `iid` sequence),
//! system notes for edits, approvals and change requests, threads
//! (discussions) that can be resolved, and a rebase's outcome reported later.
//! `routes/gitlab/` renders it; the other dialects never see it (`on` is set
//! only when the sandbox speaks GitLab).

use std::collections::{BTreeMap, BTreeSet};

/// Where merge requests' model numbers start when issues and merge requests
/// are numbered apart: MR `!n` is model number `MR_KEYS + n`, issue `#n` is
/// `n`, so the shared model keeps one key per item and the admin API's and
/// GitLab's numbers are each kind's own.
pub(crate) const MR_KEYS: u64 = 1 << 40;

/// A thread of notes (`DiscussionNote`, or `DiffNote` on a line), resolvable.
pub(crate) struct Thread {
    /// its notes' ids, the first one's first
    pub(crate) notes: Vec<i64>,
    pub(crate) resolvable: bool,
    /// (who, when) resolved it; None: unresolved
    pub(crate) resolved: Option<(String, String)>,
    /// a line of the diff: (path, line)
    pub(crate) position: Option<(String, u64)>,
}

/// A milestone set on an issue: (id, who, when, the milestone's title).
pub(crate) type MilestoneEvent = (i64, String, String, String);

/// A weight or an iteration set on an issue (GitLab Premium's): (kind, id,
/// who, when, the weight or the iteration's title).
pub(crate) type PremiumEvent = (&'static str, i64, String, String, String);

#[derive(Default)]
pub(crate) struct GitlabSide {
    /// the sandbox speaks GitLab: merge requests numbered apart from issues,
    /// edits leave system notes
    pub(crate) on: bool,
    /// the ids of system notes (`system: true`) among the shared comments
    pub(crate) system: BTreeSet<i64>,
    /// a note's `last_edited_at`: set when its text changes (a `PUT`), as
    /// `Notes::UpdateService#update_note` sets it, never by an emoji or a
    /// resolve (GraphQL's `Note.lastEditedAt`)
    pub(crate) last_edited: BTreeMap<i64, String>,
    /// the project hook's `alert_status` (`/_admin/webhook`'s): GitLab
    /// disables a hook that keeps failing (`temporarily_disabled`, then
    /// `disabled`); None: `executable`
    pub(crate) hook_alert: Option<String>,
    /// threads by their first note's id
    pub(crate) threads: BTreeMap<i64, Thread>,
    /// a note's thread (its first note's id)
    pub(crate) in_thread: BTreeMap<i64, i64>,
    /// (repo, model number) → why the last rebase failed (`merge_error`)
    pub(crate) merge_errors: BTreeMap<(String, u64), String>,
    /// the token's `expires_at` (`YYYY-MM-DD`; the admin API's `/scopes`)
    pub(crate) token_expires: Option<String>,
    /// repo → its protected branch rules: (name or wildcard, push access level)
    pub(crate) protected: BTreeMap<String, Vec<(String, u64)>>,
    /// a review submitted through the admin API → the threads it started
    /// (their first notes' ids), resolved when it is dismissed
    pub(crate) review_threads: BTreeMap<i64, Vec<i64>>,
    /// (repo, issue) → its milestone events
    pub(crate) milestones: BTreeMap<(String, u64), Vec<MilestoneEvent>>,
    /// (repo, issue) → its weight and iteration events
    pub(crate) premium: BTreeMap<(String, u64), Vec<PremiumEvent>>,
    /// (repo, a merge ref's commit) → the merge request's model number: the
    /// commits `refs/merge-requests/N/merge` was set to, each the merge of
    /// the request's head into its target; statuses posted on one make a
    /// merged results pipeline of that request
    pub(crate) merge_refs: BTreeMap<(String, String), u64>,
}

impl super::Forge {
    /// The number a person sees: a merge request's own `iid` when numbered
    /// apart, else the model number.
    pub(crate) fn shown(n: u64) -> u64 {
        if n > MR_KEYS { n - MR_KEYS } else { n }
    }

    /// The model number of pull request (merge request) `n` as the admin API
    /// and the dialect name it: Azure DevOps' pull request `n` is the shared
    /// model's issue it was made over (numbered apart from work items).
    pub(crate) fn pr_key(&self, n: u64) -> u64 {
        if self.gl.on {
            return MR_KEYS + n;
        }
        self.az.prs.get(&n).map_or(n, |p| p.number)
    }

    /// Speak GitLab's model: MRs numbered apart, notes up to GitLab's
    /// 1,000,000 characters. Before anything is seeded.
    pub fn gitlab(&mut self) {
        self.gl.on = true;
        self.comment_max = 1_000_000;
    }

    /// The next model number of an issue (`pull`: a merge request) in `repo`.
    pub(crate) fn next_number(&self, repo: &super::Repo, pull: bool) -> u64 {
        let keys = repo.issues.keys().copied();
        match (self.gl.on, pull) {
            (true, true) => keys.filter(|k| *k > MR_KEYS).max().unwrap_or(MR_KEYS) + 1,
            (true, false) => keys.filter(|k| *k <= MR_KEYS).max().unwrap_or(0) + 1,
            _ => keys.max().unwrap_or(0) + 1,
        }
    }

    /// The system note GitLab writes for a description changed from `old`
    /// to `new`: where the edit toggles a task-list item, only `marked the
    /// checklist item **…** as completed` (or `incomplete`), even when other
    /// text changed too (`Issuable::CommonSystemNotesService
    /// #handle_description_change_note`); else `changed the description`.
    pub(crate) fn description_note(old: &str, new: &str) -> String {
        let task = |l: &str| {
            let t = l.trim_start().strip_prefix("- [")?;
            let (mark, text) = t.split_once("] ")?;
            Some((mark.eq_ignore_ascii_case("x"), text.trim().to_string()))
        };
        let before: Vec<(bool, String)> = old.lines().filter_map(task).collect();
        for (done, text) in new.lines().filter_map(task) {
            if before.iter().any(|(was, t)| *t == text && *was != done) {
                let state = if done { "completed" } else { "incomplete" };
                return format!("marked the checklist item **{text}** as {state}");
            }
        }
        "changed the description".into()
    }

    /// A system note on `repo`'s item `n` by `by`, as GitLab writes them
    /// (only when speaking GitLab).
    pub(crate) fn system_note(&mut self, repo: &str, n: u64, body: &str, by: &str) {
        if !self.gl.on {
            return;
        }
        let id = self.id();
        let at = self.stamp();
        self.comments.insert(
            id,
            super::Comment {
                id,
                repo: repo.to_string(),
                issue: n,
                body: body.to_string(),
                user: by.to_string(),
                created_at: at,
                updated_at: None,
            },
        );
        self.gl.system.insert(id);
    }

    /// A new thread on `repo`'s item `n` by `user`: its first note's id.
    pub(crate) fn start_thread(
        &mut self,
        repo: &str,
        n: u64,
        body: &str,
        user: &str,
        resolvable: bool,
        position: Option<(String, u64)>,
    ) -> Result<i64, String> {
        let (id, _) = self.add_comment(repo, n, body, user)?;
        self.gl.in_thread.insert(id, id);
        self.gl.threads.insert(
            id,
            Thread {
                notes: vec![id],
                resolvable,
                resolved: None,
                position,
            },
        );
        Ok(id)
    }

    /// A reply by `user` in the thread that note `first` started.
    pub(crate) fn reply(&mut self, first: i64, body: &str, user: &str) -> Result<i64, String> {
        let (repo, n) = match self.comments.get(&first) {
            Some(c) if self.gl.threads.contains_key(&first) => (c.repo.clone(), c.issue),
            _ => return Err("no such thread".into()),
        };
        let (id, _) = self.add_comment(&repo, n, body, user)?;
        self.gl.in_thread.insert(id, first);
        if let Some(t) = self.gl.threads.get_mut(&first) {
            t.notes.push(id);
        }
        Ok(id)
    }

    /// Resolve (or unresolve) the thread `first` started, as `by`: its notes'
    /// `updated_at` move, as GitLab's do.
    pub(crate) fn resolve(&mut self, first: i64, resolved: bool, by: &str) -> Result<(), String> {
        let at = self.stamp();
        let t = self
            .gl
            .threads
            .get_mut(&first)
            .filter(|t| t.resolvable)
            .ok_or("no such resolvable thread")?;
        t.resolved = resolved.then(|| (by.to_string(), at.clone()));
        for id in t.notes.clone() {
            if let Some(c) = self.comments.get_mut(&id) {
                c.updated_at = Some(at.clone());
            }
        }
        Ok(())
    }

    /// A review's words as GitLab shows them (it has no reviews): with
    /// `changes`, its body a resolvable thread and each line comment a
    /// resolvable thread on its line (a comment by someone else a reply in
    /// the one before); else individual notes. Returns each line comment's
    /// note id. Nothing when not GitLab.
    pub(crate) fn review_notes(
        &mut self,
        review: (&str, u64, i64),
        changes: bool,
        by: &str,
        body: &str,
        comments: &[(String, u64, String, Option<String>)],
    ) -> Result<Vec<i64>, String> {
        let (repo, pr, id) = review;
        let mut threads = vec![];
        let mut ids = vec![];
        if !self.gl.on {
            return Ok(ids);
        }
        if !body.trim().is_empty() {
            if changes {
                threads.push(self.start_thread(repo, pr, body, by, true, None)?);
            } else {
                self.add_comment(repo, pr, body, by)?;
            }
        }
        for (path, line, text, other) in comments {
            // a line comment on the diff is a resolvable thread on GitLab,
            // whatever the review around it says
            let note = match (other, threads.last()) {
                (Some(who), Some(first)) => self.reply(*first, text, who)?,
                _ if !path.is_empty() => {
                    let first = self.start_thread(
                        repo,
                        pr,
                        text,
                        other.as_deref().unwrap_or(by),
                        true,
                        Some((path.clone(), *line)),
                    )?;
                    threads.push(first);
                    first
                }
                _ => {
                    self.add_comment(repo, pr, text, other.as_deref().unwrap_or(by))?
                        .0
                }
            };
            ids.push(note);
        }
        self.gl.review_threads.insert(id, threads);
        Ok(ids)
    }

    /// A dismissed review's threads resolved, by `by`.
    pub(crate) fn resolve_review(&mut self, review: i64, by: &str) {
        for first in self
            .gl
            .review_threads
            .get(&review)
            .cloned()
            .unwrap_or_default()
        {
            let _ = self.resolve(first, true, by);
        }
    }
}
