//! Pricing a metered answer
//! (docs/runners.md#prices-the-shipped-table-and-overriding-it): a [`Usage`]
//! priced by the model its request named, in micro-dollars.
//!
//! Where a model's price comes from, in order ([`PricedBy`]):
//! 1. `[runner.prices.models."NAME"]` (the config's, overriding or adding);
//! 2. the table afk ships (`crates/afk-core/prices.json`: its date and
//!    sources at its top; [`table`]);
//! 3. the flat `[runner.prices]` figures, when any is non-zero;
//! 4. else the highest price of the request's API in the table, each of the
//!    four figures the highest any of its models has: never refused, never
//!    free, and the run's log says so ([`Priced::fallback_line`]).
//!
//! A name matches an entry as written, or as a snapshot of it (the entry's
//! name followed by `-YYYYMMDD` or `-YYYY-MM-DD`): `claude-sonnet-4-5-20250929`
//! is `claude-sonnet-4-5`'s. No other prefix matches: a newer model is never
//! silently priced as an older one.
//!
//! Prices are USD per million tokens, so a price times a token count is
//! micro-dollars. [`Usage`] is in afk's one convention (uncached input,
//! cache reads, cache writes, output with reasoning), so both APIs are
//! priced by the same sum.

use super::Api;
use super::usage::Usage;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// One model's prices, USD per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    pub input: f64,
    pub cached_input: f64,
    pub cache_write: f64,
    pub output: f64,
}

impl Price {
    pub fn is_zero(&self) -> bool {
        self.input == 0.0
            && self.cached_input == 0.0
            && self.cache_write == 0.0
            && self.output == 0.0
    }

    /// Each figure the larger of the two.
    fn max(self, o: Price) -> Price {
        Price {
            input: self.input.max(o.input),
            cached_input: self.cached_input.max(o.cached_input),
            cache_write: self.cache_write.max(o.cache_write),
            output: self.output.max(o.output),
        }
    }

    /// What `u` costs at these prices, in micro-dollars (rounded once, half up).
    pub fn micro_usd(&self, u: &Usage) -> u64 {
        let sum = self.micro_usd_exact(u);
        if sum.is_finite() && sum > 0.0 {
            sum.round() as u64
        } else {
            0
        }
    }

    fn micro_usd_exact(&self, u: &Usage) -> f64 {
        self.input * u.input as f64
            + self.cached_input * u.cache_read as f64
            + self.cache_write * u.cache_write as f64
            + self.output * u.output as f64
    }

    /// The prices as the vendor bills with them: a cache figure left 0 is
    /// the vendor's multiplier of input (Anthropic: reads 0.1x, five-minute
    /// writes 1.25x; OpenAI bills no writes of their own, so writes are
    /// input, and a cached read with no figure is priced as input, never
    /// below what it costs).
    pub fn billed(self, api: Api) -> Price {
        let (read, write) = match api {
            Api::Anthropic => (0.1, 1.25),
            Api::OpenAi => (1.0, 1.0),
        };
        Price {
            cached_input: if self.cached_input == 0.0 {
                self.input * read
            } else {
                self.cached_input
            },
            cache_write: if self.cache_write == 0.0 {
                self.input * write
            } else {
                self.cache_write
            },
            ..self
        }
    }
}

/// A model in the shipped table.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct Entry {
    pub api: Api,
    pub input: f64,
    pub cached_input: f64,
    pub cache_write: f64,
    pub output: f64,
}

impl Entry {
    pub fn price(&self) -> Price {
        Price {
            input: self.input,
            cached_input: self.cached_input,
            cache_write: self.cache_write,
            output: self.output,
        }
    }
}

/// The price table afk ships.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Table {
    /// `YYYY-MM-DD`: when its prices were read.
    pub date: String,
    /// Where they were read.
    pub sources: Vec<String>,
    pub models: BTreeMap<String, Entry>,
}

/// The table's text, as shipped.
pub(crate) const TABLE_TEXT: &str = include_str!("../../prices.json");

/// The table afk ships, read once.
pub fn table() -> &'static Table {
    static T: OnceLock<Table> = OnceLock::new();
    T.get_or_init(|| parse_table(TABLE_TEXT).unwrap_or_else(|why| panic!("prices.json: {why}")))
}

/// A price table's text: JSON, its date, sources and models (each with its
/// API and its four prices, none negative).
pub(crate) fn parse_table(text: &str) -> Result<Table, crate::types::Invalid> {
    let t: Table = serde_json::from_str(text).map_err(|e| crate::types::Invalid(e.to_string()))?;
    if crate::types::stamp::parse(&format!("{}T00:00:00Z", t.date)).is_none() {
        return Err(crate::types::Invalid(format!(
            "date \"{}\" is not YYYY-MM-DD",
            t.date
        )));
    }
    if t.sources.is_empty() {
        return Err(crate::types::Invalid("no sources".into()));
    }
    for (name, e) in &t.models {
        let p = e.price();
        if [p.input, p.cached_input, p.cache_write, p.output]
            .iter()
            .any(|v| !v.is_finite() || *v < 0.0)
        {
            return Err(crate::types::Invalid(format!(
                "{name}: a price is not a number of at least 0"
            )));
        }
    }
    Ok(t)
}

/// Where a price came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PricedBy {
    /// `[runner.prices.models."NAME"]`
    Config,
    /// the shipped table
    Table,
    /// the flat `[runner.prices]`
    Flat,
    /// no price: the highest of its API in the table
    Highest,
}

impl PricedBy {
    pub fn as_str(self) -> &'static str {
        match self {
            PricedBy::Config => "config",
            PricedBy::Table => "table",
            PricedBy::Flat => "flat",
            PricedBy::Highest => "highest",
        }
    }
}

/// What prices a run's answers: the config's and the shipped table.
#[derive(Debug, Clone, Copy)]
pub struct Prices<'a> {
    /// `[runner.prices.models]`
    pub models: &'a BTreeMap<String, Price>,
    /// the flat `[runner.prices]` (all zero: unset)
    pub flat: Price,
    pub table: &'a Table,
}

/// One answer priced.
#[derive(Debug, Clone, PartialEq)]
pub struct Priced {
    pub micro_usd: u64,
    pub by: PricedBy,
    pub price: Price,
    pub model: String,
}

impl Priced {
    /// The run's log line when the model had no price: None otherwise.
    pub fn fallback_line(&self, api: Api) -> Option<String> {
        (self.by == PricedBy::Highest).then(|| {
            format!(
                "model \"{}\" has no price (not in [runner.prices.models], not in afk's table of {}, no flat [runner.prices]): priced at the highest {} price in the table (input ${}, cached ${}, cache write ${}, output ${} per million tokens)",
                crate::sanitize::one_line(&self.model, 100),
                table().date,
                api.as_str(),
                self.price.input,
                self.price.cached_input,
                self.price.cache_write,
                self.price.output
            )
        })
    }
}

/// Whether `model` is `name` or a snapshot of it (`name-YYYYMMDD`,
/// `name-YYYY-MM-DD`).
pub fn names(name: &str, model: &str) -> bool {
    if model.eq_ignore_ascii_case(name) {
        return true;
    }
    let Some(rest) = model
        .get(..name.len())
        .filter(|h| h.eq_ignore_ascii_case(name))
        .and_then(|_| model[name.len()..].strip_prefix('-'))
    else {
        return false;
    };
    let b = rest.as_bytes();
    let digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
    match b.len() {
        8 => digits(b),
        10 => {
            digits(&b[..4]) && b[4] == b'-' && digits(&b[5..7]) && b[7] == b'-' && digits(&b[8..])
        }
        _ => false,
    }
}

/// The entry of `map` that prices `model`: as written first, else the
/// longest name it is a snapshot of.
pub fn lookup<'m, V>(map: &'m BTreeMap<String, V>, model: &str) -> Option<&'m V> {
    map.get(model).or_else(|| {
        map.iter()
            .filter(|(name, _)| names(name, model))
            .max_by_key(|(name, _)| name.len())
            .map(|(_, v)| v)
    })
}

/// The table's highest price of `api`, each figure on its own.
pub fn highest(table: &Table, api: Api) -> Price {
    table
        .models
        .values()
        .filter(|e| e.api == api)
        .map(Entry::price)
        .reduce(Price::max)
        .unwrap_or_default()
}

/// The price of `model` (of `api`) and where it came from (the module's order).
pub(crate) fn price_of(prices: &Prices, api: Api, model: &str) -> (Price, PricedBy) {
    if let Some(p) = lookup(prices.models, model) {
        return (*p, PricedBy::Config);
    }
    if let Some(e) = lookup(&prices.table.models, model) {
        return (e.price(), PricedBy::Table);
    }
    if !prices.flat.is_zero() {
        return (prices.flat, PricedBy::Flat);
    }
    (highest(prices.table, api), PricedBy::Highest)
}

/// An answer's usage priced by its request's model (None: the body named
/// none, priced like a model with no price), at standard rates.
pub fn price(prices: &Prices, api: Api, model: Option<&str>, usage: &Usage) -> Priced {
    price_asked(prices, api, model, usage, Asks::default())
}

/// An answer's usage priced as the vendor bills what its request asked:
/// a figure left 0 at the vendor's multiplier of input ([`Price::billed`]),
/// one-hour cache writes at 2x input, and Anthropic's long-context rates
/// (input over [`LONG_CONTEXT_ABOVE`] tokens with the 1M context asked:
/// input-side figures 2x, output 1.5x).
pub fn price_asked(
    prices: &Prices,
    api: Api,
    model: Option<&str>,
    usage: &Usage,
    asks: Asks,
) -> Priced {
    let name = model.unwrap_or("");
    let (p, by) = price_of(prices, api, name);
    let billed = p.billed(api);
    let mut rates = billed;
    let all_input = usage.input + usage.cache_read + usage.cache_write;
    let (mut one_hour_rate, mut out_factor) = (2.0 * billed.input, 1.0);
    if asks.long_context && all_input > LONG_CONTEXT_ABOVE {
        rates.input *= 2.0;
        rates.cached_input *= 2.0;
        rates.cache_write *= 2.0;
        one_hour_rate *= 2.0;
        out_factor = 1.5;
    }
    rates.output *= out_factor;
    // the one-hour part of the writes: as reported, or all of them when the
    // request asked for the one-hour cache and the answer did not say
    let one_hour = match (asks.one_hour_cache, usage.cache_write_1h) {
        (true, 0) => usage.cache_write,
        (_, n) => n.min(usage.cache_write),
    };
    let five_minute = Usage {
        cache_write: usage.cache_write - one_hour,
        ..*usage
    };
    let sum = rates.micro_usd_exact(&five_minute) + one_hour_rate * one_hour as f64;
    Priced {
        micro_usd: if sum.is_finite() && sum > 0.0 {
            sum.round() as u64
        } else {
            0
        },
        by,
        price: p,
        model: name.to_string(),
    }
}

/// Anthropic's long-context threshold: a request whose input (cached and
/// written included) is over this many tokens, with the 1M context asked,
/// is billed at the long-context rates.
pub(crate) const LONG_CONTEXT_ABOVE: u64 = 200_000;

/// What a request asked that its price depends on
/// (`core::gateway::request::Asks`).
pub use super::request::Asks;

/// Micro-dollars as dollars.
pub fn usd(micro: u64) -> f64 {
    micro as f64 / 1e6
}

/// Dollars as micro-dollars (rounded; negative: 0).
pub fn micro(usd: f64) -> u64 {
    if usd.is_finite() && usd > 0.0 {
        (usd * 1e6).round() as u64
    } else {
        0
    }
}

#[cfg(test)]
mod billed_tests {
    use super::*;

    #[test]
    fn every_dimension_the_vendor_bills_is_priced_as_billed() {
        let models = BTreeMap::new();
        let flat = |input: f64, output: f64| Price {
            input,
            output,
            ..Price::default()
        };
        let u = |input, cache_read, cache_write, cache_write_1h, output| Usage {
            input,
            cache_read,
            cache_write,
            cache_write_1h,
            output,
            ..Usage::default()
        };
        let none = Asks::default();
        let hour = Asks {
            one_hour_cache: true,
            long_context: false,
        };
        let long = Asks {
            one_hour_cache: false,
            long_context: true,
        };
        // (flat prices, api, usage, asks, micro-dollars)
        let cases: &[(Price, Api, Usage, Asks, u64)] = &[
            // flat prices with no cache_write: writes at the vendor's 1.25x, never free
            (
                flat(3.0, 15.0),
                Api::Anthropic,
                u(0, 0, 1_000_000, 0, 0),
                none,
                3_750_000,
            ),
            // no cached_input: Anthropic's 0.1x of input
            (
                flat(3.0, 15.0),
                Api::Anthropic,
                u(0, 1_000_000, 0, 0, 0),
                none,
                300_000,
            ),
            // OpenAI: writes are input; reads without a figure are input too
            (
                flat(2.0, 8.0),
                Api::OpenAi,
                u(0, 1_000_000, 1_000_000, 0, 0),
                none,
                4_000_000,
            ),
            // one-hour writes at 2x input, as reported
            (
                flat(3.0, 15.0),
                Api::Anthropic,
                u(0, 0, 1_000_000, 400_000, 0),
                none,
                600_000 * 15 / 4 + 400_000 * 6,
            ),
            // asked for the hour, the answer gave no split: all at the hour's rate
            (
                flat(3.0, 15.0),
                Api::Anthropic,
                u(0, 0, 1_000_000, 0, 0),
                hour,
                6_000_000,
            ),
            // long context: over 200k input, input 2x and output 1.5x
            (
                flat(3.0, 15.0),
                Api::Anthropic,
                u(250_000, 0, 0, 0, 1_000),
                long,
                1_500_000 + 22_500,
            ),
            // at or under 200k: standard
            (
                flat(3.0, 15.0),
                Api::Anthropic,
                u(200_000, 0, 0, 0, 1_000),
                long,
                600_000 + 15_000,
            ),
        ];
        for (p, api, usage, asks, want) in cases {
            let prices = Prices {
                models: &models,
                flat: *p,
                table: table(),
            };
            let got = price_asked(&prices, *api, Some("no-such-model"), usage, *asks);
            assert_eq!(got.by, PricedBy::Flat);
            assert_eq!(got.micro_usd, *want, "{usage:?} {asks:?}");
        }
    }
}
