//! Bursts of events for one repository (docs/hook.md#bursts): one
//! event-started tick of each kind per repository at a time; a trigger
//! that finds its slot taken leaves a line in the due flag and ends at
//! once; the slot's holder takes the flag as its tick opens and does one
//! follow-up for what arrived while it ran. Never a pile of processes
//! waiting on the lock, never an event lost.

use crate::hook::{HOOK, SECRET, SECRET_VAR, done, hex_mac};
use crate::support::*;
use serde_json::json;
use std::io::BufRead;
use std::process::{Child, Stdio};

/// A watch event for `repo` in the running dialect's shape (a commit
/// status; GitLab's pipeline), or with `comment` a new comment's (its
/// tick waits out the edit grace). Each body differs from the last.
fn event(repo: &str, comment: Option<i64>) -> (String, &'static str) {
    let n = SEQ.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    match (dialect(), comment) {
        (Dialect::Gitlab, None) => (
            json!({"object_kind": "pipeline", "project": {"path_with_namespace": repo}, "seq": n}).to_string(),
            "Pipeline Hook",
        ),
        (Dialect::Gitlab, Some(id)) => (
            json!({"object_kind": "note", "project": {"path_with_namespace": repo},
                   "object_attributes": {"id": id, "action": "create"}, "seq": n})
            .to_string(),
            "Note Hook",
        ),
        (_, None) => (
            json!({"state": "success", "repository": {"full_name": repo}, "seq": n}).to_string(),
            "status",
        ),
        (_, Some(id)) => (
            json!({"action": "created", "comment": {"id": id}, "repository": {"full_name": repo}, "seq": n})
                .to_string(),
            "issue_comment",
        ),
    }
}

static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The headers of `body` as event `kind`, delivery `id`, signed.
fn headers(body: &str, kind: &str, id: &str) -> Vec<String> {
    let mac = hex_mac(SECRET, body);
    match dialect() {
        Dialect::Gitea => vec![
            format!("X-Gitea-Event: {kind}"),
            format!("X-Gitea-Signature: {mac}"),
            format!("X-Gitea-Delivery: {id}"),
        ],
        Dialect::Github => vec![
            format!("X-GitHub-Event: {kind}"),
            format!("X-Hub-Signature-256: sha256={mac}"),
            format!("X-GitHub-Delivery: {id}"),
        ],
        Dialect::Gitlab => vec![
            format!("X-Gitlab-Event: {kind}"),
            format!("X-Gitlab-Token: {SECRET}"),
            format!("X-Gitlab-Event-UUID: {id}"),
        ],
        Dialect::AzureDevops => vec![crate::hook::basic_auth(SECRET)],
    }
}

/// `afk hook` for delivery `id` of a watch event (a new comment's with
/// `comment`), started and left running, its output piped.
fn trigger(afk: &Afk, id: &str, comment: Option<i64>) -> Child {
    let (body, kind) = event("acme/api", comment);
    let file = afk.scratch.write(&format!("{id}.json"), &body);
    let mut c = afk.std_cmd();
    c.env(SECRET_VAR, SECRET)
        .arg("hook")
        .arg("--body")
        .arg(file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for h in headers(&body, kind, id) {
        c.arg("--header").arg(h);
    }
    c.spawn().unwrap()
}

/// Read on from a process's standard error up to the first line holding
/// `text`: the lines read.
fn read_until(lines: &mut impl BufRead, text: &str) -> String {
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        if lines.read_line(&mut line).unwrap() == 0 {
            panic!("ended before {text:?}:\n{seen}");
        }
        seen.push_str(&line);
        if line.contains(text) {
            return seen;
        }
    }
}

/// The standard error of `child`, to read line by line.
fn stderr_of(child: &mut Child) -> std::io::BufReader<std::process::ChildStderr> {
    std::io::BufReader::new(child.stderr.take().unwrap())
}

/// The rest of it, read in a thread (the process never blocks on it).
fn rest_of(mut lines: impl BufRead + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = std::io::Read::read_to_string(&mut lines, &mut rest);
        rest
    })
}

/// acme/api allowlisted, afk's state file made, the hook waiting for a
/// busy lock as long as the test needs.
fn world() -> (Sandbox, Afk) {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([]))]}));
    let afk = Afk::new(
        &sb,
        "enabled = true\nallowlist = [\"acme/api\"]",
        &format!("{HOOK}wait_lock = \"5m\"\n"),
    );
    assert_eq!(afk.poll().0, 0, "the state file");
    (sb, afk)
}

/// The watch lock, held by the test as cron's watch holds it.
fn hold_watch(afk: &Afk) -> std::fs::File {
    let lock = std::fs::File::options()
        .create(true)
        .append(true)
        .open(afk.scratch.path("state/watch.lock"))
        .unwrap();
    lock.lock().unwrap();
    lock
}

fn watch_ticks(afk: &Afk) -> Vec<Vec<String>> {
    afk.sql_rows("SELECT kind, count FROM hook_ticks")
}

fn flag(afk: &Afk) -> std::path::PathBuf {
    afk.scratch.path("state/event-watch-acme_2fapi.due")
}

both_dialects! {
    /// Eight deliveries for one repository while cron's watch holds the
    /// lock: the first takes the repository's slot and waits; the seven
    /// others each leave a line in its due flag and end at once (no pile
    /// of processes on the lock); when the lock is free one tick reads
    /// all eight, each recorded (a redelivery of any starts nothing), and
    /// no follow-up is needed.
    #[test]
    fn a_burst_while_the_lock_is_held_is_one_tick_and_the_rest_end_at_once() {
        let (_sb, afk) = world();
        let lock = hold_watch(&afk);
        let mut first = trigger(&afk, "b-0", None);
        let mut err0 = stderr_of(&mut first);
        read_until(&mut err0, "waits for it");
        let rest = rest_of(err0);
        for i in 1..8 {
            let (code, out, err) = done(trigger(&afk, &format!("b-{i}"), None).wait_with_output().unwrap());
            assert_eq!(code, 0, "{out}{err}");
            assert!(out.starts_with("HTTP/1.1 202 "), "{out}");
            assert!(err.contains("folded into its follow-up"), "{err}");
        }
        let folded = std::fs::read_to_string(flag(&afk)).unwrap();
        assert_eq!(folded.lines().count(), 7, "{folded}");
        assert!(watch_ticks(&afk).is_empty(), "no tick before the lock is free");
        drop(lock);
        let ended = first.wait().unwrap();
        let err = rest.join().unwrap();
        assert!(ended.success(), "{err}");
        assert!(!err.contains("follow-up"), "{err}");
        assert_eq!(watch_ticks(&afk), [["watch".to_string(), "1".to_string()]], "{err}");
        assert!(!flag(&afk).exists(), "the flag was taken");
        let ids = afk.sql_rows("SELECT id FROM hook_deliveries");
        for i in 0..8 {
            let id = format!("b-{i}");
            assert!(ids.iter().any(|r| r[0] == id), "{id} recorded: {ids:?}");
        }
        let (code, out, err) = done(trigger(&afk, "b-3", None).wait_with_output().unwrap());
        assert_eq!(code, 0, "{err}");
        assert!(out.ends_with("delivery already handled\n"), "{out}");
    }

    /// A burst while cron's watch holds the lock, a new comment among
    /// them: the tick the lock lets through reads the forge for all of
    /// them but the comment, still in its edit grace (kept so, no tick
    /// takes a command from it before), and leaves that to exactly one
    /// follow-up, once the grace is over. Two ticks, none lost.
    #[test]
    fn a_burst_with_a_new_comment_is_one_follow_up_after_its_grace() {
        let (_sb, afk) = world();
        let lock = hold_watch(&afk);
        let mut first = trigger(&afk, "f-0", None);
        let mut err0 = stderr_of(&mut first);
        read_until(&mut err0, "waits for it");
        for (id, comment) in [("f-1", Some(41)), ("f-2", None)] {
            let (code, _, err) = done(trigger(&afk, id, comment).wait_with_output().unwrap());
            assert_eq!(code, 0, "{err}");
            assert!(err.contains("folded into its follow-up"), "{err}");
        }
        let graces = afk.sql_rows("SELECT lower(repo), comment FROM comment_graces");
        assert_eq!(graces, [["acme/api".to_string(), "41".to_string()]]);
        drop(lock);
        let rest = rest_of(err0);
        let ended = first.wait().unwrap();
        let err = rest.join().unwrap();
        assert!(ended.success(), "{err}");
        assert!(err.contains("edit grace ends in"), "{err}");
        assert_eq!(err.matches("a follow-up tick").count(), 1, "{err}");
        assert_eq!(watch_ticks(&afk), [["watch".to_string(), "2".to_string()]], "{err}");
        assert!(!flag(&afk).exists(), "the flag was taken");
        let ids = afk.sql_rows("SELECT id FROM hook_deliveries");
        for id in ["f-0", "f-1", "f-2"] {
            assert!(ids.iter().any(|r| r[0] == id), "{id} recorded: {ids:?}");
        }
    }

    /// A trigger that asks now, folded while a follow-up waits out a new
    /// comment's edit grace (nothing runs then), is served at once: its
    /// tick runs, leaving the comment's grace to one more follow-up.
    #[test]
    fn an_event_while_a_follow_up_waits_out_a_grace_is_served_at_once() {
        let (_sb, afk) = world();
        let lock = hold_watch(&afk);
        let mut first = trigger(&afk, "w-0", None);
        let mut err0 = stderr_of(&mut first);
        read_until(&mut err0, "waits for it");
        let (code, _, err) = done(trigger(&afk, "w-1", Some(43)).wait_with_output().unwrap());
        assert_eq!(code, 0, "{err}");
        drop(lock);
        let opened = read_until(&mut err0, "a follow-up tick");
        assert!(opened.contains("edit grace ends in"), "{opened}");
        let (code, _, err) = done(trigger(&afk, "w-2", None).wait_with_output().unwrap());
        assert_eq!(code, 0, "{err}");
        assert!(err.contains("folded into its follow-up"), "{opened}\n{err}");
        let rest = rest_of(err0);
        let ended = first.wait().unwrap();
        let err = format!("{opened}{}", rest.join().unwrap());
        assert!(ended.success(), "{err}");
        assert_eq!(err.matches("a follow-up tick").count(), 2, "{err}");
        assert_eq!(err.matches("edit grace ends in").count(), 2, "{err}");
        assert_eq!(watch_ticks(&afk), [["watch".to_string(), "3".to_string()]], "{err}");
        assert!(!flag(&afk).exists(), "the flag was taken");
    }

    /// A trigger that asks now (a status; a turn's end does the same)
    /// while a new comment's tick waits out its edit grace is not kept
    /// waiting for it: the comment's process runs the tick at once, the
    /// comment left unread by it (`comment_graces`), and its one follow-up
    /// reads the comment once the grace is over. Two ticks, none lost.
    #[test]
    fn a_trigger_that_asks_now_is_not_held_behind_a_new_comments_grace() {
        let (_sb, afk) = world();
        let mut comment = trigger(&afk, "g-0", Some(51));
        let mut err0 = stderr_of(&mut comment);
        read_until(&mut err0, "202");
        let (code, _, err) = done(trigger(&afk, "g-1", None).wait_with_output().unwrap());
        assert_eq!(code, 0, "{err}");
        assert!(err.contains("folded into its follow-up"), "{err}");
        let rest = rest_of(err0);
        let ended = comment.wait().unwrap();
        let err = rest.join().unwrap();
        assert!(ended.success(), "{err}");
        assert!(
            err.contains("edit grace ends in"),
            "the tick opened within the grace, for the status: {err}"
        );
        assert_eq!(err.matches("a follow-up tick").count(), 1, "{err}");
        assert_eq!(watch_ticks(&afk), [["watch".to_string(), "2".to_string()]], "{err}");
        assert!(!flag(&afk).exists(), "the flag was taken");
        let ids = afk.sql_rows("SELECT id FROM hook_deliveries");
        for id in ["g-0", "g-1"] {
            assert!(ids.iter().any(|r| r[0] == id), "{id} recorded: {ids:?}");
        }
    }
}

/// The issue event's body for `repo`, and its kind, in the running
/// dialect's shape.
fn issue_event(repo: &str) -> (String, &'static str) {
    let body = crate::hook::issue_body(repo);
    let kind = match dialect() {
        Dialect::Gitlab => "Issue Hook",
        _ => "issues",
    };
    (body, kind)
}

mod closed {
    use super::*;

    both_dialects! {
        /// A person closes the issue while its agent works: the issue event's
        /// poll is followed by watch, for a run of that repository is in
        /// flight, which abandons the run and stops its agent within the
        /// delivery's own process; nothing is pushed, no PR opened, and no
        /// cron tick was needed.
        #[test]
        fn an_issue_closed_while_its_agent_works_is_abandoned_by_its_event() {
            let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
            let scratch = Scratch::new();
            let agent = scratch.write("agent.sh", "exec sleep 300\n");
            let text = format!(
                "state_path = \"state/afk.db\"\n\n[forge]\n{forge}timeout = \"5s\"\nretries = 1\n\n\
                 [runner]\nworkspace = \"afk\"\nagent = \"custom\"\ncommand = [\"sh\", \"{agent}\"]\n\n\
                 [poll]\nenabled = true\nallowlist = [\"acme/api\"]\n\n{HOOK}",
                forge = sb.forge_keys(),
                agent = agent.display(),
            );
            let afk = Afk::on(&sb, &text);
            assert_eq!(afk.poll().0, 0);
            let pid = afk.agent_pid(1);
            // SAFETY: kill(2) with signal 0 only asks whether the process exists
            assert_eq!(unsafe { libc::kill(pid, 0) }, 0, "the agent works");
            sb.admin(
                "POST",
                "/issue_state",
                Some(json!({"repo": "acme/api", "issue": 1, "state": "closed"})),
            );
            let (body, kind) = issue_event("acme/api");
            let file = afk.scratch.write("closed.json", &body);
            let mut c = afk.std_cmd();
            c.env(SECRET_VAR, SECRET).arg("hook").arg("--body").arg(file);
            for h in headers(&body, kind, "closed-1") {
                c.arg("--header").arg(h);
            }
            let (code, out, err) = done(c.output().unwrap());
            assert_eq!(code, 0, "{out}{err}");
            let status = afk.sql_rows("SELECT state FROM runs WHERE id = 1");
            assert_eq!(status, [["abandoned".to_string()]], "{err}");
            assert!(gone_in_time(pid), "the agent {pid} still runs: {err}");
            let (_, prs) = sb.api(&sb.dialect.prs_path("acme/api", Listed::All));
            assert_eq!(prs.as_array().map(Vec::len), Some(0), "no PR: {prs}");
            assert_eq!(
                watch_ticks(&afk),
                [["poll".to_string(), "1".to_string()], ["watch".to_string(), "1".to_string()]],
                "{err}"
            );
            drop(scratch);
        }
    }
}

/// Whether a lock file in afk's state folder is free now (looked at as
/// afk's own ticks look: taken and let go at once).
fn free(afk: &Afk, name: &str) -> bool {
    let Ok(f) = std::fs::File::open(afk.scratch.path(&format!("state/{name}.lock"))) else {
        return true;
    };
    match f.try_lock() {
        Ok(()) => f.unlock().is_ok(),
        Err(_) => false,
    }
}

mod race {
    use super::*;

    both_dialects! {
        azure_devops_plays;
        /// The race of a cron tick and an event's, with a turn's end in it:
        /// as the agent ends, the watch its keeper starts, cron's watch and
        /// an event's watch for the same repository all run at once, round
        /// after round: one agent, one PR opened for the run, never a second.
        #[test]
        fn a_turns_end_crons_watch_and_an_events_watch_at_once_open_one_pr() {
            for round in 0..3 {
                let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
                let scratch = Scratch::new();
                let agent = scratch.write(
                    "agent.sh",
                    "printf 'x\\n' > x.txt\ngit add -A\ngit commit -qm x\n",
                );
                let text = format!(
                    "state_path = \"state/afk.db\"\n\n[forge]\n{forge}timeout = \"5s\"\nretries = 1\n\n\
                     [runner]\nworkspace = \"afk\"\nagent = \"custom\"\ncommand = [\"sh\", \"{agent}\"]\n\n\
                     [poll]\nenabled = true\nallowlist = [\"acme/api\"]\n\n{HOOK}wait_lock = \"5m\"\n",
                    forge = sb.forge_keys(),
                    agent = agent.display(),
                );
                let mut afk = Afk::on(&sb, &text);
                afk.env.push((TURN_END_WATCH.into(), "on".into()));
                let (code, r, err) = afk.poll();
                assert_eq!(code, 0, "poll: {err} {r}");
                assert_eq!(afk.wait_agent(1), 0);
                // the keeper's watch is starting: cron's and an event's with it
                let mut cron = afk.std_cmd();
                cron.args(["-q", "watch"]).stdout(Stdio::piped()).stderr(Stdio::piped());
                let cron = cron.spawn().unwrap();
                let event = trigger(&afk, &format!("r-{round}"), None);
                let (code, _, err) = done(cron.wait_with_output().unwrap());
                assert_eq!(code, 0, "round {round}: cron's watch: {err}");
                let (code, _, err) = done(event.wait_with_output().unwrap());
                assert_eq!(code, 0, "round {round}: the event's watch: {err}");
                // the keeper's watch ends too (a bounded wait for its locks)
                let until = std::time::Instant::now() + std::time::Duration::from_secs(60);
                let opened = || {
                    sb.requests()
                        .iter()
                        .filter(|r| {
                            let path = r["path"].as_str().unwrap_or("");
                            r["method"] == "POST"
                                && (path.ends_with("/pulls")
                                    || path.ends_with("/merge_requests")
                                    || path.ends_with("/pullrequests"))
                        })
                        .count()
                };
                while std::time::Instant::now() < until
                    && (opened() == 0
                        || !free(&afk, "watch")
                        || !free(&afk, "event-watch-acme_2fapi")
                        || flag(&afk).exists())
                {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                let after = std::fs::read_to_string(afk.scratch.path("state/runs/1/after-turn.log"))
                    .unwrap_or_default();
                assert_eq!(opened(), 1, "round {round}: one PR opened: {after}");
                let (_, prs) = sb.api(&sb.dialect.prs_path("acme/api", Listed::All));
                assert_eq!(api_list(&prs).len(), 1, "round {round}: {prs}");
                assert_eq!(
                    afk.sql_rows("SELECT count(*) FROM runs"),
                    [["1".to_string()]],
                    "round {round}: one agent"
                );
                drop(scratch);
            }
        }
    }
}
