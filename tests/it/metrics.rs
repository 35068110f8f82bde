//! The metrics file and the heartbeat (issue 12): what a monitoring system
//! reads after every tick, and what a disabled tick leaves alone.

use crate::support::*;
use serde_json::json;

fn config(sb: &Sandbox, enabled: bool) -> String {
    format!(
        "metrics_file = \"metrics/afk.prom\"\nstate_path = \"state/afk.db\"\n\
         [forge]\n{}retries = 0\n[runner]\ncommand = [\"true\"]\n\
         [notify]\nheartbeat_env = \"AFK_TEST_HEARTBEAT\"\n\
         [poll]\nenabled = {enabled}\nallowlist = [\"acme/api\"]\n",
        sb.forge_keys()
    )
}

fn hooks(sb: &Sandbox) -> Vec<String> {
    sb.hooks()
        .iter()
        .map(|h| h["hook"].as_str().unwrap().to_string())
        .collect()
}

/// Every sample line is `name{labels} value` with a number for a value.
fn check_exposition(text: &str) {
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("{line}"));
        assert!(value.parse::<f64>().is_ok(), "{line}");
        let name = series.split('{').next().unwrap();
        assert!(
            name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "{line}"
        );
        if let Some(labels) = series.strip_prefix(name) {
            assert!(
                labels.is_empty() || (labels.starts_with('{') && labels.ends_with('}')),
                "{line}"
            );
        }
    }
}

both_dialects! {
    azure_devops_plays;
#[test]
fn every_finished_tick_writes_metrics_and_pings_the_heartbeat() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    let afk = Afk::on(&sb, &config(&sb, true));
    std::fs::create_dir_all(afk.scratch.path("metrics")).unwrap();
    let hb = format!("{}/_hooks/heartbeat", sb.url);
    let out = afk
        .cmd()
        .env("AFK_TEST_HEARTBEAT", &hb)
        .args(["--json", "poll"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(afk.scratch.path("metrics/afk.prom")).unwrap();
    check_exposition(&text);
    assert!(
        text.contains("afk_tick_dispatches{tick=\"poll\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("afk_runs_in_flight{state=\"dispatched\"} 1"),
        "{text}"
    );
    assert!(text.contains("afk_outbox_backlog 0"), "{text}");
    assert_eq!(hooks(&sb), vec!["heartbeat/start", "heartbeat"]);
    // a tick that fails pings /fail, and the watch tick keeps poll's lines
    sb.faults(json!([{"status": 500}]));
    let out = afk
        .cmd()
        .env("AFK_TEST_HEARTBEAT", &hb)
        .arg("watch")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    sb.faults(json!([]));
    assert_eq!(
        hooks(&sb),
        vec![
            "heartbeat/start",
            "heartbeat",
            "heartbeat/start",
            "heartbeat/fail"
        ]
    );
    let text = std::fs::read_to_string(afk.scratch.path("metrics/afk.prom")).unwrap();
    check_exposition(&text);
    assert!(
        text.contains("afk_tick_success{tick=\"watch\"} 0"),
        "{text}"
    );
    assert!(
        text.contains("afk_tick_dispatches{tick=\"poll\"} 1"),
        "{text}"
    );
    let secret = String::from_utf8_lossy(&out.stderr);
    assert!(
        !secret.contains("_hooks/heartbeat"),
        "the URL is a secret: {secret}"
    );
}

#[test]
fn the_kill_switch_writes_no_metrics_and_pings_nothing() {
    let sb = Sandbox::start(json!({"repos": []}));
    let afk = Afk::on(&sb, &config(&sb, false));
    std::fs::create_dir_all(afk.scratch.path("metrics")).unwrap();
    let out = afk
        .cmd()
        .env("AFK_TEST_HEARTBEAT", format!("{}/_hooks/heartbeat", sb.url))
        .arg("poll")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(!afk.scratch.path("metrics/afk.prom").exists());
    assert!(hooks(&sb).is_empty());
}
}

// ---- hardening II: stdout and the metrics file's temporary -----------------

#[test]
fn a_full_stdout_is_one_error_line_and_exit_1_with_metrics_and_heartbeat_written() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    let afk = Afk::on(&sb, &config(&sb, true));
    std::fs::create_dir_all(afk.scratch.path("metrics")).unwrap();
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full");
    let out = afk
        .std_cmd()
        .env("AFK_TEST_HEARTBEAT", format!("{}/_hooks/heartbeat", sb.url))
        .arg("poll")
        .stdout(full)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.contains("stdout")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    // the tick did its work: the dispatch is in the metrics file, the heartbeat says it failed
    let text = std::fs::read_to_string(afk.scratch.path("metrics/afk.prom")).unwrap();
    assert!(
        text.contains("afk_tick_dispatches{tick=\"poll\"} 1"),
        "{text}"
    );
    assert_eq!(hooks(&sb), vec!["heartbeat/start", "heartbeat/fail"]);
}

#[test]
fn a_closed_stdout_still_ends_quietly_with_sigpipe_after_the_metrics() {
    use std::os::unix::process::ExitStatusExt;
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    let afk = Afk::on(&sb, &config(&sb, true));
    std::fs::create_dir_all(afk.scratch.path("metrics")).unwrap();
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = afk
        .std_cmd()
        .env("AFK_TEST_HEARTBEAT", format!("{}/_hooks/heartbeat", sb.url))
        .arg("poll")
        .stdout(writer)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.signal(), Some(libc::SIGPIPE), "{stderr}");
    assert!(stderr.trim().is_empty(), "{stderr}");
    let text = std::fs::read_to_string(afk.scratch.path("metrics/afk.prom")).unwrap();
    assert!(
        text.contains("afk_tick_dispatches{tick=\"poll\"} 1"),
        "{text}"
    );
}

#[test]
fn a_symlink_where_a_temporary_would_be_is_never_followed() {
    let sb = Sandbox::start(json!({"repos": []}));
    let afk = Afk::on(&sb, &config(&sb, true));
    std::fs::create_dir_all(afk.scratch.path("metrics")).unwrap();
    let victim = afk.scratch.write("victim.txt", "precious\n");
    for name in ["afk.prom.tmp", "afk.tmp", ".afk.prom.tmp"] {
        std::os::unix::fs::symlink(&victim, afk.scratch.path(&format!("metrics/{name}"))).unwrap();
    }
    let out = afk.cmd().arg("watch").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
    let text = std::fs::read_to_string(afk.scratch.path("metrics/afk.prom")).unwrap();
    assert!(
        text.contains("afk_tick_success{tick=\"watch\"} 1"),
        "{text}"
    );
}

#[test]
fn two_ticks_finishing_together_both_land_in_the_metrics_file() {
    let sb = Sandbox::start(json!({"repos": []}));
    let afk = Afk::on(&sb, &config(&sb, true));
    std::fs::create_dir_all(afk.scratch.path("metrics")).unwrap();
    let base = time::OffsetDateTime::now_utc().unix_timestamp() - 10_000;
    for round in 0..30i64 {
        let at = base + round * 60;
        let now = time::OffsetDateTime::from_unix_timestamp(at)
            .unwrap()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap();
        let children: Vec<_> = ["watch", "harvest"]
            .iter()
            .map(|kind| {
                afk.std_cmd()
                    .env("AFK_NOW", &now)
                    .arg("-q")
                    .arg(kind)
                    .stdout(std::process::Stdio::null())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for mut c in children {
            assert!(c.wait().unwrap().success());
        }
        let text = std::fs::read_to_string(afk.scratch.path("metrics/afk.prom"))
            .unwrap_or_else(|e| panic!("round {round}: the metrics file is missing: {e}"));
        for kind in ["watch", "harvest"] {
            let line = format!("afk_tick_last_run_timestamp_seconds{{tick=\"{kind}\"}} {at}");
            assert!(text.contains(&line), "round {round}: {kind} lost: {text}");
        }
    }
}
