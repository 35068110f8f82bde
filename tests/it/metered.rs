//! A run's metered spend (docs/how-it-works.md#spend, issue 58's "the same
//! figures everywhere"): when the run folder holds the model gateway's record
//! (`metered.jsonl`, written here with `metered::Line` as the keeper writes
//! it), the run's spend is its sum whatever the agent's own log says, in
//! `afk runs` and `runs show`, the PR body, the checklist, the status page,
//! the day's budget, `afk report` and the metrics file; the agent's figure
//! stays beside it (`reported_usd`) and a difference is one line in the run's
//! log. A run over `budget.run_usd` by metered spend, or a turn the gateway
//! stopped at a limit (its `budget-stop.json`), escalates `over-budget`.

use crate::budget::{SLEEP, agent_alive, run_file, turn, wait_file, world};
use crate::support::*;
use afk_core::gateway::budget::{Refusal, STOP_FILE};
use afk_core::gateway::metered::{FILE, Line};
use afk_core::gateway::prices::PricedBy;
use afk_core::gateway::{Api, usage::Usage};
use serde_json::{Value, json};
use std::path::Path;

/// The gateway's record of requests costing `micro` micro-dollars each.
fn record(plan: &Path, micro: &[u64]) {
    let mut text = String::new();
    for m in micro {
        let usage = Usage {
            input: 1200,
            output: 300,
            ..Default::default()
        };
        text.push_str(
            &Line::new(
                time::OffsetDateTime::now_utc(),
                Api::Anthropic,
                "claude-sonnet-4-6",
                200,
                usage,
                *m,
                PricedBy::Table,
                true,
            )
            .to_line(),
        );
    }
    std::fs::write(plan.join(FILE), text).unwrap();
}

/// The turn's script: the gateway's record where the keeper leaves it, and a
/// Claude Code result record that says the turn cost $0.0042 (a lie).
const LYING: &str = "cp \"$PLAN/metered.jsonl\" \"$AFK_RUN_DIR/metered.jsonl\"\n\
     printf '%s\\n' '{\"type\":\"result\",\"subtype\":\"success\",\"session_id\":\"s1\",\"total_cost_usd\":0.0042}'\n";

/// The gateway's refusal at `budget.day_usd` $2.00 (`spend_usd` counted)
/// in `plan`, and turn 1: `before`, then that refusal copied where the
/// keeper leaves it, and a failed exit.
pub(crate) fn stopped_at_the_day(plan: &Path, spend_usd: f64, before: &str) {
    let stop = Refusal {
        limit: "day_usd",
        limit_usd: 2.0,
        spend_usd,
    };
    std::fs::write(plan.join(STOP_FILE), stop.to_record()).unwrap();
    turn(
        plan,
        1,
        &format!("{before}cp \"$PLAN/{STOP_FILE}\" \"$AFK_RUN_DIR/{STOP_FILE}\"\nexit 1\n"),
    );
}

fn comments(sb: &Sandbox) -> Vec<String> {
    let st = sb.admin("GET", "/state", None);
    st["repos"][0]["comments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["body"].as_str().unwrap().to_string())
        .collect()
}

/// Top-level keys before the config's first table.
fn prepend(afk: &Afk, keys: &str) {
    let text = std::fs::read_to_string(&afk.config).unwrap();
    std::fs::write(&afk.config, format!("{keys}{text}")).unwrap();
}

#[test]
fn a_metered_run_spends_its_metered_sum_everywhere_whatever_its_agent_says() {
    let sb = Sandbox::start(
        json!({"repos": [repo("acme/api", json!([ready(1, "alice"), ready(2, "alice")]))]}),
    );
    let (afk, plan) = world(
        &sb,
        &["acme/api"],
        "max_per_tick = 1\n[budget]\npause_for = \"0s\"\nrun_usd = 5.0\nday_usd = 1.44\n",
    );
    prepend(
        &afk,
        "status_page = \"www/index.html\"\nmetrics_file = \"metrics/afk.prom\"\n",
    );
    std::fs::create_dir_all(afk.scratch.path("www")).unwrap();
    std::fs::create_dir_all(afk.scratch.path("metrics")).unwrap();
    // $1.440123 metered over three requests, to the micro-dollar
    record(&plan, &[1_000_000, 440_000, 123]);
    turn(
        &plan,
        1,
        &format!(
            "{LYING}echo work > work.txt && git add -A && git -c user.name=a -c user.email=a@a.invalid commit -qm 'agent: turn 1'\n"
        ),
    );
    let (code, p, err) = afk.poll();
    assert_eq!(code, 0, "{err} {p}");
    assert_eq!(afk.wait_agent(1), 0);
    let (code, w, err) = afk.watch();
    assert_eq!(code, 0, "{err} {w}");
    let (code, w2, err) = afk.watch();
    assert_eq!(code, 0, "{err} {w2}");

    // afk runs: the metered figure, the agent's beside it
    let r = afk.run_row(1);
    assert_eq!(r["spend_usd"], 1.440123, "{r}");
    assert_eq!(r["reported_usd"], 0.0042, "{r}");
    let (_, shown, _) = afk.json(&["runs", "show", "1"]);
    assert_eq!(shown["run"]["spend_usd"], 1.440123, "{shown}");
    assert_eq!(shown["run"]["reported_usd"], 0.0042, "{shown}");
    assert_eq!(shown["metered"]["requests"], 3, "{shown}");
    assert_eq!(shown["metered"]["tokens"]["output"], 900, "{shown}");
    let out = afk.cmd().args(["runs", "show", "1"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("spend $1.44 metered, the agent reported $0.0042"),
        "{text}"
    );
    // the difference is one line in the run's log, however many ticks read it
    let log = std::fs::read_to_string(run_file(&afk, 1, "agent.log")).unwrap();
    let said = "[afk] spend: the agent reported $0.0042, the model gateway metered $1.44 over 3 requests (the run's spend)";
    assert_eq!(log.matches(said).count(), 1, "{log}");

    // the PR body and the checklist say the metered figure
    let (_, prs) = sb.api(&sb.dialect.prs_path("acme/api", Listed::Open));
    let body = prs[0]["body"].as_str().unwrap_or("").to_string();
    assert!(
        body.contains("Spend so far, metered by afk's model gateway: $1.44."),
        "{body}"
    );
    let all = comments(&sb);
    let checklist = all.iter().find(|c| c.contains("afk:checklist")).unwrap();
    assert!(
        checklist.contains("- spend: $1.44 (metered) of budget.run_usd $5.00"),
        "{checklist}"
    );
    assert!(!checklist.contains("0.0042"), "{checklist}");

    // the day's budget counts the metered spend: $1.44 reached
    let (code, p, err) = afk.poll();
    assert_eq!(code, 0, "{err}");
    assert_eq!(p["dispatched"], json!([]), "{p}");
    let b = &p["budget"][0];
    assert_eq!(
        (b["limit"].as_str(), b["spend_usd"].as_f64()),
        (Some("day_usd"), Some(1.440123)),
        "{p}"
    );

    // status, its page, the report and the metrics file
    let (_, s, _) = afk.json(&["status"]);
    let row = s["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["run_id"] == 1)
        .cloned()
        .unwrap_or_else(|| panic!("{s}"));
    assert_eq!(row["spend_usd"], 1.440123, "{s}");
    assert_eq!(s["spend"]["today_usd"], 1.440123, "{s}");
    let page = std::fs::read_to_string(afk.scratch.path("www/index.html")).unwrap();
    assert!(
        page.contains("$1.44 <span class=\"muted\">(metered)</span>"),
        "{page}"
    );
    assert!(
        !page.contains("0.0042"),
        "the agent's word is not the page's"
    );
    let (code, rep, err) = afk.json(&["report"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(rep["overall"]["spend"]["total_usd"], 1.440123, "{rep}");
    // the journal kept the figure once, both totals beside it
    let spends = afk.sql_rows("SELECT body FROM journal WHERE kind = 'run.spend' AND run = 1");
    assert_eq!(spends.len(), 1, "{spends:?}");
    let b: Value = serde_json::from_str(&spends[0][0]).unwrap();
    assert_eq!(
        (&b["usd"], &b["metered_usd"], &b["reported_usd"]),
        (&json!(1.440123), &json!(1.440123), &json!(0.0042)),
        "{b}"
    );
    let metrics = std::fs::read_to_string(afk.scratch.path("metrics/afk.prom")).unwrap();
    assert!(
        metrics.contains("afk_spend_usd_total 1.440123")
            && metrics.contains("afk_spend_day_usd 1.440123"),
        "{metrics}"
    );
}

#[test]
fn a_run_over_run_usd_by_metered_spend_escalates_over_budget_whatever_its_agent_says() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    let (afk, plan) = world(
        &sb,
        &["acme/api"],
        "[budget]\npause_for = \"0s\"\nrun_usd = 1.0\n",
    );
    record(&plan, &[1_000_000, 250_000]);
    turn(
        &plan,
        1,
        &format!("{LYING}: > \"$AFK_RUN_DIR/spent\"\n{SLEEP}"),
    );
    afk.poll();
    wait_file(&run_file(&afk, 1, "spent"));
    assert!(agent_alive(&afk, 1));
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        action_of(&r, 1),
        ("escalate".into(), Some("over-budget".into())),
        "{r}"
    );
    assert_eq!(r["actions"][0]["spend_usd"], 1.25, "{r}");
    assert!(!agent_alive(&afk, 1), "the agent was stopped");
    let esc = comments(&sb)
        .into_iter()
        .find(|c| c.contains("afk:escalation"))
        .unwrap();
    assert!(
        esc.contains("the run spent $1.25 (metered), over budget.run_usd $1.00"),
        "{esc}"
    );
    assert_eq!(afk.run_row(1)["reported_usd"], 0.0042);
}

#[test]
fn a_turn_the_gateway_stopped_at_a_day_limit_escalates_over_budget_with_its_figures() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    let (afk, plan) = world(
        &sb,
        &["acme/api"],
        "[budget]\npause_for = \"0s\"\nday_usd = 2.0\n",
    );
    // the run's own spend is under every limit it has; the day's is not
    record(&plan, &[500_000]);
    stopped_at_the_day(&plan, 2.000001, LYING);
    afk.poll();
    afk.wait_agent(1);
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        action_of(&r, 1),
        ("escalate".into(), Some("over-budget".into())),
        "{r}"
    );
    let esc = comments(&sb)
        .into_iter()
        .find(|c| c.contains("afk:escalation"))
        .unwrap();
    assert!(
        esc.contains(
            "afk's model gateway stopped the agent's turn: budget.day_usd $2.00 reached: the day's runs spent $2.00 (metered)"
        ),
        "{esc}"
    );
    assert_eq!(afk.run_row(1)["spend_usd"], 0.5);
}
