//! Reading an answer's usage and what it says of itself as it streams (the chat span's facts).

use super::*;

pub(super) fn read(api: Api, framing: Framing, chunks: &[&[u8]]) -> usage::Read {
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

pub(super) const OPENAI_STREAM: &str = "event: response.created\n\
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
fn a_model_name_is_cleaned_for_a_log_line() {
    let long = "m".repeat(super::super::usage::MAX_MODEL + 50);
    let cases: [(&str, Option<&str>); 4] = [
        ("claude-sonnet-4-6", Some("claude-sonnet-4-6")),
        ("  ", None),
        ("a\u{7}b", Some("ab")),
        (&long, Some(&long[..super::super::usage::MAX_MODEL])),
    ];
    for (model, want) in cases {
        assert_eq!(clean_model(model).as_deref(), want, "{model}");
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

/// A chat span's `gen_ai.response.id`, `.model` and `.finish_reasons` are
/// what the answer said of itself, kept only as short printable text.
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

/// A chat span's `server.address` and `server.port` are the upstream's
/// host and port, its scheme's port when it names none, never its path.
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
