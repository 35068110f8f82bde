//! Scratch directories, removed on drop.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

static N: AtomicUsize = AtomicUsize::new(0);

/// A scratch directory removed on drop.
pub struct Scratch {
    pub dir: PathBuf,
}

impl Scratch {
    pub fn new() -> Scratch {
        let dir = std::env::temp_dir().join(format!(
            "afk-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch { dir }
    }
    pub fn path(&self, p: &str) -> PathBuf {
        self.dir.join(p)
    }
    pub fn write(&self, p: &str, text: &str) -> PathBuf {
        let path = self.path(p);
        std::fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for Scratch {
    /// The folder goes, and first every process still working in it (an
    /// agent a test left running, its turn's wrapper about to write the
    /// exit record, the watch a turn's end started): such a process wrote
    /// into the folder after it was removed and made it again, leaving
    /// `afk-test-*` folders in /tmp. Each is a process of this user whose
    /// command line names the folder or whose working directory is in it.
    fn drop(&mut self) {
        for _ in 0..3 {
            let stray = working_in(&self.dir);
            for pid in &stray {
                // SAFETY: kill(2) with a pid read from /proc and a signal
                // number; it touches no memory of this process.
                unsafe {
                    libc::kill(*pid, libc::SIGKILL);
                }
            }
            let _ = std::fs::remove_dir_all(&self.dir);
            if stray.is_empty() && !self.dir.exists() {
                break;
            }
        }
    }
}

/// The processes (other than this one) whose command line names `dir` or
/// something in it, or whose working directory is in it.
fn working_in(dir: &std::path::Path) -> Vec<i32> {
    let me = std::process::id() as i32;
    let root = dir.to_string_lossy().to_string();
    let inside = |s: &str| s == root || s.starts_with(&format!("{root}/"));
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return vec![];
    };
    procs
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| *pid != me)
        .filter(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let named = cmdline
                .split(|b| *b == 0)
                .map(String::from_utf8_lossy)
                .any(|arg| {
                    inside(&arg) || arg.contains(&format!("{root}/")) || arg.ends_with(&root)
                });
            let cwd = std::fs::read_link(format!("/proc/{pid}/cwd"))
                .map(|p| inside(&p.to_string_lossy()))
                .unwrap_or(false);
            named || cwd
        })
        .collect()
}
