//! `afk harvest`: one outcome + canary tick; the tick itself is
//! `ops::harvest`.

use crate::ops::harvest;
use crate::session::{Outcome, Session};
use crate::types::TickKind;
use anyhow::Result;

/// `afk harvest` takes the global flags only.
#[derive(clap::Args, Debug, Default)]
pub struct Args {}

pub fn run(ctx: &Session, _: &Args) -> Result<Outcome> {
    crate::tick::run(ctx, TickKind::Harvest, harvest::tick)
}
