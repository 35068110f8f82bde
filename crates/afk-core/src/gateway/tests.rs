use super::budget::Gate;
use super::metered::{Line, Tally, sum};
use super::prices::{Price, PricedBy, Prices, names, parse_table, price, table};
use super::usage::{Framing, Usage, UsageReader, request_model};
use super::*;
use crate::spend::{DayLimits, MoneyLimits};
use std::collections::BTreeMap;

const HOSTS: [&str; 2] = ["127.0.0.1:7070", "api.anthropic.com"];

fn head<'a>(method: &'a str, target: &'a str, host: Option<&'a str>) -> Head<'a> {
    Head {
        method,
        target,
        host,
        content_length: None,
    }
}

type AdmitCase<'a> = (
    Api,
    &'a str,
    &'a str,
    Option<&'a str>,
    Option<u64>,
    Result<Endpoint, u16>,
);

const H: Option<&str> = Some("127.0.0.1:7070");

/// Each case's request is passed as its endpoint, or refused with its
/// status and a one-line reason saying "refused ".
fn admits(cases: &[AdmitCase]) {
    for &(api, method, target, host, len, want) in cases {
        let mut hd = head(method, target, host);
        hd.content_length = len;
        let got = admit(api, &hd, &HOSTS);
        match (want, &got) {
            (Ok(e), Admit::Pass(g)) => assert_eq!(*g, e, "{method} {target}"),
            (Err(s), Admit::Refuse { status, reason }) => {
                assert_eq!(*status, s, "{method} {target}: {reason}");
                assert!(reason.starts_with("refused "), "{reason}");
                assert!(!reason.contains('\n'));
            }
            _ => panic!("{method} {target} {host:?}: {got:?}"),
        }
    }
}

#[test]
fn anthropics_messages_and_count_tokens_pass_by_the_base_url_or_the_upstream_host() {
    admits(&[
        (
            Api::Anthropic,
            "POST",
            "/v1/messages",
            H,
            None,
            Ok(Endpoint::Messages),
        ),
        (
            Api::Anthropic,
            "POST",
            "/v1/messages?beta=true",
            H,
            Some(10),
            Ok(Endpoint::Messages),
        ),
        (
            Api::Anthropic,
            "POST",
            "/v1/messages/count_tokens?beta=true",
            H,
            None,
            Ok(Endpoint::CountTokens),
        ),
        (
            Api::Anthropic,
            "POST",
            "/v1/messages",
            Some("API.anthropic.com"),
            None,
            Ok(Endpoint::Messages),
        ),
    ]);
}

#[test]
fn openais_responses_chat_and_models_pass() {
    admits(&[
        (
            Api::OpenAi,
            "POST",
            "/v1/responses",
            H,
            None,
            Ok(Endpoint::Responses),
        ),
        (
            Api::OpenAi,
            "POST",
            "/v1/chat/completions",
            H,
            None,
            Ok(Endpoint::ChatCompletions),
        ),
        (
            Api::OpenAi,
            "GET",
            "/v1/models?client_version=1",
            H,
            None,
            Ok(Endpoint::Models),
        ),
    ]);
}

#[test]
fn another_apis_path_a_wrong_method_or_a_path_outside_the_api_is_refused() {
    admits(&[
        (Api::Anthropic, "POST", "/v1/responses", H, None, Err(403)),
        (Api::Anthropic, "GET", "/v1/messages", H, None, Err(403)),
        (
            Api::Anthropic,
            "POST",
            "/v1/messages/../files",
            H,
            None,
            Err(403),
        ),
        (Api::Anthropic, "POST", "/v1/files", H, None, Err(403)),
    ]);
}

#[test]
fn a_connect_or_an_absolute_uri_is_refused() {
    admits(&[
        (
            Api::Anthropic,
            "CONNECT",
            "api.anthropic.com:443",
            H,
            None,
            Err(403),
        ),
        (
            Api::Anthropic,
            "POST",
            "http://evil.example/v1/messages",
            H,
            None,
            Err(403),
        ),
    ]);
}

#[test]
fn a_host_other_than_the_base_urls_or_the_upstreams_or_none_is_refused() {
    admits(&[
        (
            Api::Anthropic,
            "POST",
            "/v1/messages",
            Some("evil.example"),
            None,
            Err(403),
        ),
        (Api::Anthropic, "POST", "/v1/messages", None, None, Err(403)),
    ]);
}

#[test]
fn a_body_up_to_32_mib_passes_and_one_over_is_413() {
    assert_eq!(MAX_BODY, 32 << 20);
    admits(&[
        (
            Api::Anthropic,
            "POST",
            "/v1/messages",
            H,
            Some(MAX_BODY),
            Ok(Endpoint::Messages),
        ),
        (
            Api::Anthropic,
            "POST",
            "/v1/messages",
            H,
            Some(MAX_BODY + 1),
            Err(413),
        ),
    ]);
}

#[test]
fn the_gateway_drops_the_agents_key_and_sets_the_apis_own() {
    for name in [
        "Authorization",
        "x-api-key",
        "X-Api-Key",
        "proxy-authorization",
        "api-key",
        "Cookie",
        "Host",
        "Connection",
        "Transfer-Encoding",
        "Accept-Encoding",
    ] {
        assert!(dropped_request_header(name), "{name}");
    }
    for name in [
        "anthropic-version",
        "anthropic-beta",
        "content-type",
        "openai-beta",
        "user-agent",
        "content-length",
    ] {
        assert!(!dropped_request_header(name), "{name}");
    }
    assert_eq!(
        added_request_headers(Api::Anthropic, "k1"),
        vec![
            ("x-api-key", "k1".to_string()),
            ("accept-encoding", "identity".to_string())
        ]
    );
    assert_eq!(
        added_request_headers(Api::OpenAi, "k2")[0],
        ("authorization", "Bearer k2".to_string())
    );
}

#[test]
fn a_passed_request_goes_to_the_upstreams_root() {
    let cases = [
        (
            Api::Anthropic,
            "https://api.anthropic.com",
            "/v1/messages?beta=true",
            "https://api.anthropic.com/v1/messages?beta=true",
        ),
        (
            Api::Anthropic,
            "http://127.0.0.1:9/model/anthropic/",
            "/v1/messages",
            "http://127.0.0.1:9/model/anthropic/v1/messages",
        ),
        (
            Api::OpenAi,
            "https://api.openai.com/v1",
            "/v1/responses",
            "https://api.openai.com/v1/responses",
        ),
        (
            Api::OpenAi,
            "http://127.0.0.1:9/model/openai/v1/",
            "/v1/models?x=1",
            "http://127.0.0.1:9/model/openai/v1/models?x=1",
        ),
        (
            Api::OpenAi,
            "https://llm.example/openai",
            "/v1/responses",
            "https://llm.example/openai/v1/responses",
        ),
    ];
    for (api, up, target, want) in cases {
        assert_eq!(upstream_url(api, up, target), want);
    }
    assert_eq!(
        authority_of("https://API.anthropic.com/x"),
        "api.anthropic.com"
    );
    assert_eq!(authority_of("http://127.0.0.1:9/model"), "127.0.0.1:9");
}

#[test]
fn the_upstream_is_https_or_loopback_http() {
    for ok in [
        "https://api.anthropic.com",
        "https://api.openai.com/v1",
        "http://127.0.0.1:8080/model/openai/v1",
        "http://localhost:1",
        "http://[::1]:9/x",
    ] {
        assert!(upstream_allowed(ok).is_ok(), "{ok}");
    }
    for (bad, says) in [
        ("http://api.anthropic.com", "plain http"),
        ("ftp://x", "not an https URL"),
        ("api.openai.com", "not an https URL"),
        ("https://user:pw@api.openai.com", "user info"),
        ("https://", "names no host"),
        ("https://a.example/v1?x=1", "query"),
    ] {
        let e = upstream_allowed(bad).unwrap_err().0;
        assert!(e.contains(says), "{bad}: {e}");
    }
}

#[test]
fn the_gateway_is_on_for_a_named_boxed_agent_whose_key_afk_holds() {
    let base = Setting {
        mode: Mode::Auto,
        agent: AgentKind::Claude,
        boxed: true,
        network_model: true,
        key_env: "ANTHROPIC_API_KEY",
        key_present: true,
    };
    let with = |f: &dyn Fn(&mut Setting)| {
        let mut s = base;
        f(&mut s);
        in_force(&s)
    };
    assert_eq!(in_force(&base), InForce::On(Api::Anthropic));
    assert_eq!(
        with(&|s| s.agent = AgentKind::Codex),
        InForce::On(Api::OpenAi)
    );
    assert!(matches!(
        with(&|s| s.agent = AgentKind::Custom),
        InForce::Off(_)
    ));
    assert!(matches!(with(&|s| s.boxed = false), InForce::Off(_)));
    assert!(matches!(
        with(&|s| s.network_model = false),
        InForce::Off(_)
    ));
    assert!(matches!(with(&|s| s.key_present = false), InForce::Off(_)));
    assert!(matches!(with(&|s| s.mode = Mode::Off), InForce::Off(_)));
    assert_eq!(
        with(&|s| {
            s.mode = Mode::On;
            s.key_present = false
        }),
        InForce::MissingKey("ANTHROPIC_API_KEY".into())
    );
    assert_eq!(
        with(&|s| {
            s.mode = Mode::On;
            s.boxed = false
        }),
        InForce::On(Api::Anthropic)
    );
}

fn read(api: Api, framing: Framing, chunks: &[&[u8]]) -> usage::Read {
    let mut r = UsageReader::new(api, framing);
    for c in chunks {
        r.feed(c);
    }
    r.finish()
}

const ANTHROPIC_STREAM: &str = "event: message_start\n\
data: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"usage\":{\"input_tokens\":12,\"cache_creation_input_tokens\":300,\"cache_read_input_tokens\":4000,\"output_tokens\":1}}}\n\n\
event: content_block_delta\n\
data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"hi\"}}\n\n\
event: message_delta\n\
data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":250}}\n\n\
event: message_stop\n\
data: {\"type\":\"message_stop\"}\n\n";

const OPENAI_STREAM: &str = "event: response.created\n\
data: {\"type\":\"response.created\",\"response\":{\"id\":\"r\",\"status\":\"in_progress\"}}\n\n\
event: response.completed\n\
data: {\"type\":\"response.completed\",\"response\":{\"id\":\"r\",\"output\":[],\"usage\":{\"input_tokens\":5000,\"input_tokens_details\":{\"cached_tokens\":4000,\"cache_write_tokens\":200},\"output_tokens\":700,\"output_tokens_details\":{\"reasoning_tokens\":500},\"total_tokens\":5700}}}\n\n";

#[test]
fn the_usage_reader_reads_each_apis_usage_as_it_streams() {
    let anthropic = Usage {
        input: 12,
        cache_read: 4000,
        cache_write: 300,
        output: 250,
        reasoning: 0,
        cache_write_1h: 0,
    };
    let openai = Usage {
        input: 800,
        cache_read: 4000,
        cache_write: 200,
        output: 700,
        reasoning: 500,
        cache_write_1h: 0,
    };
    // whole, byte by byte, and with CRLF line ends
    let bytes: Vec<&[u8]> = ANTHROPIC_STREAM.as_bytes().chunks(1).collect();
    let crlf = ANTHROPIC_STREAM.replace('\n', "\r\n");
    for chunks in [
        vec![ANTHROPIC_STREAM.as_bytes()],
        bytes,
        vec![crlf.as_bytes()],
    ] {
        let r = read(Api::Anthropic, Framing::Sse, &chunks);
        assert_eq!(r.usage, Some(anthropic));
        assert!(r.complete);
    }
    let r = read(Api::OpenAi, Framing::Sse, &[OPENAI_STREAM.as_bytes()]);
    assert_eq!(r.usage, Some(openai));
    assert!(r.complete);
    // Chat Completions' last chunk
    let chat = "data: {\"choices\":[]}\n\ndata: {\"choices\":[],\"usage\":{\"prompt_tokens\":100,\"prompt_tokens_details\":{\"cached_tokens\":60},\"completion_tokens\":9,\"completion_tokens_details\":{\"reasoning_tokens\":4}}}\n\ndata: [DONE]\n\n";
    let r = read(Api::OpenAi, Framing::Sse, &[chat.as_bytes()]);
    assert_eq!(
        r.usage,
        Some(Usage {
            input: 40,
            cache_read: 60,
            cache_write: 0,
            output: 9,
            reasoning: 4,
            cache_write_1h: 0,
        })
    );
    assert!(r.complete);
}

#[test]
fn a_whole_json_answers_usage_is_read() {
    let a = "{\"id\":\"m\",\"type\":\"message\",\n \"content\":[{\"type\":\"text\",\"text\":\"x\"}],\n \"usage\":{\"input_tokens\":7,\"cache_read_input_tokens\":3,\"cache_creation_input_tokens\":2,\"output_tokens\":5}}";
    let (x, y) = a.as_bytes().split_at(20);
    let r = read(Api::Anthropic, Framing::Json, &[x, y]);
    assert_eq!(
        r.usage,
        Some(Usage {
            input: 7,
            cache_read: 3,
            cache_write: 2,
            output: 5,
            reasoning: 0,
            cache_write_1h: 0,
        })
    );
    let o = "{\"id\":\"r\",\"usage\":{\"input_tokens\":10,\"input_tokens_details\":{\"cached_tokens\":4},\"output_tokens\":6,\"output_tokens_details\":{\"reasoning_tokens\":2}}}";
    let r = read(Api::OpenAi, Framing::Json, &[o.as_bytes()]);
    assert_eq!(
        r.usage,
        Some(Usage {
            input: 6,
            cache_read: 4,
            cache_write: 0,
            output: 6,
            reasoning: 2,
            cache_write_1h: 0,
        })
    );
    // an error answer: no usage
    let e = "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\"}}";
    assert_eq!(
        read(Api::Anthropic, Framing::Json, &[e.as_bytes()]).usage,
        None
    );
    assert_eq!(
        Framing::of_content_type(Some("text/event-stream; charset=utf-8")),
        Framing::Sse
    );
    assert_eq!(
        Framing::of_content_type(Some("application/json")),
        Framing::Json
    );
    assert_eq!(Framing::of_content_type(None), Framing::Json);
}

#[test]
fn an_answer_cut_mid_stream_yields_what_arrived() {
    // cut after message_start: its input counts, its first output token
    let cut = ANTHROPIC_STREAM.find("event: content_block_delta").unwrap();
    let r = read(
        Api::Anthropic,
        Framing::Sse,
        &[&ANTHROPIC_STREAM.as_bytes()[..cut]],
    );
    assert_eq!(
        r.usage,
        Some(Usage {
            input: 12,
            cache_read: 4000,
            cache_write: 300,
            output: 1,
            reasoning: 0,
            cache_write_1h: 0,
        })
    );
    assert!(!r.complete);
    // cut in the middle of the message_delta line: that line is lost
    let mid = ANTHROPIC_STREAM.find("\"output_tokens\":250").unwrap();
    let r = read(
        Api::Anthropic,
        Framing::Sse,
        &[&ANTHROPIC_STREAM.as_bytes()[..mid]],
    );
    assert_eq!(r.usage.map(|u| u.output), Some(1));
    // cut before any usage
    let r = read(
        Api::OpenAi,
        Framing::Sse,
        &[&OPENAI_STREAM.as_bytes()[..40]],
    );
    assert_eq!(r.usage, None);
    assert!(!r.complete);
}

#[test]
fn a_line_over_the_cap_is_skipped_and_its_usage_still_found() {
    let big = "x".repeat(usage::MAX_LINE + 10);
    let line = format!(
        "data: {{\"type\":\"response.completed\",\"response\":{{\"output\":[{{\"text\":\"{big}\"}}],\"usage\":{{\"input_tokens\":9,\"output_tokens\":3}}}}}}\n\n"
    );
    let chunks: Vec<&[u8]> = line.as_bytes().chunks(1 << 20).collect();
    let r = read(Api::OpenAi, Framing::Sse, &chunks);
    assert_eq!(r.skipped_lines, 1);
    assert_eq!(
        r.usage,
        Some(Usage {
            input: 9,
            output: 3,
            ..Usage::default()
        })
    );
    assert!(r.complete);
    // a long content line with no usage: skipped, nothing read
    let noise = format!(
        "data: {{\"type\":\"content_block_delta\",\"text\":\"{big}\\\"usage\\\":{{}}\"}}\n\n"
    );
    let r = read(
        Api::Anthropic,
        Framing::Sse,
        &[noise.as_bytes(), ANTHROPIC_STREAM.as_bytes()],
    );
    assert_eq!(r.skipped_lines, 1);
    assert_eq!(r.usage.map(|u| u.output), Some(250));
}

#[test]
fn the_request_model_is_read_from_its_body() {
    let cases: [(&[u8], Option<&str>); 6] = [
        (
            br#"{"model":"claude-sonnet-4-6","messages":[{"role":"user","content":"x"}]}"#,
            Some("claude-sonnet-4-6"),
        ),
        (
            br#"{"input":[{"a":{"model":"inner"}}],"model":"gpt-6.1-sol"}"#,
            Some("gpt-6.1-sol"),
        ),
        (br#"{"messages":[]}"#, None),
        (br#"{"model":"  "}"#, None),
        (b"not json", None),
        (br#"{"model":"a\u0007b"}"#, Some("ab")),
    ];
    for (body, want) in cases {
        assert_eq!(
            request_model(body).as_deref(),
            want,
            "{}",
            String::from_utf8_lossy(body)
        );
    }
}

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

fn gate(run_usd: f64, day_usd: f64, repo_day_usd: f64) -> Gate {
    Gate {
        limits: MoneyLimits {
            run_usd,
            day: DayLimits {
                day_usd,
                repo_day_usd,
            },
        },
        run_before: 400_000,
        run_before_day: None,
        day_others: 2_000_000,
        repo_day_others: 1_000_000,
    }
}

/// SPEC 4.2.2: a turn's day counts the run's turns started on it, not the
/// run's whole spend: a continuation the day after a pause at the day's cap
/// starts its day at the run's spend of that day ($0.00), its run limit at
/// the run's whole spend.
#[test]
fn the_gate_counts_toward_a_turns_day_only_the_runs_turns_started_that_day() {
    // (the run's spend that day, turn's spend, refused by)
    let table = [
        // the old shape: the whole run counts toward the day
        (None, 0, Some("day_usd")),
        // a new day: the run's earlier days do not count
        (Some(0), 0, None),
        (Some(0), 2_999_999, None),
        (Some(0), 3_000_000, Some("day_usd")),
        (Some(500_000), 2_500_000, Some("day_usd")),
    ];
    for (run_day, turn, want) in table {
        let g = Gate {
            run_before: 4_000_000,
            run_before_day: run_day,
            day_others: 2_000_000,
            repo_day_others: 0,
            ..gate(10.0, 5.0, 0.0)
        };
        assert_eq!(
            g.check(turn).err().map(|r| r.limit),
            want,
            "{run_day:?} +{turn}"
        );
    }
    let g = Gate {
        run_before: 4_000_000,
        run_before_day: Some(0),
        ..gate(10.0, 5.0, 0.0)
    };
    // AFK_BUDGET_USD: the smaller of the run's $6.00 and the day's $3.00 left
    assert_eq!(g.left(), Some(3.0));
}

#[test]
fn the_budget_gate_refuses_at_or_over_a_limit() {
    // (gate, turn's spend, refused by)
    let cases = [
        (gate(0.0, 0.0, 0.0), 1_000_000_000, None),
        (gate(1.0, 0.0, 0.0), 599_999, None),
        (gate(1.0, 0.0, 0.0), 600_000, Some("run_usd")),
        (gate(1.0, 0.0, 0.0), 700_000, Some("run_usd")),
        // the repo's day: 1.0 others + 0.4 earlier + the turn
        (gate(0.0, 0.0, 2.0), 599_999, None),
        (gate(0.0, 0.0, 2.0), 600_000, Some("repo_day_usd")),
        // the day: 2.0 others + 0.4 + the turn
        (gate(0.0, 3.0, 0.0), 600_000, Some("day_usd")),
        (gate(0.0, 3.0, 0.0), 500_000, None),
        // the run's limit is named first
        (gate(1.0, 3.0, 2.0), 600_000, Some("run_usd")),
    ];
    for (g, turn, want) in cases {
        let got = g.check(turn).err();
        assert_eq!(got.as_ref().map(|r| r.limit), want, "{g:?} {turn}");
        if let Some(r) = got {
            let line = r.line();
            assert!(line.contains(&format!("budget.{}", r.limit)), "{line}");
            let a: serde_json::Value = serde_json::from_str(&r.body(Api::Anthropic)).unwrap();
            assert_eq!(a["error"]["type"], "rate_limit_error");
            assert!(a["error"]["message"].as_str().unwrap().contains("budget."));
            let o: serde_json::Value = serde_json::from_str(&r.body(Api::OpenAi)).unwrap();
            assert!(o["error"]["message"].as_str().unwrap().contains("budget."));
        }
    }
}

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

#[test]
fn a_turns_gate_counts_the_runs_earlier_spend_and_its_days_other_runs_and_names_the_limit_hit() {
    use crate::spend::{DayRun, money_left};
    use time::macros::datetime;
    let at = datetime!(2025-03-04 10:00 UTC);
    let run = DayRun {
        repo: "acme/api",
        dispatched_at: at,
        spend_usd: Some(0.40),
    };
    let others = [
        // the same day, the same repository
        DayRun {
            repo: "acme/api",
            dispatched_at: datetime!(2025-03-04 01:00 UTC),
            spend_usd: Some(1.00),
        },
        // the same day, another repository
        DayRun {
            repo: "acme/web",
            dispatched_at: datetime!(2025-03-04 23:00 UTC),
            spend_usd: Some(2.00),
        },
        // another day: not counted
        DayRun {
            repo: "acme/api",
            dispatched_at: datetime!(2025-03-03 23:59 UTC),
            spend_usd: Some(50.0),
        },
    ];
    let limits = |run_usd, day_usd, repo_day_usd| MoneyLimits {
        run_usd,
        day: DayLimits {
            day_usd,
            repo_day_usd,
        },
    };
    assert_eq!(Gate::of(limits(0.0, 0.0, 0.0), &run, &others), None);
    let g = Gate::of(limits(1.0, 4.0, 2.0), &run, &others).unwrap();
    assert_eq!(
        (g.run_before, g.day_others, g.repo_day_others),
        (400_000, 3_000_000, 1_000_000)
    );
    // (limits, the turn's metered spend, the limit named, its figure, the spend it counts)
    let table = [
        (limits(1.0, 0.0, 0.0), 599_999, None),
        (limits(1.0, 0.0, 0.0), 600_000, Some(("run_usd", 1.0, 1.0))),
        (
            limits(0.0, 0.0, 1.5),
            100_000,
            Some(("repo_day_usd", 1.5, 1.5)),
        ),
        (limits(0.0, 0.0, 1.5), 99_999, None),
        (limits(0.0, 4.0, 0.0), 600_000, Some(("day_usd", 4.0, 4.0))),
        (limits(0.0, 4.0, 0.0), 599_999, None),
        // both reached: the run's limit is named first
        (limits(0.5, 3.0, 0.0), 200_000, Some(("run_usd", 0.5, 0.6))),
        // the repository's day and the day both reached: the repository's first
        (
            limits(5.0, 3.0, 1.5),
            200_000,
            Some(("repo_day_usd", 1.5, 1.6)),
        ),
    ];
    for (l, turn, want) in table {
        let g = Gate::of(l, &run, &others).unwrap();
        let got = g
            .check(turn)
            .err()
            .map(|r| (r.limit, r.limit_usd, r.spend_usd));
        if let (Some(w), Some(r)) = (want, got) {
            assert_eq!((r.0, r.1), (w.0, w.1), "{l:?} {turn}");
            assert!(
                (r.2 - w.2).abs() < 1e-9 || r.2 >= r.1,
                "{l:?} {turn}: {r:?}"
            );
        } else {
            assert_eq!(got.is_some(), want.is_some(), "{l:?} {turn}: {got:?}");
        }
        // what the agent is handed is what money_left says
        assert_eq!(g.left(), money_left(l, &run, &others), "{l:?}");
    }
}

/// (api, framing, body, id, model, finish reasons)
type Answer<'a> = (
    Api,
    Framing,
    &'a [u8],
    Option<&'a str>,
    Option<&'a str>,
    &'a [&'a str],
);

/// SPEC 10.3.7: a chat span's `gen_ai.response.id`, `.model` and
/// `.finish_reasons` are what the answer said of itself, kept only as short
/// printable text.
#[test]
fn chat_span_facts_are_what_the_answer_said_of_itself() {
    let anthropic_json: &[u8] = br#"{"id":"msg_1","model":"claude-x","stop_reason":"end_turn","usage":{"input_tokens":1,"output_tokens":2}}"#;
    let openai_chat_stream: &[u8] = b"data: {\"id\":\"c1\",\"model\":\"gpt-x\",\"choices\":[{\"finish_reason\":null}]}\n\ndata: {\"id\":\"c1\",\"model\":\"gpt-x\",\"choices\":[{\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4}}\n\ndata: [DONE]\n\n";
    let responses: &[u8] = b"data: {\"type\":\"response.completed\",\"response\":{\"id\":\"r9\",\"model\":\"o-x\",\"status\":\"completed\",\"usage\":{\"input_tokens\":1,\"output_tokens\":1}}}\n\n";
    let hostile: &[u8] = br#"{"id":"a b\nc","model":"m","stop_reason":"end_turn"}"#;
    let anthropic_stream: &[u8] = b"data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_2\",\"model\":\"claude-y\",\"usage\":{\"input_tokens\":1}}}\n\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"max_tokens\"},\"usage\":{\"output_tokens\":9}}\n\n";
    let table: [Answer; 5] = [
        (
            Api::Anthropic,
            Framing::Json,
            anthropic_json,
            Some("msg_1"),
            Some("claude-x"),
            &["end_turn"],
        ),
        (
            Api::Anthropic,
            Framing::Sse,
            anthropic_stream,
            Some("msg_2"),
            Some("claude-y"),
            &["max_tokens"],
        ),
        (
            Api::OpenAi,
            Framing::Sse,
            openai_chat_stream,
            Some("c1"),
            Some("gpt-x"),
            &["stop"],
        ),
        (
            Api::OpenAi,
            Framing::Sse,
            responses,
            Some("r9"),
            Some("o-x"),
            &["completed"],
        ),
        // an id with a space and a newline is not passed on
        (
            Api::Anthropic,
            Framing::Json,
            hostile,
            None,
            Some("m"),
            &["end_turn"],
        ),
    ];
    for (api, framing, body, id, model, finish) in table {
        let r = read(api, framing, &[body]);
        assert_eq!(
            r.answered.id.as_deref(),
            id,
            "{}",
            String::from_utf8_lossy(body)
        );
        assert_eq!(r.answered.model.as_deref(), model);
        assert_eq!(r.answered.finish, finish);
    }
}

/// SPEC 10.3.7: a chat span's `server.address` and `server.port` are the
/// upstream's host and port, its scheme's port when it names none, never
/// its path.
#[test]
fn chat_span_server_is_the_upstreams_host_and_port() {
    let table = [
        ("https://api.anthropic.com", ("api.anthropic.com", 443)),
        ("https://api.openai.com/v1", ("api.openai.com", 443)),
        ("http://127.0.0.1:8080/model/anthropic", ("127.0.0.1", 8080)),
        ("http://localhost/x", ("localhost", 80)),
        ("https://[::1]:9443/v1", ("[::1]", 9443)),
    ];
    for (url, (host, port)) in table {
        assert_eq!(
            crate::gateway::server_of(url),
            (host.to_string(), port),
            "{url}"
        );
    }
}

/// SPEC 4.2.5: a raise on a running run is in force from its next request;
/// it only raises, and sets no limit where the config has none.
#[test]
fn a_raise_on_a_running_run_is_in_force_from_its_next_request() {
    let with = |run_usd: f64| budget::Gate {
        limits: crate::spend::MoneyLimits {
            run_usd,
            ..Default::default()
        },
        ..Default::default()
    };
    let table = [
        (2.0, Some(7.0), 7.0),
        (2.0, None, 2.0),
        (2.0, Some(1.0), 2.0),
        (0.0, Some(7.0), 0.0),
        (2.0, Some(f64::NAN), 2.0),
    ];
    for (limit, raise, want) in table {
        assert_eq!(
            budget::raised(with(limit), raise).limits.run_usd,
            want,
            "{limit} {raise:?}"
        );
    }
}
