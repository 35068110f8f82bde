//! A pull request's conversation: threads (a `status` or none, a file
//! context, `isDeleted`) and their comments (`commentType` `text` or
//! `system`, `publishedDate`, `lastUpdatedDate` that a like or a status
//! moves, `lastContentUpdatedDate` that only an edit moves, `usersLiked`),
//! likes, and the reviewers with their votes (10, 5, 0, -5, -10).

use super::{err, list, no_content, no_route, now, project_api};
use crate::http::{Reply, Request};
use crate::model::Forge;
use crate::model::azure::{Mirror, Pr, Thread, ThreadComment, repo_id, split};
use serde_json::{Value, json};

/// The votes a reviewer may give.
pub(crate) const VOTES: [i64; 5] = [10, 5, 0, -5, -10];

/// `pullRequests/{n}/threads/<low>`.
pub(super) fn serve(f: &mut Forge, req: &Request, n: u64, low: &[&str]) -> Reply {
    match (req.method.as_str(), low) {
        ("GET", []) => {
            let items: Vec<Value> =
                f.az.threads
                    .values()
                    .filter(|t| t.pr == n)
                    .map(|t| thread_json(f, t))
                    .collect();
            Reply::json(200, &list(items))
        }
        ("POST", []) => create(f, req, n),
        (_, [tid, tail @ ..]) => {
            let Some(t) = tid
                .parse::<u64>()
                .ok()
                .filter(|t| f.az.threads.get(t).is_some_and(|x| x.pr == n))
            else {
                return err(
                    404,
                    "CommentThreadNotFoundException",
                    &format!("TF401181: The thread {tid} was not found."),
                );
            };
            match (req.method.as_str(), tail) {
                ("GET", []) => Reply::json(200, &thread_json(f, &f.az.threads[&t])),
                ("POST", ["comments"]) => reply(f, req, t),
                ("PATCH", ["comments", cid]) => edit(f, req, t, cid),
                ("GET", ["comments", cid, "likes"]) => likes(f, t, cid),
                ("POST", ["comments", cid, "likes"]) => like(f, t, cid),
                _ => no_route(),
            }
        }
        _ => no_route(),
    }
}

fn comment_json(f: &Forge, t: &Thread, c: &ThreadComment) -> Value {
    let who = |id: &str| {
        f.az.by_id(id)
            .map(|i| i.as_ref(&f.base))
            .unwrap_or(Value::Null)
    };
    let pr = &f.az.prs[&t.pr];
    let url = format!(
        "{}/git/repositories/{}/pullRequests/{}/threads/{}/comments/{}",
        project_api(f, split(&pr.repo).0),
        repo_id(&pr.repo),
        pr.id,
        t.id,
        c.id
    );
    json!({"id": c.id, "parentCommentId": c.parent, "author": who(&c.by), "content": c.content,
        "publishedDate": c.published, "lastUpdatedDate": c.updated, "lastContentUpdatedDate": c.content_updated,
        "commentType": c.kind, "usersLiked": c.liked.iter().map(|l| who(l)).collect::<Vec<_>>(),
        "isDeleted": c.deleted, "_links": {"self": {"href": url}}})
}

pub(crate) fn thread_json(f: &Forge, t: &Thread) -> Value {
    let mut v = json!({"id": t.id, "publishedDate": t.published, "lastUpdatedDate": t.updated,
        "comments": t.comments.iter().map(|c| comment_json(f, t, c)).collect::<Vec<_>>(),
        "threadContext": t.context, "properties": t.properties, "isDeleted": t.deleted,
        "pullRequestThreadContext": null});
    if let Some(s) = &t.status {
        v["status"] = json!(s);
    }
    v
}

const STATUSES: &[&str] = &[
    "active", "pending", "fixed", "wontFix", "closed", "byDesign", "unknown",
];

/// `POST threads`: `{comments: [{content, parentCommentId, commentType}], status, threadContext}`.
fn create(f: &mut Forge, req: &Request, n: u64) -> Reply {
    let b = req.json().unwrap_or(Value::Null);
    let Some(content) = b["comments"][0]["content"].as_str() else {
        return err(
            400,
            "VssPropertyValidationException",
            "A thread needs a first comment with content.",
        );
    };
    if let Some(refused) = super::too_long(f, content) {
        return refused;
    }
    let status = b["status"].as_str();
    if status.is_some_and(|s| !STATUSES.contains(&s)) {
        return err(
            400,
            "InvalidArgumentValueException",
            "The thread status is not one the service knows.",
        );
    }
    let me = f.me.clone();
    let by = f.az.ensure(&me);
    let context = b["threadContext"].clone();
    let t = f.az_new_thread(
        n,
        &by,
        content,
        status.filter(|s| *s != "unknown"),
        context,
        "text",
    );
    f.az_comment_event(n, t, 1);
    ci_hears(f, n, content);
    // the shared model's pull request has it too, under the thread's id
    // (ids are the organization's): what `/state` shows of afk's comments
    let at = f.az.threads[&t].published.clone();
    mirror(f, n, (t as i64, Mirror::Thread(t)), (&me, content, at));
    Reply::json(200, &thread_json(f, &f.az.threads[&t]))
}

/// afk's comment on pull request `pr` as the shared model's comment `id`
/// (`/state`), shown on the service as `shown`.
fn mirror(
    f: &mut Forge,
    pr: u64,
    (id, shown): (i64, Mirror),
    (user, body, at): (&str, &str, String),
) {
    let Some((repo, issue)) = f.az.prs.get(&pr).map(|p| (p.repo.clone(), p.number)) else {
        return;
    };
    let c = crate::model::Comment {
        id,
        repo,
        issue,
        body: body.to_string(),
        user: user.to_string(),
        created_at: at,
        updated_at: None,
    };
    f.comments.insert(id, c);
    f.az.mirrored.insert(id, shown);
}

/// The CI's test trigger (`/_admin/ci`) heard in a comment on pull
/// request `n`, as in a comment on the shared model's pull request.
fn ci_hears(f: &mut Forge, n: u64, content: &str) {
    let Some((repo, number)) = f.az.prs.get(&n).map(|p| (p.repo.clone(), p.number)) else {
        return;
    };
    f.ci_answer(&repo, number, content);
}

/// A comment in thread `t` by identity `by`; its id.
pub(crate) fn add_reply(f: &mut Forge, t: u64, by: &str, content: &str, parent: u64) -> u64 {
    let at = now(f);
    let Some(th) = f.az.threads.get_mut(&t) else {
        return 0;
    };
    let id = th.comments.iter().map(|c| c.id).max().unwrap_or(0) + 1;
    th.comments.push(ThreadComment {
        id,
        parent,
        by: by.to_string(),
        content: content.to_string(),
        kind: "text".into(),
        published: at.clone(),
        content_updated: at.clone(),
        updated: at.clone(),
        deleted: false,
        liked: vec![],
    });
    th.updated = at;
    id
}

fn reply(f: &mut Forge, req: &Request, t: u64) -> Reply {
    let b = req.json().unwrap_or(Value::Null);
    let Some(content) = b["content"].as_str() else {
        return err(
            400,
            "VssPropertyValidationException",
            "A comment needs content.",
        );
    };
    if let Some(refused) = super::too_long(f, content) {
        return refused;
    }
    let me = f.me.clone();
    let by = f.az.ensure(&me);
    let parent = b["parentCommentId"].as_u64().unwrap_or(0);
    let id = add_reply(f, t, &by, content, parent);
    let pr = f.az.threads[&t].pr;
    f.az_comment_event(pr, t, id);
    ci_hears(f, pr, content);
    // the shared model's pull request has afk's reply too, as a comment of
    // its own (an organization's id): what `/state` shows of afk's comments
    if f.az.prs.contains_key(&pr) {
        let shared = f.id();
        let at = f.az.threads[&t].updated.clone();
        mirror(f, pr, (shared, Mirror::Reply(t, id)), (&me, content, at));
    }
    let th = &f.az.threads[&t];
    let c = th
        .comments
        .iter()
        .find(|c| c.id == id)
        .expect("the comment just made");
    Reply::json(200, &comment_json(f, th, c))
}

/// `PATCH comments/{id}`: `{content}`, afk's own comments only.
fn edit(f: &mut Forge, req: &Request, t: u64, cid: &str) -> Reply {
    let b = req.json().unwrap_or(Value::Null);
    let Some(content) = b["content"].as_str() else {
        return err(
            400,
            "VssPropertyValidationException",
            "A comment needs content.",
        );
    };
    if let Some(refused) = super::too_long(f, content) {
        return refused;
    }
    let at = super::utc(&f.edit_stamp());
    let me = f.me.clone();
    let me_id = f.az.ensure(&me);
    let id = cid.parse::<u64>().unwrap_or(0);
    let Some(c) =
        f.az.threads
            .get_mut(&t)
            .and_then(|th| th.comments.iter_mut().find(|c| c.id == id))
    else {
        return err(
            404,
            "CommentNotFoundException",
            &format!("The comment {cid} was not found."),
        );
    };
    if c.by != me_id {
        return err(
            403,
            "UnauthorizedAccessException",
            "TF401027: You need the Git 'PullRequestContribute' permission to edit another's comment.",
        );
    }
    c.content = content.to_string();
    c.content_updated = at.clone();
    c.updated = at.clone();
    // a thread's first comment, and afk's reply, are the shared model's too
    let shown = f.az.mirrored.iter().find(|(_, m)| match **m {
        Mirror::Thread(th) => th == t && id == 1,
        Mirror::Reply(th, c) => th == t && c == id,
        Mirror::Item(_) => false,
    });
    if let Some(c) = shown.and_then(|(cid, _)| f.comments.get_mut(cid)) {
        c.body = content.to_string();
        c.updated_at = Some(at);
    }
    let th = &f.az.threads[&t];
    let c = th
        .comments
        .iter()
        .find(|c| Some(c.id) == cid.parse::<u64>().ok())
        .expect("the comment");
    Reply::json(200, &comment_json(f, th, c))
}

fn likes(f: &Forge, t: u64, cid: &str) -> Reply {
    let th = &f.az.threads[&t];
    let Some(c) = th
        .comments
        .iter()
        .find(|c| Some(c.id) == cid.parse::<u64>().ok())
    else {
        return err(
            404,
            "CommentNotFoundException",
            &format!("The comment {cid} was not found."),
        );
    };
    let users: Vec<Value> = c
        .liked
        .iter()
        .filter_map(|id| f.az.by_id(id))
        .map(|i| i.as_ref(&f.base))
        .collect();
    Reply::json(200, &list(users))
}

/// `POST likes`: afk's like; one already there is no error. Moves only
/// `lastUpdatedDate`.
fn like(f: &mut Forge, t: u64, cid: &str) -> Reply {
    let at = now(f);
    let me = f.me.clone();
    let me_id = f.az.ensure(&me);
    let id = cid.parse::<u64>().unwrap_or(0);
    let Some(c) =
        f.az.threads
            .get_mut(&t)
            .and_then(|th| th.comments.iter_mut().find(|c| c.id == id))
    else {
        return err(
            404,
            "CommentNotFoundException",
            &format!("The comment {cid} was not found."),
        );
    };
    if !c.liked.contains(&me_id) {
        c.liked.push(me_id);
        c.updated = at;
    }
    no_content()
}

/// Each reviewer with their vote (`IdentityRefWithVote`).
pub(crate) fn reviewer_list(f: &Forge, p: &Pr) -> Vec<Value> {
    let api = project_api(f, split(&p.repo).0);
    p.votes
        .iter()
        .filter_map(|(id, vote)| {
            let i = f.az.by_id(id)?;
            let mut v = i.as_ref(&f.base);
            v["vote"] = json!(vote);
            v["hasDeclined"] = json!(false);
            v["isFlagged"] = json!(false);
            v["isRequired"] = json!(false);
            v["reviewerUrl"] = json!(format!(
                "{api}/git/repositories/{}/pullRequests/{}/reviewers/{id}",
                repo_id(&p.repo),
                p.id
            ));
            if i.kind == crate::model::azure::Kind::Group {
                // a group's vote rolls up its members'
                let members: Vec<Value> = p
                    .votes
                    .iter()
                    .filter(|(m, _)| {
                        f.az.by_id(m).is_some_and(|x| {
                            i.members.iter().any(|n| n.eq_ignore_ascii_case(&x.name))
                        })
                    })
                    .filter_map(|(m, mv)| {
                        let mut r = f.az.by_id(m)?.as_ref(&f.base);
                        r["vote"] = json!(mv);
                        Some(r)
                    })
                    .collect();
                v["votedFor"] = json!(members);
            }
            Some(v)
        })
        .collect()
}

pub(super) fn reviewers(f: &Forge, n: u64) -> Reply {
    Reply::json(200, &list(reviewer_list(f, &f.az.prs[&n])))
}

/// The group the service writes its system threads as.
const SERVICE_ACCOUNTS: &str = "[DefaultCollection]\\Project Collection Service Accounts";

/// Reviewer `by` votes `vote` on pull request `n`: the vote and the system
/// comment the service writes for it (a thread of its own).
pub(crate) fn vote(f: &mut Forge, n: u64, by: &str, vote: i64, system: bool) -> Result<(), String> {
    if !VOTES.contains(&vote) {
        return Err(format!("vote {vote}: one of 10, 5, 0, -5, -10"));
    }
    let p = f.az.prs.get_mut(&n).ok_or(format!("no pull request {n}"))?;
    p.votes.insert(by.to_string(), vote);
    if !system {
        return Ok(());
    }
    let name = f.az.by_id(by).map(|i| i.name.clone()).unwrap_or_default();
    let word = match vote {
        10 => "approved",
        5 => "approved with suggestions",
        -5 => "is waiting for the author",
        -10 => "rejected",
        _ => "reset their vote",
    };
    let text = format!("{name} {word}");
    // the service writes it as its own group, never as the voter, and names
    // the voter in the thread's properties (vsts-rest-api-specs
    // `git/7.1/httpExamples/pullRequestThreads/GET__…_threads.json`,
    // thread 143)
    let service = f.az.group(SERVICE_ACCOUNTS);
    let t = f.az_new_thread(n, &service, &text, None, Value::Null, "system");
    if let Some(th) = f.az.threads.get_mut(&t) {
        th.context = Value::Null;
        // the property bag the service writes on a vote's thread (the
        // contract's `PropertiesCollection`: a value's `$type` and `$value`)
        let prop = |v: String| json!({"$type": "System.String", "$value": v});
        th.properties = json!({
            "CodeReviewThreadType": prop("VoteUpdate".into()),
            "CodeReviewVoteResult": prop(vote.to_string()),
            "CodeReviewVotedByTfId": prop(by.to_string()),
            "CodeReviewVotedByDisplayName": prop(name),
        });
    }
    Ok(())
}
