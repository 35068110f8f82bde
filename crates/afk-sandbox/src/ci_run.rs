//! A CI that runs the repository's own command (the seed's `ci`, or
//! `/_admin/ci` with `command`) on every push to a branch with an open pull
//! request, and when a pull request is opened: the pushed commit is checked
//! out into a folder of its own, the commit gets status `pending` at once
//! (before the push is answered), the command runs there in the background,
//! and its end is the status: `success` (exit 0), `failure` (any other exit),
//! `error` (timed out, killed, or it could not start), each with a one-line
//! description. Statuses go through the same state `/_admin/status` writes,
//! so every dialect shows them. Only a branch's newest push counts: a run a
//! newer push superseded is killed and its commit marked `error`.
//!
//! The command is the sandbox user's own and runs as that user with no
//! sandboxing (docs/sandbox.md says so): its own process group, stdin
//! closed, an environment of PATH, HOME and TMPDIR (folders of the run's own),
//! LANG and CI=true only, the last 64 KiB of its output kept, killed with its
//! group at the timeout.

use super::git;
use super::model::Forge;
use super::model::Status;
use super::model::ci::{Command as CiCommand, Run, show_duration};
use serde_json::Value;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

/// How much of a run's output is kept: its end.
const OUTPUT_KEPT: usize = 64 * 1024;
/// The longest status description.
const DESCRIPTION_MAX: usize = 140;

impl Forge {
    /// Set up (or, with an empty command, turn off) a repository's CI
    /// command: `{repo, command, context?, timeout?}`.
    pub(super) fn set_push_ci(&mut self, body: &Value) -> Result<(), String> {
        let repo = body["repo"].as_str().unwrap_or("");
        if !self.repos.contains_key(repo) {
            return Err(format!("ci: no repo \"{repo}\""));
        }
        let argv: Vec<String> = match &body["command"] {
            Value::Null => vec![],
            v => serde_json::from_value(v.clone())
                .map_err(|_| "ci: command is a list of strings (program, then its arguments)")?,
        };
        for key in body.as_object().into_iter().flat_map(|o| o.keys()) {
            if !["repo", "command", "context", "timeout"].contains(&key.as_str()) {
                return Err(format!("ci: unknown field \"{key}\""));
            }
        }
        let command = CiCommand::parse(argv, body["context"].as_str(), body["timeout"].as_str())?;
        self.set_ci_command(repo, command);
        Ok(())
    }

    /// A repository's CI command, or none.
    pub(super) fn set_ci_command(&mut self, repo: &str, command: Option<CiCommand>) {
        let commands = &mut self.ci.pushes.commands;
        match command {
            Some(c) => commands.insert(repo.to_string(), c),
            None => commands.remove(repo),
        };
    }

    /// Whether pushes to `repo` run anything (a push's refs are read only then).
    pub(super) fn ci_watches(&self, repo: &str) -> bool {
        self.ci.pushes.commands.contains_key(repo)
    }

    /// `branch` of `repo` now points at `sha`: run CI for the open pull
    /// request it heads, if any.
    pub(super) fn ci_pushed(&mut self, repo: &str, branch: &str, sha: &str) {
        if !self.ci_watches(repo) {
            return;
        }
        let pr = self.repos.get(repo).and_then(|r| {
            r.issues.values().find(|i| {
                i.pull
                    && i.state == "open"
                    && !i.merged
                    && i.head.as_deref() == Some(branch)
                    && i.head_repo.as_deref().is_none_or(|h| h == repo)
            })
        });
        if let Some(n) = pr.map(|i| i.number) {
            self.ci_start(repo, branch, n, sha);
        }
    }

    /// Pull request `repo#n` was opened: run CI on its head.
    pub(super) fn ci_pull_opened(&mut self, repo: &str, n: u64) {
        let Some(i) = self.repos.get(repo).and_then(|r| r.issues.get(&n)) else {
            return;
        };
        if !i.pull || i.state != "open" || i.head_repo.as_deref().is_some_and(|h| h != repo) {
            return;
        }
        let Some(branch) = i.head.clone() else {
            return;
        };
        let sha = self.head_sha(repo, i);
        if !sha.is_empty() {
            self.ci_pushed(repo, &branch, &sha);
        }
    }

    /// Hand the CI the sandbox's shared state, so runs can report back; the
    /// runs recorded before (a seed at start) start now.
    pub(super) fn ci_attach(&mut self, this: Weak<Mutex<Forge>>) {
        self.ci.pushes.this = this;
        for id in std::mem::take(&mut self.ci.pushes.unstarted) {
            self.ci_spawn(id);
        }
    }

    /// Record a run of `repo`'s command on `sha` (the newest of `branch`:
    /// an older one still running is superseded), post `pending`, start it.
    fn ci_start(&mut self, repo: &str, branch: &str, pr: u64, sha: &str) {
        let Some(command) = self.ci.pushes.commands.get(repo).cloned() else {
            return;
        };
        let pushes = &mut self.ci.pushes;
        pushes.next_run += 1;
        let id = pushes.next_run;
        let key = (repo.to_string(), branch.to_string());
        let older = pushes
            .newest
            .insert(key, id)
            .and_then(|old| pushes.run_mut(old))
            .filter(|r| r.state == "running");
        let mut superseded = None;
        if let Some(old) = older {
            old.cancel.store(true, Ordering::SeqCst);
            old.state = "superseded".into();
            old.description = one_line(&format!("superseded by a newer push ({})", short(sha)));
            if old.sha != sha {
                superseded = Some((
                    old.sha.clone(),
                    old.context.clone(),
                    old.id,
                    old.description.clone(),
                ));
            }
        }
        if let Some((old_sha, context, old_id, description)) = superseded {
            self.ci_status(repo, &old_sha, &context, old_id, "error", &description);
        }
        let description = one_line(&format!("running {}", command.argv.join(" ")));
        self.ci.pushes.keep(Run {
            id,
            repo: repo.to_string(),
            branch: branch.to_string(),
            pr,
            sha: sha.to_string(),
            context: command.context.clone(),
            state: "running".into(),
            exit_code: None,
            description: description.clone(),
            output: String::new(),
            cancel: Arc::new(AtomicBool::new(false)),
        });
        self.ci_status(repo, sha, &command.context, id, "pending", &description);
        self.ci_spawn(id);
    }

    /// Post a run's commit status, as the CI's own account.
    fn ci_status(
        &mut self,
        repo: &str,
        sha: &str,
        context: &str,
        id: u64,
        state: &str,
        description: &str,
    ) {
        let status = Status {
            id: 0,
            state: state.to_string(),
            context: context.to_string(),
            target_url: format!("{}/_admin/ci/runs/{id}", self.base),
            description: description.to_string(),
            creator: "ci-bot".into(),
            updated_at: String::new(),
        };
        let _ = self.push_status(repo, sha, status);
    }

    /// Start run `id` on a thread of its own (later, when the sandbox has
    /// not handed its shared state over yet).
    fn ci_spawn(&mut self, id: u64) {
        let Some(this) = self.ci.pushes.this.upgrade() else {
            self.ci.pushes.unstarted.push(id);
            return;
        };
        let Some(run) = self.ci.pushes.run(id) else {
            return;
        };
        let Some(command) = self.ci.pushes.commands.get(&run.repo).cloned() else {
            return;
        };
        let job = Job {
            id,
            git_dir: self.git_dir(&run.repo),
            folder: self.dir.join(".ci-runs").join(id.to_string()),
            sha: run.sha.clone(),
            command,
            cancel: run.cancel.clone(),
        };
        std::thread::spawn(move || {
            let ended = job.execute();
            this.lock().unwrap().ci_end(job.id, ended);
        });
    }

    /// A run ended: its state, and its commit's status unless a newer push
    /// superseded it.
    fn ci_end(&mut self, id: u64, ended: Ended) {
        let Some(run) = self.ci.pushes.run_mut(id) else {
            return;
        };
        run.output = ended.output;
        run.exit_code = ended.exit_code;
        if run.state != "running" {
            return;
        }
        run.state = ended.state.to_string();
        run.description = ended.description;
        let (repo, sha, context, state, description) = (
            run.repo.clone(),
            run.sha.clone(),
            run.context.clone(),
            run.state.clone(),
            run.description.clone(),
        );
        self.ci_status(&repo, &sha, &context, id, &state, &description);
    }

    /// One line per repository with a CI command: `acme/api runs `make
    /// test` on every push to a PR's branch (status ci/test, timeout 10m)`.
    pub fn ci_summary(&self) -> Vec<String> {
        self.ci
            .pushes
            .commands
            .iter()
            .map(|(repo, c)| {
                format!(
                    "{repo} runs `{}` on every push to a PR's branch (status {}, timeout {})",
                    one_line(&c.argv.join(" ")),
                    c.context,
                    show_duration(c.timeout)
                )
            })
            .collect()
    }

    /// The runs as `/_admin/state` shows them.
    pub(super) fn ci_runs(&self) -> Vec<Value> {
        (self.ci.pushes.runs.iter())
            .map(|r| self.ci_shown(r, false))
            .collect()
    }

    /// One run with its output (`GET /_admin/ci/runs/<id>`).
    pub(super) fn ci_run(&self, id: u64) -> Option<Value> {
        self.ci.pushes.run(id).map(|r| self.ci_shown(r, true))
    }

    /// A run as the admin API shows it, its PR by the number the dialect
    /// shows (Azure DevOps' `pullRequestId`, never the shared model's).
    fn ci_shown(&self, r: &crate::model::ci::Run, with_output: bool) -> Value {
        let mut v = r.show(with_output);
        if let Some(id) = self.az.pr_of(&r.repo, r.pr) {
            v["pr"] = Value::from(id);
        }
        v
    }
}

/// What a run's thread needs: nothing of the forge's state.
struct Job {
    id: u64,
    git_dir: PathBuf,
    /// the run's own folder: `w` the checkout, `home`, `tmp`
    folder: PathBuf,
    sha: String,
    command: CiCommand,
    cancel: Arc<AtomicBool>,
}

/// How a run ended.
struct Ended {
    state: &'static str,
    exit_code: Option<i32>,
    description: String,
    output: String,
}

impl Job {
    /// Check out, run, and clean up; never panics on the command's account.
    fn execute(&self) -> Ended {
        let ended = match self.checkout() {
            Ok(work) => self.run(&work),
            Err(e) => Ended {
                state: "error",
                exit_code: None,
                description: one_line(&format!("cannot check out {}: {e}", short(&self.sha))),
                output: String::new(),
            },
        };
        remove_all(&self.folder);
        ended
    }

    /// A checkout of the commit, with a `.git` of its own that borrows the
    /// repository's objects.
    fn checkout(&self) -> Result<PathBuf, String> {
        let _ = std::fs::remove_dir_all(&self.folder);
        for sub in ["home", "tmp"] {
            std::fs::create_dir_all(self.folder.join(sub)).map_err(|e| e.to_string())?;
        }
        let work = self.folder.join("w");
        let git = |dir: Option<&Path>, args: &[&str]| -> Result<(), String> {
            let mut c = Command::new("git");
            if let Some(d) = dir {
                c.current_dir(d);
            }
            let out = c
                .args([
                    "-c",
                    "core.hooksPath=/dev/null",
                    "-c",
                    "advice.detachedHead=false",
                ])
                .args(args)
                .env("GIT_CONFIG_NOSYSTEM", "1")
                .env("GIT_TERMINAL_PROMPT", "0")
                .stdin(Stdio::null())
                .output()
                .map_err(|e| format!("git: {e}"))?;
            if out.status.success() {
                Ok(())
            } else {
                Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
            }
        };
        let (from, to) = (self.git_dir.to_string_lossy(), work.to_string_lossy());
        git(
            None,
            &["clone", "-q", "--shared", "--no-checkout", &from, &to],
        )?;
        git(Some(&work), &["checkout", "-q", "--detach", &self.sha])?;
        Ok(work)
    }

    /// Run the command in `work` to its end, its timeout, or its supersession.
    fn run(&self, work: &Path) -> Ended {
        let argv = &self.command.argv;
        let error = |description: String| Ended {
            state: "error",
            exit_code: None,
            description: one_line(&description),
            output: String::new(),
        };
        let (reader, writer) = match pipe() {
            Ok(p) => p,
            Err(e) => return error(format!("cannot start {}: {e}", argv[0])),
        };
        let mut cmd = Command::new(&argv[0]);
        cmd.args(&argv[1..])
            .current_dir(work)
            .env_clear()
            .env(
                "PATH",
                std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into()),
            )
            .env("HOME", self.folder.join("home"))
            .env("TMPDIR", self.folder.join("tmp"))
            .env("LANG", "C.UTF-8")
            .env("CI", "true")
            .stdin(Stdio::null());
        match writer.try_clone() {
            Ok(w2) => cmd.stdout(Stdio::from(writer)).stderr(Stdio::from(w2)),
            Err(e) => return error(format!("cannot start {}: {e}", argv[0])),
        };
        {
            use std::os::unix::process::CommandExt;
            cmd.process_group(0);
        }
        let tail = Arc::new(Mutex::new(Tail::default()));
        let (read_done, read_ended) = std::sync::mpsc::channel::<()>();
        {
            let tail = tail.clone();
            std::thread::spawn(move || {
                let mut reader = reader;
                let mut buf = [0u8; 8192];
                while let Ok(n) = reader.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    tail.lock().unwrap().push(&buf[..n]);
                }
                let _ = read_done.send(());
            });
        }
        // spawned (and the command's copies of the pipe dropped) on the
        // sandbox's spawner: the process dies with the sandbox
        let child = match super::kube_proc::spawn_owned(cmd) {
            Ok(c) => c,
            Err(e) => return error(format!("cannot start {}: {e}", argv[0])),
        };
        let pgid = child.id() as i32;
        let (exited, exit) = std::sync::mpsc::channel::<std::io::Result<ExitStatus>>();
        std::thread::spawn(move || {
            let mut child = child;
            let _ = exited.send(child.wait());
        });
        let deadline = Instant::now() + self.command.timeout;
        let why_killed;
        let status = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if self.cancel.load(Ordering::SeqCst) {
                why_killed = Some("superseded by a newer push".to_string());
                break None;
            }
            if left.is_zero() {
                why_killed = Some(format!(
                    "timed out after {}",
                    show_duration(self.command.timeout)
                ));
                break None;
            }
            match exit.recv_timeout(left.min(Duration::from_millis(100))) {
                Ok(s) => {
                    why_killed = None;
                    break s.ok();
                }
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => continue,
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                    why_killed = None;
                    break None;
                }
            }
        };
        // whatever it left running goes with it (and everything, when killed)
        // SAFETY: kill(2) on the group the command leads
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
        let status = match why_killed {
            Some(_) => exit.recv().ok().and_then(Result::ok),
            None => status,
        };
        // a process that left the group may hold the pipe: read what came, bounded
        let _ = read_ended.recv_timeout(Duration::from_secs(2));
        let output = tail.lock().unwrap().text();
        let last = last_line(&output);
        let with_last = |head: String| match &last {
            Some(l) => one_line(&format!("{head}: {l}")),
            None => one_line(&head),
        };
        if let Some(why) = why_killed {
            return Ended {
                state: "error",
                exit_code: None,
                description: with_last(why),
                output,
            };
        }
        use std::os::unix::process::ExitStatusExt;
        match status {
            Some(s) if s.success() => Ended {
                state: "success",
                exit_code: Some(0),
                description: with_last("passed".into()),
                output,
            },
            Some(s) => match s.code() {
                Some(code) => Ended {
                    state: "failure",
                    exit_code: Some(code),
                    description: with_last(format!("failed (exit {code})")),
                    output,
                },
                None => Ended {
                    state: "error",
                    exit_code: None,
                    description: with_last(format!(
                        "killed by signal {}",
                        s.signal().unwrap_or_default()
                    )),
                    output,
                },
            },
            None => Ended {
                state: "error",
                exit_code: None,
                description: with_last("its end could not be read".into()),
                output,
            },
        }
    }
}

/// The end of a stream, at most [`OUTPUT_KEPT`] bytes.
#[derive(Default)]
struct Tail {
    bytes: std::collections::VecDeque<u8>,
    cut: bool,
}

impl Tail {
    fn push(&mut self, b: &[u8]) {
        self.bytes.extend(b);
        if self.bytes.len() > OUTPUT_KEPT {
            let over = self.bytes.len() - OUTPUT_KEPT;
            self.bytes.drain(..over);
            self.cut = true;
        }
    }

    fn text(&self) -> String {
        let (a, b) = self.bytes.as_slices();
        let text = String::from_utf8_lossy(&[a, b].concat()).into_owned();
        if self.cut {
            format!("[… the first bytes were cut: the last {OUTPUT_KEPT} kept]\n{text}")
        } else {
            text
        }
    }
}

/// A pipe's two ends, closed on exec.
fn pipe() -> std::io::Result<(std::fs::File, std::fs::File)> {
    use std::os::fd::FromRawFd;
    let mut fds = [0i32; 2];
    // SAFETY: pipe2 fills two descriptors we then own
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: both descriptors are fresh and owned by nothing else
    Ok(unsafe {
        (
            std::fs::File::from_raw_fd(fds[0]),
            std::fs::File::from_raw_fd(fds[1]),
        )
    })
}

/// The last line of output holding anything but blanks.
fn last_line(output: &str) -> Option<String> {
    output
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(str::to_string)
}

/// One line of at most [`DESCRIPTION_MAX`] characters, control characters
/// made spaces, cut with an ellipsis.
fn one_line(text: &str) -> String {
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let clean = clean.trim();
    if clean.chars().count() <= DESCRIPTION_MAX {
        return clean.to_string();
    }
    let cut: String = clean.chars().take(DESCRIPTION_MAX - 1).collect();
    format!("{}…", cut.trim_end())
}

fn short(sha: &str) -> &str {
    &sha[..sha.len().min(7)]
}

/// Remove a run's folder, even where the command took its own write
/// permission away (a read-only module cache).
fn remove_all(dir: &Path) {
    if std::fs::remove_dir_all(dir).is_ok() || !dir.exists() {
        return;
    }
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o700));
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(e.path());
            }
        }
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// The heads of a repository's branches: `(branch, sha)`.
pub(super) fn branch_heads(git_dir: &Path) -> Vec<(String, String)> {
    git::git(
        git_dir,
        &[
            "for-each-ref",
            "--format=%(objectname) %(refname:strip=2)",
            "refs/heads",
        ],
        None,
    )
    .unwrap_or_default()
    .lines()
    .filter_map(|l| l.split_once(' '))
    .map(|(sha, b)| (b.to_string(), sha.to_string()))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_description_is_one_bounded_line() {
        let long = "x".repeat(500);
        let cases = [
            ("passed: 3 tests", "passed: 3 tests".to_string()),
            (
                "failed\r\n(exit 1)\x1b[31m",
                "failed  (exit 1) [31m".to_string(),
            ),
            (
                long.as_str(),
                format!("{}…", "x".repeat(DESCRIPTION_MAX - 1)),
            ),
        ];
        for (text, want) in cases {
            assert_eq!(one_line(text), want, "case {text:?}");
        }
    }

    #[test]
    fn the_last_line_is_the_last_that_says_something() {
        assert_eq!(
            last_line("a\nRan 3 tests\n\n  \n").as_deref(),
            Some("Ran 3 tests")
        );
        assert_eq!(last_line("\n \n"), None);
    }

    #[test]
    fn output_keeps_its_end_and_says_it_was_cut() {
        let mut t = Tail::default();
        t.push(b"start\n");
        assert_eq!(t.text(), "start\n");
        t.push(&vec![b'y'; OUTPUT_KEPT]);
        t.push(b"\nend\n");
        let text = t.text();
        assert!(
            text.starts_with("[… the first bytes were cut"),
            "{}",
            &text[..80]
        );
        assert!(text.ends_with("y\nend\n") && !text.contains("start"));
    }
}
