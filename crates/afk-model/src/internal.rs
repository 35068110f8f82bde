//! afk's own bug as an error: an invariant of afk's broke (a loop that
//! always returns ran out, a value afk made itself is missing). Not a
//! missing file, a refused request or a wrong setting: nothing the operator
//! did or can fix. A shape, as `ConfigError` is: the binary gives it its
//! kind (its own exit code, docs/exit-codes.md) and its hint (to report
//! it); any crate may return it where the alternative was a panic.

use std::fmt;

/// A broken invariant of afk's own: what broke, one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InternalError(pub String);

impl InternalError {
    pub fn new(what: impl Into<String>) -> InternalError {
        InternalError(what.into())
    }
}

impl fmt::Display for InternalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "internal error (a bug in afk): {}", self.0)
    }
}

impl std::error::Error for InternalError {}

#[cfg(test)]
mod tests {
    use super::InternalError;

    #[test]
    fn an_internal_error_says_it_is_afks_bug_and_what_broke() {
        let e = InternalError::new("the loop ended without an answer");
        assert_eq!(
            e.to_string(),
            "internal error (a bug in afk): the loop ended without an answer"
        );
    }
}
