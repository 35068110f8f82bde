//! How a command's failure reaches the person, as jj's `command_error.rs`
//! does for it: a command's error is one [`CommandError`] — its kind (and so
//! its exit code, [`exit_code`]), its message and its hints — made once, at
//! the command boundary (`commands::run`), from the `anyhow::Error` the
//! command returned or from a lower crate's typed error (`From`); the hints
//! of a lower crate's error are attached here, in the binary
//! ([`of_typed`]), the crates below naming only what happened.
//! Text output prints the one line and its hints (`; ` between); `--json`
//! carries the hints apart (docs/reports.md#errors).

use crate::forge::ForgeError;

/// A command's failure: what `main` prints and exits with.
#[derive(Debug)]
pub struct CommandError {
    /// what it is, chosen when the error was made: the exit code's
    pub kind: ErrorKind,
    /// what happened, with its causes
    pub error: anyhow::Error,
    /// what to do about it, outermost first; never part of the message
    pub hints: Vec<String>,
}

impl CommandError {
    /// `error` as a failure of `kind`, with no hint of its own.
    pub fn new(kind: ErrorKind, error: impl Into<anyhow::Error>) -> CommandError {
        let error = error.into();
        let hints = hints_of(&error);
        CommandError { kind, error, hints }
    }
    /// A usage error found after parsing (exit 2).
    pub fn usage(message: impl Into<String>) -> CommandError {
        CommandError::new(ErrorKind::Usage, UsageError(message.into()))
    }
    /// This error with `hint` too.
    pub fn hint(mut self, hint: impl Into<String>) -> CommandError {
        self.hints.push(hint.into());
        self
    }
    /// The exit code of its kind.
    pub fn exit_code(&self) -> u8 {
        exit_code(self.kind)
    }
    /// Its message as one line ([`error_line`]), without the hints.
    pub fn line(&self) -> String {
        error_line(&self.error)
    }
    /// What text output prints: the line, then each hint, `; ` between.
    pub fn person_line(&self) -> String {
        crate::hint::line_with_hints(&self.line(), &self.hints)
    }
}

/// A command's `anyhow` error: its kind found in its chain, its hints those
/// attached above it and those the binary gives its typed errors.
impl From<anyhow::Error> for CommandError {
    fn from(error: anyhow::Error) -> CommandError {
        let kind = kind_of(&error);
        CommandError::new(kind, error)
    }
}

/// The lower crates' typed errors, each with the hints the binary gives it.
macro_rules! from_typed {
    ($($t:ty),* $(,)?) => {$(
        impl From<$t> for CommandError {
            fn from(e: $t) -> CommandError {
                CommandError::from(anyhow::Error::new(e))
            }
        }
    )*};
}
from_typed!(
    ForgeError,
    crate::store::StateError,
    crate::registry::RegistryError,
    crate::git::workspace::PushRefused,
    crate::config::ConfigError,
    UsageError,
);

/// A usage error found after parsing (exit 2).
#[derive(Debug)]
pub struct UsageError(pub String);
impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for UsageError {}

/// An error as one line for people: the outermost message with its causes.
pub fn error_line(e: &anyhow::Error) -> String {
    let mut parts: Vec<String> = vec![];
    for c in e.chain() {
        let s = c.to_string().replace('\n', " ");
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
    }
    parts.join(": ")
}

/// The line a person reads of `e`: [`error_line`], then its hints
/// (`crate::hint`), `; ` between, where no field keeps the hints apart (a
/// doctor check's detail).
pub fn person_line(e: &anyhow::Error) -> String {
    crate::hint::line_with_hints(&error_line(e), &hints_of(e))
}

/// Every hint of `e` ([`crate::hint::hints_of`]: those attached to it and
/// those of the lower crates' typed errors), and the one a Kubernetes API
/// call's error carries (an adapter of the binary's, which the leaf
/// `crate::hint` does not name).
pub fn hints_of(e: &anyhow::Error) -> Vec<String> {
    let mut out = crate::hint::hints_of(e);
    let api = e
        .chain()
        .find_map(|c| c.downcast_ref::<crate::runner::kubernetes::ApiError>())
        .and_then(|a| a.hint);
    if let Some(hint) = api
        && !out.iter().any(|h| h == hint)
    {
        out.push(hint.to_string());
    }
    out
}

/// What a command's error is, as its exit code is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// a flag or argument found wrong after parsing ([`UsageError`])
    Usage,
    /// the configuration: a key, a value, a secret (`config::ConfigError`)
    Config,
    /// a forge, agent-thread, Kubernetes or webhook call that failed (what
    /// it met, in afk-http's kinds, is its error's own: its line and hints)
    Call,
    /// afk's own bug: an invariant of afk's broke (`types::InternalError`),
    /// nothing the operator did; its hint asks for a report
    Internal,
    /// anything else: a file, the state file, git, a rule's refusal
    Other,
}

/// The kind of `e` (anywhere in its chain): what converting a command's
/// `anyhow` error to a [`CommandError`] finds once.
fn kind_of(e: &anyhow::Error) -> ErrorKind {
    let e = crate::hint::unhinted(e);
    if e.is::<crate::types::InternalError>() {
        return ErrorKind::Internal;
    }
    if e.is::<UsageError>() {
        return ErrorKind::Usage;
    }
    if e.is::<crate::config::ConfigError>() {
        return ErrorKind::Config;
    }
    let call = ForgeError::kind_of(e).is_some()
        || crate::runner::kubernetes::kind_of(e).is_some()
        || e.is::<crate::notify::Undelivered>();
    if call {
        ErrorKind::Call
    } else {
        ErrorKind::Other
    }
}

/// The exit code of a kind (docs/exit-codes.md): 2 for a usage or
/// configuration error (nothing was touched), 6 for afk's own bug, else 1.
/// A refused token or an unreachable host found by a call is the tick's one
/// error line, exit 1.
pub fn exit_code(kind: ErrorKind) -> u8 {
    match kind {
        ErrorKind::Usage | ErrorKind::Config => 2,
        ErrorKind::Internal => 6,
        ErrorKind::Call | ErrorKind::Other => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::{CommandError, ErrorKind, exit_code};
    use crate::forge::{Failure, ForgeError, LastTry};

    fn forge(kind: Failure) -> anyhow::Error {
        anyhow::Error::new(ForgeError {
            service: "forge",
            method: "GET".into(),
            path: "/user".into(),
            status: kind.status(),
            message: "m".into(),
            kind,
            retries: 0,
            reason: None,
        })
    }

    fn kube(kind: Failure) -> anyhow::Error {
        anyhow::Error::new(crate::runner::kubernetes::ApiError {
            kind,
            message: "m".into(),
            unknown: false,
            hint: None,
        })
    }

    /// Each typed error → its kind → the code docs/exit-codes.md documents
    /// (`exit_status::TABLE`, whose meaning says so).
    #[test]
    fn every_typed_error_exits_with_its_documented_code() {
        let usage = anyhow::Error::new(super::UsageError("--type".into()));
        let config = anyhow::Error::new(crate::config::ConfigError("config: x".into()));
        let internal = anyhow::Error::new(crate::types::InternalError::new("x"));
        let cases = [
            (usage.context("lessons"), ErrorKind::Usage, 2),
            (config, ErrorKind::Config, 2),
            (
                forge(Failure::NotFound).context("issue 4"),
                ErrorKind::Call,
                1,
            ),
            (forge(Failure::Unauthorized), ErrorKind::Call, 1),
            (
                forge(Failure::Exhausted(LastTry::NoAnswer)),
                ErrorKind::Call,
                1,
            ),
            (forge(Failure::RateLimited), ErrorKind::Call, 1),
            (kube(Failure::Conflict), ErrorKind::Call, 1),
            (internal.context("poll"), ErrorKind::Internal, 6),
            (anyhow::anyhow!("disk full"), ErrorKind::Other, 1),
        ];
        for (e, kind, code) in cases {
            let line = format!("{e:#}");
            let e = CommandError::from(e);
            assert_eq!(e.kind, kind, "{line}");
            assert_eq!(e.exit_code(), code, "{line}");
            let documented = crate::exit_status::TABLE
                .iter()
                .find(|c| c.code == code)
                .unwrap_or_else(|| panic!("{code} is not in exit_status::TABLE"));
            let says = match kind {
                ErrorKind::Usage | ErrorKind::Config => "Usage or configuration error",
                ErrorKind::Internal => "A bug in afk",
                ErrorKind::Call | ErrorKind::Other => "something failed",
            };
            assert!(documented.meaning.contains(says), "{code}: {says}");
        }
    }

    /// #83 item 6: afk's own bug (`types::InternalError`) is a kind of its
    /// own, exit 6 and no other kind's, its hint a report; a missing file
    /// and a refused request are not it.
    #[test]
    fn an_internal_error_exits_6_with_the_hint_to_report_it() {
        use crate::types::InternalError;
        let bug = anyhow::Error::new(InternalError::new("the loop ended without an answer"))
            .context("kubernetes: creating Job afk-run-3");
        let e = CommandError::from(bug);
        assert_eq!((e.kind, e.exit_code()), (ErrorKind::Internal, 6));
        assert_eq!(e.hints, [crate::hint::INTERNAL]);
        assert!(
            e.hints[0].contains("bug in afk") && e.hints[0].contains("report it"),
            "{:?}",
            e.hints
        );
        assert_eq!(
            e.line(),
            "kubernetes: creating Job afk-run-3: internal error (a bug in afk): the loop ended without an answer"
        );
        assert!(
            e.person_line().ends_with(crate::hint::INTERNAL),
            "{}",
            e.person_line()
        );
        // its code is in the one table, and is no other kind's
        let row = crate::exit_status::TABLE
            .iter()
            .find(|c| c.code == 6)
            .expect("6 is in exit_status::TABLE");
        assert!(row.meaning.contains("A bug in afk"), "{}", row.meaning);
        for other in [
            ErrorKind::Usage,
            ErrorKind::Config,
            ErrorKind::Call,
            ErrorKind::Other,
        ] {
            assert_ne!(exit_code(other), 6, "{other:?}");
        }
        // a missing file and a refused request are not afk's bug
        let missing = anyhow::Error::new(std::io::Error::from(std::io::ErrorKind::NotFound))
            .context("reading /etc/afk/afk.toml");
        for (e, kind) in [
            (missing, ErrorKind::Other),
            (forge(Failure::Unauthorized), ErrorKind::Call),
        ] {
            let e = CommandError::from(e);
            assert_eq!((e.kind, e.exit_code()), (kind, 1), "{}", e.line());
            assert!(
                !e.hints.iter().any(|h| h == crate::hint::INTERNAL),
                "{:?}",
                e.hints
            );
        }
        // inside a tick it is an error item (`tick::ErrorItem` takes these
        // hints): the hint is kept under a hinted context too
        let hinted = crate::hint::hinted(
            anyhow::Error::new(InternalError::new("x")).context("watch"),
            "outer",
        );
        assert_eq!(super::hints_of(&hinted), ["outer", crate::hint::INTERNAL]);
        assert_eq!(CommandError::from(hinted).kind, ErrorKind::Internal);
    }

    /// A lower crate's typed error becomes a command's error with the hint
    /// the binary gives it; the message never carries it.
    #[test]
    fn a_lower_crates_error_gets_its_hint_at_the_boundary() {
        use crate::store::{StateError, Trouble};
        let newer = CommandError::from(StateError {
            message: "state: /s/afk.db was written by a newer afk (schema 99, this one knows 40)"
                .into(),
            trouble: Trouble::Newer,
        });
        assert_eq!(newer.kind, ErrorKind::Other);
        assert_eq!(newer.hints, ["upgrade afk"]);
        assert_eq!(
            newer.person_line(),
            "state: /s/afk.db was written by a newer afk (schema 99, this one knows 40); upgrade afk"
        );
        let push = CommandError::from(crate::git::workspace::PushRefused {
            branch: "afk/issue-4".into(),
            repo: "acme/api".into(),
        });
        assert_eq!(
            push.line(),
            "workspace: the forge refused the push of afk/issue-4 to acme/api"
        );
        assert_eq!(push.hints.len(), 1);
        assert!(push.hints[0].contains("write access"), "{:?}", push.hints);
        let usage =
            CommandError::usage("`afk version` is not a command").hint("use `afk --version`");
        assert_eq!((usage.exit_code(), usage.hints.len()), (2, 1));
        let config = CommandError::from(crate::config::ConfigError("config: x".into()));
        assert_eq!((config.kind, config.exit_code()), (ErrorKind::Config, 2));
    }

    /// The crates below the binary name what happened; the binary's hint
    /// for it is read under any context, never twice.
    #[test]
    fn a_typed_errors_hint_is_the_binarys_read_under_its_context() {
        use crate::store::{StateError, Trouble};
        let state = anyhow::Error::new(StateError {
            message: "state: /s/afk.db is locked by another process (database is locked)".into(),
            trouble: Trouble::Locked,
        })
        .context("opening the state");
        assert_eq!(super::hints_of(&state), ["try again when it finishes"]);
        assert!(!state.to_string().contains("try again"), "{state}");
        let twice = crate::hint::hinted(
            anyhow::Error::new(StateError {
                message: "state: full".into(),
                trouble: Trouble::Full,
            }),
            "free space, then run the tick again",
        );
        assert_eq!(
            super::hints_of(&twice),
            ["free space, then run the tick again"]
        );
        let push = anyhow::anyhow!("git push: exit 1")
            .context(crate::git::workspace::PushRefused {
                branch: "afk/issue-4".into(),
                repo: "acme/api".into(),
            })
            .context("forwarding run 3");
        assert_eq!(super::hints_of(&push).len(), 1, "{push:#}");
        assert!(!format!("{push:#}").contains("write access"), "{push:#}");
    }
}
