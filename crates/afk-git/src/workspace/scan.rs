//! afk pushes no secret
//! (docs/security.md#the-workspace-the-agent-holds-no-forge-credential):
//! before a turn's work is pushed, what its commits add and their messages
//! are read from afk's cache, streamed and bounded, and searched
//! (`afk_core::gate::secret_scan`) for every secret afk holds and for credentials
//! of a well-known shape.

use super::Workspace;
use afk_core::gate::secret_scan::Scan;
use anyhow::{Context, Result, bail};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::Stdio;

/// What afk reads of a turn's commits (messages, then patches) at most; a
/// turn larger than that is refused (what was not searched is not pushed).
pub const SCAN_BYTES: u64 = 32 << 20;

impl Workspace {
    /// Why the commits `start..work` must not be pushed: each commit's
    /// message and the lines it adds (every commit's, so a secret committed
    /// and removed again, which the push would carry in its history, is found;
    /// a merge's lines new to its result) hold a secret. None: push.
    pub(super) fn secret_in(
        &self,
        cache: &Path,
        start: &str,
        work: &str,
    ) -> Result<Option<String>> {
        let range = format!("{start}..{work}");
        let mut scan = Scan::new(&self.secrets);
        let mut left = SCAN_BYTES;
        let messages = ["log", "--no-color", "--format=%x00%H%n%B", &range];
        let cut = self.read_lines(cache, &messages, &mut left, |l| scan.message_line(l))?;
        let who = [
            "log",
            "--no-color",
            "--format=%x00%H%n%an%n%ae%n%cn%n%ce",
            &range,
        ];
        let cut = cut || self.read_lines(cache, &who, &mut left, |l| scan.identity_line(l))?;
        let patches = [
            "log",
            "--no-color",
            "--no-ext-diff",
            "--no-textconv",
            "--text",
            "-p",
            "--cc",
            "-U0",
            "-M",
            "--src-prefix=a/",
            "--dst-prefix=b/",
            "--format=%x00%H",
            &range,
        ];
        let cut = cut || self.read_lines(cache, &patches, &mut left, |l| scan.patch_line(l))?;
        if let Some(why) = scan.refusal() {
            return Ok(Some(why));
        }
        if cut {
            // what was not searched is not pushed: padding a turn past the
            // bound would otherwise carry a secret after it
            return Ok(Some(format!(
                "the turn's commits {}..{} are larger than {} MiB as a patch: afk searched their first {} MiB for secrets and pushes nothing it has not searched",
                &start[..start.len().min(12)],
                &work[..work.len().min(12)],
                SCAN_BYTES >> 20,
                SCAN_BYTES >> 20
            )));
        }
        Ok(None)
    }

    /// `git args` in the cache, its stdout handed to `each` line by line
    /// (lossy UTF-8, without the newline), at most `left` bytes of it (taken
    /// off `left`); true when git had more to say (it is stopped then).
    pub(super) fn read_lines(
        &self,
        cache: &Path,
        args: &[&str],
        left: &mut u64,
        each: impl FnMut(&str),
    ) -> Result<bool> {
        self.read_split(cache, args, b'\n', left, each)
    }

    /// [`Workspace::read_lines`] with records ended by `end` (`b'\0'` for
    /// git's `-z`).
    pub(super) fn read_split(
        &self,
        cache: &Path,
        args: &[&str],
        end: u8,
        left: &mut u64,
        mut each: impl FnMut(&str),
    ) -> Result<bool> {
        let mut c = self.git.cmd(Some(cache), None)?;
        // nothing reads git's stderr while it writes: not piped, so it
        // never waits on a full pipe
        c.args(args).stderr(Stdio::null());
        let mut child = c
            .spawn()
            .context("workspace: cannot run git log (is git installed?)")?;
        let stdout = child.stdout.take().expect("piped");
        let mut reader = BufReader::new(stdout);
        let mut buf = Vec::new();
        let cut = loop {
            buf.clear();
            let n = (&mut reader).take(*left).read_until(end, &mut buf)?;
            *left -= n as u64;
            if n == 0 {
                // the end, or the budget spent: is there more?
                break *left == 0 && reader.fill_buf().is_ok_and(|b| !b.is_empty());
            }
            let line = buf.strip_suffix(&[end]).unwrap_or(&buf);
            each(&String::from_utf8_lossy(line));
        };
        if cut {
            let _ = child.kill();
        }
        drop(reader);
        let status = child.wait()?;
        if !cut && !status.success() {
            bail!(
                "workspace: git {} failed reading the turn's commits ({status})",
                args[0]
            );
        }
        Ok(cut)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credential::Credentials;

    use super::super::tests_git::git;

    #[test]
    fn a_turn_is_read_within_its_bound_and_afks_credential_found_in_it() {
        let dir = std::env::temp_dir().join(format!("afk-git-scan-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let repo = dir.join("repo");
        std::fs::create_dir_all(&repo).unwrap();
        git(&repo, &["init", "-q", "-b", "main"]);
        git(&repo, &["commit", "-q", "--allow-empty", "-m", "start"]);
        let start = git(&repo, &["rev-parse", "HEAD"]);
        let password = "pass-word-5e1d9c3b";
        let many: String = (0..2000).map(|i| format!("line {i}\n")).collect();
        std::fs::write(repo.join("many.txt"), many).unwrap();
        std::fs::write(repo.join("f.txt"), format!("a\ntoken={password}\n")).unwrap();
        git(&repo, &["add", "-A"]);
        git(&repo, &["commit", "-q", "-m", "work"]);
        let work = git(&repo, &["rev-parse", "HEAD"]);
        let creds = Credentials {
            username: "afk".into(),
            password: password.into(),
            header: None,
        };
        let ws = Workspace::new(&dir, "t", Some(creds));
        let gd = repo.join(".git");
        let why = ws.secret_in(&gd, &start, &work).unwrap().unwrap();
        assert!(
            why.contains("a secret afk holds (f.txt:2 in commit"),
            "{why}"
        );
        assert!(!why.contains(password), "{why}");
        // git says more than the bound: what is read stays within it, and it says so
        let (mut left, mut read) = (1000u64, 0usize);
        let cut = ws
            .read_lines(&gd, &["log", "-p", &work], &mut left, |l| {
                read += l.len() + 1
            })
            .unwrap();
        assert!(cut && left == 0 && read <= 1001, "{cut} {left} {read}");
        // within the bound: all of it, not cut
        let (mut left, mut lines) = (1u64 << 20, 0);
        let cut = ws
            .read_lines(&gd, &["log", "--format=%s", &work], &mut left, |_| {
                lines += 1
            })
            .unwrap();
        assert!(!cut && lines == 2, "{cut} {lines}");
        // a clean turn: nothing said
        let clean = Workspace::new(&dir, "t", None);
        assert_eq!(clean.secret_in(&gd, &start, &work).unwrap(), None);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
