//! Whether a commit undoes a merge
//! (docs/how-it-works.md#afk-harvest-and-the-template-canary): its diff against
//! its parent is the inverse of the merge's first-parent diff, as
//! `git revert -m 1` and the forges' revert buttons make it. File by file (the
//! commit removes what the merge added, adds back what it removed, renames back
//! what it renamed) and change by change: each run of removed and added lines
//! between context lines, with removed and added swapped. Hunk line numbers and
//! context lines are left out, so a revert made after later commits moved or
//! edited the lines around still counts. Anything the forge shows no text for
//! (a binary file, a mode change, a pure rename, a patch too large to show)
//! proves nothing: such a commit is not proven to undo the merge.

use crate::types::FileDiff;
use std::collections::BTreeMap;

/// One line of a change: its text and whether it ended with a newline.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Line {
    text: String,
    eol: bool,
}

/// A run of removed and added lines between two context lines (or hunk edges).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Change {
    removed: Vec<Line>,
    added: Vec<Line>,
}

impl Change {
    fn inverse(self) -> Change {
        Change {
            removed: self.added,
            added: self.removed,
        }
    }
}

/// The changes of a file's hunks (`@@ … @@` and their lines), in order;
/// None when there are none or a line is not part of a unified diff.
fn changes(patch: &str) -> Option<Vec<Change>> {
    let mut out = vec![];
    let mut cur = Change::default();
    let mut in_hunk = false;
    // where the last line went, for a `\ No newline at end of file`
    let mut last: Option<char> = None;
    let flush = |cur: &mut Change, out: &mut Vec<Change>| {
        if !cur.removed.is_empty() || !cur.added.is_empty() {
            out.push(std::mem::take(cur));
        }
    };
    let body = patch.strip_suffix('\n').unwrap_or(patch);
    for l in body.split('\n') {
        if l.starts_with("@@") {
            flush(&mut cur, &mut out);
            in_hunk = true;
            last = None;
            continue;
        }
        if !in_hunk {
            return None;
        }
        let line = |t: &str| Line {
            text: t.to_string(),
            eol: true,
        };
        match l.chars().next() {
            // a context line (some tools strip an empty one's space)
            None | Some(' ') => {
                flush(&mut cur, &mut out);
                last = Some(' ');
            }
            Some('-') => {
                cur.removed.push(line(&l[1..]));
                last = Some('-');
            }
            Some('+') => {
                cur.added.push(line(&l[1..]));
                last = Some('+');
            }
            Some('\\') => {
                let to = match last {
                    Some('-') => cur.removed.last_mut(),
                    Some('+') => cur.added.last_mut(),
                    _ => None,
                };
                if let Some(t) = to {
                    t.eol = false;
                }
            }
            _ => return None,
        }
    }
    flush(&mut cur, &mut out);
    (!out.is_empty()).then_some(out)
}

type Paths = (Option<String>, Option<String>);

/// Whether `commit`'s diff against its parent is the inverse of `merge`'s
/// first-parent diff. An empty diff on either side proves nothing.
pub fn undoes(merge: &[FileDiff], commit: &[FileDiff]) -> bool {
    if merge.is_empty() || merge.len() != commit.len() {
        return false;
    }
    let mut want: BTreeMap<Paths, Vec<Change>> = BTreeMap::new();
    for f in merge {
        let Some(c) = f.patch.as_deref().and_then(changes) else {
            return false;
        };
        let inverse = c.into_iter().map(Change::inverse).collect();
        let swapped = (f.new_path.clone(), f.old_path.clone());
        if want.insert(swapped, inverse).is_some() {
            return false;
        }
    }
    commit.iter().all(|f| {
        let Some(c) = f.patch.as_deref().and_then(changes) else {
            return false;
        };
        want.remove(&(f.old_path.clone(), f.new_path.clone())) == Some(c)
    }) && want.is_empty()
}

/// `git diff -M` output (with its `a/` and `b/` prefixes) as the forges show a
/// commit's files ([`FileDiff`]): each file's paths (None: added, or removed)
/// and its hunks as its patch, None without one (a binary file, a mode
/// change, a pure rename). What afk's git cache shows of a commit when the
/// forge's own diff carries no text (Azure DevOps).
pub fn git_file_diffs(text: &str) -> Vec<FileDiff> {
    /// One file's part of the output, read so far.
    #[derive(Default)]
    struct File {
        header: Option<String>,
        old: Option<String>,
        new: Option<String>,
        added: bool,
        removed: bool,
        patch: Option<String>,
    }
    impl File {
        fn done(self) -> FileDiff {
            FileDiff {
                old_path: (!self.added)
                    .then(|| self.old.or(self.header.clone()))
                    .flatten(),
                new_path: (!self.removed).then(|| self.new.or(self.header)).flatten(),
                patch: self.patch,
            }
        }
    }
    // a path after its prefix; None for /dev/null (git ends a name with a
    // space in it with a tab)
    let path = |s: &str, prefix: &str| -> Option<String> {
        let s = s.strip_suffix('\t').unwrap_or(s);
        (s != "/dev/null").then(|| s.strip_prefix(prefix).unwrap_or(s).to_string())
    };
    let mut out = vec![];
    let mut cur: Option<File> = None;
    let body = text.strip_suffix('\n').unwrap_or(text);
    for l in body.split('\n') {
        if let Some(rest) = l.strip_prefix("diff --git ") {
            out.extend(cur.take().map(File::done));
            // `a/P b/P`: the one path of a file neither renamed nor quoted
            let half = rest.len().saturating_sub(1) / 2;
            let header = (rest.len() % 2 == 1
                && rest.is_char_boundary(half)
                && rest.starts_with("a/")
                && rest[half..].starts_with(" b/")
                && rest[2..half] == rest[half + 3..])
                .then(|| rest[2..half].to_string());
            cur = Some(File {
                header,
                ..File::default()
            });
            continue;
        }
        let Some(f) = cur.as_mut() else {
            continue;
        };
        if let Some(p) = f.patch.as_mut() {
            // a hunk's lines run to the next file's header
            p.push('\n');
            p.push_str(l);
            continue;
        }
        if l.starts_with("@@") {
            f.patch = Some(l.to_string());
        } else if l.starts_with("new file mode") {
            f.added = true;
        } else if l.starts_with("deleted file mode") {
            f.removed = true;
        } else if let Some(p) = l.strip_prefix("rename from ") {
            f.old = Some(p.to_string());
        } else if let Some(p) = l.strip_prefix("rename to ") {
            f.new = Some(p.to_string());
        } else if let Some(p) = l.strip_prefix("--- ") {
            f.old = path(p, "a/").or(f.old.take());
        } else if let Some(p) = l.strip_prefix("+++ ") {
            f.new = path(p, "b/").or(f.new.take());
        }
    }
    out.extend(cur.map(File::done));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(old: Option<&str>, new: Option<&str>, patch: Option<&str>) -> FileDiff {
        FileDiff {
            old_path: old.map(str::to_string),
            new_path: new.map(str::to_string),
            patch: patch.map(str::to_string),
        }
    }
    fn m(path: &str, patch: &str) -> FileDiff {
        f(Some(path), Some(path), Some(patch))
    }

    const FIX: &str = "@@ -12,7 +12,7 @@ fn main() {\n line 12\n line 13\n line 14\n-line 15\n+fifteen, fixed\n line 16\n line 17\n line 18";
    const UNFIX: &str = "@@ -12,7 +12,7 @@\n line 12\n line 13\n line 14\n-fifteen, fixed\n+line 15\n line 16\n line 17\n line 18\n";
    const ADD: &str = "@@ -0,0 +1 @@\n+new";
    const REMOVE: &str = "@@ -1 +0,0 @@\n-new";

    #[test]
    fn a_commit_undoes_a_merge_only_when_its_diff_is_the_inverse() {
        let merge = vec![m("app.txt", FIX), f(None, Some("feature.txt"), Some(ADD))];
        let cases: Vec<(&str, Vec<FileDiff>, bool)> = vec![
            (
                "git revert -m 1",
                vec![
                    m("app.txt", UNFIX),
                    f(Some("feature.txt"), None, Some(REMOVE)),
                ],
                true,
            ),
            (
                "files in another order",
                vec![
                    f(Some("feature.txt"), None, Some(REMOVE)),
                    m("app.txt", UNFIX),
                ],
                true,
            ),
            (
                "after later commits moved and edited the lines around",
                vec![
                    m(
                        "app.txt",
                        "@@ -15,6 +15,6 @@\n line 12\n line 13\n LINE 14\n-fifteen, fixed\n+line 15\n line 16\n",
                    ),
                    f(Some("feature.txt"), None, Some(REMOVE)),
                ],
                true,
            ),
            (
                "a README-only commit",
                vec![m("README.md", "@@ -1 +1 @@\n-# api\n+# api, typo fixed")],
                false,
            ),
            ("half a revert", vec![m("app.txt", UNFIX)], false),
            (
                "a revert and one more file",
                vec![
                    m("app.txt", UNFIX),
                    f(Some("feature.txt"), None, Some(REMOVE)),
                    m("README.md", "@@ -1 +1 @@\n-a\n+b"),
                ],
                false,
            ),
            (
                "the merge's change again, not its inverse",
                vec![
                    m("app.txt", FIX),
                    f(Some("feature.txt"), None, Some(REMOVE)),
                ],
                false,
            ),
            (
                "the right lines restored in the wrong file",
                vec![
                    m("other.txt", UNFIX),
                    f(Some("feature.txt"), None, Some(REMOVE)),
                ],
                false,
            ),
            (
                "the added file emptied, not removed",
                vec![m("app.txt", UNFIX), m("feature.txt", "@@ -1 +0,0 @@\n-new")],
                false,
            ),
            (
                "a line restored without its newline",
                vec![
                    m(
                        "app.txt",
                        "@@ -12,3 +12,3 @@\n-fifteen, fixed\n+line 15\n\\ No newline at end of file",
                    ),
                    f(Some("feature.txt"), None, Some(REMOVE)),
                ],
                false,
            ),
            (
                "no text shown (binary, too large)",
                vec![m("app.txt", UNFIX), f(Some("feature.txt"), None, None)],
                false,
            ),
            (
                "a patch that is not a unified diff",
                vec![
                    m("app.txt", UNFIX),
                    f(Some("feature.txt"), None, Some("Binary files differ")),
                ],
                false,
            ),
            ("an empty commit", vec![], false),
        ];
        for (name, commit, want) in cases {
            assert_eq!(undoes(&merge, &commit), want, "{name}");
        }
    }

    #[test]
    fn changes_keep_their_order_and_renames_their_direction() {
        let two = "@@ -1,5 +1,5 @@\n-a\n+A\n x\n-b\n+B";
        let merge = vec![m("f", two)];
        let cases = [
            (
                "each change inverted",
                "@@ -1,5 +1,5 @@\n-A\n+a\n x\n-B\n+b",
                true,
            ),
            (
                "changes swapped",
                "@@ -1,5 +1,5 @@\n-B\n+b\n x\n-A\n+a",
                false,
            ),
            (
                "the two changes as one",
                "@@ -1,4 +1,4 @@\n-A\n-B\n+a\n+b",
                false,
            ),
        ];
        for (name, patch, want) in cases {
            assert_eq!(undoes(&merge, &[m("f", patch)]), want, "{name}");
        }

        let renamed = vec![f(
            Some("old.txt"),
            Some("new.txt"),
            Some("@@ -1 +1 @@\n-a\n+b"),
        )];
        let back = |old, new| vec![f(Some(old), Some(new), Some("@@ -1 +1 @@\n-b\n+a"))];
        assert!(undoes(&renamed, &back("new.txt", "old.txt")));
        assert!(!undoes(&renamed, &back("old.txt", "new.txt")));
        assert!(!undoes(&[], &[]), "an empty merge proves nothing");
        let pure_rename = vec![f(Some("old.txt"), Some("new.txt"), None)];
        assert!(!undoes(
            &pure_rename,
            &[f(Some("new.txt"), Some("old.txt"), None)]
        ));
    }

    #[test]
    fn a_git_diff_reads_as_the_forges_files_with_their_hunks() {
        // (git diff -M output, the files as a forge shows them)
        let cases: Vec<(&str, Vec<FileDiff>)> = vec![
            (
                "diff --git a/app.txt b/app.txt\nindex 1..2 100644\n--- a/app.txt\n+++ b/app.txt\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n",
                vec![f(
                    Some("app.txt"),
                    Some("app.txt"),
                    Some("@@ -1,2 +1,2 @@\n a\n-b\n+c"),
                )],
            ),
            // an added file, then a removed one whose last line has no newline
            (
                "diff --git a/new b/new\nnew file mode 100644\nindex 0..1\n--- /dev/null\n+++ b/new\n@@ -0,0 +1 @@\n+x\ndiff --git a/gone b/gone\ndeleted file mode 100644\nindex 1..0\n--- a/gone\n+++ /dev/null\n@@ -1 +0,0 @@\n-y\n\\ No newline at end of file\n",
                vec![
                    f(None, Some("new"), Some("@@ -0,0 +1 @@\n+x")),
                    f(
                        Some("gone"),
                        None,
                        Some("@@ -1 +0,0 @@\n-y\n\\ No newline at end of file"),
                    ),
                ],
            ),
            // a rename with a change, a pure rename, a binary file, a mode change
            (
                "diff --git a/old b/new\nsimilarity index 90%\nrename from old\nrename to new\nindex 1..2 100644\n--- a/old\n+++ b/new\n@@ -1 +1 @@\n-p\n+q\n\
                 diff --git a/from b/to\nsimilarity index 100%\nrename from from\nrename to to\n\
                 diff --git a/logo.png b/logo.png\nindex 1..2 100644\nBinary files a/logo.png and b/logo.png differ\n\
                 diff --git a/run.sh b/run.sh\nold mode 100644\nnew mode 100755\n",
                vec![
                    f(Some("old"), Some("new"), Some("@@ -1 +1 @@\n-p\n+q")),
                    f(Some("from"), Some("to"), None),
                    f(Some("logo.png"), Some("logo.png"), None),
                    f(Some("run.sh"), Some("run.sh"), None),
                ],
            ),
            // a removed line that reads like a header stays in its hunk; a
            // name with a space ends with a tab in the header lines
            (
                "diff --git a/a b c b/a b c\nindex 1..2 100644\n--- a/a b c\t\n+++ b/a b c\t\n@@ -1,2 +1 @@\n--- a/x\n-+++ b/y\n",
                vec![f(
                    Some("a b c"),
                    Some("a b c"),
                    Some("@@ -1,2 +1 @@\n--- a/x\n-+++ b/y"),
                )],
            ),
            ("", vec![]),
        ];
        for (text, want) in cases {
            assert_eq!(git_file_diffs(text), want, "{text:?}");
        }
    }

    #[test]
    fn a_revert_read_from_git_undoes_the_merge_read_from_git() {
        let merge = "diff --git a/app.txt b/app.txt\nindex 1..2 100644\n--- a/app.txt\n+++ b/app.txt\n@@ -1,3 +1,3 @@\n a\n-b\n+fixed\n c\n";
        let revert = "diff --git a/app.txt b/app.txt\nindex 2..1 100644\n--- a/app.txt\n+++ b/app.txt\n@@ -4,3 +4,3 @@\n a\n-fixed\n+b\n c\n";
        let other = "diff --git a/app.txt b/app.txt\nindex 2..3 100644\n--- a/app.txt\n+++ b/app.txt\n@@ -4,3 +4,3 @@\n a\n-fixed\n+else\n c\n";
        let m = git_file_diffs(merge);
        assert!(undoes(&m, &git_file_diffs(revert)));
        assert!(!undoes(&m, &git_file_diffs(other)));
    }
}
