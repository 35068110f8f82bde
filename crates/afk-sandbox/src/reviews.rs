//! The conversation on a pull request beside its comments: reviews (each on
//! the commit it was made on, with its line comments), reactions on issue
//! comments, what the forge says of a PR's mergeability, and bringing a PR's
//! branch up to date with its base (a real merge commit on the head branch,
//! or a conflict). Dialect-neutral; `routes/*/reviews.rs` render it, and the
//! admin calls here are how a test plays the reviewer (`/_admin/review`,
//! `/_admin/dismiss`, `/_admin/mergeable`, `/_admin/branch_update`).

use super::http::Reply;
use super::model::Forge;
pub(super) use super::model::talk::{LineComment, NextUpdate, Reaction, Review, Updated, Verdict};
use super::{err, git};
use serde_json::{Value, json};

impl Forge {
    /// The reviews of `repo#pr` afk's account sees, oldest first: a pending
    /// review only its author sees (both forges).
    pub(super) fn reviews_of(&self, repo: &str, pr: u64) -> Vec<&Review> {
        self.talk
            .reviews
            .values()
            .filter(|r| r.repo == repo && r.pr == pr && self.sees(r))
            .collect()
    }

    /// Review `id` of `repo#pr`, if afk's account sees it.
    pub(super) fn review(&self, repo: &str, pr: u64, id: &str) -> Option<&Review> {
        let id = id.parse::<i64>().ok()?;
        self.talk
            .reviews
            .get(&id)
            .filter(|r| r.repo == repo && r.pr == pr && self.sees(r))
    }

    /// Every review of `repo#pr`, oldest first, each with whether afk's
    /// account sees it (another's pending one it does not).
    pub(super) fn reviews_with_sight(&self, repo: &str, pr: u64) -> Vec<(bool, &Review)> {
        self.talk
            .reviews
            .values()
            .filter(|r| r.repo == repo && r.pr == pr)
            .map(|r| (self.sees(r), r))
            .collect()
    }

    fn sees(&self, r: &Review) -> bool {
        r.verdict != Verdict::Pending || r.user == self.me
    }

    /// What the forge says of an open PR's mergeability (`None`: still
    /// computing); each dialect says its own for a closed one.
    pub(super) fn mergeable(&self, repo: &str, pr: u64) -> Option<bool> {
        self.talk
            .mergeable
            .get(&(repo.to_string(), pr))
            .copied()
            .unwrap_or(Some(true))
    }

    /// `user` reacts with `content` on comment `id`: (the reaction, whether it is new).
    pub(super) fn react(&mut self, id: i64, user: &str, content: &str) -> (i64, bool) {
        if let Some(r) = self.talk.reactions.get(&id).and_then(|rs| {
            rs.iter()
                .find(|r| r.user == user && r.content == content)
                .map(|r| r.id)
        }) {
            return (r, false);
        }
        let rid = self.id();
        let at = self.stamp();
        self.talk.reactions.entry(id).or_default().push(Reaction {
            id: rid,
            user: user.to_string(),
            content: content.to_string(),
            at,
        });
        (rid, true)
    }

    /// Bring an open PR's head branch up to date with its base: merge the
    /// base in (a merge commit on the head), or `rebase`: one new commit on
    /// the base with the merged tree. A test's [`NextUpdate`] decides first.
    pub(super) fn update_branch(
        &mut self,
        repo: &str,
        pr: u64,
        rebase: bool,
        expected_head: Option<&str>,
    ) -> Result<Updated, String> {
        let (head, base, open) = match self.repos.get(repo).and_then(|r| r.issues.get(&pr)) {
            Some(i) if i.pull => (
                i.head.clone().unwrap_or_default(),
                i.base.clone(),
                i.state == "open" && !i.merged,
            ),
            _ => return Err(format!("no pull request {repo}#{pr}")),
        };
        if !open {
            return Ok(Updated::NotOpen);
        }
        let gd = self.git_dir(repo);
        let h = git::head(&gd, &head).ok_or(format!("no branch {head}"))?;
        if expected_head.is_some_and(|e| e != h) {
            return Ok(Updated::HeadMoved);
        }
        let b = git::head(&gd, &base).ok_or(format!("no branch {base}"))?;
        let forced = self.talk.next_update.remove(&(repo.to_string(), pr));
        if forced == Some(NextUpdate::Conflict) {
            return Ok(Updated::Conflict);
        }
        let behind = git::git(&gd, &["merge-base", "--is-ancestor", &b, &h], None).is_err();
        if !behind && forced.is_none() {
            return Ok(Updated::UpToDate);
        }
        let merged = git::git(&gd, &["merge-tree", "--write-tree", &h, &b], None);
        let tree = match (merged, forced) {
            (Ok(t), _) => t,
            (Err(_), Some(NextUpdate::Succeed)) => {
                git::git(&gd, &["rev-parse", &format!("{h}^{{tree}}")], None)?
            }
            (Err(_), _) => return Ok(Updated::Conflict),
        };
        let message = format!("Merge branch '{base}' into {head}");
        let parents: Vec<&str> = match (rebase, behind) {
            (true, _) => vec!["-p", &b],
            (false, true) => vec!["-p", &h, "-p", &b],
            (false, false) => vec!["-p", &h],
        };
        let mut args = vec!["commit-tree", tree.as_str()];
        args.extend(parents);
        args.extend(["-m", message.as_str()]);
        let new = git::git(&gd, &args, None)?;
        git::git(
            &gd,
            &["update-ref", &format!("refs/heads/{head}"), &new],
            None,
        )?;
        // the forge works its mergeability out again: clean now
        self.talk.mergeable.remove(&(repo.to_string(), pr));
        // a push to the PR's branch, as far as CI can tell
        self.ci_pushed(repo, &head, &new);
        Ok(Updated::Moved)
    }
}

// ---- the admin calls -------------------------------------------------------------

fn ok() -> Reply {
    Reply::json(200, &json!({"ok": true}))
}

/// `POST /_admin/review {repo, pr, user = alice, state, body = "", commit =
/// the PR's head now, comments: [{path, line, body, user = the review's}]}` →
/// `{id, comments: [ids]}`; a comment's own `user` is a reply by another
/// person in the review's thread.
pub(super) fn submit(f: &mut Forge, body: &Value) -> Reply {
    let repo = body["repo"].as_str().unwrap_or("").to_string();
    let pr = f.pr_key(body["pr"].as_u64().unwrap_or(0));
    // Azure DevOps: a vote (`"-5"`) as well as a review's state
    let vote = (body["state"].as_str())
        .and_then(super::model::azure::vote_named)
        .filter(|_| f.az.on);
    let named = match vote {
        Some(v) if v > 0 => Some(Verdict::Approved),
        Some(v) if v < 0 => Some(Verdict::ChangesRequested),
        Some(_) => Some(Verdict::Commented),
        None => body["state"].as_str().and_then(Verdict::parse),
    };
    let Some(verdict) = named else {
        return err(
            400,
            "state must be APPROVED, REQUEST_CHANGES (CHANGES_REQUESTED), COMMENT(ED) or PENDING",
        );
    };
    let head = match f.repos.get(&repo).and_then(|r| r.issues.get(&pr)) {
        Some(i) if i.pull => f.head_sha(&repo, i),
        _ => return err(404, "no such pull request"),
    };
    let commit = body["commit"].as_str().map_or(head, str::to_string);
    let id = f.id();
    let at = f.stamp();
    let user = body["user"].as_str().unwrap_or("alice").to_string();
    // GitLab has no reviews: their words are notes and threads there
    let words: Vec<(String, u64, String, Option<String>)> = body["comments"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            (
                c["path"].as_str().unwrap_or("README.md").to_string(),
                c["line"].as_u64().unwrap_or(1),
                c["body"].as_str().unwrap_or("").to_string(),
                c["user"].as_str().map(str::to_string),
            )
        })
        .collect();
    let said = body["body"].as_str().unwrap_or("");
    let changes = verdict == Verdict::ChangesRequested;
    let made = if f.az.on {
        let vote = vote.or(match verdict {
            Verdict::Approved => Some(10),
            Verdict::ChangesRequested => Some(-5),
            Verdict::Commented | Verdict::Pending => None,
        });
        let pending = verdict == Verdict::Pending;
        f.az_review(
            (&repo, pr, id),
            (vote, changes, pending),
            &user,
            (said, &words),
        )
    } else {
        f.review_notes((&repo, pr, id), changes, &user, said, &words)
    };
    let notes = match made {
        Ok(n) => n,
        Err(e) => return err(400, &e),
    };
    let mut comments = vec![];
    for (i, c) in body["comments"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let cid = notes.get(i).copied().unwrap_or_else(|| f.id());
        comments.push(LineComment {
            id: cid,
            path: c["path"].as_str().unwrap_or("README.md").to_string(),
            line: c["line"].as_u64().unwrap_or(1),
            body: c["body"].as_str().unwrap_or("").to_string(),
            at: at.clone(),
            user: c["user"].as_str().map(str::to_string),
            in_reply_to: None,
        });
    }
    let ids: Vec<i64> = comments.iter().map(|c| c.id).collect();
    // GitLab writes an approval and a change request as system notes on the MR
    match verdict {
        Verdict::Approved => f.system_note(&repo, pr, "approved this merge request", &user),
        Verdict::ChangesRequested => f.system_note(&repo, pr, "requested changes", &user),
        _ => {}
    }
    f.talk.reviews.insert(
        id,
        Review {
            id,
            repo,
            pr,
            user,
            verdict,
            body: body["body"].as_str().unwrap_or("").to_string(),
            commit,
            at,
            dismissed: false,
            comments,
            resolved_by: None,
        },
    );
    Reply::json(201, &json!({"id": id, "comments": ids}))
}

/// GitLab: the thread of review `rid`'s lines (its threads: the body's,
/// when it has one, first, then the lines').
fn line_thread(f: &Forge, rid: i64) -> Option<i64> {
    f.gl.review_threads
        .get(&rid)
        .and_then(|t| t.last().copied())
}

/// `POST /_admin/reply {review, user = alice, body}` → `{id}`: a reply in
/// the thread of review `review`'s first line comment, as each forge keeps
/// one: Gitea under the replied review (its `comments_count` moves),
/// GitHub as a comment review of its own on the head now (the reply its one
/// comment), GitLab as a note in the review's first thread.
pub(super) fn reply(f: &mut Forge, body: &Value) -> Reply {
    let rid = body["review"].as_i64().unwrap_or(0);
    let user = body["user"].as_str().unwrap_or("alice").to_string();
    let text = body["body"].as_str().unwrap_or("").to_string();
    let Some(r) = f.talk.reviews.get(&rid) else {
        return err(404, "no such review");
    };
    let Some((path, line, root)) = r
        .comments
        .first()
        .map(|c| (c.path.clone(), c.line, c.in_reply_to.unwrap_or(c.id)))
    else {
        return err(400, "the review has no line comment to reply to");
    };
    let (repo, pr) = (r.repo.clone(), r.pr);
    if f.az.on {
        return match f.az_review_reply(rid, &user, &text) {
            Ok(t) => Reply::json(201, &json!({"id": t})),
            Err(e) => err(400, &e),
        };
    }
    if f.gl.on {
        let Some(thread) = line_thread(f, rid) else {
            return err(400, "the review has no thread");
        };
        return match f.reply(thread, &text, &user) {
            Ok(id) => Reply::json(201, &json!({"id": id})),
            Err(e) => err(400, &e),
        };
    }
    let id = f.id();
    let at = f.stamp();
    let c = LineComment {
        id,
        path,
        line,
        body: text,
        at: at.clone(),
        user: Some(user.clone()),
        in_reply_to: (f.outbox.dialect == "github").then_some(root),
    };
    if f.outbox.dialect == "github" {
        let head = match f.repos.get(&repo).and_then(|r| r.issues.get(&pr)) {
            Some(i) => f.head_sha(&repo, i),
            None => return err(404, "no such pull request"),
        };
        let review = f.id();
        f.talk.reviews.insert(
            review,
            Review {
                id: review,
                repo,
                pr,
                user,
                verdict: Verdict::Commented,
                body: String::new(),
                commit: head,
                at,
                dismissed: false,
                comments: vec![c],
                resolved_by: None,
            },
        );
    } else if let Some(r) = f.talk.reviews.get_mut(&rid) {
        r.comments.push(c);
    }
    Reply::json(201, &json!({"id": id}))
}

/// `POST /_admin/resolve {review, user = alice, resolved = true}`: the
/// thread of the review's first line comment resolved (or not) by `user`;
/// on GitLab its line thread (GitLab's own `{discussion}`: the admin's
/// GitLab route).
pub(super) fn resolve(f: &mut Forge, body: &Value) -> Reply {
    let Some(rid) = body["review"].as_i64() else {
        return err(400, "review is required");
    };
    let resolved = body["resolved"].as_bool().unwrap_or(true);
    let user = body["user"].as_str().unwrap_or("alice").to_string();
    if f.az.on {
        return match f.az_review_resolve(rid, resolved) {
            Ok(()) => ok(),
            Err(e) => err(404, &e),
        };
    }
    if f.gl.on {
        let Some(thread) = line_thread(f, rid) else {
            return err(404, "the review has no thread");
        };
        return match f.resolve(thread, resolved, &user) {
            Ok(()) => ok(),
            Err(e) => err(404, &e),
        };
    }
    match f.talk.reviews.get_mut(&rid) {
        Some(r) => {
            r.resolved_by = resolved.then_some(user);
            ok()
        }
        None => err(404, "no such review"),
    }
}

/// `POST /_admin/dismiss {review}`: the review is dismissed (by whoever may).
pub(super) fn dismiss(f: &mut Forge, body: &Value) -> Reply {
    let id = body["review"].as_i64().unwrap_or(0);
    match f.talk.reviews.get_mut(&id) {
        Some(r) => {
            r.dismissed = true;
            let by = body["user"].as_str().unwrap_or("alice").to_string();
            f.resolve_review(id, &by);
            if f.az.on
                && let Err(e) = f.az_review_dismiss(id)
            {
                return err(400, &e);
            }
            ok()
        }
        None => err(404, "no such review"),
    }
}

/// `POST /_admin/mergeable {repo, pr, mergeable: true | false | null}`: what
/// the forge says of the PR (null: still computing); without `mergeable`,
/// back to the default (mergeable while open).
pub(super) fn set_mergeable(f: &mut Forge, body: &Value) -> Reply {
    let key = (
        body["repo"].as_str().unwrap_or("").to_string(),
        f.pr_key(body["pr"].as_u64().unwrap_or(0)),
    );
    let (repo, number) = key.clone();
    match body.get("mergeable") {
        None => {
            f.talk.mergeable.remove(&key);
        }
        Some(Value::Null) => {
            f.talk.mergeable.insert(key, None);
        }
        Some(Value::Bool(b)) => {
            f.talk.mergeable.insert(key, Some(*b));
        }
        Some(_) => return err(400, "mergeable must be true, false or null"),
    }
    // Azure DevOps says it as the pull request's `mergeStatus`
    if f.az.on
        && let Some(n) = f.az.pr_of(&repo, number)
    {
        // said for the heads now: a push after it queues it again
        let now = f.az_heads(n);
        let p = f.az.prs.get_mut(&n).expect("the pull request");
        p.merge_heads = now;
        p.merge_status = match body.get("mergeable") {
            Some(Value::Bool(false)) => "conflicts",
            Some(Value::Null) => "queued",
            _ => "succeeded",
        }
        .into();
        p.merge_next = None;
    }
    ok()
}

/// `POST /_admin/branch_update {repo, pr, outcome: "succeed" | "conflict"}`:
/// what the PR's next branch update does (succeed: a new commit on the head
/// branch even where git would conflict; conflict: refused, nothing changed).
pub(super) fn set_next_update(f: &mut Forge, body: &Value) -> Reply {
    let key = (
        body["repo"].as_str().unwrap_or("").to_string(),
        f.pr_key(body["pr"].as_u64().unwrap_or(0)),
    );
    let next = match body["outcome"].as_str() {
        Some("succeed") => NextUpdate::Succeed,
        Some("conflict") => NextUpdate::Conflict,
        _ => return err(400, "outcome must be \"succeed\" or \"conflict\""),
    };
    f.talk.next_update.insert(key, next);
    ok()
}
