//! What `afk doctor` makes of what it found: each check's level and its
//! words, with the fix. Pure; the command gathers the facts.

use crate::types::{Access, Permission, RepoName};
use serde::Serialize;

/// A check's outcome: a FAIL means a tick will fail (exit 1); a WARN means
/// something will silently not happen (exit 0, shown with `-q`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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

    /// With `-q` only problems are printed.
    pub fn shown(self, quiet: bool) -> bool {
        !quiet || self != Level::Ok
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
            format!("enabled, {} allowlisted", super::plural(n, "repo", "repos")),
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
    fn quiet_shows_only_problems() {
        assert!(!Level::Ok.shown(true));
        assert!(Level::Warn.shown(true) && Level::Fail.shown(true) && Level::Ok.shown(false));
    }
}
