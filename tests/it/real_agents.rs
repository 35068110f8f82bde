//! The real programs in the loop (docs/runners.md, named agents): the pinned
//! Claude Code and Codex CLI (`agents/package.json`, installed by `.ci/run`
//! with `npm ci`) run their real tool loops against the sandbox's scripted
//! model, in afk's checkout (docs/how-it-works.md#the-workspace): dispatch →
//! the agent commits → afk pushes and opens the PR → red CI → a corrective turn
//! in the same checkout, resuming the agent's session → green → merged; spend
//! as the program reported it; a budget stop inside the turn; a blocked report;
//! a model that hangs.
//!
//! Without the programs these tests fail with the install command, unless
//! `AFK_SKIP_REAL_AGENTS=1`.

use crate::support::*;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The `PATH` entries that hold `claude` and `codex`: the folders of the
/// native binaries npm installed under `agents/` (each file named as its
/// program), else of the ones on PATH; None when the tests are skipped.
/// Nothing is made for them: no folder of links is left anywhere.
fn programs() -> Option<&'static str> {
    if std::env::var("AFK_SKIP_REAL_AGENTS").as_deref() == Ok("1") {
        eprintln!("skipped: AFK_SKIP_REAL_AGENTS=1");
        return None;
    }
    static DIRS: OnceLock<String> = OnceLock::new();
    Some(DIRS.get_or_init(|| {
        let modules = Path::new(env!("CARGO_MANIFEST_DIR")).join("agents/node_modules");
        let native = |scope: &str, prefix: &str, inner: &[&str]| -> Option<PathBuf> {
            let dir = modules.join(scope);
            std::fs::read_dir(&dir).ok()?.flatten().find_map(|e| {
                let name = e.file_name().to_string_lossy().to_string();
                if !name.starts_with(prefix) {
                    return None;
                }
                let mut found = vec![e.path()];
                for part in inner {
                    found = found
                        .into_iter()
                        .flat_map(|p| match *part {
                            "*" => std::fs::read_dir(&p)
                                .map(|rd| rd.flatten().map(|e| e.path()).collect())
                                .unwrap_or_default(),
                            f => vec![p.join(f)],
                        })
                        .collect();
                }
                found.into_iter().find(|p| p.is_file())
            })
        };
        let on_path = |prog: &str| {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|d| d.join(prog))
                    .find(|p| p.is_file())
            })
        };
        let claude = native("@anthropic-ai", "claude-code-", &["claude"]).or_else(|| on_path("claude"));
        let codex = native("@openai", "codex-", &["vendor", "*", "bin", "codex"]).or_else(|| on_path("codex"));
        let (Some(claude), Some(codex)) = (claude, codex) else {
            panic!(
                "the real agent programs are not installed: run `npm ci --ignore-scripts --prefix agents` \
                 (.ci/run does; it installs the pinned @anthropic-ai/claude-code and @openai/codex), \
                 or set AFK_SKIP_REAL_AGENTS=1 to skip these tests"
            )
        };
        let folder = |p: &Path| p.parent().unwrap_or(Path::new("/")).display().to_string();
        format!("{}:{}", folder(&claude), folder(&codex))
    }))
}

/// USD per million tokens for Codex in these tests.
pub(crate) const PRICES: &str = "[runner.prices]\ninput = 2.0\ncached_input = 0.5\noutput = 8.0\n";

/// A sandbox with acme/api#1 armed, whose agent's model answers `steps`,
/// and afk running `agent` in its workspace; None when skipped.
pub(crate) fn setup(agent: &str, steps: Value, extra: &str) -> Option<(Sandbox, Afk)> {
    let mut issue = ready(1, "alice");
    issue["script"] = steps;
    setup_with(
        agent,
        json!({"repos": [repo("acme/api", json!([issue]))]}),
        extra,
    )
}

/// As [`setup`], over a seed of the test's own (its repo `acme/api`).
pub(crate) fn setup_with(agent: &str, seed: Value, extra: &str) -> Option<(Sandbox, Afk)> {
    let bin = programs()?;
    let sb = Sandbox::start(seed);
    let text = format!(
        "state_path = \"state/afk.db\"\n\n[forge]\n{forge}timeout = \"5s\"\nretries = 1\n\n\
         [runner]\nagent = \"{agent}\"\nworkspace = \"afk\"\n\n{PRICES}\n\
         [poll]\nenabled = true\nallowlist = [\"acme/api\"]\n\n{extra}\n",
        forge = sb.forge_keys(),
    );
    let mut afk = Afk::with_text(&text);
    let codex_home = afk.scratch.path("codex-home");
    afk::sandbox::model_api::write_codex_home(&codex_home, &sb.model_url).unwrap();
    let home = afk.scratch.path("home");
    std::fs::create_dir_all(&home).unwrap();
    // SAFETY: geteuid(2) cannot fail
    let root = unsafe { libc::geteuid() } == 0;
    // in the box (the default) the agent is an ordinary user: no IS_SANDBOX
    let unboxed_root = root && extra.contains("confine = \"none\"");
    let mut env = afk::sandbox::model_api::agent_env(&sb.model_url, &codex_home, unboxed_root);
    let path = std::env::var("PATH").unwrap_or_default();
    env.push(("PATH".into(), format!("{bin}:{path}")));
    env.push(("HOME".into(), home.display().to_string()));
    afk.env = env;
    Some((sb, afk))
}

pub(crate) fn agent_log(afk: &Afk) -> String {
    std::fs::read_to_string(afk.scratch.path("state/runs/1/agent.log")).unwrap_or_default()
}

/// Poll, then wait for the agent's turn to end: its exit status.
pub(crate) fn dispatch(afk: &Afk) -> i32 {
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "poll: {err} {r}");
    assert_eq!(r["dispatched"][0]["run_id"], 1, "{r} {err}");
    afk.wait_agent(1)
}

fn forge_head(sb: &Sandbox) -> String {
    git(
        &sb.git.join("acme/api.git"),
        &["rev-parse", "refs/heads/afk/issue-1"],
    )
}

/// The spend the program itself reported, as its own records say.
fn reported(agent: &str, log: &str) -> f64 {
    let records: Vec<Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    match agent {
        "claude" => {
            // a `--resume`d session's total_cost_usd counts the whole
            // session: the last record of each session is its total
            let mut last = std::collections::BTreeMap::new();
            for v in records.iter().filter(|v| v["type"] == "result") {
                let id = v["session_id"].as_str().unwrap_or("").to_string();
                last.insert(id, v["total_cost_usd"].as_f64().unwrap_or(0.0));
            }
            last.values().sum()
        }
        _ => {
            // Codex's turn.completed usage counts the whole thread so far:
            // the last one of the run's thread is its total
            let last = records
                .iter()
                .rev()
                .find(|v| v["type"] == "turn.completed")
                .expect("codex printed turn.completed");
            let u = &last["usage"];
            let input = u["input_tokens"].as_f64().unwrap();
            let cached = u["cached_input_tokens"].as_f64().unwrap_or(0.0);
            let output = u["output_tokens"].as_f64().unwrap();
            ((input - cached) * 2.0 + cached * 0.5 + output * 8.0) / 1e6
        }
    }
}

fn lifecycle(agent: &str) {
    let Some((sb, afk)) = setup(agent, json!(null), "[watch]\nfix_forward_max = 2\n") else {
        return;
    };
    assert_eq!(dispatch(&afk), 0, "{}", agent_log(&afk));
    // the agent's commit, in afk's checkout, becomes afk's PR
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "{err} {r}");
    assert_eq!(
        action_of(&r, 1).1.as_deref(),
        Some("ci-pending"),
        "{r}\n{}",
        agent_log(&afk)
    );
    let pulls = sb.api(&sb.dialect.prs_path("acme/api", Listed::Open)).1;
    assert_eq!(pulls[0]["user"]["login"], "afk-bot", "{pulls}");
    let body = pulls[0]["body"].as_str().unwrap();
    assert!(body.starts_with("Closes #1"), "{body}");
    assert!(
        body.contains("Committed the change on the branch."),
        "the final message: {body}"
    );
    let first = forge_head(&sb);
    // red CI: a corrective turn in the same checkout, the agent's session resumed
    sb.status("acme/api", "afk/issue-1", "ci/build", "failure");
    let (_, r, err) = afk.watch();
    assert_eq!(action_of(&r, 1).0, "corrective_turn", "{r} {err}");
    assert_eq!(afk.wait_agent(1), 0, "{}", agent_log(&afk));
    let (_, r, err) = afk.watch();
    assert_eq!(
        action_of(&r, 1).1.as_deref(),
        Some("ci-pending"),
        "{r} {err}\n{}",
        agent_log(&afk)
    );
    let head = forge_head(&sb);
    assert_ne!(head, first, "the corrective turn's commit was forwarded");
    let repo = sb.git.join("acme/api.git");
    assert_eq!(
        git(&repo, &["log", "--format=%s", &format!("main..{head}")]),
        "Work on #1 (turn 2)\nWork on #1 (turn 1)",
        "one branch, both turns' commits"
    );
    assert_eq!(
        sb.api(&sb.dialect.prs_path("acme/api", Listed::All))
            .1
            .as_array()
            .unwrap()
            .len(),
        1,
        "one PR"
    );
    let log = agent_log(&afk);
    match agent {
        "claude" => assert!(
            log.contains("--resume") || log.matches("\"type\":\"result\"").count() == 2,
            "{log}"
        ),
        _ => assert!(log.matches("turn.completed").count() == 2, "{log}"),
    }
    // green, merged: success
    sb.status("acme/api", "afk/issue-1", "ci/build", "success");
    let (_, r, _) = afk.watch();
    assert_eq!(action_of(&r, 1).1.as_deref(), Some("awaiting-merge"), "{r}");
    let number = sb.api(&sb.dialect.prs_path("acme/api", Listed::Open)).1[0]["number"]
        .as_u64()
        .unwrap();
    sb.merge("acme/api", number);
    let (_, r, _) = afk.watch();
    assert_eq!(action_of(&r, 1).0, "succeed", "{r}");
    // the run's spend: what the model gateway metered where it ran
    // (docs/how-it-works.md#spend), the program's own report kept beside it;
    // else the report
    let (code, shown, err) = afk.json(&["runs", "show", "1"]);
    assert_eq!(code, 0, "{err}");
    let spend = shown["run"]["spend_usd"].as_f64().unwrap_or(-1.0);
    let want = reported(agent, &log);
    assert!(want > 0.0, "the program reported a spend: {log}");
    match shown["metered"]["usd"].as_f64() {
        Some(metered) => {
            assert!(metered > 0.0, "the gateway metered the turns: {shown}");
            assert!((spend - metered).abs() < 1e-6, "afk says {spend}: {shown}");
            let kept = shown["run"]["reported_usd"].as_f64().unwrap_or(-1.0);
            assert!((kept - want).abs() < 1e-6, "{agent} said {want}: {shown}");
        }
        None => assert!(
            (spend - want).abs() < 1e-6,
            "afk says {spend}, {agent} said {want}: {shown}"
        ),
    }
    assert!(!workdir_exists(&afk), "the checkout went with the run");
}

fn workdir_exists(afk: &Afk) -> bool {
    afk.scratch.path("state/runs/1/work").exists()
}

#[test]
fn claude_code_runs_the_lifecycle_in_afks_checkout() {
    lifecycle("claude");
}

#[test]
fn codex_runs_the_lifecycle_in_afks_checkout() {
    lifecycle("codex");
}

/// The real program's turn ends in its box; the turn's keeper starts the
/// run's watch, which pushes its commit and opens the PR: no `afk watch`
/// is run here (docs/hook.md#a-turns-end).
fn turn_end_opens_the_pr(agent: &str) {
    let Some((sb, mut afk)) = setup(agent, json!(null), "") else {
        return;
    };
    afk.env.push((TURN_END_WATCH.into(), "on".into()));
    assert_eq!(dispatch(&afk), 0, "{}", agent_log(&afk));
    let until = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let prs = || {
        sb.api(&sb.dialect.prs_path("acme/api", Listed::All))
            .1
            .as_array()
            .map_or(0, Vec::len)
    };
    while prs() == 0 && std::time::Instant::now() < until {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let after = std::fs::read_to_string(afk.scratch.path("state/runs/1/after-turn.log"))
        .unwrap_or_default();
    assert_eq!(
        prs(),
        1,
        "the turn's end opened the PR: {after}\n{}",
        agent_log(&afk)
    );
    let pulls = sb.api(&sb.dialect.prs_path("acme/api", Listed::Open)).1;
    assert_eq!(pulls[0]["user"]["login"], "afk-bot", "{pulls}");
}

#[test]
fn claude_codes_turn_end_opens_its_pr_with_no_watch_run() {
    turn_end_opens_the_pr("claude");
}

#[test]
fn codexs_turn_end_opens_its_pr_with_no_watch_run() {
    turn_end_opens_the_pr("codex");
}

/// What the real program finds and may do in afk's checkout
/// (docs/how-it-works.md#the-workspace): its first command sees the branch and
/// no credential; its own `git push` works and is forwarded; its pushes to
/// `main`, a tag and another branch stay in its local push repository; what it
/// leaves uncommitted is committed by afk and forwarded; the PR is afk's.
#[test]
fn claude_pushes_what_it_likes_and_only_its_branch_reaches_the_forge() {
    pushes_what_it_likes("claude");
}

#[test]
fn codex_pushes_what_it_likes_and_only_its_branch_reaches_the_forge() {
    pushes_what_it_likes("codex");
}

fn pushes_what_it_likes(agent: &str) {
    let steps = json!([
        {"shell": "echo \"branch=$(git rev-parse --abbrev-ref HEAD)\"; git config --list --show-origin; env | grep -F \"$(printf %s-%s sandbox token)\" || echo no-token-in-env"},
        {"shell": "echo one > a.txt && git add a.txt && git commit -qm 'Agent commit' && git push -q origin HEAD && git push -q origin HEAD:main && git tag v9 && git push -q origin v9 && git push -q origin HEAD:refs/heads/other && echo pushes-done"},
        {"shell": "echo left > b.txt"},
        {"text": "Pushed, and left b.txt for you."}
    ]);
    let Some((sb, afk)) = setup(agent, steps, "") else {
        return;
    };
    let main_before = git(
        &sb.git.join("acme/api.git"),
        &["rev-parse", "refs/heads/main"],
    );
    assert_eq!(dispatch(&afk), 0, "{}", agent_log(&afk));
    let log = agent_log(&afk);
    assert!(log.contains("branch=afk/issue-1"), "on its branch: {log}");
    assert!(log.contains("pushes-done"), "its own pushes work: {log}");
    assert!(
        !log.contains(TOKEN),
        "no credential in its config or environment: {log}"
    );
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "{err} {r}");
    let repo = sb.git.join("acme/api.git");
    let head = forge_head(&sb);
    assert_eq!(
        git(&repo, &["log", "--format=%s", &format!("main..{head}")]),
        "Uncommitted changes left by turn 1\nAgent commit",
        "its commit and its leftover, forwarded"
    );
    assert_eq!(git(&repo, &["show", &format!("{head}:b.txt")]), "left");
    assert_eq!(
        git(&repo, &["rev-parse", "refs/heads/main"]),
        main_before,
        "its push to main stayed local"
    );
    let refs = git(&repo, &["for-each-ref", "--format=%(refname)"]);
    assert!(
        !refs.contains("refs/tags/v9") && !refs.contains("refs/heads/other"),
        "{refs}"
    );
    let pulls = sb.api(&sb.dialect.prs_path("acme/api", Listed::Open)).1;
    assert_eq!(pulls.as_array().unwrap().len(), 1, "{pulls}");
    assert_eq!(pulls[0]["user"]["login"], "afk-bot", "{pulls}");
    assert!(
        pulls[0]["body"]
            .as_str()
            .unwrap()
            .contains("Pushed, and left b.txt for you."),
        "{pulls}"
    );
}

/// The real Claude Code rewrites its checkout's git (hooks, fsmonitor, a
/// credential helper, an insteadOf for the forge, a proxy) and leaves a
/// change: afk's forwarding runs none of it, sends nothing elsewhere, and
/// still forwards the commit and the leftover.
#[test]
fn claude_rewriting_its_checkouts_git_runs_nothing_as_afk() {
    let arm = "set -e; MARK=\"$AFK_RUN_DIR/../../../pwned\"; FORGE=\"$(git config remote.origin.url)\"; \
        echo x > work.txt && git add work.txt && git commit -qm 'Hooked commit'; \
        for h in pre-push post-commit pre-commit reference-transaction post-checkout; do \
          printf '#!/bin/sh\ntouch \"%s\"\n' \"$MARK\" > .git/hooks/$h; chmod +x .git/hooks/$h; done; \
        git config core.fsmonitor \"touch $MARK\"; \
        git config credential.helper \"!touch $MARK; echo\"; \
        git config url.http://127.0.0.1:9/.insteadOf \"$FORGE\"; \
        git config http.proxy http://127.0.0.1:9; \
        echo leftover > left.txt; echo armed";
    let steps = json!([{"shell": arm}, {"text": "Done."}]);
    let Some((sb, afk)) = setup("claude", steps, "") else {
        return;
    };
    assert_eq!(dispatch(&afk), 0, "{}", agent_log(&afk));
    assert!(agent_log(&afk).contains("armed"), "{}", agent_log(&afk));
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "{err} {r}");
    assert!(
        !afk.scratch.path("pwned").exists(),
        "afk's git ran a command of the checkout's"
    );
    let repo = sb.git.join("acme/api.git");
    let head = forge_head(&sb);
    assert_eq!(
        git(&repo, &["log", "--format=%s", &format!("main..{head}")]),
        "Uncommitted changes left by turn 1\nHooked commit",
        "forwarded to the forge's own URL, hooks and all left behind"
    );
    assert_eq!(
        git(&repo, &["show", &format!("{head}:left.txt")]),
        "leftover"
    );
    assert!(!err.contains(TOKEN), "{err}");
}

#[test]
fn claude_stops_itself_at_the_money_limit_and_the_run_escalates_over_budget() {
    // an agent that goes round in circles: every answer reports 2M input tokens
    let steps = json!([{"shell": "true", "usage": {"input": 2000000, "output": 10, "cached": 0}}]);
    let Some((_sb, afk)) = setup(
        "claude",
        steps,
        "[budget]\npause_for = \"0s\"\nrun_usd = 1.0\n",
    ) else {
        return;
    };
    dispatch(&afk);
    let log = agent_log(&afk);
    assert!(
        log.contains("--max-budget-usd") || log.contains("error_max_budget_usd"),
        "{log}"
    );
    assert!(
        log.contains("\"subtype\":\"error_max_budget_usd\""),
        "Claude stopped itself: {log}"
    );
    let (_, r, err) = afk.watch();
    assert_eq!(
        action_of(&r, 1),
        ("escalate".into(), Some("over-budget".into())),
        "{r} {err}"
    );
}

/// Dispatch run 1, whose real Claude Code stops its own turn at its
/// `--max-budget-usd` (its `error_max_budget_usd` result), and the watch
/// tick that pauses it at `limit`.
fn stops_itself_and_pauses(afk: &Afk, limit: &str, ctx: &str) {
    dispatch(afk);
    assert!(
        agent_log(afk).contains("\"subtype\":\"error_max_budget_usd\""),
        "{ctx}: Claude stopped itself: {}",
        agent_log(afk)
    );
    let (_, r, err) = afk.watch();
    assert_eq!(
        action_of(&r, 1),
        ("pause".into(), Some(limit.into())),
        "{ctx}: {r} {err}"
    );
}

/// The real Claude Code stops its own turn at its `--max-budget-usd` (what
/// is left of `run_usd`): the run pauses at `run_usd`; a trusted `/afk
/// budget +5` continues it, and the continuation, cheap and ending with exit
/// 0, is never paused again by the first turn's stop. With Claude Code's
/// default model and with Haiku.
#[test]
fn claude_stopped_at_its_own_budget_is_paused_and_a_raise_continues_it_once() {
    // (the model, the first answer's input tokens: past $1.00 at its price)
    for (model, input) in [(None, 400_000), (Some("claude-haiku-4-5"), 1_500_000)] {
        // the continuation's prompt drops the first step: one cheap answer
        let steps = json!([
            {"shell": "echo one > a.txt && git add a.txt && git commit -qm 'Add a'",
             "usage": {"input": input, "output": 10, "cached": 0},
             "unless_prompt": "afk paused this run"},
            {"text": "Done.", "usage": {"input": 100, "output": 10, "cached": 0}}
        ]);
        let Some((sb, afk)) = setup(
            "claude",
            steps,
            "[budget]\npause_for = \"7d\"\nrun_usd = 1.0\nmax_run_usd = 10.0\n",
        ) else {
            return;
        };
        if let Some(m) = model {
            let text = std::fs::read_to_string(&afk.config).unwrap().replace(
                "agent = \"claude\"\n",
                &format!("agent = \"claude\"\ncommand = [\"--model\", \"{m}\"]\n"),
            );
            std::fs::write(&afk.config, text).unwrap();
        }
        stops_itself_and_pauses(&afk, "run_usd", &format!("{model:?}"));
        sb.comment_on("acme/api", On::Issue(1), "alice", "/afk budget +5");
        let (_, r, err) = afk.watch();
        assert_eq!(
            action_of(&r, 1),
            ("continue".into(), Some("budget".into())),
            "{model:?}: {r} {err}"
        );
        assert_eq!(afk.wait_agent(1), 0, "{model:?}: {}", agent_log(&afk));
        let (_, r, err) = afk.watch();
        assert_ne!(action_of(&r, 1).0, "pause", "{model:?}: {r} {err}");
        let (_, st, _) = afk.json(&["status"]);
        assert!(st["runs"][0].get("paused").is_none(), "{model:?}: {st}");
        let st = sb.admin("GET", "/state", None);
        let paused = st["repos"][0]["comments"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["body"].as_str().unwrap_or("").contains("afk:paused"))
            .count();
        assert_eq!(paused, 1, "{model:?}: one pause, the first turn's");
        if let Some(m) = model {
            assert!(
                agent_log(&afk).contains(m)
                    || sb
                        .admin("GET", "/model/requests", None)
                        .to_string()
                        .contains(m),
                "{m} was the model asked"
            );
        }
    }
}

/// The real Claude Code handed a day's cap smaller than its run's limit
/// (`day_usd` $1.00 of a $5.00 `run_usd`) stops its own turn there: the run
/// pauses at `day_usd` until 00:00 UTC, and the first tick of the next UTC
/// day continues it by itself, no comment needed; the cheap continuation
/// ends cleanly and is not paused again.
#[test]
fn claude_stopped_at_the_days_cap_pauses_until_midnight_and_continues_by_itself() {
    stopped_at_a_days_cap("day_usd");
}

/// The same with the repository's day cap (`repo_day_usd`): paused at
/// `repo_day_usd`, never at `run_usd`, continued by itself the next day.
#[test]
fn claude_stopped_at_the_repositorys_days_cap_pauses_until_midnight_and_continues_by_itself() {
    stopped_at_a_days_cap("repo_day_usd");
}

/// Claude Code stopped by itself at a day's cap `limit` ($1.00 of a $5.00
/// `run_usd`), paused until midnight, continued by itself the next UTC day.
fn stopped_at_a_days_cap(limit: &str) {
    let steps = json!([
        {"shell": "echo one > a.txt && git add a.txt && git commit -qm 'Add a'",
         "usage": {"input": 400000, "output": 10, "cached": 0},
         "unless_prompt": "afk paused this run"},
        {"text": "Done.", "usage": {"input": 100, "output": 10, "cached": 0}}
    ]);
    let Some((_sb, afk)) = setup(
        "claude",
        steps,
        &format!("[budget]\npause_for = \"7d\"\nrun_usd = 5.0\n{limit} = 1.0\n"),
    ) else {
        return;
    };
    crate::budget::pin(&afk, crate::budget::tomorrow(10, 0));
    stops_itself_and_pauses(&afk, limit, "the day's cap");
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
    assert_eq!(afk.wait_agent(1), 0, "{}", agent_log(&afk));
    let (_, r, err) = afk.watch();
    assert_ne!(action_of(&r, 1).0, "pause", "{limit}: {r} {err}");
}

#[test]
fn codex_reports_blocked_through_the_progress_file_and_the_run_escalates_with_its_question() {
    let steps = json!([
        {"shell": "printf '%s\\n' '{\"status\":\"blocked\",\"reason\":\"the issue does not say which database\",\"questions\":[\"PostgreSQL or SQLite?\"]}' >> \"$AFK_PROGRESS_FILE\""},
        {"text": "I am blocked: which database?"}
    ]);
    let Some((sb, afk)) = setup("codex", steps, "") else {
        return;
    };
    assert_eq!(dispatch(&afk), 0, "{}", agent_log(&afk));
    let (_, r, err) = afk.watch();
    assert_eq!(
        action_of(&r, 1),
        ("escalate".into(), Some("blocked".into())),
        "{r} {err}"
    );
    let comments = sb.admin("GET", "/state", None)["repos"][0]["comments"].to_string();
    assert!(comments.contains("PostgreSQL or SQLite?"), "{comments}");
}

#[test]
fn a_model_that_hangs_leaves_the_agent_stalled_and_watch_stops_it() {
    let Some((_sb, afk)) = setup("claude", json!([{"hang": true}]), "") else {
        return;
    };
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err} {r}");
    let (_, r, _) = afk.watch();
    assert_eq!(action_of(&r, 1).1.as_deref(), Some("agent-running"), "{r}");
    afk.later(4);
    let (_, r, err) = afk.watch();
    assert_eq!(
        action_of(&r, 1),
        ("escalate".into(), Some("stalled".into())),
        "{r} {err}"
    );
    assert_stopped(afk.agent_pid(1));
}

/// The agent process `pid` is gone, or a zombie: it was stopped.
pub(crate) fn assert_stopped(pid: i32) {
    // SAFETY: kill(2) with signal 0 only asks whether the process exists
    let alive = unsafe { libc::kill(pid, 0) } == 0;
    assert!(
        !alive
            || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .unwrap_or_default()
                .contains(") Z "),
        "the agent was stopped"
    );
}

/// `agent` answered as `model` is, picked the way its users pick it:
/// Codex's `model` in its config.toml (the operator's `$CODEX_HOME`,
/// which afk carries into the turn's own), Claude Code's `ANTHROPIC_MODEL`
/// (which the box passes).
pub(crate) fn pick_model(afk: &mut Afk, agent: &str, model: &str) {
    match agent {
        "codex" => {
            let config = afk.scratch.path("codex-home/config.toml");
            let text = std::fs::read_to_string(&config).unwrap();
            let picked = format!("model = \"{model}\"");
            let text = text.replacen("model = \"gpt-5.5\"", &picked, 1);
            assert!(text.lines().any(|l| l == picked), "{text}");
            std::fs::write(&config, text).unwrap();
        }
        _ => afk.env.push(("ANTHROPIC_MODEL".into(), model.into())),
    }
}

/// The demo's story with the real program on `forge` (the sandbox's
/// dialect): Gitea's, GitLab's merge requests (docs/gitlab.md) and Azure
/// DevOps' work items (docs/azure-devops.md), whose ids are the
/// organization's: the blocked docs issue and the pay issue over budget
/// are `docs` and `pay` there.
fn demo_story(forge: &str, (docs, pay): (&str, &str)) {
    let Some(bin) = programs() else {
        return;
    };
    for (agent, name) in [("claude", "Claude Code"), ("codex", "Codex CLI")] {
        let agent_on = format!("{agent} on {forge}");
        let agent = agent_on.as_str();
        let program = agent_on.split(' ').next().unwrap();
        let home = Scratch::new();
        let path = std::env::var("PATH").unwrap_or_default();
        let out = assert_cmd::Command::new(afk_bin())
            .args(["demo", "--forge", forge, "--agent", program])
            .env("PATH", format!("{bin}:{path}"))
            .env("HOME", &home.dir)
            .env_remove("AFK_FORGE_TOKEN")
            .timeout(std::time::Duration::from_secs(300))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{agent}: {text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            text.contains(&format!("the agent is the real {name}")),
            "{agent}: says which: {text}"
        );
        // the gateway where it is in force (a box here), said in one line
        let boxed = afk::runner::agent_box::can_box().is_ok();
        let said = if boxed {
            "its model requests go through afk's model gateway"
        } else {
            "the model gateway is off here"
        };
        assert_eq!(
            text.lines().filter(|l| l.contains(said)).count(),
            1,
            "{agent}: {text}"
        );
        let row = |words: &[&str]| {
            text.lines()
                .any(|l| words.iter().all(|w| l.split_whitespace().any(|x| x == *w)))
        };
        for words in [
            &[docs, "escalate", "blocked"][..],
            &["acme/api#1", "succeed"],
            &["acme/api#2", "corrective_turn", "ci-red"],
            &["acme/api#2", "corrective_turn", "review"],
            &["acme/api#2", "succeed"],
            &[pay, "escalate", "over-budget"],
            // the canary act: the worse template's runs commit nothing
            &["implementer", "rolled_back"],
        ] {
            assert!(row(words), "{agent}: no row with {words:?}:\n{text}");
        }
    }
}

#[test]
fn the_demo_plays_its_story_with_each_real_program() {
    demo_story("gitea", ("acme/docs#1", "acme/pay#1"));
}

#[test]
fn the_demo_plays_its_story_with_each_real_program_on_gitlab() {
    demo_story("gitlab", ("acme/docs#1", "acme/pay#1"));
}

#[test]
fn the_demo_plays_its_story_with_each_real_program_on_azure_devops() {
    demo_story("azure-devops", ("acme/docs#4", "acme/pay#31"));
}

/// The real program runs the box's probe with its own shell tool
/// (docs/runners.md#the-agents-box): from inside its box afk's token file,
/// state file, config and another run's folder cannot be read, the forge's
/// port cannot be reached while the model answers, it is not root, and a
/// process it detached is gone when its turn ends; its commit is afk's PR.
fn boxed(agent: &str) {
    let Some((sb, afk)) = setup(agent, json!(null), "") else {
        return;
    };
    // the probe's paths are this afk's: a token file, another run's folder
    let token = afk.scratch.write("token", TOKEN);
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::create_dir_all(afk.scratch.path("state/runs/99")).unwrap();
    afk.scratch
        .write("state/runs/99/prompt-1.md", "another run's prompt");
    let probe = crate::agent_box::probe(&afk, &sb);
    sb.admin(
        "POST",
        "/script",
        Some(json!({"repo": "acme/api", "issue": 1, "steps": [
            {"shell": probe},
            {"text": "Probed the box and committed what I saw."}
        ]})),
    );
    assert_eq!(dispatch(&afk), 0, "{}", agent_log(&afk));
    crate::agent_box::assert_boxed(
        &crate::agent_box::findings(&afk),
        &agent_log(&afk),
        &crate::agent_box::detached(&afk),
    );
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "{err} {r}");
    assert_eq!(action_of(&r, 1).1.as_deref(), Some("ci-pending"), "{r}");
    // a corrective turn resumes the program's session from the run's own home
    sb.status("acme/api", "afk/issue-1", "ci/build", "failure");
    let (_, r, err) = afk.watch();
    assert_eq!(action_of(&r, 1).0, "corrective_turn", "{r} {err}");
    assert_eq!(afk.wait_agent(1), 0, "{}", agent_log(&afk));
    let log = agent_log(&afk);
    // both turns are one session of the program's: found again in the run's home
    let (kind, key) = match agent {
        "claude" => ("result", "session_id"),
        _ => ("thread.started", "thread_id"),
    };
    let ids: Vec<String> = log
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["type"] == kind)
        .filter_map(|v| v[key].as_str().map(String::from))
        .collect();
    assert_eq!(ids.len(), 2, "two turns: {log}");
    assert_eq!(
        ids[0], ids[1],
        "the second turn resumed the first's session: {log}"
    );
    assert!(
        afk.scratch.path("state/runs/1/home").is_dir(),
        "the run's home is kept across its turns"
    );
}

#[test]
fn claude_code_in_its_box_sees_nothing_of_afks_and_reaches_only_its_model() {
    boxed("claude");
}

#[test]
fn codex_in_its_box_sees_nothing_of_afks_and_reaches_only_its_model() {
    boxed("codex");
}

/// Issue 49: your own repository in the sandbox, and a scripted review
/// round. A seed imports a local repository's history (`import`) and gives
/// the model a script per turn (`turns`); the real Claude Code works in
/// afk's checkout of that history, a reviewer asks for changes, the second
/// turn's script answers, and afk's PR body — written for the reviewer —
/// follows: both commits over the imported base, the turn and why, the
/// agent's latest words.
#[test]
fn claude_on_an_imported_repository_answers_a_review_with_its_second_turns_script() {
    let local = Scratch::new();
    let dir = local.path("mylib");
    std::fs::create_dir_all(&dir).unwrap();
    git(&dir, &["init", "-q", "-b", "master"]);
    for (file, msg) in [
        ("lib.py", "Start the library"),
        ("test_lib.py", "Test the library"),
    ] {
        std::fs::write(dir.join(file), format!("# {file}\n")).unwrap();
        git(&dir, &["add", file]);
        git(
            &dir,
            &[
                "-c",
                "user.name=me",
                "-c",
                "user.email=me@example.org",
                "commit",
                "-qm",
                msg,
            ],
        );
    }
    let commit = |file: &str, msg: &str| {
        format!(
            "echo {file} >> {file} && git add {file} && git -c user.name=agent -c user.email=agent@example.org commit -qm '{msg}'"
        )
    };
    let mut issue = ready(1, "alice");
    issue["turns"] = json!([
        [{"shell": commit("a.txt", "First change")}, {"text": "First turn done."}],
        [{"shell": commit("b.txt", "Answer the review")}, {"text": "Addressed the review: added b.txt."}]
    ]);
    let mut seeded = repo("acme/api", json!([issue]));
    seeded["import"] = json!(dir.display().to_string());
    let Some((sb, afk)) = setup_with(
        "claude",
        json!({"repos": [seeded]}),
        "[watch]\nreview_turns_max = 1\n",
    ) else {
        return;
    };
    let main = git(
        &sb.git.join("acme/api.git"),
        &["log", "--format=%s", "main"],
    );
    assert_eq!(
        main, "Test the library\nStart the library",
        "the imported history is main"
    );
    assert_eq!(dispatch(&afk), 0, "{}", agent_log(&afk));
    let (_, r, err) = afk.watch();
    assert_eq!(
        action_of(&r, 1).1.as_deref(),
        Some("ci-pending"),
        "{r} {err}\n{}",
        agent_log(&afk)
    );
    let pr = sb.api(&sb.dialect.prs_path("acme/api", Listed::Open)).1[0].clone();
    let body = pr["body"].as_str().unwrap();
    assert!(
        body.contains("First turn done.") && body.contains("First change"),
        "{body}"
    );
    sb.status("acme/api", "afk/issue-1", "ci/build", "success");
    sb.admin(
        "POST",
        "/review",
        Some(json!({"repo": "acme/api", "pr": pr["number"], "user": "alice", "state": "REQUEST_CHANGES", "body": "Please add b.txt"})),
    );
    let (_, r, err) = afk.watch();
    assert_eq!(
        action_of(&r, 1),
        ("corrective_turn".into(), Some("review".into())),
        "{r} {err}"
    );
    assert_eq!(afk.wait_agent(1), 0, "{}", agent_log(&afk));
    let (_, r, err) = afk.watch();
    assert_eq!(
        action_of(&r, 1).1.as_deref(),
        Some("ci-pending"),
        "{r} {err}"
    );
    let body = sb.api(&sb.dialect.prs_path("acme/api", Listed::Open)).1[0]["body"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        body.contains("2 commits on `afk/issue-1` over `main`"),
        "{body}"
    );
    assert!(
        body.contains("Answer the review") && body.contains("First change"),
        "{body}"
    );
    assert!(body.contains("2. changes requested by alice"), "{body}");
    assert!(
        body.contains("Addressed the review: added b.txt."),
        "the latest words: {body}"
    );
    assert!(!body.contains("First turn done."), "{body}");
    // the log for people: one line per event, each turn's end one sentence
    let out = afk
        .cmd()
        .args(["runs", "show", "1", "--log"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("tool Bash: echo b.txt >> b.txt"), "{text}");
    assert!(text.contains("result: "), "{text}");
    assert!(
        text.contains("Claude finished after")
            && text.contains(": Addressed the review: added b.txt."),
        "{text}"
    );
    assert!(
        !text.contains("\"type\":\"assistant\""),
        "no raw JSON: {text}"
    );
    let raw = afk
        .cmd()
        .args(["runs", "show", "1", "--log", "--raw"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&raw.stdout).contains("\"type\":\"result\""));
}
