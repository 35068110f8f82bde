//! Pricing a metered answer (SPEC 5.8.3): a [`Usage`] priced by the model
//! its request named, in micro-dollars.
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
        let sum = self.input * u.input as f64
            + self.cached_input * u.cache_read as f64
            + self.cache_write * u.cache_write as f64
            + self.output * u.output as f64;
        if sum.is_finite() && sum > 0.0 {
            sum.round() as u64
        } else {
            0
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
pub const TABLE_TEXT: &str = include_str!("../../prices.json");

/// The table afk ships, read once.
pub fn table() -> &'static Table {
    static T: OnceLock<Table> = OnceLock::new();
    T.get_or_init(|| parse_table(TABLE_TEXT).unwrap_or_else(|why| panic!("prices.json: {why}")))
}

/// A price table's text: JSON, its date, sources and models (each with its
/// API and its four prices, none negative).
pub fn parse_table(text: &str) -> Result<Table, crate::types::Invalid> {
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
pub fn price_of(prices: &Prices, api: Api, model: &str) -> (Price, PricedBy) {
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
/// none, priced like a model with no price).
pub fn price(prices: &Prices, api: Api, model: Option<&str>, usage: &Usage) -> Priced {
    let name = model.unwrap_or("");
    let (p, by) = price_of(prices, api, name);
    Priced {
        micro_usd: p.micro_usd(usage),
        by,
        price: p,
        model: name.to_string(),
    }
}

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
