//! The sandbox's GitLab answers carry every field afk's GitLab client reads,
//! with the JSON type GitLab's documentation pages give it (#59).
//! `tests/contracts/gitlab-v4-subset.json` transcribes GitLab's generated
//! description without its response definitions (`x-not-copied`), so the
//! fields are listed here with the page that documents them;
//! `contract_gitlab.rs` checks the requests.

use crate::support::*;
use serde_json::{Value, json};

/// The fields afk's GitLab client reads of each answer (its `Wire*`
/// structs and `gitlab_talk`), with their JSON types as GitLab's pages
/// document them: `i` integer, `s` string, `b` boolean, `a` array, `o`
/// object; `?` may be null; a leading `~` may be absent (GitLab leaves it
/// out in that context).
/// (the page, the path read, the fields: (name, type))
type Reads = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

const READS: &[Reads] = &[
    (
        "users.md",
        "/user",
        &[("id", "i"), ("username", "s"), ("state", "s"), ("bot", "b")],
    ),
    (
        "users.md",
        "/users?username=alice",
        &[("[0].id", "i"), ("[0].username", "s")],
    ),
    (
        "projects.md",
        "/projects/acme%2Fapi",
        &[
            ("id", "i"),
            ("path_with_namespace", "s"),
            ("default_branch", "s"),
            ("visibility", "s"),
        ],
    ),
    (
        "members.md",
        "/projects/acme%2Fapi/members/all/{alice}",
        &[("access_level", "i"), ("state", "s")],
    ),
    (
        "labels.md",
        "/projects/acme%2Fapi/labels",
        &[("[0].id", "i"), ("[0].name", "s")],
    ),
    (
        "issues.md",
        "/projects/acme%2Fapi/issues/2",
        &[
            ("id", "i"),
            ("iid", "i"),
            ("title", "s"),
            ("description", "s?"),
            ("state", "s"),
            ("labels", "a"),
            ("web_url", "s"),
            ("author.username", "s"),
            ("updated_at", "s"),
            ("references.full", "s"),
        ],
    ),
    (
        "issue_links.md",
        "/projects/acme%2Fapi/issues/2/links",
        &[("[0].iid", "i"), ("[0].state", "s"), ("[0].link_type", "s")],
    ),
    (
        "resource_label_events.md",
        "/projects/acme%2Fapi/issues/2/resource_label_events",
        &[
            ("[0].id", "i"),
            ("[0].user.username", "s"),
            ("[0].created_at", "s"),
            ("[0].label.id", "i"),
            ("[0].label.name", "s"),
            ("[0].action", "s"),
        ],
    ),
    (
        "notes.md",
        "/projects/acme%2Fapi/issues/2/notes",
        &[
            ("[0].id", "i"),
            ("[0].body", "s"),
            ("[0].author.username", "s"),
            ("[0].created_at", "s"),
            ("[0].updated_at", "s"),
            ("[0].system", "b"),
            ("[0].~resolved_at", "s?"),
        ],
    ),
    (
        "emoji_reactions.md",
        "/projects/acme%2Fapi/issues/2/notes/{note}/award_emoji",
        &[("[0].name", "s"), ("[0].created_at", "s")],
    ),
    (
        "merge_requests.md",
        "/projects/acme%2Fapi/merge_requests/1?include_rebase_in_progress=true",
        &[
            ("iid", "i"),
            ("state", "s"),
            ("sha", "s"),
            ("merge_commit_sha", "s?"),
            ("squash_commit_sha", "s?"),
            ("source_branch", "s"),
            ("target_branch", "s"),
            ("source_project_id", "i"),
            ("target_project_id", "i"),
            ("description", "s?"),
            ("web_url", "s"),
            ("author.username", "s"),
            ("merged_at", "s?"),
            ("updated_at", "s"),
            ("detailed_merge_status", "s"),
            ("has_conflicts", "b"),
            ("rebase_in_progress", "b"),
            ("merge_error", "s?"),
            ("head_pipeline", "o?"),
        ],
    ),
    (
        "merge_requests.md",
        "/projects/acme%2Fapi/merge_requests/1/pipelines",
        &[
            ("[0].id", "i"),
            ("[0].sha", "s"),
            ("[0].ref", "s"),
            ("[0].status", "s"),
            ("[0].web_url", "s"),
            ("[0].updated_at", "s"),
            ("[0].source", "s"),
        ],
    ),
    (
        "merge_requests.md",
        "/projects/acme%2Fapi/merge_requests/1/reviewers",
        &[("[0].user.username", "s"), ("[0].state", "s")],
    ),
    (
        "discussions.md",
        "/projects/acme%2Fapi/merge_requests/1/discussions",
        &[
            ("[0].individual_note", "b"),
            ("[0].notes", "a"),
            ("[0].notes[0].id", "i"),
            ("[0].notes[0].body", "s"),
            ("[0].notes[0].author.username", "s"),
            ("[0].notes[0].created_at", "s"),
            ("[0].notes[0].system", "b"),
            ("[0].notes[0].resolvable", "b"),
            ("[0].notes[0].~resolved", "b"),
            ("[0].notes[0].~position.new_path", "s?"),
            ("[0].notes[0].~position.new_line", "i?"),
        ],
    ),
    (
        "commits.md",
        "/projects/acme%2Fapi/repository/commits/{sha}/statuses",
        &[
            ("[0].id", "i"),
            ("[0].name", "s"),
            ("[0].status", "s"),
            ("[0].target_url", "s?"),
            ("[0].description", "s?"),
            ("[0].created_at", "s"),
            ("[0].finished_at", "s?"),
        ],
    ),
    (
        "commits.md",
        "/projects/acme%2Fapi/repository/commits?ref_name=afk%2Fissue-2",
        &[
            ("[0].id", "s"),
            ("[0].message", "s"),
            ("[0].committed_date", "s"),
        ],
    ),
    (
        "commits.md",
        "/projects/acme%2Fapi/repository/commits/{sha}/diff",
        &[
            ("[0].old_path", "s"),
            ("[0].new_path", "s"),
            ("[0].diff", "s"),
            ("[0].new_file", "b"),
            ("[0].deleted_file", "b"),
        ],
    ),
    (
        "branches.md",
        "/projects/acme%2Fapi/repository/branches/afk%2Fissue-2",
        &[
            ("name", "s"),
            ("commit.id", "s"),
            ("commit.message", "s"),
            ("commit.committer_name", "s"),
            ("commit.committer_email", "s"),
        ],
    ),
    (
        "personal_access_tokens.md",
        "/personal_access_tokens/self",
        &[
            ("scopes", "a"),
            ("expires_at", "s?"),
            ("active", "b"),
            ("revoked", "b"),
        ],
    ),
];

/// The value at `path` (`a.b`, `[0].c`; a `~` segment may be absent): None
/// when absent.
fn at<'a>(v: &'a Value, path: &str) -> Result<Option<&'a Value>, String> {
    let mut cur = v;
    for part in path.split('.') {
        let (part, optional) = match part.strip_prefix('~') {
            Some(p) => (p, true),
            None => (part, false),
        };
        let (name, index) = match part.split_once('[') {
            Some((n, i)) => (n, i.trim_end_matches(']').parse::<usize>().ok()),
            None => (part, None),
        };
        if !name.is_empty() {
            match cur.get(name) {
                Some(x) => cur = x,
                None if optional => return Ok(None),
                None => return Err(format!("{path}: no \"{name}\"")),
            }
        }
        if let Some(i) = index {
            cur = cur.get(i).ok_or(format!(
                "{path}: no item {i} (an empty list proves nothing)"
            ))?;
        }
    }
    Ok(Some(cur))
}

/// Whether `v` has JSON type `ty` (`s`, `i`, `b`, `a`, `o`, `?` nullable).
fn typed(v: &Value, ty: &str) -> bool {
    if v.is_null() {
        return ty.ends_with('?');
    }
    match ty.trim_end_matches('?') {
        "s" => v.is_string(),
        "i" => v.is_i64() || v.is_u64(),
        "b" => v.is_boolean(),
        "a" => v.is_array(),
        "o" => v.is_object(),
        _ => false,
    }
}

/// The sandbox's GitLab answers carry every field afk's client reads, with
/// the type GitLab documents, for each answer afk reads (the contract's
/// response definitions were not copied: `x-not-copied`).
#[test]
fn the_sandbox_answers_carry_every_field_afk_reads() {
    let sb = Sandbox::start_in(
        Dialect::Gitlab,
        json!({"repos": [repo("acme/api", json!([
            {"number": 1, "title": "blocker"},
            {"number": 2, "title": "t", "body": "b", "labels": ["ready-for-agent"], "labeled_by": "alice", "depends_on": [1]},
        ]))]}),
    );
    let sha = sb.push_commit("acme/api", "afk/issue-2", "fix.txt");
    sb.status("acme/api", "afk/issue-2", "build", "failure");
    let (code, mr) = sb.api_call(
        "POST",
        "/projects/acme%2Fapi/merge_requests",
        Some(json!({"source_branch": "afk/issue-2", "target_branch": "main", "title": "t (#2)", "description": "Closes #2"})),
    );
    assert_eq!(code, 201, "{mr}");
    let note = sb.comment_on("acme/api", On::Issue(2), "alice", "/afk hold");
    let (code, v) = sb.api_call(
        "POST",
        &format!("/projects/acme%2Fapi/issues/2/notes/{note}/award_emoji"),
        Some(json!({"name": "eyes"})),
    );
    assert_eq!(code, 201, "{v}");
    sb.admin(
        "POST",
        "/review",
        Some(
            json!({"repo": "acme/api", "pr": 1, "user": "alice", "state": "requested_changes",
                    "body": "b", "comments": [{"path": "fix.txt", "line": 1, "body": "here"}]}),
        ),
    );
    let (_, alice) = sb.api("/users?username=alice");
    let alice = alice[0]["id"].to_string();
    let mut problems = vec![];
    for (page, path, fields) in READS {
        let path = path
            .replace("{alice}", &alice)
            .replace("{note}", &note.to_string())
            .replace("{sha}", &sha);
        let (status, v) = sb.api(&path);
        assert_eq!(status, 200, "{path}: {v}");
        for (field, ty) in fields.iter() {
            match at(&v, field) {
                Ok(Some(x)) if !typed(x, ty) => {
                    problems.push(format!("{path} ({page}): {field} is {x}, not {ty}"))
                }
                Ok(_) => {}
                Err(e) => problems.push(format!("{path} ({page}): {e}")),
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The check can fail: an absent field, an empty list, a wrong type.
#[test]
fn the_answer_checker_catches_drift() {
    let v = json!({"iid": 1, "notes": [], "head_pipeline": null});
    assert!(at(&v, "sha").is_err());
    assert!(at(&v, "notes[0].id").is_err());
    assert_eq!(at(&v, "~sha"), Ok(None));
    assert!(!typed(&v["iid"], "s") && typed(&v["iid"], "i"));
    assert!(!typed(&v["head_pipeline"], "o") && typed(&v["head_pipeline"], "o?"));
}
