//! The admin calls only GitLab's model has: a person starts a thread on an
//! issue or merge request (resolvable on a merge request, on a line of the
//! diff with `path` and `line`), replies in it, resolves it, and awards an
//! emoji on a note. Numbers are each kind's own: `issue` an issue's iid,
//! `pr` a merge request's.

use crate::err;
use crate::http::Reply;
use crate::model::Forge;
use serde_json::{Value, json};

fn item(f: &Forge, body: &Value) -> u64 {
    match body["pr"].as_u64() {
        Some(pr) => f.pr_key(pr),
        None => body["issue"].as_u64().unwrap_or(0),
    }
}

fn user(body: &Value) -> String {
    body["user"]
        .as_str()
        .or(body["by"].as_str())
        .unwrap_or("alice")
        .to_string()
}

/// `POST /_admin/discussion {repo, issue | pr, body, user = alice,
/// resolvable = on a merge request, path?, line?}` → `{id, note_id}`: `id`
/// the discussion's (40 hex digits).
pub(crate) fn discussion(f: &mut Forge, body: &Value) -> Reply {
    let repo = body["repo"].as_str().unwrap_or("");
    let n = item(f, body);
    let resolvable = body["resolvable"]
        .as_bool()
        .unwrap_or(n > crate::model::gitlab::MR_KEYS);
    let position = body["path"]
        .as_str()
        .map(|p| (p.to_string(), body["line"].as_u64().unwrap_or(1)));
    let text = body["body"].as_str().unwrap_or("");
    match f.start_thread(repo, n, text, &user(body), resolvable, position) {
        Ok(id) => Reply::json(
            201,
            &json!({"id": super::shapes::discussion_id(id), "note_id": id}),
        ),
        Err(e) => err(400, &e),
    }
}

/// The first note of the thread `discussion` names (its 40 hex digits).
fn first(body: &Value) -> i64 {
    body["discussion"]
        .as_str()
        .and_then(|d| i64::from_str_radix(d, 16).ok())
        .unwrap_or(0)
}

/// `POST /_admin/discussion_note {discussion, body, user = alice}` → `{note_id}`
pub(crate) fn discussion_note(f: &mut Forge, body: &Value) -> Reply {
    let text = body["body"].as_str().unwrap_or("");
    match f.reply(first(body), text, &user(body)) {
        Ok(id) => Reply::json(201, &json!({"note_id": id})),
        Err(e) => err(404, &e),
    }
}

/// `POST /_admin/resolve {discussion, resolved = true, user = alice}`: the
/// thread's notes' `updated_at` move, as GitLab's do.
pub(crate) fn resolve(f: &mut Forge, body: &Value) -> Reply {
    let resolved = body["resolved"].as_bool().unwrap_or(true);
    match f.resolve(first(body), resolved, &user(body)) {
        Ok(()) => Reply::json(200, &json!({"ok": true})),
        Err(e) => err(404, &e),
    }
}

/// `POST /_admin/award {note, name, user = alice, remove = false}` →
/// `{id}`: an award emoji on a note, or with `remove` the user's award of
/// that name taken back (`{id}` of the award removed); either moves the
/// note's `updated_at`, as `AwardEmoji`'s `after_save` and
/// `after_destroy` bump it on GitLab.
pub(crate) fn award(f: &mut Forge, body: &Value) -> Reply {
    let note = body["note"].as_i64().unwrap_or(0);
    let name = body["name"].as_str().unwrap_or("thumbsup");
    if !f.comments.contains_key(&note) {
        return err(404, "no such note");
    }
    if body["remove"] == true {
        let who = user(body);
        let Some(id) = f
            .talk
            .reactions
            .get(&note)
            .and_then(|all| all.iter().find(|a| a.user == who && a.content == name))
            .map(|a| a.id)
        else {
            return err(404, "no such award");
        };
        f.talk
            .reactions
            .get_mut(&note)
            .unwrap()
            .retain(|a| a.id != id);
        let at = f.stamp();
        f.comments.get_mut(&note).unwrap().updated_at = Some(at);
        return Reply::json(200, &json!({"id": id}));
    }
    let (id, _) = f.react(note, &user(body), name);
    let at = f.talk.reactions[&note]
        .iter()
        .find(|a| a.id == id)
        .map(|a| a.at.clone());
    f.comments.get_mut(&note).unwrap().updated_at = at;
    Reply::json(201, &json!({"id": id}))
}

/// `POST /_admin/milestone {repo, issue, title, user = alice, after = 60}`:
/// a person sets the issue's milestone `after` seconds past the last stamp.
/// As on GitLab, the issue's `updated_at` moves and the one record of it is
/// a `resource_milestone_event` (no note).
pub(crate) fn milestone(f: &mut Forge, body: &Value) -> Reply {
    let repo = body["repo"].as_str().unwrap_or("").to_string();
    let n = item(f, body);
    if f.repos
        .get(&repo)
        .is_none_or(|r| !r.issues.contains_key(&n))
    {
        return err(404, "no such issue");
    }
    let after = body["after"].as_i64().unwrap_or(60);
    let (id, at, who) = (f.id(), f.stamp_after(after), user(body));
    let title = body["title"].as_str().unwrap_or("v1").to_string();
    let issue = f.repos.get_mut(&repo).unwrap().issues.get_mut(&n).unwrap();
    issue.updated_at = Some(at.clone());
    // `kind`: a weight or an iteration (GitLab Premium's events) in place
    // of a milestone
    let kind = match body["kind"].as_str() {
        Some("weight") => "weight",
        Some("iteration") => "iteration",
        _ => {
            f.gl.milestones
                .entry((repo, n))
                .or_default()
                .push((id, who, at, title));
            return Reply::json(201, &json!({"id": id}));
        }
    };
    f.gl.premium
        .entry((repo, n))
        .or_default()
        .push((kind, id, who, at, title));
    Reply::json(201, &json!({"id": id}))
}

/// `POST /_admin/merge_ref {repo, pr}` -> `{sha, ref}`: GitLab's merged
/// results (`MergeRequests::MergeToRefService`): the merge of the merge
/// request's head into its target, parents the target's head then the
/// request's, at `refs/merge-requests/N/merge`, moving no branch. Statuses
/// posted on that commit make the request's merged results pipeline.
pub(crate) fn merge_ref(f: &mut Forge, body: &Value) -> Reply {
    let repo = body["repo"].as_str().unwrap_or("").to_string();
    let n = item(f, body);
    let Some(i) = f
        .repos
        .get(&repo)
        .and_then(|r| r.issues.get(&n))
        .filter(|i| i.pull)
    else {
        return err(404, "no such merge request");
    };
    let (base, head) = (i.base.clone(), i.head.clone().unwrap_or_default());
    let iid = Forge::shown(n);
    let message = format!("Merge branch '{head}' into '{base}'");
    let gd = f.git_dir(&repo);
    let sha = match crate::git::merge_commit(&gd, &base, &head, &message, None) {
        Ok(sha) => sha,
        Err(e) => return err(400, &e),
    };
    let name = format!("refs/merge-requests/{iid}/merge");
    if let Err(e) = crate::git::git(&gd, &["update-ref", &name, &sha], None) {
        return err(500, &e);
    }
    f.gl.merge_refs.insert((repo, sha.clone()), n);
    Reply::json(200, &json!({"sha": sha, "ref": name}))
}
