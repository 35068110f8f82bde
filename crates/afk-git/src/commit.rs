//! Commits made with plumbing and a private index (afk's identity, on top of
//! upstream `main`, the work tree never touched), what a commit changes, and
//! a new local branch: nothing here talks to a remote.

use crate::git::Git;
use crate::identity::{AFK_EMAIL, AFK_NAME};
use afk_core::upgrade::commit::TreeChange;
use anyhow::{Context, Result, bail};
use std::path::Path;

impl Git {
    /// A commit on top of `parent` whose tree is `parent`'s with `files`
    /// (path relative to the repo root, new content) replaced: made with
    /// plumbing and a private index, so the work tree stays upstream `main`.
    pub fn commit(
        &self,
        dir: &Path,
        parent: &str,
        files: &[(String, Vec<u8>)],
        message: &str,
    ) -> Result<String> {
        let index = dir
            .join(".git")
            .join(format!("afk-index-{}", std::process::id()));
        let index_s = index.to_string_lossy().to_string();
        let env = [
            ("GIT_INDEX_FILE", index_s.as_str()),
            ("GIT_AUTHOR_NAME", AFK_NAME),
            ("GIT_AUTHOR_EMAIL", AFK_EMAIL),
            ("GIT_COMMITTER_NAME", AFK_NAME),
            ("GIT_COMMITTER_EMAIL", AFK_EMAIL),
        ];
        let result = (|| {
            self.run_env(Some(dir), None, &["read-tree", parent], None, &env)?;
            let mut lines = String::new();
            for (path, content) in files {
                let listed = self.run(Some(dir), None, &["ls-tree", parent, "--", path], None)?;
                let mode = listed.split_whitespace().next().unwrap_or("100644");
                let blob = self.run(
                    Some(dir),
                    None,
                    &["hash-object", "-w", "--stdin"],
                    Some(content),
                )?;
                // NUL-terminated: no byte of a path can start another entry
                lines.push_str(&format!("{mode} {blob}\t{path}\0"));
            }
            self.run_env(
                Some(dir),
                None,
                &["update-index", "-z", "--index-info"],
                Some(lines.as_bytes()),
                &env,
            )?;
            let tree = self.run_env(Some(dir), None, &["write-tree"], None, &env)?;
            self.run_env(
                Some(dir),
                None,
                &["commit-tree", &tree, "-p", parent, "-F", "-"],
                Some(message.as_bytes()),
                &env,
            )
        })();
        let _ = std::fs::remove_file(&index);
        result
    }

    /// What commit `sha` changes against `parent`, path by path (renames as
    /// a deletion and an addition), with each new blob's text.
    pub fn changes(&self, dir: &Path, parent: &str, sha: &str) -> Result<Vec<TreeChange>> {
        let raw = self.run_bytes(
            Some(dir),
            &[
                "diff-tree",
                "-r",
                "-z",
                "--no-renames",
                "--no-commit-id",
                parent,
                sha,
            ],
        )?;
        let mut fields = raw.split(|b| *b == 0).filter(|f| !f.is_empty());
        let mut out = vec![];
        while let (Some(meta), Some(path)) = (fields.next(), fields.next()) {
            let meta = String::from_utf8_lossy(meta);
            let m: Vec<&str> = meta.trim_start_matches(':').split(' ').collect();
            let [old_mode, new_mode, _, new_blob, status] = m[..] else {
                bail!("git diff-tree: unexpected line {meta}");
            };
            let text = if new_blob.bytes().all(|b| b == b'0') {
                None
            } else {
                String::from_utf8(self.run_bytes(Some(dir), &["cat-file", "blob", new_blob])?).ok()
            };
            out.push(TreeChange {
                path: String::from_utf8_lossy(path).to_string(),
                status: status.to_string(),
                old_mode: old_mode.to_string(),
                new_mode: new_mode.to_string(),
                text,
            });
        }
        Ok(out)
    }

    /// A new local branch `name` at the clone's current head, checked out
    /// (the `--with-tests` fixer's branch). No network, no credentials.
    pub fn new_branch(&self, dir: &Path, name: &str) -> Result<()> {
        self.run(Some(dir), None, &["checkout", "-q", "-b", name], None)
            .with_context(|| format!("git: cannot create the branch {name}"))?;
        Ok(())
    }
}
