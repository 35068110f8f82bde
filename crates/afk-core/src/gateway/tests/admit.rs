//! Admitting a request: its path, method, host, body, key and upstream; when the gateway is on.

use super::*;

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
