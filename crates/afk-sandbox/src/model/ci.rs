//! The sandbox CI's state: a responder per repository, and how many runs
//! they answered (`crate::ci` answers test comments with it); and the CI
//! that runs a repository's own command on every push to a PR's branch, its
//! runs (`crate::ci_run` runs them).

use serde::Deserialize;
use serde_json::Value;
use std::collections::{BTreeMap, VecDeque};

/// How the CI answers in one repository.
#[derive(Deserialize, Default, Clone)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct Responder {
    pub repo: String,
    pub trigger: String,
    pub context: String,
    /// the answers to come, in order; empty: no answer
    pub states: VecDeque<String>,
    /// tests branch -> the state a run against it reports
    pub tests: BTreeMap<String, String>,
}

/// The responders, by repository; and how many runs they answered.
#[derive(Default)]
pub(crate) struct Ci {
    pub(crate) responders: BTreeMap<String, Responder>,
    pub(crate) runs: u64,
    /// the CI that runs a command on every push to a PR's branch
    pub(crate) pushes: Pushes,
}

impl Ci {
    /// Set up (or replace) one repository's responder from the admin body.
    pub(crate) fn set(&mut self, body: &Value) -> Result<(), String> {
        let r: Responder = serde_json::from_value(body.clone()).map_err(|e| format!("ci: {e}"))?;
        if r.repo.is_empty() || r.trigger.trim().is_empty() {
            return Err("ci: repo and trigger are required".into());
        }
        self.responders.insert(r.repo.clone(), r);
        Ok(())
    }
}

// ---- the CI that runs a command on every push to a PR's branch ------------------

/// A repository's CI command (the seed's `ci`, `/_admin/ci` with `command`).
#[derive(Clone, Debug)]
pub(crate) struct Command {
    pub argv: Vec<String>,
    pub context: String,
    pub timeout: std::time::Duration,
}

/// The context a CI command reports under when none is named.
pub(crate) const DEFAULT_CONTEXT: &str = "ci/test";
/// How long a CI command may run when no timeout is named.
pub(crate) const DEFAULT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(600);
/// The longest timeout taken.
const MAX_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(6 * 3600);
/// How many runs the state keeps (the oldest go first).
const RUNS_KEPT: usize = 200;

impl Command {
    /// From `{command, context?, timeout?}`; an empty command is none.
    pub(crate) fn parse(
        argv: Vec<String>,
        context: Option<&str>,
        timeout: Option<&str>,
    ) -> Result<Option<Command>, String> {
        if argv.is_empty() {
            return Ok(None);
        }
        if argv[0].is_empty() {
            return Err("ci: the command's program is empty".into());
        }
        let timeout = match timeout {
            None => DEFAULT_TIMEOUT,
            Some(t) => parse_duration(t)
                .filter(|d| !d.is_zero() && *d <= MAX_TIMEOUT)
                .ok_or(format!(
                    "ci: timeout \"{t}\" is not a duration such as 90s, 10m or 1h (at most 6h)"
                ))?,
        };
        let context = context.filter(|c| !c.trim().is_empty());
        Ok(Some(Command {
            argv,
            context: context.unwrap_or(DEFAULT_CONTEXT).to_string(),
            timeout,
        }))
    }
}

/// `500ms`, `90s`, `10m`, `1h`, or a bare number of seconds.
pub(crate) fn parse_duration(t: &str) -> Option<std::time::Duration> {
    let t = t.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (n, unit) = t.split_at(split);
    let n: u64 = n.parse().ok()?;
    let secs = match unit.trim() {
        "ms" => return Some(std::time::Duration::from_millis(n)),
        "" | "s" => n,
        "m" => n.checked_mul(60)?,
        "h" => n.checked_mul(3600)?,
        _ => return None,
    };
    Some(std::time::Duration::from_secs(secs))
}

/// A duration as a person would write it (`1s`, `10m`, `1500ms`).
pub(crate) fn show_duration(d: std::time::Duration) -> String {
    let ms = d.as_millis();
    if ms.is_multiple_of(3_600_000) {
        format!("{}h", ms / 3_600_000)
    } else if ms.is_multiple_of(60_000) {
        format!("{}m", ms / 60_000)
    } else if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

/// One run of a CI command on a pushed commit.
#[derive(Clone, Debug)]
pub(crate) struct Run {
    pub id: u64,
    pub repo: String,
    pub branch: String,
    pub pr: u64,
    pub sha: String,
    pub context: String,
    /// running, success, failure, error, superseded
    pub state: String,
    pub exit_code: Option<i32>,
    pub description: String,
    /// the end of what it wrote (stdout and stderr, interleaved)
    pub output: String,
    /// set when a newer push to the branch made this run's result moot
    pub cancel: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Run {
    /// As `/_admin/state` shows it (`output` too when asked for the one run).
    pub(crate) fn show(&self, with_output: bool) -> Value {
        let mut v = serde_json::json!({
            "id": self.id, "repo": self.repo, "branch": self.branch, "pr": super::Forge::shown(self.pr),
            "sha": self.sha, "context": self.context, "state": self.state,
            "exit_code": self.exit_code, "description": self.description,
        });
        if with_output {
            v["output"] = Value::String(self.output.clone());
        }
        v
    }
}

/// The CI commands by repository, their runs, and which run is the newest
/// of each branch.
#[derive(Default)]
pub(crate) struct Pushes {
    pub(crate) commands: BTreeMap<String, Command>,
    pub(crate) runs: VecDeque<Run>,
    pub(crate) next_run: u64,
    /// (repo, branch) -> the id of its newest run
    pub(crate) newest: BTreeMap<(String, String), u64>,
    /// runs recorded before the sandbox could start threads (a seed at start)
    pub(crate) unstarted: Vec<u64>,
    /// the sandbox's own state, for a run's thread to report back to
    pub(crate) this: std::sync::Weak<std::sync::Mutex<super::Forge>>,
}

impl Pushes {
    pub(crate) fn run(&self, id: u64) -> Option<&Run> {
        self.runs.iter().find(|r| r.id == id)
    }

    pub(crate) fn run_mut(&mut self, id: u64) -> Option<&mut Run> {
        self.runs.iter_mut().find(|r| r.id == id)
    }

    /// Keep a new run (the oldest ended ones dropped past the bound).
    pub(crate) fn keep(&mut self, run: Run) {
        self.runs.push_back(run);
        while self.runs.len() > RUNS_KEPT {
            match self.runs.iter().position(|r| r.state != "running") {
                Some(i) => {
                    self.runs.remove(i);
                }
                None => break,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn durations_read_as_written_and_show_back() {
        let cases = [
            ("90s", Some(Duration::from_secs(90))),
            ("10m", Some(Duration::from_secs(600))),
            ("1h", Some(Duration::from_secs(3600))),
            ("500ms", Some(Duration::from_millis(500))),
            ("30", Some(Duration::from_secs(30))),
            ("", None),
            ("m", None),
            ("5 days", None),
            ("-1s", None),
        ];
        for (text, want) in cases {
            assert_eq!(parse_duration(text), want, "case {text:?}");
        }
        let shown = [
            (Duration::from_secs(1), "1s"),
            (Duration::from_secs(600), "10m"),
            (Duration::from_secs(7200), "2h"),
            (Duration::from_millis(1500), "1500ms"),
        ];
        for (d, want) in shown {
            assert_eq!(show_duration(d), want);
        }
    }

    #[test]
    fn a_command_takes_defaults_and_refuses_a_timeout_out_of_bounds() {
        let argv = || vec!["make".to_string(), "test".to_string()];
        let c = Command::parse(argv(), None, None).unwrap().unwrap();
        assert_eq!(
            (c.context.as_str(), c.timeout),
            (DEFAULT_CONTEXT, DEFAULT_TIMEOUT)
        );
        let c = Command::parse(argv(), Some("ci/unit"), Some("2m"))
            .unwrap()
            .unwrap();
        assert_eq!(
            (c.context.as_str(), c.timeout),
            ("ci/unit", Duration::from_secs(120))
        );
        assert!(
            Command::parse(vec![], None, None).unwrap().is_none(),
            "none: off"
        );
        for bad in ["0s", "7h", "soon"] {
            assert!(
                Command::parse(argv(), None, Some(bad)).is_err(),
                "case {bad}"
            );
        }
        assert!(Command::parse(vec![String::new()], None, None).is_err());
    }
}
