//! How the command line spells and explains an enumerated value: one value
//! parser for every `ValueEnum` a command's `Args` take.

use clap::ValueEnum;
use clap::builder::{PossibleValue, TypedValueParser};
use std::ffi::OsStr;
use std::marker::PhantomData;

/// The name a value has on the command line and in the state file.
pub fn value_name<E: ValueEnum>(v: &E) -> String {
    v.to_possible_value()
        .map(|p| p.get_name().to_string())
        .unwrap_or_default()
}

/// A value parser for a `ValueEnum` that lists the values in `--help` and the
/// completions like clap's own, but words a wrong value the way afk always has:
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

impl<E: ValueEnum + Clone + Send + Sync + 'static> TypedValueParser for Allowed<E> {
    type Value = E;

    fn parse_ref(
        &self,
        _cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<E, clap::Error> {
        let text = value.to_string_lossy();
        E::from_str(&text, false).map_err(|_| {
            let flag = arg
                .and_then(|a| a.get_long())
                .map(|l| format!("--{l} "))
                .unwrap_or_default();
            let allowed: Vec<String> = E::value_variants().iter().map(value_name).collect();
            clap::Error::raw(
                clap::error::ErrorKind::InvalidValue,
                format!("{flag}\"{text}\" is not one of {}\n", allowed.join(", ")),
            )
        })
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(
            E::value_variants()
                .iter()
                .filter_map(|v| v.to_possible_value()),
        ))
    }
}
