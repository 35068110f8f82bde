//! The gateway's rules, by what they are for; shared imports here.

use super::budget::Gate;
use super::metered::{Line, Tally, sum};
use super::prices::{Price, PricedBy, Prices, names, parse_table, price, table};
use super::usage::{Framing, Usage, UsageReader, clean_model};
use super::*;
use crate::budget::spend::{DayLimits, MoneyLimits};
use std::collections::BTreeMap;

/// A usage of these token counts (no reasoning, no one-hour cache).
fn u(input: u64, cache_read: u64, cache_write: u64, output: u64) -> Usage {
    Usage {
        input,
        cache_read,
        cache_write,
        output,
        reasoning: 0,
        cache_write_1h: 0,
    }
}

mod admit;
mod budget_gate;
mod metering;
mod pricing;
mod reading;

use reading::{OPENAI_STREAM, read};
