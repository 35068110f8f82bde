//! What `afk doctor` makes of the `[upgrade]` section's outside world: the
//! mirrors on the forge (there, and afk may push), the recipes' upstream
//! (answers, has `main`), the registries (their OCI base answers) and the
//! folders an upgrade tick writes. Pure; the command gathers the facts.

use crate::doctor::Level;
use crate::types::{Access, Permission, RepoName};

/// What doctor saw of a mirror repository.
#[derive(Debug, Clone, Copy)]
pub enum MirrorSeen<'a> {
    /// it is there, and afk's permission on it
    Permission(&'a Permission),
    /// it is there; afk is a GitHub App, whose rights are the installation's
    ThereAsApp,
    /// the forge answered 404
    Missing,
    /// it is there, but the forge refused the permission read (403)
    PermissionRefused,
    /// any other failure, as one line
    Failed(&'a str),
}

/// A mirror: afk pushes its upgrade branches there and opens the PRs, so it
/// must exist and afk's account needs write.
pub fn mirror(login: &str, repo: &RepoName, seen: MirrorSeen) -> (Level, String) {
    match seen {
        MirrorSeen::Permission(p) if p.access() >= Access::Write => (
            Level::Ok,
            format!("mirror {repo}: there, and {login} may push ({})", p.word()),
        ),
        MirrorSeen::Permission(p) => {
            let have = Some(p.word()).filter(|w| !w.is_empty()).unwrap_or("none");
            (
                Level::Fail,
                format!(
                    "mirror {repo}: {login} has {have} there, but pushes upgrade branches and opens PRs: grant it write"
                ),
            )
        }
        MirrorSeen::ThereAsApp => (
            Level::Ok,
            format!("mirror {repo}: there; {login} pushes with the app installation's rights"),
        ),
        MirrorSeen::Missing => (
            Level::Fail,
            format!(
                "mirror {repo} does not exist, or afk's account cannot see it: create it (a copy of the recipe), or fix upgrade.mirror"
            ),
        ),
        MirrorSeen::PermissionRefused => (
            Level::Warn,
            format!(
                "mirror {repo}: there, but the forge refused to say {login}'s permission (403), so whether afk may push is not checked"
            ),
        ),
        MirrorSeen::Failed(e) => (Level::Fail, format!("mirror {repo}: {e}")),
    }
}

/// A recipe's upstream: one `git ls-remote` for `main` (None: no main).
pub fn upstream(recipe: &str, url: &str, seen: Result<Option<&str>, &str>) -> (Level, String) {
    match seen {
        Ok(Some(sha)) => (
            Level::Ok,
            format!(
                "upstream of {recipe} answers ({url}, main {})",
                &sha[..sha.len().min(12)]
            ),
        ),
        Ok(None) => (
            Level::Fail,
            format!(
                "upstream of {recipe} ({url}) has no main branch: upgrade reads upstream main; fix upgrade.upstream"
            ),
        ),
        Err(e) => (
            Level::Fail,
            format!(
                "upstream of {recipe} ({url}): {e}: check upgrade.upstream and that this host reaches it"
            ),
        ),
    }
}

/// A registry's OCI base (`/v2/`), asked without credentials: a 2xx, or a
/// 401 with a `Bearer` or `Basic` challenge, is a registry that answers.
pub fn registry(host: &str, seen: Result<(&str, Option<&str>), &str>) -> (Level, String) {
    match seen {
        Ok((url, None)) => (Level::Ok, format!("registry {host}: {url} answers")),
        Ok((url, Some(challenge))) => {
            let scheme = challenge.split_whitespace().next().unwrap_or("");
            if scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("basic") {
                (
                    Level::Ok,
                    format!(
                        "registry {host}: {url} answers (401 with a {scheme} challenge: afk asks for a token per image)"
                    ),
                )
            } else {
                (
                    Level::Warn,
                    format!(
                        "registry {host}: {url} answers 401 without a Bearer or Basic challenge: afk cannot log in there"
                    ),
                )
            }
        }
        Err(e) => (
            Level::Fail,
            format!(
                "registry {host}: {e}: check upgrade.registry_mirrors and that this host reaches it"
            ),
        ),
    }
}

/// A folder a tick writes in, as doctor found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FolderSeen {
    Folder {
        writable: bool,
    },
    /// not there yet; the nearest folder above it that is
    Missing {
        above: String,
        writable: bool,
    },
    /// there, but not a folder
    NotAFolder,
}

/// `upgrade.work_dir`, `runs_dir`: a folder afk's user can write in, or
/// can create (the tick creates it when first needed).
pub fn folder(key: &str, path: &str, seen: &FolderSeen) -> (Level, String) {
    match seen {
        FolderSeen::Folder { writable: true } => {
            (Level::Ok, format!("{key} {path} can be written"))
        }
        FolderSeen::Folder { writable: false } => (
            Level::Fail,
            format!(
                "afk cannot write in {path} ({key}): give afk's user write access, or set {key} elsewhere"
            ),
        ),
        FolderSeen::Missing {
            above,
            writable: true,
        } => (
            Level::Ok,
            format!("{key} {path} does not exist yet; afk creates it in {above}"),
        ),
        FolderSeen::Missing {
            above,
            writable: false,
        } => (
            Level::Fail,
            format!(
                "{key} {path} does not exist and afk cannot create it ({above} is not a folder afk's user can write in): create it for afk's user, or set {key} elsewhere"
            ),
        ),
        FolderSeen::NotAFolder => (
            Level::Fail,
            format!("{key} {path} is not a folder: set {key} to a folder"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mirror_must_exist_and_take_afk_s_pushes() {
        let repo: RepoName = "maint/nginx".parse().unwrap();
        let write = Permission::from_forge("write");
        let read = Permission::from_forge("read");
        let table = [
            (MirrorSeen::Permission(&write), Level::Ok, "may push"),
            (MirrorSeen::Permission(&read), Level::Fail, "grant it write"),
            (MirrorSeen::ThereAsApp, Level::Ok, "installation"),
            (MirrorSeen::Missing, Level::Fail, "does not exist"),
            (MirrorSeen::PermissionRefused, Level::Warn, "not checked"),
            (MirrorSeen::Failed("GET … 500"), Level::Fail, "500"),
        ];
        for (seen, level, says) in table {
            let (l, text) = mirror("afk", &repo, seen);
            assert_eq!(l, level, "{seen:?}: {text}");
            assert!(
                text.contains(says) && text.contains("maint/nginx"),
                "{text}"
            );
        }
    }

    #[test]
    fn an_upstream_must_answer_with_a_main_branch() {
        let table = [
            (Ok(Some("0123456789abcdef")), Level::Ok, "main 0123456789ab"),
            (Ok(None), Level::Fail, "no main branch"),
            (
                Err("git ls-remote: no answer within 10s"),
                Level::Fail,
                "within 10s",
            ),
        ];
        for (seen, level, says) in table {
            let (l, text) = upstream("nginx", "https://x/nginx.git", seen);
            assert_eq!(l, level, "{text}");
            assert!(text.contains(says), "{text}");
        }
    }

    #[test]
    fn a_registry_answers_with_a_2xx_or_a_token_challenge() {
        let url = "https://r.example/v2/";
        let table = [
            (Ok((url, None)), Level::Ok, "answers"),
            (
                Ok((url, Some("Bearer realm=\"https://auth\""))),
                Level::Ok,
                "Bearer challenge",
            ),
            (Ok((url, Some("basic realm=x"))), Level::Ok, "challenge"),
            (Ok((url, Some(""))), Level::Warn, "cannot log in"),
            (
                Err("GET /v2/: connection refused"),
                Level::Fail,
                "connection refused",
            ),
        ];
        for (seen, level, says) in table {
            let (l, text) = registry("docker.io", seen);
            assert_eq!(l, level, "{text}");
            assert!(text.contains(says), "{text}");
        }
    }

    #[test]
    fn a_work_folder_must_be_writable_or_creatable() {
        let table = [
            (FolderSeen::Folder { writable: true }, Level::Ok),
            (FolderSeen::Folder { writable: false }, Level::Fail),
            (
                FolderSeen::Missing {
                    above: "/var/lib/afk".into(),
                    writable: true,
                },
                Level::Ok,
            ),
            (
                FolderSeen::Missing {
                    above: "/".into(),
                    writable: false,
                },
                Level::Fail,
            ),
            (FolderSeen::NotAFolder, Level::Fail),
        ];
        for (seen, level) in table {
            let (l, text) = folder("upgrade.work_dir", "/w", &seen);
            assert_eq!(l, level, "{seen:?}: {text}");
        }
    }
}
