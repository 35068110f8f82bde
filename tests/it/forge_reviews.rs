//! The forge client's reads and writes of the conversation on a PR
//! (docs/reviews.md), in both dialects against the sandbox: reviews with one
//! normalised state, their line comments (bounded: outside text), a reaction, a
//! branch update and its refusals, `mergeable`; on GitHub the lists
//! conditional.

use crate::support::*;
use afk::forge::http::{Cached, ConditionalCache};
use afk::forge::{BranchUpdate, Forge, ReviewState, Target, UpdateStyle};
use afk::types::{IssueNumber, PrNumber, RepoName};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The etags a client keeps, shared with the test so two clients (two
/// ticks) can use one.
#[derive(Clone, Default)]
pub(crate) struct Etags(Arc<Mutex<HashMap<String, Cached>>>);

impl ConditionalCache for Etags {
    fn get(&self, url: &str) -> Option<Cached> {
        self.0.lock().unwrap().get(url).cloned()
    }
    fn put(&self, url: &str, entry: Cached) {
        self.0.lock().unwrap().insert(url.to_string(), entry);
    }
}

/// The client afk builds for the sandbox's dialect, keeping its etags in
/// `etags`: the forge kind's profile picks the client and the forge.
pub(crate) fn client(sb: &Sandbox, etags: &Etags) -> Box<dyn Forge> {
    let profile = sb.dialect.profile();
    let t = Duration::from_secs(10);
    let mut h = profile.client(&sb.api_url(), TOKEN, "AFK_FORGE_TOKEN", t, 0);
    h.set_cache(Box::new(etags.clone()));
    (profile.forge)(h)
}

fn repo() -> RepoName {
    RepoName::parse("acme/api").unwrap()
}

/// A PR on `afk/issue-1` with a comment on its issue; returns (sandbox, pr, comment, head).
fn with_pr() -> (Sandbox, u64, i64, String) {
    let sb = Sandbox::start(json!({"repos": [{"name": "acme/api",
        "collaborators": {"alice": "write", "bob": "write"}, "issues": [ready(1, "alice")]}]}));
    let head = sb.push_commit("acme/api", "afk/issue-1", "fix.txt");
    let pr = sb.open_pr("acme/api", "afk/issue-1", "Closes #1");
    let c = sb.admin(
        "POST",
        "/comment",
        Some(json!({"repo": "acme/api", "issue": 1, "body": "/afk fix it", "user": "alice"})),
    );
    (sb, pr, c["id"].as_i64().unwrap(), head)
}

fn review(sb: &Sandbox, pr: u64, body: Value) -> i64 {
    let mut b = body;
    b["repo"] = json!("acme/api");
    b["pr"] = json!(pr);
    sb.admin("POST", "/review", Some(b))["id"].as_i64().unwrap()
}

both_dialects! {
    #[test]
    fn reviews_read_with_one_state_their_author_commit_and_line_comments() {
        let (sb, pr, _, head) = with_pr();
        let alice = review(&sb, pr, json!({"user": "alice", "state": "REQUEST_CHANGES",
            "body": "please rename", "comments": [
                {"path": "fix.txt", "line": 1, "body": "not this name"},
                {"path": "README.md", "line": 2, "body": "and say why"}]}));
        let bob = review(&sb, pr, json!({"user": "bob", "state": "APPROVED"}));
        sb.admin("POST", "/dismiss", Some(json!({"review": bob})));
        review(&sb, pr, json!({"user": "carol", "state": "COMMENT", "body": "nice", "commit": "abc"}));
        review(&sb, pr, json!({"user": "dave", "state": "PENDING"}));
        let f = client(&sb, &Etags::default());
        let read = f.reviews(&repo(), PrNumber(pr)).unwrap();
        let got: Vec<(String, ReviewState, String, String)> = read
            .iter()
            .map(|r| (r.author.clone(), r.state, r.commit_sha.clone(), r.body.clone()))
            .collect();
        let s = |x: &str| x.to_string();
        let mut want = vec![
            (s("alice"), ReviewState::ChangesRequested, head.clone(), s("please rename")),
            (s("bob"), ReviewState::Dismissed, head.clone(), s("")),
            (s("carol"), ReviewState::Commented, s("abc"), s("nice")),
        ];
        // GitLab has no reviews: a standing request for changes is one, made
        // of its threads, its id the newest note's
        let requests_only = sb.dialect.differs().reviews_are_requests;
        if requests_only {
            want.retain(|r| r.1 == ReviewState::ChangesRequested);
        }
        assert_eq!(got, want);
        let alice = if requests_only { read[0].id } else { alice };
        let lines = f.line_comments(&repo(), PrNumber(pr), alice).unwrap();
        type Line = (String, Option<u64>, String, String, Option<i64>);
        let got: Vec<Line> = lines
            .kept
            .into_iter()
            .map(|c| (c.path, c.line, c.body, c.author, c.review_id))
            .collect();
        assert_eq!(
            got,
            [
                (s("fix.txt"), Some(1), s("not this name"), s("alice"), Some(alice)),
                (s("README.md"), Some(2), s("and say why"), s("alice"), Some(alice)),
            ]
        );
        assert!(!lines.more);
        let none = f.line_comments(&repo(), PrNumber(pr), bob).unwrap();
        assert!(none.kept.is_empty() && !none.more);
    }

    #[test]
    fn a_long_review_is_kept_bounded_and_the_cut_is_said() {
        let (sb, pr, _, _) = with_pr();
        let comments: Vec<Value> = (0..25)
            .map(|i| json!({"path": format!("f{i}.rs"), "line": i + 1, "body": "y".repeat(5000)}))
            .collect();
        let id = review(&sb, pr, json!({"user": "alice", "state": "REQUEST_CHANGES",
            "body": "é".repeat(20_000), "comments": comments}));
        let f = client(&sb, &Etags::default());
        let r = f.reviews(&repo(), PrNumber(pr)).unwrap().remove(0);
        assert!(r.body_cut);
        assert!(r.body.len() <= 32 * 1024 && r.body.len() > 32 * 1024 - 2, "{}", r.body.len());
        // GitLab's review (threads) is known by its newest note
        let id = if sb.dialect.differs().reviews_are_requests { r.id } else { id };
        let lines = f.line_comments(&repo(), PrNumber(pr), id).unwrap();
        assert!(lines.more, "25 comments of 5000 bytes cannot all be kept");
        assert_eq!(lines.kept.len(), 8, "eight of 4 KiB fill 32 KiB");
        assert!(lines.kept.iter().all(|c| c.body.len() == 4096 && c.body_cut));
        assert_eq!(lines.kept[7].path, "f7.rs");
    }

    #[test]
    fn a_reaction_acknowledges_a_comment_once_however_often_it_is_sent() {
        let (sb, _, cid, _) = with_pr();
        let f = client(&sb, &Etags::default());
        let on = Target::Issue(IssueNumber(1));
        f.react(&repo(), on, cid, "eyes").unwrap();
        f.react(&repo(), on, cid, "eyes").unwrap();
        let (status, got) = sb.reactions("acme/api", On::Issue(1), cid);
        assert_eq!(status, 200);
        assert_eq!(got, [("afk-bot".to_string(), "eyes".to_string())]);
        let e = f.react(&repo(), on, 999_999, "eyes").unwrap_err();
        assert!(e.to_string().contains("404"), "{e}");
    }

    #[test]
    fn mergeable_is_read_from_the_pull_request_and_null_is_not_false() {
        let (sb, pr, _, _) = with_pr();
        let f = client(&sb, &Etags::default());
        // Gitea has no null: it says false while it checks
        let cases = [
            (json!(true), Some(true)),
            (json!(false), Some(false)),
            (Value::Null, sb.dialect.differs().unknown_mergeable),
        ];
        for (set, want) in cases {
            sb.admin("POST", "/mergeable", Some(json!({"repo": "acme/api", "pr": pr, "mergeable": set})));
            assert_eq!(f.pull(&repo(), PrNumber(pr)).unwrap().mergeable, want, "{set}");
        }
    }

    #[test]
    fn a_branch_update_moves_the_head_and_a_conflict_is_an_answer() {
        let (sb, pr, _, head) = with_pr();
        let f = client(&sb, &Etags::default());
        let n = PrNumber(pr);
        let differs = sb.dialect.differs();
        let profile = sb.dialect.profile();
        // a forge that only rebases (GitLab) refuses the merge style, naming
        // the style it has; its update is the rebase
        let style = if profile.merges_branches {
            UpdateStyle::Merge
        } else {
            let e = f.update_branch(&repo(), n, UpdateStyle::Merge, &head, None).unwrap_err().to_string();
            assert!(e.contains(profile.name) && e.contains("\"rebase\""), "{e}");
            UpdateStyle::Rebase
        };
        // nothing new on the base: Gitea does nothing and says done; GitHub says so
        let want = differs.nothing_new;
        assert_eq!(f.update_branch(&repo(), n, style, &head, None).unwrap(), want);
        assert_eq!(f.pull(&repo(), n).unwrap().head.sha, head);
        sb.push_commit("acme/api", "main", "base.txt");
        if differs.checks_expected_head {
            let stale = "0".repeat(40);
            assert_eq!(
                f.update_branch(&repo(), n, style, &stale, None).unwrap(),
                BranchUpdate::HeadMoved
            );
        }
        assert_eq!(
            f.update_branch(&repo(), n, style, &head, None).unwrap(),
            BranchUpdate::Started
        );
        let moved = f.pull(&repo(), n).unwrap().head.sha;
        assert_ne!(moved, head);
        sb.push_commit("acme/api", "main", "base2.txt");
        sb.admin("POST", "/branch_update", Some(json!({"repo": "acme/api", "pr": pr, "outcome": "conflict"})));
        let answer = f.update_branch(&repo(), n, style, &moved, None).unwrap();
        if differs.conflict_said_later {
            // accepted, and the conflict is the merge request's, read next
            assert_eq!(answer, BranchUpdate::Started);
            assert_eq!(f.pull(&repo(), n).unwrap().mergeable, Some(false));
        } else {
            assert_eq!(answer, BranchUpdate::Conflict);
        }
        assert_eq!(f.pull(&repo(), n).unwrap().head.sha, moved);
        if !profile.merges_branches {
            return;
        }
        let rebase = f.update_branch(&repo(), n, UpdateStyle::Rebase, &moved, None);
        if profile.rebases_branches {
            assert_eq!(rebase.unwrap(), BranchUpdate::Started);
            let q = sb.requests().last().unwrap()["query"].clone();
            assert_eq!(q, "style=rebase");
        } else {
            let e = rebase.unwrap_err().to_string();
            assert!(e.contains(profile.name) && e.contains("merge"), "{e}");
        }
    }
}

#[test]
fn on_github_an_unchanged_review_list_costs_no_rate_limit() {
    let sb = with_dialect(Dialect::Github, || with_pr().0);
    let pr = 2;
    let id = review(
        &sb,
        pr,
        json!({"user": "alice", "state": "REQUEST_CHANGES",
            "comments": [{"path": "a.rs", "line": 3, "body": "no"}]}),
    );
    let etags = Etags::default();
    let read = |f: &dyn Forge| {
        let r = f.reviews(&repo(), PrNumber(pr)).unwrap();
        let l = f.line_comments(&repo(), PrNumber(pr), id).unwrap();
        (r.len(), l.kept.len())
    };
    let first = client(&sb, &etags);
    assert_eq!(read(first.as_ref()), (1, 1));
    sb.clear_requests();
    // the next tick: a new client, the same etags
    let next = client(&sb, &etags);
    assert_eq!(read(next.as_ref()), (1, 1));
    let statuses: Vec<u64> = sb
        .requests()
        .iter()
        .map(|r| r["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [304, 304], "{:?}", sb.requests());
    assert_eq!(next.costly_requests(), 0);
    // a new review changes the list: read again, in full
    review(&sb, pr, json!({"user": "bob", "state": "APPROVED"}));
    let again = client(&sb, &etags);
    assert_eq!(
        again.reviews(&repo(), PrNumber(pr)).unwrap().len(),
        2,
        "a changed list is read again"
    );
}
