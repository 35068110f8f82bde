//! A pull request's reviews (list, one), its line comments (one list for
//! the whole PR, each naming its review), bringing its branch up to date
//! (`PUT .../update-branch` with `expected_head_sha`: 202, or 422 as GitHub
//! words it), and reactions on an issue comment, in GitHub's shapes
//! (`github-review-subset.json`): states `APPROVED`, `CHANGES_REQUESTED`,
//! `COMMENTED`, `PENDING`, and `DISMISSED` for a dismissed review. Lists
//! are paged and, like every GET here, conditional (`ETag` / 304).

use super::shapes::{GH_TS, api, association, user, utc};
use super::{not_found, paged};
use crate::http::{Reply, Request};
use crate::model::{Forge, Repo};
use crate::reviews::{LineComment, Review, Updated, Verdict};
use serde_json::{Value, json};

const DOCS: &str = "https://docs.github.com/rest/pulls/pulls#update-a-pull-request-branch";

/// `/repos/{full}/pulls/{idx}/<tail>`: the pull request must exist first.
pub(super) fn serve(f: &mut Forge, req: &Request, full: &str, idx: &str, tail: &[&str]) -> Reply {
    let Ok(n) = idx.parse::<u64>() else {
        return not_found();
    };
    if !f.repos[full].issues.get(&n).is_some_and(|i| i.pull) {
        return not_found();
    }
    let r = &f.repos[full];
    match (req.method.as_str(), tail) {
        ("GET", ["reviews"]) => {
            let items = f
                .reviews_of(full, n)
                .into_iter()
                .map(|x| review(f, r, x))
                .collect();
            paged(f, req, items)
        }
        ("GET", ["reviews", id]) => match f.review(full, n, id) {
            Some(x) => Reply::json(200, &review(f, r, x)),
            None => not_found(),
        },
        // every submitted review's line comments, oldest first
        ("GET", ["comments"]) => {
            let items = f
                .reviews_of(full, n)
                .into_iter()
                .filter(|x| x.verdict != Verdict::Pending)
                .flat_map(|x| x.comments.iter().map(move |c| (x, c)))
                .map(|(x, c)| line_comment(f, r, x, c))
                .collect();
            paged(f, req, items)
        }
        ("PUT", ["update-branch"]) => update(f, req, full, n),
        _ => not_found(),
    }
}

/// 422 with GitHub's `validation-error` body.
fn refused(message: &str) -> Reply {
    Reply::json(422, &json!({"message": message, "documentation_url": DOCS}))
}

/// GitHub merges the base in (it cannot rebase here): 202 once accepted;
/// 422 when `expected_head_sha` is not the head, on a conflict, or when the
/// base has nothing new.
fn update(f: &mut Forge, req: &Request, full: &str, n: u64) -> Reply {
    let body = req.json().unwrap_or(Value::Null);
    let expected = body["expected_head_sha"].as_str();
    match f.update_branch(full, n, false, expected) {
        Ok(Updated::Moved) => {
            let url = format!("{}/{full}/pull/{n}", f.base);
            Reply::json(
                202,
                &json!({"message": "Updating pull request branch.", "url": url}),
            )
        }
        Ok(Updated::HeadMoved) => refused("expected head sha didn't match current head ref."),
        Ok(Updated::Conflict) => refused("merge conflict between base and head"),
        Ok(Updated::UpToDate) => refused("There are no new commits on the base branch."),
        Ok(Updated::NotOpen) => refused("Pull request is not open."),
        Err(e) => super::err(500, &e),
    }
}

fn state(x: &Review) -> &'static str {
    if x.dismissed {
        return "DISMISSED";
    }
    match x.verdict {
        Verdict::Approved => "APPROVED",
        Verdict::ChangesRequested => "CHANGES_REQUESTED",
        Verdict::Commented => "COMMENTED",
        Verdict::Pending => "PENDING",
    }
}

/// `pull-request-review`: a pending one has no `submitted_at`.
fn review(f: &Forge, r: &Repo, x: &Review) -> Value {
    let html = format!(
        "{}/{}/pull/{}#pullrequestreview-{}",
        f.base, x.repo, x.pr, x.id
    );
    let pr_url = format!("{}/repos/{}/pulls/{}", api(f), x.repo, x.pr);
    let mut v = json!({
        "id": x.id, "node_id": format!("PRR_{}", x.id), "user": user(f, &x.user),
        "body": x.body, "state": state(x), "html_url": html, "pull_request_url": pr_url,
        "_links": {"html": {"href": html}, "pull_request": {"href": pr_url}},
        "commit_id": x.commit, "author_association": association(r, &x.user),
    });
    if x.verdict != Verdict::Pending {
        v["submitted_at"] = json!(utc(&x.at));
    }
    v
}

/// `pull-request-review-comment`: on the new file's line (`RIGHT`). One a
/// push outdated (its review's commit is no longer the head) has no
/// `position` and no `line` (GitHub answers them null; its description
/// types them integer and requires neither, so the sandbox leaves them out:
/// a client reads both the same), its `commit_id` the head and its
/// `original_*` where it was written.
fn line_comment(f: &Forge, r: &Repo, x: &Review, c: &LineComment) -> Value {
    let u = format!("{}/repos/{}/pulls/comments/{}", api(f), x.repo, c.id);
    let html = format!("{}/{}/pull/{}#discussion_r{}", f.base, x.repo, x.pr, c.id);
    let pr_url = format!("{}/repos/{}/pulls/{}", api(f), x.repo, x.pr);
    let head = r
        .issues
        .get(&x.pr)
        .map(|i| f.head_sha(&x.repo, i))
        .unwrap_or_default();
    let outdated = !head.is_empty() && head != x.commit;
    let at = if outdated {
        head.as_str()
    } else {
        x.commit.as_str()
    };
    let mut v = json!({
        "url": u, "id": c.id, "node_id": format!("PRRC_{}", c.id),
        "pull_request_review_id": x.id, "diff_hunk": format!("@@ -{0},1 +{0},1 @@", c.line),
        "path": c.path, "position": c.line, "original_position": c.line,
        "commit_id": at, "original_commit_id": x.commit, "user": user(f, c.author(x)),
        "body": c.body, "created_at": utc(&c.at), "updated_at": utc(&c.at),
        "html_url": html, "pull_request_url": pr_url,
        "author_association": association(r, c.author(x)),
        "_links": {"self": {"href": u}, "html": {"href": html}, "pull_request": {"href": pr_url}},
        "start_line": null, "original_start_line": null, "start_side": null,
        "line": c.line, "original_line": c.line, "side": "RIGHT", "subject_type": "line",
    });
    if outdated {
        let o = v.as_object_mut().expect("an object");
        o.remove("position");
        o.remove("line");
    }
    // a reply names its thread's first comment; GitHub leaves the key out otherwise
    if let Some(root) = c.in_reply_to {
        v["in_reply_to_id"] = json!(root);
    }
    v
}

/// The reactions GitHub knows.
const REACTIONS: &[&str] = &[
    "+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes",
];

/// `reaction`
fn reaction(f: &Forge, id: i64, who: &str, content: &str, at: &str) -> Value {
    json!({"id": id, "node_id": format!("REA_{id}"), "user": user(f, who), "content": content,
           "created_at": if at.is_empty() { GH_TS.to_string() } else { utc(at) }})
}

/// `GET` (paged) or `POST` (`{content}`: 201 new, 200 when afk's account had
/// reacted so already; 422 for an unknown reaction)
/// `/repos/{full}/issues/comments/{id}/reactions`.
pub(super) fn reactions(f: &mut Forge, req: &Request, full: &str, id: &str) -> Reply {
    let Some(id) = id
        .parse::<i64>()
        .ok()
        .filter(|id| f.comments.get(id).is_some_and(|c| c.repo == full))
    else {
        return not_found();
    };
    match req.method.as_str() {
        "GET" => {
            let items = f
                .talk
                .reactions
                .get(&id)
                .into_iter()
                .flatten()
                .filter(|r| req.q("content").is_none_or(|c| c == r.content))
                .map(|r| reaction(f, r.id, &r.user, &r.content, &r.at))
                .collect();
            paged(f, req, items)
        }
        "POST" => {
            let content = req
                .json()
                .and_then(|b| b["content"].as_str().map(str::to_string))
                .unwrap_or_default();
            if !REACTIONS.contains(&content.as_str()) {
                return super::invalid("Reaction", "invalid", "content");
            }
            let me = f.me.clone();
            let (rid, new) = f.react(id, &me, &content);
            let at = f.talk.reactions[&id]
                .iter()
                .find(|r| r.id == rid)
                .map(|r| r.at.clone())
                .unwrap_or_default();
            let v = reaction(f, rid, &me, &content, &at);
            Reply::json(if new { 201 } else { 200 }, &v)
        }
        _ => not_found(),
    }
}

/// `POST /api/graphql`: the one query afk asks, a pull request's
/// `reviewThreads` (`isResolved`, each comment's `fullDatabaseId` or
/// `databaseId`), answered as
/// GitHub answers it; any other query gets GraphQL's own error shape. A
/// thread is a file's line on the PR: its line comments from every review,
/// resolved when the review holding its first comment was resolved.
pub(super) fn graphql(f: &Forge, req: &Request) -> Reply {
    let body: Value = req.json().unwrap_or(Value::Null);
    let query = body["query"].as_str().unwrap_or("");
    let vars = &body["variables"];
    if query.contains("lastEditedAt") {
        // `IC_<id>`: an issue comment's node id, edited once its `updated_at` is set
        let id = vars["id"]
            .as_str()
            .and_then(|i| i.strip_prefix("IC_"))
            .and_then(|i| i.parse::<i64>().ok());
        let node = match id.and_then(|i| f.comments.get(&i)) {
            Some(c) => json!({"lastEditedAt": c.updated_at}),
            None => Value::Null,
        };
        return Reply::json(200, &json!({"data": {"node": node}}));
    }
    if !query.contains("reviewThreads") {
        return Reply::json(
            200,
            &json!({"errors": [{"message": "the sandbox answers reviewThreads only"}]}),
        );
    }
    let full = format!(
        "{}/{}",
        vars["owner"].as_str().unwrap_or(""),
        vars["name"].as_str().unwrap_or("")
    );
    let pr = f.pr_key(vars["number"].as_u64().unwrap_or(0));
    let mut reviews: Vec<&Review> = f
        .talk
        .reviews
        .values()
        .filter(|r| r.repo.eq_ignore_ascii_case(&full) && r.pr == pr)
        .collect();
    reviews.sort_by_key(|r| r.id);
    let mut threads: Vec<((String, u64), bool, Vec<i64>)> = vec![];
    for r in reviews {
        for (i, c) in r.comments.iter().enumerate() {
            let key = (c.path.clone(), c.line);
            match threads.iter_mut().find(|t| t.0 == key) {
                Some(t) => t.2.push(c.id),
                None => threads.push((key, i == 0 && r.resolved_by.is_some(), vec![c.id])),
            }
        }
    }
    // pages of 100 threads; the cursor is the next thread's index
    let from = vars["after"]
        .as_str()
        .and_then(|c| c.strip_prefix("T"))
        .and_then(|c| c.parse::<usize>().ok())
        .unwrap_or(0);
    let total = threads.len();
    let to = (from + 100).min(total);
    let page_info = json!({"hasNextPage": to < total, "endCursor": format!("T{to}")});
    let nodes: Vec<Value> = threads
        .into_iter()
        .skip(from)
        .take(to.saturating_sub(from))
        .map(|(_, resolved, ids)| {
            // the field asked: `fullDatabaseId` a string, `databaseId` an
            // Int (null past 2^31-1, as GitHub cannot say it)
            let comments: Vec<Value> = ids
                .into_iter()
                .map(|id| match query.contains("fullDatabaseId") {
                    true => json!({"fullDatabaseId": id.to_string()}),
                    false => json!({"databaseId": i32::try_from(id).ok()}),
                })
                .collect();
            json!({"isResolved": resolved, "comments": {"nodes": comments}})
        })
        .collect();
    Reply::json(
        200,
        &json!({"data": {"repository": {"pullRequest": {"reviewThreads": {"pageInfo": page_info, "nodes": nodes}}}}}),
    )
}
