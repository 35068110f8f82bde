//! Doctor's price check (SPEC 5.8.3): each model the config asks for
//! (`--model X` in `runner.command`, Codex's `model` in its config.toml)
//! that has no price is a WARN line, since the gateway would price it at its
//! API's highest.

use super::Api;
use super::prices::{PricedBy, Prices, highest, price_of};
use crate::types::AgentKind;

/// The models a runner's extra arguments name: `--model X`, `--model=X`,
/// and for Codex also `-m X` and `-c model=X` / `--config model="X"`.
pub fn models_in_command(agent: AgentKind, command: &[String]) -> Vec<String> {
    let codex = agent == AgentKind::Codex;
    let mut out: Vec<String> = vec![];
    let mut args = command.iter();
    while let Some(a) = args.next() {
        let found = if let Some(v) = a.strip_prefix("--model=") {
            Some(v.to_string())
        } else if a == "--model" || (codex && a == "-m") {
            args.next().cloned()
        } else if codex && (a == "-c" || a == "--config") {
            args.next().and_then(|kv| config_model(kv))
        } else if codex && let Some(kv) = a.strip_prefix("--config=") {
            config_model(kv)
        } else {
            None
        };
        if let Some(m) = found.map(|m| m.trim().to_string())
            && !m.is_empty()
            && !out.contains(&m)
        {
            out.push(m);
        }
    }
    out
}

/// `model=X` / `model="X"` (a Codex `-c` override), X.
fn config_model(kv: &str) -> Option<String> {
    let (k, v) = kv.split_once('=')?;
    (k.trim() == "model").then(|| v.trim().trim_matches(['"', '\'']).to_string())
}

/// The top-level `model = "X"` of a Codex config.toml's text (before any
/// table), read by line: a value doctor names, not a config afk loads.
pub fn codex_config_model(text: &str) -> Option<String> {
    for line in text.lines() {
        let l = line.trim();
        if l.starts_with('[') {
            return None;
        }
        if let Some(m) = config_model(l.split(" #").next().unwrap_or(l)) {
            return (!m.is_empty()).then_some(m);
        }
    }
    None
}

/// Doctor's WARN lines: one per model with no price (not in
/// `[runner.prices.models]`, not in the table, no flat prices).
pub fn unpriced_lines(api: Api, models: &[(String, &str)], prices: &Prices) -> Vec<String> {
    models
        .iter()
        .filter(|(m, _)| price_of(prices, api, m).1 == PricedBy::Highest)
        .map(|(m, from)| {
            let h = highest(prices.table, api);
            format!(
                "model \"{}\" ({from}) has no price in afk's table of {} or [runner.prices]: the gateway prices it at the highest {} price (input ${}, output ${} per million tokens); add [runner.prices.models.\"{}\"]",
                crate::sanitize::one_line(m, 100),
                prices.table.date,
                api.as_str(),
                h.input,
                h.output,
                crate::sanitize::one_line(m, 100),
            )
        })
        .collect()
}
