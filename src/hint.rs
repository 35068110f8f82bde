//! Advice kept apart from an error's message, as jj's `CommandError` keeps
//! its hints: an error says what is wrong; its hints say what to do about it.
//! The text output joins them to the error's one line with `; ` (what the
//! person reads is one line, as before); `--json` carries them as the error
//! document's `hints` (docs/reports.md#errors), so a program can show the
//! message and the advice apart. The typed errors of the crates below the
//! binary, which cannot name this file, carry their hint as a field, read
//! here: a failed call's `ForgeError` (afk-http: `check AFK_FORGE_TOKEN`)
//! and the state file's `StateError` (afk-store: `try again when it
//! finishes`). A leaf otherwise: it names no command and no adapter.

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
/// them), then the typed error's own (`ForgeError`, `StateError`).
pub fn hints_of(e: &anyhow::Error) -> Vec<String> {
    let mut out = vec![];
    let mut at = e;
    while let Some(h) = at.downcast_ref::<Hinted>() {
        out.extend(h.hints.iter().cloned());
        at = &h.error;
    }
    let typed = at.chain().find_map(|c| {
        let forge = c
            .downcast_ref::<crate::forge::ForgeError>()
            .map(|f| &f.hint);
        let state = || {
            c.downcast_ref::<crate::store::StateError>()
                .map(|s| &s.hint)
        };
        forge.or_else(state)
    });
    if let Some(hint) = typed.cloned().flatten()
        && !out.contains(&hint)
    {
        out.push(hint);
    }
    out
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

    /// The crates below the binary keep their advice in a field: read
    /// under any context, never twice.
    #[test]
    fn a_typed_errors_own_hint_is_read_under_its_context() {
        let state = anyhow::Error::new(crate::store::StateError {
            message: "state: /s/afk.db is locked by another process (database is locked)".into(),
            hint: Some("try again when it finishes".into()),
        })
        .context("opening the state");
        assert_eq!(hints_of(&state), ["try again when it finishes"]);
        assert!(!state.to_string().contains("try again"), "{state}");
        let twice = hinted(
            anyhow::Error::new(crate::store::StateError {
                message: "state: full".into(),
                hint: Some("free space, then run the tick again".into()),
            }),
            "free space, then run the tick again",
        );
        assert_eq!(hints_of(&twice), ["free space, then run the tick again"]);
    }

    #[test]
    fn a_hinted_errors_type_and_causes_are_the_wrapped_errors() {
        let e = hinted(anyhow::Error::new(Typed).context("loading"), "fix it");
        assert!(unhinted(&e).is::<Typed>());
        let chain: Vec<String> = e.chain().map(|c| c.to_string()).collect();
        assert_eq!(chain, ["loading", "typed"]);
        assert!(with_hints(anyhow::Error::new(Typed), vec![]).is::<Typed>());
    }
}
