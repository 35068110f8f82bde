//! Pricing a request: the shipped table, the config's prices, the flat price, rounding.

use super::*;

#[test]
fn the_shipped_table_parses_has_four_prices_for_each_model_and_names_its_date() {
    let t = parse_table(prices::TABLE_TEXT).unwrap();
    assert_eq!(t.date.len(), 10, "{}", t.date);
    assert!(crate::types::stamp::parse(&format!("{}T00:00:00Z", t.date)).is_some());
    assert!(t.sources.iter().all(|s| s.starts_with("https://")));
    assert!(
        t.sources
            .iter()
            .any(|s| s.contains("claude.com") || s.contains("anthropic.com"))
    );
    assert!(t.sources.iter().any(|s| s.contains("openai.com")));
    for (name, e) in &t.models {
        let p = e.price();
        assert!(
            p.input > 0.0 && p.cached_input > 0.0 && p.cache_write > 0.0 && p.output > 0.0,
            "{name}"
        );
        assert!(p.cached_input <= p.input && p.output >= p.input, "{name}");
    }
    // every entry has all four keys (no default fills one in)
    let v: serde_json::Value = serde_json::from_str(prices::TABLE_TEXT).unwrap();
    for (name, e) in v["models"].as_object().unwrap() {
        for key in ["api", "input", "cached_input", "cache_write", "output"] {
            assert!(e.get(key).is_some(), "{name} has no {key}");
        }
    }
    for family in [
        "claude-opus-4-",
        "claude-sonnet-4-",
        "claude-haiku-4-",
        "gpt-6.1-sol",
        "gpt-5.5",
    ] {
        assert!(t.models.keys().any(|m| m.starts_with(family)), "{family}");
    }
    assert!(parse_table(r#"{"date":"soon","sources":["x"],"models":{}}"#).is_err());
    assert!(parse_table(r#"{"date":"2026-01-01","sources":["x"],"models":{"m":{"api":"openai","input":1,"cached_input":1,"output":1}}}"#).is_err());
}

#[test]
fn a_model_is_named_as_written_or_as_its_snapshot() {
    let cases = [
        ("claude-sonnet-4-5", "claude-sonnet-4-5", true),
        ("claude-sonnet-4-5", "Claude-Sonnet-4-5", true),
        ("claude-sonnet-4-5", "claude-sonnet-4-5-20250929", true),
        ("gpt-5.5", "gpt-5.5-2026-04-23", true),
        ("claude-opus-4", "claude-opus-4-20250514", true),
        ("claude-opus-4", "claude-opus-4-8", false),
        ("claude-opus-4", "claude-opus-4-1-20250805", false),
        ("gpt-6-sol", "gpt-6-sol-mini", false),
        ("gpt-6", "gpt-6.1-sol", false),
    ];
    for (name, model, want) in cases {
        assert_eq!(names(name, model), want, "{name} {model}");
    }
    let t = table();
    assert_eq!(
        prices::lookup(&t.models, "claude-opus-4-1-20250805").map(|e| e.input),
        Some(15.0)
    );
    assert_eq!(
        prices::lookup(&t.models, "claude-opus-4-5-20251101").map(|e| e.input),
        Some(5.0)
    );
}

static NO_MODELS: BTreeMap<String, Price> = BTreeMap::new();

/// `[runner.prices.models]` pricing claude-sonnet-4-6 at 1 / 0.5 / 2 / 4
/// and my-model's input at 10.
fn config_models() -> BTreeMap<String, Price> {
    let mut models = BTreeMap::new();
    models.insert(
        "claude-sonnet-4-6".to_string(),
        Price {
            input: 1.0,
            cached_input: 0.5,
            cache_write: 2.0,
            output: 4.0,
        },
    );
    models.insert(
        "my-model".to_string(),
        Price {
            input: 10.0,
            cached_input: 0.0,
            cache_write: 0.0,
            output: 0.0,
        },
    );
    models
}

fn with(models: &BTreeMap<String, Price>) -> Prices<'_> {
    Prices {
        models,
        flat: Price::default(),
        table: table(),
    }
}

/// No config prices: the table's, else the API's highest.
fn bare() -> Prices<'static> {
    with(&NO_MODELS)
}

/// Only the flat `[runner.prices]`: 1 / 0.1 / 1 / 2.
fn flat_only() -> Prices<'static> {
    Prices {
        flat: Price {
            input: 1.0,
            cached_input: 0.1,
            cache_write: 1.0,
            output: 2.0,
        },
        ..bare()
    }
}

/// Each case's model, with 1000 input, 10000 cached, 2000 cache-write and
/// 500 output tokens, costs its micro-dollars, priced by its source; only
/// the API's highest price says so in a fallback line.
fn prices_as(cases: &[(&Prices, Api, &str, u64, PricedBy)]) {
    let usage = u(1000, 10_000, 2000, 500);
    for &(prices, api, model, want, by) in cases {
        let p = price(prices, api, Some(model), &usage);
        assert_eq!((p.micro_usd, p.by), (want, by), "{model}");
        assert_eq!(
            p.fallback_line(api).is_some(),
            by == PricedBy::Highest,
            "{model}"
        );
    }
}

#[test]
fn the_configs_price_for_a_model_or_its_snapshot_wins_over_the_tables() {
    let models = config_models();
    let with = with(&models);
    // 1000*1 + 10000*0.5 + 2000*2 + 500*4
    prices_as(&[
        (
            &with,
            Api::Anthropic,
            "claude-sonnet-4-6",
            12_000,
            PricedBy::Config,
        ),
        (
            &with,
            Api::Anthropic,
            "claude-sonnet-4-6-20260101",
            12_000,
            PricedBy::Config,
        ),
        // cached and written input with no figure of their own: as input (OpenAI bills no less), never free
        (&with, Api::OpenAi, "my-model", 130_000, PricedBy::Config),
    ]);
}

#[test]
fn a_model_the_config_does_not_price_takes_the_tables_price() {
    let models = config_models();
    let with = with(&models);
    prices_as(&[
        // 1000*3 + 10000*0.3 + 2000*3.75 + 500*15
        (
            &bare(),
            Api::Anthropic,
            "claude-sonnet-4-6",
            21_000,
            PricedBy::Table,
        ),
        (
            &with,
            Api::Anthropic,
            "claude-haiku-4-5-20251001",
            1000 + 1000 + 2500 + 2500,
            PricedBy::Table,
        ),
        // gpt-6.1-sol: 1000*2 + 10000*0.1 + 2000*2.5 + 500*10
        (&bare(), Api::OpenAi, "gpt-6.1-sol", 13_000, PricedBy::Table),
    ]);
}

#[test]
fn the_flat_price_covers_a_model_the_table_does_not_and_yields_to_the_table() {
    prices_as(&[
        // 1000*1 + 10000*0.1 + 2000*1 + 500*2
        (
            &flat_only(),
            Api::OpenAi,
            "unknown-model",
            5_000,
            PricedBy::Flat,
        ),
        (
            &flat_only(),
            Api::OpenAi,
            "gpt-6.1-sol",
            13_000,
            PricedBy::Table,
        ),
    ]);
}

#[test]
fn an_unpriced_or_unnamed_model_takes_its_apis_highest_price_and_says_so() {
    // Anthropic's highest is Opus 4's 15 / 1.5 / 18.75 / 75
    prices_as(&[(
        &bare(),
        Api::Anthropic,
        "claude-unknown-9",
        15_000 + 15_000 + 37_500 + 37_500,
        PricedBy::Highest,
    )]);
    let p = price(&bare(), Api::OpenAi, None, &u(1000, 10_000, 2000, 500));
    assert_eq!(p.by, PricedBy::Highest);
    let line = p.fallback_line(Api::OpenAi).unwrap();
    assert!(
        line.contains("has no price") && line.contains("highest openai price"),
        "{line}"
    );
}

#[test]
fn openais_cached_input_and_reasoning_are_not_priced_twice() {
    // OpenAI's convention: input includes cached, output includes reasoning;
    // the reader's Usage already took the cached out, so reasoning is not priced twice
    let r = read(Api::OpenAi, Framing::Sse, &[OPENAI_STREAM.as_bytes()]);
    let p = price(&bare(), Api::OpenAi, Some("gpt-6.1-sol"), &r.usage.unwrap());
    // 800*2 + 4000*0.1 + 200*2.5 + 700*10
    assert_eq!(p.micro_usd, 1600 + 400 + 500 + 7000);
}

#[test]
fn a_price_is_rounded_once_half_up() {
    let tiny = bare();
    assert_eq!(
        price(&tiny, Api::OpenAi, Some("gpt-6-luna"), &u(5, 0, 0, 1)).micro_usd,
        1
    );
    assert_eq!(
        price(&tiny, Api::OpenAi, Some("gpt-6-luna"), &u(4, 0, 0, 0)).micro_usd,
        0
    );
}

/// Every model the pinned agents name as a default or a choice (Claude
/// Code 2.1.331's model picker and aliases, Codex 0.169.0's presets and
/// the codex-family models its users pick) is priced by the shipped table,
/// never by the API's highest.
#[test]
fn every_model_the_pinned_agents_offer_is_priced_by_the_table() {
    let table = table();
    let offered = [
        (Api::Anthropic, "claude-opus-5-5"),
        (Api::Anthropic, "claude-opus-5"),
        (Api::Anthropic, "claude-opus-4-8"),
        (Api::Anthropic, "claude-sonnet-5-5"),
        (Api::Anthropic, "claude-sonnet-5"),
        (Api::Anthropic, "claude-sonnet-4-6"),
        (Api::Anthropic, "claude-haiku-5-5"),
        (Api::Anthropic, "claude-haiku-4-5-20251001"),
        (Api::Anthropic, "claude-fable-5-2"),
        (Api::Anthropic, "claude-mythos-5-2"),
        (Api::OpenAi, "gpt-6.1-sol"),
        (Api::OpenAi, "gpt-6.1-terra"),
        (Api::OpenAi, "gpt-6-astra"),
        (Api::OpenAi, "gpt-6-sol"),
        (Api::OpenAi, "gpt-6-luna"),
        (Api::OpenAi, "gpt-5.6-sol"),
        (Api::OpenAi, "gpt-5.5"),
        (Api::OpenAi, "gpt-5-codex"),
        (Api::OpenAi, "gpt-5.1-codex-max"),
        (Api::OpenAi, "gpt-5.2-codex"),
        (Api::OpenAi, "gpt-5.3-codex"),
    ];
    let none = BTreeMap::new();
    let p = Prices {
        models: &none,
        flat: Price::default(),
        table,
    };
    for (api, model) in offered {
        let (price, by) = prices::price_of(&p, api, model);
        assert_eq!(by, PricedBy::Table, "{model}");
        assert_eq!(
            prices::lookup(&table.models, model).map(|e| e.api),
            Some(api),
            "{model}"
        );
        assert!(price.output > 0.0, "{model}");
    }
    // gpt-5-codex at its published price, not the API's highest ($10/$50)
    let (codex, _) = prices::price_of(&p, Api::OpenAi, "gpt-5-codex");
    assert_eq!((codex.input, codex.output), (1.25, 10.0));
}
