//! A pull request's reviews (list, one, a review's line comments), bringing
//! its branch up to date (`POST .../update?style=merge|rebase`: 200, or 409
//! on a conflict), and reactions on an issue comment, in Gitea's shapes
//! (`gitea-v1-review-subset.json`): states `APPROVED`, `REQUEST_CHANGES`,
//! `COMMENT`, `PENDING`, a dismissal as `dismissed: true`, a line as
//! `position` (the new file's line).

use super::{not_found, paged, shapes};
use crate::err;
use crate::http::{Reply, Request};
use crate::model::Forge;
use crate::reviews::{LineComment, Review, Updated, Verdict};
use serde_json::{Value, json};

/// `/repos/{full}/pulls/{idx}/<tail>`: the pull request must exist first.
pub(super) fn serve(f: &mut Forge, req: &Request, full: &str, idx: &str, tail: &[&str]) -> Reply {
    let Ok(n) = idx.parse::<u64>() else {
        return not_found();
    };
    if !f.repos[full].issues.get(&n).is_some_and(|i| i.pull) {
        return err(404, "pull request does not exist");
    }
    match (req.method.as_str(), tail) {
        // every row is paged and counted; another's pending review is
        // dropped from its page after (`ToPullReviewList`), so a page may
        // come back short before the end
        ("GET", ["reviews"]) => {
            let items: Vec<Value> = f
                .reviews_with_sight(full, n)
                .into_iter()
                .map(|(seen, r)| if seen { review(f, r) } else { Value::Null })
                .collect();
            match paged(f, req, items, super::Ends::Counted) {
                Reply::Send {
                    status,
                    headers,
                    body,
                } => {
                    let page: Vec<Value> = serde_json::from_slice(&body).unwrap_or_default();
                    let kept: Vec<Value> = page.into_iter().filter(|v| !v.is_null()).collect();
                    Reply::Send {
                        status,
                        headers,
                        body: serde_json::to_vec(&kept).unwrap_or_default(),
                    }
                }
                other => other,
            }
        }
        ("GET", ["reviews", id, rest @ ..]) => {
            let Some(r) = f.review(full, n, id) else {
                return err(404, "review does not exist");
            };
            match rest {
                [] => Reply::json(200, &review(f, r)),
                ["comments"] => {
                    let items: Vec<Value> =
                        r.comments.iter().map(|c| line_comment(f, r, c)).collect();
                    Reply::json(200, &Value::Array(items))
                }
                _ => not_found(),
            }
        }
        ("POST", ["update"]) => update(f, req, full, n),
        _ => not_found(),
    }
}

/// Gitea merges unless `style=rebase`; 200 with no body when done, 409 on a
/// conflict, 422 for a closed PR, and 500 with a blank message (as a
/// production instance answers a non-admin) when the head has nothing new
/// to take ("HeadBranch of PR N is up to date": `services/pull/update.go`).
fn update(f: &mut Forge, req: &Request, full: &str, n: u64) -> Reply {
    let rebase = req.q("style") == Some("rebase");
    match f.update_branch(full, n, rebase, None) {
        Ok(Updated::UpToDate) => err(500, ""),
        Ok(Updated::Moved | Updated::HeadMoved) => Reply::Send {
            status: 200,
            headers: vec![],
            body: vec![],
        },
        Ok(Updated::Conflict) => err(
            409,
            if rebase {
                "rebase failed because of conflict"
            } else {
                "merge failed because of conflict"
            },
        ),
        Ok(Updated::NotOpen) => err(422, "the pull request is closed"),
        Err(e) => err(500, &e),
    }
}

fn state(v: Verdict) -> &'static str {
    match v {
        Verdict::Approved => "APPROVED",
        Verdict::ChangesRequested => "REQUEST_CHANGES",
        Verdict::Commented => "COMMENT",
        Verdict::Pending => "PENDING",
    }
}

/// `PullReview`: `stale` when made on a commit that is no longer the head.
fn review(f: &Forge, r: &Review) -> Value {
    let base = &f.base;
    let head = f.repos[&r.repo]
        .issues
        .get(&r.pr)
        .map(|i| f.head_sha(&r.repo, i))
        .unwrap_or_default();
    json!({
        "id": r.id, "body": r.body, "comments_count": r.comments.len(), "commit_id": r.commit,
        "dismissed": r.dismissed, "official": false, "stale": r.commit != head,
        "html_url": format!("{base}/{}/pulls/{}#issuecomment-{}", r.repo, r.pr, r.id),
        "pull_request_url": format!("{base}/{}/pulls/{}", r.repo, r.pr),
        "state": state(r.verdict), "submitted_at": r.at, "updated_at": r.at,
        "team": null, "user": shapes::user(&r.user),
    })
}

/// `PullReviewComment`
fn line_comment(f: &Forge, r: &Review, c: &LineComment) -> Value {
    let base = &f.base;
    // the thread of the review's first line comment: its path and line
    let in_resolved = r.resolved_by.as_ref().filter(|_| {
        r.comments
            .first()
            .is_some_and(|first| first.path == c.path && first.line == c.line)
    });
    let resolver = in_resolved.map_or(Value::Null, |u| shapes::user(u));
    // Gitea's `commit_id` is the commit that last changed the line
    // (`LineBlame` in services/pull/review.go), its `original_commit_id` ""
    let line = format!("{0},{0}", c.line.max(1));
    let blamed = crate::git::raw(
        &f.git_dir(&r.repo),
        &[
            "blame",
            "--porcelain",
            "-L",
            &line,
            &r.commit,
            "--",
            &c.path,
        ],
    )
    .ok()
    .and_then(|out| out.split_whitespace().next().map(str::to_string))
    .unwrap_or_else(|| r.commit.clone());
    json!({
        "id": c.id, "body": c.body, "path": c.path, "position": c.line, "original_position": 0,
        "commit_id": blamed, "original_commit_id": "",
        "diff_hunk": format!("@@ -{0},1 +{0},1 @@", c.line),
        "created_at": c.at, "updated_at": c.at,
        "html_url": format!("{base}/{}/pulls/{}/files#issuecomment-{}", r.repo, r.pr, c.id),
        "pull_request_url": format!("{base}/{}/pulls/{}", r.repo, r.pr),
        "pull_request_review_id": r.id, "resolver": resolver, "user": shapes::user(c.author(r)),
    })
}

/// The reactions Gitea allows by default (`ui.REACTIONS`).
const REACTIONS: &[&str] = &[
    "+1", "-1", "laugh", "hooray", "confused", "heart", "rocket", "eyes",
];

/// `GET` or `POST` (`{content}`: 201 new, 200 when the user had reacted so
/// already) `/repos/{full}/issues/comments/{id}/reactions`.
pub(super) fn reactions(f: &mut Forge, req: &Request, full: &str, id: &str) -> Reply {
    let Some(id) = id
        .parse::<i64>()
        .ok()
        .filter(|id| f.comments.get(id).is_some_and(|c| c.repo == full))
    else {
        return err(404, "comment does not exist");
    };
    match req.method.as_str() {
        "GET" => {
            let items: Vec<Value> = f
                .talk
                .reactions
                .get(&id)
                .into_iter()
                .flatten()
                .map(|r| {
                    json!({"user": shapes::user(&r.user), "content": r.content, "created_at": r.at})
                })
                .collect();
            // Gitea encodes a nil slice when a comment has no reaction:
            // `var result []api.Reaction` … `ctx.JSON(http.StatusOK, result)`
            // (routers/api/v1/repo/issue_reaction.go,
            // GetIssueCommentReactions), so the body is `null`, not `[]`
            if items.is_empty() {
                return Reply::json(200, &Value::Null);
            }
            Reply::json(200, &Value::Array(items))
        }
        "POST" => {
            let content = req
                .json()
                .and_then(|b| b["content"].as_str().map(str::to_string))
                .unwrap_or_default();
            if !REACTIONS.contains(&content.as_str()) {
                return err(403, &format!("'{content}' is not an allowed reaction"));
            }
            let me = f.me.clone();
            let (rid, new) = f.react(id, &me, &content);
            let r = f.talk.reactions[&id].iter().find(|r| r.id == rid).unwrap();
            let v =
                json!({"user": shapes::user(&r.user), "content": r.content, "created_at": r.at});
            Reply::json(if new { 201 } else { 200 }, &v)
        }
        _ => not_found(),
    }
}
