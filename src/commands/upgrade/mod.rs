//! `afk upgrade [RECIPE...]` and `afk upgrade verdict`: the arguments, and
//! the call to the tick (`ops::upgrade`).

mod args;
mod verdict;

use crate::ops::upgrade::{self, Options};
use crate::session::{Outcome, Session};
use crate::types::TickKind;
use anyhow::Result;
pub use args::{Args, UpgradeCmd, VerdictArgs};

/// `afk upgrade [RECIPE...]` or `afk upgrade verdict …`. With `--json` one
/// document is printed whatever happens, an error included.
pub fn run(s: &Session, a: &Args) -> Result<Outcome> {
    if let Some(UpgradeCmd::Verdict(v)) = &a.command {
        return verdict::run(s, v);
    }
    let opts = Options {
        scan: a.scan,
        with_tests: a.with_tests,
        now: None,
    };
    match crate::tick::run(s, TickKind::Upgrade, |c| upgrade::tick(c, &a.recipes, opts)) {
        Ok(outcome) => Ok(outcome),
        Err(e) if s.json() => {
            crate::log::error(&crate::command_error::person_line(&e));
            crate::output::emit(true, &upgrade::failed(s.dry_run(), &e), "");
            Ok(Outcome::code(
                crate::command_error::CommandError::from(e).exit_code(),
            ))
        }
        Err(e) => Err(e),
    }
}
