use super::*;
use crate::gateway::metered::ChatFacts;
use crate::gateway::prices::PricedBy;
use crate::gateway::usage::Usage;

fn attr<'s>(s: &'s Span, k: &str) -> Option<&'s AttrValue> {
    s.attributes.iter().find(|(n, _)| n == k).map(|(_, v)| v)
}

fn line(api: Api, status: u16, usage: Usage, micro: u64, chat: bool) -> Line {
    let mut l = Line::new(
        time::macros::datetime!(2026-11-27 10:00:02 UTC),
        api,
        "m-1",
        status,
        usage,
        micro,
        PricedBy::Table,
        true,
    );
    l.chat = chat.then(|| ChatFacts {
        turn: 1,
        started: "2026-11-27T10:00:01.000000Z".into(),
        server: ("api.example".into(), 443),
        stream: true,
        first_chunk_us: Some(250_000),
        ..Default::default()
    });
    l
}

fn turn<'a>(lines: &'a [Line], exit: Option<i32>, stopped: Option<&'static str>) -> TurnFacts<'a> {
    TurnFacts {
        instance: "0a1b2c3d",
        run: 7,
        repo: "acme/api",
        issue: 12,
        turn: 2,
        reason: "ci-red",
        template: Some(("implementer", 3, "abc")),
        agent: "claude",
        exit_code: exit,
        stopped,
        lines,
        reported_usd: Some(9.0),
        start_unix_ns: 1,
        end_unix_ns: 2,
    }
}

/// `gen_ai.usage.input_tokens` is all input, cached included (Anthropic's
/// three parts; OpenAI's reported figure, which the metered usage keeps
/// as uncached input and the cache's parts).
#[test]
fn chat_input_tokens_count_cached_input_too() {
    let u = Usage {
        input: 10,
        cache_read: 100,
        cache_write: 1000,
        output: 5,
        reasoning: 2,
        ..Default::default()
    };
    let table = [
        (Api::Anthropic, 1110, Some(1000), None),
        (Api::OpenAi, 1110, None, Some(2)),
    ];
    for (api, input, creation, reasoning) in table {
        let l = [line(api, 200, u, 1234, true)];
        let f = turn(&l, Some(0), None);
        let s = chat_span(&f, &l[0], [9; 8]).unwrap();
        assert_eq!(
            attr(&s, "gen_ai.usage.input_tokens"),
            Some(&AttrValue::Int(input)),
            "{api:?}"
        );
        assert_eq!(
            attr(&s, "gen_ai.usage.output_tokens"),
            Some(&AttrValue::Int(5))
        );
        assert_eq!(
            attr(&s, "gen_ai.usage.cache_creation.input_tokens"),
            creation.map(AttrValue::Int).as_ref()
        );
        assert_eq!(
            attr(&s, "gen_ai.usage.reasoning.output_tokens"),
            reasoning.map(AttrValue::Int).as_ref()
        );
        assert_eq!(attr(&s, "afk.cost_usd"), Some(&AttrValue::Double(0.001234)));
        assert_eq!(s.kind, SpanKind::Client);
        assert_eq!(s.name, "chat m-1");
        assert_eq!(s.parent_span_id, Some(ids::turn_span_id("0a1b2c3d", 7, 2)));
        assert_eq!(s.trace_id, ids::trace_id("0a1b2c3d", 7));
    }
}

/// An upstream error is `error.type` = its status, ERROR, and no
/// usage; a line that is no model request has no span.
#[test]
fn chat_span_of_an_upstream_error_has_its_status_and_no_usage() {
    let l = [line(Api::Anthropic, 529, Usage::default(), 0, true)];
    let f = turn(&l, Some(0), None);
    let s = chat_span(&f, &l[0], [1; 8]).unwrap();
    assert_eq!(s.status, SpanStatus::Error("529".into()));
    assert_eq!(attr(&s, "error.type"), Some(&AttrValue::Str("529".into())));
    assert_eq!(attr(&s, "gen_ai.usage.input_tokens"), None);
    let count_tokens = line(Api::Anthropic, 200, Usage::default(), 0, false);
    assert!(chat_span(&f, &count_tokens, [1; 8]).is_none());
}

/// (lines, exit code, afk's stop, cost, its source, the error)
type TurnCase<'a> = (
    &'a [Line],
    Option<i32>,
    Option<&'static str>,
    Option<f64>,
    &'a str,
    Option<&'a str>,
);

/// The turn's usage and cost are the sums over its metered requests (so the
/// chat spans sum to the run's metered spend); without the gateway, the
/// agent's reported figure; ERROR for a non-zero exit or a stop.
#[test]
fn turn_span_sums_its_requests_or_says_what_the_agent_reported() {
    let u = Usage {
        input: 3,
        output: 4,
        ..Default::default()
    };
    let two = [
        line(Api::OpenAi, 200, u, 500_000, true),
        line(Api::OpenAi, 200, u, 250_001, true),
    ];
    let table: [TurnCase; 4] = [
        (&two, Some(0), None, Some(0.750001), "metered", None),
        (&[], Some(0), None, Some(9.0), "reported", None),
        (&two, Some(3), None, Some(0.750001), "metered", Some("exit")),
        (
            &two,
            Some(0),
            Some("budget"),
            Some(0.750001),
            "metered",
            Some("budget"),
        ),
    ];
    for (lines, exit, stopped, cost, source, error) in table {
        let s = turn_span(&turn(lines, exit, stopped));
        assert_eq!(s.name, "invoke_agent implementer@3");
        assert_eq!(s.span_id, ids::turn_span_id("0a1b2c3d", 7, 2));
        assert_eq!(
            attr(&s, "afk.cost_usd"),
            cost.map(AttrValue::Double).as_ref()
        );
        assert_eq!(
            attr(&s, "afk.cost.source"),
            Some(&AttrValue::Str(source.into()))
        );
        assert_eq!(
            s.status,
            error.map_or(SpanStatus::Unset, |e| SpanStatus::Error(e.into()))
        );
        if !lines.is_empty() {
            assert_eq!(
                attr(&s, "gen_ai.usage.input_tokens"),
                Some(&AttrValue::Int(6))
            );
            assert_eq!(attr(&s, "afk.gateway.requests"), Some(&AttrValue::Int(2)));
        } else {
            assert_eq!(attr(&s, "gen_ai.usage.input_tokens"), None);
        }
    }
}

/// The run span says the end, the outcome (none for an abandoned run or a
/// failed start), and is ERROR with the reason for an escalation or a failed
/// start; it is the trace's root.
#[test]
fn run_span_says_the_end_and_the_outcome() {
    let table = [
        ("succeeded", None, Some("success"), SpanStatus::Unset),
        (
            "escalated",
            Some("ci-red"),
            Some("failure"),
            SpanStatus::Error("ci-red".into()),
        ),
        // a failed start has no outcome (7.3 records none for it)
        ("failed", None, None, SpanStatus::Error("failed".into())),
        ("abandoned", None, None, SpanStatus::Unset),
    ];
    for (end, reason, outcome, status) in table {
        let s = run_span(&RunFacts {
            instance: "0a1b2c3d",
            run: 7,
            repo: "acme/api",
            issue: 12,
            end,
            reason,
            turns: 3,
            ..Default::default()
        });
        assert_eq!(s.parent_span_id, None, "{end}");
        assert_eq!(s.span_id, ids::run_span_id("0a1b2c3d", 7));
        assert_eq!(
            attr(&s, "afk.run.outcome"),
            outcome.map(|o| AttrValue::Str(o.into())).as_ref()
        );
        assert_eq!(
            attr(&s, "afk.run.corrective_turns"),
            Some(&AttrValue::Int(2))
        );
        assert_eq!(s.status, status);
    }
}

/// Zero-touch is said for a merged run only, with why not.
#[test]
fn run_span_zero_touch_only_for_a_merged_run() {
    let table = [
        (Some("m"), Some("yes"), Some(true), None),
        (Some("m"), Some("commit"), Some(false), Some("commit")),
        (Some("m"), None, None, None),
        (None, Some("yes"), None, None),
    ];
    for (sha, zt, flag, by) in table {
        let s = run_span(&RunFacts {
            instance: "i",
            end: "succeeded",
            merge_sha: sha,
            zero_touch: zt,
            ..Default::default()
        });
        assert_eq!(
            attr(&s, "afk.run.zero_touch"),
            flag.map(AttrValue::Bool).as_ref()
        );
        assert_eq!(
            attr(&s, "afk.run.touched_by"),
            by.map(|b| AttrValue::Str(b.into())).as_ref()
        );
    }
}

/// A value afk does not have is absent, never "", 0 or false: a tick span
/// with no reason, turn or error has none of them.
#[test]
fn absent_values_are_absent_attributes() {
    let s = tick_span(&TickFacts {
        instance: "i",
        run: 1,
        repo: "a/b",
        issue: 2,
        kind: "watch",
        tick_id: "00ff",
        trigger: "cron",
        action: "succeed",
        reason: None,
        turn: None,
        error: None,
        span_id: [0; 8],
        start_unix_ns: 5,
        end_unix_ns: 4,
    });
    for k in ["afk.action.reason", "afk.turn.number", "error.type"] {
        assert_eq!(attr(&s, k), None, "{k}");
    }
    assert_eq!(s.name, "afk.watch");
    assert_ne!(s.span_id, [0; 8], "an all-zero id is never sent");
    assert!(s.end_unix_ns >= s.start_unix_ns);
}

/// A tick's error for a run is typed by where it came from.
#[test]
fn error_type_names_where_the_error_came_from() {
    let table = [
        (&["run 3: state file: locked"][..], Some("state")),
        (&["run 3: git push failed"][..], Some("git")),
        (&["run 3: runner: agent start failed"][..], Some("runner")),
        (&["run 3: GET /repos: 502"][..], Some("forge")),
        (&[][..], None),
    ];
    for (m, want) in table {
        assert_eq!(error_type(m), want, "{m:?}");
    }
}

/// A late fact's span has its fixed id and its figures.
#[test]
fn late_facts_have_fixed_ids() {
    let s = fact_span(
        "i",
        (7, "a/b", 1),
        &Fact::Survival {
            window_s: 60,
            added: 10,
            surviving: 6,
        },
        9,
    );
    assert_eq!(s.span_id, ids::fact_span_id("i", 7, "survival"));
    assert_eq!(attr(&s, "afk.survival.rate"), Some(&AttrValue::Double(0.6)));
    let r = fact_span("i", (7, "a/b", 1), &Fact::Reverted { by: "abc" }, 9);
    assert_eq!(r.span_id, ids::fact_span_id("i", 7, "reverted"));
    assert_eq!(attr(&r, "afk.run.reverted"), Some(&AttrValue::Bool(true)));
}

/// A turn afk stopped says why (`error.type`); one it did not stop says
/// nothing of the kind.
#[test]
fn turn_stopped_says_why_afk_stopped_the_turn() {
    let table = [
        ((true, None, false, None), Some("budget")),
        ((false, Some("run_time"), false, None), Some("timeout")),
        ((false, Some("day_usd"), false, None), Some("budget")),
        ((false, None, true, None), Some("abandoned")),
        ((false, None, false, Some("stalled")), Some("stalled")),
        ((false, None, false, Some("timeout")), Some("timeout")),
        ((false, None, false, Some("stopped")), Some("stopped")),
        ((false, None, false, Some("ci-red")), None),
        ((false, None, false, None), None),
    ];
    for ((budget, paused, abandoned, reason), want) in table {
        assert_eq!(
            turn_stopped(budget, paused, abandoned, reason),
            want,
            "{budget} {paused:?} {abandoned} {reason:?}"
        );
    }
}

/// The agent writes the request's `model`: a span says it only where the
/// gateway priced it as a model afk knows, else `unknown` (never a file's
/// contents, the box's environment or a bidi control in a span's name).
#[test]
fn a_chat_span_names_only_a_model_afk_priced_as_one_it_knows() {
    let hostile = "claude-sonnet-4-5 FILE secret \u{202e}txt";
    // (the request's model, how the gateway priced it, the span's model)
    let table = [
        ("claude-sonnet-4-5", PricedBy::Table, "claude-sonnet-4-5"),
        (
            "claude-sonnet-4-5-20250929",
            PricedBy::Table,
            "claude-sonnet-4-5-20250929",
        ),
        ("my-model", PricedBy::Config, "my-model"),
        (hostile, PricedBy::Highest, "unknown"),
        (hostile, PricedBy::Flat, "unknown"),
    ];
    for (model, by, want) in table {
        let mut l = line(Api::Anthropic, 200, Usage::default(), 1, true);
        l.model = model.to_string();
        l.priced_by = by;
        let f = turn(std::slice::from_ref(&l), Some(0), None);
        let s = chat_span(&f, &l, [3; 8]).unwrap();
        assert_eq!(s.name, format!("chat {want}"), "{model:?}");
        assert_eq!(
            attr(&s, "gen_ai.request.model"),
            Some(&AttrValue::Str(want.to_string())),
            "{model:?}"
        );
    }
}

/// Past `CHAT_SPANS_MAX` requests a turn's further ones are one span with
/// their count.
#[test]
fn the_requests_past_the_bound_are_one_span_with_their_count() {
    let l = [line(Api::OpenAi, 429, Usage::default(), 0, true)];
    let f = turn(&l, Some(1), None);
    let s = omitted_chats_span(&f, 150, [4; 8]);
    assert_eq!(s.name, "chat omitted");
    assert_eq!(attr(&s, "afk.chat.omitted"), Some(&AttrValue::Int(150)));
    assert_eq!(s.parent_span_id, Some(ids::turn_span_id("0a1b2c3d", 7, 2)));
}

/// The journal's head as the run ended rides on its span (docs/audit.md),
/// and nothing is said without one.
#[test]
fn run_span_carries_the_journals_head_when_there_is_one() {
    type Head<'a> = Option<(i64, &'a str)>;
    let table: [(Head, Option<i64>, Option<&str>); 2] =
        [(Some((12, "ab")), Some(12), Some("ab")), (None, None, None)];
    for (audit, seq, head) in table {
        let s = run_span(&RunFacts {
            instance: "i",
            end: "succeeded",
            audit,
            ..Default::default()
        });
        assert_eq!(attr(&s, "afk.audit.seq"), seq.map(AttrValue::Int).as_ref());
        assert_eq!(
            attr(&s, "afk.audit.head"),
            head.map(|h| AttrValue::Str(h.into())).as_ref()
        );
    }
}
