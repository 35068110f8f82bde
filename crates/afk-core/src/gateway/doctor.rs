//! Doctor's price check
//! (docs/runners.md#prices-the-shipped-table-and-overriding-it): each model
//! the config asks for (`--model X` in `runner.command`, Codex's `model` in
//! its config.toml) that has no price is a WARN line, since the gateway
//! would price it at its API's highest.

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

/// The models of `models` with no price (not in `[runner.prices.models]`,
/// not in the table, no flat prices), each with where it was named.
pub fn unpriced<'a>(
    api: Api,
    models: &'a [(String, &'a str)],
    prices: &Prices,
) -> Vec<&'a (String, &'a str)> {
    models
        .iter()
        .filter(|(m, _)| price_of(prices, api, m).1 == PricedBy::Highest)
        .collect()
}

/// Why poll dispatches nothing while a money limit is set and the agent is
/// asked for `model` (named in `from`), which afk cannot price: a guess
/// would make every figure the limit reads one (never a silent guess).
pub fn refused_line(model: &str, from: &str, date: &str) -> String {
    let m = crate::sanitize::one_line(model, 100);
    format!(
        "model \"{m}\" ({from}) has no price in afk's table of {date} or [runner.prices], and a money limit is set: nothing is dispatched until it is priced: add [runner.prices.models.\"{m}\"] (docs/runners.md#prices-the-shipped-table-and-overriding-it)"
    )
}

/// Doctor's lines: one per model with no price (not in
/// `[runner.prices.models]`, not in the table, no flat prices).
pub fn unpriced_lines(api: Api, models: &[(String, &str)], prices: &Prices) -> Vec<String> {
    unpriced(api, models, prices)
        .into_iter()
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

/// What doctor knows of the gateway for a command runner's turns (the
/// keeper's decision, `Boxer::gateway()`; a `confine = "none"` runner: off).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decided<'a> {
    /// On: the keeper holds `key_env`'s key and sends to `upstream`.
    On {
        api: Api,
        key_env: &'a str,
        upstream: &'a str,
    },
    /// Off, and why (a subscription login, a custom agent, `confine =
    /// "none"`, a box whose network is not `model`, `gateway = "off"`).
    Off(&'a str),
    /// No turn would start: `gateway = "on"` without its key, or an
    /// upstream the gateway sends no key to; the words name `key_env`.
    Refused(&'a str),
}

/// Doctor's line on the gateway
/// (docs/runners.md#the-model-gateway-runnermodel): on, that the gateway
/// holds the key and meters each request; off, that the key is in the
/// agent's reach and the spend is the agent's word (a WARN); refused, a FAIL.
pub fn gateway_line(d: &Decided) -> (crate::doctor::Level, String) {
    use crate::doctor::Level;
    match d {
        Decided::On {
            api,
            key_env,
            upstream,
        } => (
            Level::Ok,
            format!(
                "the model gateway is on ({} API, to {}): afk holds ${key_env} outside the box, the agent holds a placeholder, and each model request is metered and priced by afk (the run's spend) and stopped at the budget",
                api.as_str(),
                crate::sanitize::one_line(upstream, 200),
            ),
        ),
        Decided::Off(why) => (
            Level::Warn,
            format!(
                "the model gateway is off ({}): the model's key is in the agent's reach, and a run's spend is the agent's word (what it reports)",
                crate::sanitize::one_line(why, 300)
            ),
        ),
        Decided::Refused(why) => (Level::Fail, crate::sanitize::one_line(why, 500)),
    }
}

/// What the model API answered doctor's one probe with the gateway's key
/// (`GET /v1/models`: free, and 401 for a bad key on both vendors' APIs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyProbe {
    /// the answer's status
    Status(u16),
    /// no answer: why (already one line, without the key)
    Unreached(String),
    /// the key's variable is unset or empty in afk's environment
    NoKey,
}

/// Doctor's line on the model's key: taken (OK), refused (FAIL: every turn
/// would end at its first request), or not confirmed (WARN).
pub fn key_line(key_env: &str, probe: &KeyProbe) -> (crate::doctor::Level, String) {
    use crate::doctor::Level;
    match probe {
        KeyProbe::Status(s) if (200..300).contains(s) => (
            Level::Ok,
            format!("the model API took the key in ${key_env} (GET /v1/models answered {s})"),
        ),
        KeyProbe::Status(s @ (401 | 403)) => (
            Level::Fail,
            format!(
                "the model API refused the key in ${key_env} ({s}): every turn would end at its first request; set the right key"
            ),
        ),
        KeyProbe::Status(s) => (
            Level::Warn,
            format!(
                "the model API answered GET /v1/models with {s}: the key in ${key_env} is not confirmed"
            ),
        ),
        KeyProbe::Unreached(why) => (
            Level::Warn,
            format!(
                "the model API could not be asked about the key in ${key_env}: {}",
                crate::sanitize::one_line(why, 300)
            ),
        ),
        KeyProbe::NoKey => (
            Level::Fail,
            format!("${key_env} is unset or empty: the gateway has no key to send"),
        ),
    }
}

/// Doctor's line on what the gateway lets the vendor do beyond answering
/// (`[runner.model] allow_features`; `request::FEATURES`).
pub fn features_line(allowed: &[String]) -> String {
    let closed = "server-side tools that fetch, search, run code or reach MCP servers, background answers, the priority tier and beta headers afk has not read are refused";
    if allowed.is_empty() {
        return format!(
            "the model gateway is closed by default: {closed}; allow one by name in [runner.model] allow_features"
        );
    }
    let named: Vec<String> = allowed
        .iter()
        .map(|f| crate::sanitize::one_line(f, 60))
        .collect();
    format!(
        "the model gateway lets the vendor act outside the box for: {} ([runner.model] allow_features); the rest is refused: {closed}",
        named.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_the_model_refuses_fails_and_one_it_takes_is_ok() {
        use crate::doctor::Level;
        let cases = [
            (KeyProbe::Status(200), Level::Ok),
            (KeyProbe::Status(204), Level::Ok),
            (KeyProbe::Status(401), Level::Fail),
            (KeyProbe::Status(403), Level::Fail),
            (KeyProbe::Status(404), Level::Warn),
            (KeyProbe::Status(500), Level::Warn),
            (
                KeyProbe::Unreached("connection refused".into()),
                Level::Warn,
            ),
            (KeyProbe::NoKey, Level::Fail),
        ];
        for (probe, want) in cases {
            let (level, text) = key_line("ANTHROPIC_API_KEY", &probe);
            assert_eq!(level, want, "{probe:?}");
            assert!(text.contains("$ANTHROPIC_API_KEY"), "{text}");
        }
    }
}
