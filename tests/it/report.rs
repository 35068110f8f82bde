//! `afk report` (docs/reports.md#afk-report): the pilot figures of a state
//! file whose runs are known, written through the store's own API at known
//! moments, each figure asserted exactly; an empty state; `--since`; a bad
//! `--since`; the status page's section. No forge is configured: the report
//! reads the state file only. Last, a lifecycle on each sandbox dialect whose
//! figures are held against a stopwatch.

use crate::support::*;
use afk::store::Store;
use afk::store::runs::NewRun;
use afk::types::{IssueNumber, RepoName, RunStatus, RunnerHandle, RunnerKind};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::datetime;

const CONFIG: &str = "state_path = \"state/afk.db\"\n";

/// The store, its rows stamped at `t`.
fn at(afk: &Afk, t: OffsetDateTime) -> Store {
    Store::open(&afk.state()).unwrap().at(t)
}

/// A run of `repo#issue` claimed at `t`, its agent started.
fn dispatch(afk: &Afk, repo: &str, issue: u64, t: OffsetDateTime) -> afk::types::RunId {
    let repo = RepoName::parse(repo).unwrap();
    let s = at(afk, t);
    let id = s
        .claim_run(&NewRun {
            repo: &repo,
            issue: IssueNumber(issue),
            title: "t",
            url: "u",
            ready_event_id: Some(issue as i64),
            armed_at: None,
            template_name: "implementer",
            template_version_id: None,
            template_version: None,
            template_hash: None,
            runner_kind: RunnerKind::Command,
            branch: "afk/issue",
        })
        .unwrap();
    s.mark_started(
        id,
        "/nowhere",
        &RunnerHandle::Process {
            pid: 1,
            start_time: 1,
        },
    )
    .unwrap();
    s.transition(id, RunStatus::Started, RunStatus::Dispatched)
        .unwrap();
    id
}

/// Watch first saw the run's PR at `t`.
fn pr_seen(afk: &Afk, id: afk::types::RunId, t: OffsetDateTime) {
    let text = afk::clock::ts(t);
    at(afk, t)
        .observe(
            id,
            &afk::store::runs::Observation {
                pr: Some((
                    afk::types::PrNumber(100 + id.0 as u64),
                    "https://forge/pulls/1",
                )),
                head_sha: Some("abc"),
                fingerprint: "f",
                changed_at: &text,
                green_since: None,
                ci: Some("pending"),
                seen_at: &text,
            },
        )
        .unwrap();
}

fn turn(afk: &Afk, id: afk::types::RunId, reason: &str, t: OffsetDateTime) {
    at(afk, t).begin_turn(id, reason, reason).unwrap();
}

/// Merged at `t` (the forge's time, as watch records it), its success
/// carried out five minutes later.
fn merged(afk: &Afk, id: afk::types::RunId, t: OffsetDateTime) {
    at(afk, t)
        .set_merge(id, "sha", "main", &afk::clock::ts(t))
        .unwrap();
    end(
        afk,
        id,
        RunStatus::Succeeded,
        None,
        t + time::Duration::minutes(5),
    );
}

fn end(afk: &Afk, id: afk::types::RunId, to: RunStatus, reason: Option<&str>, t: OffsetDateTime) {
    let decided = match to {
        RunStatus::Succeeded => RunStatus::Succeeding,
        RunStatus::Escalated => RunStatus::Escalating,
        _ => RunStatus::Abandoning,
    };
    let mut s = at(afk, t);
    s.decide_end(id, decided, reason, None).unwrap();
    s.finish(id, to).unwrap();
}

fn spend(afk: &Afk, id: afk::types::RunId, usd: f64) {
    at(afk, datetime!(2026-05-01 00:00 UTC))
        .set_spend(id, Some(usd), "{}")
        .unwrap();
}

/// The known world (now: 2026-05-31T00:00:00Z; the last 30 days begin
/// 2026-05-01T00:00:00Z):
/// - acme/api 1: dispatched 05-10 10:00, PR 10:30, a ci-red turn, merged
///   12:00, $2;
/// - acme/api 2: dispatched 05-12 09:00, PR 10:00, merged 10:30, $1;
/// - acme/api 3: dispatched 05-20 08:00, no PR, a no-pr turn, escalated
///   no-pr, $3;
/// - acme/web 4: dispatched 05-15 00:00, PR 00:10, a review and a ci-red
///   turn, merged 03:00, no spend reported;
/// - acme/web 5: dispatched 05-29 00:00, in flight, $0.50;
/// - acme/web 6: claimed 05-29 01:00, its agent never started (failed);
/// - acme/api 7: dispatched 04-20 (before the window), PR after 1h, merged
///   after 4h, $10.
fn world() -> Afk {
    world_in(Afk::with_text(CONFIG))
}

/// [`world`]'s runs in `afk`'s state file.
fn world_in(afk: Afk) -> Afk {
    let r1 = dispatch(&afk, "acme/api", 1, datetime!(2026-05-10 10:00 UTC));
    pr_seen(&afk, r1, datetime!(2026-05-10 10:30 UTC));
    turn(&afk, r1, "ci-red", datetime!(2026-05-10 11:00 UTC));
    spend(&afk, r1, 2.0);
    merged(&afk, r1, datetime!(2026-05-10 12:00 UTC));

    let r2 = dispatch(&afk, "acme/api", 2, datetime!(2026-05-12 09:00 UTC));
    pr_seen(&afk, r2, datetime!(2026-05-12 10:00 UTC));
    spend(&afk, r2, 1.0);
    merged(&afk, r2, datetime!(2026-05-12 10:30 UTC));

    let r3 = dispatch(&afk, "acme/api", 3, datetime!(2026-05-20 08:00 UTC));
    turn(&afk, r3, "no-pr", datetime!(2026-05-20 09:00 UTC));
    spend(&afk, r3, 3.0);
    end(
        &afk,
        r3,
        RunStatus::Escalated,
        Some("no-pr"),
        datetime!(2026-05-20 10:00 UTC),
    );

    let r4 = dispatch(&afk, "acme/web", 4, datetime!(2026-05-15 00:00 UTC));
    pr_seen(&afk, r4, datetime!(2026-05-15 00:10 UTC));
    turn(&afk, r4, "review", datetime!(2026-05-15 01:00 UTC));
    turn(&afk, r4, "ci-red", datetime!(2026-05-15 02:00 UTC));
    merged(&afk, r4, datetime!(2026-05-15 03:00 UTC));

    let r5 = dispatch(&afk, "acme/web", 5, datetime!(2026-05-29 00:00 UTC));
    spend(&afk, r5, 0.5);

    let repo = RepoName::parse("acme/web").unwrap();
    let s = at(&afk, datetime!(2026-05-29 01:00 UTC));
    let r6 = s
        .claim_run(&NewRun {
            repo: &repo,
            issue: IssueNumber(6),
            title: "t",
            url: "u",
            ready_event_id: Some(6),
            armed_at: None,
            template_name: "implementer",
            template_version_id: None,
            template_version: None,
            template_hash: None,
            runner_kind: RunnerKind::Command,
            branch: "afk/issue-6",
        })
        .unwrap();
    s.mark_failed(r6, "runner: cannot start").unwrap();

    let r7 = dispatch(&afk, "acme/api", 7, datetime!(2026-04-20 00:00 UTC));
    pr_seen(&afk, r7, datetime!(2026-04-20 01:00 UTC));
    spend(&afk, r7, 10.0);
    merged(&afk, r7, datetime!(2026-04-20 04:00 UTC));

    afk.at(datetime!(2026-05-31 00:00 UTC));
    afk
}

fn repo_of<'a>(r: &'a Value, name: &str) -> &'a Value {
    r["repos"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["repo"] == name)
        .unwrap_or_else(|| panic!("{name} in {r}"))
}

#[test]
fn every_figure_of_a_known_state_per_repo_and_overall() {
    let afk = world();
    let (code, r, err) = afk.json(&["report"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(r["command"], "report");
    assert_eq!(r["since"], "30d");
    assert_eq!(r["from"], "2026-05-01T00:00:00Z");
    assert_eq!(r["to"], "2026-05-31T00:00:00Z");
    let repos: Vec<&str> = r["repos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["repo"].as_str().unwrap())
        .collect();
    assert_eq!(repos, ["acme/api", "acme/web"]);

    let all = &r["overall"];
    // the failed start is counted apart, not as a run
    assert_eq!(all["runs"], 5);
    assert_eq!(all["start_failures"], 1);
    assert_eq!(
        all["outcomes"],
        json!({"succeeded": 3, "escalated": 1, "abandoned": 0, "failed": 1, "in_flight": 1})
    );
    assert_eq!(all["reverted"], 0);
    // PRs after 30m, 1h, 10m: the median is the 2nd of 3, the p90 the 3rd
    assert_eq!(
        all["to_pr"],
        json!({"count": 3, "median_s": 1800, "p90_s": 3600, "from": "dispatched", "from_armed": 0})
    );
    // merges after 2h, 1h30m, 3h
    assert_eq!(
        all["to_merge"],
        json!({"count": 3, "median_s": 7200, "p90_s": 10800, "from": "dispatched", "from_armed": 0})
    );
    // the merged runs' turns after the first: 1 + 0 + 2
    assert_eq!(
        all["corrective_turns"],
        json!({"total": 3, "per_merged_pr": 1.0, "by_reason": {"ci-red": 2, "review": 1}})
    );
    // every run's spend (2 + 1 + 3 + 0.5) over 3 merged PRs; run 4 reported
    // nothing, the failed start is not counted
    assert_eq!(
        all["spend"],
        json!({"total_usd": 6.5, "merged_usd": 3.0, "per_merged_pr_usd": 2.166667, "unreported_runs": 1})
    );
    assert_eq!(all["escalations"], json!({"no-pr": 1}));

    let api = repo_of(&r, "acme/api");
    assert_eq!(api["runs"], 3);
    assert_eq!(
        api["outcomes"],
        json!({"succeeded": 2, "escalated": 1, "abandoned": 0, "failed": 0, "in_flight": 0})
    );
    assert_eq!(
        api["to_pr"],
        json!({"count": 2, "median_s": 1800, "p90_s": 3600, "from": "dispatched", "from_armed": 0})
    );
    assert_eq!(
        api["to_merge"],
        json!({"count": 2, "median_s": 5400, "p90_s": 7200, "from": "dispatched", "from_armed": 0})
    );
    assert_eq!(api["corrective_turns"]["per_merged_pr"], 0.5);
    assert_eq!(api["corrective_turns"]["by_reason"], json!({"ci-red": 1}));
    assert_eq!(api["spend"]["total_usd"], 6.0);
    assert_eq!(api["spend"]["per_merged_pr_usd"], 3.0);
    assert_eq!(api["escalations"], json!({"no-pr": 1}));

    let web = repo_of(&r, "acme/web");
    assert_eq!(
        web["outcomes"],
        json!({"succeeded": 1, "escalated": 0, "abandoned": 0, "failed": 1, "in_flight": 1})
    );
    assert_eq!(
        web["to_pr"],
        json!({"count": 1, "median_s": 600, "p90_s": 600, "from": "dispatched", "from_armed": 0})
    );
    assert_eq!(
        web["to_merge"],
        json!({"count": 1, "median_s": 10800, "p90_s": 10800, "from": "dispatched", "from_armed": 0})
    );
    assert_eq!(web["corrective_turns"]["per_merged_pr"], 2.0);
    assert_eq!(
        web["spend"],
        json!({"total_usd": 0.5, "merged_usd": 0.0, "per_merged_pr_usd": 0.5, "unreported_runs": 1})
    );
    assert_eq!(web["escalations"], json!({}));

    // the same for people: two tables, a row per repo and one for all
    let out = afk.cmd().arg("report").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with(
            "runs dispatched in the last 30d (2026-05-01T00:00:00Z to 2026-05-31T00:00:00Z)\n"
        ),
        "{text}"
    );
    let row = |first: &str| -> Vec<String> {
        text.lines()
            .filter(|l| l.split_whitespace().next() == Some(first))
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect()
    };
    assert_eq!(
        row("all"),
        [
            "all 5 3 1 0 1 1",
            "all 30m0s / 1h0m 2h0m / 3h0m 1 $2.17 none pending",
            // the leaderboard figures: no revert of 3 merges, churn not
            // counted yet, rounds 0, 0 and 1, all 6.5 spent over 3 kept
            "all 0.00 pending 0 / 1 $2.17"
        ],
        "{text}"
    );
    assert_eq!(
        row("acme/web"),
        [
            "acme/web 2 1 0 0 1 1",
            "acme/web 10m0s / 10m0s 3h0m / 3h0m 2 $0.50 none pending",
            "acme/web 0.00 pending 1 / 1 $0.50"
        ],
        "{text}"
    );
    assert!(text.contains("escalations acme/api: no-pr 1\n"), "{text}");
    assert!(text.contains("escalations acme/web: none\n"), "{text}");
    // issue 82 item 11: each column named for what it is, its figures
    // under it
    let head = text
        .lines()
        .find(|l| l.starts_with("REPO") && l.contains("TO PR"))
        .unwrap_or_else(|| panic!("no times header: {text}"));
    assert!(
        head.ends_with(
            "TO MERGE (MEDIAN / P90)  CORRECTIVE TURNS PER MERGED PR  SPEND PER MERGED PR  ZERO-TOUCH  SURVIVAL 30D"
        ),
        "{text}"
    );
    let all = text
        .lines()
        .find(|l| l.starts_with("all ") && l.contains('$'))
        .unwrap_or_else(|| panic!("no times row for all: {text}"));
    for (column, figure) in [
        ("CORRECTIVE TURNS PER MERGED PR", "1 "),
        ("SPEND PER MERGED PR", "$2.17"),
    ] {
        let at = head.find(column).unwrap();
        assert_eq!(
            all.get(at..at + figure.len()),
            Some(figure),
            "{column}: {text}"
        );
    }
}

#[test]
fn since_chooses_the_window_by_dispatch() {
    let afk = world();
    // 60 days: run 7 of 04-20 too
    let (code, r, err) = afk.json(&["report", "--since", "60d"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(r["since"], "60d");
    assert_eq!(r["from"], "2026-04-01T00:00:00Z");
    assert_eq!(r["overall"]["runs"], 6);
    let api = repo_of(&r, "acme/api");
    assert_eq!(api["runs"], 4);
    assert_eq!(api["outcomes"]["succeeded"], 3);
    // merges after 1h30m, 2h, 4h
    assert_eq!(
        api["to_merge"],
        json!({"count": 3, "median_s": 7200, "p90_s": 14400, "from": "dispatched", "from_armed": 0})
    );
    // 3 days: only the runs of 05-28 on, one in flight and a failed start
    let (_, r, _) = afk.json(&["report", "--since", "72h"]);
    assert_eq!(r["since"], "3d");
    assert_eq!(r["overall"]["runs"], 1);
    assert_eq!(r["overall"]["start_failures"], 1);
    assert_eq!(r["overall"]["outcomes"]["in_flight"], 1);
    assert_eq!(r["overall"]["outcomes"]["failed"], 1);
    assert!(r["overall"]["to_merge"]["median_s"].is_null());
    assert!(r["overall"]["spend"]["per_merged_pr_usd"].is_null());
    assert!(r["overall"]["corrective_turns"]["per_merged_pr"].is_null());
    let out = afk
        .cmd()
        .args(["report", "--since", "72h"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(
            "all       none                  none                     none                            none"
        ),
        "{text}"
    );
}

#[test]
fn an_empty_state_reports_none_and_creates_no_state_file() {
    let afk = Afk::with_text(CONFIG);
    afk.at(datetime!(2026-05-31 00:00 UTC));
    let (code, r, err) = afk.json(&["report"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(r["overall"]["runs"], 0);
    assert_eq!(r["repos"], json!([]));
    assert_eq!(
        r["overall"]["to_pr"],
        json!({"count": 0, "median_s": null, "p90_s": null, "from": null, "from_armed": 0})
    );
    assert!(r["overall"]["to_merge"]["median_s"].is_null());
    assert!(r["overall"]["corrective_turns"]["per_merged_pr"].is_null());
    assert!(r["overall"]["spend"]["per_merged_pr_usd"].is_null());
    assert!(!afk.state().exists(), "the report wrote no state file");
    let out = afk.cmd().arg("report").output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "runs dispatched in the last 30d (2026-05-01T00:00:00Z to 2026-05-31T00:00:00Z)\nno runs: every figure is none\n"
    );
}

#[test]
fn a_bad_since_is_one_clear_line_and_exit_2() {
    let afk = Afk::with_text(CONFIG);
    for (since, says) in [
        ("3x", "has an unknown unit \"x\""),
        ("30", "has no unit"),
        ("d", "is not a duration"),
        ("0d", "the window is empty"),
        ("99999999999d", "before the calendar's start"),
    ] {
        let out = afk
            .cmd()
            .args(["report", "--since", since])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{since}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{since}: {err}");
        assert!(
            err.contains(&format!("report: --since {since}: ")) && err.contains(says),
            "{since}: {err}"
        );
        assert!(out.stdout.is_empty(), "{since}");
        let (code, doc, _) = afk.json(&["report", "--since", since]);
        assert_eq!(code, 2);
        assert_eq!(doc["exit"], 2);
        assert!(doc["error"].as_str().unwrap().contains(says), "{doc}");
    }
}

#[test]
fn the_status_page_shows_the_pilot_figures_of_30_days() {
    let afk = world();
    let out = afk.cmd().args(["status", "--html"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let html = String::from_utf8_lossy(&out.stdout);
    let section = html
        .split("<section id=\"pilot\">")
        .nth(1)
        .and_then(|s| s.split("</section>").next())
        .unwrap_or_else(|| panic!("no pilot section in {html}"));
    assert!(section.contains("Pilot figures (30 days)"), "{section}");
    assert!(
        section.contains(
            "<b>All</b></td><td>5</td><td>3</td><td>1</td><td>0</td><td>1</td><td>1</td>\
             <td>30m0s / 1h0m</td><td>2h0m / 3h0m</td><td>1</td><td>$2.17</td><td>none</td>\
             <td>pending</td><td>no-pr 1</td>"
        ),
        "{section}"
    );
}

/// Poll records when the ready label was added (the sandbox dates the
/// label's timeline event) with its claim, and the report counts from it:
/// the issue armed at A, dispatched at A+5m, its PR seen at A+25m is 25
/// minutes to PR from the arming, not 20 from the dispatch.
#[test]
fn times_count_from_the_arming_poll_recorded() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    let (status, timeline) = sb.api(&sb.dialect.timeline_path("acme/api", 1));
    assert_eq!(status, 200, "{timeline}");
    let armed = timeline
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["created_at"].as_str())
        .filter_map(afk::clock::parse)
        .max()
        .unwrap_or_else(|| panic!("a dated label event in {timeline}"));
    let afk = Afk::new(&sb, "enabled = true\nallowlist = [\"acme/api\"]", "");
    afk.at(armed + time::Duration::minutes(5));
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err}");
    let id = afk::types::RunId(r["dispatched"][0]["run_id"].as_i64().unwrap());
    pr_seen(&afk, id, armed + time::Duration::minutes(25));
    afk.at(armed + time::Duration::hours(1));
    let (code, r, err) = afk.json(&["report"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        r["overall"]["to_pr"],
        json!({"count": 1, "median_s": 1500, "p90_s": 1500, "from": "armed", "from_armed": 1})
    );
    let out = afk.cmd().arg("report").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("(times from the arming;"), "{text}");
}

#[test]
fn a_ticks_metrics_file_carries_the_pilot_figures() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([]))]}));
    let afk = Afk::new(&sb, "enabled = true\nallowlist = [\"acme/api\"]", "");
    // metrics_file is a top-level key: first
    let text = std::fs::read_to_string(&afk.config).unwrap();
    std::fs::write(
        &afk.config,
        format!("metrics_file = \"m/afk.prom\"\n{text}"),
    )
    .unwrap();
    std::fs::create_dir_all(afk.scratch.path("m")).unwrap();
    let afk = world_in(afk);
    let (code, _, err) = afk.poll();
    assert_eq!(code, 0, "{err}");
    let m = std::fs::read_to_string(afk.scratch.path("m/afk.prom")).unwrap();
    for want in [
        "afk_report_window_seconds 2592000",
        "afk_report_runs{repo=\"acme/api\",outcome=\"succeeded\"} 2",
        "afk_report_runs{repo=\"acme/web\",outcome=\"in_flight\"} 1",
        "afk_report_escalations{repo=\"acme/api\",reason=\"no-pr\"} 1",
        "afk_report_to_pr_seconds{repo=\"acme/api\",stat=\"p90\"} 3600",
        "afk_report_to_merge_seconds{repo=\"all\",stat=\"median\"} 7200",
        "afk_report_to_merge_seconds{repo=\"all\",stat=\"p90\"} 10800",
        "afk_report_corrective_turns_per_merged_pr{repo=\"all\"} 1",
        "afk_report_spend_per_merged_pr_usd{repo=\"all\"} 2.166667",
        "afk_report_spend_per_merged_pr_usd{repo=\"acme/web\"} 0.5",
    ] {
        assert!(m.lines().any(|l| l == want), "{want} in\n{m}");
    }
}

/// On every dialect the sandbox dates an issue's arming, its pull request's
/// opening and its merge at the moment they happen, so a lifecycle's figures
/// are a stopwatch's: `to_merge` is the seconds from the seeding (which arms
/// the issue) to the merge, though watch sees the merge an hour later, and a
/// month after the merge the agent's lines, which nobody touched, all
/// survive. The stopwatch brackets each moment (read before and after the
/// call that makes it), so the test holds however slow the machine is; the
/// forges date in whole seconds, hence a second's slack on each side.
#[test]
fn a_sandbox_lifecycles_figures_equal_a_stopwatchs_on_every_dialect() {
    for d in Dialect::ALL {
        let armed_from = OffsetDateTime::now_utc();
        let sb = Sandbox::start_in(
            d,
            json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}),
        );
        let armed_by = OffsetDateTime::now_utc();
        let afk = Afk::agent(&sb, "pr", "", "");
        let (code, r, err) = afk.poll();
        assert_eq!(code, 0, "{d:?}: {err} {r}");
        assert_eq!(afk.wait_agent(1), 0, "{d:?}");
        let (code, r, err) = afk.watch();
        assert_eq!(code, 0, "{d:?}: {err} {r}");
        let pr = sb.open_prs("acme/api")[0].number;
        sb.status("acme/api", "afk/issue-1", "ci/build", "success");
        let (code, r, err) = afk.watch();
        assert_eq!(code, 0, "{d:?}: {err} {r}");
        let merged_from = OffsetDateTime::now_utc();
        sb.merge("acme/api", pr);
        let merged = OffsetDateTime::now_utc();
        // watch carries the merge out an hour later: the merge's time is the
        // forge's, not the tick's
        afk.at(merged + time::Duration::hours(1));
        let (code, r, err) = afk.watch();
        assert_eq!(code, 0, "{d:?}: {err} {r}");
        assert_eq!(action_of(&r, 1).0, "succeed", "{d:?}: {r}");

        let (code, r, err) = afk.json(&["report"]);
        assert_eq!(code, 0, "{d:?}: {err}");
        // the arming poll recorded is the seeding's moment, not later
        let rows = afk.sql_rows("SELECT armed_at FROM runs");
        let at = afk::clock::parse(&rows[0][0]).unwrap();
        let second = time::Duration::seconds(1);
        assert!(
            at >= armed_from - second && at <= armed_by + second,
            "{d:?}: armed at {at}, the seeding ran from {armed_from} to {armed_by}"
        );
        let to_merge = &r["overall"]["to_merge"];
        assert_eq!(to_merge["from"], "armed", "{d:?}: {to_merge}");
        let figure = to_merge["median_s"].as_i64().unwrap();
        let shortest = (merged_from - armed_by).as_seconds_f64() - 1.0;
        let longest = (merged - armed_from).as_seconds_f64() + 1.0;
        assert!(
            figure as f64 >= shortest && figure as f64 <= longest,
            "{d:?}: the report says {figure} s to merge, the stopwatch {shortest:.2} s to {longest:.2} s"
        );

        afk.at(merged + time::Duration::days(31));
        let (code, r, err) = afk.json(&["harvest"]);
        assert_eq!(code, 0, "{d:?}: {err} {r}");
        assert_eq!(r["errors"], json!([]), "{d:?}: {r}");
        let counted = &r["survival"][0];
        let added = counted["lines_added"].as_i64().unwrap();
        assert!(added > 0, "{d:?}: {r}");
        assert_eq!(counted["lines_surviving"], added, "{d:?}: {r}");
    }
}
