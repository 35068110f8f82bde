//! `afk template` versions by hand (docs/reports.md#afk-template): starting a
//! canary, promote and reject with their events, every refusal one line with
//! exit 1 and nothing changed, and the built-in preamble before any version
//! exists.

use crate::support::*;
use serde_json::{Value, json};

const NOTIFY: &str = "[notify]\nwebhook_env = \"AFK_TEST_WEBHOOK\"\n\
    events = [\"candidate.promoted\", \"candidate.rejected\", \"candidate.rolled_back\", \"candidate.auto_promoted\"]";

fn setup(canary_on: bool) -> (Sandbox, Afk) {
    let sb = Sandbox::start(json!({"repos": []}));
    let mut afk = Afk::with_text(&format!(
        "state_path = \"state/afk.db\"\n[harvest]\ncanary = {canary_on}\n{NOTIFY}\n"
    ));
    afk.hooks = Some(sb.url.clone());
    (sb, afk)
}

fn add(afk: &Afk, text: &str, canary: bool) -> (i32, Value, String) {
    let f = afk.scratch.write("t.md", text);
    let mut args = vec![
        "template",
        "add",
        "implementer",
        "--file",
        f.to_str().unwrap(),
    ];
    if canary {
        args.push("--canary");
    }
    afk.json(&args)
}

fn statuses(afk: &Afk) -> Vec<(i64, String)> {
    let (_, r, _) = afk.json(&["template", "list"]);
    r["templates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["version"].as_i64().unwrap(),
                t["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn events(afk: &Afk) -> Vec<Vec<String>> {
    if !afk.state().exists() {
        return vec![];
    }
    afk.sql_rows("SELECT kind, reason FROM events ORDER BY id")
}

/// The command fails with exit 1, one line on stderr containing `why`, and
/// leaves versions and events as they were.
fn refused(afk: &Afk, args: &[&str], why: &str) {
    let before = (statuses(afk), events(afk));
    let out = afk.cmd().args(args).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "{args:?}: one line: {err}"
    );
    assert!(err.contains(why), "{args:?}: {err}");
    assert_eq!(
        (statuses(afk), events(afk)),
        before,
        "{args:?} changed something"
    );
}

#[test]
fn show_before_any_version_prints_the_built_in_preamble() {
    let (_sb, afk) = setup(false);
    let out = afk
        .cmd()
        .args(["template", "show", "implementer"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim_end(),
        afk::core::prompt::DEFAULT_PREAMBLE.trim_end()
    );
    assert!(!afk.state().exists(), "reading creates no state file");
    let (code, r, _) = afk.json(&["template", "show", "implementer"]);
    assert_eq!(
        (code, r["template"]["status"].clone()),
        (0, json!("built-in"))
    );
    // other names have no built-in text
    let out = afk
        .cmd()
        .args(["template", "show", "upgrader"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn a_canary_needs_harvest_canary_and_no_live_canary() {
    let (_sb, afk) = setup(false);
    refused(
        &afk,
        &[
            "template",
            "add",
            "implementer",
            "--canary",
            "--file",
            afk.scratch.write("t.md", "v\n").to_str().unwrap(),
        ],
        "harvest.canary = true",
    );
    assert!(!afk.state().exists(), "a refusal creates nothing");
    add(&afk, "v1\n", false);
    add(&afk, "v2\n", false);
    refused(
        &afk,
        &[
            "template",
            "add",
            "implementer",
            "--canary",
            "--file",
            afk.scratch.path("t.md").to_str().unwrap(),
        ],
        "harvest.canary = true",
    );
    refused(
        &afk,
        &["template", "canary", "implementer", "2"],
        "harvest.canary = true",
    );

    let (_sb, afk) = setup(true);
    refused(
        &afk,
        &[
            "template",
            "add",
            "implementer",
            "--canary",
            "--file",
            afk.scratch.write("t.md", "v\n").to_str().unwrap(),
        ],
        "no current version yet",
    );
    add(&afk, "v1\n", false);
    add(&afk, "v2\n", false);
    add(&afk, "v3\n", false);
    refused(
        &afk,
        &["template", "canary", "implementer", "1"],
        "is current",
    );
    refused(
        &afk,
        &["template", "canary", "implementer", "9"],
        "implementer@9 does not exist",
    );
    let (code, r, err) = afk.json(&["template", "canary", "implementer", "2"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(r["template"]["status"], "canary");
    assert!(r["template"]["canary_since"].is_string());
    refused(
        &afk,
        &["template", "canary", "implementer", "3"],
        "already has a live canary (version 2)",
    );
    refused(
        &afk,
        &[
            "template",
            "add",
            "implementer",
            "--canary",
            "--file",
            afk.scratch.path("t.md").to_str().unwrap(),
        ],
        "already has a live canary (version 2)",
    );
    assert_eq!(
        statuses(&afk),
        vec![
            (1, "current".into()),
            (2, "canary".into()),
            (3, "candidate".into())
        ]
    );
    // the trail of a live canary says what comes next
    let out = afk
        .cmd()
        .args(["template", "show", "implementer@2"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("v2\n"), "{text}");
    assert!(text.contains("next checkpoint at 20"), "{text}");
}

#[test]
fn promoting_the_live_canary_by_hand_ends_it_with_one_event() {
    let (sb, afk) = setup(true);
    add(&afk, "v1\n", false);
    add(&afk, "v2\n", true);
    add(&afk, "v3\n", false);
    refused(
        &afk,
        &["template", "promote", "implementer", "3"],
        "has a live canary (version 2)",
    );
    refused(
        &afk,
        &["template", "promote", "implementer", "1"],
        "already current",
    );
    let out = afk
        .cmd()
        .args(["--dry-run", "template", "promote", "implementer", "2"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        events(&afk),
        Vec::<Vec<String>>::new(),
        "a dry run changes nothing"
    );
    let (code, r, err) = afk.json(&["template", "promote", "implementer", "2"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(r["events"], json!(["candidate.promoted"]));
    assert_eq!(
        statuses(&afk),
        vec![
            (1, "retired".into()),
            (2, "current".into()),
            (3, "candidate".into())
        ]
    );
    assert_eq!(
        events(&afk),
        vec![vec!["candidate.promoted".to_string(), "by-hand".into()]]
    );
    let hooks: Vec<Value> = sb.hooks();
    assert_eq!(hooks.len(), 1, "{hooks:?}");
    assert_eq!(hooks[0]["body"]["event"], "candidate.promoted");
    // again: refused, nothing more
    refused(
        &afk,
        &["template", "promote", "implementer", "2"],
        "already current",
    );
    refused(
        &afk,
        &["template", "promote", "implementer", "1"],
        "is retired and cannot be promoted",
    );
    assert_eq!(sb.hooks().len(), 1);
}

#[test]
fn rejecting_by_hand_emits_one_event_and_never_touches_the_current_version() {
    let (sb, afk) = setup(true);
    add(&afk, "v1\n", false);
    add(&afk, "v2\n", true);
    refused(
        &afk,
        &["template", "reject", "implementer", "1"],
        "is current",
    );
    refused(
        &afk,
        &["template", "reject", "implementer", "7"],
        "does not exist",
    );
    let (code, r, _) = afk.json(&["template", "reject", "implementer", "2"]);
    assert_eq!(code, 0);
    assert_eq!(r["events"], json!(["candidate.rejected"]));
    assert_eq!(
        statuses(&afk),
        vec![(1, "current".into()), (2, "rejected".into())]
    );
    refused(
        &afk,
        &["template", "reject", "implementer", "2"],
        "already rejected",
    );
    assert_eq!(events(&afk).len(), 1);
    assert_eq!(sb.hooks().len(), 1);
    // the decision trail of a version ended by hand
    let (_, s, _) = afk.json(&["template", "show", "implementer@2"]);
    assert_eq!(s["template"]["decision"]["decision"], "rejected");
    assert_eq!(s["template"]["decision"]["reason"], "by-hand");
    // a new canary may start now
    add(&afk, "v3\n", true);
    assert_eq!(statuses(&afk)[2], (3, "canary".into()));
}

/// A dry promote or reject names what would become of the version in plain
/// words (it once printed "would be rejectd"), and changes nothing.
#[test]
fn a_dry_promote_or_reject_says_what_would_become_of_the_version() {
    let (_sb, afk) = setup(true);
    add(&afk, "v1\n", false);
    add(&afk, "v2\n", true);
    for (verb, said) in [
        (
            "promote",
            "template promote (dry run): implementer@2 would be promoted\n",
        ),
        (
            "reject",
            "template reject (dry run): implementer@2 would be rejected\n",
        ),
    ] {
        let before = (statuses(&afk), events(&afk));
        let out = afk
            .cmd()
            .args(["--dry-run", "template", verb, "implementer", "2"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{verb}");
        assert_eq!(String::from_utf8_lossy(&out.stdout), said);
        assert_eq!(
            (statuses(&afk), events(&afk)),
            before,
            "a dry {verb} changes nothing"
        );
    }
}
