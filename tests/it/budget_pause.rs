//! Budgets that pause, through the binary: a turn the gateway stopped at
//! the day's cap pauses its run until 00:00 UTC and the first tick after
//! midnight continues it by itself; a paused run ends as any run does (the
//! issue closed, the in-progress label removed, `/afk stop`), the paused
//! label with it; the stop file holds a continuation a person asked for
//! until it is gone; a resume with no room yet is answered and acts on
//! nothing; on Gitea a budget raise waits for its author's own 👍; a
//! paused run whose PR a person merges succeeds at the next tick; a paused
//! run keeps its repository locked; the kill switch records a raise and
//! holds its continuation; an ask made while paused is the turn after the
//! continuation's; a run paused at `run_time` has its work on its PR by the
//! end of the pausing tick; the checklist keeps a line per pause and
//! continuation; runs paused at a day's cap continue oldest first.

use crate::budget::{
    SLEEP, assert_paused_label, at_the_limit, at_the_limit_edited, comments, continues,
    kill_switch, paused_at_the_limit, paused_comments, pauses, pin, raise_run_usd, run_file,
    spend_past_the_limit, takes, takes_cleanly, tomorrow, turn, wait_file, world,
};
use crate::conversation::questions;
use crate::metered::stopped_at_the_day;
use crate::support::*;
use crate::workspace::forge_head;
use afk_core::gateway::budget::STOP_FILE;
use serde_json::{Value, json};

/// The gateway stopped the turn at `day_usd`: the run pauses at the day's
/// cap (no raise offered, a comment cannot raise it), waits the rest of
/// the day, and the first tick at or after 00:00 UTC continues it with a
/// turn of its own, nobody's command needed.
#[test]
fn a_turn_stopped_at_the_days_cap_pauses_until_midnight_and_continues_by_itself() {
    with_dialect(Dialect::Github, || {
        let (sb, afk, plan) = first_turn_stopped_at_the_day();
        // the continuation says what it was handed, then that it ran
        turn(
            &plan,
            2,
            "printf '%s\\n' \"${AFK_BUDGET_USD-unset}\" > \"$AFK_RUN_DIR/budget-2\"\n\
             : > \"$AFK_RUN_DIR/continued\"\n",
        );
        pin(&afk, tomorrow(10, 0));
        afk.poll();
        afk.wait_agent(1);
        takes_cleanly(&afk, "pause", Some("day_usd"));
        let said = paused_comments(&sb);
        assert_eq!(said.len(), 1, "{said:?}");
        assert!(
            said[0].contains("the day's budget ($2.00, `budget.day_usd`)")
                && said[0].contains("continues by itself at 00:00 UTC"),
            "{}",
            said[0]
        );
        assert!(!said[0].contains("budget +"), "{}", said[0]);
        assert_paused_label(&sb, true);
        // the rest of the day: it waits, until the next midnight
        pin(&afk, tomorrow(23, 59));
        takes(&afk, "wait", Some("paused"));
        let (_, st, _) = afk.json(&["status"]);
        assert_eq!(st["runs"][0]["paused"]["limit"], "day_usd", "{st}");
        assert!(
            st["runs"][0]["paused"]["until"]
                .as_str()
                .is_some_and(|u| u.contains("T00:00:00")),
            "{st}"
        );
        // afk runs and runs show say it too, with its figures and deadline
        let (code, runs, err) = afk.json(&["runs"]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(runs["runs"][0]["state"], "paused", "{runs}");
        assert_eq!(runs["runs"][0]["paused"]["limit"], "day_usd", "{runs}");
        assert_eq!(runs["runs"][0]["paused"]["limit_usd"], 2.0, "{runs}");
        let (_, shown, _) = afk.json(&["runs", "show", "1"]);
        assert_eq!(
            shown["run"]["paused"]["until"], st["runs"][0]["paused"]["until"],
            "{shown}"
        );
        let out = afk.cmd().arg("runs").output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("paused at $2.00 of $2.00 (day_usd)"),
            "{text}"
        );
        assert!(!run_file(&afk, 1, "continued").exists());
        // the first tick after 00:00 UTC continues it, no person needed
        pin(&afk, tomorrow(0, 1) + time::Duration::days(1));
        continues(&afk, "day");
        // the day counted by turns: yesterday's $2.00 is
        // yesterday's; the new day's whole cap is the continuation's
        let handed = std::fs::read_to_string(run_file(&afk, 1, "budget-2")).unwrap();
        assert_eq!(handed.trim(), "2", "AFK_BUDGET_USD");
        assert_paused_label(&sb, false);
        assert!(
            !run_file(&afk, 1, STOP_FILE).exists(),
            "the paused turn's stop record is not the continuation's"
        );
    });
}

/// A paused run ends as any run does, and its paused label goes with it:
/// the issue closed or its in-progress label removed (abandon), a trusted
/// `/afk stop` (escalated `stopped`).
#[test]
fn a_paused_run_ends_as_any_run_and_takes_its_paused_label() {
    with_dialect(Dialect::Github, || {
        // (what a person does, the action it comes to)
        type End = (fn(&Sandbox), (&'static str, Option<&'static str>));
        let ends: [End; 3] = [
            (
                |sb| {
                    sb.admin(
                        "POST",
                        "/issue_state",
                        Some(json!({"repo": "acme/api", "issue": 1, "state": "closed"})),
                    );
                },
                ("abandon", None),
            ),
            (
                |sb| sb.label("acme/api", 1, "agent-in-progress", "alice", false),
                ("abandon", None),
            ),
            (
                |sb| {
                    sb.comment_on("acme/api", On::Issue(1), "alice", "/afk stop");
                },
                ("escalate", Some("stopped")),
            ),
        ];
        for (end, (action, reason)) in ends {
            let (sb, afk) = paused_at_the_limit("[budget]\nrun_usd = 1.0\npause_for = \"1h\"\n");
            end(&sb);
            takes_cleanly(&afk, action, reason);
            assert_paused_label(&sb, false);
            assert!(!run_file(&afk, 1, "continued").exists());
            // ended: a later tick does nothing more with it
            let (_, again, _) = afk.watch();
            assert_eq!(again["actions"], json!([]), "{again}");
        }
    });
}

/// A person merges the paused run's PR meanwhile: the next tick ends it a
/// success (a merged PR is a success whatever it cost), its paused label
/// removed, no continuation. The pausing tick's entry carried its spend and
/// the metrics file counted the pause by its limit.
#[test]
fn a_paused_run_whose_pr_a_person_merges_succeeds_at_the_next_tick() {
    with_dialect(Dialect::Github, || {
        let (sb, afk) = at_the_limit("[budget]\nrun_usd = 1.0\npause_for = \"1h\"\n");
        let r = takes_cleanly(&afk, "pause", Some("run_usd"));
        // {"action": "pause", "reason", "spend_usd"}
        let entry = r["actions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["issue"] == 1)
            .unwrap()
            .clone();
        assert_eq!(entry["spend_usd"], 1.25, "{r}");
        // the counter afk_pauses_total{limit}
        let prom = std::fs::read_to_string(afk.scratch.path("afk.prom")).unwrap();
        assert!(
            prom.contains("afk_pauses_total{limit=\"run_usd\"} 1"),
            "{prom}"
        );
        assert!(
            prom.contains("afk_pauses_total{limit=\"day_usd\"} 0"),
            "{prom}"
        );
        assert_paused_label(&sb, true);
        // a person pushes to afk's branch, opens the PR and merges it
        sb.push_commit("acme/api", "afk/issue-1", "fix.txt");
        let pr = sb.open_pr("acme/api", "afk/issue-1", "a fix");
        sb.merge_by("acme/api", pr, "alice");
        takes_cleanly(&afk, "succeed", None);
        assert_paused_label(&sb, false);
        assert_eq!(afk.run_row(1)["state"], "succeeded");
        assert!(afk.run_row(1).get("paused").is_none());
        assert!(!run_file(&afk, 1, "continued").exists());
        // ended: a later tick does nothing more with it
        let (_, again, _) = afk.watch();
        assert_eq!(again["actions"], json!([]), "{again}");
    });
}

/// A paused run is a run in flight: its repository stays locked for the
/// other ready issue, and its own issue is not dispatched again (the
/// arming was handled).
#[test]
fn a_paused_run_keeps_its_repo_locked_and_is_not_dispatched_again() {
    with_dialect(Dialect::Github, || {
        let sb = Sandbox::start(json!({"repos": [repo(
            "acme/api",
            json!([ready(1, "alice"), ready(2, "alice")])
        )]}));
        let (afk, plan) = world(
            &sb,
            &["acme/api"],
            "[budget]\nrun_usd = 1.0\npause_for = \"1h\"\n",
        );
        spend_past_the_limit(&afk, &plan);
        let (_, runs, _) = afk.json(&["runs"]);
        let busy = runs["runs"][0]["issue"].as_u64().unwrap();
        let other = 3 - busy;
        pauses(&afk, busy);
        let (code, p, err) = afk.poll();
        assert_eq!(code, 0, "{err}");
        assert_eq!(
            reason_of(&p, "acme/api", other).as_deref(),
            Some("repo-locked"),
            "{p}"
        );
        let (_, runs, _) = afk.json(&["runs"]);
        assert_eq!(runs["runs"].as_array().map(Vec::len), Some(1), "{runs}");
        assert_eq!(runs["runs"][0]["state"], "paused", "{runs}");
    });
}

/// With the kill switch on (`poll.enabled = false`) watch still carries
/// out a trusted raise (recorded, acknowledged with `eyes`) but starts no
/// continuation (`wait kill-switch`); the first tick after the switch is
/// back on continues the run.
#[test]
fn the_kill_switch_records_a_raise_and_holds_its_continuation() {
    with_dialect(Dialect::Github, || {
        let (sb, afk) =
            paused_at_the_limit("[budget]\nrun_usd = 1.0\npause_for = \"1h\"\nmax_run_usd = 5.0\n");
        let on = kill_switch(&afk);
        let raise = sb.comment_on("acme/api", On::Issue(1), "alice", "/afk budget +2");
        takes_cleanly(&afk, "wait", Some("kill-switch"));
        let (_, eyes) = sb.reactions("acme/api", On::Issue(1), raise);
        assert!(eyes.iter().any(|(_, c)| c == "eyes"), "{eyes:?}");
        let (_, shown, _) = afk.json(&["runs", "show", "1"]);
        assert_eq!(shown["limits"]["run_usd"], 3.0, "{shown}");
        assert!(!run_file(&afk, 1, "continued").exists());
        std::fs::write(&afk.config, &on).unwrap();
        continues(&afk, "budget");
    });
}

/// An ask made while the run is paused waits, never lost: the continuation
/// does not take it, the turn after the continuation does.
#[test]
fn an_ask_made_while_paused_is_answered_by_the_turn_after_the_continuation() {
    with_dialect(Dialect::Github, || {
        let (sb, afk) =
            paused_at_the_limit("[budget]\nrun_usd = 1.0\npause_for = \"1h\"\nmax_run_usd = 5.0\n");
        sb.comment_on(
            "acme/api",
            On::Issue(1),
            "alice",
            "/afk fix add a changelog line",
        );
        takes(&afk, "wait", Some("paused"));
        sb.comment_on("acme/api", On::Issue(1), "alice", "/afk budget +2");
        takes(&afk, "continue", Some("budget"));
        wait_file(&run_file(&afk, 1, "continued"));
        afk.wait_agent(1);
        // a fix with CI not red is a review turn (as conversation.rs has it)
        takes_cleanly(&afk, "corrective_turn", Some("review"));
    });
}

/// While the stop file exists nothing happens, a continuation a person asked
/// for included; the first tick after it is gone continues the run.
#[test]
fn the_stop_file_holds_a_continuation_until_it_is_gone() {
    with_dialect(Dialect::Github, || {
        let (sb, afk) = paused_at_the_limit("[budget]\nrun_usd = 1.0\npause_for = \"1h\"\n");
        raise_run_usd(&afk);
        sb.comment_on("acme/api", On::Issue(1), "alice", "/afk resume");
        let stop = afk.scratch.path("state/STOP");
        std::fs::write(&stop, "").unwrap();
        let (_, r, _) = afk.watch();
        let acted = r["actions"]
            .as_array()
            .is_some_and(|a| a.iter().any(|a| a["issue"] == 1));
        assert!(!acted, "{r}");
        assert!(!run_file(&afk, 1, "continued").exists());
        std::fs::remove_file(&stop).unwrap();
        continues(&afk, "resume");
    });
}

/// `budget` spends money, so it is in `resume`'s and `fix`'s class: on a
/// forge that cannot date an edit in a comment's own second (Gitea), where
/// the agent's account holds a forge token (`workspace = "agent"`), afk
/// asks the comment's author on the thread and carries the raise out only
/// on their own 👍; nobody else's counts.
#[test]
fn on_gitea_a_budget_raise_waits_for_its_authors_own_thumbs_up() {
    with_dialect(Dialect::Gitea, || {
        // the agent's account holds a forge token
        let (sb, afk) = at_the_limit_edited(
            "[budget]\nrun_usd = 1.0\npause_for = \"1h\"\nmax_run_usd = 5.0\n",
            |text| {
                text.replacen(
                    "confine = \"none\"\n",
                    "confine = \"none\"\nworkspace = \"agent\"\n",
                    1,
                )
            },
        );
        pauses(&afk, 1);
        sb.comment_on("acme/api", On::Issue(1), "alice", "/afk budget +2");
        let paused = |afk: &Afk, why: &str| {
            let (code, r, err) = afk.watch();
            assert_eq!(code, 0, "{why}: {err}");
            assert_eq!(
                action_of(&r, 1),
                ("wait".into(), Some("paused".into())),
                "{why}: {r}"
            );
        };
        paused(&afk, "the raise, asked of its author");
        let asked = questions(&sb);
        assert_eq!(asked.len(), 1, "one question, on the thread");
        // anyone's 👍 but the author's carries nothing out
        sb.thumbs_up(asked[0], "mallory");
        paused(&afk, "mallory's 👍");
        assert!(!run_file(&afk, 1, "continued").exists());
        assert_eq!(questions(&sb).len(), 1, "asked once");
        // alice's own: the raise is carried out and continues the run
        sb.thumbs_up(asked[0], "alice");
        continues(&afk, "budget");
    });
}

/// A trusted `/afk resume` on a paused run with no room yet is answered
/// ("still at $1.25 of $1.00 …"), with no `eyes` and nothing acted on:
/// raising the config afterwards continues nothing by itself; a resume
/// after the raise does.
#[test]
fn a_resume_with_no_room_is_answered_and_continues_nothing() {
    with_dialect(Dialect::Github, || {
        let (sb, afk) =
            paused_at_the_limit("[budget]\nrun_usd = 1.0\npause_for = \"1h\"\nmax_run_usd = 5.0\n");
        let early = sb.comment_on("acme/api", On::Issue(1), "alice", "/afk resume");
        takes(&afk, "wait", Some("paused"));
        let said = comments(&sb, 0);
        assert!(
            said.iter().any(|c| c.contains("still at $1.25 of $1.00")
                && c.contains("`/afk budget +N` (up to $5.00")),
            "{said:?}"
        );
        assert_eq!(
            sb.reactions("acme/api", On::Issue(1), early).1.len(),
            0,
            "no eyes"
        );
        // the operator raises the limit: the early resume was nothing's
        raise_run_usd(&afk);
        takes(&afk, "wait", Some("paused"));
        assert!(!run_file(&afk, 1, "continued").exists());
        sb.comment_on("acme/api", On::Issue(1), "alice", "/afk resume");
        continues(&afk, "resume");
    });
}

/// acme/api#1 ready, `day_usd` $2.00, and run 1's first turn reporting
/// $2.00 and stopped by the gateway at the day's cap.
fn first_turn_stopped_at_the_day() -> (Sandbox, Afk, std::path::PathBuf) {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    let (afk, plan) = world(
        &sb,
        &["acme/api"],
        "[budget]\nday_usd = 2.0\npause_for = \"7d\"\n",
    );
    stopped_at_the_day(
        &plan,
        2.0,
        "printf '%s\\n' '{\"cost_usd\": 2.0}' >> \"$AFK_PROGRESS_FILE\"\n",
    );
    (sb, afk, plan)
}

/// A run in afk's workspace whose agent, still at work with `bought.txt`
/// left uncommitted, is paused at `run_time` (the tick two hours on).
fn paused_at_run_time_with_work_left() -> (Sandbox, Afk) {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    let (afk, plan) = world(
        &sb,
        &["acme/api"],
        "[budget]\nrun_time = \"1h\"\npause_for = \"7d\"\n",
    );
    let text = std::fs::read_to_string(&afk.config).unwrap();
    std::fs::write(
        &afk.config,
        text.replace("[runner]\n", "[runner]\nworkspace = \"afk\"\n"),
    )
    .unwrap();
    turn(
        &plan,
        1,
        &format!("echo bought > bought.txt\n: > \"$AFK_RUN_DIR/started\"\n{SLEEP}"),
    );
    afk.poll();
    wait_file(&run_file(&afk, 1, "started"));
    afk.later(2);
    takes_cleanly(&afk, "pause", Some("run_time"));
    (sb, afk)
}

/// Pausing does what any turn's end does first. A run paused at `run_time`
/// while its agent still ran has the work left uncommitted in its checkout
/// committed by afk, pushed, and its PR opened on it by the end of the
/// pausing tick, the pause's comment naming the PR.
#[test]
fn a_run_paused_at_run_time_has_its_uncommitted_work_on_its_pr_by_the_end_of_the_pausing_tick() {
    with_dialect(Dialect::Github, || {
        let (sb, afk) = paused_at_run_time_with_work_left();
        let head = forge_head(&sb, "afk/issue-1").expect("the turn's work pushed");
        let forge = sb.git.join("acme/api.git");
        assert_eq!(
            git(&forge, &["show", &format!("{head}:bought.txt")]),
            "bought"
        );
        assert_eq!(
            git(&forge, &["log", "-1", "--format=%s", &head]),
            "Uncommitted changes left by turn 1"
        );
        let pulls = sb.api(&sb.dialect.prs_path("acme/api", Listed::Open)).1;
        assert_eq!(pulls[0]["head"]["sha"], head.as_str(), "{pulls}");
        let said = paused_comments(&sb);
        assert_eq!(said.len(), 1, "{said:?}");
        assert!(said[0].contains("the work so far is on #"), "{}", said[0]);
        // the journal: the agent afk stopped, with why, and the push the
        // gate passed
        let rows = afk.sql_rows("SELECT kind, body FROM journal ORDER BY seq");
        let stopped: Vec<&Vec<String>> = rows.iter().filter(|r| r[0] == "agent.stopped").collect();
        assert_eq!(stopped.len(), 1, "{rows:?}");
        assert!(
            stopped[0][1].contains("at run_time: stopped"),
            "{stopped:?}"
        );
        let push = rows
            .iter()
            .find(|r| r[0] == "git.push")
            .expect("a push entry");
        assert!(push[1].contains("\"gate\":\"passed\""), "{push:?}");
    });
}

/// The checklist keeps one line per pause and one per continuation after
/// the run continues: after a pause at `run_usd`, a trusted raise and its
/// continuation, the checklist says both, who raised the budget, from what
/// and to what.
#[test]
fn after_a_pause_a_raise_and_its_continuation_the_checklist_keeps_both_lines() {
    with_dialect(Dialect::Github, || {
        let (sb, afk) =
            paused_at_the_limit("[budget]\nrun_usd = 1.0\npause_for = \"1h\"\nmax_run_usd = 5.0\n");
        sb.comment_on("acme/api", On::Issue(1), "alice", "/afk budget +2");
        continues(&afk, "budget");
        let list = comments(&sb, 0);
        let checklist = list.iter().find(|c| c.contains("afk:checklist")).unwrap();
        assert!(
            checklist.contains("- paused at $1.25 of $1.00 (budget.run_usd) since "),
            "{checklist}"
        );
        assert!(
            checklist.contains("- continued by alice: budget $1.00 → $3.00\n"),
            "{checklist}"
        );
        assert!(!checklist.contains("**paused**"), "{checklist}");
    });
}

/// Several runs paused at a day's cap continue at the first tick after
/// midnight, oldest first: the older run's continuation takes its paused
/// label off (its first write) before the younger's.
#[test]
fn several_runs_paused_at_the_days_cap_continue_at_the_same_tick_oldest_first() {
    with_dialect(Dialect::Github, || {
        let sb = Sandbox::start(json!({"repos": [
            repo("acme/api", json!([ready(1, "alice")])),
            repo("acme/web", json!([ready(1, "alice")]))
        ]}));
        let (afk, plan) = world(
            &sb,
            &["acme/api", "acme/web"],
            "[budget]\nday_usd = 2.0\npause_for = \"7d\"\n",
        );
        stopped_at_the_day(
            &plan,
            2.0,
            "printf '%s\\n' '{\"cost_usd\": 1.0}' >> \"$AFK_PROGRESS_FILE\"\n",
        );
        turn(&plan, 2, ": > \"$AFK_RUN_DIR/continued\"\n");
        pin(&afk, tomorrow(10, 0));
        // one run per repository: both dispatched, whatever a poll's cap
        afk.poll();
        afk.poll();
        afk.wait_agent(1);
        afk.wait_agent(2);
        let (code, r, err) = afk.watch();
        assert_eq!(code, 0, "{err}");
        let actions = r["actions"].as_array().unwrap();
        assert_eq!(actions.len(), 2, "{r}");
        assert!(
            actions
                .iter()
                .all(|a| a["action"] == "pause" && a["reason"] == "day_usd"),
            "{r}"
        );
        // the first tick after midnight continues both
        pin(&afk, tomorrow(0, 1) + time::Duration::days(1));
        sb.clear_requests();
        let (code, r, err) = afk.watch();
        assert_eq!(code, 0, "{err}");
        let actions = r["actions"].as_array().unwrap();
        assert!(
            actions.len() == 2
                && actions
                    .iter()
                    .all(|a| a["action"] == "continue" && a["reason"] == "day"),
            "{r}"
        );
        wait_file(&run_file(&afk, 1, "continued"));
        wait_file(&run_file(&afk, 2, "continued"));
        let repo_of = |id: i64| afk.run_row(id)["repo"].as_str().unwrap().to_string();
        let (older, younger) = (repo_of(1), repo_of(2));
        let writes = sb.writes();
        let unlabelled = |repo: &str| {
            writes
                .iter()
                .position(|w| {
                    w["method"] == "DELETE"
                        && w["path"]
                            .as_str()
                            .is_some_and(|p| p.contains(repo) && p.contains("agent-paused"))
                })
                .unwrap_or_else(|| panic!("{repo}'s paused label stays: {writes:?}"))
        };
        assert!(
            unlabelled(&older) < unlabelled(&younger),
            "run 1 ({older}) continues before run 2 ({younger}): {writes:?}"
        );
    });
}

/// Claude Code's result record as it ends a turn (`--output-format
/// stream-json`): `subtype` and what the turn cost (its own counts, this
/// turn's only).
fn claude_result(subtype: &str, cost_usd: f64) -> String {
    let is_error = subtype != "success";
    format!(
        "printf '%s\\n' '{{\"type\":\"result\",\"subtype\":\"{subtype}\",\"is_error\":{is_error},\"num_turns\":2,\"session_id\":\"s1\",\"total_cost_usd\":{cost_usd}}}'\n"
    )
}

/// Claude Code stops its own turn at its `--max-budget-usd` (what is left
/// of the run's limits): the run pauses at `run_usd`. A trusted raise
/// continues it, and the continuation, which exits 0 with $0.01 spent and
/// room left under the raised limit, is not paused again: the paused turn's
/// stop is that turn's, as a gateway's stop record is.
#[test]
fn a_continuation_after_the_agents_own_budget_stop_is_not_paused_again() {
    with_dialect(Dialect::Github, || {
        let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
        let (afk, plan) = world(
            &sb,
            &["acme/api"],
            "[budget]\nrun_usd = 1.0\nmax_run_usd = 10.0\npause_for = \"7d\"\n",
        );
        turn(
            &plan,
            1,
            &format!("{}exit 1\n", claude_result("error_max_budget_usd", 1.6)),
        );
        turn(
            &plan,
            2,
            &format!(
                "{}: > \"$AFK_RUN_DIR/continued\"\n",
                claude_result("success", 0.01)
            ),
        );
        afk.poll();
        afk.wait_agent(1);
        takes_cleanly(&afk, "pause", Some("run_usd"));
        sb.comment_on("acme/api", On::Issue(1), "alice", "/afk budget +5");
        continues(&afk, "budget");
        afk.wait_agent(1);
        let (code, r, err) = afk.watch();
        assert_eq!(code, 0, "{err}");
        // it goes on as any turn that ended with no PR: a corrective turn
        assert_eq!(
            action_of(&r, 1),
            ("corrective_turn".into(), Some("no-pr".into())),
            "{r}"
        );
        assert_eq!(paused_comments(&sb).len(), 1, "{:?}", paused_comments(&sb));
        let (_, st, _) = afk.json(&["status"]);
        assert!(st["runs"][0].get("paused").is_none(), "{st}");
    });
}

/// Claude Code stops its own turn where the day's cap had the least room
/// (it was handed the day's $2.00 of a $5.00 run limit): the run pauses at
/// `day_usd` until 00:00 UTC, no raise offered and none taken, and the
/// first tick of the next day continues it by itself.
#[test]
fn the_agents_own_stop_at_the_days_cap_pauses_until_midnight_and_continues_by_itself() {
    with_dialect(Dialect::Github, || {
        let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
        let (afk, plan) = world(
            &sb,
            &["acme/api"],
            "[budget]\nrun_usd = 5.0\nday_usd = 2.0\nmax_run_usd = 10.0\npause_for = \"7d\"\n",
        );
        turn(
            &plan,
            1,
            &format!(
                "printf '%s\\n' \"${{AFK_BUDGET_USD-unset}}\" > \"$AFK_RUN_DIR/budget-1\"\n{}exit 1\n",
                claude_result("error_max_budget_usd", 2.0)
            ),
        );
        turn(&plan, 2, ": > \"$AFK_RUN_DIR/continued\"\n");
        pin(&afk, tomorrow(10, 0));
        afk.poll();
        afk.wait_agent(1);
        let handed = std::fs::read_to_string(run_file(&afk, 1, "budget-1")).unwrap();
        assert_eq!(handed.trim(), "2", "AFK_BUDGET_USD");
        takes_cleanly(&afk, "pause", Some("day_usd"));
        let said = paused_comments(&sb);
        assert_eq!(said.len(), 1, "{said:?}");
        assert!(
            said[0].contains("`budget.day_usd`") && said[0].contains("00:00 UTC"),
            "{}",
            said[0]
        );
        assert!(!said[0].contains("budget +"), "{}", said[0]);
        // a raise cannot lift a day's cap: the run stays paused
        sb.comment_on("acme/api", On::Issue(1), "alice", "/afk budget +2");
        pin(&afk, tomorrow(12, 0));
        takes(&afk, "wait", Some("paused"));
        assert!(!run_file(&afk, 1, "continued").exists());
        pin(&afk, tomorrow(0, 1) + time::Duration::days(1));
        continues(&afk, "day");
        assert_paused_label(&sb, false);
    });
}

/// acme/api with afk's labels but `agent-paused` (a repository set up
/// before the version that added it), its issue 1 ready by alice.
fn without_the_paused_label() -> Value {
    let mut r = repo("acme/api", json!([ready(1, "alice")]));
    r["labels"] = json!(["ready-for-agent", "agent-in-progress", "ready-for-human"]);
    json!({"repos": [r]})
}

/// A label a new version needs and the repository lacks (Gitea, where
/// adding a label takes its id) never fails the run in flight: the pause
/// makes it, says so in one log line, and wears it.
#[test]
fn a_pause_makes_the_paused_label_the_repository_lacks() {
    with_dialect(Dialect::Gitea, || {
        let sb = Sandbox::start(without_the_paused_label());
        let (afk, plan) = world(
            &sb,
            &["acme/api"],
            "[budget]\nrun_usd = 1.0\npause_for = \"1h\"\n",
        );
        spend_past_the_limit(&afk, &plan);
        let (code, r, err) = afk.watch();
        assert_eq!(code, 0, "{err}");
        assert_eq!(action_of(&r, 1).0, "pause", "{r}");
        assert!(
            err.contains("made label \"agent-paused\""),
            "one line in the log: {err}"
        );
        assert_paused_label(&sb, true);
        assert_eq!(paused_comments(&sb).len(), 1);
        // the next tick waits, cleanly
        takes_cleanly(&afk, "wait", Some("paused"));
    });
}

/// Where afk's account may not make the label, the run pauses without it:
/// one warning naming the label and the fix, the pause's comment said, and
/// every later tick clean.
#[test]
fn a_pause_goes_on_without_a_label_afk_may_not_make() {
    with_dialect(Dialect::Gitea, || {
        let sb = Sandbox::start(without_the_paused_label());
        let labels = sb.dialect.labels_path("acme/api");
        sb.faults(json!([{"method": "POST", "path": labels, "status": 403, "times": 100}]));
        let (afk, plan) = world(
            &sb,
            &["acme/api"],
            "[budget]\nrun_usd = 1.0\npause_for = \"1h\"\n",
        );
        spend_past_the_limit(&afk, &plan);
        let (code, r, err) = afk.watch();
        assert_eq!(code, 0, "{err}");
        assert_eq!(action_of(&r, 1).0, "pause", "{r}");
        assert!(
            err.contains("label \"agent-paused\" does not exist")
                && err.contains("afk init --create-labels")
                && err.contains("goes on without it"),
            "{err}"
        );
        assert_paused_label(&sb, false);
        assert_eq!(paused_comments(&sb).len(), 1);
        takes_cleanly(&afk, "wait", Some("paused"));
        // a raise continues it: the label it never wore is no failure either
        raise_run_usd(&afk);
        sb.comment_on("acme/api", On::Issue(1), "alice", "/afk resume");
        takes_cleanly(&afk, "continue", Some("resume"));
    });
}

/// After a pause at $1.25 of $1.00 and alice's `/afk budget +5`, the
/// continuation's prompt says the pause as it was ($1.25 of $1.00), then
/// the raise ($6.00, $4.75 left); the checklist's spend line says the run's
/// own limit and the config's it was raised from.
#[test]
fn after_a_raise_the_prompt_says_the_pause_as_it_was_and_the_checklist_the_runs_own_limit() {
    with_dialect(Dialect::Github, || {
        let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
        let (afk, plan) = world(
            &sb,
            &["acme/api"],
            "[budget]\nrun_usd = 1.0\nmax_run_usd = 10.0\npause_for = \"1h\"\n",
        );
        turn(
            &plan,
            2,
            "cp \"$AFK_PROMPT_FILE\" \"$AFK_RUN_DIR/prompt-2\"\n: > \"$AFK_RUN_DIR/continued\"\n",
        );
        spend_past_the_limit(&afk, &plan);
        pauses(&afk, 1);
        sb.comment_on("acme/api", On::Issue(1), "alice", "/afk budget +5");
        continues(&afk, "budget");
        let prompt = std::fs::read_to_string(run_file(&afk, 1, "prompt-2")).unwrap();
        assert!(
            prompt.contains("when it reached its budget: $1.25 of $1.00 (`budget.run_usd`)")
                && prompt.contains("alice raised the run's budget to $6.00, so $4.75 is left"),
            "{prompt}"
        );
        let list = comments(&sb, 0);
        let checklist = list.iter().find(|c| c.contains("afk:checklist")).unwrap();
        assert!(
            checklist.contains(
                "- spend: $1.25 of the run's own $6.00 (raised from budget.run_usd $1.00)"
            ),
            "{checklist}"
        );
    });
}

/// The pause comment offers a raise within `max_run_usd` only ($2.00 here,
/// never +$5.00 to $6.00 past a $3.00 maximum), and says what "hard" means:
/// the request under way when the limit was reached is billed, $0.25 past it.
#[test]
fn the_pause_comment_offers_a_raise_within_the_maximum_and_names_the_overshoot() {
    with_dialect(Dialect::Github, || {
        let (sb, _afk) =
            paused_at_the_limit("[budget]\nrun_usd = 1.0\nmax_run_usd = 3.0\npause_for = \"1h\"\n");
        let said = paused_comments(&sb);
        assert_eq!(said.len(), 1, "{said:?}");
        assert!(
            said[0].contains("`/afk budget +2` — raise this run's budget by $2.00 (to $3.00)"),
            "{}",
            said[0]
        );
        assert!(!said[0].contains("budget +5"), "{}", said[0]);
        assert!(
            said[0].contains("the one under way then is billed: $0.25 past it"),
            "{}",
            said[0]
        );
    });
}

/// On Azure DevOps, where `!N` links a PR and someone else's `!N` gets a
/// space, the pause's comment links the run's own PR even when the pausing
/// tick opened it (the run's record does not name it yet).
#[test]
fn on_azure_devops_the_pause_comment_links_the_pr_the_pausing_tick_opened() {
    with_dialect(Dialect::AzureDevops, || {
        let (sb, _afk) = paused_at_run_time_with_work_left();
        let said = paused_comments(&sb);
        assert_eq!(said.len(), 1, "{said:?}");
        let at = said[0]
            .find("the work so far is on !")
            .expect("the PR named");
        let after = &said[0][at + "the work so far is on !".len()..];
        assert!(
            after.starts_with(|c: char| c.is_ascii_digit()),
            "its own PR stays linked: {}",
            said[0]
        );
    });
}

/// On Azure DevOps a person's login is an e-mail address: afk's comments
/// name it as it is, never `alice\@ sandbox.invalid` (an address's `@`
/// notifies nobody; a mention's sigil at a word's start still gets its space).
#[test]
fn on_azure_devops_a_login_that_is_an_address_is_written_whole() {
    with_dialect(Dialect::AzureDevops, || {
        let (sb, afk) = paused_at_the_limit(
            "[budget]\nrun_usd = 1.0\nmax_run_usd = 10.0\npause_for = \"1h\"\n",
        );
        sb.comment_on("acme/api", On::Issue(1), "alice", "/afk budget +2");
        continues(&afk, "budget");
        let list = comments(&sb, 0);
        let checklist = list.iter().find(|c| c.contains("afk:checklist")).unwrap();
        assert!(checklist.contains("continued by alice"), "{checklist}");
        assert!(!checklist.contains("\\@ "), "{checklist}");
    });
}

/// A day's cap ends (`budget.day_continuations`, 1 by default): a run with
/// only `day_usd` set continues by itself after its first day's-cap pause;
/// stopped at the cap again the next day, it waits for a person at the
/// following midnight and after (its comment says so).
#[test]
fn a_days_cap_continues_by_itself_once_then_waits_for_a_person() {
    with_dialect(Dialect::Github, || {
        let (sb, afk, plan) = first_turn_stopped_at_the_day();
        // the second turn is stopped at the next day's cap the same way
        turn(
            &plan,
            2,
            &format!(
                "printf '%s\\n' '{{\"cost_usd\": 2.0}}' >> \"$AFK_PROGRESS_FILE\"\n\
                 cp \"$PLAN/{STOP_FILE}\" \"$AFK_RUN_DIR/{STOP_FILE}\"\nexit 1\n"
            ),
        );
        turn(&plan, 3, ": > \"$AFK_RUN_DIR/continued\"\n");
        pin(&afk, tomorrow(10, 0));
        afk.poll();
        afk.wait_agent(1);
        takes_cleanly(&afk, "pause", Some("day_usd"));
        pin(&afk, tomorrow(0, 1) + time::Duration::days(1));
        takes_cleanly(&afk, "continue", Some("day"));
        afk.wait_agent(1);
        takes_cleanly(&afk, "pause", Some("day_usd"));
        let said = paused_comments(&sb);
        assert_eq!(said.len(), 2, "{said:?}");
        assert!(
            said[1].contains("as often as `budget.day_continuations` allows")
                && !said[1].contains("continues by itself"),
            "{}",
            said[1]
        );
        // status, runs and runs show name no midnight it would end at
        let (_, st, _) = afk.json(&["status"]);
        assert_eq!(st["runs"][0]["paused"]["limit"], "day_usd", "{st}");
        assert!(st["runs"][0]["paused"]["until"].is_null(), "{st}");
        let (_, shown, _) = afk.json(&["runs", "show", "1"]);
        assert!(shown["run"]["paused"]["until"].is_null(), "{shown}");
        // the next midnight: it waits, nobody continued it
        pin(&afk, tomorrow(0, 1) + time::Duration::days(2));
        takes_cleanly(&afk, "wait", Some("paused"));
        assert!(!run_file(&afk, 1, "continued").exists());
        // and on: only a person continues it now (core's table test: a
        // trusted resume does), or pause_for ends it
        pin(&afk, tomorrow(0, 1) + time::Duration::days(3));
        takes_cleanly(&afk, "wait", Some("paused"));
    });
}
