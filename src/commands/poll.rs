//! `afk poll`: one dispatch tick over every allowlisted repository; the
//! tick itself is `ops::poll`.

use crate::ops::{Scope, poll};
use crate::session::{Outcome, Session};
use crate::types::TickKind;
use anyhow::Result;

/// `afk poll` takes the global flags only.
#[derive(clap::Args, Debug, Default)]
pub struct Args {}

pub fn run(ctx: &Session, _: &Args) -> Result<Outcome> {
    crate::tick::run(ctx, TickKind::Poll, |c| poll::tick(c, &Scope::All))
}
