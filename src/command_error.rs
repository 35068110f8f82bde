//! How a command's failure reaches the person: one line (`error_line`) and
//! one exit code (`exit_code_of`), as jj's `command_error.rs` does for it.
//! Every typed error afk returns is one [`ErrorKind`] ([`kind_of`]), and
//! every kind one code of the table in `exit_status.rs` ([`exit_code`]).

use crate::forge::{Failure, ForgeError};

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
    crate::hint::line_with_hints(&error_line(e), &crate::hint::hints_of(e))
}

/// What a command's error is, as its exit code is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// a flag or argument found wrong after parsing ([`UsageError`])
    Usage,
    /// the configuration: a key, a value, a secret (`config::ConfigError`)
    Config,
    /// a forge, agent-thread, Kubernetes or webhook call, by what it met
    /// (afk-http's kinds, the one vocabulary of a failed call)
    Call(Failure),
    /// anything else: a file, the state file, git, a rule's refusal
    Other,
}

/// The kind of `e` (anywhere in its chain).
pub fn kind_of(e: &anyhow::Error) -> ErrorKind {
    let e = crate::hint::unhinted(e);
    if e.is::<UsageError>() {
        return ErrorKind::Usage;
    }
    if e.is::<crate::config::ConfigError>() {
        return ErrorKind::Config;
    }
    let call = ForgeError::kind_of(e)
        .or_else(|| crate::runner::kubernetes::kind_of(e))
        .or_else(|| {
            e.downcast_ref::<crate::notify::Undelivered>()
                .map(|u| u.kind)
        });
    call.map_or(ErrorKind::Other, ErrorKind::Call)
}

/// The exit code of a kind (docs/exit-codes.md): 2 for a usage or
/// configuration error (nothing was touched), else 1. A refused token or an
/// unreachable host found by a call is the tick's one error line, exit 1.
pub fn exit_code(kind: ErrorKind) -> u8 {
    match kind {
        ErrorKind::Usage | ErrorKind::Config => 2,
        ErrorKind::Call(_) | ErrorKind::Other => 1,
    }
}

/// The exit code of a command that failed.
pub fn exit_code_of(e: &anyhow::Error) -> u8 {
    exit_code(kind_of(e))
}

#[cfg(test)]
mod tests {
    use super::{ErrorKind, exit_code, exit_code_of, kind_of};
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
            hint: None,
        })
    }

    fn kube(kind: Failure) -> anyhow::Error {
        anyhow::Error::new(crate::runner::kubernetes::ApiError {
            kind,
            message: "m".into(),
            unknown: false,
        })
    }

    /// Each typed error → its kind → the code docs/exit-codes.md documents
    /// (`exit_status::TABLE`, whose meaning says so).
    #[test]
    fn every_typed_error_exits_with_its_documented_code() {
        let usage = anyhow::Error::new(super::UsageError("--type".into()));
        let config = anyhow::Error::new(crate::config::ConfigError("config: x".into()));
        let cases = [
            (usage.context("lessons"), ErrorKind::Usage, 2),
            (config, ErrorKind::Config, 2),
            (
                forge(Failure::NotFound).context("issue 4"),
                ErrorKind::Call(Failure::NotFound),
                1,
            ),
            (
                forge(Failure::Unauthorized),
                ErrorKind::Call(Failure::Unauthorized),
                1,
            ),
            (
                forge(Failure::Exhausted(LastTry::NoAnswer)),
                ErrorKind::Call(Failure::Exhausted(LastTry::NoAnswer)),
                1,
            ),
            (
                kube(Failure::Conflict),
                ErrorKind::Call(Failure::Conflict),
                1,
            ),
            (anyhow::anyhow!("disk full"), ErrorKind::Other, 1),
        ];
        for (e, kind, code) in cases {
            assert_eq!(kind_of(&e), kind, "{e:#}");
            assert_eq!(exit_code_of(&e), code, "{e:#}");
            let documented = crate::exit_status::TABLE
                .iter()
                .find(|c| c.code == code)
                .unwrap_or_else(|| panic!("{code} is not in exit_status::TABLE"));
            let says = match kind {
                ErrorKind::Usage | ErrorKind::Config => "Usage or configuration error",
                ErrorKind::Call(_) | ErrorKind::Other => "something failed",
            };
            assert!(documented.meaning.contains(says), "{code}: {says}");
        }
        assert_eq!(exit_code(ErrorKind::Call(Failure::RateLimited)), 1);
    }
}
