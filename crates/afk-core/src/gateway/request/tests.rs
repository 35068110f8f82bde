use super::*;

fn judged(
    api: Api,
    e: Endpoint,
    body: &str,
    betas: &[&str],
    allow: &[&str],
) -> Result<Judged, Refused> {
    let allow: Vec<String> = allow.iter().map(|s| s.to_string()).collect();
    judge(api, e, body.as_bytes(), betas, &allow)
}

#[test]
fn a_body_afk_cannot_read_unambiguously_is_refused_never_priced_flat() {
    use Api::*;
    use Endpoint::*;
    let cases: &[(Api, Endpoint, &str, Option<u16>)] = &[
        (
            Anthropic,
            Messages,
            r#"{"model":"claude-sonnet-4-6","max_tokens":10}"#,
            None,
        ),
        // the vendor reads the last model; afk would price the first
        (
            Anthropic,
            Messages,
            r#"{"model":"claude-haiku-4-5","model":"claude-opus-4-1"}"#,
            Some(400),
        ),
        (
            OpenAi,
            Responses,
            r#"{"model":"gpt-5.5","input":[{"a":1,"a":2}]}"#,
            Some(400),
        ),
        (OpenAi, Responses, r#"[{"model":"gpt-5.5"}]"#, Some(400)),
        (OpenAi, Responses, r#"{"input":"hi"}"#, Some(400)),
        (OpenAi, Responses, r#"{"model":"","input":"hi"}"#, Some(400)),
        (OpenAi, Responses, r#"{"model":7}"#, Some(400)),
        (
            OpenAi,
            Responses,
            r#"{"model":"gpt-5.5"} {"model":"x"}"#,
            Some(400),
        ),
        (OpenAi, Responses, "not json", Some(400)),
        (
            Anthropic,
            CountTokens,
            r#"{"model":"claude-sonnet-4-6","messages":[]}"#,
            None,
        ),
        // the model list carries no body
        (OpenAi, Models, "", None),
    ];
    for (api, e, body, want) in cases {
        let got = judged(*api, *e, body, &[], &[]);
        assert_eq!(
            got.as_ref().err().map(|r| r.status),
            *want,
            "{body}: {got:?}"
        );
    }
}

/// A request asking each case's features: passes only when allowed by name,
/// else a 403 that names `allow_features`.
type Case<'a> = (Api, Endpoint, &'a str, &'a [&'a str], &'a [&'a str], bool);

fn judge_features(cases: &[Case]) {
    for (api, e, body, betas, allow, pass) in cases {
        let got = judged(*api, *e, body, betas, allow);
        assert_eq!(got.is_ok(), *pass, "{body} {betas:?} {allow:?}: {got:?}");
        if let Err(r) = got {
            assert_eq!(r.status, 403, "{body}");
            assert!(r.reason.contains("allow_features"), "{}", r.reason);
        }
    }
}

#[test]
fn server_side_tools_pass_only_when_allowed_by_name() {
    use Api::*;
    use Endpoint::*;
    judge_features(&[
        // client tools run in the box
        (
            Anthropic,
            Messages,
            r#"{"model":"m","tools":[{"name":"Bash","input_schema":{}},{"type":"bash_20250124","name":"bash"},{"type":"text_editor_20250728","name":"e"},{"type":"custom","name":"x"}]}"#,
            &[],
            &[],
            true,
        ),
        (
            Anthropic,
            Messages,
            r#"{"model":"m","tools":[{"type":"web_fetch_20250910","name":"web_fetch"}]}"#,
            &[],
            &[],
            false,
        ),
        (
            Anthropic,
            Messages,
            r#"{"model":"m","tools":[{"type":"web_fetch_20250910","name":"web_fetch"}]}"#,
            &[],
            &["web_fetch"],
            true,
        ),
        (
            Anthropic,
            Messages,
            r#"{"model":"m","tools":[{"type":"web_search_20250305","name":"s"}]}"#,
            &[],
            &[],
            false,
        ),
        (
            Anthropic,
            Messages,
            r#"{"model":"m","tools":[{"type":"code_execution_20250825","name":"c"}]}"#,
            &[],
            &[],
            false,
        ),
        (
            Anthropic,
            Messages,
            r#"{"model":"m","mcp_servers":[{"type":"url","url":"https://evil"}]}"#,
            &[],
            &[],
            false,
        ),
        (
            Anthropic,
            Messages,
            r#"{"model":"m","mcp_servers":[]}"#,
            &[],
            &[],
            true,
        ),
        (
            Anthropic,
            Messages,
            r#"{"model":"m","tools":[{"type":"brand_new_tool_20300101","name":"z"}]}"#,
            &[],
            &[],
            false,
        ),
    ]);
}

#[test]
fn beta_headers_pass_only_when_shape_only_or_named() {
    use Api::*;
    use Endpoint::*;
    judge_features(&[
        // beta headers: shape-only ones pass, any other must be named
        (
            Anthropic,
            Messages,
            r#"{"model":"m"}"#,
            &["claude-code-20250219,interleaved-thinking-2025-05-14"],
            &[],
            true,
        ),
        (
            Anthropic,
            Messages,
            r#"{"model":"m"}"#,
            &["claude-code-20250219, mcp-client-2025-04-04"],
            &[],
            false,
        ),
        (
            Anthropic,
            Messages,
            r#"{"model":"m"}"#,
            &["mcp-client-2025-04-04"],
            &["mcp-client-2025-04-04"],
            true,
        ),
        (
            Anthropic,
            Messages,
            r#"{"model":"m"}"#,
            &["context-1m-2025-08-07"],
            &[],
            false,
        ),
        (
            OpenAi,
            Responses,
            r#"{"model":"m","tools":[{"type":"function","name":"shell"},{"type":"custom","name":"apply_patch"},{"type":"local_shell"}]}"#,
            &["responses=experimental"],
            &[],
            true,
        ),
        (
            OpenAi,
            Responses,
            r#"{"model":"m","tools":[{"type":"web_search"}]}"#,
            &[],
            &[],
            false,
        ),
        (
            OpenAi,
            Responses,
            r#"{"model":"m","tools":[{"type":"web_search_preview"}]}"#,
            &[],
            &["web_search"],
            true,
        ),
        (
            OpenAi,
            Responses,
            r#"{"model":"m","tools":[{"type":"mcp","server_url":"https://evil"}]}"#,
            &[],
            &[],
            false,
        ),
        (
            OpenAi,
            Responses,
            r#"{"model":"m","tools":[{"type":"file_search"}]}"#,
            &[],
            &[],
            false,
        ),
        (
            OpenAi,
            Responses,
            r#"{"model":"m","tools":[{"type":"code_interpreter"}]}"#,
            &[],
            &[],
            false,
        ),
        (
            OpenAi,
            Responses,
            r#"{"model":"m","tools":[{"type":"computer_use_preview"}]}"#,
            &[],
            &[],
            false,
        ),
    ]);
}

#[test]
fn content_the_vendor_fetches_passes_only_when_allowed_by_name() {
    use Api::*;
    use Endpoint::*;
    judge_features(&[
        // content the vendor fetches or reads for the agent
        (
            Anthropic,
            Messages,
            r#"{"model":"m","messages":[{"role":"user","content":[{"type":"image","source":{"type":"url","url":"https://evil/?c=canary"}}]}]}"#,
            &[],
            &[],
            false,
        ),
        (
            Anthropic,
            Messages,
            r#"{"model":"m","messages":[{"role":"user","content":[{"type":"document","source":{"type":"url","url":"https://evil/"}}]}]}"#,
            &[],
            &["url_sources"],
            true,
        ),
        (
            Anthropic,
            Messages,
            r#"{"model":"m","messages":[{"role":"user","content":[{"type":"document","source":{"type":"file","file_id":"file_1"}}]}]}"#,
            &[],
            &[],
            false,
        ),
        (
            Anthropic,
            Messages,
            r#"{"model":"m","messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBO"}},{"type":"text","text":"see https://example.org and url: https://x"}]}]}"#,
            &[],
            &[],
            true,
        ),
        (
            OpenAi,
            ChatCompletions,
            r#"{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"HTTPS://evil/?c=canary"}}]}]}"#,
            &[],
            &[],
            false,
        ),
        (
            OpenAi,
            ChatCompletions,
            r#"{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBO"}}]}]}"#,
            &[],
            &[],
            true,
        ),
        (
            OpenAi,
            Responses,
            r#"{"model":"m","input":[{"role":"user","content":[{"type":"input_image","image_url":"https://evil/"}]}]}"#,
            &[],
            &[],
            false,
        ),
        (
            OpenAi,
            Responses,
            r#"{"model":"m","input":[{"role":"user","content":[{"type":"input_file","file_url":"https://evil/a.pdf"}]}]}"#,
            &[],
            &[],
            false,
        ),
        (
            OpenAi,
            Responses,
            r#"{"model":"m","input":[{"role":"user","content":[{"type":"input_file","file_id":"file-1"}]}]}"#,
            &[],
            &[],
            false,
        ),
        (
            OpenAi,
            Responses,
            r#"{"model":"m","input":[{"role":"user","content":[{"type":"input_file","file_id":"file-1"}]}]}"#,
            &[],
            &["file_ids"],
            true,
        ),
    ]);
}

#[test]
fn history_and_tool_schemas_naming_a_url_are_no_fetch() {
    use Api::*;
    use Endpoint::*;
    judge_features(&[
        // a search result's or citation's "url" is history the vendor
        // sent, not a fetch; a tool's schema may name a property "url"
        (
            Anthropic,
            Messages,
            r#"{"model":"m","messages":[{"role":"assistant","content":[{"type":"text","text":"t","citations":[{"type":"web_search_result_location","url":"https://example.org"}]}]}]}"#,
            &[],
            &[],
            true,
        ),
        (
            OpenAi,
            Responses,
            r#"{"model":"m","tools":[{"type":"function","name":"fetch","parameters":{"properties":{"url":{"type":"string","default":"https://x"}}}}]}"#,
            &[],
            &[],
            true,
        ),
    ]);
}

/// Codex's shape (openai/codex codex-rs/tools/src/responses_api.rs,
/// `ResponsesApiNamespace`): a named group of tools the agent runs.
fn ns(inner: &str) -> String {
    format!(
        r#"[{{"type":"namespace","name":"multi_agent_v1","description":"Tools in the multi_agent_v1 namespace.","tools":[{inner}]}}]"#
    )
}

const SPAWN: &str = r#"{"type":"function","name":"spawn_agent","description":"d","strict":false,"parameters":{"type":"object","properties":{"message":{"type":"string"}},"additionalProperties":false}}"#;
const WAIT: &str = r#"{"type":"function","name":"wait_agent","description":"d","strict":false,"parameters":{"type":"object","properties":{}}}"#;

/// (API, endpoint, the body's tools, allow_features, None: passes |
/// Some(what the 403's reason says))
type NsCase<'a> = (Api, Endpoint, String, &'a [&'a str], Option<&'a str>);

/// Each case judged as its row says.
fn judge_namespaces(cases: &[NsCase]) {
    for (api, e, tools, allow, want) in cases {
        let body = format!(r#"{{"model":"gpt-5-codex","tools":{tools}}}"#);
        let got = judged(*api, *e, &body, &[], allow);
        match want {
            None => assert!(got.is_ok(), "{body} {allow:?}: {got:?}"),
            Some(says) => {
                let r = got.expect_err(&body);
                assert_eq!(r.status, 403, "{body}");
                assert!(r.reason.contains(says), "{body}: {}", r.reason);
            }
        }
    }
}

#[test]
fn a_tool_namespace_is_judged_tool_by_tool() {
    use Api::*;
    use Endpoint::*;
    let (spawn, wait) = (SPAWN, WAIT);
    judge_namespaces(&[
        // the agent's own tools, grouped: pass
        (OpenAi, Responses, ns(&format!("{spawn},{wait}")), &[], None),
        (
            OpenAi,
            Responses,
            ns(r#"{"type":"custom","name":"apply_patch"},{"type":"function","name":"f"}"#),
            &[],
            None,
        ),
        (OpenAi, Responses, ns(""), &[], None),
        // server tools: refused as at top level, naming the namespace
        (
            OpenAi,
            Responses,
            ns(&format!(r#"{spawn},{{"type":"web_search"}}"#)),
            &[],
            Some(r#""web_search" (a tool in the namespace "multi_agent_v1")"#),
        ),
        (
            OpenAi,
            Responses,
            ns(r#"{"type":"web_search_preview"}"#),
            &[],
            Some(
                r#""web_search" (a tool in the namespace "multi_agent_v1"): not in [runner.model] allow_features"#,
            ),
        ),
        (
            OpenAi,
            Responses,
            ns(r#"{"type":"web_search"}"#),
            &["web_search"],
            None,
        ),
        (
            OpenAi,
            Responses,
            ns(r#"{"type":"code_interpreter","container":{"type":"auto"}}"#),
            &[],
            Some(r#""code_interpreter" (a tool in the namespace "multi_agent_v1")"#),
        ),
        (
            OpenAi,
            Responses,
            ns(r#"{"type":"mcp","server_url":"https://evil"}"#),
            &[],
            Some(r#""mcp" (a tool in the namespace "multi_agent_v1")"#),
        ),
        (
            OpenAi,
            Responses,
            ns(r#"{"type":"image_generation"}"#),
            &[],
            Some(r#""image_generation" (a tool in the namespace"#),
        ),
        // naming "namespace" unlocks nothing inside one
        (
            OpenAi,
            Responses,
            ns(r#"{"type":"file_search"}"#),
            &["namespace"],
            Some(r#""file_search" (a tool in the namespace"#),
        ),
        // a shape afk does not know, inside one: refused unless named
        (
            OpenAi,
            Responses,
            ns(r#"{"type":"brand_new_tool"}"#),
            &[],
            Some(r#""brand_new_tool" (a tool in the namespace "multi_agent_v1")"#),
        ),
    ]);
}

#[test]
fn a_tool_namespace_afk_cannot_read_whole_or_on_another_api_is_refused() {
    use Api::*;
    use Endpoint::*;
    let spawn = SPAWN;
    let many =
        |n: usize| ns(&vec![r#"{"type":"function","name":"f","parameters":{}}"#; n].join(","));
    judge_namespaces(&[
        // what afk does not read whole is refused, whatever is allowed
        (
            OpenAi,
            Responses,
            ns(ns(spawn)
                .strip_prefix('[')
                .and_then(|n| n.strip_suffix(']'))
                .unwrap()),
            &["namespace"],
            Some(r#"the tool namespace "multi_agent_v1" holds a namespace"#),
        ),
        (
            OpenAi,
            Responses,
            r#"[{"type":"namespace","name":"multi_agent_v1","description":"d"}]"#.into(),
            &[],
            Some(r#"the tool namespace "multi_agent_v1" has no tools list"#),
        ),
        (
            OpenAi,
            Responses,
            r#"[{"type":"namespace","name":"multi_agent_v1","tools":{"type":"function"}}]"#.into(),
            &[],
            Some("has no tools list"),
        ),
        (
            OpenAi,
            Responses,
            r#"[{"type":"namespace","tools":[]}]"#.into(),
            &[],
            Some("names no namespace"),
        ),
        (
            OpenAi,
            Responses,
            ns(r#"{"name":"f","input_schema":{}}"#),
            &[],
            Some("holds a tool with no type"),
        ),
        (
            OpenAi,
            Responses,
            ns("7"),
            &[],
            Some("holds a tool with no type"),
        ),
        // the walk is bounded
        (OpenAi, Responses, many(MAX_NAMESPACE_TOOLS), &[], None),
        (
            OpenAi,
            Responses,
            many(MAX_NAMESPACE_TOOLS + 1),
            &[],
            Some("holds 513 tools, more than the 512"),
        ),
        // only the Responses API groups tools: elsewhere, a type afk does
        // not know
        (
            OpenAi,
            ChatCompletions,
            ns(spawn),
            &[],
            Some(r#"asks the vendor for "namespace""#),
        ),
        (
            Anthropic,
            Messages,
            ns(spawn),
            &[],
            Some(r#"asks the vendor for "namespace""#),
        ),
    ]);
}

#[test]
fn background_tiers_and_other_features_pass_only_when_allowed_by_name() {
    use Api::*;
    use Endpoint::*;
    judge_features(&[
        // billed later, while afk meters none
        (
            OpenAi,
            Responses,
            r#"{"model":"m","background":true}"#,
            &[],
            &[],
            false,
        ),
        (
            OpenAi,
            Responses,
            r#"{"model":"m","background":false}"#,
            &[],
            &[],
            true,
        ),
        (
            OpenAi,
            Responses,
            r#"{"model":"m","service_tier":"priority"}"#,
            &[],
            &[],
            false,
        ),
        (
            OpenAi,
            ChatCompletions,
            r#"{"model":"m","web_search_options":{}}"#,
            &[],
            &[],
            true,
        ),
        (
            OpenAi,
            ChatCompletions,
            r#"{"model":"m","web_search_options":{"search_context_size":"low"}}"#,
            &[],
            &[],
            false,
        ),
        (
            OpenAi,
            Responses,
            r#"{"model":"m"}"#,
            &["assistants=v2"],
            &[],
            false,
        ),
    ]);
}

#[test]
fn a_streamed_chat_completion_goes_upstream_asking_for_its_usage() {
    let cases: &[(&str, Option<&str>)] = &[
        (
            r#"{"model":"m","stream":true}"#,
            Some(r#"{"model":"m","stream":true,"stream_options":{"include_usage":true}}"#),
        ),
        (
            r#"{"model":"m","stream":true,"stream_options":{"include_usage":false}}"#,
            Some(r#"{"model":"m","stream":true,"stream_options":{"include_usage":true}}"#),
        ),
        (
            r#"{"model":"m","stream":true,"stream_options":{"include_usage":true}}"#,
            None,
        ),
        (r#"{"model":"m"}"#, None),
    ];
    for (body, want) in cases {
        let j = judged(Api::OpenAi, Endpoint::ChatCompletions, body, &[], &[]).unwrap();
        let got = j.body.map(|b| serde_json::from_slice::<Value>(&b).unwrap());
        let want = want.map(|w| serde_json::from_str::<Value>(w).unwrap());
        assert_eq!(got, want, "{body}");
    }
}

#[test]
fn what_an_answer_may_still_cost_is_its_output_limit_and_what_it_asks() {
    type Case<'a> = (Api, Endpoint, &'a str, &'a [&'a str], u64, Asks);
    let cases: &[Case] = &[
        (
            Api::Anthropic,
            Endpoint::Messages,
            r#"{"model":"m","max_tokens":500}"#,
            &[],
            500,
            Asks::default(),
        ),
        (
            Api::OpenAi,
            Endpoint::Responses,
            r#"{"model":"m","max_output_tokens":900}"#,
            &[],
            900,
            Asks::default(),
        ),
        (
            Api::OpenAi,
            Endpoint::ChatCompletions,
            r#"{"model":"m","max_completion_tokens":70}"#,
            &[],
            70,
            Asks::default(),
        ),
        (
            Api::OpenAi,
            Endpoint::Responses,
            r#"{"model":"m"}"#,
            &[],
            DEFAULT_MAX_OUTPUT,
            Asks::default(),
        ),
        (
            Api::Anthropic,
            Endpoint::Messages,
            r#"{"model":"m","max_tokens":1,"system":[{"type":"text","text":"x","cache_control":{"type":"ephemeral","ttl":"1h"}}]}"#,
            &[],
            1,
            Asks {
                one_hour_cache: true,
                long_context: false,
            },
        ),
        (
            Api::Anthropic,
            Endpoint::Messages,
            r#"{"model":"m","max_tokens":1}"#,
            &["context-1m-2025-08-07"],
            1,
            Asks {
                one_hour_cache: false,
                long_context: true,
            },
        ),
    ];
    for (api, e, body, betas, max, asks) in cases {
        let allow = ["context-1m-2025-08-07".to_string()];
        let j = judge(*api, *e, body.as_bytes(), betas, &allow).unwrap();
        assert_eq!((j.max_output, j.asks), (*max, *asks), "{body}");
    }
}
