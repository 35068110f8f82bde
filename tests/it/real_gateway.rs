//! The real programs through the model gateway
//! (docs/runners.md#the-model-gateway-runnermodel,
//! docs/sandbox.md#the-scripted-model): the sandbox's scripted model
//! requires its key, which only afk holds; a real Codex looping on tool calls
//! (it has no budget flag of its own) is stopped mid-turn by the gateway
//! within one request of `budget.run_usd`, the model's own request log shows
//! nothing after the stop, and the next watch tick escalates the run
//! `over-budget`. Each program works through the gateway with more than one
//! of the models its users pick, so a tool shape its vendor sends for one
//! model family only (Codex's sub-agent tools as a `namespace` for a
//! codex-family model) meets the gateway here (#82 requirement 2).

use crate::real_agents::{agent_log, dispatch, setup_with};
use crate::support::*;
use serde_json::{Value, json};

/// The model's request log (`/_admin/model/requests`).
fn model_requests(sb: &Sandbox) -> Vec<Value> {
    sb.admin("GET", "/model/requests", None)
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// A looping turn, after it ended.
struct Looped {
    sb: Sandbox,
    afk: Afk,
    /// the agent's exit status
    status: i32,
    /// its log
    log: String,
    /// the model's request log
    asked: Vec<Value>,
    /// the metered lines
    lines: Vec<Value>,
}

/// A turn of `agent` looping on shell calls through the gateway against the
/// scripted model requiring its key, every answer 10,000 input and 100
/// output tokens, `budget.run_usd = 0.2`.
fn looped(agent: &str) -> Option<Looped> {
    let mut issue = ready(1, "alice");
    issue["script"] = json!([{"shell": "true", "usage": {"input": 10000, "output": 100}}]);
    let seed = json!({"model_key": afk::sandbox::model_api::MODEL_KEY,
                      "repos": [repo("acme/api", json!([issue]))]});
    let (sb, afk) = setup_with(agent, seed, "[budget]\npause_for = \"0s\"\nrun_usd = 0.2\n")?;
    let status = dispatch(&afk);
    let log = agent_log(&afk);
    let asked = model_requests(&sb);
    let metered =
        std::fs::read_to_string(afk.scratch.path("state/runs/1/metered.jsonl")).unwrap_or_default();
    let lines = metered
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    Some(Looped {
        sb,
        afk,
        status,
        log,
        asked,
        lines,
    })
}

/// What holds whichever fence stopped the loop: the metered spend reached
/// the limit and is at most one request over it; every request the model
/// saw carried afk's key and is one metered line (a GET of the models too,
/// at nothing), so none came after the stop; the next watch tick escalates
/// `over-budget` with the metered figure, and nothing reaches the model
/// after. The metered total, in micro-dollars.
fn within_one_request(sb: &Sandbox, afk: &Afk, asked: &[Value], lines: &[Value], ctx: &str) -> u64 {
    let micro: Vec<u64> = lines
        .iter()
        .map(|l| l["micro_usd"].as_u64().unwrap())
        .collect();
    let total: u64 = micro.iter().sum();
    let one = micro.iter().copied().max().unwrap_or(0);
    assert!(micro.len() >= 2, "the agent looped before the stop: {ctx}");
    assert!(total >= 200_000, "the stop came at the limit: {lines:?}");
    assert!(total <= 200_000 + one, "within one request: {lines:?}");
    assert!(asked.iter().all(|e| e["key"] == "matched"), "{ctx}");
    assert_eq!(asked.len(), lines.len(), "{lines:?}\n{ctx}");
    let (_, r, err) = afk.watch();
    assert_eq!(
        action_of(&r, 1),
        ("escalate".into(), Some("over-budget".into())),
        "{r} {err}"
    );
    let (code, shown, err) = afk.json(&["runs", "show", "1"]);
    assert_eq!(code, 0, "{err}");
    let spend = shown["run"]["spend_usd"].as_f64().unwrap_or(-1.0);
    assert!((spend - total as f64 / 1e6).abs() < 1e-6, "{shown}");
    assert_eq!(
        model_requests(sb).len(),
        asked.len(),
        "nothing after the stop"
    );
    total
}

#[test]
fn a_looping_codex_is_stopped_by_the_gateway_within_one_request_of_its_limit() {
    // $0.053 a request at gpt-5.5's shipped prices ($5 and $30 a million):
    // the fifth request is refused
    let Some(Looped {
        sb,
        afk,
        status,
        log,
        asked,
        lines,
    }) = looped("codex")
    else {
        return;
    };
    let run = afk.scratch.path("state/runs/1");
    let ctx = format!("--- model requests:\n{asked:#?}\n--- agent.log:\n{log}");
    // the turn was stopped mid-way: the gateway ended the box (SIGKILL,
    // 128 + 9) before Codex finished the turn or gave it up on the 429
    assert_eq!(status, 137, "the gateway ended the turn: {ctx}");
    assert!(!log.contains("turn.completed"), "stopped mid-turn: {ctx}");
    assert!(
        log.contains("budget.run_usd"),
        "the stop is in the log: {ctx}"
    );
    let stop = std::fs::read_to_string(run.join("budget-stop.json"))
        .unwrap_or_else(|_| panic!("the gateway left its stop: {ctx}"));
    let stop: Value = serde_json::from_str(&stop).unwrap();
    assert_eq!(stop["limit"], "run_usd", "{stop}");
    // each line is the model log's usage at the shipped prices
    for (line, entry) in lines.iter().zip(&asked) {
        let u = &entry["usage"];
        let want = u["input"].as_u64().unwrap_or(0) * 5 + u["output"].as_u64().unwrap_or(0) * 30;
        assert_eq!(line["micro_usd"].as_u64(), Some(want), "{line} {entry}");
    }
    within_one_request(&sb, &afk, &asked, &lines, &ctx);
}

/// Claude Code has a fence of its own (`--max-budget-usd`, by its own
/// price table) beside the gateway's: whichever stops the loop first, the
/// turn ends within one request of the limit by metered spend.
#[test]
fn a_looping_claude_ends_within_one_request_of_its_limit_through_the_gateway() {
    let Some(Looped {
        sb,
        afk,
        status,
        log,
        asked,
        lines,
    }) = looped("claude")
    else {
        return;
    };
    let ctx = format!("--- model requests:\n{asked:#?}\n--- agent.log:\n{log}");
    assert_ne!(status, 0, "the turn did not end well: {ctx}");
    assert!(
        log.contains("error_max_budget_usd") || log.contains("budget.run_usd"),
        "a fence stopped it: {ctx}"
    );
    within_one_request(&sb, &afk, &asked, &lines, &ctx);
}

/// The real program runs a probe with its own shell tool: the model's key
/// (a random one, the scripted model requiring it) is in no variable, no
/// file and no `/proc` entry its box can read, Codex's shell snapshots and
/// sessions included, and in no file of the run's folder after the turn;
/// every request reached the model with it, set by afk's gateway.
fn key_nowhere(agent: &str) {
    let key = format!("sk-probe-{}-{}", std::process::id(), agent.len() * 7919);
    let (head, tail) = key.split_at(8);
    let probe = format!(
        r#"o=key-probe.txt; : > $o; k="{head}""{tail}"
for v in $(env | grep -F "$k" | cut -d= -f1); do echo "env=LEAK $v" >> $o; done
for d in "$HOME" . /tmp /run "${{CODEX_HOME:-/nonexistent}}" "${{CLAUDE_CONFIG_DIR:-/nonexistent}}"; do if grep -rqsF "$k" "$d" 2>/dev/null; then echo "file=LEAK $d" >> $o; fi; done
for f in /proc/[0-9]*/environ /proc/[0-9]*/cmdline; do if grep -qsF "$k" "$f"; then echo "proc=LEAK $f" >> $o; fi; done
echo "procs_read=$(ls /proc | grep -c '^[0-9]')" >> $o
git add $o && git commit -qm "key probe""#
    );
    let mut issue = ready(1, "alice");
    issue["script"] = json!([{"shell": probe}, {"text": "Probed for the key."}]);
    let seed = json!({"model_key": key, "repos": [repo("acme/api", json!([issue]))]});
    let Some((sb, mut afk)) = setup_with(agent, seed, "") else {
        return;
    };
    for (k, v) in afk.env.iter_mut() {
        if k == "ANTHROPIC_API_KEY" || k == "AFK_MODEL_KEY" {
            *v = key.clone();
        }
    }
    assert_eq!(dispatch(&afk), 0, "{}", agent_log(&afk));
    let log = agent_log(&afk);
    let found = std::fs::read_to_string(afk.scratch.path("state/runs/1/work/key-probe.txt"))
        .unwrap_or_else(|e| panic!("no probe output: {e}\n{log}"));
    assert!(found.contains("procs_read="), "the probe ran: {found}");
    assert!(
        !found.contains("LEAK"),
        "the key is in the box: {found}\n{log}"
    );
    let asked = model_requests(&sb);
    assert!(asked.len() >= 2, "{asked:?}");
    assert!(asked.iter().all(|e| e["key"] == "matched"), "{asked:?}");
    let mut files = vec![afk.scratch.path("state/runs/1")];
    while let Some(p) = files.pop() {
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.is_dir() => {
                files.extend(std::fs::read_dir(&p).unwrap().flatten().map(|e| e.path()))
            }
            Ok(m) if m.is_file() => {
                let bytes = std::fs::read(&p).unwrap_or_default();
                assert!(
                    !bytes.windows(key.len()).any(|w| w == key.as_bytes()),
                    "{} holds the key",
                    p.display()
                );
            }
            _ => {}
        }
    }
}

#[test]
fn claude_code_through_the_gateway_finds_the_key_nowhere_in_its_box() {
    key_nowhere("claude");
}

#[test]
fn codex_through_the_gateway_finds_the_key_nowhere_in_its_box() {
    key_nowhere("codex");
}

/// Whether `named`, the model a request names, is `model` or a dated
/// snapshot of it (`claude-sonnet-4-5-20250929`): the program may send the
/// snapshot its own table gives for the name its user picked.
fn names(named: &str, model: &str) -> bool {
    named == model
        || named
            .strip_prefix(model)
            .and_then(|rest| rest.strip_prefix("-20"))
            .is_some_and(|d| !d.is_empty() && d.chars().all(|c| c.is_ascii_digit() || c == '-'))
}

#[test]
fn a_model_is_named_by_itself_or_its_dated_snapshot() {
    let cases = [
        ("gpt-5-codex", "gpt-5-codex", true),
        ("gpt-5.5", "gpt-5.5", true),
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5", true),
        ("gpt-5.5-2026-04-23", "gpt-5.5", true),
        ("gpt-5-codex-mini", "gpt-5-codex", false),
        ("gpt-5.5", "gpt-5-codex", false),
        ("claude-sonnet-4-5", "claude-sonnet-4-5-20250929", false),
        ("claude-haiku-4-5", "claude-sonnet-4-5", false),
        ("claude-sonnet-4-5-", "claude-sonnet-4-5", false),
    ];
    for (named, model, want) in cases {
        assert_eq!(names(named, model), want, "{named} {model}");
    }
}

/// One real turn of `agent` through the gateway with `model`, picked the
/// way its users pick it: Codex's `model` in its config.toml (the
/// operator's `$CODEX_HOME`, which afk carries into the turn's own), Claude
/// Code's `ANTHROPIC_MODEL` (which the box passes). The scripted model
/// answers any model and requires afk's key, so every request it saw came
/// through the gateway. The turn passes: the agent's commit becomes afk's
/// PR; the gateway refused no request (a tool shape it cannot judge is a
/// 403 and the turn fails), says so in the run's log, and its metered
/// record names the model, as the model's own request log does for every
/// request of the conversation.
fn one_turn_with(agent: &str, model: &str) -> bool {
    let seed = json!({"model_key": afk::sandbox::model_api::MODEL_KEY,
                      "repos": [repo("acme/api", json!([ready(1, "alice")]))]});
    let Some((sb, mut afk)) = setup_with(agent, seed, "") else {
        return false;
    };
    crate::real_agents::pick_model(&mut afk, agent, model);
    let status = dispatch(&afk);
    let log = agent_log(&afk);
    let asked = model_requests(&sb);
    let ctx =
        format!("{agent} with {model}\n--- model requests:\n{asked:#?}\n--- agent.log:\n{log}");
    assert_eq!(status, 0, "the turn ended well: {ctx}");
    assert!(
        !log.contains("the model gateway refused"),
        "the gateway refused a request: {ctx}"
    );
    let said = log
        .lines()
        .find(|l| l.contains("the model gateway passed "))
        .unwrap_or_else(|| panic!("the gateway's line in the run's log: {ctx}"));
    assert!(said.trim_end().ends_with(", refused 0"), "{said}\n{ctx}");
    let passed: usize = said
        .split("passed ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    // the conversation's requests: the script's shell step, then its final message
    let turn: Vec<&Value> = asked.iter().filter(|e| e["issue"] == 1).collect();
    assert!(turn.len() >= 2, "the script's steps were asked: {ctx}");
    assert!(passed >= turn.len(), "{said}\n{ctx}");
    assert!(
        asked
            .iter()
            .all(|e| e["key"] == "matched" && e["status"] == 200),
        "every request came with afk's key and was answered: {ctx}"
    );
    for e in &turn {
        let named = e["model"].as_str().unwrap_or("");
        assert!(names(named, model), "asked for {named}, not {model}: {ctx}");
    }
    let metered =
        std::fs::read_to_string(afk.scratch.path("state/runs/1/metered.jsonl")).unwrap_or_default();
    let lines: Vec<Value> = metered
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines.iter().all(|l| l["status"] == 200), "{metered}\n{ctx}");
    let of_model = lines
        .iter()
        .filter(|l| l["model"].as_str().is_some_and(|m| names(m, model)))
        .count();
    assert!(
        of_model >= turn.len(),
        "the metered record names {model}: {metered}\n{ctx}"
    );
    // the agent's commit, pushed by afk, is afk's PR
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "{err} {r}");
    assert_eq!(
        action_of(&r, 1).1.as_deref(),
        Some("ci-pending"),
        "{r} {err}\n{ctx}"
    );
    assert_eq!(
        git(
            &sb.git.join("acme/api.git"),
            &["log", "--format=%s", "main..refs/heads/afk/issue-1"]
        ),
        "Work on #1 (turn 1)",
        "{ctx}"
    );
    true
}

/// Codex picks its tools by its model: a codex-family model gets its
/// sub-agent tools as one `namespace` tool (`multi_agent_v1`), which the
/// gateway once refused, failing every turn; `gpt-5.5` gets none.
#[test]
fn codex_through_the_gateway_works_with_a_codex_family_model_and_with_gpt_5_5() {
    for model in ["gpt-5-codex", "gpt-5.5"] {
        if !one_turn_with("codex", model) {
            return;
        }
    }
}

/// Claude Code shapes its requests by its model's capabilities (effort,
/// adaptive thinking on the 5 family; neither on Sonnet 4.5).
#[test]
fn claude_code_through_the_gateway_works_with_a_sonnet_4_5_and_an_opus_5_5() {
    for model in ["claude-sonnet-4-5", "claude-opus-5-5"] {
        if !one_turn_with("claude", model) {
            return;
        }
    }
}

/// A pause with the real programs (#85 requirement 1): paused by the gateway
/// at `budget.run_usd`, they continue after a trusted `/afk budget +N` in the
/// same checkout and home, resuming their own session: the continuation's
/// model requests carry the earlier conversation.
fn paused_then_continued(agent: &str) {
    let mut issue = ready(1, "alice");
    issue["script"] = json!([{"shell": "true", "usage": {"input": 10000, "output": 100}}]);
    let seed = json!({"model_key": afk::sandbox::model_api::MODEL_KEY,
                      "repos": [repo("acme/api", json!([issue]))]});
    let Some((sb, afk)) = setup_with(
        agent,
        seed,
        "[budget]\nrun_usd = 0.2\npause_for = \"1h\"\nmax_run_usd = 5.0\n",
    ) else {
        return;
    };
    dispatch(&afk);
    let (_, r, err) = afk.watch();
    assert_eq!(action_of(&r, 1).0, "pause", "{agent}: {r} {err}");
    let before = model_requests(&sb).len();
    // the continuation is asked to finish: commit, then say so
    sb.admin(
        "POST",
        "/script",
        Some(json!({"repo": "acme/api", "issue": 1, "steps": [
            {"shell": "echo more >> f.txt && git add -A && git commit -qm more"},
            {"text": "Finished."}
        ]})),
    );
    sb.comment_on("acme/api", On::Issue(1), "alice", "/afk budget +1");
    let (_, r, err) = afk.watch();
    assert_eq!(
        action_of(&r, 1),
        ("continue".into(), Some("budget".into())),
        "{agent}: {r} {err}"
    );
    let status = afk.wait_agent(1);
    let log = agent_log(&afk);
    assert_eq!(status, 0, "{agent}: the continuation ended well: {log}");
    assert!(
        model_requests(&sb).len() > before,
        "{agent}: it asked the model again"
    );
    // one session of the program's across the stopped turn and its continuation
    let key = match agent {
        "claude" => "session_id",
        _ => "thread_id",
    };
    let ids: std::collections::BTreeSet<String> = log
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|v| v[key].as_str().map(String::from))
        .collect();
    assert_eq!(
        ids.len(),
        1,
        "{agent}: the continuation resumed the session: {log}"
    );
    assert!(
        log.contains("--resume") || log.contains(" resume ") || log.matches(key).count() >= 2,
        "{agent}: {log}"
    );
}

#[test]
fn a_paused_codex_continues_its_own_session_after_a_trusted_raise() {
    paused_then_continued("codex");
}

#[test]
fn a_paused_claude_code_continues_its_own_session_after_a_trusted_raise() {
    paused_then_continued("claude");
}

/// With a money limit set and afk's gateway metering the turns, a model afk
/// cannot price is never a silent guess: doctor FAILs it and poll
/// dispatches nothing, both naming the key that fixes it. `gpt-5-codex`,
/// the model Codex's users pick, is priced by the shipped table: its
/// requests are metered at its own price, not the API's highest.
#[test]
fn with_a_money_limit_an_unpriced_model_is_refused_and_gpt_5_codex_is_priced_by_the_table() {
    let seed = json!({"model_key": afk::sandbox::model_api::MODEL_KEY,
                      "repos": [repo("acme/api", json!([ready(1, "alice")]))]});
    let Some((_sb, afk)) = setup_with("codex", seed, "[budget]\nrun_usd = 5.0\n") else {
        return;
    };
    // only the table and the config's own prices: no flat fallback
    let text = std::fs::read_to_string(&afk.config)
        .unwrap()
        .replace(crate::real_agents::PRICES, "");
    let with_model = |m: &str| {
        let t = text.replace(
            "agent = \"codex\"\n",
            &format!("agent = \"codex\"\ncommand = [\"-m\", \"{m}\"]\n"),
        );
        std::fs::write(&afk.config, t).unwrap();
    };
    with_model("gpt-future-9");
    let (_, d, _) = afk.json(&["doctor"]);
    let prices: Vec<&Value> = d["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["check"] == "prices")
        .collect();
    assert_eq!(prices.len(), 1, "{d}");
    assert_eq!(prices[0]["level"], "fail", "{d}");
    let (code, r, err) = afk.poll();
    assert_eq!(code, 1, "{err}");
    assert!(r["dispatched"].as_array().unwrap().is_empty(), "{r}");
    let said = r["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(
        said.contains("model \"gpt-future-9\" (runner.command) has no price")
            && said.contains("[runner.prices.models.\"gpt-future-9\"]"),
        "{r}"
    );
    // the model Codex's users pick: priced, dispatched, metered at its price
    with_model("gpt-5-codex");
    let (_, d, _) = afk.json(&["doctor"]);
    assert!(
        !d["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["check"] == "prices"),
        "{d}"
    );
    assert_eq!(dispatch(&afk), 0, "{}", agent_log(&afk));
    let metered =
        std::fs::read_to_string(afk.scratch.path("state/runs/1/metered.jsonl")).unwrap_or_default();
    let lines: Vec<Value> = metered
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|l: &Value| l["model"] == "gpt-5-codex")
        .collect();
    assert!(!lines.is_empty(), "{metered}");
    assert!(lines.iter().all(|l| l["priced_by"] == "table"), "{metered}");
}

/// The real Codex on `gpt-5-codex` (priced by the shipped table) over
/// issue 1, whose first answer costs 100,000 input tokens and runs `shell`,
/// and whose continuation (its prompt says the run was paused) answers once,
/// cheaply; `budget`: the `[budget]` keys. None: no real programs here.
fn codex_past_its_limit(shell: &str, budget: &str) -> Option<(Sandbox, Afk)> {
    let mut issue = ready(1, "alice");
    issue["script"] = json!([
        {"shell": shell, "usage": {"input": 100000, "output": 100},
         "unless_prompt": "afk paused this run"},
        {"text": "Done.", "usage": {"input": 100, "output": 10}}
    ]);
    let seed = json!({"model_key": afk::sandbox::model_api::MODEL_KEY,
                      "repos": [repo("acme/api", json!([issue]))]});
    let (sb, afk) = setup_with("codex", seed, &format!("[budget]\n{budget}"))?;
    let text = std::fs::read_to_string(&afk.config).unwrap().replace(
        "agent = \"codex\"\n",
        "agent = \"codex\"\ncommand = [\"-m\", \"gpt-5-codex\"]\n",
    );
    std::fs::write(&afk.config, text).unwrap();
    Some((sb, afk))
}

/// The real Codex with a codex-family model (`gpt-5-codex`, priced by the
/// shipped table), whose first answer takes it past `run_usd`: the gateway
/// refuses its next request and stops the turn;
/// the run pauses there; a trusted `/afk budget +5` continues it, and the
/// cheap continuation, which ends under its raised limit, is never paused
/// again by the first turn's stop (the gateway's stop record is that turn's).
#[test]
fn codex_stopped_by_the_gateway_is_paused_and_a_raise_continues_it_once() {
    let Some((sb, afk)) = codex_past_its_limit(
        "true",
        "pause_for = \"7d\"\nrun_usd = 0.1\nmax_run_usd = 10.0\n",
    ) else {
        return;
    };
    dispatch(&afk);
    let ctx = || format!("--- agent.log:\n{}", agent_log(&afk));
    assert!(
        afk.scratch.path("state/runs/1/budget-stop.json").exists(),
        "the gateway stopped the turn: {}",
        ctx()
    );
    let (_, r, err) = afk.watch();
    assert_eq!(
        action_of(&r, 1),
        ("pause".into(), Some("run_usd".into())),
        "{r} {err}"
    );
    sb.comment_on("acme/api", On::Issue(1), "alice", "/afk budget +5");
    let (_, r, err) = afk.watch();
    assert_eq!(
        action_of(&r, 1),
        ("continue".into(), Some("budget".into())),
        "{r} {err}"
    );
    assert_eq!(afk.wait_agent(1), 0, "{}", ctx());
    let (_, r, err) = afk.watch();
    assert_ne!(action_of(&r, 1).0, "pause", "{r} {err}");
    let metered =
        std::fs::read_to_string(afk.scratch.path("state/runs/1/metered.jsonl")).unwrap_or_default();
    assert!(
        metered
            .lines()
            .all(|l| l.contains("\"priced_by\":\"table\"")),
        "{metered}"
    );
}

/// The real Codex (`gpt-5-codex`) whose first answer takes the UTC day past
/// a day's cap `limit` ($0.10, its run's limit $10): the gateway refuses its
/// next request and stops the turn; the run pauses at that cap until 00:00
/// UTC (never at `run_usd`), and the first tick of the next day continues
/// it by itself, no comment needed; the cheap continuation is not paused
/// again.
fn codex_stopped_at_a_days_cap(limit: &str) {
    let Some((_sb, afk)) = codex_past_its_limit(
        "true",
        &format!("pause_for = \"7d\"\nrun_usd = 10.0\n{limit} = 0.1\n"),
    ) else {
        return;
    };
    crate::budget::pin(&afk, crate::budget::tomorrow(10, 0));
    dispatch(&afk);
    let ctx = || format!("--- agent.log:\n{}", agent_log(&afk));
    assert!(
        afk.scratch.path("state/runs/1/budget-stop.json").exists(),
        "{limit}: the gateway stopped the turn: {}",
        ctx()
    );
    let (_, r, err) = afk.watch();
    assert_eq!(
        action_of(&r, 1),
        ("pause".into(), Some(limit.into())),
        "{limit}: {r} {err}"
    );
    let (_, st, _) = afk.json(&["status"]);
    assert!(
        st["runs"][0]["paused"]["until"]
            .as_str()
            .is_some_and(|u| u.contains("T00:00:00")),
        "{limit}: {st}"
    );
    crate::budget::pin(
        &afk,
        crate::budget::tomorrow(0, 1) + time::Duration::days(1),
    );
    let (_, r, err) = afk.watch();
    assert_eq!(
        action_of(&r, 1),
        ("continue".into(), Some("day".into())),
        "{limit}: {r} {err}"
    );
    assert_eq!(afk.wait_agent(1), 0, "{}", ctx());
    let (_, r, err) = afk.watch();
    assert_ne!(action_of(&r, 1).0, "pause", "{limit}: {r} {err}");
}

#[test]
fn codex_stopped_by_the_gateway_at_the_days_cap_continues_by_itself_the_next_day() {
    codex_stopped_at_a_days_cap("day_usd");
}

#[test]
fn codex_stopped_by_the_gateway_at_the_repositorys_days_cap_continues_by_itself_the_next_day() {
    codex_stopped_at_a_days_cap("repo_day_usd");
}

/// The real Codex (`gpt-5-codex`) killed (SIGKILL, its whole process
/// group) in the middle of its turn, after its first answer took it past
/// `run_usd` and before the gateway had a request to refuse: no stop record,
/// so the metered spend decides; the run pauses at `run_usd`, a trusted
/// `/afk budget +5` continues it, and the cheap continuation that exits 0
/// is not paused again.
#[test]
fn codex_killed_mid_turn_past_its_limit_is_paused_and_a_raise_continues_it_once() {
    let Some((sb, afk)) = codex_past_its_limit(
        "sleep 600",
        "pause_for = \"7d\"\nrun_usd = 0.1\nmax_run_usd = 10.0\n",
    ) else {
        return;
    };
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err} {r}");
    // the expensive answer is metered (the run is past `run_usd`): the
    // agent now runs its shell step. Not merely the file's first line: a
    // cheaper request may come first
    wait_metered_past(&afk, 100_000);
    killed_then_raised(&sb, &afk, "codex");
    let (_, r, err) = afk.watch();
    assert_ne!(action_of(&r, 1).0, "pause", "{r} {err}");
}

/// Wait (bounded) until run 1's metered requests add up to more than
/// `micro_usd`.
fn wait_metered_past(afk: &Afk, micro_usd: u64) {
    let path = afk.scratch.path("state/runs/1/metered.jsonl");
    let metered = || -> u64 {
        std::fs::read_to_string(&path)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter_map(|v| v["micro_usd"].as_u64())
            .sum()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while metered() <= micro_usd {
        assert!(
            std::time::Instant::now() < deadline,
            "run 1's metered requests never passed {micro_usd} micro-USD: {}",
            std::fs::read_to_string(&path).unwrap_or_default()
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// Run 1's agent killed (SIGKILL, its process group) past `run_usd`: the
/// next tick pauses it there, with no stop record of the gateway's; a
/// trusted `/afk budget +5` continues it, and the continuation exits 0.
fn killed_then_raised(sb: &Sandbox, afk: &Afk, agent: &str) {
    crate::budget::kill_agent(afk, 1);
    let ctx = || format!("{agent} --- agent.log:\n{}", agent_log(afk));
    let (_, r, err) = afk.watch();
    assert_eq!(
        action_of(&r, 1),
        ("pause".into(), Some("run_usd".into())),
        "{r} {err} {}",
        ctx()
    );
    assert!(
        !afk.scratch.path("state/runs/1/budget-stop.json").exists(),
        "{agent}: killed: the gateway stopped nothing"
    );
    sb.comment_on("acme/api", On::Issue(1), "alice", "/afk budget +5");
    let (_, r, err) = afk.watch();
    assert_eq!(
        action_of(&r, 1),
        ("continue".into(), Some("budget".into())),
        "{agent}: {r} {err}"
    );
    assert_eq!(afk.wait_agent(1), 0, "{}", ctx());
}

/// Whether a partial record of run 1's requests in flight holds `needle`.
fn aloft_holds(afk: &Afk, needle: &str) -> bool {
    std::fs::read_dir(afk.scratch.path("state/runs/1/metered-aloft"))
        .into_iter()
        .flatten()
        .flatten()
        .any(|e| std::fs::read_to_string(e.path()).is_ok_and(|t| t.contains(needle)))
}

/// The real program killed (SIGKILL, its whole process group, the keeper
/// in it) while the answer that takes it past `run_usd` streams, before
/// it has kept anything of its session: the answer bills its input as it
/// begins (Claude: `message_start`'s 100,000 tokens; Codex: the input
/// estimated from the bytes sent) and then stalls, so neither Claude's own
/// `--max-budget-usd` nor the gateway stopped the turn. What the keeper
/// kept of the request in flight decides: the run pauses at `run_usd`; a
/// trusted `/afk budget +5` continues it (Codex resumes its thread, which
/// it keeps from its start; Claude resumes its session when its log shows
/// it kept one, a message streamed before the kill, and otherwise, as it
/// cannot resume a session it never kept, "No conversation found", starts
/// a fresh one given the task as first asked: which of the two depends on
/// how far its answer streamed when the kill came, so either passes),
/// which exits 0 and is not paused again.
fn killed_mid_answer_past_its_limit(agent: &str) {
    let mut issue = ready(1, "alice");
    issue["script"] = json!([
        {"text": "Done.", "usage": {"input": 100000, "output": 100},
         "cut_after": 1, "stall": true, "unless_prompt": "afk paused this run"},
        {"text": "Done.", "usage": {"input": 100, "output": 10}}
    ]);
    let seed = json!({"model_key": afk::sandbox::model_api::MODEL_KEY,
                      "repos": [repo("acme/api", json!([issue]))]});
    // Codex's usage comes at its answer's end: only the estimate is billed
    // (and its limit is under a cent: a comment raises it all the same)
    let (limit, billed) = match agent {
        "claude" => ("0.1", "100000"),
        _ => ("0.001", "\"estimated\":true"),
    };
    let Some((sb, afk)) = setup_with(
        agent,
        seed,
        &format!("[budget]\npause_for = \"7d\"\nrun_usd = {limit}\nmax_run_usd = 10.0\n"),
    ) else {
        return;
    };
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{agent}: {err} {r}");
    // the stalled answer's input is kept outside the box as it arrived
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !aloft_holds(&afk, billed) {
        assert!(
            std::time::Instant::now() < deadline,
            "{agent}: the answer's input never arrived: {}",
            agent_log(&afk)
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    killed_then_raised(&sb, &afk, agent);
    let first = std::fs::read_to_string(afk.scratch.path("state/runs/1/prompt-1.md")).unwrap();
    let second = std::fs::read_to_string(afk.scratch.path("state/runs/1/prompt-2.md")).unwrap();
    // Codex keeps its thread from its start and resumes it; Claude resumes
    // the session its log shows it kept, else starts a fresh one given the
    // task (either, by how far its answer streamed before the kill)
    assert!(second.contains("afk paused this run"), "{agent}: {second}");
    if agent == "codex" {
        assert!(
            !second.contains(first.trim()),
            "{agent}: its thread resumed: {second}"
        );
    }
    let (_, r, err) = afk.watch();
    assert_ne!(action_of(&r, 1).0, "pause", "{agent}: {r} {err}");
}

#[test]
fn claude_code_killed_mid_answer_past_its_limit_is_paused_and_a_raise_continues_it_once() {
    killed_mid_answer_past_its_limit("claude");
}

#[test]
fn codex_killed_mid_answer_past_its_limit_is_paused_and_a_raise_continues_it_once() {
    killed_mid_answer_past_its_limit("codex");
}

/// A run over its working time (`budget.run_time`) with the real programs:
/// dispatched two hours before a tick, that tick pauses it at `run_time`, a trusted
/// `/afk budget time +2h` continues it in its own session, and the
/// continuation, which ends well inside the raised limit, is not paused
/// again by the first pause.
fn paused_at_run_time_then_continued(agent: &str) {
    let mut issue = ready(1, "alice");
    issue["script"] = json!([
        {"shell": "echo one > f.txt && git add -A && git commit -qm one",
         "unless_prompt": "afk paused this run"},
        {"text": "Done."}
    ]);
    let seed = json!({"model_key": afk::sandbox::model_api::MODEL_KEY,
                      "repos": [repo("acme/api", json!([issue]))]});
    let Some((sb, afk)) = setup_with(
        agent,
        seed,
        "[budget]\nrun_time = \"1h\"\npause_for = \"7d\"\nmax_run_time = \"4h\"\n",
    ) else {
        return;
    };
    assert_eq!(dispatch(&afk), 0, "{agent}: {}", agent_log(&afk));
    // dispatched two hours ago: the clock stays the real one, so the raise
    // below comes after the pause as a person's would
    let two_hours_ago = (time::OffsetDateTime::now_utc() - time::Duration::hours(2))
        .replace_nanosecond(0)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    afk.sql(&format!(
        "UPDATE runs SET created_at = '{two_hours_ago}' WHERE id = 1;"
    ));
    let (_, r, err) = afk.watch();
    assert_eq!(
        action_of(&r, 1),
        ("pause".into(), Some("run_time".into())),
        "{agent}: {r} {err}"
    );
    let paused = crate::budget::paused_comments(&sb);
    assert!(
        paused.iter().any(|c| c.contains("budget.run_time")),
        "{agent}: the pause comment names the limit: {paused:?}"
    );
    sb.comment_on("acme/api", On::Issue(1), "alice", "/afk budget time +2h");
    let (_, r, err) = afk.watch();
    assert_eq!(
        action_of(&r, 1),
        ("continue".into(), Some("budget".into())),
        "{agent}: {r} {err}"
    );
    assert_eq!(afk.wait_agent(1), 0, "{agent}: {}", agent_log(&afk));
    let (_, r, err) = afk.watch();
    assert_ne!(action_of(&r, 1).0, "pause", "{agent}: {r} {err}");
}

#[test]
fn claude_code_paused_at_its_working_time_continues_after_a_trusted_raise() {
    paused_at_run_time_then_continued("claude");
}

#[test]
fn codex_paused_at_its_working_time_continues_after_a_trusted_raise() {
    paused_at_run_time_then_continued("codex");
}
