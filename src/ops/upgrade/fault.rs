//! What failed in an upgrade tick, as its report says it and its lessons
//! need it: the words people read, and the forge or runner call that failed,
//! typed as afk-http types it (its kind; whether it used up its retries, a
//! `transient_retry` lesson). Cloned where several steps read one failed
//! read (a mirror's PRs, a recipe's tags); an `anyhow::Error` is not.

use crate::forge::ForgeError;
use crate::forge::http::Exhausted;
use crate::types::PrNumber;
use serde::Serialize;

#[derive(Debug, Clone)]
pub struct Fault {
    words: String,
    call: Option<Box<ForgeError>>,
    /// what to do about it, apart from the words (`crate::hint`)
    hints: Vec<String>,
}

impl Fault {
    /// `e`'s outermost message alone (`e.to_string()`), its call kept.
    pub fn outer(e: &anyhow::Error) -> Fault {
        Fault {
            words: e.to_string(),
            call: e.downcast_ref::<ForgeError>().cloned().map(Box::new),
            hints: crate::command_error::hints_of(e),
        }
    }

    /// `prefix: ` before the words, the call kept.
    pub fn within(self, prefix: impl std::fmt::Display) -> Fault {
        Fault {
            words: format!("{prefix}: {}", self.words),
            ..self
        }
    }

    /// These words with `hints` as what to do about them.
    pub fn hinted(self, hints: Vec<String>) -> Fault {
        Fault { hints, ..self }
    }

    /// The call that used up its retries, if this is one.
    pub fn exhausted(&self) -> Option<Exhausted> {
        self.call.as_deref().and_then(ForgeError::exhausted)
    }
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.words)
    }
}

/// The whole chain (`{e:#}`), its call kept.
impl From<anyhow::Error> for Fault {
    fn from(e: anyhow::Error) -> Fault {
        Fault {
            words: format!("{e:#}"),
            call: e.downcast_ref::<ForgeError>().cloned().map(Box::new),
            hints: crate::command_error::hints_of(&e),
        }
    }
}

/// Words alone: no call failed (a file, a compose text, a rule).
impl From<String> for Fault {
    fn from(words: String) -> Fault {
        Fault {
            words,
            call: None,
            hints: vec![],
        }
    }
}

impl From<&str> for Fault {
    fn from(words: &str) -> Fault {
        Fault::from(words.to_string())
    }
}

/// One failed part of an upgrade tick, as the report lists it.
#[derive(Serialize, Debug, Clone)]
pub struct ErrorItem {
    pub recipe: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pr: Option<PrNumber>,
    pub message: String,
    /// what to do about it, apart from the message (`crate::hint`)
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hints: Vec<String>,
    /// a recipe skipped for this error: said in the `skipped:` section
    #[serde(skip)]
    pub skipped: bool,
    /// the call that used up its retries: a `transient_retry` lesson
    #[serde(skip)]
    pub exhausted: Option<Box<crate::forge::http::Exhausted>>,
}

impl ErrorItem {
    /// The report's line for `e` (`SKIPPED — …` when its recipe was skipped).
    pub fn of(recipe: &str, pr: Option<PrNumber>, e: &Fault, skipped: bool) -> Self {
        Self {
            recipe: recipe.to_string(),
            pr,
            message: match skipped {
                true => format!("SKIPPED — {e}"),
                false => e.to_string(),
            },
            hints: e.hints.clone(),
            skipped,
            exhausted: e.exhausted().map(Box::new),
        }
    }
}

/// The calls of the tick's errors that used up their retries become
/// `transient_retry` lessons of the upgrade stage (`tick::record_exhausted`).
pub fn record_exhausted(journal: &crate::lessons::Journal, errors: &[ErrorItem]) {
    let calls = errors
        .iter()
        .filter_map(|e| e.exhausted.as_deref().cloned());
    crate::tick::record_exhausted(journal, calls, crate::types::TickKind::Upgrade);
}

impl crate::tick::ErrorLine for ErrorItem {
    /// `recipe (PR #N): what`, or `recipe: what`, then its hints.
    fn line(&self) -> String {
        let line = match self.pr {
            Some(pr) => format!("{} (PR #{pr}): {}", self.recipe, self.message),
            None => format!("{}: {}", self.recipe, self.message),
        };
        crate::hint::line_with_hints(&line, &self.hints)
    }
}

#[cfg(test)]
mod tests {
    use super::Fault;
    use crate::forge::{Failure, ForgeError, LastTry};

    #[test]
    fn a_fault_keeps_the_words_people_read_and_the_call_that_used_up_its_retries() {
        let call = |kind| ForgeError {
            service: "forge",
            method: "GET".into(),
            path: "/repos/acme/api/pulls".into(),
            status: Some(503),
            message: "the forge failed".into(),
            kind,
            retries: 2,
            reason: Some(crate::forge::http::Reason::Passing),
        };
        let used_up = anyhow::Error::new(call(Failure::Exhausted(LastTry::Answered(503))));
        let f = Fault::from(used_up.context("mirror")).within("closed PRs");
        assert_eq!(
            f.to_string(),
            "closed PRs: mirror: forge: GET /repos/acme/api/pulls returned 503: the forge failed"
        );
        // the call's hint stays apart, and the report's line ends with it
        let item = super::ErrorItem::of("web", None, &f, false);
        assert_eq!(item.hints, ["try again later"]);
        use crate::tick::ErrorLine;
        assert_eq!(
            item.line(),
            "web: closed PRs: mirror: forge: GET /repos/acme/api/pulls returned 503: the forge failed; try again later"
        );
        let x = f.exhausted().expect("exhausted");
        assert_eq!(x.repo.as_deref(), Some("acme/api"));
        assert_eq!(
            x.line,
            "forge: GET /repos/acme/api/pulls failed after 2 retries: the forge failed"
        );
        let outer = Fault::outer(&anyhow::Error::new(call(Failure::Other(503))).context("me"));
        assert_eq!(outer.to_string(), "me");
        assert_eq!(outer.exhausted(), None, "answered, not used up");
        assert_eq!(Fault::from("words").exhausted(), None);
    }
}
