//! The journal (docs/audit.md) through the binary: a lifecycle on every
//! sandbox dialect leaves one entry for every write the sandbox's own
//! request log shows and none more, and a chain `afk audit verify` finds
//! intact, from the state file and from an export alone; each way of
//! tampering with either (a byte changed, an entry removed, two swapped) is
//! named at its entry, exit 1.

use crate::support::*;
use serde_json::{Value, json};

/// The sandbox with one armed issue, and afk doing the git around a
/// scripted agent (afk pushes and opens the PR: every write the sandbox
/// sees is afk's).
fn world(d: Dialect) -> (Sandbox, Afk) {
    let sb = Sandbox::start_in(
        d,
        json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}),
    );
    let afk = Afk::agent_in_afks_workspace(&sb, "pr", "");
    (sb, afk)
}

/// The sandbox lifecycle: armed, dispatched, PR, green CI, merged, succeeded.
fn lifecycle(sb: &Sandbox, afk: &Afk) {
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err} {r}");
    lifecycle_after_poll(sb, afk);
}

/// [`lifecycle`] from the agent's start on.
fn lifecycle_after_poll(sb: &Sandbox, afk: &Afk) {
    assert_eq!(afk.wait_agent(1), 0);
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "{err} {r}");
    let pr = sb.open_prs("acme/api")[0].number;
    sb.status("acme/api", "afk/issue-1", "ci/build", "success");
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "{err} {r}");
    sb.merge("acme/api", pr);
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "{err} {r}");
    assert_eq!(action_of(&r, 1).0, "succeed", "{r}");
}

/// `afk audit verify [args]`: its exit code and its JSON.
fn verify(afk: &Afk, args: &[&str]) -> (i32, Value) {
    let mut all = vec!["audit", "verify"];
    all.extend_from_slice(args);
    let (code, v, err) = afk.json(&all);
    assert!(err.lines().count() <= 1, "{err}");
    (code, v)
}

/// Every write the sandbox saw has its `forge.write` entry (same method,
/// the path as afk asked it), and every such entry its request, on every
/// dialect; the run's own entries are there, and the chain holds.
#[test]
fn every_write_of_a_lifecycle_is_journaled_and_the_chain_verifies_on_every_dialect() {
    for d in Dialect::ALL {
        let (sb, afk) = world(d);
        lifecycle(&sb, &afk);
        let mut asked: Vec<(String, String)> = sb
            .writes()
            .iter()
            .filter(|r| !r["path"].as_str().unwrap_or("").ends_with("/graphql"))
            .filter(|r| !r["path"].as_str().unwrap_or("").starts_with("/_admin"))
            .map(|r| {
                let p = r["path"].as_str().unwrap_or("");
                (
                    r["method"].as_str().unwrap_or("").to_string(),
                    p.split('?').next().unwrap_or(p).to_string(),
                )
            })
            .collect();
        let rows = afk.sql_rows("SELECT kind, body, run FROM journal ORDER BY seq");
        let mut journaled: Vec<(String, String)> = rows
            .iter()
            .filter(|r| r[0] == "forge.write")
            .map(|r| {
                let b: Value = serde_json::from_str(&r[1]).unwrap();
                (
                    b["method"].as_str().unwrap().to_string(),
                    b["path"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(
            journaled.len(),
            asked.len(),
            "{d:?}: journal {journaled:?}\nforge {asked:?}"
        );
        asked.sort();
        journaled.sort();
        for ((jm, jp), (am, ap)) in journaled.iter().zip(&asked) {
            assert_eq!(jm, am, "{d:?}");
            assert!(ap.ends_with(jp.as_str()), "{d:?}: {ap} is not {jp}");
        }
        let kinds: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
        for k in ["run.claimed", "agent.started", "git.push", "run.succeeded"] {
            assert!(kinds.contains(&k), "{d:?}: {k} in {kinds:?}");
        }
        let (code, v) = verify(&afk, &[]);
        assert_eq!(code, 0, "{d:?}: {v}");
        assert_eq!(v["count"], rows.len(), "{d:?}: {v}");
        let (code, shown, err) = afk.json(&["audit", "show", "1"]);
        assert_eq!(code, 0, "{err}");
        assert!(!shown["entries"].as_array().unwrap().is_empty(), "{shown}");
    }
}

/// A byte changed, an entry removed, two entries swapped: in the state file
/// and in an export checked alone, `verify` names the entry, exit 1; an
/// export cut short is found against the head the status page published.
#[test]
fn verify_names_each_tampered_entry_in_the_state_file_and_in_an_export() {
    let (sb, afk) = world(Dialect::Gitea);
    lifecycle(&sb, &afk);
    let (code, v) = verify(&afk, &[]);
    assert_eq!(code, 0, "{v}");
    let head = format!("{}:{}", v["count"], v["head"].as_str().unwrap());
    // the status page publishes the head
    let out = afk.cmd().args(["status", "--html"]).output().unwrap();
    assert_success(&out);
    let page = String::from_utf8_lossy(&out.stdout);
    assert!(
        page.contains(&format!("afk audit verify --head {head}")),
        "{page}"
    );
    let out = afk.cmd().args(["audit", "export"]).output().unwrap();
    assert_success(&out);
    let export = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = export.lines().collect();
    assert!(lines.len() >= 4, "{export}");
    let file = afk.scratch.write("journal.jsonl", &export);
    let f = file.display().to_string();
    // the export alone, on another machine: no config, no state file
    let (code, v) = verify(&afk, &["--file", &f, "--head", &head]);
    assert_eq!(code, 0, "{v}");

    let tampered = |name: &str, lines: Vec<String>| {
        let p = afk.scratch.write(name, &(lines.join("\n") + "\n"));
        p.display().to_string()
    };
    let owned: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    let mut changed = owned.clone();
    changed[2] = changed[2]
        .replacen("\\\"", "\\\" ", 1)
        .replacen(":", ": ", 1);
    let mut removed = owned.clone();
    removed.remove(2);
    let mut swapped = owned.clone();
    swapped.swap(1, 2);
    let mut short = owned.clone();
    short.pop();
    for (name, lines, args_head, want) in [
        ("changed", changed, None, json!([3, "changed"])),
        ("removed", removed, None, json!([3, "removed"])),
        ("swapped", swapped, None, json!([2, "moved out of order"])),
        (
            "short",
            short,
            Some(head.as_str()),
            json!([owned.len(), "not the head published for it"]),
        ),
    ] {
        let p = tampered(&format!("{name}.jsonl"), lines);
        let mut args = vec!["--file", p.as_str()];
        if let Some(h) = args_head {
            args.extend(["--head", h]);
        }
        let (code, v) = verify(&afk, &args);
        assert_eq!(code, 1, "{name}: {v}");
        assert_eq!(v["broken"], want, "{name}: {v}");
    }

    // in the state file: a byte of entry 3's body, then entry 3 gone, then
    // entries 2 and 4 swapped (the sequence number is the table's key, so
    // there a swap puts another entry's text at 2: changed)
    afk.sql("UPDATE journal SET body = body || ' ' WHERE seq = 3;");
    assert_eq!(verify(&afk, &[]).1["broken"], json!([3, "changed"]));
    afk.sql("DELETE FROM journal WHERE seq = 3;");
    assert_eq!(verify(&afk, &[]).1["broken"], json!([3, "removed"]));
    afk.sql("UPDATE journal SET seq = -2 WHERE seq = 2; UPDATE journal SET seq = 2 WHERE seq = 4; UPDATE journal SET seq = 4 WHERE seq = -2;");
    let (code, v) = verify(&afk, &[]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["broken"], json!([2, "changed"]), "{v}");
    let out = afk.cmd().args(["audit", "verify"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.trim(), "journal broken: entry 2 was changed");
}

/// The status issue carries the chain's head as the last run ended, a copy
/// on the forge the host cannot take back; `verify --head` with it holds,
/// and a head that the chain does not have is named.
#[test]
fn the_status_issue_shows_the_journals_head_at_the_last_runs_end() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([
        ready(1, "alice"),
        {"number": 5, "title": "afk status", "body": "notes"},
    ]))]}));
    let afk = Afk::agent_in_afks_workspace(&sb, "pr", "");
    let text = std::fs::read_to_string(&afk.config).unwrap();
    std::fs::write(
        &afk.config,
        format!("status_issue = \"acme/api#5\"\n{text}"),
    )
    .unwrap();
    let body = || {
        sb.issue("acme/api", 5)["body"]
            .as_str()
            .unwrap_or("")
            .to_string()
    };
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err} {r}");
    assert!(
        !body().contains("**Journal**"),
        "no run ended yet: {}",
        body()
    );
    lifecycle_after_poll(&sb, &afk);
    let ended = afk.sql_rows("SELECT seq, hash FROM journal WHERE kind = 'run.ended'");
    assert_eq!(ended.len(), 1, "{ended:?}");
    let head = format!("{}:{}", ended[0][0], ended[0][1]);
    assert!(
        body().contains(&format!("at the last run's end: `{head}`")),
        "{}",
        body()
    );
    let (code, v) = verify(&afk, &["--head", &head]);
    assert_eq!(code, 0, "{v}");
    let other = format!("{}:{}", ended[0][0], "0".repeat(64));
    let (code, v) = verify(&afk, &["--head", &other]);
    assert_eq!(code, 1, "{v}");
}
