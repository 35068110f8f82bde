//! Advice kept apart from an error's message, as jj's `CommandError` keeps
//! its hints: an error says what is wrong; its hints say what to do about it.
//! The text output joins them to the error's one line with `; ` (what the
//! person reads is one line, as before); `--json` carries them as the error
//! document's `hints` (docs/reports.md#errors), so a program can show the
//! message and the advice apart. The crates below the binary carry no
//! advice: their typed errors name what happened (the state file's
//! `StateError` its `Trouble`, a refused push `PushRefused`), and
//! [`of_typed`] here gives each its hint (a command's error,
//! `command_error::CommandError`, is made with them). A leaf: it names no
//! command and no adapter of the binary's, only the crates below.

use std::fmt;

/// An error with hints. Its message is the wrapped error's own (the hints
/// are not part of any error line); its causes are the wrapped error's.
#[derive(Debug)]
pub struct Hinted {
    error: anyhow::Error,
    hints: Vec<String>,
}

impl fmt::Display for Hinted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.error, f)
    }
}

impl std::error::Error for Hinted {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.error.source()
    }
}

/// `error`, with `hint` as what to do about it.
pub fn hinted(error: anyhow::Error, hint: impl Into<String>) -> anyhow::Error {
    with_hints(error, vec![hint.into()])
}

/// `error` with `hints` (none: `error` as it is).
pub fn with_hints(error: anyhow::Error, hints: Vec<String>) -> anyhow::Error {
    if hints.is_empty() {
        return error;
    }
    anyhow::Error::new(Hinted { error, hints })
}

/// Every hint of `e`, outermost first (a context over a hinted error keeps
/// them), then the one its typed error gets ([`of_typed`]).
pub fn hints_of(e: &anyhow::Error) -> Vec<String> {
    let mut out = vec![];
    let mut at = e;
    while let Some(h) = at.downcast_ref::<Hinted>() {
        out.extend(h.hints.iter().cloned());
        at = &h.error;
    }
    if let Some(hint) = of_typed(at)
        && !out.contains(&hint)
    {
        out.push(hint);
    }
    out
}

/// The hint of afk's own bug (`types::InternalError`, exit 6): nothing in
/// the setup to fix; what helps is a report.
pub const INTERNAL: &str = "this is a bug in afk, not in its setup: please report it on afk's issue tracker, with this error line and what `afk --version` prints";

/// The hint the binary gives a lower crate's typed error found in `e`'s
/// chain (or a context of its): what to do about what happened (a failed
/// call's by its `Reason`, a refused registry's by `secret_refused`, afk's
/// own bug by [`INTERNAL`]).
pub fn of_typed(e: &anyhow::Error) -> Option<String> {
    use crate::store::{StateError, Trouble};
    if e.downcast_ref::<crate::git::workspace::PushRefused>()
        .is_some()
    {
        return Some(
            "check that afk's account has write access and that no branch protection rule covers afk/*"
                .into(),
        );
    }
    e.chain().find_map(|c| {
        if c.is::<crate::types::InternalError>() {
            return Some(INTERNAL.into());
        }
        if let Some(f) = c.downcast_ref::<crate::forge::ForgeError>() {
            return f.reason.as_ref().map(of_call);
        }
        if let Some(r) = c.downcast_ref::<crate::registry::RegistryError>() {
            return r
                .secret_refused
                .then(|| "check the secret named by upgrade.registry_auth_env".into());
        }
        let state = c.downcast_ref::<StateError>()?;
        let hint = match state.trouble {
            Trouble::Full => "free space, then run the tick again",
            Trouble::NotAfks => "move it aside or restore a backup",
            Trouble::Foreign => "point state_path or --state at a new file",
            Trouble::Newer => "upgrade afk",
            Trouble::Locked => "try again when it finishes",
            Trouble::ReadOnly => {
                "let afk's user write it (its owner, mode or immutable flag), or point state_path at a folder it can write"
            }
            Trouble::Unreadable => {
                "run afk as the user that owns it (the timer's or crontab's user), or point state_path at a folder afk's user owns"
            }
            Trouble::Other => return None,
        };
        Some(hint.into())
    })
}

/// The hint of a failed call's [`Reason`](crate::forge::http::Reason) (afk-http names
/// why; what to do about it is the binary's to say).
fn of_call(reason: &crate::forge::http::Reason) -> String {
    use crate::forge::http::Reason;
    match reason {
        Reason::TokenRefused { source } => format!("check {source}"),
        Reason::NotFound => "check the repo name and the token's access".into(),
        Reason::Passing => "try again later".into(),
        Reason::AppTokenRefusedAgain => {
            "check the app's installation (forge.app_installation_id) and that it is not suspended"
                .into()
        }
        Reason::RepositoryMoved => "update the allowlist".into(),
    }
}

/// The error under any hints at the top of `e`: what a check of its type
/// (`is::<ConfigError>()`) looks at.
pub fn unhinted(e: &anyhow::Error) -> &anyhow::Error {
    match e.downcast_ref::<Hinted>() {
        Some(h) => unhinted(&h.error),
        None => e,
    }
}

/// The one line a person reads: the error line, then each hint, `; ` between.
pub fn line_with_hints(line: &str, hints: &[String]) -> String {
    std::iter::once(line)
        .chain(hints.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Typed;
    impl fmt::Display for Typed {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("typed")
        }
    }
    impl std::error::Error for Typed {}

    /// (the error, its hints, its message, the person's line)
    #[test]
    fn hints_stay_apart_from_the_message_and_join_it_only_in_the_persons_line() {
        let plain = anyhow::anyhow!("no config");
        let one = hinted(anyhow::anyhow!("no config"), "run `afk init`");
        let wrapped = hinted(anyhow::anyhow!("no config"), "run `afk init`").context("doctor");
        let two = hinted(hinted(anyhow::anyhow!("x"), "inner"), "outer");
        let cases: [(&anyhow::Error, &[&str], &str, &str); 4] = [
            (&plain, &[], "no config", "no config"),
            (
                &one,
                &["run `afk init`"],
                "no config",
                "no config; run `afk init`",
            ),
            (
                &wrapped,
                &["run `afk init`"],
                "doctor",
                "doctor; run `afk init`",
            ),
            (&two, &["outer", "inner"], "x", "x; outer; inner"),
        ];
        for (e, hints, message, line) in cases {
            assert_eq!(hints_of(e), hints, "{e}");
            assert_eq!(e.to_string(), message);
            assert_eq!(line_with_hints(&e.to_string(), &hints_of(e)), line);
        }
    }

    #[test]
    fn a_hinted_errors_type_and_causes_are_the_wrapped_errors() {
        let e = hinted(anyhow::Error::new(Typed).context("loading"), "fix it");
        assert!(unhinted(&e).is::<Typed>());
        let chain: Vec<String> = e.chain().map(|c| c.to_string()).collect();
        assert_eq!(chain, ["loading", "typed"]);
        assert!(with_hints(anyhow::Error::new(Typed), vec![]).is::<Typed>());
    }

    /// A failed call's typed reason and a refused registry secret get the
    /// words afk-http and afk-registry once carried themselves.
    #[test]
    fn a_lower_crates_reason_gets_the_binarys_words() {
        use crate::forge::http::Reason;
        use crate::forge::{Failure, ForgeError};
        let call = |reason| {
            anyhow::Error::new(ForgeError {
                service: "forge",
                method: "GET".into(),
                path: "/x".into(),
                status: None,
                message: "m".into(),
                kind: Failure::NoAnswer,
                retries: 0,
                reason,
            })
            .context("reading")
        };
        let token = Reason::TokenRefused {
            source: "AFK_FORGE_TOKEN".into(),
        };
        let cases = [
            (Some(token), Some("check AFK_FORGE_TOKEN")),
            (
                Some(Reason::NotFound),
                Some("check the repo name and the token's access"),
            ),
            (Some(Reason::Passing), Some("try again later")),
            (
                Some(Reason::AppTokenRefusedAgain),
                Some(
                    "check the app's installation (forge.app_installation_id) and that it is not suspended",
                ),
            ),
            (Some(Reason::RepositoryMoved), Some("update the allowlist")),
            (None, None),
        ];
        for (reason, hint) in cases {
            let case = format!("{reason:?}");
            assert_eq!(of_typed(&call(reason)).as_deref(), hint, "{case}");
        }
        let registry = |secret_refused| {
            anyhow::Error::new(crate::registry::RegistryError {
                kind: crate::registry::RegistryErrorKind::Http(Failure::Unauthorized),
                host: "h".into(),
                status: Some(401),
                retry_after: None,
                message: "GET /v2/ returned 401: access denied".into(),
                secret_refused,
            })
        };
        assert_eq!(
            hints_of(&registry(true)),
            ["check the secret named by upgrade.registry_auth_env"]
        );
        assert!(hints_of(&registry(false)).is_empty());
    }

    /// The crates below the binary name what happened and carry no advice:
    /// no string in their production code (before `#[cfg(test)]`) says
    /// "check …", "fix: …" or "upgrade afk"; the binary attaches the hint
    /// ([`of_typed`], `command_error`). afk-core is not scanned: its
    /// doctor details and its texts for people on the forge are advice by
    /// design (a doctor line "says what to fix"). `PENDING` are the files
    /// still carrying advice, each to leave the list when moved.
    #[test]
    fn no_lower_crates_message_carries_advice() {
        const ADVICE: &[&str] = &[
            "\"check ",
            ": check ",
            "; check ",
            "(check ",
            "; fix:",
            "upgrade afk",
            "does afk's account",
        ];
        const PENDING: &[&str] = &[];
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("crates");
        let mut files = vec![];
        let mut dirs = vec![root.clone()];
        while let Some(d) = dirs.pop() {
            for entry in std::fs::read_dir(&d).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|x| x == "rs") {
                    files.push(path);
                }
            }
        }
        let mut found = std::collections::BTreeSet::new();
        let mut offending = vec![];
        for path in files {
            let name = path
                .strip_prefix(&root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if name.starts_with("afk-core/") || name.contains("/tests") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let production = text.split("#[cfg(test)]").next().unwrap_or("");
            for (n, line) in production.lines().enumerate() {
                let code = line.trim_start();
                if code.starts_with("//") || !ADVICE.iter().any(|a| line.contains(a)) {
                    continue;
                }
                match PENDING.contains(&name.as_str()) {
                    true => drop(found.insert(name.clone())),
                    false => offending.push(format!("crates/{name}:{}: {code}", n + 1)),
                }
            }
        }
        assert!(
            offending.is_empty(),
            "advice in a lower crate's message: name what happened there and attach the hint in the binary (crate::hint::of_typed):\n{}",
            offending.join("\n")
        );
        let moved: Vec<_> = PENDING.iter().filter(|p| !found.contains(**p)).collect();
        assert!(
            moved.is_empty(),
            "no advice left: take {moved:?} off PENDING"
        );
    }
}
