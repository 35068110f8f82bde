//! A run's checkout: made from the cache (borrowing its objects), made
//! standalone for a Job, and removed when the run is over.

use super::cache::Remote;
use super::{Made, Place, Workspace};
use anyhow::{Context, Result};
use std::path::Path;

impl Workspace {
    /// A fresh checkout of the run's branch in `workdir`
    /// (docs/how-it-works.md#the-workspace): the forge's branch when it exists,
    /// else new from the default branch's head.
    /// Whatever was at `workdir` goes first: a later turn's checkout starts
    /// from the forge's head, where the last turn's work was forwarded, or
    /// from the commits the change gate refused on it.
    pub fn make(&self, p: &Place) -> Result<Made> {
        let (cache, _lock) = self.open_cache(p.repo)?;
        let remote = self.refresh(&cache, p.url, p.branch)?;
        let head = remote
            .branch_sha
            .clone()
            .unwrap_or_else(|| remote.default_sha.clone());
        // a turn the change gate refused keeps its work: the next turn's
        // checkout has the refused commits at its head (built on what the
        // forge has, as they were), and what it forwards is judged with
        // them, from the forge's head; a person's push since, which they
        // are not built on, wins, and the refused commits stay in their
        // bundle
        let at = match self.get_ref(&cache, &Self::run_ref(p, "refused")) {
            Some(refused) if self.is_ancestor(&cache, &head, &refused) => refused,
            _ => head.clone(),
        };
        self.checkout(&cache, p, &remote, &at)?;
        self.set_ref(&cache, &Self::run_ref(p, "start"), Some(&head))?;
        self.git.run(
            Some(&cache),
            None,
            &[
                "symbolic-ref",
                &Self::run_ref(p, "base"),
                &format!("refs/forge/heads/{}", remote.default),
            ],
            None,
        )?;
        self.set_ref(&cache, &Self::run_ref(p, "conflict"), None)?;
        self.set_ref(
            &cache,
            &Self::run_ref(p, "forge"),
            remote.branch_sha.as_deref(),
        )?;
        Ok(Made {
            base: remote.default,
            head: at,
            existed: remote.branch_sha.is_some(),
        })
    }

    /// A checkout that borrows nothing (docs/kubernetes.md): made as
    /// [`Self::make`], then its objects copied in and the alternates dropped,
    /// for an agent that cannot see the cache (a Job's agent container, which
    /// mounts the checkout's volume and not the cache's).
    pub fn make_standalone(&self, p: &Place) -> Result<Made> {
        let made = self.make(p)?;
        self.git
            .run(Some(p.workdir), None, &["repack", "-a", "-d", "-q"], None)
            .context("workspace: copying the cache's objects into the checkout")?;
        std::fs::remove_file(p.workdir.join(".git/objects/info/alternates"))
            .context("workspace: cannot drop the checkout's alternates")?;
        Ok(made)
    }

    /// Write the checkout: a new repository whose objects are the cache's,
    /// on the branch at `head`, its config afk's own (no credential).
    fn checkout(&self, cache: &Path, p: &Place, remote: &Remote, head: &str) -> Result<()> {
        remove_tree(p.workdir)?;
        let push = p.run_dir.join("push.git");
        remove_tree(&push)?;
        if let Some(parent) = p.workdir.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("workspace: cannot create {}", parent.display()))?;
        }
        let wd = p.workdir.to_string_lossy().to_string();
        let pd = push.to_string_lossy().to_string();
        self.git
            .run(None, None, &["init", "-q", &wd], None)
            .context("workspace: git init of the checkout")?;
        self.git
            .run(None, None, &["init", "-q", "--bare", &pd], None)
            .context("workspace: git init of the run's push repository")?;
        let dot = p.workdir.join(".git");
        std::fs::write(
            dot.join("objects/info/alternates"),
            format!("{}\n", cache.join("objects").display()),
        )
        .context("workspace: cannot write the checkout's alternates")?;
        std::fs::write(
            dot.join("config"),
            checkout_config(p, &pd, self.author.as_ref()),
        )
        .context("workspace: cannot write the checkout's config")?;
        let in_wd = Some(p.workdir);
        let branch_ref = format!("refs/heads/{}", p.branch);
        self.git
            .run(in_wd, None, &["update-ref", &branch_ref, head], None)?;
        self.git.run(
            in_wd,
            None,
            &[
                "update-ref",
                &format!("refs/remotes/origin/{}", remote.default),
                &remote.default_sha,
            ],
            None,
        )?;
        if let Some(b) = &remote.branch_sha {
            self.git.run(
                in_wd,
                None,
                &[
                    "update-ref",
                    &format!("refs/remotes/origin/{}", p.branch),
                    b,
                ],
                None,
            )?;
        }
        self.git
            .run(in_wd, None, &["symbolic-ref", "HEAD", &branch_ref], None)?;
        self.git
            .run(in_wd, None, &["reset", "-q", "--hard"], None)
            .context("workspace: writing the checkout's files")?;
        Ok(())
    }

    /// The run is over (docs/how-it-works.md#the-workspace): its checkout, push
    /// repository and refs go; the forge branch's ref in the cache goes with
    /// them.
    pub fn remove(&self, p: &Place) -> Result<()> {
        remove_tree(p.workdir)?;
        remove_tree(&p.run_dir.join("push.git"))?;
        let cache = self.cache_of(p.repo);
        if cache.join("HEAD").is_file() {
            let (cache, _lock) = self.open_cache(p.repo)?;
            let prefix = format!("refs/afk/runs/{}/", p.run);
            let refs = self
                .git
                .run(
                    Some(&cache),
                    None,
                    &["for-each-ref", "--format=%(refname)", &prefix],
                    None,
                )
                .unwrap_or_default();
            for r in refs.lines().filter(|r| !r.is_empty()) {
                let _ = self.set_ref(&cache, r, None);
            }
            let _ = self.set_ref(&cache, &format!("refs/forge/heads/{}", p.branch), None);
        }
        Ok(())
    }
}

/// Remove a folder the agent may have filled: never following a link (a
/// link in its place is removed, not what it points at).
fn remove_tree(path: &Path) -> Result<()> {
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("workspace: cannot read {}", path.display())),
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(path)
            .with_context(|| format!("workspace: cannot remove {}", path.display())),
        Ok(_) => std::fs::remove_file(path)
            .with_context(|| format!("workspace: cannot remove {}", path.display())),
    }
}

/// A config value in double quotes (git's own escaping).
fn quoted(v: &str) -> String {
    let mut s = String::from('"');
    for c in v.chars() {
        match c {
            '"' | '\\' => {
                s.push('\\');
                s.push(c);
            }
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

/// The checkout's config: the forge's URL for fetching (no credential), the
/// run's local repository for pushing, the branch's upstream, and an
/// identity so the agent's commits work without a global config.
fn checkout_config(p: &Place, push: &str, author: Option<&(String, String)>) -> String {
    let public = without_userinfo(p.url);
    let (name, email) = author
        .map(|(n, e)| (n.as_str(), e.as_str()))
        .unwrap_or(("afk agent", "agent@afk.invalid"));
    format!(
        "[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = false\n\tlogallrefupdates = true\n\
         [remote \"origin\"]\n\turl = {}\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n\tpushurl = {}\n\
         [branch {}]\n\tremote = origin\n\tmerge = {}\n\
         [user]\n\tname = {}\n\temail = {}\n",
        quoted(&public),
        quoted(push),
        quoted(p.branch),
        quoted(&format!("refs/heads/{}", p.branch)),
        quoted(name),
        quoted(email),
    )
}

/// `url` without any `user:password@` (the checkout never holds one).
pub fn without_userinfo(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    let host = authority.rsplit('@').next().unwrap_or(authority);
    format!("{scheme}://{host}{path}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checkout_never_holds_a_user_or_password_of_the_forge_url() {
        let cases = [
            (
                "https://git.example.org/a/b.git",
                "https://git.example.org/a/b.git",
            ),
            (
                "https://afk:s3cret@git.example.org/a/b.git",
                "https://git.example.org/a/b.git",
            ),
            (
                "http://127.0.0.1:3000/a/b.git",
                "http://127.0.0.1:3000/a/b.git",
            ),
            ("http://u@h:1/x", "http://h:1/x"),
            ("/local/path", "/local/path"),
        ];
        for (url, want) in cases {
            assert_eq!(without_userinfo(url), want, "{url}");
        }
    }

    #[test]
    fn config_values_are_quoted_so_no_value_opens_a_section() {
        assert_eq!(quoted("a\"b\\c\n[x]"), "\"a\\\"b\\\\c\\n[x]\"");
    }
}
