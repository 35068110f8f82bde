// One file: doctor's rules (~500 lines) and the table tests that pin them, kept beside them as everywhere in core.
//! The doctor room: what `afk doctor` makes of what it found, each check's
//! level and its words, with the fix. Pure; the command gathers the facts.
//!
//! - this file: the checks' [`Level`] and the checks of afk's own setup (the
//!   account, the folders, the hook's secret, the agent's program, …);
//! - [`gitlab`]: GitLab's token and branch protection;
//! - [`upgrade`]: the `[upgrade]` section's outside world (the mirrors, the
//!   recipes' upstream, the registries) and a folder a tick writes;
//! - [`systemd_unit`]: whether a systemd unit's sandbox lets a tick write
//!   where it writes;
//! - telemetry's lines (where traces go, what the collector answered) are
//!   the telemetry room's own (`telemetry::doctor`).

pub mod gitlab;
pub mod systemd_unit;
pub mod upgrade;

use crate::types::{Access, Permission, RepoName};
use serde::Serialize;

/// A check's outcome: a FAIL means a tick will fail (exit 1); a WARN means
/// something will silently not happen (exit 0, shown with `-q`).
/// Ordered by how bad: `Ok < Warn < Fail`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Ok,
    Warn,
    Fail,
}

impl Level {
    /// The line's first word: `ok  `, `WARN`, `FAIL`.
    pub fn tag(self) -> &'static str {
        match self {
            Level::Ok => "ok  ",
            Level::Warn => "WARN",
            Level::Fail => "FAIL",
        }
    }

    /// A yes-or-no check: ok, or a FAIL.
    pub fn of(ok: bool) -> Level {
        if ok { Level::Ok } else { Level::Fail }
    }

    /// With `-q` only problems are printed.
    pub fn shown(self, quiet: bool) -> bool {
        !quiet || self != Level::Ok
    }
}

/// What doctor found of the status issue (`status_issue`,
/// docs/configuration.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusIssue {
    /// the forge said it is not there (or not visible to afk's account)
    Missing,
    /// it is a pull request, not an issue
    Pull,
    /// an issue, who opened it, and afk's own permission on its repo when asked
    Found {
        author: String,
        permission: Option<Permission>,
    },
}

/// May afk's account edit the status issue's body: it opened the issue, or
/// it has write access to its repo (a GitHub App's bot: its installation's).
pub fn status_issue(issue: &str, login: &str, found: &StatusIssue) -> (Level, String) {
    let write = |p: &Option<Permission>| p.as_ref().is_some_and(|p| p.access() >= Access::Write);
    match found {
        StatusIssue::Missing => (
            Level::Fail,
            format!(
                "status_issue {issue} does not exist, or {login} cannot see it: open that issue (afk will write its body), or set status_issue = \"\""
            ),
        ),
        StatusIssue::Pull => (
            Level::Fail,
            format!("status_issue {issue} is a pull request: name an issue"),
        ),
        StatusIssue::Found { author, .. } if author == login => (
            Level::Ok,
            format!("status_issue {issue}: opened by {login}, afk's to edit"),
        ),
        StatusIssue::Found { .. } if login.ends_with("[bot]") => (
            Level::Ok,
            format!(
                "status_issue {issue}: {login} is an app: it edits with the installation's issues permission"
            ),
        ),
        StatusIssue::Found { permission, .. } if write(permission) => (
            Level::Ok,
            format!("status_issue {issue}: {login} has write access, afk's to edit"),
        ),
        StatusIssue::Found { author, permission } => (
            Level::Fail,
            format!(
                "status_issue {issue}: opened by {author}, and {login} has {} on its repo: afk cannot edit its body; give {login} write access there, or let {login} open the issue",
                permission
                    .as_ref()
                    .map(Permission::word)
                    .filter(|w| !w.is_empty())
                    .unwrap_or("no access")
            ),
        ),
    }
}

/// afk's own account on an allowlisted repo: it labels and comments (write),
/// and on Gitea and Forgejo reads who armed an issue (admin). A GitHub App's
/// bot holds the app's permissions, not a collaborator's.
pub fn account_permission(
    login: &str,
    repo: &RepoName,
    have: Option<&Permission>,
    needs_admin: bool,
) -> (Level, String) {
    let access = have.map_or(Access::None, Permission::access);
    let have = have
        .map(Permission::word)
        .filter(|p| !p.is_empty())
        .unwrap_or("none");
    if login.ends_with("[bot]") {
        return (
            Level::Ok,
            format!("{login} is an app: its permissions are the app installation's"),
        );
    }
    let needed = if needs_admin {
        Access::Admin
    } else {
        Access::Write
    };
    if access >= needed {
        (Level::Ok, format!("{login} has {have} on {repo}"))
    } else {
        let why = if needs_admin {
            "admin (to read who armed an issue; write to label and comment)"
        } else {
            "write (to label, comment and read who armed an issue)"
        };
        (
            Level::Fail,
            format!(
                "{login} has {have} on {repo}: afk's account needs {why}; grant it in the repo's collaborator settings"
            ),
        )
    }
}

/// `metrics_file`'s folder: missing or not writable, every tick's metrics are lost.
pub fn metrics_dir(file: &str, dir: &str, exists: bool, writable: bool) -> (Level, String) {
    if !exists {
        (
            Level::Fail,
            format!(
                "the folder of metrics_file {file} does not exist: create {dir} (node_exporter's textfile directory)"
            ),
        )
    } else if !writable {
        (
            Level::Fail,
            format!(
                "afk cannot write in {dir} (metrics_file {file}): give afk's user write access"
            ),
        )
    } else {
        (Level::Ok, format!("{file} can be written"))
    }
}

/// `status_page`'s folder: missing or not writable, the page goes stale.
pub fn status_page_dir(file: &str, dir: &str, exists: bool, writable: bool) -> (Level, String) {
    if !exists {
        (
            Level::Fail,
            format!(
                "the folder of status_page {file} does not exist: create {dir} (the web server's folder)"
            ),
        )
    } else if !writable {
        (
            Level::Fail,
            format!("afk cannot write in {dir} (status_page {file}): give afk's user write access"),
        )
    } else {
        (Level::Ok, format!("{file} can be written"))
    }
}

/// A `*_env` key that names a variable which is not set: what silently stops.
pub fn unset_env(key: &str, name: &str, effect: &str) -> (Level, String) {
    (
        Level::Warn,
        format!(
            "{key} names {name}, which is not set: {effect}; set it in the ticks' environment (e.g. /etc/afk/env)"
        ),
    )
}

/// The kill switch and the allowlist together.
pub fn poll(enabled: bool, allowlisted: usize) -> (Level, String) {
    match (enabled, allowlisted) {
        (false, _) => (
            Level::Ok,
            "disabled (poll.enabled = false): poll dispatches nothing".into(),
        ),
        (true, 0) => (
            Level::Warn,
            "enabled, but poll.allowlist is empty: nothing is dispatched; add \"owner/repo\" entries".into(),
        ),
        (true, n) => (
            Level::Ok,
            format!("enabled, {} allowlisted", crate::plural(n, "repo", "repos")),
        ),
    }
}

/// What `[hook]`'s secret is as doctor found it (docs/hook.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookSecret {
    /// neither secret_env nor secret_file is set, and no `[hook]` table:
    /// afk hook is not used
    Unset,
    /// a `[hook]` table that names no secret source
    Unnamed,
    /// a source is named but holds nothing (the variable's name)
    Empty(String),
    /// a secret of this many characters, from `from`
    Found { from: String, chars: usize },
    /// the secret file cannot be used: why
    Unreadable(String),
}

/// The webhook secret's line, when `[hook]` names one: a missing or
/// unreadable secret fails (every delivery would be answered 503); a short
/// one is a warning (a forge's webhook secret is guessed offline from one
/// signed delivery).
pub fn hook_secret(s: &HookSecret) -> Option<(Level, String)> {
    const MIN: usize = 16;
    match s {
        HookSecret::Unset => None,
        HookSecret::Unnamed => Some((
            Level::Warn,
            "[hook] names no secret (hook.secret_env or hook.secret_file): afk hook answers every forge delivery 503 until one is set (openssl rand -hex 32, the same secret in the forge's webhook); nothing else needs it".into(),
        )),
        HookSecret::Empty(var) => Some((
            Level::Fail,
            format!(
                "hook.secret_env names {var}, which is unset or empty: afk hook answers every forge delivery 503"
            ),
        )),
        HookSecret::Unreadable(why) => Some((
            Level::Fail,
            format!("{why}: afk hook answers every forge delivery 503"),
        )),
        HookSecret::Found { from, chars } if *chars < MIN => Some((
            Level::Warn,
            format!(
                "the webhook secret ({from}) has {chars} characters: use at least {MIN} (openssl rand -hex 32)"
            ),
        )),
        HookSecret::Found { from, .. } => Some((
            Level::Ok,
            format!(
                "the webhook secret is set ({from}); the forge's webhook must sign with it (docs/hook.md)"
            ),
        )),
    }
}

/// The tracker's webhook secret's line (`service`: Jira or Linear), beside
/// `[hook]`'s own: None when neither names a secret (afk hook is not used);
/// a tracker's delivery is verified with the tracker's secret alone, so
/// with afk hook in use and none for the tracker its deliveries are
/// answered 503 (WARN: its events wait for cron's tick); a named secret
/// that is empty or unreadable fails; a short one warns. Whether the
/// tracker's webhook is registered is the `tracker webhook` line's, read
/// where afk may (docs/trackers.md#doctor).
pub fn tracker_hook_secret(
    service: &str,
    hook: &HookSecret,
    tracker: &HookSecret,
) -> Option<(Level, String)> {
    const MIN: usize = 16;
    let said = match tracker {
        HookSecret::Unset | HookSecret::Unnamed if matches!(hook, HookSecret::Unset) => {
            return None;
        }
        HookSecret::Unset | HookSecret::Unnamed => (
            Level::Warn,
            format!(
                "afk hook answers {service}'s deliveries 503: neither tracker.hook_secret_env nor tracker.hook_secret_file names its secret, so {service}'s events wait for cron's tick"
            ),
        ),
        HookSecret::Empty(var) => (
            Level::Fail,
            format!(
                "tracker.hook_secret_env names {var}, which is unset or empty: afk hook answers every {service} delivery 503"
            ),
        ),
        HookSecret::Unreadable(why) => (
            Level::Fail,
            format!("{why}: afk hook answers every {service} delivery 503"),
        ),
        HookSecret::Found { from, chars } if *chars < MIN => (
            Level::Warn,
            format!(
                "{service}'s webhook secret ({from}) has {chars} characters: use at least {MIN} (openssl rand -hex 32)"
            ),
        ),
        HookSecret::Found { from, .. } => (
            Level::Ok,
            format!(
                "{service}'s webhook secret is set ({from}); whether {service}'s webhook is registered is the tracker webhook line's (docs/trackers.md#doctor)"
            ),
        ),
    };
    Some(said)
}

/// What stands between the agent's account and a trusted comment it edits
/// into a command (docs/reviews.md#commands): None when the agent holds no
/// forge token (`workspace = "afk"`); else OK when afk hook has a secret
/// (the forge's signed edit deliveries mark the comment), WARN when not:
/// the forges date to the second, so an edit in a comment's own second
/// shows in no date.
pub fn comment_edits(
    agent_holds_token: bool,
    hook_secret: bool,
    forge_tells_edits: bool,
) -> Option<(Level, String)> {
    match (agent_holds_token, hook_secret) {
        (false, _) => None,
        (true, false) if forge_tells_edits => Some((
            Level::Ok,
            "the agent's account holds a forge token: a command is asked of GitHub's lastEditedAt before it is carried out, so any edit of it is seen".into(),
        )),
        (true, true) => Some((
            Level::Ok,
            "the agent's account holds a forge token: a comment edit is seen by its dates and by the forge's signed edit delivery (subscribe the webhook to comment events)".into(),
        )),
        (true, false) => Some((
            Level::Warn,
            "the agent's account holds a forge token (runner.workspace = \"agent\") and no webhook reports edits: an edit within a comment's own second shows in no date, so afk carries out a `resume` or `fix` only once its author adds a 👍 to afk's question on the thread (`stop` and `hold` at once); set [hook] with comment events to need none (docs/reviews.md#commands)".into(),
        )),
    }
}

/// How runner.command uses a path-like word (one holding a `/`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathUse {
    /// the program run: it must exist and be executable
    Program,
    /// a script given to a shell: it must exist
    Script,
    /// an argument that names a file: it should exist
    Argument,
}

const SHELLS: [&str; 5] = ["sh", "bash", "dash", "zsh", "ksh"];

/// Every path-like word of a command and how it is used: the program (after
/// `env`'s assignments and flags), a shell's script, the words of a shell's
/// `-c` script read the same way (assignments, `exec`, redirections skipped;
/// words with quotes or `$` are not guessed at), and arguments naming files.
pub fn command_paths(argv: &[String]) -> Vec<(String, PathUse)> {
    let words: Vec<&str> = argv.iter().map(String::as_str).collect();
    let mut out = vec![];
    paths_of(&words, &mut out);
    out
}

fn paths_of(words: &[&str], out: &mut Vec<(String, PathUse)>) {
    let mut i = 0;
    let assignment = |w: &str| {
        w.split_once('=').is_some_and(|(k, _)| {
            !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
    };
    // env's and a script's prelude: assignments, `exec`, env's flags
    while let Some(w) = words.get(i) {
        let base = w.rsplit('/').next().unwrap_or(w);
        if matches!(*w, "-u" | "--unset" | "-C" | "--chdir") {
            i += 2;
        } else if assignment(w)
            || matches!(base, "env" | "exec" | "nohup" | "command")
            || (i > 0 && w.starts_with('-'))
        {
            i += 1;
        } else {
            break;
        }
    }
    let Some(prog) = words.get(i) else { return };
    let guessable = |w: &str| !w.contains(['$', '"', '\'', '`', '(', ')', '*', '?']);
    if !guessable(prog) {
        return;
    }
    if prog.contains('/') {
        out.push((prog.to_string(), PathUse::Program));
    }
    let shell = SHELLS.contains(&prog.rsplit('/').next().unwrap_or(prog));
    let rest = &words[i + 1..];
    let mut j = 0;
    let mut script_seen = false;
    while j < rest.len() {
        let w = rest[j];
        if matches!(w, "<" | ">" | ">>" | "2>" | "2>>") {
            j += 2;
            continue;
        }
        if shell && w.starts_with('-') && !w.starts_with("--") && w.contains('c') {
            if let Some(script) = rest.get(j + 1) {
                let inner: Vec<&str> = script.split_whitespace().collect();
                paths_of(&inner, out);
            }
            return;
        }
        if shell && !script_seen && !w.starts_with('-') {
            script_seen = true;
            if w.contains('/') && guessable(w) {
                out.push((w.to_string(), PathUse::Script));
            }
        } else if w.starts_with('/') && guessable(w) && !w.starts_with(['<', '>']) {
            out.push((w.to_string(), PathUse::Argument));
        }
        j += 1;
    }
}

/// What doctor says of one path-like word of runner.command (None: fine).
pub fn command_path(
    path: &str,
    used: PathUse,
    exists: bool,
    is_dir: bool,
    executable: bool,
) -> Option<(Level, String)> {
    let role = match used {
        PathUse::Program => "the program runner.command runs",
        PathUse::Script => "the script runner.command gives its shell",
        PathUse::Argument => "an argument of runner.command",
    };
    if !exists {
        let level = if used == PathUse::Argument {
            Level::Warn
        } else {
            Level::Fail
        };
        return Some((
            level,
            format!(
                "not found at {path} ({role}): fix the path in runner.command or install it there"
            ),
        ));
    }
    match used {
        PathUse::Program | PathUse::Script if is_dir => Some((
            Level::Fail,
            format!("{path} is a folder ({role}): name the file in runner.command"),
        )),
        PathUse::Program if !executable => Some((
            Level::Fail,
            format!(
                "{path} is not executable by afk's user ({role}): chmod +x {path}, or run it through a shell (\"sh\", \"{path}\")"
            ),
        )),
        _ => None,
    }
}

/// The state folder, probed as the tick uses it: created when missing, a file
/// written and removed, the tick lock taken and let go. `probe`: whether a
/// running tick held the lock, or the innermost error.
pub fn state_folder(dir: &str, probe: Result<bool, impl std::fmt::Display>) -> (Level, String) {
    match probe {
        Ok(false) => (
            Level::Ok,
            format!(
                "{dir}: afk's user can create it, write and remove a file in it and take the tick lock"
            ),
        ),
        Ok(true) => (
            Level::Ok,
            format!("{dir}: afk's user can write in it; a running tick holds its lock now"),
        ),
        Err(e) => (
            Level::Fail,
            format!(
                "{e}: every tick would fail on its lock; make {dir} a folder afk's user can write (or set state_path elsewhere)"
            ),
        ),
    }
}

/// An error line whose first word is the check's own name says it once
/// (`forge: forge: GET …` reads `forge: GET …`).
pub fn detail_of(check: &str, error_line: &str) -> String {
    error_line
        .strip_prefix(check)
        .and_then(|r| r.strip_prefix(": "))
        .unwrap_or(error_line)
        .to_string()
}

/// A named agent's program on this host (docs/runners.md, named agents):
/// `found` is where it is on PATH and whether the kernel can start it
/// ([`startable`]). Found and startable, or one FAIL naming it and what to
/// do. None for `custom` (its command is checked as written).
pub fn agent_program(
    kind: crate::types::AgentKind,
    found: Option<(&str, bool)>,
) -> Option<(Level, String)> {
    let program = crate::agent::program(kind)?;
    let install = crate::agent::install_command(kind)?;
    Some(match found {
        Some((_, true)) => (
            Level::Ok,
            format!("\"{program}\" found (runner.agent = \"{kind}\")"),
        ),
        Some((at, false)) => (
            Level::Fail,
            format!(
                "\"{program}\" at {at} is neither a program nor a script with a #! line: the kernel cannot start it (runner.agent = \"{kind}\"; npm's placeholder when its install script did not run, as with --ignore-scripts): install it with `{install}`, or put its native program first on afk's PATH"
            ),
        ),
        None => (
            Level::Fail,
            format!(
                "\"{program}\" not found on PATH (runner.agent = \"{kind}\"): install it with `{install}`, or put it on afk's PATH"
            ),
        ),
    })
}

/// Whether the kernel can start a file whose first bytes are `head`: an ELF
/// program, or a script with a `#!` line. Anything else fails with "Exec
/// format error" when the agent's box starts it.
pub fn startable(head: &[u8]) -> bool {
    head.starts_with(b"\x7fELF") || head.starts_with(b"#!")
}

/// Codex reports tokens, not dollars: with every `[runner.prices]` zero its
/// turns have no spend figure, so a money limit never acts on them (WARN).
pub fn codex_prices(
    kind: crate::types::AgentKind,
    prices_zero: bool,
    money_limit: bool,
) -> Option<(Level, String)> {
    (kind == crate::types::AgentKind::Codex && prices_zero && money_limit).then(|| {
        (
            Level::Warn,
            "codex reports tokens, not dollars: set [runner.prices] or the money limits never act"
                .to_string(),
        )
    })
}

/// The env files (where afk's secrets are kept) a probe in the agent's box
/// could read, from its `env=readable <file>` lines: any is a FAIL naming
/// them; none is no line.
pub fn box_env_files(found: &str) -> Option<(Level, String)> {
    let read: Vec<&str> = found
        .lines()
        .filter_map(|l| l.strip_prefix("env=readable "))
        .collect();
    (!read.is_empty()).then(|| {
        (
            Level::Fail,
            format!(
                "a probe in the agent's box could read {}, where afk's secrets are kept: check runner.box.read_only and read_write",
                read.join(", ")
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn afk_s_account_needs_admin_on_gitea_and_write_on_github() {
        let table = [
            ("afk", Some("admin"), true, Level::Ok),
            ("afk", Some("owner"), true, Level::Ok),
            ("afk", Some("write"), true, Level::Fail),
            ("afk", Some("write"), false, Level::Ok),
            ("afk", Some("read"), false, Level::Fail),
            ("afk", None, false, Level::Fail),
            ("afk", Some(""), true, Level::Fail),
            ("app[bot]", None, false, Level::Ok),
        ];
        for (login, have, admin, want) in table {
            let have = have.map(Permission::from_forge);
            assert_eq!(
                account_permission(login, &"a/b".parse().unwrap(), have.as_ref(), admin).0,
                want,
                "{have:?} {admin}"
            );
        }
        let (_, d) = account_permission("afk", &"a/b".parse().unwrap(), None, false);
        assert!(
            d.starts_with("afk has none on a/b: afk's account needs write"),
            "{d}"
        );
    }

    #[test]
    fn a_missing_or_readonly_status_page_folder_fails() {
        let cases = [
            (false, false, Level::Fail, "create /w"),
            (true, false, Level::Fail, "give afk's user write access"),
            (true, true, Level::Ok, "can be written"),
        ];
        for (exists, writable, level, says) in cases {
            let (l, text) = status_page_dir("/w/index.html", "/w", exists, writable);
            assert_eq!(l, level, "{exists} {writable}");
            assert!(text.contains(says), "{text}");
        }
    }

    #[test]
    fn a_missing_or_readonly_metrics_folder_fails() {
        assert_eq!(metrics_dir("/m/a.prom", "/m", false, false).0, Level::Fail);
        assert_eq!(metrics_dir("/m/a.prom", "/m", true, false).0, Level::Fail);
        assert_eq!(metrics_dir("/m/a.prom", "/m", true, true).0, Level::Ok);
    }

    #[test]
    fn an_enabled_poll_with_no_repos_warns() {
        assert_eq!(poll(true, 0).0, Level::Warn);
        assert_eq!(poll(false, 0).0, Level::Ok);
        assert_eq!(poll(true, 1).1, "enabled, 1 repo allowlisted");
    }

    #[test]
    fn the_status_issue_must_exist_and_be_afks_to_edit() {
        let found = |author: &str, perm: Option<&str>| StatusIssue::Found {
            author: author.into(),
            permission: perm.map(Permission::from_forge),
        };
        let cases: &[(&str, StatusIssue, Level, &str)] = &[
            ("afk", StatusIssue::Missing, Level::Fail, "does not exist"),
            ("afk", StatusIssue::Pull, Level::Fail, "pull request"),
            ("afk", found("afk", None), Level::Ok, "opened by afk"),
            (
                "afk",
                found("alice", Some("write")),
                Level::Ok,
                "write access",
            ),
            (
                "afk",
                found("alice", Some("admin")),
                Level::Ok,
                "write access",
            ),
            (
                "afk",
                found("alice", Some("read")),
                Level::Fail,
                "has read on its repo",
            ),
            ("afk", found("alice", None), Level::Fail, "has no access"),
            ("app[bot]", found("alice", None), Level::Ok, "is an app"),
        ];
        for (login, f, level, words) in cases {
            let (l, text) = status_issue("acme/ops#5", login, f);
            assert_eq!(l, *level, "{f:?}: {text}");
            assert!(text.contains(words), "{f:?}: {text}");
            assert!(text.contains("acme/ops#5"), "{text}");
        }
    }

    #[test]
    fn a_check_names_itself_once() {
        let table = [
            (
                "forge",
                "forge: GET /user returned 401",
                "GET /user returned 401",
            ),
            (
                "forge",
                "config: the token is missing",
                "config: the token is missing",
            ),
            ("runner", "runner:x", "runner:x"),
        ];
        for (check, line, want) in table {
            assert_eq!(detail_of(check, line), want);
        }
    }

    #[test]
    fn every_path_like_word_of_the_runner_command_is_checked_by_its_use() {
        use PathUse::*;
        let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        // (rule, argv, the paths and their use)
        type Case<'a> = (&'a str, Vec<String>, Vec<(&'a str, PathUse)>);
        let table: Vec<Case> = vec![
            (
                "a program on PATH names no path",
                v(&["claude", "-p"]),
                vec![],
            ),
            (
                "an absolute program",
                v(&["/opt/agent", "-p"]),
                vec![("/opt/agent", Program)],
            ),
            (
                "a shell's script",
                v(&["sh", "/x/agent.sh"]),
                vec![("/x/agent.sh", Script)],
            ),
            (
                "env's prelude is skipped",
                v(&["env", "A=1", "-u", "B", "/bin/agent"]),
                vec![("/bin/agent", Program)],
            ),
            (
                "a -c script is read the same way, redirections skipped",
                v(&[
                    "sh",
                    "-c",
                    "A=\"$HOME\" exec sh /x/a.sh < \"$AFK_PROMPT_FILE\"",
                ]),
                vec![("/x/a.sh", Script)],
            ),
            (
                "an argument naming a file",
                v(&["agent", "--conf", "/etc/a.toml"]),
                vec![("/etc/a.toml", Argument)],
            ),
            (
                "words with $ are not guessed at",
                v(&["sh", "-c", "$AGENT /x"]),
                vec![],
            ),
        ];
        for (rule, argv, want) in table {
            let got = command_paths(&argv);
            let want: Vec<(String, PathUse)> =
                want.into_iter().map(|(p, u)| (p.to_string(), u)).collect();
            assert_eq!(got, want, "{rule}");
        }
    }

    #[test]
    fn a_missing_or_unexecutable_runner_path_fails_and_says_where() {
        use PathUse::*;
        let table = [
            (
                "missing program",
                Program,
                false,
                false,
                false,
                Some(Level::Fail),
                "not found at /p",
            ),
            (
                "missing script",
                Script,
                false,
                false,
                false,
                Some(Level::Fail),
                "not found at /p",
            ),
            (
                "missing argument warns",
                Argument,
                false,
                false,
                false,
                Some(Level::Warn),
                "not found at /p",
            ),
            (
                "a program without x",
                Program,
                true,
                false,
                false,
                Some(Level::Fail),
                "not executable",
            ),
            ("a script needs no x", Script, true, false, false, None, ""),
            (
                "a folder is no program",
                Program,
                true,
                true,
                true,
                Some(Level::Fail),
                "is a folder",
            ),
            ("fine", Program, true, false, true, None, ""),
        ];
        for (rule, used, exists, dir, x, level, says) in table {
            let got = command_path("/p", used, exists, dir, x);
            assert_eq!(got.as_ref().map(|g| g.0), level, "{rule}");
            assert!(got.is_none_or(|g| g.1.contains(says)), "{rule}");
        }
    }

    #[test]
    fn a_state_folder_afk_cannot_write_fails_with_its_reason() {
        assert_eq!(state_folder("/s", Ok::<_, String>(false)).0, Level::Ok);
        assert_eq!(state_folder("/s", Ok::<_, String>(true)).0, Level::Ok);
        let (l, t) = state_folder(
            "/s",
            Err::<bool, _>("cannot create /s: Not a directory (os error 20)"),
        );
        assert_eq!(l, Level::Fail);
        assert!(
            t.starts_with("cannot create /s: Not a directory") && t.contains("make /s a folder"),
            "{t}"
        );
    }

    #[test]
    fn quiet_shows_only_problems() {
        assert!(!Level::Ok.shown(true));
        assert!(Level::Warn.shown(true) && Level::Fail.shown(true) && Level::Ok.shown(false));
    }

    #[test]
    fn a_named_agent_not_on_path_fails_once_with_how_to_install_it() {
        use crate::types::AgentKind;
        let missing = agent_program(AgentKind::Claude, None).unwrap();
        assert_eq!(missing.0, Level::Fail);
        assert!(
            missing.1.contains("\"claude\" not found on PATH")
                && missing
                    .1
                    .contains("npm install -g @anthropic-ai/claude-code@2.1.331"),
            "{}",
            missing.1
        );
        let codex = agent_program(AgentKind::Codex, None).unwrap();
        assert!(
            codex.1.contains("npm install -g @openai/codex@0.169.0"),
            "{}",
            codex.1
        );
        let found = Some(("/usr/bin/codex", true));
        assert_eq!(agent_program(AgentKind::Codex, found).unwrap().0, Level::Ok);
        assert_eq!(agent_program(AgentKind::Custom, None), None);
    }

    /// Found is not enough: a file the kernel cannot start (npm's
    /// placeholder for a native binary whose install script did not run)
    /// fails once, saying where it is and why.
    #[test]
    fn a_named_agents_program_the_kernel_cannot_start_fails() {
        use crate::types::AgentKind;
        let at = "/x/node_modules/.bin/claude";
        let (level, text) = agent_program(AgentKind::Claude, Some((at, false))).unwrap();
        assert_eq!(level, Level::Fail);
        assert!(
            text.contains(at) && text.contains("cannot start it"),
            "{text}"
        );
        // (the file's first bytes, whether the kernel can start it)
        let cases: [(&[u8], bool); 6] = [
            (b"\x7fELF\x02\x01", true),
            (b"#!/usr/bin/env node\n", true),
            (b"#!", true),
            (
                b"echo \"Error: claude native binary not installed.\"",
                false,
            ),
            (b"\x7fEL", false),
            (b"", false),
        ];
        for (head, want) in cases {
            assert_eq!(startable(head), want, "{head:?}");
        }
    }

    #[test]
    fn codex_without_prices_under_a_money_limit_warns() {
        use crate::types::AgentKind::{Claude, Codex, Custom};
        let cases = [
            (Codex, true, true, true),
            (Codex, false, true, false),
            (Codex, true, false, false),
            (Claude, true, true, false),
            (Custom, true, true, false),
        ];
        for (kind, zero, money, warns) in cases {
            let got = codex_prices(kind, zero, money);
            assert_eq!(got.is_some(), warns, "{kind} {zero} {money}");
            if let Some((level, text)) = got {
                assert_eq!(level, Level::Warn);
                assert!(text.starts_with("codex reports tokens, not dollars"));
            }
        }
    }

    #[test]
    fn an_env_file_a_boxed_probe_can_read_fails_naming_each() {
        let cases: &[(&str, Option<&str>)] = &[
            ("state=hidden\nmodel=reached\nforge=refused\n", None),
            ("", None),
            (
                "state=hidden\nenv=readable /etc/afk/env\n",
                Some(
                    "a probe in the agent's box could read /etc/afk/env, where afk's secrets are kept: check runner.box.read_only and read_write",
                ),
            ),
            (
                "env=readable /etc/afk/env\nmodel=reached\nenv=readable /home/afk/.config/afk/env\n",
                Some(
                    "a probe in the agent's box could read /etc/afk/env, /home/afk/.config/afk/env, where afk's secrets are kept: check runner.box.read_only and read_write",
                ),
            ),
        ];
        for (found, want) in cases {
            let got = box_env_files(found);
            assert_eq!(got.as_ref().map(|(_, t)| t.as_str()), *want, "{found:?}");
            if want.is_some() {
                assert_eq!(got.map(|(l, _)| l), Some(Level::Fail), "{found:?}");
            }
        }
    }

    #[test]
    fn the_hook_secret_is_checked_only_where_hook_names_one() {
        let found = |chars| HookSecret::Found {
            from: "$AFK_HOOK_SECRET".into(),
            chars,
        };
        let cases = [
            (HookSecret::Unset, None),
            (
                HookSecret::Empty("AFK_HOOK_SECRET".into()),
                Some(Level::Fail),
            ),
            (HookSecret::Unreadable("mode 644".into()), Some(Level::Fail)),
            (found(8), Some(Level::Warn)),
            (found(64), Some(Level::Ok)),
        ];
        for (s, want) in cases {
            assert_eq!(hook_secret(&s).map(|(l, _)| l), want, "{s:?}");
        }
    }

    #[test]
    fn a_trackers_webhook_secret_is_checked_where_afk_hook_is_used() {
        let found = |chars| HookSecret::Found {
            from: "$AFK_JIRA_HOOK".into(),
            chars,
        };
        let hook = found(64);
        let cases = [
            (HookSecret::Unset, HookSecret::Unset, None),
            (HookSecret::Unset, HookSecret::Unnamed, None),
            (hook.clone(), HookSecret::Unset, Some(Level::Warn)),
            (HookSecret::Unnamed, HookSecret::Unset, Some(Level::Warn)),
            (
                hook.clone(),
                HookSecret::Empty("AFK_JIRA_HOOK".into()),
                Some(Level::Fail),
            ),
            (
                HookSecret::Unset,
                HookSecret::Unreadable("mode 644".into()),
                Some(Level::Fail),
            ),
            (hook.clone(), found(8), Some(Level::Warn)),
            (HookSecret::Unset, found(64), Some(Level::Ok)),
        ];
        for (h, t, want) in cases {
            let got = tracker_hook_secret("Jira", &h, &t).map(|(l, _)| l);
            assert_eq!(got, want, "{h:?} {t:?}");
        }
    }

    #[test]
    fn comment_edits_are_warned_of_where_the_agent_can_edit_and_no_webhook_reports_it() {
        let cases = [
            (false, false, false, None),
            (false, true, false, None),
            (true, true, false, Some(Level::Ok)),
            (true, false, false, Some(Level::Warn)),
            // GitHub's lastEditedAt tells any edit, webhook or not
            (true, false, true, Some(Level::Ok)),
        ];
        for (agent, hook, github, want) in cases {
            let got = comment_edits(agent, hook, github);
            assert_eq!(
                got.as_ref().map(|(l, _)| *l),
                want,
                "{agent} {hook} {github}"
            );
            if let Some((_, text)) = got {
                assert!(text.contains("forge token"), "{text}");
            }
        }
    }
}
