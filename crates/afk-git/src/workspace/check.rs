//! The checks on an agent's repository and checkout before afk reads them:
//! no links, no pointers to another repository, within bounds.

use super::{MAX_ENTRIES, MAX_FILE_BYTES, MAX_REFS, MAX_TREE_BYTES, Refused};
use std::path::Path;

fn refused(why: impl Into<String>) -> Refused {
    Refused(why.into())
}

/// `path` is a real folder, not a link to one.
pub(super) fn check_dir(path: &Path) -> std::result::Result<(), Refused> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(refused(format!(
            "{} is no longer a folder (a link or a file): afk reads nothing through it",
            path.display()
        ))),
        Err(_) => Err(refused(format!("{} is gone", path.display()))),
    }
}

/// An agent's repository afk is about to read as a fetch source
/// (docs/security.md#the-workspace-the-agent-holds-no-forge-credential): a real
/// folder, not a link; no `commondir` (which would make git read another
/// repository); every entry in it, at any depth, a real file or folder (no
/// link that reads another repository's files, no FIFO, socket or device
/// that would make git wait for ever) and none named `.git` (a repository
/// lent in its place); within bounds; its alternates exactly afk's own
/// (`cache`) or none. A missing repository is fine (the agent removed it:
/// there is nothing to take). Each refusal names the path.
pub fn check_repository(git_dir: &Path, cache: Option<&Path>) -> std::result::Result<(), Refused> {
    let meta = match std::fs::symlink_metadata(git_dir) {
        Err(_) => return Ok(()),
        Ok(m) => m,
    };
    let name = git_dir.display();
    if !meta.is_dir() {
        return Err(refused(format!(
            "{name} is a link or a file, not a repository folder: afk does not follow it"
        )));
    }
    for f in ["commondir", "gitdir", "objects/info/http-alternates"] {
        if std::fs::symlink_metadata(git_dir.join(f)).is_ok() {
            return Err(refused(format!(
                "{name}/{f} exists: it would make git read another repository"
            )));
        }
    }
    // before any file in it is opened: everything a file or a folder
    entries_of(git_dir)?;
    let alternates = git_dir.join("objects/info/alternates");
    if std::fs::symlink_metadata(&alternates).is_ok() {
        let want = cache.map(|c| format!("{}\n", c.join("objects").display()));
        let text = read_small(&alternates, 4096);
        if text.is_none() || text != want {
            return Err(refused(format!(
                "{name}/objects/info/alternates was changed: it would lend the repository another one's objects"
            )));
        }
    }
    if std::fs::symlink_metadata(git_dir.join("packed-refs")).is_ok_and(|m| m.len() > 16 << 20) {
        return Err(refused(format!("{name}/packed-refs is over 16 MiB")));
    }
    Ok(())
}

/// What an entry that is neither a file, a folder nor a link is: None for
/// those three.
fn special(t: std::fs::FileType) -> Option<&'static str> {
    use std::os::unix::fs::FileTypeExt;
    if t.is_fifo() {
        Some("a FIFO")
    } else if t.is_socket() {
        Some("a socket")
    } else if t.is_block_device() || t.is_char_device() {
        Some("a device")
    } else if t.is_file() || t.is_dir() || t.is_symlink() {
        None
    } else {
        Some("neither a file nor a folder")
    }
}

/// Every entry below the repository `git_dir` (links not followed, nothing
/// opened but folders): each a real file or folder and none named `.git`;
/// `objects` within [`MAX_ENTRIES`] and [`MAX_TREE_BYTES`], `refs` within
/// [`MAX_REFS`], the rest within [`MAX_ENTRIES`], so the walk itself is
/// bounded.
fn entries_of(git_dir: &Path) -> std::result::Result<(), Refused> {
    let name = git_dir.display();
    let (mut objects, mut bytes, mut refs, mut other) = (0u64, 0u64, 0u64, 0u64);
    let mut stack = vec![git_dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            let Ok(m) = std::fs::symlink_metadata(&p) else {
                continue;
            };
            let t = m.file_type();
            if e.file_name() == ".git" {
                return Err(refused(format!(
                    "{} exists: git would read the repository it is or names instead of {name}",
                    p.display()
                )));
            }
            if t.is_symlink() {
                return Err(refused(format!(
                    "{} is a link: afk reads no file through a link",
                    p.display()
                )));
            }
            if let Some(what) = special(t) {
                return Err(refused(format!(
                    "{} is {what}: git would wait on it; afk reads only files and folders there",
                    p.display()
                )));
            }
            let area = p
                .strip_prefix(git_dir)
                .ok()
                .and_then(|r| r.components().next());
            match area.and_then(|c| c.as_os_str().to_str()) {
                Some("objects") => {
                    objects += 1;
                    bytes += m.len();
                    if objects > MAX_ENTRIES {
                        return Err(refused(format!(
                            "{name}/objects holds more than {MAX_ENTRIES} files"
                        )));
                    }
                    if bytes > MAX_TREE_BYTES {
                        return Err(refused(format!(
                            "{name}/objects holds more than {} MiB",
                            MAX_TREE_BYTES >> 20
                        )));
                    }
                }
                Some("refs") => {
                    refs += 1;
                    if refs > MAX_REFS {
                        return Err(refused(format!("{name} holds more than {MAX_REFS} refs")));
                    }
                }
                _ => {
                    other += 1;
                    if other > MAX_ENTRIES {
                        return Err(refused(format!(
                            "{name} holds more than {MAX_ENTRIES} files outside objects and refs"
                        )));
                    }
                }
            }
            if m.is_dir() {
                stack.push(p);
            }
        }
    }
    Ok(())
}

/// A small file's text, read without ever waiting: opened non-blocking and
/// without following a link, and read only when it is a regular file of at
/// most `max` bytes. None otherwise.
fn read_small(path: &Path, max: u64) -> Option<String> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW)
        .open(path)
        .ok()?;
    let m = f.metadata().ok()?;
    if !m.is_file() || m.len() > max {
        return None;
    }
    let mut text = String::new();
    f.take(max).read_to_string(&mut text).ok()?;
    Some(text)
}

/// The files `git add -A` would read, within bounds: none over
/// [`MAX_FILE_BYTES`], [`MAX_TREE_BYTES`] in all, [`MAX_ENTRIES`] files.
pub(super) fn bounded_files<'a>(
    workdir: &Path,
    names: impl Iterator<Item = &'a str>,
) -> std::result::Result<(), Refused> {
    let (mut n, mut total) = (0u64, 0u64);
    for name in names.filter(|n| !n.is_empty()) {
        n += 1;
        if n > MAX_ENTRIES {
            return Err(refused(format!(
                "the checkout holds more than {MAX_ENTRIES} files"
            )));
        }
        // a link is read as a link (its target is not followed)
        let Ok(m) = std::fs::symlink_metadata(workdir.join(name)) else {
            continue;
        };
        // a FIFO would block git (and afk) for ever, a device or a socket
        // is no file to commit: refused, with the reason
        if let Some(what) = special(m.file_type()) {
            return Err(refused(format!(
                "the checkout's {name:?} is {what}: afk commits only files and links"
            )));
        }
        if m.len() > MAX_FILE_BYTES && m.is_file() {
            return Err(refused(format!(
                "the checkout's {name:?} is over {} MiB: afk commits no such file",
                MAX_FILE_BYTES >> 20
            )));
        }
        total += m.len();
        if total > MAX_TREE_BYTES {
            return Err(refused(format!(
                "the checkout's files are over {} MiB in all",
                MAX_TREE_BYTES >> 20
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A folder of its own, removed with it.
    pub(in crate::workspace) struct Tmp(pub std::path::PathBuf);

    impl Tmp {
        pub(in crate::workspace) fn new(tag: &str) -> Tmp {
            static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
            let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let p = std::env::temp_dir().join(format!("afk-git-{tag}-{}-{n}", std::process::id()));
            let _ = std::fs::remove_dir_all(&p);
            std::fs::create_dir_all(&p).unwrap();
            Tmp(p)
        }
    }

    impl Drop for Tmp {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    pub(in crate::workspace) fn git(dir: &Path, args: &[&str]) -> String {
        let out = std::process::Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@t.invalid"])
            .args(args)
            .current_dir(dir)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    pub(in crate::workspace) fn mkfifo(path: &Path) {
        let _ = std::fs::remove_file(path);
        let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: mkfifo(3) with a NUL-terminated path
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "{path:?}");
    }

    /// Nobody has the FIFO open for reading (a writer that does not wait is
    /// refused with ENXIO): whatever git opened it was ended.
    pub(in crate::workspace) fn unread(path: &Path) -> bool {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path)
            .is_err_and(|e| e.raw_os_error() == Some(libc::ENXIO))
    }

    /// A repository as git makes it, with a commit, a branch and packed refs.
    fn repository(t: &Tmp) -> std::path::PathBuf {
        let work = t.0.join("w");
        std::fs::create_dir_all(&work).unwrap();
        git(&work, &["init", "-q"]);
        git(&work, &["commit", "-q", "--allow-empty", "-m", "one"]);
        git(&work, &["branch", "afk/issue-1"]);
        git(&work, &["pack-refs", "--all"]);
        work.join(".git")
    }

    #[derive(Clone, Copy)]
    enum Plant {
        Fifo,
        Socket,
        Link,
        File,
        Folder,
    }

    fn plant(path: &Path, how: Plant) -> Option<std::os::unix::net::UnixListener> {
        if let Some(d) = path.parent() {
            std::fs::create_dir_all(d).unwrap();
        }
        let _ = std::fs::remove_file(path);
        let _ = std::fs::remove_dir_all(path);
        match how {
            Plant::Fifo => mkfifo(path),
            Plant::Socket => return Some(std::os::unix::net::UnixListener::bind(path).unwrap()),
            Plant::Link => std::os::unix::fs::symlink("/etc/hostname", path).unwrap(),
            Plant::File => std::fs::write(path, "gitdir: /somewhere/else.git\n").unwrap(),
            Plant::Folder => std::fs::create_dir_all(path.join("objects")).unwrap(),
        }
        None
    }

    #[test]
    fn every_entry_of_an_agents_git_folder_that_is_not_a_file_or_folder_is_refused_naming_it() {
        let cases: &[(&str, Plant, &str)] = &[
            ("packed-refs", Plant::Fifo, "a FIFO"),
            ("config", Plant::Fifo, "a FIFO"),
            ("HEAD", Plant::Fifo, "a FIFO"),
            ("objects/info/alternates", Plant::Fifo, "a FIFO"),
            ("refs/heads/stuck", Plant::Fifo, "a FIFO"),
            (
                "objects/ff/00000000000000000000000000000000000000",
                Plant::Fifo,
                "a FIFO",
            ),
            ("hooks/pre-push", Plant::Fifo, "a FIFO"),
            ("logs/HEAD", Plant::Fifo, "a FIFO"),
            ("info/exclude", Plant::Fifo, "a FIFO"),
            ("shallow", Plant::Fifo, "a FIFO"),
            ("packed-refs", Plant::Socket, "a socket"),
            ("refs/heads/s", Plant::Socket, "a socket"),
            ("config", Plant::Link, "a link"),
            ("refs/heads/x", Plant::Link, "a link"),
            ("hooks/pre-commit", Plant::Link, "a link"),
            ("info/attributes", Plant::Link, "a link"),
        ];
        for &(path, how, what) in cases {
            let t = Tmp::new("entries");
            let dir = repository(&t);
            assert_eq!(check_repository(&dir, None), Ok(()), "as git made it");
            let _socket = plant(&dir.join(path), how);
            let why = check_repository(&dir, None)
                .expect_err(&format!("{path} as {what} was not refused"))
                .0;
            assert!(
                why.contains(&dir.join(path).display().to_string()) && why.contains(what),
                "{path}: {why}"
            );
        }
    }

    #[test]
    fn a_git_entry_inside_an_agents_repository_is_refused_naming_it() {
        let cases: &[(&str, Plant)] = &[
            (".git", Plant::File),
            (".git", Plant::Folder),
            (".git", Plant::Link),
            ("refs/.git", Plant::File),
            ("objects/.git", Plant::Folder),
        ];
        for &(path, how) in cases {
            let t = Tmp::new("dotgit");
            let dir = repository(&t);
            plant(&dir.join(path), how);
            let why = check_repository(&dir, None)
                .expect_err(&format!("{path} was not refused"))
                .0;
            assert!(
                why.contains(&format!("{} exists", dir.join(path).display())),
                "{path}: {why}"
            );
        }
    }

    #[test]
    fn alternates_are_read_without_waiting_and_only_afks_own_pass() {
        let t = Tmp::new("alternates");
        let dir = repository(&t);
        let cache = t.0.join("cache.git");
        let alternates = dir.join("objects/info/alternates");
        let afks = format!("{}\n", cache.join("objects").display());
        let cases: &[(&str, Option<&Path>, bool)] = &[
            (afks.as_str(), Some(&cache), true),
            (afks.as_str(), None, false),
            ("/elsewhere/objects\n", Some(&cache), false),
            ("", Some(&cache), false),
        ];
        for &(text, cache, ok) in cases {
            std::fs::write(&alternates, text).unwrap();
            assert_eq!(check_repository(&dir, cache).is_ok(), ok, "{text:?}");
        }
        std::fs::write(&alternates, "x".repeat(5000)).unwrap();
        assert!(check_repository(&dir, None).is_err(), "too long to read");
        // read_small never waits on a FIFO (it answers None at once)
        mkfifo(&alternates);
        assert_eq!(read_small(&alternates, 4096), None);
    }
}
