//! How a command tells what it did. `--dry-run` changes a command's words,
//! never its work (that runs on dry edges): the words are chosen here, so no
//! command asks whether it is a dry run.

use serde::Serialize;

/// The tense of a command's report: what it did, or (a dry run, whose edges
/// wrote nothing) what it would do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tense {
    /// a real run: what it did
    Did,
    /// a dry run: what it would do
    Would,
}

impl Tense {
    /// The tense of a run with or without `--dry-run`.
    pub fn of(dry_run: bool) -> Tense {
        match dry_run {
            false => Tense::Did,
            true => Tense::Would,
        }
    }

    /// What follows a command's name in its headline: nothing, or " (dry run)".
    pub fn mark(self) -> &'static str {
        self.pick("", " (dry run)")
    }

    /// `did` in a real run's words, `would` in a dry run's.
    pub fn pick<T>(self, did: T, would: T) -> T {
        match self {
            Tense::Did => did,
            Tense::Would => would,
        }
    }

    /// As [`Tense::pick`], for two reports of different shapes (`--json`
    /// prints the chosen one as itself).
    pub fn tell<A, B>(self, did: A, would: B) -> Told<A, B> {
        match self {
            Tense::Did => Told::Did(did),
            Tense::Would => Told::Would(would),
        }
    }
}

/// One of two reports, chosen by [`Tense::tell`].
#[derive(Serialize)]
#[serde(untagged)]
pub enum Told<A, B> {
    Did(A),
    Would(B),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dry_run_is_told_as_what_it_would_do() {
        assert_eq!(Tense::of(false).mark(), "");
        assert_eq!(Tense::of(true).mark(), " (dry run)");
        assert_eq!(Tense::of(false).pick("recorded", "to record"), "recorded");
        assert_eq!(Tense::of(true).pick("recorded", "to record"), "to record");
        let told = |t: Tense| serde_json::to_string(&t.tell(1, "one")).unwrap();
        assert_eq!(
            (told(Tense::Did), told(Tense::Would)),
            ("1".into(), "\"one\"".into())
        );
    }
}
