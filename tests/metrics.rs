//! The metrics file and the heartbeat (issue 12): what a monitoring system
//! reads after every tick, and what a disabled tick leaves alone.

#[macro_use]
mod support;
use serde_json::json;
use support::*;

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
#[test]
fn every_finished_tick_writes_metrics_and_pings_the_heartbeat() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    let afk = Afk::with_text(&config(&sb, true));
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
    assert_eq!(hooks(&sb), vec!["heartbeat"]);
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
    assert_eq!(hooks(&sb), vec!["heartbeat", "heartbeat/fail"]);
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
    let afk = Afk::with_text(&config(&sb, false));
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
