//! How the command line spells and explains an enumerated value: one value
//! parser for every closed set of the model (`afk_model::Named`), so a
//! command's `Args` hold the model's own types and no enum is spelled twice.

use crate::types::Named;
use clap::builder::{PossibleValue, TypedValueParser};
use std::ffi::OsStr;
use std::marker::PhantomData;

/// A value parser for a model value that lists the values (with their help)
/// in `--help`, the man page and the completions like clap's own, but words
/// a wrong value the way afk always has:
/// `--status "done" is not one of new, in_progress, closed` (exit 2).
#[derive(Clone)]
pub struct Allowed<E>(PhantomData<fn() -> E>);

impl<E> Allowed<E> {
    pub fn new() -> Self {
        Allowed(PhantomData)
    }
}

impl<E> Default for Allowed<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E: Named> TypedValueParser for Allowed<E> {
    type Value = E;

    fn parse_ref(
        &self,
        _cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<E, clap::Error> {
        let text = value.to_string_lossy();
        let found = E::all().iter().copied().find(|v| v.name() == text);
        found.ok_or_else(|| {
            let flag = arg
                .and_then(|a| a.get_long())
                .map(|l| format!("--{l} "))
                .unwrap_or_default();
            let allowed: Vec<&str> = E::all().iter().map(|v| v.name()).collect();
            clap::Error::raw(
                clap::error::ErrorKind::InvalidValue,
                format!("{flag}\"{text}\" is not one of {}\n", allowed.join(", ")),
            )
        })
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(E::all().iter().map(|v| {
            let p = PossibleValue::new(v.name());
            match v.help() {
                "" => p,
                help => p.help(help),
            }
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::RunStatus;
    use crate::types::lesson::{LessonStatus, StatusFilter};

    fn parse<E: Named>(text: &str) -> Result<E, String> {
        let arg = clap::Arg::new("status").long("status");
        Allowed::<E>::new()
            .parse_ref(&clap::Command::new("afk"), Some(&arg), OsStr::new(text))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn a_value_is_parsed_by_its_model_name_and_a_wrong_one_names_the_allowed() {
        assert_eq!(
            parse::<LessonStatus>("in_progress"),
            Ok(LessonStatus::InProgress)
        );
        assert_eq!(parse::<StatusFilter>("open"), Ok(StatusFilter::Open));
        assert_eq!(parse::<RunStatus>("escalated"), Ok(RunStatus::Escalated));
        let e = parse::<LessonStatus>("InProgress").unwrap_err();
        assert!(
            e.contains("--status \"InProgress\" is not one of new, in_progress, closed"),
            "{e}"
        );
    }

    #[test]
    fn every_value_is_listed_with_its_help() {
        let listed: Vec<(String, Option<String>)> = Allowed::<StatusFilter>::new()
            .possible_values()
            .unwrap()
            .map(|p| {
                (
                    p.get_name().to_string(),
                    p.get_help().map(|h| h.to_string()),
                )
            })
            .collect();
        assert_eq!(listed.len(), 4);
        assert_eq!(listed[3].0, "open");
        assert_eq!(
            listed[1],
            ("in_progress".into(), Some("Someone is on it".into()))
        );
    }
}
