//! What a commit changed, read from afk's git cache for harvest's revert
//! proof on a forge whose diffs carry no text (Azure DevOps'
//! `diffs/commits` names the files, never their lines): the base branch
//! fetched once per repository and tick, then `git diff -M` of each commit
//! against its first parent, read bounded. A diff longer than afk reads
//! proves nothing: it is an error, never a partial diff.

use super::{Workspace, is_sha};
use anyhow::{Context, Result, bail};

/// What afk reads of one commit's diff at most.
pub const DIFF_READ: u64 = 8 << 20;
/// Where a base branch is fetched to in the cache.
const BASE_REF: &str = "refs/forge/reverts/base";

impl Workspace {
    /// `url`'s branch `branch` fetched into `repo`'s cache (one fetch, afk's
    /// credential).
    pub fn fetch_base(&self, repo: &str, url: &str, branch: &str) -> Result<()> {
        if !branch_name(branch) {
            bail!("the branch {branch:?} is no name git fetches");
        }
        let (cache, _lock) = self.open_cache(repo)?;
        self.fetch_ref(&cache, url, &format!("+refs/heads/{branch}:{BASE_REF}"))
            .with_context(|| format!("{branch} could not be fetched into afk's git cache"))
    }

    /// `git diff -M` of `sha` against its first parent in `repo`'s cache
    /// (fetched by [`Workspace::fetch_base`]), every file with its `a/` and
    /// `b/` prefixes; an error when it is longer than [`DIFF_READ`].
    pub fn commit_diff(&self, repo: &str, sha: &str) -> Result<String> {
        if !is_sha(sha) {
            bail!("{sha:?} is no commit id");
        }
        let (cache, _lock) = self.open_cache(repo)?;
        self.diff_in(&cache, sha)
    }

    /// `git diff -M` of `sha` against its first parent in `cache`, whose
    /// lock the caller holds; an error when it is longer than [`DIFF_READ`].
    pub(super) fn diff_in(&self, cache: &std::path::Path, sha: &str) -> Result<String> {
        let parent = format!("{sha}^1");
        let args = [
            "-c",
            "core.quotePath=false",
            "diff",
            "-M",
            "--no-color",
            "--no-ext-diff",
            "--no-textconv",
            "--src-prefix=a/",
            "--dst-prefix=b/",
            parent.as_str(),
            sha,
        ];
        let (mut left, mut text) = (DIFF_READ, String::new());
        let cut = self
            .read_lines(cache, &args, &mut left, |l| {
                text.push_str(l);
                text.push('\n');
            })
            .with_context(|| format!("the diff of {sha} could not be read from afk's git cache"))?;
        if cut {
            bail!(
                "the diff of {sha} is longer than afk reads ({} MiB): it proves nothing",
                DIFF_READ >> 20
            );
        }
        Ok(text)
    }
}

/// Whether `b` is a branch name git takes in a refspec
/// (`git check-ref-format --branch`'s rules, and no `:` or leading `+`).
fn branch_name(b: &str) -> bool {
    !b.is_empty()
        && !b.starts_with(['-', '/', '.', '+'])
        && !b.ends_with(['/', '.'])
        && !b.ends_with(".lock")
        && !b.contains("..")
        && !b.contains("@{")
        && !b.contains("//")
        && !b.contains("/.")
        && b != "@"
        && !b
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || ":?*[\\^~".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace::tests_git::git;

    /// A tick killed (kill -9) while its git wrote a ref in the cache
    /// leaves that ref's lock file: the next tick, holding afk's lock on
    /// the cache, fetches and reads past it. A lock that is a link is
    /// removed as itself: what it points at stays.
    #[test]
    fn a_lock_a_killed_git_left_in_the_cache_never_wedges_the_next_fetch() {
        let dir = std::env::temp_dir().join(format!("afk-reverts-lock-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let forge = dir.join("forge");
        std::fs::create_dir_all(&forge).unwrap();
        git(&forge, &["init", "-q", "-b", "main"]);
        std::fs::write(forge.join("a.txt"), "one\n").unwrap();
        git(&forge, &["add", "-A"]);
        git(&forge, &["commit", "-qm", "one"]);
        let ws = Workspace::new(&dir.join("cache"), "t", None);
        let url = forge.to_string_lossy().to_string();
        ws.fetch_base("acme/api", &url, "main").unwrap();

        let cache = ws.cache_of("acme/api");
        std::fs::write(cache.join(format!("{BASE_REF}.lock")), "").unwrap();
        std::fs::write(cache.join("packed-refs.lock"), "").unwrap();
        let outside = dir.join("outside.lock");
        std::fs::write(&outside, "kept").unwrap();
        std::os::unix::fs::symlink(&outside, cache.join("refs/heads/x.lock")).unwrap();

        std::fs::write(forge.join("a.txt"), "two\n").unwrap();
        git(&forge, &["commit", "-qam", "two"]);
        let two = git(&forge, &["rev-parse", "HEAD"]);
        ws.fetch_base("acme/api", &url, "main").unwrap();
        let diff = ws.commit_diff("acme/api", &two).unwrap();
        assert!(diff.contains("-one\n+two\n"), "{diff}");
        assert_eq!(std::fs::read_to_string(&outside).unwrap(), "kept");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_base_branch_is_fetched_only_by_a_name_git_takes() {
        for (b, ok) in [
            ("main", true),
            ("release/1.2", true),
            ("", false),
            ("-upload-pack=x", false),
            ("+main", false),
            ("main:refs/heads/x", false),
            ("a..b", false),
            ("a b", false),
            ("a\nb", false),
            ("x.lock", false),
            ("a/.b", false),
            ("@{1}", false),
            ("ma~1", false),
        ] {
            assert_eq!(branch_name(b), ok, "{b:?}");
        }
    }
}
