//! `afk doctor` tells the truth (issue 31): what it says is ok is what a tick
//! can do. The systemd units' sandbox against every path a tick writes; the
//! `[upgrade]` section's mirrors, upstream, registries, work folder and fixer.

use crate::support::*;
use serde_json::{Value, json};

/// `afk --json doctor ARGS` over a sandbox with one repo and the config's
/// `extra` keys; (exit code, the checks named `name`).
fn doctor(afk: &Afk, args: &[&str], name: &str) -> (i32, Vec<Value>) {
    let mut all = vec!["doctor"];
    all.extend_from_slice(args);
    let (code, r, err) = afk.json(&all);
    let checks = r["checks"]
        .as_array()
        .unwrap_or_else(|| panic!("{err}"))
        .iter()
        .filter(|c| c["check"] == name)
        .cloned()
        .collect();
    (code, checks)
}

fn one_repo() -> Sandbox {
    Sandbox::start(json!({"repos": [repo("acme/api", json!([]))]}))
}

/// contrib's sandbox: ProtectSystem=strict, the state folder writable, and
/// nothing else of the scratch folder.
fn poll_unit(afk: &Afk) -> std::path::PathBuf {
    let state = afk.scratch.path("state");
    afk.scratch.write(
        "afk-poll.service",
        &format!(
            "[Unit]\nDescription=afk poll\n[Service]\nType=oneshot\nStateDirectory=afk\n\
             ExecStart=/usr/local/bin/afk --config /etc/afk/afk.toml -q poll\n\
             ReadWritePaths=-/var/lib/prometheus/node-exporter {state}\n\
             ProtectSystem=strict\n",
            state = state.display()
        ),
    )
}

#[test]
fn doctor_fails_a_status_page_outside_the_unit_s_writable_paths() {
    let sb = one_repo();
    let scratch_www = "status_page = \"www/index.html\"\n";
    let afk = Afk::new(&sb, "enabled = true\nallowlist = [\"acme/api\"]", "");
    let text = std::fs::read_to_string(&afk.config).unwrap();
    std::fs::write(&afk.config, format!("{scratch_www}{text}")).unwrap();
    std::fs::create_dir_all(afk.scratch.path("www")).unwrap();
    let unit = poll_unit(&afk);
    let www = afk.scratch.path("www");
    // the folder itself can be written from a shell: doctor's old "ok"
    let (_, page) = doctor(&afk, &[], "status page");
    assert_eq!(page[0]["level"], "ok", "{page:?}");
    let (code, checks) = doctor(&afk, &["--unit", unit.to_str().unwrap()], "systemd");
    assert_eq!(code, 1, "{checks:?}");
    assert_eq!(checks.len(), 1, "{checks:?}");
    let d = checks[0]["detail"].as_str().unwrap();
    assert_eq!(checks[0]["level"], "fail", "{d}");
    assert!(d.contains("afk-poll.service"), "the unit: {d}");
    assert!(
        d.contains(&format!("status_page's folder {}", www.display())),
        "the path: {d}"
    );
    assert!(
        d.contains(&format!("ReadWritePaths={}", www.display())),
        "the line: {d}"
    );
    assert!(
        !d.contains("state folder"),
        "the state folder is writable: {d}"
    );
    // a drop-in that adds the folder makes it ok
    let dropin = afk.scratch.path("afk-poll.service.d");
    std::fs::create_dir_all(&dropin).unwrap();
    std::fs::write(
        dropin.join("www.conf"),
        format!("[Service]\nReadWritePaths={}\n", www.display()),
    )
    .unwrap();
    let (code, checks) = doctor(&afk, &["--unit", unit.to_str().unwrap()], "systemd");
    assert_eq!(code, 0, "{checks:?}");
    assert_eq!(checks[0]["level"], "ok", "{checks:?}");
}

#[test]
fn doctor_fails_a_unit_it_cannot_read_and_warns_on_one_that_runs_no_tick() {
    let sb = one_repo();
    let afk = Afk::new(&sb, "enabled = true\nallowlist = [\"acme/api\"]", "");
    let other = afk
        .scratch
        .write("nginx.service", "[Service]\nExecStart=/usr/sbin/nginx\n");
    let missing = afk.scratch.path("afk-gone.service");
    let (code, checks) = doctor(
        &afk,
        &[
            "--unit",
            other.to_str().unwrap(),
            "--unit",
            missing.to_str().unwrap(),
        ],
        "systemd",
    );
    assert_eq!(code, 1, "{checks:?}");
    let levels: Vec<&str> = checks
        .iter()
        .map(|c| c["level"].as_str().unwrap())
        .collect();
    assert_eq!(levels, ["warn", "fail"], "{checks:?}");
    assert!(
        checks[1]["detail"]
            .as_str()
            .unwrap()
            .contains("afk-gone.service")
    );
}
