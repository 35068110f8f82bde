//! The metered record and doctor's lines on the gateway.

use super::*;

#[test]
fn the_metered_record_is_one_line_per_request_and_sums_to_the_runs_spend() {
    let at = time::macros::datetime!(2026-11-26 02:20:19.5 UTC);
    let usage = u(10, 20, 30, 40);
    let a = Line::new(
        at,
        Api::Anthropic,
        "claude-sonnet-4-6",
        200,
        usage,
        1234,
        PricedBy::Table,
        true,
    );
    let b = Line::new(
        at,
        Api::Anthropic,
        "x",
        200,
        usage,
        766,
        PricedBy::Highest,
        false,
    );
    let text = a.to_line();
    assert!(text.ends_with('\n') && text.matches('\n').count() == 1);
    assert!(text.starts_with(
        "{\"at\":\"2026-11-26T02:20:19.500000Z\",\"api\":\"anthropic\",\"model\":\"claude-sonnet-4-6\",\"status\":200,\"input\":10,\"cache_read\":20,\"cache_write\":30,\"output\":40,\"reasoning\":0,\"micro_usd\":1234,\"priced_by\":\"table\""
    ), "{text}");
    assert_eq!(Line::parse(&text), Some(a.clone()));
    let record = format!("{}{}garbage\n\n{}", a.to_line(), b.to_line(), "{\"at\":");
    let t = sum(record.as_bytes());
    assert_eq!(
        (t.micro_usd, t.requests, t.fallback, t.skipped),
        (2000, 2, 1, 1)
    );
    assert_eq!(t.tokens.output, 80);
    assert!((t.usd() - 0.002).abs() < 1e-12);
    // fed in pieces: the torn line waits; a too-long line is skipped whole
    let mut p = Tally::default();
    for c in record.as_bytes().chunks(7) {
        p.feed(c);
    }
    assert_eq!((p.micro_usd, p.requests), (2000, 2));
    p.feed(b"\"x\"}\n");
    assert_eq!(p.skipped, 2, "the torn line ended as no record");
    let long = "y".repeat(metered::MAX_LINE + 1);
    p.feed(long.as_bytes());
    p.feed(b"more\n");
    p.feed(a.to_line().as_bytes());
    assert_eq!((p.micro_usd, p.requests, p.skipped), (3234, 3, 3));
    // kept between reads
    let kept: Tally = serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap();
    assert_eq!(kept, p);
}

#[test]
fn doctor_names_each_configured_model_with_no_price() {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let cases = [
        (
            AgentKind::Claude,
            s(&["--model", "claude-opus-4-8", "--verbose"]),
            s(&["claude-opus-4-8"]),
        ),
        (
            AgentKind::Claude,
            s(&["--model=sonnet-x", "-m", "y"]),
            s(&["sonnet-x"]),
        ),
        (
            AgentKind::Codex,
            s(&[
                "-m",
                "gpt-6-sol",
                "-c",
                "model=\"gpt-9\"",
                "--config=model=z",
            ]),
            s(&["gpt-6-sol", "gpt-9", "z"]),
        ),
        (
            AgentKind::Codex,
            s(&["-c", "model_reasoning_effort=high"]),
            s(&[]),
        ),
        (AgentKind::Claude, s(&["--model"]), s(&[])),
    ];
    for (agent, cmd, want) in cases {
        assert_eq!(doctor::models_in_command(agent, &cmd), want, "{cmd:?}");
    }
    assert_eq!(
        doctor::codex_config_model(
            "# c\nmodel = \"gpt-6.1-sol\" # default\nmodel_provider = \"x\"\n[p]\nmodel = \"no\"\n"
        )
        .as_deref(),
        Some("gpt-6.1-sol")
    );
    assert_eq!(doctor::codex_config_model("[p]\nmodel = \"no\"\n"), None);
    let none = BTreeMap::new();
    let mut mine = BTreeMap::new();
    mine.insert(
        "gpt-9".to_string(),
        Price {
            input: 1.0,
            ..Price::default()
        },
    );
    let t = table();
    let bare = Prices {
        models: &none,
        flat: Price::default(),
        table: t,
    };
    let configured = Prices {
        models: &mine,
        flat: Price::default(),
        table: t,
    };
    let flat = Prices {
        models: &none,
        flat: Price {
            input: 1.0,
            ..Price::default()
        },
        table: t,
    };
    let asked = vec![
        ("gpt-6.1-sol".to_string(), "runner.command's --model"),
        ("gpt-9".to_string(), "Codex's config.toml"),
    ];
    let lines = doctor::unpriced_lines(Api::OpenAi, &asked, &bare);
    assert_eq!(lines.len(), 1);
    assert!(
        lines[0].starts_with("model \"gpt-9\" (Codex's config.toml) has no price"),
        "{}",
        lines[0]
    );
    assert!(lines[0].contains("[runner.prices.models.\"gpt-9\"]"));
    assert!(doctor::unpriced_lines(Api::OpenAi, &asked, &configured).is_empty());
    assert!(doctor::unpriced_lines(Api::OpenAi, &asked, &flat).is_empty());
}

#[test]
fn doctor_says_who_holds_the_key_and_whose_word_the_spend_is() {
    use super::doctor::{Decided, gateway_line};
    use crate::doctor::Level;
    let on = Decided::On {
        api: Api::Anthropic,
        key_env: "ANTHROPIC_API_KEY",
        upstream: "https://api.anthropic.com",
    };
    let missing = "runner.model.gateway = \"on\" and $TEAM_KEY (runner.model.key_env) is not in afk's environment";
    // (decision, level, words the line must hold)
    let table: [(Decided, Level, &[&str]); 6] = [
        (
            on,
            Level::Ok,
            &["gateway is on", "$ANTHROPIC_API_KEY", "holds", "metered"],
        ),
        (
            Decided::Off("a subscription login"),
            Level::Warn,
            &[
                "off (a subscription login)",
                "in the agent's reach",
                "the agent's word",
            ],
        ),
        (
            Decided::Off("a custom agent speaks no API afk knows"),
            Level::Warn,
            &["custom agent", "in the agent's reach", "the agent's word"],
        ),
        (
            Decided::Off("the agent runs unconfined (confine = \"none\")"),
            Level::Warn,
            &[
                "confine = \"none\"",
                "in the agent's reach",
                "the agent's word",
            ],
        ),
        (
            Decided::Off("the box's network is not \"model\""),
            Level::Warn,
            &["network", "in the agent's reach", "the agent's word"],
        ),
        (
            Decided::Refused(missing),
            Level::Fail,
            &["$TEAM_KEY", "key_env"],
        ),
    ];
    for (d, level, words) in table {
        let (l, text) = gateway_line(&d);
        assert_eq!(l, level, "{d:?}: {text}");
        for w in words {
            assert!(text.contains(w), "{d:?}: {text} lacks {w}");
        }
        assert!(!text.contains('\n'), "{text}");
    }
}
