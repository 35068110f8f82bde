//! How harvest proves a revert (`Proofs`), against an in-memory forge: the
//! message alone is no proof; an inverse diff or a trusted author is, each
//! read once a tick (the HTTP path has its sandbox tests in tests/it/harvest.rs).

use super::Proofs;
use crate::forge::{Commit, Failure, FileDiff};
use crate::testing::Scratch;
use crate::types::RepoName;
use afk_forge_memory::MemoryForge;
use std::collections::HashMap;

const R: &str = "acme/api";
/// `R` as the forge's methods take it.
static API: std::sync::LazyLock<RepoName> =
    std::sync::LazyLock::new(|| RepoName::parse(R).unwrap());
const MERGE: &str = "1111111111111111111111111111111111111111";
const FIX: &str = "@@ -1 +1 @@\n-broken\n+fixed";
const UNFIX: &str = "@@ -1 +1 @@\n-fixed\n+broken";
const OTHER: &str = "@@ -1 +1 @@\n-fixed\n+something else";

fn scratch() -> Scratch {
    Scratch::new("[poll]\nallowlist = [\"acme/api\"]\n")
}

fn file(patch: &str) -> Vec<FileDiff> {
    vec![FileDiff {
        old_path: Some("app.txt".into()),
        new_path: Some("app.txt".into()),
        patch: Some(patch.into()),
    }]
}

/// A commit saying it reverts the merge, by `author`, changing `app.txt` by `patch`.
fn revert(sha: &str, author: Option<&str>) -> Commit {
    Commit {
        sha: sha.into(),
        message: format!("Revert \"fix\"\n\nThis reverts commit {MERGE}."),
        date: None,
        author: author.map(str::to_string),
    }
}

/// The merge's diff, alice a writer, mallory a reader, and each candidate's diff.
fn forge(diffs: &[(&str, &str)]) -> MemoryForge {
    let mut f = MemoryForge::new("afk-bot")
        .repo(R)
        .permission(R, "alice", "write")
        .permission(R, "mallory", "read")
        .diff(R, MERGE, file(FIX));
    for (sha, patch) in diffs {
        f = f.diff(R, sha, file(patch));
    }
    f
}

fn proofs<'a>(s: &'a Scratch, f: &'a MemoryForge) -> Proofs<'a> {
    Proofs {
        cfg: s.ctx.config(),
        forge: f,
        cache: None,
        diffs: HashMap::new(),
        trust: HashMap::new(),
        refused: vec![],
    }
}

#[test]
fn a_commit_whose_diff_undoes_the_merge_is_the_revert_whoever_wrote_it() {
    let (s, f) = (scratch(), forge(&[("aa", UNFIX)]));
    let commits = [revert("aa", None)];
    let got = proofs(&s, &f)
        .revert_of(&API, "main", MERGE, &commits)
        .unwrap();
    assert_eq!(got, Some("aa"));
    assert_eq!(f.calls("permission"), 0, "the diff proved it");
}

#[test]
fn a_revert_message_alone_from_an_untrusted_author_is_no_revert() {
    let (s, f) = (scratch(), forge(&[("aa", OTHER)]));
    for author in [None, Some("mallory")] {
        let commits = [revert("aa", author)];
        let got = proofs(&s, &f)
            .revert_of(&API, "main", MERGE, &commits)
            .unwrap();
        assert_eq!(got, None, "{author:?}");
    }
}

#[test]
fn a_trusted_authors_revert_message_counts() {
    let (s, f) = (scratch(), forge(&[("aa", OTHER)]));
    let commits = [revert("aa", Some("alice"))];
    let got = proofs(&s, &f)
        .revert_of(&API, "main", MERGE, &commits)
        .unwrap();
    assert_eq!(got, Some("aa"));
}

#[test]
fn a_refused_permission_lookup_is_reported_and_not_counted() {
    let s = scratch();
    let f = forge(&[("aa", OTHER)]).failing("permission", Failure::Forbidden);
    let commits = [revert("aa", Some("alice"))];
    let mut p = proofs(&s, &f);
    assert_eq!(p.revert_of(&API, "main", MERGE, &commits).unwrap(), None);
    assert_eq!(p.refused.len(), 1);
    assert!(p.refused[0].message.contains("must be an admin"));
}

#[test]
fn a_diff_that_cannot_be_read_is_an_error_not_a_verdict() {
    let (s, f) = (scratch(), forge(&[]));
    let commits = [revert("aa", Some("alice"))];
    let e = proofs(&s, &f)
        .revert_of(&API, "main", MERGE, &commits)
        .unwrap_err();
    assert!(e.message.contains("whether aa reverts"), "{}", e.message);
}

#[test]
fn each_diff_and_each_author_is_read_once_a_tick() {
    let (s, f) = (scratch(), forge(&[("aa", OTHER), ("bb", OTHER)]));
    let mut p = proofs(&s, &f);
    let commits = [revert("bb", Some("Mallory")), revert("aa", Some("mallory"))];
    assert_eq!(p.revert_of(&API, "main", MERGE, &commits).unwrap(), None);
    assert_eq!(p.revert_of(&API, "main", MERGE, &commits).unwrap(), None);
    assert_eq!(f.calls("diff"), 3, "the merge's once, each commit's once");
    assert_eq!(f.calls("permission"), 1, "one login, any case");
}
