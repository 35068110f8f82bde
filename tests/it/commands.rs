//! template, doctor, init, sandbox and demo through the binary.

use crate::support::*;
use serde_json::json;

#[test]
fn template_versions_add_list_show_promote_reject() {
    let afk = Afk::with_text("state_path = \"s/afk.db\"\n");
    let v1 = afk.scratch.write("v1.md", "first\n");
    let v2 = afk.scratch.write("v2.md", "second\n");
    let (code, r, _) = afk.json(&[
        "template",
        "add",
        "implementer",
        "--file",
        v1.to_str().unwrap(),
    ]);
    assert_eq!(code, 0);
    assert_eq!(r["template"]["status"], "current");
    assert_eq!(r["template"]["version"], 1);
    let (_, r, _) = afk.json(&[
        "template",
        "add",
        "implementer",
        "--file",
        v2.to_str().unwrap(),
    ]);
    assert_eq!(r["template"]["status"], "candidate");
    assert_eq!(r["template"]["version"], 2);
    let (_, r, _) = afk.json(&["template", "list"]);
    let statuses: Vec<_> = r["templates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["status"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(statuses, vec!["current", "candidate"]);
    let out = afk
        .cmd()
        .args(["template", "show", "implementer"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "first\n");
    let out = afk
        .cmd()
        .args(["template", "show", "implementer@2"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "second\n");
    assert!(
        afk.cmd()
            .args(["template", "promote", "implementer", "2"])
            .output()
            .unwrap()
            .status
            .success()
    );
    let (_, r, _) = afk.json(&["template", "list", "implementer"]);
    let statuses: Vec<_> = r["templates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["status"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(statuses, vec!["retired", "current"]);
    // the current version cannot be rejected; unknown versions are errors
    assert_eq!(
        afk.cmd()
            .args(["template", "reject", "implementer", "2"])
            .output()
            .unwrap()
            .status
            .code(),
        Some(1)
    );
    assert_eq!(
        afk.cmd()
            .args(["template", "show", "implementer@9"])
            .output()
            .unwrap()
            .status
            .code(),
        Some(1)
    );
    assert_eq!(
        afk.cmd()
            .args(["template", "show", "implementer@x"])
            .output()
            .unwrap()
            .status
            .code(),
        Some(2)
    );
    // --canary needs harvest.canary: refused, exit 1
    let out = afk
        .cmd()
        .args(["template", "add", "implementer", "--canary", "--file"])
        .arg(&v1)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("harvest.canary"));
    // a missing file is an error and adds nothing
    assert_eq!(
        afk.cmd()
            .args(["template", "add", "implementer", "--file", "/nonexistent"])
            .output()
            .unwrap()
            .status
            .code(),
        Some(1)
    );
    let (_, r, _) = afk.json(&["template", "list"]);
    assert_eq!(r["templates"].as_array().unwrap().len(), 2);
}

#[test]
fn init_writes_a_starter_config_once() {
    let s = Scratch::new();
    let path = s.path("afk.toml");
    let run = |extra: &[&str]| {
        assert_cmd::Command::new(afk_bin())
            .arg("--config")
            .arg(&path)
            .arg("init")
            .args(extra)
            .output()
            .unwrap()
    };
    assert!(run(&[]).status.success());
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("enabled = false"));
    assert_eq!(run(&[]).status.code(), Some(2), "refuses to overwrite");
    assert!(run(&["--force"]).status.success());
    // the starter config is valid and disabled
    let out = assert_cmd::Command::new(afk_bin())
        .arg("--config")
        .arg(&path)
        .args(["--json", "poll"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["enabled"], false);
}

/// `afk init --forge gitlab` writes GitLab's starter: it loads (poll runs
/// on it, disabled), names the kind, and asks for rebases, not merges.
#[test]
fn init_writes_a_starter_config_for_the_forge_named() {
    let s = Scratch::new();
    for (forge, kind, update) in [
        ("gitlab", "kind = \"gitlab\"", "update_branch = \"rebase\""),
        ("github", "kind = \"github\"", "update_branch = \"merge\""),
    ] {
        let path = s.path(&format!("{forge}.toml"));
        let out = assert_cmd::Command::new(afk_bin())
            .arg("--config")
            .arg(&path)
            .args(["init", "--forge", forge])
            .output()
            .unwrap();
        assert_success(&out);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(kind) && text.contains(update), "{text}");
        let out = assert_cmd::Command::new(afk_bin())
            .arg("--config")
            .arg(&path)
            .args(["--json", "poll"])
            .output()
            .unwrap();
        assert_success(&out);
    }
    let out = assert_cmd::Command::new(afk_bin())
        .arg("--config")
        .arg(s.path("x.toml"))
        .args(["init", "--forge", "gitlub"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// `afk init --tracker jira|linear` writes the tracker's own commented
/// block (the account afk should have, the webhook to register, a map
/// entry); the starter still loads as it is, and with that block and its
/// map entry uncommented (the repository allowlisted) it loads too: the
/// block is a working config, not prose.
#[test]
fn init_with_a_tracker_writes_its_block_and_uncommented_it_loads() {
    let s = Scratch::new();
    for (kind, says) in [("jira", "service account"), ("linear", "actor=app")] {
        let path = s.path(&format!("{kind}.toml"));
        let init = assert_cmd::Command::new(afk_bin())
            .arg("--config")
            .arg(&path)
            .args(["init", "--tracker", kind])
            .output()
            .unwrap();
        assert_success(&init);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(&format!("# kind = \"{kind}\"")), "{text}");
        assert!(text.contains(says), "{kind}: {text}");
        assert_eq!(text.matches("# [tracker]").count(), 1, "{text}");
        let poll = |path: &std::path::Path| {
            assert_cmd::Command::new(afk_bin())
                .arg("--config")
                .arg(path)
                .args(["--json", "poll"])
                .output()
                .unwrap()
        };
        assert_success(&poll(&path));
        // the block and its map entry uncommented, the repository allowlisted
        let start = text.find("# [tracker] ").unwrap();
        let end = start + text[start..].find("[poll] allowlist").unwrap();
        let end = end + text[end..].find('\n').unwrap();
        let live: String = text[start..end]
            .lines()
            .filter(|l| !l.starts_with("##"))
            .map(|l| l.strip_prefix("# ").or(l.strip_prefix('#')).unwrap_or(l))
            .collect::<Vec<_>>()
            .join("\n");
        let whole = format!("{}{live}{}", &text[..start], &text[end..]).replacen(
            "allowlist = []",
            "allowlist = [\"acme/api\"]",
            1,
        );
        let armed = s.path(&format!("{kind}-armed.toml"));
        std::fs::write(&armed, &whole).unwrap();
        let out = poll(&armed);
        assert_success(&out);
    }
    let out = assert_cmd::Command::new(afk_bin())
        .arg("--config")
        .arg(s.path("x.toml"))
        .args(["init", "--tracker", "trello"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn sandbox_refuses_non_loopback_addresses() {
    let out = assert_cmd::Command::new(afk_bin())
        .args(["sandbox", "--addr", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("loopback"));
}

#[test]
fn sandbox_requires_the_token_and_pages_like_gitea() {
    let issues: Vec<_> = (1..=120).map(|n| ready(n, "alice")).collect();
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!(issues))]}));
    let resp = ureq::get(&format!("{}/user", sb.api_url())).call();
    assert!(matches!(resp, Err(ureq::Error::Status(401, _))));
    let (_, page) = sb.api(&sb.dialect.issues_path("acme/api", "limit=100"));
    assert_eq!(page.as_array().unwrap().len(), 50, "limit is capped at 50");
}

/// The lifecycle's rows a demo prints, on every forge (a table row holding
/// all these words, however the columns are padded).
const DEMO_ROWS: &[&[&str]] = &[
    &["acme/api#1", "dispatched"],
    &["acme/docs#1", "dispatched"],
    &["acme/api#3", "skipped", "untrusted"],
    &["acme/web#1", "skipped", "blocked"],
    &["acme/api#1", "wait", "ci-pending"],
    &["acme/docs#1", "escalate", "blocked"],
    &["acme/api#1", "wait", "awaiting-merge"],
    &["acme/api#1", "succeed"],
    &["acme/api#2", "dispatched"],
    &["acme/api#2", "corrective_turn", "ci-red"],
    &["acme/api#2", "wait", "awaiting-merge"],
    // the review act: one review turn, a hold, the merge
    &["acme/api#2", "corrective_turn", "review"],
    &["acme/api#2", "wait", "held"],
    &["acme/api#2", "succeed"],
];

#[test]
fn demo_runs_the_lifecycle_on_the_sandbox() {
    // a $TMPDIR of its own: nothing the demo leaves can hide among other
    // processes' files, and nothing they left can be taken for the demo's
    let tmp = Scratch::new();
    let out = assert_cmd::Command::new(afk_bin())
        .arg("demo")
        .env_remove("AFK_FORGE_TOKEN")
        .env("TMPDIR", &tmp.dir)
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    assert_success(&out);
    let text = String::from_utf8_lossy(&out.stdout);
    let folder = text
        .lines()
        .find_map(|l| l.strip_prefix("the demo's folder "))
        .and_then(|l| l.split(" is removed").next())
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| panic!("no folder line:\n{text}"));
    assert!(folder.starts_with(&tmp.dir), "{}", folder.display());
    // nothing left behind in $TMPDIR: not the folder, not a page beside it
    let left: Vec<_> = std::fs::read_dir(&tmp.dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "left in $TMPDIR: {left:?}");
    // a table row holding all these words, however the columns are padded
    let row = |words: &[&str]| {
        text.lines()
            .any(|l| words.iter().all(|w| l.split_whitespace().any(|x| x == *w)))
    };
    let rows = DEMO_ROWS;
    for words in rows {
        assert!(row(words), "no row with {words:?}:\n{text}");
    }
    assert!(text.contains("event: run.succeeded"), "{text}");
    assert!(
        text.contains("quotes the review, fenced as data")
            && text.contains("alice commented on lines of your pull request in a review")
            && text.contains("afk-issue-2.txt:1: this line is a leftover"),
        "the review turn's prompt is shown: {text}"
    );
    assert!(text.contains("held by alice since"), "{text}");
    assert!(text.contains("event: run.escalated"), "{text}");
    assert!(
        text.contains("[gate_failure] CI failed on formatting — run the formatter before pushing"),
        "{text}"
    );
    let dir = text
        .lines()
        .find_map(|l| l.strip_prefix("the demo's folder "))
        .and_then(|l| l.split_whitespace().next())
        .expect("the demo says where its folder was");
    assert!(
        !std::path::Path::new(dir).exists(),
        "removed without --keep"
    );
    // --json: exactly one document
    let out = assert_cmd::Command::new(afk_bin())
        .args(["--json", "demo"])
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    let ticks = doc["ticks"].as_array().unwrap();
    // poll, watch x3, merged, again, poll, then the red-CI act: watch (afk
    // pushes the agent's branch), red, watch (the fix pushed), green again
    assert_eq!(ticks.len(), 10);
    assert_eq!(ticks[3]["actions"][0]["action"], "succeed");
    assert!(
        ticks[0]["dispatched"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["repo"] == "acme/api" && d["issue"] == 1)
    );
}

/// `afk demo --forge gitlab` plays every act the Gitea demo plays, on the
/// sandbox's GitLab dialect (#59): the same rows, a merge request named
/// `!M` and an issue `#N`, the canary rolled back, the upgrade act green, and
/// no tick with an error (the harvest's commit list and diffs, the upgrade's
/// mirror branch are GitLab's `repository` API).
#[test]
fn the_demo_plays_every_act_on_the_gitlab_dialect() {
    let out = demo(&["demo", "--forge", "gitlab"], 300);
    let text = String::from_utf8_lossy(&out.stdout);
    let row = |words: &[&str]| {
        text.lines()
            .any(|l| words.iter().all(|w| l.split_whitespace().any(|x| x == *w)))
    };
    for words in DEMO_ROWS {
        assert!(row(words), "no row with {words:?}:\n{text}");
    }
    for act in [
        "sandbox forge (gitlab)",
        "== the review act: acme/api#2's PR !2 is green",
        "a person merges PR !1; the forge closes issue #1",
        "/acme/api/-/merge_requests/1 merged",
        "== the canary act",
        "rolled_back",
        "== the budget act",
        "== the kubernetes act",
        "== the hook act",
        "opens PR !1: ",
        "its webhook ends the run (succeeded)",
        "== the upgrade act",
    ] {
        assert!(text.contains(act), "no {act:?}:\n{text}");
    }
    assert!(
        row(&["recipe-maintainers/web!1", "GREEN", "SUCCESS"]),
        "{text}"
    );
    // the upgrade report names its merge requests `!M` too
    assert!(text.contains("web: open_pr !1"), "{text}");
    // every tick's summary says 0 errors; no error line
    for l in text.lines() {
        let clean = !l.contains("errors") || l.contains(" 0 errors") || l.contains("errors 0");
        assert!(clean && !l.starts_with("error:"), "{l}\n{text}");
    }
}

/// Run afk with its stdout a pipe whose reader is already gone.
fn with_closed_stdout(afk: &Afk, args: &[&str]) -> std::process::Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    std::process::Command::new(afk_bin())
        .env("AFK_FORGE_TOKEN", TOKEN)
        .arg("--config")
        .arg(&afk.config)
        .args(args)
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap()
}

#[test]
fn a_closed_stdout_ends_afk_quietly_never_with_a_panic() {
    use std::os::unix::process::ExitStatusExt;
    let afk = Afk::with_text("state_path = \"s/afk.db\"\n[poll]\nenabled = false\n");
    for args in [
        vec!["poll"],
        vec!["--json", "poll"],
        vec!["lessons", "list"],
        vec!["completions", "bash"],
        vec!["man"],
    ] {
        let out = with_closed_stdout(&afk, &args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert_ne!(out.status.code(), Some(101), "{args:?}");
        // like cargo and coreutils: killed by SIGPIPE (141 in a shell), or done
        assert!(
            out.status.signal() == Some(libc::SIGPIPE) || out.status.code() == Some(0),
            "{args:?}: {:?} {err}",
            out.status
        );
    }
}

#[test]
fn lessons_list_status_open_means_new_or_in_progress() {
    let afk = Afk::with_text("state_path = \"s/afk.db\"\n");
    let mut ids = vec![];
    for _ in 0..3 {
        let (code, r, err) = afk.json(&["lessons", "record", "--type", "flaky_test"]);
        assert_eq!(code, 0, "{err}");
        ids.push(r["id"].as_i64().unwrap());
    }
    for (id, status) in [(ids[1], "in_progress"), (ids[2], "closed")] {
        let (code, _, err) = afk.json(&["lessons", "update", &id.to_string(), "--status", status]);
        assert_eq!(code, 0, "{err}");
    }
    let listed = |status: &str| -> Vec<i64> {
        let (code, r, err) = afk.json(&["lessons", "list", "--status", status]);
        assert_eq!(code, 0, "{status}: {err}");
        r["lessons"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["id"].as_i64().unwrap())
            .collect()
    };
    let cases = [
        ("open", vec![ids[1], ids[0]]),
        ("new", vec![ids[0]]),
        ("in_progress", vec![ids[1]]),
        ("closed", vec![ids[2]]),
    ];
    for (status, want) in cases {
        assert_eq!(listed(status), want, "--status {status}");
    }
    // open is a filter, not a status a lesson can be given
    let (code, _, err) = afk.json(&["lessons", "update", &ids[0].to_string(), "--status", "open"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("\"open\" is not one of new, in_progress, closed"),
        "{err}"
    );
}

/// What `afk ARGS` prints, after checking it exits 0.
fn stdout_of(args: &[&str]) -> String {
    let out = assert_cmd::Command::new(afk_bin())
        .args(args)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{args:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn completions_and_man_page_come_from_the_same_definitions() {
    let run = stdout_of;
    let cases = [
        (
            vec!["completions", "bash"],
            vec!["_afk()", "in_progress", "--target-domain"],
        ),
        (
            vec!["completions", "zsh"],
            vec!["#compdef afk", "in_progress"],
        ),
        (
            vec!["completions", "fish"],
            vec!["complete -c afk", "in_progress"],
        ),
        (
            vec!["man"],
            vec![".TH afk 1", ".SH NAME", ".SH \"EXIT STATUS\""],
        ),
    ];
    for (args, wanted) in cases {
        let text = run(&args);
        for w in wanted {
            assert!(text.contains(w), "{args:?} lacks {w}");
        }
    }
    let out = assert_cmd::Command::new(afk_bin())
        .args(["completions", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let dir = Scratch::new();
    let listed = run(&["man", "--dir", dir.path("man1").to_str().unwrap()]);
    for page in [
        "afk.1",
        "afk-poll.1",
        "afk-lessons-list.1",
        "afk-completions.1",
    ] {
        assert!(dir.path("man1").join(page).is_file(), "{page}");
        assert!(listed.contains(page), "{page}");
    }
}

#[test]
fn help_shows_each_command_only_the_flags_that_mean_something_there() {
    let help = stdout_of;
    let cases = [
        (
            vec!["poll", "--help"],
            vec!["--dry-run", "Exit status", "Examples"],
            vec![],
        ),
        (
            vec!["sandbox", "--help"],
            // `--forge` as `afk demo` names it, beside `--dialect`
            vec!["--addr", "Examples", "--dialect", "--forge"],
            vec!["--dry-run", "--json", "--state"],
        ),
        (
            vec!["completions", "--help"],
            vec!["bash", "zsh", "fish"],
            vec!["--dry-run", "--verbose"],
        ),
        (
            vec!["lessons", "list", "--help"],
            vec!["in_progress", "open"],
            vec!["--dry-run"],
        ),
        (
            vec!["lessons", "update", "--help"],
            vec!["--dry-run", "reliability"],
            vec![],
        ),
    ];
    for (args, shown, hidden) in cases {
        let text = help(&args);
        for s in shown {
            assert!(text.contains(s), "{args:?} lacks {s}:\n{text}");
        }
        for h in hidden {
            assert!(!text.contains(h), "{args:?} shows {h}:\n{text}");
        }
    }
    // hidden is not refused: scripts that pass a global everywhere keep working
    let out = assert_cmd::Command::new(afk_bin())
        .args(["--dry-run", "completions", "fish"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn errors_reach_stderr_as_one_stamped_line_also_with_json() {
    let afk = Afk::with_text("state_path = \"s/afk.db\"\n");
    let (code, _, err) = afk.json(&["lessons", "update", "999", "--status", "closed"]);
    assert_eq!(code, 1);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "{err}");
    // stderr is a pipe here, not a terminal: timestamp and level first
    let (ts, rest) = lines[0].split_once(' ').unwrap();
    assert!(
        ts.len() == 24 && ts.ends_with('Z') && ts.as_bytes()[10] == b'T',
        "{ts}"
    );
    assert!(
        rest.starts_with("ERROR afk: lessons: no lesson with id 999"),
        "{rest}"
    );
    // AFK_LOG=json: one object per line; AFK_LOG=plain: the terminal's form
    let out = afk
        .cmd()
        .env("AFK_LOG", "json")
        .args(["lessons", "update", "999", "--status", "closed"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stderr).expect("one JSON object");
    assert_eq!(v["level"], "error");
    assert!(
        v["msg"]
            .as_str()
            .unwrap()
            .starts_with("lessons: no lesson with id 999")
    );
    let out = afk
        .cmd()
        .env("AFK_LOG", "plain")
        .args(["lessons", "update", "999", "--status", "closed"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stderr).starts_with("afk: lessons: no lesson with id 999"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn every_json_command_prints_one_document_also_for_an_error() {
    for args in [
        vec!["--json", "--config", "/nonexistent/afk.toml", "poll"],
        vec!["--json", "--config", "/nonexistent/afk.toml", "watch"],
        vec!["--json", "--config", "/nonexistent/afk.toml", "harvest"],
    ] {
        let out = assert_cmd::Command::new(afk_bin())
            .env_remove("AFK_CONFIG")
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let doc: serde_json::Value =
            serde_json::from_slice(&out.stdout).expect("one JSON document");
        assert_eq!(doc["exit"], 2);
        assert!(
            doc["error"].as_str().unwrap().contains("cannot read"),
            "{doc}"
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            err.trim().lines().count(),
            1,
            "and one line on stderr: {err}"
        );
    }
}

/// A config path that does not exist was named on purpose: the line says
/// so and how to create that very file, not "pass --config" again.
#[test]
fn a_named_config_that_does_not_exist_says_how_to_create_it() {
    let out = assert_cmd::Command::new(afk_bin())
        .env_remove("AFK_CONFIG")
        .env("AFK_LOG", "plain")
        .args(["--config", "/nonexistent/afk.toml", "doctor"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("config: cannot read /nonexistent/afk.toml: it does not exist")
            && err.contains("`afk --config /nonexistent/afk.toml init`"),
        "{err}"
    );
    assert!(
        !err.contains("os error") && !err.contains("pass --config"),
        "{err}"
    );
}

#[test]
fn a_forge_that_is_down_reads_as_one_clean_line() {
    let afk = Afk::with_text(
        "state_path = \"s/afk.db\"\n[forge]\nurl = \"http://127.0.0.1:9\"\nretries = 0\n[poll]\nenabled = true\nallowlist = [\"a/b\"]\n[runner]\ncommand = [\"true\"]\n",
    );
    let out = afk.cmd().arg("poll").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot connect to http://127.0.0.1:9 (forge.url): connection refused"),
        "{err}"
    );
    assert!(!err.contains(": :"), "{err}");
}

// doctor and init --create-labels talk to the forge: both dialects.
both_dialects! {
#[test]
fn doctor_passes_against_a_ready_sandbox() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([]))]}));
    let afk = Afk::new(&sb, "enabled = true\nallowlist = [\"acme/api\"]", "");
    let (code, r, err) = afk.json(&["doctor"]);
    assert_eq!(code, 0, "{err} {r}");
    assert_eq!(r["ok"], true);
    assert!(sb.writes().is_empty(), "doctor is read-only");
    assert!(
        !afk.state().exists(),
        "doctor does not create the state file"
    );
}

#[test]
fn doctor_fails_on_missing_labels_refused_permissions_and_a_bad_token() {
    let sb = Sandbox::start(json!({"repos": [
        {"name": "acme/api", "labels": ["bug"], "permission_lookup": false, "issues": []}
    ]}));
    let afk = Afk::new(&sb, "enabled = true\nallowlist = [\"acme/api\"]", "");
    let out = afk.cmd().arg("doctor").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("missing labels \"ready-for-agent\""),
        "{text}"
    );
    assert!(text.contains("403"), "{text}");
    let out = afk
        .cmd()
        .env("AFK_FORGE_TOKEN", "wrong")
        .arg("doctor")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("FAIL forge: GET /user returned 401: unauthorized")
            && text.contains("; check AFK_FORGE_TOKEN"),
        "{text}"
    );
    assert!(!text.contains("wrong"));
}

/// On GitLab the labels are made by `POST /projects/{id}/labels`, each
/// colour `#RRGGBB` as GitLab takes it, only those the project lacks.
#[test]
fn init_create_labels_makes_the_missing_ones_on_gitlab() {
    with_dialect(Dialect::Gitlab, || {
        let sb = Sandbox::start(
            json!({"repos": [{"name": "acme/api", "labels": ["bug", "ready-for-agent"], "issues": []}]}),
        );
        let afk = Afk::new(&sb, "enabled = true\nallowlist = [\"acme/api\"]", "");
        let out = afk.cmd().args(["init", "--create-labels"]).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let made: Vec<(String, String)> = sb
            .writes()
            .iter()
            .map(|w| {
                assert!(w["path"].as_str().unwrap().ends_with("/labels"), "{w}");
                (
                    w["body"]["name"].as_str().unwrap().to_string(),
                    w["body"]["color"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        let names: Vec<&str> = made.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["agent-in-progress", "ready-for-human", "agent-paused"]);
        assert!(
            made.iter().all(|(_, c)| c.len() == 7 && c.starts_with('#')),
            "{made:?}"
        );
    });
}

#[test]
fn init_create_labels_makes_the_missing_ones() {
    let sb =
        Sandbox::start(json!({"repos": [{"name": "acme/api", "labels": ["bug"], "issues": []}]}));
    let afk = Afk::new(&sb, "enabled = true\nallowlist = [\"acme/api\"]", "");
    let out = afk
        .cmd()
        .args(["init", "--create-labels"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let created: Vec<String> = sb
        .writes()
        .iter()
        .map(|w| w["body"]["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        created,
        vec![
            "ready-for-agent",
            "agent-in-progress",
            "ready-for-human",
            "agent-paused"
        ]
    );
    // each label made is in the journal, as a tick's writes are, and the
    // chain holds
    let made = afk.sql_rows("SELECT body FROM journal WHERE kind = 'forge.write'");
    assert_eq!(made.len(), 4, "{made:?}");
    let (code, v, err) = afk.json(&["audit", "verify"]);
    assert_eq!(code, 0, "{err} {v}");
    sb.clear_requests();
    assert!(
        afk.cmd()
            .args(["init", "--create-labels"])
            .output()
            .unwrap()
            .status
            .success()
    );
    assert!(sb.writes().is_empty(), "idempotent");
}
}

#[test]
fn afk_version_points_at_the_flag_not_at_lessons() {
    let out = assert_cmd::Command::new(afk_bin())
        .env_remove("AFK_CONFIG")
        .arg("version")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("afk --version"), "{err}");
    assert!(!err.contains("lessons"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    let help = assert_cmd::Command::new(afk_bin())
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(!help.contains("  version"), "hidden: {help}");
}

#[test]
fn lessons_update_help_lists_the_status_values() {
    for flag in ["-h", "--help"] {
        let out = assert_cmd::Command::new(afk_bin())
            .args(["lessons", "update", flag])
            .output()
            .unwrap();
        let help = String::from_utf8_lossy(&out.stdout);
        for v in ["new", "in_progress", "closed"] {
            assert!(help.contains(v), "{flag} {v}: {help}");
        }
    }
}

/// `afk demo --keep=DIR` below a folder no other user can pass through (a
/// `mktemp -d`, mode 0700), run as root: the Kubernetes act's Job
/// containers run as another user and could not reach it, so it is one
/// clear line before anything is made, naming the folder and the fix,
/// never a Job failing mid-demo with a log that does not exist.
#[test]
fn demo_keep_below_a_private_folder_is_said_before_anything_is_made() {
    // SAFETY: geteuid(2) cannot fail
    if unsafe { libc::geteuid() } != 0 {
        // an ordinary user's containers run as that user: nothing to refuse
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let tmp = Scratch::new();
    let private = tmp.path("private");
    std::fs::create_dir(&private).unwrap();
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o700)).unwrap();
    let dir = private.join("demo");
    let out = assert_cmd::Command::new(afk_bin())
        .arg("demo")
        .arg(format!("--keep={}", dir.display()))
        .env_remove("AFK_FORGE_TOKEN")
        .env("TMPDIR", &tmp.dir)
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "{} (mode 0700) lets no other user through",
            private.display()
        )) && err.contains("chmod o+x"),
        "{err}"
    );
    assert!(out.stdout.is_empty(), "nothing said before it: {out:?}");
    assert!(!dir.exists(), "nothing made");
}
