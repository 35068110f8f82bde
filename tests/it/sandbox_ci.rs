//! The sandbox runs CI (docs/sandbox.md#ci-that-runs-your-tests): a repo's
//! `ci` command runs on every push to a branch with an open PR, in a
//! checkout of the pushed commit, and its result is the commit's status, so
//! afk's watch sees red and green without anyone posting `/_admin/status`.

use crate::support::*;
use serde_json::{Value, json};
use std::path::Path;

/// acme/api whose CI passes when the commit holds `ok.txt`.
fn seeded(ci: Value) -> Sandbox {
    let mut r = repo("acme/api", json!([]));
    r["ci"] = ci;
    Sandbox::start(json!({ "repos": [r] }))
}

fn test_ok() -> Value {
    json!({"command": ["sh", "-c", "test -f ok.txt"], "context": "ci/test", "timeout": "60s"})
}

/// Push `files` as one commit on `branch` over the sandbox's git smart HTTP,
/// as afk, an agent or a person pushes; returns the pushed commit.
fn push_http(sb: &Sandbox, branch: &str, files: &[(&str, &str)]) -> String {
    let (_s, w) = sb.clone_on("acme/api", branch, "origin/main");
    for (path, text) in files {
        std::fs::write(w.join(path), text).unwrap();
    }
    git(&w, &["add", "."]);
    git(&w, &["commit", "-q", "-m", &format!("work on {branch}")]);
    let url = sb
        .url
        .replacen("http://", &format!("http://afk:{TOKEN}@"), 1);
    git(
        &w,
        &[
            "push",
            "-q",
            &format!("{url}/acme/api.git"),
            &format!("HEAD:{branch}"),
        ],
    );
    git(&w, &["rev-parse", "HEAD"])
}

/// The CI runs the sandbox holds (`GET /_admin/state`).
fn runs(sb: &Sandbox) -> Vec<Value> {
    sb.admin("GET", "/state", None)["ci_runs"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The run for `sha` once it ended (polled, bounded).
fn ended(sb: &Sandbox, sha: &str) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let all = runs(sb);
        if let Some(r) = all
            .iter()
            .rev()
            .find(|r| r["sha"] == sha && r["state"] != "running")
        {
            return r.clone();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no ended CI run for {sha}: {all:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// The latest status per context the forge shows on `sha`: (context, state, description).
fn statuses(sb: &Sandbox, sha: &str) -> Vec<(String, String, String)> {
    let (code, v) = sb.api(&sb.dialect.combined_status_path("acme/api", sha));
    assert_eq!(code, 200, "{v}");
    // Gitea answers a commit with no status `"statuses": null`
    v["statuses"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            (
                s["context"].as_str().unwrap().to_string(),
                // Gitea names the state `status`, GitHub `state`
                s["status"]
                    .as_str()
                    .or(s["state"].as_str())
                    .unwrap()
                    .to_string(),
                s["description"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[test]
fn a_push_to_a_prs_branch_runs_the_repos_ci_command_and_its_result_is_the_commit_status() {
    // A green commit's CI waits on a FIFO the test opens once it has read
    // the status "pending": the run cannot end before that read.
    let s = Scratch::new();
    let gate = s.path("release");
    let made = std::process::Command::new("mkfifo")
        .arg(&gate)
        .status()
        .unwrap();
    assert!(made.success());
    let sb = seeded(json!({
        "command": ["sh", "-c", format!("test -f ok.txt && cat '{}' >/dev/null", gate.display())],
        "context": "ci/test",
        "timeout": "60s",
    }));
    let red = push_http(&sb, "feature", &[("a.txt", "a\n")]);
    assert!(runs(&sb).is_empty(), "no PR yet: no run");
    let pr = sb.open_pr("acme/api", "feature", "work");
    // opening the PR runs CI on its head
    let run = ended(&sb, &red);
    assert_eq!(run["state"], "failure", "{run}");
    assert_eq!(run["exit_code"], 1, "{run}");
    assert_eq!(run["context"], "ci/test", "{run}");
    assert_eq!(run["branch"], "feature", "{run}");
    assert_eq!(run["pr"], pr, "{run}");
    let (context, state, _) = &statuses(&sb, &red)[0];
    assert_eq!((context.as_str(), state.as_str()), ("ci/test", "failure"));
    // the next push is checked out and run as it is
    let green = push_http(&sb, "feature", &[("ok.txt", "ok\n")]);
    assert_eq!(
        statuses(&sb, &green)[0].1,
        "pending",
        "pending as soon as the push is taken"
    );
    // opening the FIFO for writing lets the waiting `cat` read to its end
    drop(std::fs::OpenOptions::new().write(true).open(&gate).unwrap());
    let run = ended(&sb, &green);
    assert_eq!(
        (&run["state"], &run["exit_code"]),
        (&json!("success"), &json!(0)),
        "{run}"
    );
    assert_eq!(statuses(&sb, &green)[0].1, "success");
    let (_, combined) = sb.api(&sb.dialect.combined_status_path("acme/api", "feature"));
    assert_eq!(combined["state"], "success", "{combined}");
    // the red commit's result stands
    assert_eq!(statuses(&sb, &red)[0].1, "failure");
}

#[test]
fn a_push_to_a_branch_without_an_open_pr_runs_nothing() {
    let sb = seeded(test_ok());
    let sha = push_http(&sb, "lonely", &[("ok.txt", "ok\n")]);
    let main = push_http(&sb, "main", &[("b.txt", "b\n")]);
    // the run is recorded before the push is answered: none was
    assert!(runs(&sb).is_empty(), "{:?}", runs(&sb));
    assert!(statuses(&sb, &sha).is_empty());
    assert!(statuses(&sb, &main).is_empty());
}

#[test]
fn a_command_past_its_timeout_is_killed_with_its_children_and_is_an_error() {
    let sb = seeded(json!(null));
    let s = Scratch::new();
    let pid_file = s.path("child.pid");
    // configured later through the admin call, as a test would
    sb.admin(
        "POST",
        "/ci",
        Some(json!({"repo": "acme/api", "context": "ci/slow", "timeout": "1s",
                     "command": ["sh", "-c", format!("echo starting; sleep 300 & echo $! > {}; wait", pid_file.display())]})),
    );
    push_http(&sb, "slow", &[("a.txt", "a\n")]);
    sb.open_pr("acme/api", "slow", "work");
    let sha = git(&sb.git.join("acme/api.git"), &["rev-parse", "slow"]);
    let run = ended(&sb, &sha);
    assert_eq!(run["state"], "error", "{run}");
    assert_eq!(run["exit_code"], Value::Null, "{run}");
    let (context, state, description) = &statuses(&sb, &sha)[0];
    assert_eq!((context.as_str(), state.as_str()), ("ci/slow", "error"));
    assert!(description.contains("timed out after 1s"), "{description}");
    // its background child went with it
    let pid = std::fs::read_to_string(&pid_file).unwrap();
    let stat = format!("/proc/{}/stat", pid.trim());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::fs::read_to_string(&stat).is_ok_and(|s| !s.contains(") Z ")) {
        assert!(
            std::time::Instant::now() < deadline,
            "the sleep outlived its run"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn a_command_that_cannot_start_is_an_error_that_says_so() {
    let sb = seeded(json!({"command": ["/nonexistent/run-tests"]}));
    push_http(&sb, "feature", &[("a.txt", "a\n")]);
    sb.open_pr("acme/api", "feature", "work");
    let sha = git(&sb.git.join("acme/api.git"), &["rev-parse", "feature"]);
    let run = ended(&sb, &sha);
    assert_eq!(run["state"], "error", "{run}");
    let (context, _, description) = &statuses(&sb, &sha)[0];
    assert_eq!(context, "ci/test", "the default context");
    assert!(description.contains("cannot start"), "{description}");
}

#[test]
fn the_command_sees_a_reduced_environment_and_its_output_is_kept() {
    let sb = seeded(json!({"command": ["sh", "-c", "env; echo; echo last line"]}));
    push_http(&sb, "feature", &[("a.txt", "a\n")]);
    sb.open_pr("acme/api", "feature", "work");
    let sha = git(&sb.git.join("acme/api.git"), &["rev-parse", "feature"]);
    let run = ended(&sb, &sha);
    assert_eq!(run["state"], "success", "{run}");
    assert!(
        run["description"].as_str().unwrap().contains("last line"),
        "{run}"
    );
    let out = sb.admin("GET", &format!("/ci/runs/{}", run["id"]), None);
    let output = out["output"].as_str().unwrap();
    let names: Vec<&str> = output
        .lines()
        .filter_map(|l| l.split_once('=').map(|(k, _)| k))
        .collect();
    assert!(
        names.contains(&"PATH") && names.contains(&"HOME"),
        "{output}"
    );
    for n in &names {
        assert!(
            [
                "PATH", "HOME", "TMPDIR", "LANG", "CI", "PWD", "SHLVL", "_", "OLDPWD"
            ]
            .contains(n),
            "{n} reached the command: {output}"
        );
    }
    let home = output
        .lines()
        .find_map(|l| l.strip_prefix("HOME="))
        .unwrap();
    assert_ne!(Some(home.to_string()), std::env::var("HOME").ok());
    assert!(!Path::new(home).exists(), "the run's folder is removed");
}

#[test]
fn a_newer_push_supersedes_the_running_one() {
    // a commit holding slow.txt without ok.txt runs long; the next push is what counts
    let sb = seeded(json!({"command": ["sh", "-c",
        "if test -f slow.txt && ! test -f ok.txt; then sleep 300; fi; test -f ok.txt"]}));
    push_http(&sb, "feature", &[("slow.txt", "s\n")]);
    sb.open_pr("acme/api", "feature", "work");
    let old = git(&sb.git.join("acme/api.git"), &["rev-parse", "feature"]);
    let new = push_http(&sb, "feature", &[("ok.txt", "ok\n")]);
    let run = ended(&sb, &old);
    assert_eq!(run["state"], "superseded", "{run}");
    let (_, state, description) = &statuses(&sb, &old)[0];
    assert_eq!(state, "error");
    assert!(description.contains("superseded"), "{description}");
    let run = ended(&sb, &new);
    assert_eq!(run["state"], "success", "{run}");
    assert_eq!(statuses(&sb, &new)[0].1, "success");
}

/// Through afk: poll dispatches acme/api#1, the agent's first turn leaves
/// `ok.txt` out, its second adds it; the sandbox's CI posts red, then green,
/// and watch reads them (no `/_admin/status` anywhere).
fn watch_reads_the_status_the_sandboxes_ci_posted() {
    let mut r = repo("acme/api", json!([ready(1, "alice")]));
    r["ci"] = test_ok();
    let sb = Sandbox::start(json!({ "repos": [r] }));
    let scratch = Scratch::new();
    let agent = scratch.write(
        "agent.sh",
        "set -eu\necho \"turn $AFK_TURN\" >> work.txt\n\
         if [ \"$AFK_TURN\" -ge 2 ]; then echo ok > ok.txt; fi\n\
         git add -A\ngit commit -qm \"agent: turn $AFK_TURN\"\n",
    );
    let afk = Afk::on(
        &sb,
        &format!(
            "state_path = \"state/afk.db\"\n\n[forge]\n{forge}timeout = \"5s\"\nretries = 1\n\n\
         [runner]\nworkspace = \"afk\"\nagent = \"custom\"\ncommand = [\"sh\", \"{agent}\"]\n\n\
         [poll]\nenabled = true\nallowlist = [\"acme/api\"]\n\n[watch]\nfix_forward_max = 2\n",
            forge = sb.forge_keys(),
            agent = agent.display(),
        ),
    );
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "poll: {err} {r}");
    assert_eq!(afk.wait_agent(1), 0);
    // watch pushes the turn and opens the PR: the sandbox's CI starts
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "{err} {r}");
    let head = |sb: &Sandbox| git(&sb.git.join("acme/api.git"), &["rev-parse", "afk/issue-1"]);
    let red = head(&sb);
    assert_eq!(ended(&sb, &red)["state"], "failure");
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "{err} {r}");
    assert_eq!(action_of(&r, 1).0, "corrective_turn", "red CI: {r}");
    assert_eq!(afk.wait_agent(1), 0);
    // the corrective turn's push runs CI again
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "{err} {r}");
    let green = head(&sb);
    assert_ne!(green, red);
    assert_eq!(ended(&sb, &green)["state"], "success");
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "{err} {r}");
    assert_eq!(
        action_of(&r, 1),
        ("wait".into(), Some("awaiting-merge".into())),
        "green CI: {r}"
    );
    assert!(
        sb.requests()
            .iter()
            .all(|q| !q["path"].as_str().unwrap().contains("/statuses/") || q["method"] == "GET"),
        "no status was posted by hand"
    );
    drop(scratch);
}

both_dialects! {
    azure_devops_plays;
    #[test]
    fn watch_sees_red_then_green_from_the_sandboxes_own_ci() {
        watch_reads_the_status_the_sandboxes_ci_posted()
    }
}

/// `afk sandbox --seed` with your own repository imported and a PR seeded on
/// it: the printed config says what CI runs, and the seeded PR's head is
/// run as the sandbox starts.
#[test]
fn a_seeded_pr_on_an_imported_repository_is_run_when_the_sandbox_starts() {
    let s = Scratch::new();
    let mine = s.path("mine");
    std::fs::create_dir_all(&mine).unwrap();
    git(&mine, &["init", "-q", "-b", "main"]);
    std::fs::write(mine.join("README"), "mine\n").unwrap();
    git(&mine, &["add", "."]);
    git(&mine, &["commit", "-q", "-m", "start"]);
    git(&mine, &["checkout", "-q", "-b", "feature"]);
    std::fs::write(mine.join("ok.txt"), "ok\n").unwrap();
    git(&mine, &["add", "."]);
    git(&mine, &["commit", "-q", "-m", "ok"]);
    let head = git(&mine, &["rev-parse", "HEAD"]);
    let seed = json!({"repos": [{"name": "acme/mine", "import": mine,
        "ci": test_ok(),
        "issues": [{"number": 1, "title": "feature", "pull": true, "head": "feature"}]}]});
    let seed_file = s.write("seed.json", &seed.to_string());
    let dir = s.path("sb");
    let (_sb, lines) = crate::operator::sandbox_cli(&[
        "--seed",
        seed_file.to_str().unwrap(),
        "--dir",
        dir.to_str().unwrap(),
    ]);
    let ci = lines.iter().find(|l| l.starts_with("# CI: ")).cloned();
    assert_eq!(
        ci.as_deref(),
        Some(
            "# CI: acme/mine runs `sh -c test -f ok.txt` on every push to a PR's branch \
             (status ci/test, timeout 1m) (docs/sandbox.md#ci-that-runs-your-tests)"
        ),
        "{lines:?}"
    );
    let url = lines[0].strip_prefix("AFK_SANDBOX_URL=").unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let run = loop {
        let runs: Value = ureq::get(&format!("{url}/_admin/ci/runs"))
            .call()
            .unwrap()
            .into_json()
            .unwrap();
        if let Some(r) = runs
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["state"] != "running")
        {
            break r.clone();
        }
        assert!(std::time::Instant::now() < deadline, "{runs}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert_eq!(
        (&run["repo"], &run["sha"], &run["state"], &run["pr"]),
        (
            &json!("acme/mine"),
            &json!(head),
            &json!("success"),
            &json!(1)
        ),
        "{run}"
    );
}

/// On Azure DevOps a run names its pull request by the dialect's own number
/// (`pullRequestId`), never the shared model's.
#[test]
fn on_azure_devops_a_run_names_its_pr_by_its_own_id() {
    with_dialect(Dialect::AzureDevops, || {
        let mut r = repo("acme/api", json!([ready(1, "alice"), ready(2, "alice")]));
        r["ci"] = test_ok();
        let sb = Sandbox::start(json!({ "repos": [r] }));
        let red = push_http(&sb, "feature", &[("a.txt", "a\n")]);
        let pr = sb.open_pr("acme/api", "feature", "work");
        let run = ended(&sb, &red);
        assert_eq!(run["pr"], pr, "{run}");
    });
}
