//! A branch's commit list, newest first, and what a commit changed (reverts of
//! merged successes, docs/how-it-works.md#afk-harvest-and-the-template-canary).
//! The forge-neutral [`Commit`] and [`FileDiff`], the commit list's wire shape
//! (Gitea's and GitHub's spell it alike), where a listing stops, and a raw
//! `git diff` split into files.

use serde::Deserialize;
use time::OffsetDateTime;

pub use crate::types::{Commit, FileDiff};

/// A forge account as a commit names it (null, or `{}`, when none).
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct WireAccount {
    #[serde(default)]
    pub login: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct WireWho {
    #[serde(default)]
    pub date: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct WireCommitInner {
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub author: Option<WireWho>,
    #[serde(default)]
    pub committer: Option<WireWho>,
}

/// A listed commit: `sha`, `commit.message`, `commit.committer.date` (then
/// `commit.author.date`, then Gitea's `created`), and `author.login`, the
/// author's account (Gitea: a `User`, GitHub: a simple user; null or `{}`
/// when none).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct WireCommit {
    pub sha: String,
    #[serde(default)]
    pub commit: WireCommitInner,
    #[serde(default)]
    pub created: Option<String>,
    #[serde(default)]
    pub author: Option<WireAccount>,
}

impl WireCommit {
    pub(crate) fn into_commit(self) -> Commit {
        let c = self.commit;
        let date = c
            .committer
            .and_then(|w| w.date)
            .or(c.author.and_then(|w| w.date))
            .or(self.created);
        Commit {
            sha: self.sha,
            message: c.message,
            date,
            author: self.author.and_then(|a| a.login).filter(|l| !l.is_empty()),
        }
    }
}

/// GitHub's `diff-entry`: one of a commit's `files`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct WireFile {
    pub filename: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub previous_filename: Option<String>,
    #[serde(default)]
    pub patch: Option<String>,
}

impl WireFile {
    /// `added`, `removed`, `modified`, `changed` and `renamed` by their
    /// paths; a `copied` file (its source stays) or any other status shows
    /// no change git revert undoes: no patch.
    pub(crate) fn into_diff(self) -> FileDiff {
        let f = Some(self.filename);
        let (old_path, new_path, known) = match self.status.as_str() {
            "added" => (None, f, true),
            "removed" => (f, None, true),
            "modified" | "changed" => (f.clone(), f, true),
            "renamed" => (self.previous_filename, f, true),
            _ => (None, f, false),
        };
        FileDiff {
            old_path,
            new_path,
            patch: self.patch.filter(|p| known && !p.is_empty()),
        }
    }
}

/// A raw `git diff` (Gitea's `git/commits/{sha}.diff`) split into files: the
/// paths from the `---`/`+++` lines (else the `rename`, `new file` and
/// `deleted file` lines, else the `diff --git` line), the patch from the
/// first `@@`. Paths are kept as git writes them (quoted when unusual),
/// without the `a/` and `b/` prefixes.
pub(crate) fn split_diff(raw: &str) -> Vec<FileDiff> {
    let mut out = vec![];
    let mut rest = raw;
    while let Some(start) = find_file(rest) {
        let file = &rest[start..];
        let end = find_file(&file[1..]).map_or(file.len(), |e| e + 1);
        out.push(one_file(&file[..end]));
        rest = &file[end..];
    }
    out
}

/// Where the next `diff --git ` line starts.
fn find_file(s: &str) -> Option<usize> {
    if s.starts_with("diff --git ") {
        return Some(0);
    }
    s.find("\ndiff --git ").map(|i| i + 1)
}

fn one_file(text: &str) -> FileDiff {
    let (head, patch) = match text.find("\n@@") {
        Some(i) => (&text[..i], Some(text[i + 1..].to_string())),
        None => (text, None),
    };
    let mut old: Option<Option<String>> = None;
    let mut new: Option<Option<String>> = None;
    let (mut added, mut removed, mut copied) = (false, false, false);
    let side = |p: &str, prefix: &str| -> Option<String> {
        (p != "/dev/null").then(|| unprefix(p, prefix))
    };
    for l in head.lines().skip(1) {
        if let Some(p) = l.strip_prefix("--- ") {
            old = Some(side(p, "a/"));
        } else if let Some(p) = l.strip_prefix("+++ ") {
            new = Some(side(p, "b/"));
        } else if let Some(p) = l.strip_prefix("rename from ") {
            old.get_or_insert(Some(p.to_string()));
        } else if let Some(p) = l.strip_prefix("rename to ") {
            new.get_or_insert(Some(p.to_string()));
        } else if l.starts_with("new file mode") {
            added = true;
        } else if l.starts_with("deleted file mode") {
            removed = true;
        } else if l.starts_with("copy from ") {
            copied = true;
        }
    }
    let header = header_path(text.lines().next().unwrap_or(""));
    let old = old.unwrap_or_else(|| (!added).then(|| header.clone()).flatten());
    let new = new.unwrap_or_else(|| (!removed).then(|| header.clone()).flatten());
    FileDiff {
        // a copy leaves its source in place: not a change git revert undoes
        old_path: if copied { None } else { old },
        new_path: new,
        patch: if copied { None } else { patch },
    }
}

/// `a/x` → `x`, and `"a/x y"` → `"x y"`.
fn unprefix(p: &str, prefix: &str) -> String {
    let p = p.trim_end_matches('\t');
    match p.strip_prefix('"') {
        Some(q) => format!("\"{}", q.strip_prefix(prefix).unwrap_or(q)),
        None => p.strip_prefix(prefix).unwrap_or(p).to_string(),
    }
}

/// The path of `diff --git a/P b/P` when both halves name the same path.
fn header_path(line: &str) -> Option<String> {
    let rest = line.strip_prefix("diff --git ")?;
    let (a, b) = (rest.len() / 2, rest.len().div_ceil(2));
    let (x, y) = (rest.get(..a)?, rest.get(b..)?);
    let x = x.strip_prefix("a/")?;
    let y = y.strip_prefix("b/")?;
    (rest.as_bytes().get(a) == Some(&b' ') && x == y).then(|| x.to_string())
}

/// Keep a page's commits down to the first one older than `since`; true when
/// the listing may go on to the next page. A date that does not parse never
/// stops it.
pub(crate) fn keep_until(page: Vec<Commit>, since: OffsetDateTime, out: &mut Vec<Commit>) -> bool {
    for c in page {
        let older = c
            .date
            .as_deref()
            .and_then(crate::clock::parse)
            .is_some_and(|d| d < since);
        if older {
            return false;
        }
        out.push(c);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn a_listing_stops_at_the_first_commit_older_than_since() {
        let c = |sha: &str, date: Option<&str>| Commit {
            sha: sha.into(),
            message: String::new(),
            date: date.map(str::to_string),
            author: None,
        };
        let since = datetime!(2026-03-01 12:00 UTC);
        let cases = [
            (
                vec![
                    c("a", Some("2026-03-02T00:00:00Z")),
                    c("b", Some("2026-03-01T12:00:00Z")),
                ],
                vec!["a", "b"],
                true,
            ),
            (
                vec![
                    c("a", Some("2026-03-02T00:00:00+02:00")),
                    c("b", Some("2026-03-01T13:00:00+02:00")),
                    c("c", Some("2026-03-03T00:00:00Z")),
                ],
                vec!["a"],
                false,
            ),
            (
                vec![c("a", None), c("b", Some("not a date"))],
                vec!["a", "b"],
                true,
            ),
            (vec![], vec![], true),
        ];
        for (page, want, more) in cases {
            let mut out = vec![];
            let go_on = keep_until(page, since, &mut out);
            let got: Vec<&str> = out.iter().map(|c| c.sha.as_str()).collect();
            assert_eq!((got, go_on), (want.clone(), more), "{want:?}");
        }
    }

    #[test]
    fn the_committer_date_wins_then_the_author_date_then_created() {
        let w = |committer: Option<&str>, author: Option<&str>, created: Option<&str>| WireCommit {
            sha: "s".into(),
            commit: WireCommitInner {
                message: "m".into(),
                author: Some(WireWho {
                    date: author.map(str::to_string),
                }),
                committer: Some(WireWho {
                    date: committer.map(str::to_string),
                }),
            },
            created: created.map(str::to_string),
            author: None,
        };
        let cases = [
            (w(Some("c"), Some("a"), Some("x")), Some("c")),
            (w(None, Some("a"), Some("x")), Some("a")),
            (w(None, None, Some("x")), Some("x")),
            (w(None, None, None), None),
        ];
        for (wire, want) in cases {
            assert_eq!(wire.into_commit().date.as_deref(), want);
        }
    }

    #[test]
    fn the_author_is_the_account_the_forge_names_or_none() {
        let cases = [
            (
                r#"{"sha": "s", "author": {"login": "mallory", "id": 3}}"#,
                Some("mallory"),
            ),
            (r#"{"sha": "s", "author": null}"#, None),
            (r#"{"sha": "s", "author": {}}"#, None),
            (r#"{"sha": "s", "author": {"login": ""}}"#, None),
            (
                r#"{"sha": "s", "commit": {"author": {"name": "alice"}}}"#,
                None,
            ),
        ];
        for (json, want) in cases {
            let w: WireCommit = serde_json::from_str(json).unwrap();
            assert_eq!(w.into_commit().author.as_deref(), want, "{json}");
        }
    }

    #[test]
    fn a_raw_diff_splits_into_files_with_their_paths_and_hunks() {
        let raw = "diff --git a/app.txt b/app.txt\nindex 1..2 100644\n--- a/app.txt\n+++ b/app.txt\n@@ -1 +1 @@\n-a\n+b\n \ndiff --git a/new.txt b/new.txt\nnew file mode 100644\nindex 0..3\n--- /dev/null\n+++ b/new.txt\n@@ -0,0 +1 @@\n+diff --git a/x b/x\ndiff --git a/gone.txt b/gone.txt\ndeleted file mode 100644\n--- a/gone.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n--- a/y\ndiff --git a/old name b/new name\nsimilarity index 100%\nrename from old name\nrename to new name\ndiff --git a/logo.png b/logo.png\nnew file mode 100644\nindex 0..4\nBinary files /dev/null and b/logo.png differ\ndiff --git \"a/caf\\303\\251\" \"b/caf\\303\\251\"\n--- \"a/caf\\303\\251\"\n+++ \"b/caf\\303\\251\"\n@@ -1 +1 @@\n-x\n+y\n";
        let f = |old: Option<&str>, new: Option<&str>, patch: Option<&str>| FileDiff {
            old_path: old.map(str::to_string),
            new_path: new.map(str::to_string),
            patch: patch.map(str::to_string),
        };
        assert_eq!(
            split_diff(raw),
            vec![
                f(
                    Some("app.txt"),
                    Some("app.txt"),
                    Some("@@ -1 +1 @@\n-a\n+b\n \n")
                ),
                f(
                    None,
                    Some("new.txt"),
                    Some("@@ -0,0 +1 @@\n+diff --git a/x b/x\n")
                ),
                f(Some("gone.txt"), None, Some("@@ -1 +0,0 @@\n--- a/y\n")),
                f(Some("old name"), Some("new name"), None),
                f(None, Some("logo.png"), None),
                f(
                    Some("\"caf\\303\\251\""),
                    Some("\"caf\\303\\251\""),
                    Some("@@ -1 +1 @@\n-x\n+y\n")
                ),
            ]
        );
        assert_eq!(split_diff(""), vec![]);
    }

    #[test]
    fn a_github_file_is_a_change_by_its_status() {
        let w = |status: &str, prev: Option<&str>, patch: Option<&str>| WireFile {
            filename: "f".into(),
            status: status.into(),
            previous_filename: prev.map(str::to_string),
            patch: patch.map(str::to_string),
        };
        let s = |x: &str| Some(x.to_string());
        let cases = [
            (w("added", None, Some("@@")), (None, s("f"), s("@@"))),
            (w("removed", None, Some("@@")), (s("f"), None, s("@@"))),
            (w("modified", None, Some("@@")), (s("f"), s("f"), s("@@"))),
            (
                w("renamed", Some("e"), Some("@@")),
                (s("e"), s("f"), s("@@")),
            ),
            (w("renamed", Some("e"), None), (s("e"), s("f"), None)),
            (w("modified", None, Some("")), (s("f"), s("f"), None)),
            (w("copied", Some("e"), Some("@@")), (None, s("f"), None)),
        ];
        for (wire, (old, new, patch)) in cases {
            let d = wire.clone().into_diff();
            assert_eq!(
                (d.old_path, d.new_path, d.patch),
                (old, new, patch),
                "{wire:?}"
            );
        }
    }
}
