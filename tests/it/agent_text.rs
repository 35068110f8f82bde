//! What afk reads of an agent's files is bounded (issue 29): a progress file
//! or a log of a gibibyte costs watch, status, the status page and `runs show`
//! a constant amount of memory, and a huge `blocked` report at the end of it
//! is still recognised.

use crate::budget::{SLEEP, agent_alive, kill_agent, run_file, turn, wait_file, world};
use crate::support::*;
use serde_json::{Value, json};
use std::io::Write;

/// The most afk may hold at once while it reads a gibibyte of agent output:
/// its own working set and the bounded windows, nothing in proportion to the file.
const PEAK_KIB: u64 = 64 * 1024;

/// Runs `afk <args>` to its end: (exit code, JSON report if any, stdout, peak
/// KiB). The peak is afk's own VmHWM, sampled while it runs (`run_sampled`).
fn measured(afk: &Afk, args: &[&str]) -> (i32, Value, String, u64) {
    let mut cmd = afk.std_cmd();
    cmd.args(args);
    let (code, out, peak) = run_sampled(cmd);
    let text = String::from_utf8_lossy(&out).into_owned();
    let report = serde_json::from_str(&text).unwrap_or(Value::Null);
    (code, report, text, peak)
}

/// One run whose agent is still at work (it said `tests-red` and sleeps), with
/// a status page configured.
fn a_running_agent() -> (Sandbox, Afk) {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    let (afk, plan) = world(&sb, &["acme/api"], "");
    let text = std::fs::read_to_string(&afk.config).unwrap();
    std::fs::write(
        &afk.config,
        format!("status_page = \"www/index.html\"\n{text}"),
    )
    .unwrap();
    std::fs::create_dir_all(afk.scratch.path("www")).unwrap();
    turn(
        &plan,
        1,
        &format!(
            "printf '%s\\n' '{{\"phase\":\"tests-red\"}}' >> \"$AFK_PROGRESS_FILE\"\n\
             : > \"$AFK_RUN_DIR/started\"\n{SLEEP}"
        ),
    );
    let (code, _, err) = afk.poll();
    assert_eq!(code, 0, "{err}");
    wait_file(&run_file(&afk, 1, "started"));
    (sb, afk)
}

/// `truncate -s 1G`: a gibibyte of zero bytes, sparse on disk.
fn grow_to_a_gib(p: &std::path::Path) {
    let f = std::fs::OpenOptions::new().write(true).open(p).unwrap();
    f.set_len(1 << 30).unwrap();
}

#[test]
fn a_gib_progress_file_and_log_cost_every_reader_constant_memory() {
    let (_sb, afk) = a_running_agent();
    grow_to_a_gib(&run_file(&afk, 1, "progress.jsonl"));
    grow_to_a_gib(&run_file(&afk, 1, "agent.log"));
    let readers: [&[&str]; 5] = [
        &["--json", "watch"],
        &["--json", "status"],
        &["status", "--html"],
        &["--json", "runs", "show", "1"],
        &["--json", "runs", "show", "1", "--log"],
    ];
    for args in readers {
        let (code, r, out, peak) = measured(&afk, args);
        assert_eq!(code, 0, "{args:?}: {}", &out[..out.len().min(2000)]);
        assert!(
            peak < PEAK_KIB,
            "{args:?}: afk peaked at {} MiB reading a 1 GiB file",
            peak / 1024
        );
        if args == ["--json", "watch"] {
            assert_eq!(action_of(&r, 1).0, "wait", "{r}");
        }
        if args == ["--json", "runs", "show", "1"] {
            assert_eq!(
                r["progress_skipped_lines"], 1,
                "the zeros are one line too long: {r}"
            );
        }
    }
    // the page watch wrote after its tick, from the same bounded reads
    assert!(afk.scratch.path("www/index.html").exists());
    assert!(agent_alive(&afk, 1));
    kill_agent(&afk, 1);
}

#[test]
fn a_huge_blocked_report_after_a_gib_of_zeros_is_still_recognised() {
    let (_sb, afk) = a_running_agent();
    let p = run_file(&afk, 1, "progress.jsonl");
    grow_to_a_gib(&p);
    let questions: Vec<String> = (0..5000)
        .map(|i| format!("question {i}: which of the two designs do you want?"))
        .collect();
    let blocked =
        json!({"status": "blocked", "reason": "r".repeat(1 << 20), "questions": questions});
    let mut f = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
    writeln!(f).unwrap();
    writeln!(f, "{blocked}").unwrap();
    drop(f);
    let (code, r, out, peak) = measured(&afk, &["--json", "watch"]);
    assert_eq!(code, 0, "{}", &out[..out.len().min(2000)]);
    assert_eq!(
        action_of(&r, 1),
        ("escalate".into(), Some("blocked".into())),
        "{}",
        &out[..out.len().min(2000)]
    );
    assert!(peak < PEAK_KIB, "afk peaked at {} MiB", peak / 1024);
    kill_agent(&afk, 1);
}
