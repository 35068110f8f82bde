//! The TOML schema (SPEC section 2): defaults, validation, secrets, durations.
//!
//! Unknown keys are found by walking the parsed table against the schema below
//! (so the error names the key, its table and its line, with a suggestion);
//! then serde does the typing with `deny_unknown_fields` as a backstop.

use anyhow::{Result, bail};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A configuration problem: exit code 2, nothing touched.
#[derive(Debug)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for ConfigError {}

fn cfg_err(msg: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(ConfigError(msg.into()))
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub state_path: Option<PathBuf>,
    pub runs_dir: Option<PathBuf>,
    pub stop_file: Option<PathBuf>,
    pub forge: Forge,
    pub poll: Poll,
    pub runner: Runner,
    pub watch: Watch,
    pub notify: Notify,
    pub harvest: Harvest,
    pub lessons: Lessons,
    pub upgrade: Upgrade,
    /// Directory of the config file; relative paths are resolved against it.
    #[serde(skip)]
    pub base_dir: PathBuf,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            state_path: None,
            runs_dir: None,
            stop_file: None,
            forge: Forge::default(),
            poll: Poll::default(),
            runner: Runner::default(),
            watch: Watch::default(),
            notify: Notify::default(),
            harvest: Harvest::default(),
            lessons: Lessons::default(),
            upgrade: Upgrade::default(),
            base_dir: PathBuf::from("."),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Forge {
    pub kind: String,
    pub url: String,
    pub api_url: String,
    pub token_env: String,
    pub token_file: String,
    pub timeout: String,
    pub concurrency: usize,
    pub retries: u32,
}
impl Default for Forge {
    fn default() -> Self {
        Forge {
            kind: "gitea".into(),
            url: String::new(),
            api_url: String::new(),
            token_env: "AFK_FORGE_TOKEN".into(),
            token_file: String::new(),
            timeout: "30s".into(),
            concurrency: 8,
            retries: 3,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Poll {
    pub enabled: bool,
    pub allowlist: Vec<String>,
    pub ready_label: String,
    pub in_progress_label: String,
    pub trusted_permission: String,
    pub trusted_users: Vec<String>,
    pub max_in_flight: usize,
    pub max_per_tick: usize,
    pub template: String,
    pub include_body: bool,
    pub priority: BTreeMap<String, i64>,
}
impl Default for Poll {
    fn default() -> Self {
        let priority = [
            ("priority/critical", 4),
            ("priority/high", 3),
            ("priority/medium", 2),
            ("priority/low", 1),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        Poll {
            enabled: false,
            allowlist: vec![],
            ready_label: "ready-for-agent".into(),
            in_progress_label: "agent-in-progress".into(),
            trusted_permission: "write".into(),
            trusted_users: vec![],
            max_in_flight: 4,
            max_per_tick: 4,
            template: "implementer".into(),
            include_body: true,
            priority,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Runner {
    pub kind: String,
    pub command: Vec<String>,
    pub resume_command: Vec<String>,
    pub workdir: String,
    pub stall_after: String,
    pub url: String,
    pub token_env: String,
}
impl Default for Runner {
    fn default() -> Self {
        Runner {
            kind: "command".into(),
            command: vec![
                "sh".into(),
                "-c".into(),
                "claude -p --dangerously-skip-permissions < \"$AFK_PROMPT_FILE\"".into(),
            ],
            resume_command: vec![],
            workdir: "{run_dir}/work".into(),
            stall_after: "3h".into(),
            url: String::new(),
            token_env: String::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Watch {
    pub human_label: String,
    pub fix_forward_max: u32,
    pub ci_contexts: Vec<String>,
    pub deploy_context: String,
    pub checklist: bool,
}
impl Default for Watch {
    fn default() -> Self {
        Watch {
            human_label: "ready-for-human".into(),
            fix_forward_max: 2,
            ci_contexts: vec![],
            deploy_context: String::new(),
            checklist: true,
        }
    }
}

pub const NOTIFY_EVENTS: &[&str] = &[
    "run.escalated",
    "run.succeeded",
    "run.abandoned",
    "candidate.rolled_back",
    "candidate.auto_promoted",
    "upgrade.failed",
];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Notify {
    pub slack_webhook_env: String,
    pub webhook_env: String,
    pub events: Vec<String>,
}
impl Default for Notify {
    fn default() -> Self {
        Notify {
            slack_webhook_env: String::new(),
            webhook_env: String::new(),
            events: [
                "run.escalated",
                "run.succeeded",
                "candidate.rolled_back",
                "candidate.auto_promoted",
                "upgrade.failed",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Harvest {
    pub canary: bool,
    pub sample: f64,
    pub min_samples: u32,
    pub check_every: u32,
    pub max_samples: u32,
    pub confidence: f64,
    pub early_failures: u32,
}
impl Default for Harvest {
    fn default() -> Self {
        Harvest {
            canary: false,
            sample: 0.2,
            min_samples: 20,
            check_every: 10,
            max_samples: 40,
            confidence: 0.975,
            early_failures: 5,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Lessons {
    pub enabled: bool,
    pub dedup_window: String,
    pub in_prompt: usize,
}
impl Default for Lessons {
    fn default() -> Self {
        Lessons {
            enabled: true,
            dedup_window: "1h".into(),
            in_prompt: 5,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Upgrade {
    pub recipes: Vec<String>,
    pub upstream: String,
    pub mirror: String,
    pub work_dir: String,
    pub testme_comment: String,
    pub ci_context: String,
    pub max_test_runs: u32,
    pub allow_major: bool,
    pub max_open_prs: u32,
    pub registry_auth_env: String,
}
impl Default for Upgrade {
    fn default() -> Self {
        Upgrade {
            recipes: vec![],
            upstream: "https://git.coopcloud.tech/coop-cloud/{recipe}.git".into(),
            mirror: "recipe-maintainers/{recipe}".into(),
            work_dir: String::new(),
            testme_comment: "!testme".into(),
            ci_context: "cc-ci/testme".into(),
            max_test_runs: 3,
            allow_major: false,
            max_open_prs: 10,
            registry_auth_env: String::new(),
        }
    }
}

/// Every key the schema knows, per table ("" is the top level).
/// `poll.priority` is a free map and is not checked key by key.
const SCHEMA: &[(&str, &[&str])] = &[
    (
        "",
        &[
            "state_path",
            "runs_dir",
            "stop_file",
            "forge",
            "poll",
            "runner",
            "watch",
            "notify",
            "harvest",
            "lessons",
            "upgrade",
        ],
    ),
    (
        "forge",
        &[
            "kind",
            "url",
            "api_url",
            "token_env",
            "token_file",
            "timeout",
            "concurrency",
            "retries",
        ],
    ),
    (
        "poll",
        &[
            "enabled",
            "allowlist",
            "ready_label",
            "in_progress_label",
            "trusted_permission",
            "trusted_users",
            "max_in_flight",
            "max_per_tick",
            "template",
            "include_body",
            "priority",
        ],
    ),
    (
        "runner",
        &[
            "kind",
            "command",
            "resume_command",
            "workdir",
            "stall_after",
            "url",
            "token_env",
        ],
    ),
    (
        "watch",
        &[
            "human_label",
            "fix_forward_max",
            "ci_contexts",
            "deploy_context",
            "checklist",
        ],
    ),
    ("notify", &["slack_webhook_env", "webhook_env", "events"]),
    (
        "harvest",
        &[
            "canary",
            "sample",
            "min_samples",
            "check_every",
            "max_samples",
            "confidence",
            "early_failures",
        ],
    ),
    ("lessons", &["enabled", "dedup_window", "in_prompt"]),
    (
        "upgrade",
        &[
            "recipes",
            "upstream",
            "mirror",
            "work_dir",
            "testme_comment",
            "ci_context",
            "max_test_runs",
            "allow_major",
            "max_open_prs",
            "registry_auth_env",
        ],
    ),
];

/// Parse a duration string: `"90s"`, `"30m"`, `"2h"`, `"7d"` (also `"500ms"`).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => {
            return Err(format!(
                "\"{s}\" has no unit (use s, m, h or d, e.g. \"30m\")"
            ));
        }
    };
    let n: u64 = num.parse().map_err(|_| {
        format!("\"{s}\" is not a duration (e.g. \"90s\", \"30m\", \"2h\", \"7d\")")
    })?;
    let secs = match unit {
        "ms" => return Ok(Duration::from_millis(n)),
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86400,
        _ => {
            return Err(format!(
                "\"{s}\" has an unknown unit \"{unit}\" (use s, m, h or d)"
            ));
        }
    };
    Ok(Duration::from_secs(secs))
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

fn suggest<'a>(key: &str, known: &[&'a str]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (edit_distance(key, k), *k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 3))
        .min()
        .map(|(_, k)| k)
}

/// The 1-based line where `key` is assigned inside `[table]` (or at top level).
fn find_key_line(text: &str, table: &str, key: &str) -> Option<usize> {
    let mut current = String::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.starts_with('[') {
            current = line
                .trim_start_matches('[')
                .split(']')
                .next()
                .unwrap_or("")
                .trim()
                .to_string();
            if current == table.to_string() + "." + key || (table.is_empty() && current == key) {
                return Some(i + 1);
            }
            continue;
        }
        if current != table {
            continue;
        }
        let lhs = line
            .split('=')
            .next()
            .unwrap_or("")
            .trim()
            .trim_matches('"');
        if line.contains('=') && lhs == key {
            return Some(i + 1);
        }
    }
    None
}

fn check_unknown_keys(text: &str, value: &toml::Table) -> Result<()> {
    for (table, known) in SCHEMA {
        let t = if table.is_empty() {
            Some(value)
        } else {
            value.get(*table).and_then(|v| v.as_table())
        };
        let Some(t) = t else { continue };
        for key in t.keys() {
            if known.contains(&key.as_str()) {
                continue;
            }
            let place = if table.is_empty() {
                "at the top level".to_string()
            } else {
                format!("in [{table}]")
            };
            let line = find_key_line(text, table, key)
                .map(|l| format!(" at line {l}"))
                .unwrap_or_default();
            let hint = suggest(key, known)
                .map(|s| format!(" (did you mean \"{s}\"?)"))
                .unwrap_or_default();
            return Err(cfg_err(format!(
                "config: unknown key \"{key}\" {place}{line}{hint}"
            )));
        }
    }
    Ok(())
}

fn line_of_offset(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

impl Config {
    /// Parse and validate config text. `base_dir` anchors relative paths.
    pub fn parse(text: &str, base_dir: &Path) -> Result<Config> {
        let table: toml::Table = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| format!(" at line {}", line_of_offset(text, s.start)))
                .unwrap_or_default();
            cfg_err(format!(
                "config: invalid TOML{line}: {}",
                e.message().lines().next().unwrap_or("")
            ))
        })?;
        check_unknown_keys(text, &table)?;
        let mut cfg: Config = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| format!(" at line {}", line_of_offset(text, s.start)))
                .unwrap_or_default();
            cfg_err(format!(
                "config: {}{line}",
                e.message().lines().next().unwrap_or("")
            ))
        })?;
        cfg.base_dir = base_dir.to_path_buf();
        cfg.validate()?;
        Ok(cfg)
    }

    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            cfg_err(format!(
                "config: cannot read {}: {e} (pass --config PATH or run `afk init`)",
                path.display()
            ))
        })?;
        let base = path
            .parent()
            .map(|p| {
                if p.as_os_str().is_empty() {
                    PathBuf::from(".")
                } else {
                    p.to_path_buf()
                }
            })
            .unwrap_or_else(|| PathBuf::from("."));
        Config::parse(&text, &base).map_err(|e| {
            if e.is::<ConfigError>() {
                let msg =
                    e.to_string()
                        .replacen("config:", &format!("config: {}:", path.display()), 1);
                cfg_err(msg)
            } else {
                e
            }
        })
    }

    fn validate(&self) -> Result<()> {
        let dur = |key: &str, v: &str| -> Result<()> {
            parse_duration(v).map_err(|e| cfg_err(format!("config: {key}: {e}")))?;
            Ok(())
        };
        dur("forge.timeout", &self.forge.timeout)?;
        dur("runner.stall_after", &self.runner.stall_after)?;
        dur("lessons.dedup_window", &self.lessons.dedup_window)?;
        one_of(
            "forge.kind",
            &self.forge.kind,
            &["gitea", "forgejo", "github"],
        )?;
        one_of("runner.kind", &self.runner.kind, &["command", "http"])?;
        one_of(
            "poll.trusted_permission",
            &self.poll.trusted_permission,
            &["read", "write", "admin"],
        )?;
        if self.forge.concurrency == 0 {
            bail!(cfg_err("config: forge.concurrency must be at least 1"));
        }
        if !self.forge.token_env.is_empty() && !self.forge.token_file.is_empty() {
            // token_env has a default, so an explicit token_file wins; nothing to reject.
        }
        for entry in &self.poll.allowlist {
            if !is_repo_name(entry) {
                bail!(cfg_err(format!(
                    "config: poll.allowlist entry \"{entry}\" is not \"owner/repo\""
                )));
            }
        }
        if self.poll.ready_label.is_empty() || self.poll.in_progress_label.is_empty() {
            bail!(cfg_err(
                "config: poll.ready_label and poll.in_progress_label must not be empty"
            ));
        }
        if self.poll.ready_label == self.poll.in_progress_label {
            bail!(cfg_err(
                "config: poll.ready_label and poll.in_progress_label must differ"
            ));
        }
        if self.runner.kind == "command" && self.runner.command.is_empty() {
            bail!(cfg_err("config: runner.command must not be empty"));
        }
        if self.runner.kind == "http" && self.runner.url.is_empty() {
            bail!(cfg_err(
                "config: runner.url is required when runner.kind = \"http\""
            ));
        }
        for ev in &self.notify.events {
            if !NOTIFY_EVENTS.contains(&ev.as_str()) {
                bail!(cfg_err(format!(
                    "config: notify.events: unknown event \"{ev}\" (known: {})",
                    NOTIFY_EVENTS.join(", ")
                )));
            }
        }
        let h = &self.harvest;
        if !(0.0..=1.0).contains(&h.sample) {
            bail!(cfg_err("config: harvest.sample must be between 0 and 1"));
        }
        if !(0.5..1.0).contains(&h.confidence) {
            bail!(cfg_err(
                "config: harvest.confidence must be at least 0.5 and below 1"
            ));
        }
        if h.min_samples == 0 || h.check_every == 0 || h.max_samples < h.min_samples {
            bail!(cfg_err(
                "config: harvest needs min_samples >= 1, check_every >= 1 and max_samples >= min_samples"
            ));
        }
        if self.upgrade.max_test_runs == 0 {
            bail!(cfg_err("config: upgrade.max_test_runs must be at least 1"));
        }
        Ok(())
    }

    fn resolve(&self, p: &Path) -> PathBuf {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.base_dir.join(p)
        }
    }

    /// The state file: `--state`, else `state_path`, else `$XDG_STATE_HOME/afk/afk.db`.
    pub fn state_path(&self, flag: Option<&Path>) -> PathBuf {
        if let Some(p) = flag {
            return p.to_path_buf();
        }
        if let Some(p) = &self.state_path {
            return self.resolve(p);
        }
        let base = std::env::var_os("XDG_STATE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
            .unwrap_or_else(|| PathBuf::from("."));
        base.join("afk").join("afk.db")
    }

    pub fn state_dir(&self, flag: Option<&Path>) -> PathBuf {
        let p = self.state_path(flag);
        match p.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        }
    }

    pub fn runs_dir(&self, flag: Option<&Path>) -> PathBuf {
        match &self.runs_dir {
            Some(p) => self.resolve(p),
            None => self.state_dir(flag).join("runs"),
        }
    }

    pub fn stop_file(&self, flag: Option<&Path>) -> PathBuf {
        match &self.stop_file {
            Some(p) => self.resolve(p),
            None => self.state_dir(flag).join("STOP"),
        }
    }

    pub fn forge_timeout(&self) -> Duration {
        parse_duration(&self.forge.timeout).unwrap_or(Duration::from_secs(30))
    }

    pub fn stall_after(&self) -> Duration {
        parse_duration(&self.runner.stall_after).unwrap_or(Duration::from_secs(3 * 3600))
    }

    /// The API root: `api_url`, else `{url}/api/v1` (gitea/forgejo) or api.github.com.
    pub fn api_root(&self) -> Result<String> {
        if !self.forge.api_url.is_empty() {
            return Ok(self.forge.api_url.trim_end_matches('/').to_string());
        }
        if self.forge.kind == "github" {
            return Ok("https://api.github.com".into());
        }
        if self.forge.url.is_empty() {
            bail!(cfg_err("config: forge.url is required"));
        }
        Ok(format!("{}/api/v1", self.forge.url.trim_end_matches('/')))
    }

    /// The forge token, from `token_file` or `token_env`. The value is never printed.
    pub fn forge_token(&self) -> Result<String> {
        if !self.forge.token_file.is_empty() {
            let p = self.resolve(Path::new(&self.forge.token_file));
            let t = std::fs::read_to_string(&p).map_err(|e| {
                cfg_err(format!(
                    "config: forge.token_file {}: cannot read: {e}",
                    p.display()
                ))
            })?;
            return Ok(t.trim().to_string());
        }
        if self.forge.token_env.is_empty() {
            bail!(cfg_err("config: set forge.token_env or forge.token_file"));
        }
        match std::env::var(&self.forge.token_env) {
            Ok(t) if !t.trim().is_empty() => Ok(t.trim().to_string()),
            _ => bail!(cfg_err(format!(
                "config: the forge token is missing: set the environment variable {} (forge.token_env)",
                self.forge.token_env
            ))),
        }
    }

    /// Environment variables the config names as secrets; stripped from agents.
    pub fn secret_env_names(&self) -> Vec<String> {
        [
            &self.forge.token_env,
            &self.runner.token_env,
            &self.notify.slack_webhook_env,
            &self.notify.webhook_env,
            &self.upgrade.registry_auth_env,
        ]
        .into_iter()
        .filter(|s| !s.is_empty())
        .cloned()
        .collect()
    }

    /// The priority of an issue carrying `labels`: the highest mapped label, else 0.
    pub fn priority_of<'a>(&self, labels: impl IntoIterator<Item = &'a str>) -> i64 {
        labels
            .into_iter()
            .filter_map(|l| self.poll.priority.get(l).copied())
            .max()
            .unwrap_or(0)
    }
}

fn one_of(key: &str, v: &str, allowed: &[&str]) -> Result<()> {
    if allowed.contains(&v) {
        Ok(())
    } else {
        Err(cfg_err(format!(
            "config: {key} = \"{v}\" is not one of {}",
            allowed.join(", ")
        )))
    }
}

pub fn is_repo_name(s: &str) -> bool {
    let mut parts = s.split('/');
    let ok = |p: Option<&str>| {
        p.is_some_and(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        })
    };
    ok(parts.next()) && ok(parts.next()) && parts.next().is_none()
}

/// Where the config file is looked for when `--config` is not given.
pub fn default_config_path() -> PathBuf {
    if let Some(p) = std::env::var_os("AFK_CONFIG") {
        return PathBuf::from(p);
    }
    let local = PathBuf::from("afk.toml");
    if local.exists() {
        return local;
    }
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("afk").join("config.toml")
}

/// A starter config with comments, as written by `afk init`.
pub const STARTER: &str = include_str!("../examples/afk.toml");

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Config> {
        Config::parse(s, Path::new("/etc/afk"))
    }

    #[test]
    fn defaults_ship_disabled_with_empty_allowlist() {
        let c = parse("").unwrap();
        assert!(!c.poll.enabled);
        assert!(c.poll.allowlist.is_empty());
        assert_eq!(c.poll.ready_label, "ready-for-agent");
        assert_eq!(c.forge.concurrency, 8);
    }

    #[test]
    fn unknown_key_names_key_table_line_and_suggestion() {
        let e = parse("[forge]\nurl = \"x\"\n\n[poll]\nenabled = true\nalowlist = []\n")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "config: unknown key \"alowlist\" in [poll] at line 6 (did you mean \"allowlist\"?)"
        );
    }

    #[test]
    fn unknown_top_level_table_is_rejected() {
        let e = parse("[polll]\nenabled = true\n").unwrap_err().to_string();
        assert!(
            e.contains("unknown key \"polll\" at the top level at line 1"),
            "{e}"
        );
        assert!(e.contains("did you mean \"poll\""), "{e}");
    }

    #[test]
    fn wrong_type_is_a_config_error_with_line() {
        let e = parse("[poll]\nmax_in_flight = \"four\"\n").unwrap_err();
        assert!(e.is::<ConfigError>());
        assert!(e.to_string().contains("line 2"), "{e}");
    }

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("30m").unwrap(), Duration::from_secs(1800));
        assert_eq!(parse_duration("2h").unwrap(), Duration::from_secs(7200));
        assert_eq!(parse_duration("7d").unwrap(), Duration::from_secs(604800));
        assert_eq!(parse_duration("0s").unwrap(), Duration::ZERO);
        assert!(parse_duration("10").is_err());
        assert!(parse_duration("10w").is_err());
        assert!(parse_duration("abc").is_err());
    }

    #[test]
    fn bad_duration_is_rejected() {
        let e = parse("[runner]\nstall_after = \"soon\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("config: runner.stall_after:"), "{e}");
    }

    #[test]
    fn bad_allowlist_entry_is_rejected() {
        assert!(parse("[poll]\nallowlist = [\"noslash\"]\n").is_err());
        assert!(parse("[poll]\nallowlist = [\"a/b/c\"]\n").is_err());
        assert!(parse("[poll]\nallowlist = [\"acme/api\"]\n").is_ok());
    }

    #[test]
    fn enums_are_checked() {
        assert!(parse("[forge]\nkind = \"gitlab\"\n").is_err());
        assert!(parse("[poll]\ntrusted_permission = \"owner\"\n").is_err());
        assert!(parse("[notify]\nevents = [\"run.exploded\"]\n").is_err());
    }

    #[test]
    fn relative_paths_are_relative_to_the_config_file() {
        let c = parse("state_path = \"data/afk.db\"\n").unwrap();
        assert_eq!(c.state_path(None), PathBuf::from("/etc/afk/data/afk.db"));
        assert_eq!(c.stop_file(None), PathBuf::from("/etc/afk/data/STOP"));
        assert_eq!(c.runs_dir(None), PathBuf::from("/etc/afk/data/runs"));
    }

    #[test]
    fn starter_config_parses() {
        let c = parse(STARTER).unwrap();
        assert!(!c.poll.enabled);
        assert!(c.poll.allowlist.is_empty());
    }

    #[test]
    fn priority_takes_the_highest_label() {
        let c = parse("").unwrap();
        assert_eq!(c.priority_of(["priority/low", "priority/high"]), 3);
        assert_eq!(c.priority_of(["bug"]), 0);
    }
}
