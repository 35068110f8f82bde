//! Linear's Agents API (docs/trackers.md#linears-agents-api), through the
//! binary against the sandbox's Linear: with `ready = "delegate"` a
//! delegation to afk's app user arms an issue when a trusted team member
//! made it and opened its agent session; `afk hook` posts the session's
//! first thought as soon as it answered the `created` delivery, before any
//! lock, once per session; the run's steps are the session's activities
//! (dispatched, the PR with its link, the end); a person's prompt there is
//! answered, and a trusted one's `stop` stops the run.

use crate::support::*;
use crate::tracker_linear::{People, deliver, issue, labels, linear_issue, world};
use serde_json::{Value, json};

pub(crate) const SECRET: &str = "lin_wh_a93c1";

/// [`world`] with `ready = "delegate"`, afk's OAuth token (`auth =
/// "bearer"`, an app user's) and Linear's webhook secret.
fn delegating() -> (Sandbox, Afk, People) {
    let (sb, mut afk, p) = world();
    to_delegation(&sb, &mut afk);
    (sb, afk, p)
}

/// `afk`'s Linear config made `ready = "delegate"` with afk's OAuth token
/// (`auth = "bearer"`, an app user's) and Linear's webhook secret.
pub(crate) fn to_delegation(sb: &Sandbox, afk: &mut Afk) {
    let text = std::fs::read_to_string(&afk.config).unwrap();
    let with = text.replace(
        "kind = \"linear\"\n",
        "kind = \"linear\"\nready = \"delegate\"\nauth = \"bearer\"\n\
         hook_secret_env = \"AFK_TEST_LINEAR_HOOK\"\n",
    );
    assert_ne!(with, text);
    std::fs::write(&afk.config, with).unwrap();
    let bearer = sb.admin("GET", "/linear/credentials", None)["bearer"]
        .as_str()
        .unwrap()
        .to_string();
    afk.env.retain(|(k, _)| k != "AFK_TRACKER_TOKEN");
    afk.env.push(("AFK_TRACKER_TOKEN".into(), bearer));
    afk.env.push(("AFK_TEST_LINEAR_HOOK".into(), SECRET.into()));
}

/// `by` delegates issue `key` to afk; the session's creator is `creator`
/// (Some(None): an automation's session; None: `by`). The session's id.
pub(crate) fn delegate(sb: &Sandbox, key: &str, by: &str, creator: Option<Option<&str>>) -> String {
    let mut body = json!({"issue": key, "by": by});
    if let Some(c) = creator {
        body["creator"] = json!(c);
    }
    sb.admin("POST", "/linear/delegate", Some(body))["session"]
        .as_str()
        .unwrap()
        .to_string()
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// Linear's `created` delivery for session `session` on issue `key`,
/// signed and fresh, with delivery id `delivery`: `afk hook`'s answer.
pub(crate) fn created(
    sb: &Sandbox,
    afk: &Afk,
    session: &str,
    key: &str,
    delivery: &str,
) -> (i32, String, String) {
    let id = linear_issue(sb, key)["id"].as_str().unwrap().to_string();
    let body = json!({"type": "AgentSessionEvent", "action": "created",
        "createdAt": "2026-11-30T10:00:00.000Z", "appUserId": "app", "oauthClientId": "oc",
        "organizationId": "org", "webhookId": "w1", "webhookTimestamp": now_ms(),
        "agentSession": {"id": session, "issueId": id, "issue": {"id": id},
            "status": "pending", "appUserId": "app"}})
    .to_string();
    let headers = vec![
        format!("Linear-Signature: {}", crate::hook::hex_mac(SECRET, &body)),
        format!("Linear-Delivery: {delivery}"),
    ];
    deliver(afk, &body, &headers)
}

fn session(sb: &Sandbox, id: &str) -> Value {
    sb.admin("GET", &format!("/linear/session/{id}"), None)
}

/// The session's activities as (type, its body or action).
pub(crate) fn activities(sb: &Sandbox, id: &str) -> Vec<(String, String)> {
    session(sb, id)["activities"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let c = &a["content"];
            let text = c["body"].as_str().or(c["action"].as_str()).unwrap_or("");
            (
                c["type"].as_str().unwrap_or("").to_string(),
                text.to_string(),
            )
        })
        .collect()
}

fn kinds(sb: &Sandbox, id: &str) -> Vec<String> {
    activities(sb, id).into_iter().map(|(k, _)| k).collect()
}

/// A team member delegates an issue: `afk hook` answers 200, posts the
/// first thought within Linear's 10 seconds (and before its tick), the
/// scoped poll dispatches and says so; the PR's opening is an action with
/// the PR among the session's links; the merge is a response. Redelivered,
/// the `created` event is acknowledged no second time.
#[test]
fn a_team_members_delegation_is_acknowledged_dispatched_and_followed_in_its_session() {
    let (sb, afk, p) = delegating();
    let key = issue(&sb, Some(&p.alice), &[]);
    let sid = delegate(&sb, &key, &p.alice, None);
    let (code, out, err) = created(&sb, &afk, &sid, &key, "d-1");
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("HTTP/1.1 200 OK"), "{out}");
    assert!(
        err.contains(&format!("agent session {sid} acknowledged")),
        "{err}"
    );
    let s = session(&sb, &sid);
    assert_eq!(s["unresponsive"], false, "{s}");
    let acts = activities(&sb, &sid);
    assert_eq!(acts[0].0, "thought", "{acts:?}");
    assert!(acts[0].1.contains("Nothing has started yet"), "{acts:?}");
    assert_eq!(acts[1], ("action".into(), "Dispatched".into()), "{acts:?}");
    let branch = format!("afk/issue-{}", key.to_lowercase());
    let dispatched = &s["activities"]["nodes"][1]["content"]["parameter"];
    assert_eq!(dispatched, &json!(format!("run 1, branch {branch}")), "{s}");
    assert!(labels(&sb, &key).contains(&"agent-in-progress".to_string()));
    // the same session delivered again (Linear retries): no second thought
    let (code, _, err) = created(&sb, &afk, &sid, &key, "d-2");
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("acknowledged already"), "{err}");
    assert_eq!(said(&sb, &sid, "Nothing has started yet"), 1);
    assert_eq!(afk.wait_agent(1), 0);
    // the PR (opened by this watch, or by the delivery's own follow-up
    // watch once the agent had ended): one action, one link
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "{err} {r}");
    let prs = sb.open_prs("acme/api");
    assert_eq!(prs.len(), 1, "{r}");
    let (_, raw) = sb.api(&sb.path("acme/api", &format!("pulls/{}", prs[0].number)));
    for _ in 0..2 {
        let s = session(&sb, &sid);
        assert_eq!(
            s["externalLinks"],
            json!([{"label": "Pull request", "url": raw["html_url"]}]),
            "{s}"
        );
        assert_eq!(said(&sb, &sid, "Opened pull request"), 1);
        assert_eq!(said(&sb, &sid, "Dispatched"), 1);
        // a second look at the session adds nothing said already
        let (code, r, err) = afk.watch();
        assert_eq!(code, 0, "{err} {r}");
    }
    sb.status("acme/api", &prs[0].head, "ci/build", "success");
    sb.merge("acme/api", prs[0].number);
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "{err} {r}");
    assert_eq!(action_of(&r, 1).0, "succeed", "{r}");
    let last = activities(&sb, &sid).pop().unwrap();
    assert_eq!(last.0, "response", "{last:?}");
    assert!(
        last.1.contains(raw["html_url"].as_str().unwrap()),
        "{last:?}"
    );
    assert_eq!(linear_issue(&sb, &key)["state"]["type"], "completed");
    // every activity afk's own kind, none a person's
    for (kind, _) in activities(&sb, &sid) {
        assert!(
            ["thought", "action", "response"].contains(&kind.as_str()),
            "{kind}"
        );
    }
}

/// How many of the session's activities say `words`.
fn said(sb: &Sandbox, id: &str, words: &str) -> usize {
    activities(sb, id)
        .iter()
        .filter(|(_, b)| b.contains(words))
        .count()
}

/// The attacker's delegations: by a person outside the team, and by a
/// member whose delegation's session another opened (or an automation):
/// each untrusted, nothing dispatched, and said once in the session as an
/// error however many ticks read it.
#[test]
fn an_untrusted_delegation_ends_in_one_error_activity_and_nothing_runs() {
    let (sb, afk, p) = delegating();
    let outsider = issue(&sb, Some(&p.alice), &[]);
    let s_outsider = delegate(&sb, &outsider, &p.mallory, None);
    let other_creator = issue(&sb, Some(&p.alice), &[]);
    let s_other = delegate(&sb, &other_creator, &p.alice, Some(Some(&p.mallory)));
    let automation = issue(&sb, Some(&p.alice), &[]);
    let s_auto = delegate(&sb, &automation, &p.alice, Some(None));
    for (n, (sid, key)) in [
        (&s_outsider, &outsider),
        (&s_other, &other_creator),
        (&s_auto, &automation),
    ]
    .into_iter()
    .enumerate()
    {
        let (code, out, err) = created(&sb, &afk, sid, key, &format!("d-{n}"));
        assert_eq!(code, 0, "{out}{err}");
    }
    // a cron tick reads them again: said once already
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err} {r}");
    assert!(r["dispatched"].as_array().unwrap().is_empty(), "{r}");
    for (sid, why) in [
        (&s_outsider, "not a member of the issue's team"),
        (&s_other, "its agent session was opened by"),
        (&s_auto, "no person behind it"),
    ] {
        let acts = activities(&sb, sid);
        assert_eq!(acts.len(), 2, "{why}: {acts:?}");
        assert_eq!(acts[0].0, "thought", "{acts:?}");
        assert_eq!(acts[1].0, "error", "{acts:?}");
        assert!(
            acts[1].1.contains("untrusted") && acts[1].1.contains(why),
            "{acts:?}"
        );
    }
    assert!(!afk.scratch.path("state/runs/1").exists());
}

/// The first thought does not wait for the tick: with the poll lock held
/// (a cron tick running), `afk hook` still posts it, then leaves the
/// delivery to the next tick; with the watch lock held (a watch tick
/// running) it posts it first too.
#[test]
fn the_first_thought_is_posted_while_another_tick_holds_the_lock() {
    for held in ["poll.lock", "watch.lock"] {
        let (sb, afk, p) = delegating();
        let text = std::fs::read_to_string(&afk.config).unwrap();
        std::fs::write(&afk.config, text + "\n[hook]\nwait_lock = \"0s\"\n").unwrap();
        assert_eq!(afk.poll().0, 0, "the state file");
        let lock = std::fs::File::options()
            .create(true)
            .append(true)
            .open(afk.scratch.path(&format!("state/{held}")))
            .unwrap();
        lock.lock().unwrap();
        let key = issue(&sb, Some(&p.alice), &[]);
        let sid = delegate(&sb, &key, &p.alice, None);
        let (code, out, err) = created(&sb, &afk, &sid, &key, "d-held");
        assert_eq!(code, 0, "{held}: {out}{err}");
        if held == "poll.lock" {
            assert!(err.contains("left to the next tick"), "{err}");
        }
        assert_eq!(
            kinds(&sb, &sid).first().map(String::as_str),
            Some("thought"),
            "{held}"
        );
        assert_eq!(session(&sb, &sid)["unresponsive"], false, "{held}");
        drop(lock);
    }
}

/// A person's words in the session are no instruction (one thought says
/// where afk takes them); a `stop` from someone afk does not trust is
/// words too; a team member's `stop` stops the run as `/afk stop` does,
/// and the session hears the end as an error.
#[test]
fn a_trusted_stop_in_the_session_stops_the_run_and_other_words_are_answered() {
    let (sb, afk, p) = delegating();
    let key = issue(&sb, Some(&p.alice), &[]);
    let sid = delegate(&sb, &key, &p.alice, None);
    let (code, out, err) = created(&sb, &afk, &sid, &key, "d-1");
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(said(&sb, &sid, "Dispatched"), 1, "{err}");
    assert_eq!(afk.wait_agent(1), 0);
    let prompt = |by: &str, signal: Value| {
        sb.admin(
            "POST",
            "/linear/prompt",
            Some(json!({"session": sid, "by": by, "signal": signal})),
        );
    };
    prompt(&p.alice, Value::Null);
    prompt(&p.mallory, json!("stop"));
    for _ in 0..2 {
        let (code, r, err) = afk.watch();
        assert_eq!(code, 0, "{err} {r}");
        assert_ne!(action_of(&r, 1).0, "escalate", "{r}");
        assert_eq!(
            said(&sb, &sid, "/afk fix"),
            2,
            "{:?}",
            activities(&sb, &sid)
        );
    }
    prompt(&p.alice, json!("stop"));
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "{err} {r}");
    assert_eq!(
        action_of(&r, 1),
        ("escalate".into(), Some("stopped".into())),
        "{r}"
    );
    let last = activities(&sb, &sid).pop().unwrap();
    assert_eq!(last.0, "error", "{last:?}");
    assert!(last.1.contains("Stopped as a person asked"), "{last:?}");
}

/// A delegation taken back while the agent works abandons the run: no PR
/// is opened, and the session hears it as an error.
#[test]
fn a_delegation_taken_back_abandons_the_run() {
    let (sb, afk, p) = delegating();
    let key = issue(&sb, Some(&p.alice), &[]);
    let sid = delegate(&sb, &key, &p.alice, None);
    assert_eq!(created(&sb, &afk, &sid, &key, "d-1").0, 0);
    assert_eq!(afk.wait_agent(1), 0);
    sb.admin(
        "POST",
        "/linear/undelegate",
        Some(json!({"issue": key, "by": p.alice})),
    );
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "{err} {r}");
    assert_eq!(action_of(&r, 1).0, "abandon", "{r}");
    assert_eq!(activities(&sb, &sid).pop().unwrap().0, "error");
}

/// A run in flight keeps its session from going stale: a watch 25 and 45
/// minutes on (afk's clock) each posts an ephemeral thought, as Linear
/// marks a session stale after 30 minutes without an activity; a watch
/// within 20 minutes of the last says nothing.
#[test]
fn a_session_in_flight_45_minutes_never_goes_stale() {
    let (sb, afk, p) = delegating();
    let key = issue(&sb, Some(&p.alice), &[]);
    let sid = delegate(&sb, &key, &p.alice, None);
    assert_eq!(created(&sb, &afk, &sid, &key, "d-1").0, 0);
    let start = time::OffsetDateTime::now_utc();
    let alive = || {
        session(&sb, &sid)["activities"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["ephemeral"] == true)
            .count()
    };
    for (minutes, want) in [(5, 0), (25, 1), (45, 2)] {
        afk.at(start + time::Duration::minutes(minutes));
        let (code, r, err) = afk.watch();
        assert_eq!(code, 0, "{err} {r}");
        assert_eq!(alive(), want, "at {minutes} minutes: {r}");
    }
}

/// Linear's bound, over many sessions: each `created` delivery through
/// `afk hook` on loopback has its first activity well within 10 seconds
/// (the sandbox marks a session unresponsive past them, as Linear shows
/// it). The 99th percentile is printed; every session is asserted.
#[test]
fn every_session_of_a_hundred_hears_from_afk_within_linears_ten_seconds() {
    let (sb, afk, p) = delegating();
    let key = issue(&sb, Some(&p.alice), &[]);
    let mut took = vec![];
    for n in 0..100 {
        let sid = delegate(&sb, &key, &p.alice, None);
        let (code, out, err) = created(&sb, &afk, &sid, &key, &format!("d-{n}"));
        assert_eq!(code, 0, "{out}{err}");
        let s = session(&sb, &sid);
        assert_eq!(s["unresponsive"], false, "session {n}: {s}");
        took.push(s["firstActivityMs"].as_u64().unwrap());
    }
    took.sort();
    eprintln!(
        "first activity after created, over 100 sessions: p50 {} ms, p99 {} ms, max {} ms",
        took[49], took[98], took[99]
    );
}

/// Doctor, with `ready = "delegate"`: afk's app user takes agent
/// sessions. A delegation that could never arm anything is a load error
/// naming its key: a personal key where delegate is set (a person cannot
/// be delegated to), and no webhook secret (afk hears a session only
/// through the webhook).
#[test]
fn doctor_checks_that_afks_user_can_be_delegated_to_and_what_cannot_be_is_a_load_error() {
    let (_sb, afk, _) = delegating();
    let ok = crate::tracker_linear::doctor_lines(&afk);
    assert!(ok.iter().all(|(level, _)| level == "ok"), "{ok:?}");
    assert!(
        ok.iter()
            .any(|(_, d)| d.contains("takes delegations and agent sessions")),
        "{ok:?}"
    );
    let base = std::fs::read_to_string(&afk.config).unwrap();
    let cases = [
        ("auth = \"bearer\"\n", "", "tracker.auth"),
        (
            "hook_secret_env = \"AFK_TEST_LINEAR_HOOK\"\n",
            "",
            "tracker.hook_secret_env",
        ),
    ];
    crate::tracker_linear::each_a_load_error(&afk, &base, &cases);
}

/// Under the kill switch, and with the stop file there, a `created`
/// delivery is answered and posts nothing to Linear: no first thought, no
/// flag, no tick.
#[test]
fn under_the_kill_switch_or_the_stop_file_no_session_hears_anything() {
    for brake in ["kill switch", "stop file"] {
        let (sb, afk, p) = delegating();
        match brake {
            "kill switch" => {
                let text = std::fs::read_to_string(&afk.config).unwrap();
                let off = text.replacen("enabled = true", "enabled = false", 1);
                assert_ne!(off, text);
                std::fs::write(&afk.config, off).unwrap();
            }
            _ => {
                std::fs::create_dir_all(afk.scratch.path("state")).unwrap();
                std::fs::write(afk.scratch.path("state/STOP"), "").unwrap();
            }
        }
        let key = issue(&sb, Some(&p.alice), &[]);
        let sid = delegate(&sb, &key, &p.alice, None);
        sb.clear_requests();
        let (code, out, err) = created(&sb, &afk, &sid, &key, "d-1");
        assert!(out.starts_with("HTTP/1.1 200 OK"), "{brake}: {out}{err}");
        assert_eq!(code, 0, "{brake}: {err}");
        assert!(
            sb.requests().iter().all(|q| q["path"] != "/linear/graphql"),
            "{brake}: {err}"
        );
        assert!(activities(&sb, &sid).is_empty(), "{brake}");
        assert!(
            !afk.scratch.path("state/agent-sessions").exists(),
            "{brake}"
        );
    }
}

/// With `ready = "label"`, afk's app user still takes sessions (a mention
/// or a delegation opens one): the label arms the issue, not the session;
/// the session is acknowledged and hears the run's dispatch as with
/// `ready = "delegate"`. An issue no session was heard of asks Linear for
/// none.
#[test]
fn with_ready_label_a_session_on_an_armed_issue_hears_its_run() {
    let (sb, afk, p) = delegating();
    let text = std::fs::read_to_string(&afk.config).unwrap();
    let with = text.replace("ready = \"delegate\"\n", "");
    assert_ne!(with, text);
    std::fs::write(&afk.config, with).unwrap();
    let quiet = issue(&sb, Some(&p.alice), &[]);
    crate::tracker_linear::arm(&sb, &quiet, Some(&p.alice));
    let key = issue(&sb, Some(&p.alice), &[]);
    crate::tracker_linear::arm(&sb, &key, Some(&p.alice));
    let sid = delegate(&sb, &key, &p.alice, None);
    sb.clear_requests();
    let (code, out, err) = created(&sb, &afk, &sid, &key, "d-1");
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        err.contains(&format!("agent session {sid} acknowledged")),
        "{err}"
    );
    // the label armed both; the first by number is the one run of acme/api
    assert!(
        labels(&sb, &quiet).contains(&"agent-in-progress".to_string()),
        "{err}"
    );
    let k = kinds(&sb, &sid);
    assert_eq!(k.first().map(String::as_str), Some("thought"), "{k:?}");
    assert!(
        activities(&sb, &sid)
            .iter()
            .any(|(_, t)| t.contains("Not started yet")),
        "the session's issue waits its turn, and says so: {:?}",
        activities(&sb, &sid)
    );
    let sessions_read = sb
        .requests()
        .iter()
        .filter_map(|q| q["body"]["query"].as_str().map(str::to_string))
        .filter(|q| q.contains("agentSession("))
        .count();
    assert!(sessions_read >= 1, "the heard session is read");
}

/// `afk hook` killed after it took a session's flag and before it posted
/// the first thought (the flag stands, no activity): the next poll posts
/// that thought before its own word there, once; the hook, redelivered,
/// posts nothing (the flag says it was taken).
#[test]
fn a_first_thought_a_killed_hook_never_posted_is_posted_by_the_next_tick() {
    let (sb, afk, p) = delegating();
    let key = issue(&sb, Some(&p.alice), &[]);
    let sid = delegate(&sb, &key, &p.alice, None);
    let uuid = linear_issue(&sb, &key)["id"].as_str().unwrap().to_string();
    // what the killed hook left: its flag, and nothing posted
    let flags = afk.scratch.path("state/agent-sessions");
    std::fs::create_dir_all(&flags).unwrap();
    std::fs::write(flags.join(format!("{uuid}.{sid}")), "").unwrap();
    let (code, out, err) = created(&sb, &afk, &sid, &key, "d-1");
    assert_eq!(code, 0, "{out}{err}");
    assert!(err.contains("was acknowledged already"), "{err}");
    let k = kinds(&sb, &sid);
    assert_eq!(k.first().map(String::as_str), Some("thought"), "{k:?}");
    assert!(k.contains(&"action".to_string()), "dispatched: {k:?}");
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err} {r}");
    let thoughts = activities(&sb, &sid)
        .into_iter()
        .filter(|(_, t)| t.starts_with("afk received this"))
        .count();
    assert_eq!(thoughts, 1, "{:?}", activities(&sb, &sid));
}

/// `afk hook` keeps an agent session's flag 30 days: a flag older than
/// that is removed by the next acknowledgement (after its first thought),
/// one of 30 days or less and the new session's own are kept.
#[test]
fn session_flags_past_thirty_days_are_removed_by_the_next_acknowledgement() {
    let (sb, afk, p) = delegating();
    let flags = afk.scratch.path("state/agent-sessions");
    std::fs::create_dir_all(&flags).unwrap();
    let day = std::time::Duration::from_secs(86_400);
    let now = std::time::SystemTime::now();
    for (name, age) in [
        ("old-issue.old-session", 31),
        ("recent-issue.recent-session", 29),
    ] {
        let f = std::fs::File::create(flags.join(name)).unwrap();
        f.set_modified(now - day * age).unwrap();
    }
    let key = issue(&sb, Some(&p.alice), &[]);
    let sid = delegate(&sb, &key, &p.alice, None);
    let (code, out, err) = created(&sb, &afk, &sid, &key, "d-prune");
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        kinds(&sb, &sid).first().map(String::as_str),
        Some("thought")
    );
    let mut left: Vec<String> = std::fs::read_dir(&flags)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    left.sort();
    let uuid = linear_issue(&sb, &key)["id"].as_str().unwrap().to_string();
    let mut want = vec![
        "recent-issue.recent-session".to_string(),
        format!("{uuid}.{sid}"),
    ];
    want.sort();
    assert_eq!(left, want, "{err}");
    assert!(
        err.contains("removed 1 agent session flags older than 30 days"),
        "{err}"
    );
}
