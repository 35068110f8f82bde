//! `[budget]` through the binary (docs/configuration.md#budget-spend-limits):
//! spend read from the agent's `cost_usd` lines and Claude Code's JSON result,
//! a day limit that stops dispatch and reopens the next UTC day, a run limit
//! and a run-time limit that stop a running agent and escalate with the
//! numbers, nothing counted twice across ticks or turns.
//!
//! The agent is scripted per turn: `turn-<AFK_TURN>.sh` in a plan folder the
//! test writes, sourced by `sh` in the agent's run folder environment.

use crate::support::*;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

const NOTIFY: &str =
    "[notify]\nslack_webhook_env = \"AFK_TEST_SLACK\"\nwebhook_env = \"AFK_TEST_WEBHOOK\"";

/// A config whose agent runs `<plan>/turn-<AFK_TURN>.sh`; `allow` the allowlist,
/// `sections` more keys of `[poll]`, then more tables (`[budget]`, `[watch]`, ...).
pub(crate) fn world(sb: &Sandbox, allow: &[&str], sections: &str) -> (Afk, PathBuf) {
    let scratch = Scratch::new();
    let plan = scratch.path("plan");
    std::fs::create_dir_all(&plan).unwrap();
    let allow: Vec<String> = allow.iter().map(|r| format!("\"{r}\"")).collect();
    let text = format!(
        "state_path = \"state/afk.db\"\n[forge]\n{forge}timeout = \"5s\"\nretries = 1\n\
         [runner]\nconfine = \"none\"\ncommand = [\"env\", \"PLAN={plan}\", \"sh\", \"-c\", \". \\\"$PLAN/turn-$AFK_TURN.sh\\\"\"]\n\
         [poll]\nenabled = true\nallowlist = [{allow}]\n{sections}\n{NOTIFY}\n",
        forge = sb.forge_keys(),
        plan = plan.display(),
        allow = allow.join(", "),
    );
    let config = scratch.write("afk.toml", &with_forge_tables(sb, text));
    let afk = Afk {
        scratch,
        config,
        hooks: Some(sb.url.clone()),
        now: Default::default(),
        env: vec![],
        held: vec![],
    };
    (afk, plan)
}

pub(crate) fn turn(plan: &Path, n: u32, script: &str) {
    std::fs::write(plan.join(format!("turn-{n}.sh")), script).unwrap();
}

/// Wait (bounded) for a file the scripted agent writes.
pub(crate) fn wait_file(p: &Path) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !p.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "{} never appeared",
            p.display()
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

pub(crate) fn run_file(afk: &Afk, run: i64, name: &str) -> PathBuf {
    afk.scratch.path(&format!("state/runs/{run}/{name}"))
}

/// Whether the scripted agent of `run` still runs: the turn scripts that keep
/// running write their pid to `sleeper` and become `sleep`.
pub(crate) fn agent_alive(afk: &Afk, run: i64) -> bool {
    // the script writes `sleeper` a moment after the file a test waited
    // for: wait (bounded) until its pid line is whole
    let path = run_file(afk, run, "sleeper");
    wait_file(&path);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let pid = loop {
        let text = std::fs::read_to_string(&path).unwrap();
        if text.ends_with('\n') {
            break text;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{} stays empty",
            path.display()
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    std::fs::read_to_string(format!("/proc/{}/stat", pid.trim()))
        .map(|s| !s.contains(") Z"))
        .unwrap_or(false)
}

pub(crate) const SLEEP: &str = "echo $$ > \"$AFK_RUN_DIR/sleeper\"\nexec sleep 120\n";

/// Stop a scripted agent a test left running.
pub(crate) fn kill_agent(afk: &Afk, run: i64) {
    if let Ok(s) = std::fs::read_to_string(run_file(afk, run, "agent.pid"))
        && let Some(pid) = s
            .split_whitespace()
            .next()
            .and_then(|p| p.parse::<i32>().ok())
    {
        // SAFETY: the test's own agent's process group.
        unsafe { libc::kill(-pid, libc::SIGKILL) };
    }
}

/// The run's spend as `afk runs --json` shows it.
fn spend(afk: &Afk, run: i64) -> Value {
    afk.run_row(run)["spend_usd"].clone()
}

pub(crate) fn comments(sb: &Sandbox, repo_index: usize) -> Vec<String> {
    let st = sb.admin("GET", "/state", None);
    st["repos"][repo_index]["comments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["body"].as_str().unwrap().to_string())
        .collect()
}

fn at(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

/// Tomorrow (UTC) at `h:m`, so a test's day never straddles the real midnight.
pub(crate) fn tomorrow(h: u8, m: u8) -> time::OffsetDateTime {
    let d = time::OffsetDateTime::now_utc().date().next_day().unwrap();
    d.with_hms(h, m, 0).unwrap().assume_utc()
}

pub(crate) fn pin(afk: &Afk, t: time::OffsetDateTime) {
    *afk.now.borrow_mut() = Some(at(t));
}

/// Each run reports $1 then $2 (cumulative) and exits without a PR.
const TWO_DOLLARS: &str = "printf '%s\\n' '{\"cost_usd\": 1.0}' >> \"$AFK_PROGRESS_FILE\"\n\
     printf '%s\\n' '{\"phase\":\"tests-red\"}' '{\"cost_usd\": 2.0}' >> \"$AFK_PROGRESS_FILE\"\n";

both_dialects! {
    #[test]
    fn a_day_limit_stops_dispatch_at_the_right_run_and_reopens_the_next_utc_day() {
        let repos: Vec<String> = (1..=4).map(|i| format!("acme/r{i}")).collect();
        let sb = Sandbox::start(json!({"repos": repos.iter()
            .map(|r| repo(r, json!([ready(1, "alice")]))).collect::<Vec<_>>()}));
        let names: Vec<&str> = repos.iter().map(String::as_str).collect();
        let (afk, plan) = world(&sb, &names, "max_per_tick = 1\n[budget]\npause_for = \"0s\"\nday_usd = 5.0\n");
        turn(&plan, 1, TWO_DOLLARS);
        pin(&afk, tomorrow(10, 0));
        // $0, then $2, then $4 spent today: under the limit, one dispatch each
        for (i, r) in names.iter().take(3).enumerate() {
            let (code, p, err) = afk.poll();
            assert_eq!(code, 0, "{err}");
            assert_eq!(pairs(&p["dispatched"]), vec![(r.to_string(), 1)], "{p}");
            assert!(p["budget"].as_array().unwrap().is_empty(), "{p}");
            afk.wait_agent(i as i64 + 1);
            if i == 1 {
                // watch reads (and stores) the spend; poll must not count it again
                let (code, _, err) = afk.watch();
                assert_eq!(code, 0, "{err}");
            }
        }
        // $6 spent today: at the limit, nothing more is dispatched
        for _ in 0..2 {
            let (code, p, err) = afk.poll();
            assert_eq!(code, 0, "{err}");
            assert_eq!(p["dispatched"], json!([]), "{p}");
            assert_eq!(reason_of(&p, "acme/r4", 1).as_deref(), Some("budget"));
            let b = &p["budget"][0];
            assert_eq!(b["limit"], "day_usd", "{p}");
            assert_eq!(b["limit_usd"], 5.0);
            assert_eq!(b["spend_usd"], 6.0, "{p}");
            assert_eq!(b["runs"], 3);
            let text = b["text"].as_str().unwrap();
            assert!(text.contains("$6.00") && text.contains("$5.00"), "{text}");
        }
        let out = afk.cmd().arg("poll").output().unwrap();
        let human = String::from_utf8_lossy(&out.stdout);
        assert!(
            human.contains("day_usd") && human.contains("$6.00") && human.contains("$5.00"),
            "one clear line says the limit and the spend: {human}"
        );
        assert!(sb.labels_of("acme/r4", 1).iter().all(|l| l != "agent-in-progress"));
        // the next UTC day starts from nothing: runs dispatched yesterday count for yesterday
        pin(&afk, tomorrow(0, 0) + time::Duration::days(1) + time::Duration::seconds(30));
        let (code, p, err) = afk.poll();
        assert_eq!(code, 0, "{err}");
        assert_eq!(pairs(&p["dispatched"]), vec![("acme/r4".to_string(), 1)], "{p}");
        afk.wait_agent(4);
    }

    #[test]
    fn a_repo_day_limit_stops_only_that_repo() {
        let sb = Sandbox::start(json!({"repos": [
            repo("acme/a", json!([ready(1, "alice"), ready(2, "alice")])),
            repo("acme/b", json!([ready(1, "alice")])),
        ]}));
        let (afk, plan) = world(
            &sb,
            &["acme/a", "acme/b"],
            "max_per_tick = 1\n[budget]\npause_for = \"0s\"\nrepo_day_usd = 1.5\n[watch]\nfix_forward_max = 0\n",
        );
        turn(&plan, 1, TWO_DOLLARS);
        let (_, p, _) = afk.poll();
        assert_eq!(pairs(&p["dispatched"]), vec![("acme/a".to_string(), 1)]);
        afk.wait_agent(1);
        // no PR, no turns left: the run ends and acme/a is free again
        let (_, w, _) = afk.watch();
        assert_eq!(action_of(&w, 1), ("escalate".into(), Some("no-pr".into())));
        let (code, p, err) = afk.poll();
        assert_eq!(code, 0, "{err}");
        assert_eq!(reason_of(&p, "acme/a", 2).as_deref(), Some("budget"), "{p}");
        assert_eq!(pairs(&p["dispatched"]), vec![("acme/b".to_string(), 1)]);
        let b = &p["budget"][0];
        assert_eq!(
            (b["limit"].as_str(), b["repo"].as_str(), b["spend_usd"].as_f64()),
            (Some("repo_day_usd"), Some("acme/a"), Some(2.0)),
            "{p}"
        );
        afk.wait_agent(2);
    }

    #[test]
    fn a_run_over_run_usd_is_stopped_and_escalated_with_the_numbers() {
        let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
        let (afk, plan) = world(&sb, &["acme/api"], "[budget]\npause_for = \"0s\"\nrun_usd = 1.0\n");
        let v1 = afk.scratch.write("v1.md", "implementer v1\n");
        let out = afk.cmd().args(["template", "add", "implementer", "--file"]).arg(&v1).output().unwrap();
        assert!(out.status.success());
        turn(
            &plan,
            1,
            &format!("printf '%s\\n' '{{\"cost_usd\": 0.5}}' >> \"$AFK_PROGRESS_FILE\"\n\
             printf '%s\\n' '{{\"cost_usd\": 1.25}}' >> \"$AFK_PROGRESS_FILE\"\n\
             : > \"$AFK_RUN_DIR/spent\"\n{SLEEP}"),
        );
        afk.poll();
        wait_file(&run_file(&afk, 1, "spent"));
        assert!(agent_alive(&afk, 1));
        let (code, r, err) = afk.watch();
        assert_eq!(code, 0, "{err}");
        assert_eq!(action_of(&r, 1), ("escalate".into(), Some("over-budget".into())));
        assert_eq!(r["actions"][0]["spend_usd"], 1.25, "{r}");
        assert!(!agent_alive(&afk, 1), "the agent was stopped");
        let esc: Vec<String> = comments(&sb, 0)
            .into_iter()
            .filter(|c| c.contains("afk:escalation"))
            .collect();
        assert_eq!(esc.len(), 1);
        assert!(
            esc[0].contains("`over-budget`") && esc[0].contains("$1.25") && esc[0].contains("$1.00")
                && esc[0].contains("budget.run_usd"),
            "{}",
            esc[0]
        );
        let list: Vec<String> = comments(&sb, 0);
        let checklist = list.iter().find(|c| c.contains("afk:checklist")).unwrap();
        assert!(checklist.contains("$1.25"), "{checklist}");
        assert!(checklist.contains("(reason: `over-budget`)"), "{checklist}");
        let labels = sb.labels_of("acme/api", 1);
        assert!(labels.contains(&"ready-for-human".to_string()), "{labels:?}");
        let hooks = sb.hooks();
        let hook = hooks.iter().find(|h| h["hook"] == "webhook").unwrap();
        assert_eq!(hook["body"]["reason"], "over-budget");
        // an automatic lesson, once however often it is seen
        let (_, l, _) = afk.json(&["lessons", "list", "--type", "budget_exceeded"]);
        assert_eq!(l["lessons"].as_array().unwrap().len(), 1, "{l}");
        assert_eq!(l["lessons"][0]["source"], "auto");
        assert_eq!(l["lessons"][0]["work_item"], "acme/api#1");
        // a failure for the canary's arithmetic
        let (code, h, err) = afk.json(&["harvest"]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(h["outcomes"][0]["outcome"], "failure", "{h}");
        assert_eq!(spend(&afk, 1), 1.25);
        let (_, again, _) = afk.watch();
        assert_eq!(again["actions"], json!([]));
    }

    /// Issue 47: a reader's 11 MB PR description makes the repo's PR list
    /// unreadable (and a forge down the comments): the run's limits still
    /// apply — the run past `run_time` is stopped and escalated, and the
    /// failed read is the tick's error.
    #[test]
    fn run_time_holds_when_a_readers_text_makes_the_pr_list_unreadable() {
        let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
        let (afk, plan) = world(&sb, &["acme/api"], "[budget]\npause_for = \"0s\"\nrun_time = \"1h\"\n");
        turn(&plan, 1, &format!(": > \"$AFK_RUN_DIR/started\"\n{SLEEP}"));
        afk.poll();
        wait_file(&run_file(&afk, 1, "started"));
        sb.push_commit("acme/api", "readers-branch", "x.txt");
        let huge = "x".repeat(11 << 20);
        sb.admin(
            "POST",
            "/issues",
            Some(json!({"repo": "acme/api", "issue": {"title": "a reader's PR", "body": huge,
                        "pull": true, "head": "readers-branch", "author": "mallory"}})),
        );
        sb.faults(json!([{"path": sb.dialect.comments_part(), "status": 500}]));
        afk.later(2);
        let (code, r, err) = afk.watch();
        assert_eq!(code, 1, "the failed read is the tick's error: {r} {err}");
        assert_eq!(
            action_of(&r, 1),
            ("escalate".into(), Some("timeout".into())),
            "{r} {err}"
        );
        assert!(!agent_alive(&afk, 1), "the agent was stopped");
        let (_, shown, _) = afk.json(&["runs", "show", "1"]);
        assert_eq!(shown["run"]["reason"], "timeout", "{shown}");
    }

    #[test]
    fn a_run_past_run_time_is_stopped_and_escalated() {
        let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
        let (afk, plan) = world(&sb, &["acme/api"], "[budget]\npause_for = \"0s\"\nrun_time = \"1h\"\n");
        turn(&plan, 1, &format!(": > \"$AFK_RUN_DIR/started\"\n{SLEEP}"));
        afk.poll();
        wait_file(&run_file(&afk, 1, "started"));
        let (_, r, _) = afk.watch();
        assert_eq!(action_of(&r, 1), ("wait".into(), Some("agent-running".into())));
        afk.later(2);
        let (code, r, err) = afk.watch();
        assert_eq!(code, 0, "{err}");
        assert_eq!(action_of(&r, 1), ("escalate".into(), Some("timeout".into())));
        assert!(!agent_alive(&afk, 1), "the agent was stopped");
        let esc = comments(&sb, 0)
            .into_iter()
            .find(|c| c.contains("afk:escalation"))
            .unwrap();
        assert!(
            esc.contains("`timeout`") && esc.contains("budget.run_time") && esc.contains("1h")
                && esc.contains("2h"),
            "{esc}"
        );
        let (_, l, _) = afk.json(&["lessons", "list", "--type", "budget_exceeded"]);
        assert_eq!(l["lessons"].as_array().unwrap().len(), 1, "{l}");
    }

    #[test]
    fn over_run_usd_no_corrective_turn_is_started() {
        let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
        let (afk, plan) = world(
            &sb,
            &["acme/api"],
            "[budget]\npause_for = \"0s\"\nrun_usd = 1.5\n[watch]\nfix_forward_max = 2\n",
        );
        turn(&plan, 1, TWO_DOLLARS);
        afk.poll();
        afk.wait_agent(1);
        let (_, r, _) = afk.watch();
        assert_eq!(action_of(&r, 1), ("escalate".into(), Some("over-budget".into())));
        assert_eq!(afk.sql_rows("SELECT turns FROM runs")[0][0], "1");
        assert!(!run_file(&afk, 1, "prompt-2.md").exists());
    }

    #[test]
    fn status_and_history_show_each_runs_spend_and_an_unknown_one_is_flagged() {
        let sb = Sandbox::start(json!({"repos": [
            repo("acme/a", json!([ready(1, "alice")])),
            repo("acme/b", json!([ready(1, "alice")])),
        ]}));
        let (afk, plan) = world(&sb, &["acme/a", "acme/b"], "max_per_tick = 2\n");
        turn(
            &plan,
            1,
            "[ \"$AFK_REPO\" = acme/a ] && printf '%s\\n' '{\"cost_usd\": 0.42}' >> \"$AFK_PROGRESS_FILE\"\nexit 0\n",
        );
        let (code, p, err) = afk.poll();
        assert_eq!(code, 0, "{err}");
        assert_eq!(p["dispatched"].as_array().unwrap().len(), 2, "{p}");
        afk.wait_agent(1);
        afk.wait_agent(2);
        let (code, w, err) = afk.watch();
        assert_eq!(code, 0, "{err} {w}");
        let (_, s, _) = afk.json(&["status"]);
        let runs = s["runs"].as_array().unwrap();
        let of = |repo: &str| runs.iter().find(|r| r["repo"] == repo).unwrap().clone();
        assert_eq!(of("acme/a")["spend_usd"], 0.42, "{s}");
        assert_eq!(of("acme/b")["spend_usd"], Value::Null, "unknown is not 0: {s}");
        assert_eq!(s["spend"]["today_usd"], 0.42, "{s}");
        assert_eq!(s["spend"]["unreported_runs"], 1, "{s}");
        let out = afk.cmd().arg("status").output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("SPEND") && text.contains("$0.42"), "{text}");
        assert!(text.contains("1 run has reported no spend"), "{text}");
        let out = afk.cmd().arg("runs").output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("SPEND") && text.contains("$0.42"), "{text}");
        // the two claims are made in parallel: either may be run 1
        let id = of("acme/a")["run_id"].to_string();
        let (_, shown, _) = afk.json(&["runs", "show", &id]);
        assert_eq!(shown["run"]["spend_usd"], 0.42, "{shown}");
    }
}

#[test]
fn claude_codes_json_result_is_read_from_agent_log_and_summed_over_turns() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    let (afk, plan) = world(&sb, &["acme/api"], "[watch]\nfix_forward_max = 1\n");
    // `claude -p --output-format json`: one JSON object on stdout at the end
    turn(
        &plan,
        1,
        "echo 'working...'\nprintf '%s\\n' '{\"type\":\"result\",\"subtype\":\"success\",\"is_error\":false,\"num_turns\":3,\"result\":\"no PR, sorry\",\"session_id\":\"s1\",\"total_cost_usd\":0.75,\"usage\":{\"input_tokens\":10}}'\n",
    );
    // `--output-format stream-json`: one object per line, the result last
    turn(
        &plan,
        2,
        "printf '%s\\n' '{\"type\":\"system\",\"subtype\":\"init\",\"session_id\":\"s2\"}' '{\"type\":\"assistant\",\"message\":{\"content\":[{\"type\":\"text\",\"text\":\"total_cost_usd 99\"}]}}' '{\"type\":\"result\",\"subtype\":\"success\",\"total_cost_usd\":0.5}'\n",
    );
    afk.poll();
    afk.wait_agent(1);
    let (_, r, _) = afk.watch();
    assert_eq!(
        action_of(&r, 1),
        ("corrective_turn".into(), Some("no-pr".into()))
    );
    assert_eq!(spend(&afk, 1), 0.75);
    afk.wait_agent(1);
    let (_, r, _) = afk.watch();
    assert_eq!(action_of(&r, 1), ("escalate".into(), Some("no-pr".into())));
    assert_eq!(spend(&afk, 1), 1.25, "0.75 + 0.5, each turn once");
    let esc = comments(&sb, 0)
        .into_iter()
        .find(|c| c.contains("afk:escalation"))
        .unwrap();
    assert!(
        esc.contains("$1.25"),
        "the spend is in every escalation: {esc}"
    );
}

#[test]
fn cost_lines_are_cumulative_per_turn_and_never_counted_twice() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    let (afk, plan) = world(&sb, &["acme/api"], "[watch]\nfix_forward_max = 1\n");
    let line =
        |v: &str| format!("printf '%s\\n' '{{\"cost_usd\": {v}}}' >> \"$AFK_PROGRESS_FILE\"\n");
    turn(&plan, 1, &format!("{}{}", line("0.2"), line("0.4")));
    turn(&plan, 2, &format!("{}{}", line("0.1"), line("0.3")));
    afk.poll();
    afk.wait_agent(1);
    afk.watch();
    assert_eq!(spend(&afk, 1), 0.4);
    afk.wait_agent(1);
    // the second turn's lines start again from 0: 0.4 + 0.3
    let (_, r, _) = afk.watch();
    assert_eq!(action_of(&r, 1).0, "escalate");
    let got = spend(&afk, 1).as_f64().unwrap();
    assert!((got - 0.7).abs() < 1e-9, "{got}");
}

#[test]
fn a_torn_line_and_a_truncated_log_are_each_counted_once() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    let (afk, plan) = world(&sb, &["acme/api"], "");
    // bounded, so an agent left behind by a failed test still ends
    let wait = |f: &str| {
        format!(
            "i=0; while [ ! -e \"$AFK_RUN_DIR/{f}\" ] && [ $i -lt 3000 ]; do sleep 0.02; i=$((i+1)); done\n"
        )
    };
    turn(
        &plan,
        1,
        &format!(
            "echo 'a long line of agent chatter before anything else, to push the read offset on'\n\
             printf '%s\\n' '{{\"type\":\"result\",\"total_cost_usd\":0.5}}'\n\
             printf '%s' '{{\"type\":\"result\",\"total_cost_usd\":'\n: > \"$AFK_RUN_DIR/half\"\n{}\
             printf '%s\\n' '0.25}}'\n: > \"$AFK_RUN_DIR/whole\"\n{}\
             printf '%s\\n' '{{\"type\":\"result\",\"total_cost_usd\":0.125}}'\n: > \"$AFK_RUN_DIR/third\"\nexec sleep 120\n",
            wait("go"),
            wait("go2")
        ),
    );
    afk.poll();
    wait_file(&run_file(&afk, 1, "half"));
    for _ in 0..2 {
        let (code, _, err) = afk.watch();
        assert_eq!(code, 0, "{err}");
        assert_eq!(spend(&afk, 1), 0.5, "a torn line waits for its end");
    }
    std::fs::write(run_file(&afk, 1, "go"), "").unwrap();
    wait_file(&run_file(&afk, 1, "whole"));
    for _ in 0..2 {
        afk.watch();
        assert_eq!(spend(&afk, 1), 0.75);
    }
    // copytruncate under the running agent: what follows is read from the start
    std::fs::OpenOptions::new()
        .write(true)
        .open(run_file(&afk, 1, "agent.log"))
        .unwrap()
        .set_len(0)
        .unwrap();
    std::fs::write(run_file(&afk, 1, "go2"), "").unwrap();
    wait_file(&run_file(&afk, 1, "third"));
    for _ in 0..2 {
        afk.watch();
        assert_eq!(spend(&afk, 1), 0.875);
    }
    kill_agent(&afk, 1);
}

#[test]
fn the_metrics_file_carries_spend_per_day_and_per_repo() {
    let sb = Sandbox::start(json!({"repos": [
        repo("acme/a", json!([ready(1, "alice")])),
        repo("acme/b", json!([ready(1, "alice")])),
    ]}));
    let (afk, plan) = world(
        &sb,
        &["acme/a", "acme/b"],
        "max_per_tick = 2\n[budget]\npause_for = \"0s\"\nday_usd = 5.0\n",
    );
    let text = std::fs::read_to_string(&afk.config).unwrap();
    std::fs::write(&afk.config, format!("metrics_file = \"afk.prom\"\n{text}")).unwrap();
    turn(
        &plan,
        1,
        "[ \"$AFK_REPO\" = acme/a ] && c=0.42 || c=1.0\nprintf '{\"cost_usd\": %s}\\n' $c >> \"$AFK_PROGRESS_FILE\"\n",
    );
    pin(&afk, tomorrow(9, 0));
    afk.poll();
    afk.wait_agent(1);
    afk.wait_agent(2);
    afk.watch();
    let prom = std::fs::read_to_string(afk.scratch.path("afk.prom")).unwrap();
    for line in [
        "afk_spend_day_usd 1.42\n",
        "afk_spend_day_repo_usd{repo=\"acme/a\"} 0.42\n",
        "afk_spend_day_repo_usd{repo=\"acme/b\"} 1\n",
        "afk_spend_day_unreported_runs 0\n",
        "afk_spend_usd_total 1.42\n",
        "afk_budget_limit_usd{limit=\"day_usd\"} 5\n",
    ] {
        assert!(prom.contains(line), "{line}in:\n{prom}");
    }
    assert!(
        !prom.contains("afk_budget_limit_usd{limit=\"run_usd\"}"),
        "{prom}"
    );
    // the next UTC day counts its own runs; the total keeps everything
    pin(&afk, tomorrow(9, 0) + time::Duration::days(1));
    afk.watch();
    let prom = std::fs::read_to_string(afk.scratch.path("afk.prom")).unwrap();
    assert!(prom.contains("afk_spend_day_usd 0\n"), "{prom}");
    assert!(!prom.contains("afk_spend_day_repo_usd{"), "{prom}");
    assert!(prom.contains("afk_spend_usd_total 1.42\n"), "{prom}");
}

#[test]
fn the_demo_stops_a_run_over_budget_and_then_dispatch_for_the_day() {
    let out = demo(&["--json", "demo"], 120);
    let doc: Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    // every run of the main act reports what it spent (Claude Code's JSON result)
    let main = doc["ticks"].as_array().unwrap();
    assert!(
        main.iter().any(|t| t["actions"]
            .as_array()
            .is_some_and(|a| a.iter().any(|x| x["spend_usd"] == 0.35))),
        "{main:?}"
    );
    // the hook act's whole loop ran on events alone: each step measured
    let hook = &doc["hook"];
    for step in [
        "agent_started_ms",
        "pr_open_ms",
        "corrective_turn_ms",
        "ended_ms",
    ] {
        assert!(hook[step].as_u64().is_some(), "{step}: {hook}");
    }
    let ticks = doc["budget"]["ticks"].as_array().unwrap();
    assert_eq!(ticks.len(), 3, "{ticks:?}");
    let watch = &ticks[1]["actions"][0];
    assert_eq!(
        (watch["action"].as_str(), watch["reason"].as_str()),
        (Some("escalate"), Some("over-budget")),
        "{watch}"
    );
    assert_eq!(watch["spend_usd"], 1.25);
    assert_eq!(
        reason_of(&ticks[2], "acme/pay", 2).as_deref(),
        Some("budget"),
        "{}",
        ticks[2]
    );
    assert_eq!(ticks[2]["budget"][0]["limit"], "day_usd");
}

#[test]
fn doctor_says_when_a_money_limit_cannot_see_the_spend() {
    let check = |command: &str, budget: &str| {
        let afk = Afk::with_text(&format!(
            "state_path = \"s/afk.db\"\n[forge]\nurl = \"http://127.0.0.1:9\"\nretries = 0\ntimeout = \"1s\"\n\
             [runner]\nconfine = \"none\"\ncommand = [\"sh\", \"-c\", \"{command}\"]\n[budget]\npause_for = \"0s\"\n{budget}\n"
        ));
        let (_, r, _) = afk.json(&["doctor"]);
        let c = r["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["check"] == "budget")
            .cloned()
            .unwrap_or_else(|| panic!("{r}"));
        (
            c["ok"].as_bool().unwrap(),
            c["detail"].as_str().unwrap().to_string(),
        )
    };
    let (ok, detail) = check("claude -p < p", "day_usd = 0.01");
    assert!(!ok && detail.contains("--output-format json"), "{detail}");
    let (ok, detail) = check("claude -p --output-format json < p", "day_usd = 0.01");
    assert!(ok && detail.contains("day_usd $0.01"), "{detail}");
    // only a time limit: nothing to see, run_time holds whatever the agent says
    let (ok, _) = check("claude -p < p", "run_time = \"4h\"");
    assert!(ok);
    let (ok, detail) = check("my-agent", "");
    assert!(ok && detail.contains("no limits"), "{detail}");
}

// ---- issue 29: spend is found, not parsed by luck; the agent is handed its limit --

#[test]
fn a_result_record_after_stray_bytes_is_still_spend() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    let (afk, plan) = world(
        &sb,
        &["acme/api"],
        "[budget]\npause_for = \"0s\"\nrun_usd = 1.0\n",
    );
    // a byte before the record (an agent hiding its cost, or a terminal's junk)
    turn(
        &plan,
        1,
        "printf '%s\\n' 'x{\"type\":\"result\",\"subtype\":\"success\",\"is_error\":false,\"total_cost_usd\":42}'\n",
    );
    afk.poll();
    afk.wait_agent(1);
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        action_of(&r, 1),
        ("escalate".into(), Some("over-budget".into())),
        "{r}"
    );
    assert_eq!(spend(&afk, 1), 42.0);
}

#[test]
fn a_cost_line_after_a_spinners_carriage_returns_is_still_spend() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    let (afk, plan) = world(
        &sb,
        &["acme/api"],
        "[budget]\npause_for = \"0s\"\nrun_usd = 1.0\n",
    );
    // a spinner redraws its line with `\r`; the figure comes at the end of it
    turn(
        &plan,
        1,
        "printf '| working\\r/ working\\r- working\\r{\"cost_usd\": 2}\\n'\n\
         printf '\\\\ thinking\\r{\"cost_usd\": 2}\\n' >> \"$AFK_PROGRESS_FILE\"\n",
    );
    afk.poll();
    afk.wait_agent(1);
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        action_of(&r, 1),
        ("escalate".into(), Some("over-budget".into())),
        "{r}"
    );
    assert_eq!(spend(&afk, 1), 2.0);
}

/// A turn script that writes what it was handed as `AFK_BUDGET_USD` (or
/// `unset`) to `budget-<turn>` in its run folder, then reports `cost` and exits without a PR.
fn budget_seen(cost: &str) -> String {
    format!(
        "printf '%s\\n' \"${{AFK_BUDGET_USD-unset}}\" > \"$AFK_RUN_DIR/budget-$AFK_TURN\"\n\
         printf '%s\\n' '{{\"cost_usd\": {cost}}}' >> \"$AFK_PROGRESS_FILE\"\n"
    )
}

fn budget_file(afk: &Afk, run: i64, turn: u32) -> String {
    let text = std::fs::read_to_string(run_file(afk, run, &format!("budget-{turn}"))).unwrap();
    text.trim().to_string()
}

#[test]
fn the_agent_is_handed_what_is_left_of_its_money_limits_at_every_turn() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    let (afk, plan) = world(
        &sb,
        &["acme/api"],
        "[budget]\npause_for = \"0s\"\nrun_usd = 3.0\nday_usd = 2.0\n[watch]\nfix_forward_max = 1\n",
    );
    turn(&plan, 1, &budget_seen("1.25"));
    turn(&plan, 2, &budget_seen("0.25"));
    pin(&afk, tomorrow(10, 0));
    // afk's own environment never leaks a stale figure to the agent
    let out = afk
        .cmd()
        .env("AFK_BUDGET_USD", "99")
        .args(["--json", "poll"])
        .output()
        .unwrap();
    assert!(out.status.success());
    afk.wait_agent(1);
    // the first turn: the smaller of run_usd $3 and the day's $2
    assert_eq!(budget_file(&afk, 1, 1), "2");
    let (_, r, _) = afk.watch();
    assert_eq!(
        action_of(&r, 1),
        ("corrective_turn".into(), Some("no-pr".into()))
    );
    afk.wait_agent(1);
    // the corrective turn: $3 - $1.25 for the run, $2 - $1.25 for the day
    assert_eq!(budget_file(&afk, 1, 2), "0.75");
}

#[test]
fn the_repos_day_limit_is_handed_over_too_and_nothing_without_a_money_limit() {
    let sb = Sandbox::start(json!({"repos": [
        repo("acme/a", json!([ready(1, "alice"), ready(2, "alice"), ready(3, "alice")])),
    ]}));
    let (afk, plan) = world(
        &sb,
        &["acme/a"],
        "max_per_tick = 1\n[budget]\npause_for = \"0s\"\nrepo_day_usd = 5.0\nrun_time = \"4h\"\n[watch]\nfix_forward_max = 0\n",
    );
    turn(&plan, 1, &budget_seen("1.5"));
    pin(&afk, tomorrow(10, 0));
    afk.poll();
    afk.wait_agent(1);
    assert_eq!(budget_file(&afk, 1, 1), "5");
    let (_, r, _) = afk.watch();
    assert_eq!(action_of(&r, 1).0, "escalate");
    afk.poll();
    afk.wait_agent(2);
    assert_eq!(budget_file(&afk, 2, 1), "3.5", "what acme/a has left today");
    // only a time limit: no money limit, no figure
    let text = std::fs::read_to_string(&afk.config)
        .unwrap()
        .replace("repo_day_usd = 5.0\n", "");
    std::fs::write(&afk.config, text).unwrap();
    let (_, r, _) = afk.watch();
    assert_eq!(action_of(&r, 2).0, "escalate");
    let out = afk
        .cmd()
        .env("AFK_BUDGET_USD", "99")
        .args(["--json", "poll"])
        .output()
        .unwrap();
    assert!(out.status.success());
    afk.wait_agent(3);
    assert_eq!(budget_file(&afk, 3, 1), "unset");
}

/// A sandbox and an afk whose run 1 is over `run_usd` ($1.25 reported) with
/// its first turn still running; its second turn leaves `continued`. The
/// metrics file is `afk.prom`.
pub(crate) fn at_the_limit(budget: &str) -> (Sandbox, Afk) {
    at_the_limit_edited(budget, |text| {
        format!("metrics_file = \"afk.prom\"\n{text}")
    })
}

/// [`at_the_limit`] with its config text `edit`ed in place of the metrics
/// file's line.
pub(crate) fn at_the_limit_edited(
    budget: &str,
    edit: impl FnOnce(&str) -> String,
) -> (Sandbox, Afk) {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    let (afk, plan) = world(&sb, &["acme/api"], budget);
    let text = std::fs::read_to_string(&afk.config).unwrap();
    std::fs::write(&afk.config, edit(&text)).unwrap();
    turn(&plan, 2, ": > \"$AFK_RUN_DIR/continued\"\n");
    spend_past_the_limit(&afk, &plan);
    (sb, afk)
}

/// Run 1's first turn reports $1.25, leaves `spent` and keeps running: a
/// poll dispatches it, and this waits for `spent`.
pub(crate) fn spend_past_the_limit(afk: &Afk, plan: &Path) {
    turn(
        plan,
        1,
        &format!(
            "printf '%s\\n' '{{\"cost_usd\": 1.25}}' >> \"$AFK_PROGRESS_FILE\"\n\
             : > \"$AFK_RUN_DIR/spent\"\n{SLEEP}"
        ),
    );
    afk.poll();
    wait_file(&run_file(afk, 1, "spent"));
}

/// A tick that pauses `issue`'s run.
pub(crate) fn pauses(afk: &Afk, issue: u64) {
    let (_, r, _) = afk.watch();
    assert_eq!(action_of(&r, issue).0, "pause", "{r}");
}

/// [`at_the_limit`] after the tick that pauses its run.
pub(crate) fn paused_at_the_limit(budget: &str) -> (Sandbox, Afk) {
    let (sb, afk) = at_the_limit(budget);
    pauses(&afk, 1);
    (sb, afk)
}

/// A tick (its exit not looked at) that takes `action` (for `reason`) on
/// issue 1; its report.
pub(crate) fn takes(afk: &Afk, action: &str, reason: Option<&str>) -> Value {
    let (_, r, _) = afk.watch();
    assert_eq!(
        action_of(&r, 1),
        (action.to_string(), reason.map(str::to_string)),
        "{r}"
    );
    r
}

/// A tick that exits 0 and takes `action` (for `reason`) on issue 1; its
/// report.
pub(crate) fn takes_cleanly(afk: &Afk, action: &str, reason: Option<&str>) -> Value {
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        action_of(&r, 1),
        (action.to_string(), reason.map(str::to_string)),
        "{r}"
    );
    r
}

/// A tick that exits 0 continues run 1 (for `reason`), and its second turn
/// leaves `continued`.
pub(crate) fn continues(afk: &Afk, reason: &str) {
    takes_cleanly(afk, "continue", Some(reason));
    wait_file(&run_file(afk, 1, "continued"));
}

/// Whether acme/api#1 wears `agent-paused` is `on`.
pub(crate) fn assert_paused_label(sb: &Sandbox, on: bool) {
    let labels = sb.labels_of("acme/api", 1);
    assert_eq!(
        labels.contains(&"agent-paused".to_string()),
        on,
        "{labels:?}"
    );
}

/// afk's pause comments on the first repository.
pub(crate) fn paused_comments(sb: &Sandbox) -> Vec<String> {
    comments(sb, 0)
        .into_iter()
        .filter(|c| c.contains("afk:paused"))
        .collect()
}

/// The operator raises `run_usd` from 1.0 to 3.0.
pub(crate) fn raise_run_usd(afk: &Afk) {
    let text = std::fs::read_to_string(&afk.config).unwrap();
    std::fs::write(&afk.config, text.replace("run_usd = 1.0", "run_usd = 3.0")).unwrap();
}

/// The kill switch on (`poll.enabled = false`); the config as it was.
pub(crate) fn kill_switch(afk: &Afk) -> String {
    let on = std::fs::read_to_string(&afk.config).unwrap();
    std::fs::write(&afk.config, on.replace("enabled = true", "enabled = false")).unwrap();
    on
}

/// With `pause_for` set, at `run_usd` the turn is stopped and the run
/// pauses (the agent stopped, `agent-paused` added, one comment, one
/// `run.paused` notification, no escalation); a later tick only waits; a
/// trusted `/afk resume` after the config was raised continues it with a
/// turn of its own, and the paused label goes.
#[test]
fn a_run_at_run_usd_pauses_and_a_trusted_resume_after_a_raise_continues_it() {
    with_dialect(Dialect::Github, || {
        let (sb, afk) = at_the_limit("[budget]\nrun_usd = 1.0\npause_for = \"1h\"\n");
        let (code, r, err) = afk.watch();
        assert_eq!(code, 0, "{err}");
        assert_eq!(action_of(&r, 1).0, "pause", "{r}");
        assert!(!agent_alive(&afk, 1), "the turn was stopped");
        let labels = sb.labels_of("acme/api", 1);
        assert!(labels.contains(&"agent-paused".to_string()), "{labels:?}");
        assert!(
            !labels.contains(&"ready-for-human".to_string()),
            "{labels:?}"
        );
        let said = paused_comments(&sb);
        assert_eq!(said.len(), 1, "{said:?}");
        assert!(
            said[0].contains("$1.25") && said[0].contains("$1.00"),
            "{}",
            said[0]
        );
        assert!(
            !comments(&sb, 0)
                .iter()
                .any(|c| c.contains("afk:escalation"))
        );
        let hooks = sb.hooks();
        assert!(
            hooks.iter().any(|h| h["hook"] == "webhook"
                && h["body"]["event"] == "run.paused"
                && h["body"]["reason"] == "run_usd"),
            "{hooks:?}"
        );
        let list = comments(&sb, 0);
        let checklist = list.iter().find(|c| c.contains("afk:checklist")).unwrap();
        assert!(
            checklist.contains("**paused** at $1.25 of $1.00 (`budget.run_usd`) since"),
            "{checklist}"
        );
        // a pause never hides a run: status and the page say it
        let (code, st, err) = afk.json(&["status"]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(st["runs"][0]["paused"]["limit"], "run_usd", "{st}");
        assert_eq!(st["runs"][0]["state"], "paused", "{st}");
        assert_eq!(st["runs"][0]["paused"]["limit_usd"], 1.0, "{st}");
        assert_eq!(st["runs"][0]["paused"]["spend_usd"], 1.25, "{st}");
        assert!(st["runs"][0]["paused"]["until"].as_str().is_some(), "{st}");
        let out = afk.cmd().arg("status").output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("(run 1) is paused at `budget.run_usd` since"),
            "{text}"
        );
        let out = afk.cmd().args(["status", "--html"]).output().unwrap();
        assert!(String::from_utf8_lossy(&out.stdout).contains("paused at"));
        let prom = std::fs::read_to_string(afk.scratch.path("afk.prom")).unwrap();
        assert!(
            prom.contains("afk_runs_in_flight{state=\"paused\"} 1"),
            "{prom}"
        );
        // a later tick waits and says nothing new
        let (_, r, _) = afk.watch();
        assert_eq!(action_of(&r, 1).0, "wait", "{r}");
        assert_eq!(paused_comments(&sb).len(), 1);
        // the operator raises the limit; a trusted person continues the run
        raise_run_usd(&afk);
        // a stranger's resume is nobody's command
        sb.comment_on("acme/api", On::Issue(1), "mallory", "/afk resume");
        let (_, r, _) = afk.watch();
        assert_eq!(action_of(&r, 1).0, "wait", "{r}");
        assert!(!run_file(&afk, 1, "continued").exists());
        sb.comment_on("acme/api", On::Issue(1), "alice", "/afk resume");
        // the kill switch holds the continuation: wait kill-switch
        let raised = kill_switch(&afk);
        takes(&afk, "wait", Some("kill-switch"));
        assert!(!run_file(&afk, 1, "continued").exists());
        std::fs::write(&afk.config, &raised).unwrap();
        let (code, r, err) = afk.watch();
        assert_eq!(code, 0, "{err}");
        assert_eq!(action_of(&r, 1).0, "continue", "{r}");
        wait_file(&run_file(&afk, 1, "continued"));
        assert_paused_label(&sb, false);
        let (_, st, _) = afk.json(&["status"]);
        assert!(st["runs"][0].get("paused").is_none(), "{st}");
    });
}

/// A pause nobody continues within `pause_for` escalates as a limit always
/// did, once, and the paused label goes with the run's end.
#[test]
fn a_pause_nobody_continues_escalates_after_pause_for_and_takes_its_label() {
    with_dialect(Dialect::Github, || {
        let (sb, afk) = paused_at_the_limit("[budget]\nrun_usd = 1.0\npause_for = \"1h\"\n");
        assert_paused_label(&sb, true);
        // a pause teaches nothing yet: budget_exceeded is the escalation's
        let lessons = |afk: &Afk| {
            let (_, l, _) = afk.json(&["lessons", "list", "--type", "budget_exceeded"]);
            l["lessons"].as_array().map_or(0, Vec::len)
        };
        assert_eq!(lessons(&afk), 0);
        pin(
            &afk,
            time::OffsetDateTime::now_utc() + time::Duration::hours(2),
        );
        takes_cleanly(&afk, "escalate", Some("over-budget"));
        let labels = sb.labels_of("acme/api", 1);
        assert!(
            labels.contains(&"ready-for-human".to_string()),
            "{labels:?}"
        );
        assert!(!labels.contains(&"agent-paused".to_string()), "{labels:?}");
        assert_eq!(lessons(&afk), 1);
        let esc: Vec<String> = comments(&sb, 0)
            .into_iter()
            .filter(|c| c.contains("afk:escalation"))
            .collect();
        assert_eq!(esc.len(), 1);
        // that it was paused for pause_for with no continuation
        assert!(
            esc[0].contains("it was paused for 1h (budget.pause_for) and nobody continued it"),
            "{}",
            esc[0]
        );
        let (_, again, _) = afk.watch();
        assert_eq!(again["actions"], json!([]));
    });
}

/// The pause is recorded before the forge hears of it: when the pause's
/// comment is refused, the next tick says it, once.
#[test]
fn a_pause_whose_comment_failed_is_said_on_the_next_tick_once() {
    with_dialect(Dialect::Github, || {
        let (sb, afk) = at_the_limit("[budget]\nrun_usd = 1.0\npause_for = \"1h\"\n");
        let paused = |sb: &Sandbox| paused_comments(sb).len();
        // the pause's comment is the tick's first POST: refused
        sb.faults(
            json!([{"method": "POST", "path": "/issues/1/comments", "status": 403, "times": 1}]),
        );
        let (_, r, _) = afk.watch();
        assert_eq!(r["errors"].as_array().map(Vec::len), Some(1), "{r}");
        assert_eq!(paused(&sb), 0);
        let (_, st, _) = afk.json(&["status"]);
        assert_eq!(
            st["runs"][0]["paused"]["limit"], "run_usd",
            "recorded first: {st}"
        );
        let (_, r, _) = afk.watch();
        assert_eq!(action_of(&r, 1).0, "wait", "{r}");
        assert_eq!(paused(&sb), 1);
        let (_, _, _) = afk.watch();
        assert_eq!(paused(&sb), 1, "said once");
        let posts = sb
            .requests()
            .iter()
            .filter(|q| q["method"] == "POST")
            .count();
        let (_, _, _) = afk.watch();
        let again = sb
            .requests()
            .iter()
            .filter(|q| q["method"] == "POST")
            .count();
        assert_eq!(posts, again, "a said pause posts nothing more");
    });
}

/// The budget verb: a trusted `/afk budget +<usd>` raises the paused run's
/// own limit within `max_run_usd` and continues it; a stranger's raise, a
/// raise past the maximum and a malformed command do nothing (the last two
/// answered: the key and figures, the grammar).
#[test]
fn a_trusted_budget_raise_continues_a_paused_run_and_nothing_else_does() {
    with_dialect(Dialect::Github, || {
        let (sb, afk) =
            paused_at_the_limit("[budget]\nrun_usd = 1.0\npause_for = \"1h\"\nmax_run_usd = 5.0\n");
        let before = comments(&sb, 0).len();
        // each leaves the run paused: a stranger's raise (nobody's command,
        // nothing said), one past the maximum (refused, named), a malformed
        // one (the grammar)
        for (who, said) in [
            ("mallory", "/afk budget +2"),
            ("alice", "/afk budget 9"),
            ("alice", "/afk budget lots"),
        ] {
            sb.comment_on("acme/api", On::Issue(1), who, said);
            let (_, r, _) = afk.watch();
            assert_eq!(
                action_of(&r, 1),
                ("wait".into(), Some("paused".into())),
                "{who}: {said}: {r}"
            );
        }
        let said: Vec<String> = comments(&sb, 0).into_iter().skip(before).collect();
        let afks: Vec<&String> = said.iter().filter(|c| !c.starts_with("/afk")).collect();
        assert!(
            afks.iter().any(|c| c.contains("budget.max_run_usd")),
            "{said:?}"
        );
        assert!(afks.iter().any(|c| c.contains("budget +<usd>")), "{said:?}");
        assert!(!run_file(&afk, 1, "continued").exists());
        // a trusted raise within the maximum continues the run
        sb.comment_on("acme/api", On::Issue(1), "alice", "/afk budget +2");
        continues(&afk, "budget");
        let (_, st, _) = afk.json(&["status"]);
        assert!(st["runs"][0].get("paused").is_none(), "{st}");
        // runs show says the run's own limit and who raised it
        let (code, shown, err) = afk.json(&["runs", "show", "1"]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(shown["limits"]["run_usd"], 3.0, "{shown}");
        assert_eq!(shown["limits"]["set_by"], "alice", "{shown}");
        let (_, st, _) = afk.json(&["status"]);
        assert_eq!(st["runs"][0]["limits"]["run_usd"], 3.0, "{st}");
        assert_eq!(st["runs"][0]["limits"]["set_by"], "alice", "{st}");
        // the pause and the continuation are events of the run
        let timeline = shown["timeline"].to_string();
        assert!(timeline.contains("run.paused"), "{timeline}");
        assert!(
            timeline.contains("run.continued: afk continued acme/api#1"),
            "{timeline}"
        );
        let out = afk.cmd().args(["runs", "show", "1"]).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("limits: run_usd $3.00 (raised by alice)"),
            "{text}"
        );
        // and the status page's row, by the run's spend
        let out = afk.cmd().args(["status", "--html"]).output().unwrap();
        let page = String::from_utf8_lossy(&out.stdout);
        assert!(page.contains("(limit raised: $3.00 by alice)"), "{page}");
    });
}
