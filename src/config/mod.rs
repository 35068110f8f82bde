//! The TOML schema (docs/configuration.md): defaults, validation, secrets,
//! durations.
//!
//! Unknown keys are found by walking the parsed table against the schema (`schema.rs`)
//! (so the error names the key, its table and its line, with a suggestion);
//! then serde does the typing with `deny_unknown_fields` as a backstop.
//!
//! Everything is typed at load: durations are `Duration`s, kinds are enums,
//! repositories are [`RepoName`]s and paths are absolute (relative ones are
//! resolved against the config file's directory). A bad value is a
//! [`ConfigError`] naming the key and its line; nothing falls back silently.
//!
//! One file per section (`[forge]` in `forge.rs`, …): its struct, its
//! defaults and its validation together. Here: the whole [`Config`], its
//! top-level keys, load and parse, and the one `validate` that asks each
//! section in turn.

use anyhow::Result;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

mod azure;
mod budget;
mod check;
mod discover;
mod forge;
mod gate;
mod harvest;
mod hook;
mod lessons;
mod notify;
mod poll;
mod report;
mod runner;
mod schema;
mod secrets;
mod settled;
mod state;
mod telemetry;
mod tracker;
mod upgrade;
mod values;
mod watch;

pub use budget::Budget;
pub use discover::{STARTER, default_config_path, not_found, starter_for, with_tracker};
pub use forge::{Forge, ForgeKind};
pub use gate::Gate;
pub use harvest::Harvest;
pub use hook::Hook;
pub use lessons::Lessons;
pub use notify::{HeartbeatEnvs, NOTIFY_EVENTS, Notify, NotifyUrls};
pub use poll::Poll;
pub use report::Report;
pub use runner::{
    Kubernetes, Runner, default_host_id, gid_has_group, is_dedicated_account, subordinate_ranges,
    uid_has_account,
};
pub use secrets::{env_secret, env_secret_set, env_vars_holding, model_key_file, read_secret_file};
pub use settled::Settled;
pub use state::StatePaths;
pub use telemetry::Telemetry;
pub use tracker::{MapEntry, Tracker};
pub use upgrade::{GroupBy, Upgrade};
pub use values::parse_duration;
pub use watch::Watch;

use check::{Checker, humane, key_at_offset, line_of_offset};
use values::{DAY, MINUTE, absolute, de_duration, de_issue_ref, de_path};

pub use crate::types::{RepoName, is_repo_name};

/// A configuration problem: exit code 2, nothing touched (the model's).
pub use crate::types::ConfigError;

pub(crate) fn cfg_err(msg: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(ConfigError(msg.into()))
}

/// A configuration problem and what to do about it (`crate::hint`).
pub(crate) fn cfg_hint(msg: impl Into<String>, hint: impl Into<String>) -> anyhow::Error {
    crate::hint::hinted(cfg_err(msg), hint)
}

/// `runner.kind`: a value the store keeps, so the model's.
pub use crate::types::RunnerKind;

/// `poll.trusted_permission`: the model's rank of a person's access (one
/// permission type), of which the config names three.
pub use crate::types::Access;

pub use crate::types::format_duration;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Absolute once loaded; `None`: the XDG default.
    #[serde(deserialize_with = "de_path")]
    pub state_path: Option<PathBuf>,
    /// Absolute once loaded; `None`: "runs" beside the state file.
    #[serde(deserialize_with = "de_path")]
    pub runs_dir: Option<PathBuf>,
    /// Absolute once loaded; `None`: "STOP" beside the state file.
    #[serde(deserialize_with = "de_path")]
    pub stop_file: Option<PathBuf>,
    /// Absolute once loaded; `None` (or `""` in the file): no metrics file.
    #[serde(deserialize_with = "de_path")]
    pub metrics_file: Option<PathBuf>,
    /// Absolute once loaded; `None` (or `""`): no status page.
    #[serde(deserialize_with = "de_path")]
    pub status_page: Option<PathBuf>,
    /// `"owner/repo#N"`, parsed once; `None` (or `""`): no status issue. Its
    /// repo need not be allowlisted: afk only reads and edits that one
    /// issue's body there, never dispatches from it (docs/configuration.md).
    #[serde(deserialize_with = "de_issue_ref")]
    pub status_issue: Option<crate::core::status::issue::IssueRef>,
    /// A tick's own deadline (`tick_timeout`, docs/configuration.md): past it
    /// the tick starts nothing more, then exits 5; at least 10s.
    #[serde(deserialize_with = "de_duration")]
    pub tick_timeout: Duration,
    pub forge: Forge,
    pub poll: Poll,
    pub runner: Runner,
    pub watch: Watch,
    pub budget: Budget,
    pub notify: Notify,
    /// `afk hook` (docs/hook.md#configuration): its secret is read by that
    /// command alone
    pub hook: Hook,
    /// `[gate]`: the change gate (docs/security.md#the-change-gate)
    pub gate: Gate,
    pub harvest: Harvest,
    pub lessons: Lessons,
    pub report: Report,
    /// `[tracker]`: work taken from Jira beside the forge
    /// (docs/trackers.md); None: the forge's issues, as before.
    pub tracker: Option<Tracker>,
    pub upgrade: Upgrade,
    /// `[telemetry]` as written (docs/telemetry.md); what it means is
    /// [`Config::telemetry`].
    #[serde(rename = "telemetry")]
    pub telemetry_keys: Telemetry,
    /// Where and how this process exports, resolved at load from
    /// `[telemetry]` and the `OTEL_*` variables: None when telemetry is off
    /// (no variable read) or `OTEL_SDK_DISABLED=true`. Its header values
    /// are secrets, registered as they were read.
    #[serde(skip)]
    pub telemetry: Option<crate::types::telemetry::TelemetrySettings>,
    /// Directory of the config file (canonical, absolute); relative paths were
    /// resolved against it at load.
    #[serde(skip)]
    pub base_dir: PathBuf,
    /// The file has a `[hook]` table (doctor says whether its secret is
    /// there even when it names none).
    #[serde(skip)]
    pub hook_table: bool,
    /// Where the session that loaded this config found it, and its state
    /// paths as `--state` resolved them: afk's own files, which the agent's
    /// box keeps out. None: not loaded by a session (`paths(None)` then).
    #[serde(skip)]
    pub loaded_as: Option<(PathBuf, StatePaths)>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            state_path: None,
            runs_dir: None,
            stop_file: None,
            metrics_file: None,
            status_page: None,
            status_issue: None,
            tick_timeout: Duration::from_secs(10 * MINUTE),
            forge: Forge::default(),
            poll: Poll::default(),
            runner: Runner::default(),
            watch: Watch::default(),
            budget: Budget::default(),
            notify: Notify::default(),
            hook: Hook::default(),
            gate: Gate::default(),
            harvest: Harvest::default(),
            lessons: Lessons::default(),
            report: Report::default(),
            tracker: None,
            upgrade: Upgrade::default(),
            telemetry_keys: Telemetry::default(),
            telemetry: None,
            base_dir: absolute(Path::new(".")),
            hook_table: false,
            loaded_as: None,
        }
    }
}

/// `key = word` at line `n` (1-based) of `text`, where the word is no TOML
/// value (`ture`, `yes`, an unquoted path): the error in the file's words,
/// naming `table.key`; None for any other line.
fn bare_value(text: &str, n: usize) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let line = lines.get(n.checked_sub(1)?)?;
    let (key, value) = line.split_once('=')?;
    let (key, value) = (key.trim(), value.trim());
    let value = value.split(" #").next().unwrap_or(value).trim();
    let word = !value.is_empty()
        && value.starts_with(|c: char| c.is_ascii_alphabetic() || c == '/' || c == '.')
        && !["true", "false", "inf", "nan"].contains(&value);
    if !word || key.is_empty() || key.contains(['"', '[']) {
        return None;
    }
    let table = lines[..n - 1]
        .iter()
        .rev()
        .map(|l| l.trim())
        .find(|l| l.starts_with('[') && l.ends_with(']'))
        .map(|l| l.trim_matches(['[', ']']).trim().to_string());
    let name = match table {
        Some(t) => format!("{t}.{key}"),
        None => key.to_string(),
    };
    // a key that may hold a secret never has its value said back
    let secretish = ["token", "secret", "key", "pass", "auth", "cred"]
        .iter()
        .any(|w| key.to_ascii_lowercase().contains(w));
    if secretish {
        return Some(format!(
            "config: {name} at line {n}: a bare word is not a value (text goes in quotes)"
        ));
    }
    let said = crate::core::sanitize::one_line(value, 40);
    Some(format!(
        "config: {name} at line {n}: {said} is not a value (true or false, a number, or text in quotes: \"{said}\")"
    ))
}

/// The largest config file afk reads (the starter is about 20 KiB); a
/// larger one is an error that says so, never read in part.
const CONFIG_MAX: u64 = 1 << 20;

impl Config {
    /// afk's labels, each with the colour afk makes it in: the ready
    /// label, the in-progress label, the human label and the paused label
    /// (`afk init --create-labels`, and watch when one a run needs is
    /// missing).
    pub fn labels(&self) -> [(&str, &'static str); 4] {
        [
            (self.poll.ready_label.as_str(), "0e8a16"),
            (self.poll.in_progress_label.as_str(), "fbca04"),
            (self.watch.human_label.as_str(), "d93f0b"),
            // a run paused at a budget's limit
            (self.budget.paused_label.as_str(), "c5def5"),
        ]
    }

    /// Parse and validate config text. `base_dir` anchors relative paths; it is
    /// canonicalised when it exists and made absolute otherwise.
    pub fn parse(text: &str, base_dir: &Path) -> Result<Config> {
        let serde_err = |message: &str, span: Option<std::ops::Range<usize>>| {
            let first = humane(message.lines().next().unwrap_or(""));
            let first = first.as_str();
            let Some(span) = span else {
                return cfg_err(format!("config: {first}"));
            };
            let line = line_of_offset(text, span.start);
            match key_at_offset(text, span.start) {
                Some(key) => cfg_err(format!("config: {key} at line {line}: {first}")),
                None => cfg_err(format!("config: {first} at line {line}")),
            }
        };
        let table: toml::Table = toml::from_str(text).map_err(|e| {
            let at = e.span().map(|s| line_of_offset(text, s.start));
            // a bare word where a value goes (`enabled = ture`): in the
            // file's words, with its key
            if let Some(said) = at.and_then(|n| bare_value(text, n)) {
                return cfg_err(said);
            }
            let line = at.map(|n| format!(" at line {n}")).unwrap_or_default();
            cfg_err(format!(
                "config: invalid TOML{line}: {}",
                e.message().lines().next().unwrap_or("")
            ))
        })?;
        schema::check_unknown_keys(text, &table)?;
        let mut cfg: Config = toml::from_str(text).map_err(|e| serde_err(e.message(), e.span()))?;
        cfg.base_dir = std::fs::canonicalize(base_dir).unwrap_or_else(|_| absolute(base_dir));
        cfg.hook_table = table.contains_key("hook");
        cfg.watch.default_update_for(cfg.profile(), &table);
        cfg.validate(text, &table)?;
        cfg.resolve_paths();
        cfg.read_secrets();
        // last: the environment is read only with telemetry on
        cfg.telemetry = cfg.resolve_telemetry()?;
        Ok(cfg)
    }

    pub fn load(path: &Path) -> Result<Config> {
        // a regular file, read with a bound: a FIFO there would hold the
        // command, a device (`/dev/zero`) would never end
        let bytes = afk_host::private_files::read_operator_file(path, CONFIG_MAX).map_err(|e| {
            // a path that does not exist was named (--config, AFK_CONFIG):
            // how to create that very file, not "pass --config" again
            let (why, hint) = match e.kind() {
                std::io::ErrorKind::NotFound => (
                    "it does not exist".to_string(),
                    format!(
                        "create it with `afk --config {} init`, or name another with --config",
                        path.display()
                    ),
                ),
                std::io::ErrorKind::InvalidInput => (
                    afk_host::os_words(&e),
                    "name the config file itself, a regular file, with --config".to_string(),
                ),
                _ => (
                    afk_host::os_words(&e).to_string(),
                    "fix its permissions: it must be a file afk's user can read; or name another with --config".to_string(),
                ),
            };
            cfg_hint(format!("config: cannot read {}: {why}", path.display()), hint)
        })?;
        let text = String::from_utf8(bytes).map_err(|_| {
            cfg_err(format!(
                "config: cannot read {}: it is not UTF-8 text",
                path.display()
            ))
        })?;
        let base = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        Config::parse(&text, base).map_err(|e| {
            if crate::hint::unhinted(&e).is::<ConfigError>() {
                let msg =
                    e.to_string()
                        .replacen("config:", &format!("config: {}:", path.display()), 1);
                crate::hint::with_hints(cfg_err(msg), crate::hint::hints_of(&e))
            } else {
                e
            }
        })
    }

    /// Every section's own checks, in this order; the first problem is the error.
    fn validate(&self, text: &str, table: &toml::Table) -> Result<()> {
        let c = Checker { text };
        // first, as when the entries were refused while the file was read
        self.poll.validate_allowlist(&c, self.profile())?;
        self.validate_urls(&c)?;
        self.validate_files()?;
        c.duration(
            "",
            "tick_timeout",
            self.tick_timeout,
            Duration::from_secs(10),
            Duration::from_secs(24 * 60 * MINUTE),
        )?;
        self.forge.validate(&c)?;
        self.validate_azure_devops(&c, table)?;
        self.poll.validate(&c)?;
        self.watch.validate(&c, self.forge.kind)?;
        self.validate_expect_every(&c)?;
        self.runner.validate(&c)?;
        self.runner.validate_in_force(&c)?;
        self.runner.boxed.validate_paths(&c, &self.base_dir)?;
        self.budget.validate(
            &c,
            [
                self.poll.ready_label.as_str(),
                self.poll.in_progress_label.as_str(),
            ],
        )?;
        self.notify.validate(&c)?;
        self.hook.validate(&c)?;
        self.validate_gate(&c, table)?;
        self.harvest.validate(&c)?;
        self.lessons.validate(&c)?;
        self.report.validate(&c)?;
        if let Some(t) = &self.tracker {
            let own = [
                self.poll.ready_label.as_str(),
                self.poll.in_progress_label.as_str(),
                self.watch.human_label.as_str(),
                self.budget.paused_label.as_str(),
            ];
            let agent = self.runner.workspace() == crate::types::Workspace::Agent;
            t.validate(&c, &self.poll.allowlist, &own, agent)?;
            // the box never reaches the tracker
            let hosts = t.hosts();
            if let Some(a) = (self.runner.boxed.allow().into_iter())
                .find(|a| hosts.iter().any(|h| h.eq_ignore_ascii_case(&a.host)))
            {
                return Err(c.err(
                    "runner.box",
                    "allow",
                    format!("\"{a}\" is the tracker's host: the agent's box never reaches the tracker (docs/trackers.md)"),
                ));
            }
        }
        self.upgrade.validate(&c)?;
        self.telemetry_keys
            .validate_box_env(&c, &self.runner.boxed.env)?;
        self.forge.validate_app(&c, table)?;
        match self.profile().not_yet {
            Some(why) => Err(c.err("forge", "kind", format!("\"{}\": {why}", self.forge.kind))),
            None => Ok(()),
        }
    }

    /// How often each tick kind is expected (docs/reports.md#afk-status), from
    /// a minute to a week. One rule over the four tick tables, so checked here,
    /// in one go.
    fn validate_expect_every(&self, c: &Checker) -> Result<()> {
        let secs = Duration::from_secs;
        for &kind in crate::types::TickKind::ALL {
            let every = self.expect_every(kind);
            c.duration(
                kind.as_str(),
                "expect_every",
                every,
                secs(MINUTE),
                secs(7 * DAY),
            )?;
        }
        Ok(())
    }

    /// How often a tick of `kind` is expected (`expect_every` under its
    /// table, docs/configuration.md): its health is `overdue` after twice this.
    pub fn expect_every(&self, kind: crate::types::TickKind) -> Duration {
        use crate::types::TickKind;
        match kind {
            TickKind::Poll => self.poll.expect_every,
            TickKind::Watch => self.watch.expect_every,
            TickKind::Harvest => self.harvest.expect_every,
            TickKind::Upgrade => self.upgrade.expect_every,
        }
    }
}

#[cfg(test)]
mod tests;
