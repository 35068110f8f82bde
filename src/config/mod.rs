//! The TOML schema (SPEC section 2): defaults, validation, secrets, durations.
//!
//! Unknown keys are found by walking the parsed table against the schema below
//! (so the error names the key, its table and its line, with a suggestion);
//! then serde does the typing with `deny_unknown_fields` as a backstop.
//!
//! Everything is typed at load: durations are `Duration`s, kinds are enums,
//! repositories are [`RepoName`]s and paths are absolute (relative ones are
//! resolved against the config file's directory). A bad value is a
//! [`ConfigError`] naming the key and its line; nothing falls back silently.

use anyhow::{Result, bail};
use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use crate::types::{RepoName, is_repo_name};

/// A configuration problem: exit code 2, nothing touched (the model's).
pub use crate::types::ConfigError;

pub(crate) fn cfg_err(msg: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(ConfigError(msg.into()))
}

afk_model::named_enum! {
    /// `forge.kind`.
    ForgeKind { Gitea => "gitea", Forgejo => "forgejo", Github => "github" }
}

/// `runner.kind`: a value the store keeps, so the model's.
pub use crate::types::RunnerKind;

/// `poll.trusted_permission`: the model's rank of a person's access (one
/// permission type), of which the config names three.
pub use crate::types::Access;

/// `poll.trusted_permission`'s words.
const TRUSTED_PERMISSIONS: [(&str, Access); 3] = [
    ("read", Access::Read),
    ("write", Access::Write),
    ("admin", Access::Admin),
];

fn de_trusted_permission<'de, D: Deserializer<'de>>(d: D) -> Result<Access, D::Error> {
    let s = String::deserialize(d)?;
    TRUSTED_PERMISSIONS
        .iter()
        .find(|(w, _)| *w == s)
        .map(|(_, a)| *a)
        .ok_or_else(|| {
            serde::de::Error::custom(format!("\"{s}\" is not one of read, write, admin"))
        })
}

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
    /// issue's body there, never dispatches from it (SPEC 10.1).
    #[serde(deserialize_with = "de_issue_ref")]
    pub status_issue: Option<crate::core::status_issue::IssueRef>,
    /// A tick's own deadline (SPEC 10.1): past it the tick starts nothing
    /// more, then exits 5; at least 10s.
    #[serde(deserialize_with = "de_duration")]
    pub tick_timeout: Duration,
    pub forge: Forge,
    pub poll: Poll,
    pub runner: Runner,
    pub watch: Watch,
    pub budget: Budget,
    pub notify: Notify,
    pub harvest: Harvest,
    pub lessons: Lessons,
    pub upgrade: Upgrade,
    /// Directory of the config file (canonical, absolute); relative paths were
    /// resolved against it at load.
    #[serde(skip)]
    pub base_dir: PathBuf,
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
            harvest: Harvest::default(),
            lessons: Lessons::default(),
            upgrade: Upgrade::default(),
            base_dir: absolute(Path::new(".")),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Forge {
    pub kind: ForgeKind,
    pub url: String,
    pub api_url: String,
    pub token_env: String,
    /// Absolute once loaded; when set it wins over `token_env`.
    #[serde(deserialize_with = "de_path")]
    pub token_file: Option<PathBuf>,
    /// Per request; 1s..=10m.
    #[serde(deserialize_with = "de_duration")]
    pub timeout: Duration,
    pub concurrency: usize,
    pub retries: u32,
    /// GitHub only: authenticate as this GitHub App's installation (0: off).
    pub app_id: u64,
    pub app_installation_id: u64,
    /// The app's PEM private key; absolute once loaded. Read once per tick.
    #[serde(deserialize_with = "de_path")]
    pub app_private_key_file: Option<PathBuf>,
}
impl Default for Forge {
    fn default() -> Self {
        Forge {
            kind: ForgeKind::Gitea,
            url: String::new(),
            api_url: String::new(),
            token_env: "AFK_FORGE_TOKEN".into(),
            token_file: None,
            timeout: Duration::from_secs(30),
            concurrency: 8,
            retries: 3,
            app_id: 0,
            app_installation_id: 0,
            app_private_key_file: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Poll {
    pub enabled: bool,
    pub allowlist: Vec<RepoName>,
    pub ready_label: String,
    pub in_progress_label: String,
    #[serde(deserialize_with = "de_trusted_permission")]
    pub trusted_permission: Access,
    pub trusted_users: Vec<String>,
    pub max_in_flight: usize,
    pub max_per_tick: usize,
    pub template: String,
    pub include_body: bool,
    pub priority: BTreeMap<String, i64>,
    /// How often a poll tick is expected (SPEC 10.1): overdue after twice this.
    #[serde(deserialize_with = "de_duration")]
    pub expect_every: Duration,
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
            trusted_permission: Access::Write,
            trusted_users: vec![],
            max_in_flight: 4,
            max_per_tick: 4,
            template: "implementer".into(),
            include_body: true,
            priority,
            expect_every: Duration::from_secs(5 * 60),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Runner {
    pub kind: RunnerKind,
    pub command: Vec<String>,
    pub resume_command: Vec<String>,
    pub workdir: String,
    /// No progress for this long escalates the run; 1m..=30d.
    #[serde(deserialize_with = "de_duration")]
    pub stall_after: Duration,
    /// The forge account the agent pushes and opens PRs as; empty: unknown.
    pub agent_login: String,
    pub url: String,
    pub token_env: String,
    /// Kind `kubernetes` (SPEC 5.4): one batch/v1 Job per agent turn.
    pub kubernetes: Kubernetes,
}

/// `[runner.kubernetes]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Kubernetes {
    /// Empty: in-cluster (`KUBERNETES_SERVICE_HOST`/`_PORT`).
    pub api_url: String,
    /// Empty: the service account's token file.
    #[serde(deserialize_with = "de_path")]
    pub token_file: Option<PathBuf>,
    /// Empty: the service account's CA.
    #[serde(deserialize_with = "de_path")]
    pub ca_file: Option<PathBuf>,
    /// Empty: the service account's namespace file, else "default".
    pub namespace: String,
    pub image: String,
    pub service_account: String,
    pub env_secret: String,
    pub cpu: String,
    pub memory: String,
    #[serde(deserialize_with = "de_duration")]
    pub active_deadline: Duration,
    #[serde(deserialize_with = "de_duration")]
    pub ttl_after_finished: Duration,
}
impl Default for Kubernetes {
    fn default() -> Self {
        Kubernetes {
            api_url: String::new(),
            token_file: None,
            ca_file: None,
            namespace: String::new(),
            image: String::new(),
            service_account: String::new(),
            env_secret: String::new(),
            cpu: "1".into(),
            memory: "2Gi".into(),
            active_deadline: Duration::from_secs(6 * 3600),
            ttl_after_finished: Duration::from_secs(24 * 3600),
        }
    }
}
impl Default for Runner {
    fn default() -> Self {
        Runner {
            kind: RunnerKind::Command,
            command: vec![
                "sh".into(),
                "-c".into(),
                "claude -p --output-format json --dangerously-skip-permissions ${AFK_BUDGET_USD:+--max-budget-usd \"$AFK_BUDGET_USD\"} < \"$AFK_PROMPT_FILE\"".into(),
            ],
            resume_command: vec![],
            workdir: "{run_dir}/work".into(),
            stall_after: Duration::from_secs(3 * 3600),
            agent_login: String::new(),
            url: String::new(),
            token_env: String::new(),
            kubernetes: Kubernetes::default(),
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
    /// Corrective turns asked for by trusted reviewers or `fix` commands (SPEC 4.1).
    pub review_turns_max: u32,
    /// A trusted comment whose first line starts with it is a command; "" turns commands off.
    pub command_prefix: String,
    /// How afk asks the forge to bring a conflicting PR up to date; `None`: `off`.
    #[serde(deserialize_with = "de_update_branch")]
    pub update_branch: Option<crate::types::UpdateStyle>,
    /// Posted once per head on a first red CI before any corrective turn; "": none.
    pub retest_comment: String,
    /// How often a watch tick is expected (SPEC 10.1): overdue after twice this.
    #[serde(deserialize_with = "de_duration")]
    pub expect_every: Duration,
}
impl Default for Watch {
    fn default() -> Self {
        Watch {
            human_label: "ready-for-human".into(),
            fix_forward_max: 2,
            ci_contexts: vec![],
            deploy_context: String::new(),
            checklist: true,
            review_turns_max: 3,
            command_prefix: "/afk".into(),
            update_branch: Some(crate::types::UpdateStyle::Merge),
            retest_comment: String::new(),
            expect_every: Duration::from_secs(5 * 60),
        }
    }
}

/// `watch.update_branch`: `merge`, `rebase` or `off`.
fn de_update_branch<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<crate::types::UpdateStyle>, D::Error> {
    use crate::types::UpdateStyle;
    match String::deserialize(d)?.as_str() {
        "merge" => Ok(Some(UpdateStyle::Merge)),
        "rebase" => Ok(Some(UpdateStyle::Rebase)),
        "off" => Ok(None),
        other => Err(serde::de::Error::custom(format!(
            "unknown update_branch \"{other}\" (known: merge, rebase, off)"
        ))),
    }
}

/// `[budget]`: spend limits. 0 (or `run_time = ""`) means no limit. Poll
/// enforces the day limits before dispatch, watch `run_usd` and `run_time`
/// during every run (`core::spend`, `core::run_state`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Budget {
    pub run_usd: f64,
    pub day_usd: f64,
    pub repo_day_usd: f64,
    /// Wall-clock limit of one run from dispatch; `None` (`""` or `"0s"`): no limit.
    #[serde(deserialize_with = "de_opt_duration")]
    pub run_time: Option<Duration>,
}

pub const NOTIFY_EVENTS: &[&str] = crate::core::kinds::EventKind::NAMES;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Notify {
    pub slack_webhook_env: String,
    pub webhook_env: String,
    /// Env var holding a URL pinged after every finished tick; empty: none.
    pub heartbeat_env: String,
    /// Per tick kind: the env var holding that tick's URL (overrides heartbeat_env).
    pub heartbeat: HeartbeatEnvs,
    pub events: Vec<String>,
}

/// `[notify.heartbeat]`: one heartbeat variable per tick kind; empty: `heartbeat_env`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HeartbeatEnvs {
    pub poll: String,
    pub watch: String,
    pub harvest: String,
    pub upgrade: String,
}

impl HeartbeatEnvs {
    /// The variable set for one tick kind (`""` when none).
    pub fn for_tick(&self, kind: crate::types::TickKind) -> &str {
        use crate::types::TickKind;
        match kind {
            TickKind::Poll => &self.poll,
            TickKind::Watch => &self.watch,
            TickKind::Harvest => &self.harvest,
            TickKind::Upgrade => &self.upgrade,
        }
    }

    /// Every variable named here.
    pub fn all(&self) -> [&String; 4] {
        [&self.poll, &self.watch, &self.harvest, &self.upgrade]
    }
}
impl Default for Notify {
    fn default() -> Self {
        Notify {
            slack_webhook_env: String::new(),
            webhook_env: String::new(),
            heartbeat_env: String::new(),
            heartbeat: HeartbeatEnvs::default(),
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
    pub graduate_at_max: f64,
    pub early_failures: u32,
    /// A success whose merge is reverted within this window becomes a failure;
    /// zero: off. 0..=365d.
    #[serde(deserialize_with = "de_duration")]
    pub revert_window: Duration,
    /// How often a harvest tick is expected (SPEC 10.1): overdue after twice this.
    #[serde(deserialize_with = "de_duration")]
    pub expect_every: Duration,
}

impl Harvest {
    /// The canary decision's `[harvest]` keys (`core::canary::Policy`):
    /// harvest applies it, status and `template show` show its next checkpoint.
    pub fn policy(&self) -> crate::core::canary::Policy {
        crate::core::canary::Policy {
            min_samples: self.min_samples,
            check_every: self.check_every,
            max_samples: self.max_samples,
            confidence: self.confidence,
            graduate_at_max: self.graduate_at_max,
            early_failures: self.early_failures,
        }
    }
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
            graduate_at_max: 0.5,
            early_failures: 5,
            revert_window: Duration::from_secs(7 * DAY),
            expect_every: Duration::from_secs(15 * 60),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Lessons {
    pub enabled: bool,
    /// Zero disables deduplication. 0..=365d.
    #[serde(deserialize_with = "de_duration")]
    pub dedup_window: Duration,
    pub in_prompt: usize,
    /// `afk lessons list` without `--limit` shows at most this many. 1..=10000.
    pub list_limit: usize,
}
impl Default for Lessons {
    fn default() -> Self {
        Lessons {
            enabled: true,
            dedup_window: Duration::from_secs(3600),
            in_prompt: 5,
            list_limit: 100,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Upgrade {
    pub recipes: Vec<String>,
    pub upstream: String,
    pub mirror: String,
    /// Absolute once loaded; `None`: "recipes" beside the state file
    /// (see [`Config::upgrade_work_dir`]).
    #[serde(deserialize_with = "de_path")]
    pub work_dir: Option<PathBuf>,
    pub testme_comment: String,
    pub ci_context: String,
    pub max_test_runs: u32,
    pub allow_major: bool,
    pub max_open_prs: u32,
    /// The variable holding `user:token`; set exactly when `registry_auth_host` is.
    pub registry_auth_env: String,
    /// The one registry host (`host[:port]`) the secret of `registry_auth_env`
    /// is sent to (see `core::registry_auth`).
    pub registry_auth_host: String,
    /// Tags read per image at most; more skips the recipe.
    pub max_tags: usize,
    pub template: String,
    /// Registry host -> http(s) base URL to ask instead.
    pub registry_mirrors: BTreeMap<String, String>,
    /// How often the registries are asked for new tags (SPEC 8 cadence).
    #[serde(deserialize_with = "de_duration")]
    pub scan_every: Duration,
    /// A test run with no verdict this long after its test comment ends STUCK.
    #[serde(deserialize_with = "de_duration")]
    pub verdict_timeout: Duration,
    /// At most one PR across all recipes with a test run or fixer in flight.
    pub serial_tests: bool,
    /// `owner/repo` of the recipe test suite, for `--with-tests` (SPEC 8.7);
    /// `""` is `None`.
    #[serde(deserialize_with = "de_repo")]
    pub tests_repo: Option<RepoName>,
    /// One PR per recipe (the default) or per image (SPEC 8 step 3).
    pub group_by: GroupBy,
    /// A tag whose image was created more recently than this is not a
    /// candidate yet; zero: off (SPEC 8 step 3, release age).
    #[serde(deserialize_with = "de_duration")]
    pub min_release_age: Duration,
    /// How often an upgrade tick is expected (SPEC 10.1): overdue after twice this.
    #[serde(deserialize_with = "de_duration")]
    pub expect_every: Duration,
}

/// `upgrade.group_by`: what one upgrade PR carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GroupBy {
    /// every bump a scan found for a recipe, one version-label bump
    #[default]
    Recipe,
    /// one image's bump
    Image,
}

impl Default for Upgrade {
    fn default() -> Self {
        Upgrade {
            recipes: vec![],
            upstream: "https://git.coopcloud.tech/coop-cloud/{recipe}.git".into(),
            mirror: "recipe-maintainers/{recipe}".into(),
            work_dir: None,
            testme_comment: "!testme".into(),
            ci_context: "cc-ci/testme".into(),
            max_test_runs: 3,
            allow_major: false,
            max_open_prs: 10,
            registry_auth_env: String::new(),
            registry_auth_host: String::new(),
            max_tags: 10_000,
            template: "upgrader".into(),
            registry_mirrors: BTreeMap::new(),
            scan_every: Duration::from_secs(7 * 86400),
            verdict_timeout: Duration::from_secs(24 * 3600),
            serial_tests: true,
            tests_repo: None,
            group_by: GroupBy::Recipe,
            min_release_age: Duration::ZERO,
            expect_every: Duration::from_secs(15 * 60),
        }
    }
}

/// Every key the schema knows, per table ("" is the top level).
/// `poll.priority` and `upgrade.registry_mirrors` are free maps and are not
/// checked key by key.
const SCHEMA: &[(&str, &[&str])] = &[
    (
        "",
        &[
            "state_path",
            "runs_dir",
            "stop_file",
            "metrics_file",
            "status_page",
            "status_issue",
            "tick_timeout",
            "forge",
            "poll",
            "runner",
            "watch",
            "budget",
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
            "app_id",
            "app_installation_id",
            "app_private_key_file",
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
            "expect_every",
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
            "agent_login",
            "url",
            "token_env",
            "kubernetes",
        ],
    ),
    (
        "runner.kubernetes",
        &[
            "api_url",
            "token_file",
            "ca_file",
            "namespace",
            "image",
            "service_account",
            "env_secret",
            "cpu",
            "memory",
            "active_deadline",
            "ttl_after_finished",
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
            "review_turns_max",
            "command_prefix",
            "update_branch",
            "retest_comment",
            "expect_every",
        ],
    ),
    (
        "budget",
        &["run_usd", "day_usd", "repo_day_usd", "run_time"],
    ),
    (
        "notify",
        &[
            "slack_webhook_env",
            "webhook_env",
            "heartbeat_env",
            "heartbeat",
            "events",
        ],
    ),
    ("notify.heartbeat", &["poll", "watch", "harvest", "upgrade"]),
    (
        "harvest",
        &[
            "canary",
            "sample",
            "min_samples",
            "check_every",
            "max_samples",
            "confidence",
            "graduate_at_max",
            "early_failures",
            "revert_window",
            "expect_every",
        ],
    ),
    (
        "lessons",
        &["enabled", "dedup_window", "in_prompt", "list_limit"],
    ),
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
            "registry_auth_host",
            "max_tags",
            "template",
            "registry_mirrors",
            "scan_every",
            "verdict_timeout",
            "serial_tests",
            "tests_repo",
            "group_by",
            "min_release_age",
            "expect_every",
        ],
    ),
];

/// The largest `upgrade.max_tags`: a tag list is held in memory (at most
/// 128 bytes a tag are kept), so the bound itself is bounded.
const MAX_TAGS: usize = 100_000;

/// A serde message in the words of the config file, not Rust's: `invalid
/// type: string "many", expected usize` reads `... expected a whole number`.
fn humane(message: &str) -> String {
    const WORDS: &[(&str, &str)] = &[
        ("expected usize", "expected a whole number"),
        ("expected u64", "expected a whole number"),
        ("expected u32", "expected a whole number"),
        ("expected u16", "expected a whole number"),
        ("expected u8", "expected a whole number"),
        ("expected i64", "expected a whole number"),
        ("expected i32", "expected a whole number"),
        ("expected f64", "expected a number"),
        ("expected f32", "expected a number"),
        ("expected a boolean", "expected true or false"),
        ("expected a sequence", "expected a list"),
        ("expected a map", "expected a table"),
        ("invalid type: sequence", "invalid type: list"),
        ("invalid type: map", "invalid type: table"),
        ("invalid type: boolean", "invalid type: true/false"),
        ("invalid type: floating point", "invalid type: number"),
        ("invalid type: integer", "invalid type: number"),
    ];
    let mut m = message.to_string();
    for (rust, words) in WORDS {
        m = m.replace(rust, words);
    }
    // `expected struct HeartbeatEnvs` and the like: a table
    if let Some(i) = m.find("expected struct ") {
        m.replace_range(i.., "expected a table");
    }
    // "invalid value: integer `-1`, expected a whole number"
    m
}

const MINUTE: u64 = 60;
const HOUR: u64 = 3600;
const DAY: u64 = 86400;

/// Parse a duration string: `"90s"`, `"30m"`, `"2h"`, `"7d"` (also `"500ms"`).
/// A number too large for a `Duration` in seconds is an error, never wrapped.
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
    if num.is_empty() {
        return Err(format!(
            "\"{s}\" is not a duration (e.g. \"90s\", \"30m\", \"2h\", \"7d\")"
        ));
    }
    let too_large = || format!("\"{s}\" is too large");
    let n: u64 = num.parse().map_err(|_| too_large())?;
    let per = match unit {
        "ms" => return Ok(Duration::from_millis(n)),
        "s" => 1,
        "m" => MINUTE,
        "h" => HOUR,
        "d" => DAY,
        _ => {
            return Err(format!(
                "\"{s}\" has an unknown unit \"{unit}\" (use s, m, h or d)"
            ));
        }
    };
    n.checked_mul(per)
        .map(Duration::from_secs)
        .ok_or_else(too_large)
}

pub use crate::types::format_duration;

fn de_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let s = String::deserialize(d)?;
    parse_duration(&s).map_err(serde::de::Error::custom)
}

/// `""` and `"0s"` are `None` (no limit).
fn de_opt_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    let s = String::deserialize(d)?;
    if s.trim().is_empty() {
        return Ok(None);
    }
    let v = parse_duration(&s).map_err(serde::de::Error::custom)?;
    Ok(Some(v).filter(|v| !v.is_zero()))
}

/// `""` is `None`; anything else must be `owner/repo`, parsed here once.
fn de_repo<'de, D: Deserializer<'de>>(d: D) -> Result<Option<RepoName>, D::Error> {
    let s = String::deserialize(d)?;
    if s.is_empty() {
        return Ok(None);
    }
    RepoName::parse(&s)
        .map(Some)
        .map_err(|_| serde::de::Error::custom(format!("\"{s}\" is not owner/repo")))
}

/// `""` is `None`; anything else must be `owner/repo#N`, parsed here once.
fn de_issue_ref<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<crate::core::status_issue::IssueRef>, D::Error> {
    let s = String::deserialize(d)?;
    if s.trim().is_empty() {
        return Ok(None);
    }
    crate::core::status_issue::IssueRef::parse(&s)
        .map(Some)
        .map_err(serde::de::Error::custom)
}

/// `""` is `None`; relative paths are resolved later, in [`Config::parse`].
fn de_path<'de, D: Deserializer<'de>>(d: D) -> Result<Option<PathBuf>, D::Error> {
    let s = String::deserialize(d)?;
    Ok(Some(PathBuf::from(s)).filter(|p| !p.as_os_str().is_empty()))
}

/// `p` made absolute against the current directory (without touching the disk).
fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
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
        .filter(|(d, k)| *d <= 2.max(k.len() / 3) || (key.len() >= 4 && k.starts_with(key)))
        .min()
        .map(|(_, k)| k)
}

/// The table named by a `[table]` header line.
fn header_name(line: &str) -> String {
    line.trim_start_matches('[')
        .split(']')
        .next()
        .unwrap_or("")
        .trim()
        .to_string()
}

/// The key assigned on `line` (`key = ...`), if the line is an assignment.
fn assigned_key(line: &str) -> Option<&str> {
    let (lhs, _) = line.split_once('=')?;
    let lhs = lhs.trim();
    for q in ['"', '\''] {
        if let Some(inner) = lhs.strip_prefix(q).and_then(|l| l.strip_suffix(q)) {
            return (!inner.contains(q)).then_some(inner);
        }
    }
    let bare = !lhs.is_empty()
        && lhs
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ' '));
    bare.then_some(lhs)
}

/// The 1-based line where `key` is assigned inside `[table]` (or at top level).
fn find_key_line(text: &str, table: &str, key: &str) -> Option<usize> {
    let mut current = String::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.starts_with('[') {
            current = header_name(line);
            if current == table.to_string() + "." + key || (table.is_empty() && current == key) {
                return Some(i + 1);
            }
            continue;
        }
        if current == table && assigned_key(line) == Some(key) {
            return Some(i + 1);
        }
    }
    None
}

/// The dotted key (`runner.stall_after`) whose value covers byte `offset`:
/// the last key assigned at or before that line, in its table.
fn key_at_offset(text: &str, offset: usize) -> Option<String> {
    let mut table = String::new();
    let mut key: Option<String> = None;
    let mut start = 0;
    for raw in text.split_inclusive('\n') {
        if start > offset {
            break;
        }
        start += raw.len();
        let line = raw.trim();
        if line.starts_with('[') {
            table = header_name(line);
            key = None;
        } else if let Some(k) = assigned_key(line) {
            key = Some(k.to_string());
        }
    }
    let key = key?;
    Some(if table.is_empty() {
        key
    } else {
        format!("{table}.{key}")
    })
}

fn check_unknown_keys(text: &str, value: &toml::Table) -> Result<()> {
    for (table, known) in SCHEMA {
        // a dotted name (`notify.heartbeat`) is a table inside a table
        let t = table
            .split('.')
            .filter(|p| !p.is_empty())
            .try_fold(value, |t, part| t.get(part).and_then(|v| v.as_table()));
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

/// Builds "config: table.key at line N: problem" errors for one config text.
struct Checker<'a> {
    text: &'a str,
}

impl Checker<'_> {
    fn err(&self, table: &str, key: &str, problem: impl fmt::Display) -> anyhow::Error {
        let line = find_key_line(self.text, table, key)
            .map(|l| format!(" at line {l}"))
            .unwrap_or_default();
        let name = if table.is_empty() {
            key.to_string()
        } else {
            format!("{table}.{key}")
        };
        cfg_err(format!("config: {name}{line}: {problem}"))
    }

    /// `lo <= v <= hi` for a duration.
    fn duration(
        &self,
        table: &str,
        key: &str,
        v: Duration,
        lo: Duration,
        hi: Duration,
    ) -> Result<()> {
        if v < lo || v > hi {
            return Err(self.err(
                table,
                key,
                format!(
                    "\"{}\" is out of range (from \"{}\" to \"{}\")",
                    format_duration(v),
                    format_duration(lo),
                    format_duration(hi)
                ),
            ));
        }
        Ok(())
    }

    /// `ok(v)` for a number, else "`v` must be `rule`".
    fn number<T: PartialOrd + fmt::Display + Copy>(
        &self,
        table: &str,
        key: &str,
        v: T,
        ok: impl Fn(T) -> bool,
        rule: &str,
    ) -> Result<()> {
        if ok(v) {
            Ok(())
        } else {
            Err(self.err(table, key, format!("{v} must be {rule}")))
        }
    }
}

impl Config {
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
        let mut cfg: Config = toml::from_str(text).map_err(|e| serde_err(e.message(), e.span()))?;
        cfg.base_dir = std::fs::canonicalize(base_dir).unwrap_or_else(|_| absolute(base_dir));
        cfg.validate(text)?;
        cfg.validate_app(text, &table)?;
        cfg.resolve_paths();
        Ok(cfg)
    }

    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            let fix = if e.kind() == std::io::ErrorKind::NotFound {
                "pass --config PATH or run `afk init`"
            } else {
                "fix its permissions (it must be a file afk's user can read) or pass --config PATH"
            };
            cfg_err(format!(
                "config: cannot read {}: {e} ({fix})",
                path.display()
            ))
        })?;
        let base = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        Config::parse(&text, base).map_err(|e| {
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

    fn resolve_paths(&mut self) {
        let base = self.base_dir.clone();
        let resolve = |p: &mut Option<PathBuf>| {
            if let Some(p) = p.as_mut().filter(|p| !p.is_absolute()) {
                *p = absolute(&base.join(&*p));
            }
        };
        resolve(&mut self.state_path);
        resolve(&mut self.runs_dir);
        resolve(&mut self.stop_file);
        resolve(&mut self.metrics_file);
        resolve(&mut self.status_page);
        resolve(&mut self.forge.token_file);
        resolve(&mut self.forge.app_private_key_file);
        resolve(&mut self.upgrade.work_dir);
        resolve(&mut self.runner.kubernetes.token_file);
        resolve(&mut self.runner.kubernetes.ca_file);
    }

    /// `[runner.kubernetes]`: checked whatever the kind, so a typo waits for no switch.
    fn validate_kubernetes(&self, c: &Checker) -> Result<()> {
        let k = &self.runner.kubernetes;
        let t = "runner.kubernetes";
        if self.runner.kind == RunnerKind::Kubernetes && k.image.trim().is_empty() {
            return Err(c.err(
                t,
                "image",
                "kind \"kubernetes\" needs the agent's container image",
            ));
        }
        if !k.api_url.is_empty()
            && let Err(why) = crate::core::kubernetes::api_url_allowed(&k.api_url)
        {
            return Err(c.err(t, "api_url", why));
        }
        for (key, v) in [
            ("namespace", &k.namespace),
            ("service_account", &k.service_account),
            ("env_secret", &k.env_secret),
        ] {
            if !v.is_empty() && !crate::core::kubernetes::is_dns_subdomain(v) {
                return Err(c.err(
                    t,
                    key,
                    format!("\"{v}\" is not a valid Kubernetes name (a-z 0-9 - ., at most 253)"),
                ));
            }
        }
        for (key, v) in [("cpu", &k.cpu), ("memory", &k.memory)] {
            if !crate::core::kubernetes::is_quantity(v) {
                return Err(c.err(
                    t,
                    key,
                    format!("\"{v}\" is not a Kubernetes quantity (e.g. \"500m\", \"2Gi\")"),
                ));
            }
        }
        let secs = Duration::from_secs;
        c.duration(
            t,
            "active_deadline",
            k.active_deadline,
            secs(MINUTE),
            secs(30 * DAY),
        )?;
        c.duration(
            t,
            "ttl_after_finished",
            k.ttl_after_finished,
            secs(MINUTE),
            secs(365 * DAY),
        )?;
        Ok(())
    }

    /// GitHub App keys (SPEC 2): `app_id` only on GitHub, never beside a
    /// token, and never without its installation and private key.
    fn validate_app(&self, text: &str, table: &toml::Table) -> Result<()> {
        let c = Checker { text };
        let f = &self.forge;
        let given = |k: &str| {
            table
                .get("forge")
                .and_then(|t| t.get(k))
                .is_some_and(|v| v.as_str() != Some(""))
        };
        if f.app_id == 0 {
            for k in ["app_installation_id", "app_private_key_file"] {
                if given(k) && (k != "app_installation_id" || f.app_installation_id != 0) {
                    return Err(c.err("forge", k, "needs forge.app_id (the GitHub App's id)"));
                }
            }
            return Ok(());
        }
        if f.kind != ForgeKind::Github {
            return Err(c.err(
                "forge",
                "app_id",
                "GitHub App authentication needs forge.kind = \"github\"",
            ));
        }
        for k in ["token_env", "token_file"] {
            if given(k) {
                return Err(c.err(
                    "forge",
                    k,
                    "cannot be set with forge.app_id: afk authenticates as the app's installation (remove one)",
                ));
            }
        }
        if f.app_installation_id == 0 {
            return Err(c.err(
                "forge",
                "app_id",
                "needs forge.app_installation_id (the installation's id, from the app's installation URL)",
            ));
        }
        if f.app_private_key_file.is_none() {
            return Err(c.err(
                "forge",
                "app_id",
                "needs forge.app_private_key_file (the app's PEM private key, mode 600)",
            ));
        }
        Ok(())
    }

    /// Whether afk authenticates as a GitHub App installation.
    pub fn github_app(&self) -> bool {
        self.forge.app_id != 0
    }

    /// Every URL the config holds, and each one a variable it names holds:
    /// no user info (`core::secrets::has_user_info`). The error names the key
    /// and never shows the URL (the user info may be a password).
    fn validate_urls(&self, c: &Checker) -> Result<()> {
        let (f, r, u, n) = (&self.forge, &self.runner, &self.upgrade, &self.notify);
        let mut urls: Vec<(&str, String, &str)> = vec![
            ("forge", "url".into(), f.url.as_str()),
            ("forge", "api_url".into(), f.api_url.as_str()),
            ("runner", "url".into(), r.url.as_str()),
            (
                "runner.kubernetes",
                "api_url".into(),
                r.kubernetes.api_url.as_str(),
            ),
            ("upgrade", "upstream".into(), u.upstream.as_str()),
        ];
        for (host, url) in &u.registry_mirrors {
            urls.push(("upgrade.registry_mirrors", host.clone(), url.as_str()));
        }
        for (table, key, url) in urls {
            // a git upstream over ssh (`ssh://git@host/…`) names its user there
            let http = url.get(..4).is_some_and(|h| h.eq_ignore_ascii_case("http"));
            if (http || table != "upgrade") && crate::core::secrets::has_user_info(url) {
                return Err(c.err(table, &key, USER_INFO));
            }
        }
        let h = &n.heartbeat;
        let named = [
            ("notify", "slack_webhook_env", &n.slack_webhook_env),
            ("notify", "webhook_env", &n.webhook_env),
            ("notify", "heartbeat_env", &n.heartbeat_env),
            ("notify.heartbeat", "poll", &h.poll),
            ("notify.heartbeat", "watch", &h.watch),
            ("notify.heartbeat", "harvest", &h.harvest),
            ("notify.heartbeat", "upgrade", &h.upgrade),
        ];
        for (table, key, var) in named {
            if !var.is_empty()
                && std::env::var(var).is_ok_and(|url| crate::core::secrets::has_user_info(&url))
            {
                return Err(c.err(table, key, format!("the URL in ${var}: {USER_INFO}")));
            }
        }
        Ok(())
    }

    fn validate(&self, text: &str) -> Result<()> {
        let c = Checker { text };
        let secs = Duration::from_secs;
        self.validate_urls(&c)?;

        if let Some(page) = &self.status_page
            && (Some(page) == self.metrics_file.as_ref() || Some(page) == self.state_path.as_ref())
        {
            return Err(cfg_err(format!(
                "config: status_page {} is also the state file or metrics_file; give the page a file of its own",
                page.display()
            )));
        }

        c.duration(
            "",
            "tick_timeout",
            self.tick_timeout,
            secs(10),
            secs(24 * 60 * MINUTE),
        )?;
        let f = &self.forge;
        c.duration("forge", "timeout", f.timeout, secs(1), secs(10 * MINUTE))?;
        c.number(
            "forge",
            "concurrency",
            f.concurrency,
            |v| (1..=64).contains(&v),
            "between 1 and 64",
        )?;
        c.number(
            "forge",
            "retries",
            f.retries,
            |v| v <= 10,
            "between 0 and 10",
        )?;

        for (key, url) in [("url", &f.url), ("api_url", &f.api_url)] {
            if !url.is_empty() && !is_http_url(url) {
                let example = format!("https://{}", url.trim_start_matches("//"));
                return Err(c.err(
                    "forge",
                    key,
                    format!("\"{url}\" is not an http(s) URL (e.g. \"{example}\")"),
                ));
            }
        }
        if !self.runner.url.is_empty() && !is_http_url(&self.runner.url) {
            let url = &self.runner.url;
            return Err(c.err("runner", "url", format!("\"{url}\" is not an http(s) URL")));
        }

        for entry in &self.poll.trusted_users {
            if entry.trim().is_empty() {
                return Err(c.err("poll", "trusted_users", "an entry is empty"));
            }
        }
        if self.poll.ready_label.is_empty() {
            return Err(c.err("poll", "ready_label", "must not be empty"));
        }
        if self.poll.in_progress_label.is_empty() {
            return Err(c.err("poll", "in_progress_label", "must not be empty"));
        }
        if f.kind == ForgeKind::Github
            && self.watch.update_branch == Some(crate::types::UpdateStyle::Rebase)
        {
            return Err(c.err(
                "watch",
                "update_branch",
                "\"rebase\" is not something GitHub can do (its branch update merges the base in): use \"merge\" or \"off\"",
            ));
        }
        c.number(
            "watch",
            "review_turns_max",
            self.watch.review_turns_max,
            |v| v <= 100,
            "between 0 and 100",
        )?;
        if self.watch.command_prefix.trim() != self.watch.command_prefix
            || self.watch.command_prefix.contains(char::is_whitespace)
        {
            return Err(c.err(
                "watch",
                "command_prefix",
                "must be one word without spaces (e.g. \"/afk\"), or \"\" to turn commands off",
            ));
        }
        if self.poll.ready_label == self.poll.in_progress_label {
            return Err(c.err(
                "poll",
                "in_progress_label",
                "must differ from poll.ready_label",
            ));
        }

        // SPEC 10.1: how often each tick kind is expected, from a minute to a week
        for (table, every) in [
            ("poll", self.poll.expect_every),
            ("watch", self.watch.expect_every),
            ("harvest", self.harvest.expect_every),
            ("upgrade", self.upgrade.expect_every),
        ] {
            c.duration(table, "expect_every", every, secs(MINUTE), secs(7 * DAY))?;
        }

        let r = &self.runner;
        c.duration(
            "runner",
            "stall_after",
            r.stall_after,
            secs(MINUTE),
            secs(30 * DAY),
        )?;
        if r.kind == RunnerKind::Command && r.command.is_empty() {
            return Err(c.err("runner", "command", "must not be empty"));
        }
        for (key, command) in [
            ("command", &r.command),
            ("resume_command", &r.resume_command),
        ] {
            if let Some((p, var)) = crate::core::placeholders::placeholder_in_shell_script(command)
            {
                return Err(c.err(
                    "runner",
                    key,
                    format!(
                        "{p} inside a shell script would become shell code; use \"${var}\" there (placeholders stand only as arguments of their own)"
                    ),
                ));
            }
        }
        if r.kind == RunnerKind::Http && r.url.is_empty() {
            return Err(c.err("runner", "kind", "\"http\" needs runner.url"));
        }
        self.validate_kubernetes(&c)?;

        let b = &self.budget;
        for (key, v) in [
            ("run_usd", b.run_usd),
            ("day_usd", b.day_usd),
            ("repo_day_usd", b.repo_day_usd),
        ] {
            c.number(
                "budget",
                key,
                v,
                |v| v.is_finite() && v >= 0.0,
                "a number of at least 0",
            )?;
        }
        if let Some(t) = b.run_time {
            c.duration("budget", "run_time", t, secs(1), secs(30 * DAY))?;
        }

        for ev in &self.notify.events {
            if !NOTIFY_EVENTS.contains(&ev.as_str()) {
                return Err(c.err(
                    "notify",
                    "events",
                    format!(
                        "unknown event \"{ev}\" (known: {})",
                        NOTIFY_EVENTS.join(", ")
                    ),
                ));
            }
        }

        let h = &self.harvest;
        c.number(
            "harvest",
            "sample",
            h.sample,
            |v| (0.0..=1.0).contains(&v),
            "between 0 and 1",
        )?;
        c.number(
            "harvest",
            "confidence",
            h.confidence,
            |v| v > 0.5 && v < 1.0,
            "above 0.5 and below 1",
        )?;
        c.number(
            "harvest",
            "graduate_at_max",
            h.graduate_at_max,
            |v| (0.0..1.0).contains(&v),
            "at least 0 and below 1",
        )?;
        c.number(
            "harvest",
            "min_samples",
            h.min_samples,
            |v| v >= 1,
            "at least 1",
        )?;
        c.number(
            "harvest",
            "check_every",
            h.check_every,
            |v| v >= 1,
            "at least 1",
        )?;
        let min = h.min_samples;
        c.number(
            "harvest",
            "max_samples",
            h.max_samples,
            |v| v >= min,
            &format!("at least harvest.min_samples ({min})"),
        )?;
        c.duration(
            "harvest",
            "revert_window",
            h.revert_window,
            Duration::ZERO,
            secs(365 * DAY),
        )?;

        c.duration(
            "lessons",
            "dedup_window",
            self.lessons.dedup_window,
            Duration::ZERO,
            secs(365 * DAY),
        )?;
        c.number(
            "lessons",
            "list_limit",
            self.lessons.list_limit,
            |v| (1..=10_000).contains(&v),
            "between 1 and 10000",
        )?;

        let u = &self.upgrade;
        c.number(
            "upgrade",
            "max_test_runs",
            u.max_test_runs,
            |v| v >= 1,
            "at least 1",
        )?;
        c.number(
            "upgrade",
            "max_tags",
            u.max_tags,
            |v| (1..=MAX_TAGS).contains(&v),
            &format!("between 1 and {MAX_TAGS}"),
        )?;
        match (u.registry_auth_env.is_empty(), u.registry_auth_host.trim()) {
            (false, "") => {
                return Err(c.err(
                    "upgrade",
                    "registry_auth_env",
                    "needs upgrade.registry_auth_host: the one registry host this secret is sent to",
                ));
            }
            (true, h) if !h.is_empty() => {
                return Err(c.err(
                    "upgrade",
                    "registry_auth_host",
                    "needs upgrade.registry_auth_env: the variable holding that host's user:token",
                ));
            }
            (_, h) if !h.is_empty() && !crate::core::registry_auth::is_registry_host(h) => {
                return Err(c.err(
                    "upgrade",
                    "registry_auth_host",
                    format!(
                        "\"{h}\" is not a registry host: write host or host:port, as in an image name (\"registry.example.org\"), without a scheme or path"
                    ),
                ));
            }
            _ => {}
        }
        if u.testme_comment.trim().is_empty() {
            return Err(c.err(
                "upgrade",
                "testme_comment",
                "must not be empty (the comment that asks CI to test a PR)",
            ));
        }
        c.duration(
            "upgrade",
            "scan_every",
            u.scan_every,
            Duration::ZERO,
            secs(365 * DAY),
        )?;
        c.duration(
            "upgrade",
            "min_release_age",
            u.min_release_age,
            Duration::ZERO,
            secs(365 * DAY),
        )?;
        c.duration(
            "upgrade",
            "verdict_timeout",
            u.verdict_timeout,
            secs(MINUTE),
            secs(365 * DAY),
        )?;
        for (host, url) in &u.registry_mirrors {
            let table = "upgrade.registry_mirrors";
            if host.is_empty() || host.contains(['/', ' ']) {
                return Err(c.err(table, host, format!("\"{host}\" is not a registry host")));
            }
            if !is_http_url(url) {
                return Err(c.err(table, host, format!("\"{url}\" is not an http(s) URL")));
            }
        }
        Ok(())
    }

    /// The state file: `--state` (relative to the current directory), else
    /// `state_path`, else `$XDG_STATE_HOME/afk/afk.db`. Always absolute.
    pub fn state_path(&self, flag: Option<&Path>) -> PathBuf {
        if let Some(p) = flag {
            return absolute(p);
        }
        if let Some(p) = &self.state_path {
            return p.clone();
        }
        let base = std::env::var_os("XDG_STATE_HOME")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
            .unwrap_or_else(|| PathBuf::from("."));
        absolute(&base.join("afk").join("afk.db"))
    }

    /// The directory holding the state file. Always absolute.
    pub fn state_dir(&self, flag: Option<&Path>) -> PathBuf {
        let p = self.state_path(flag);
        match p.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => absolute(Path::new(".")),
        }
    }

    /// One folder per run: `runs_dir`, else "runs" beside the state file.
    pub fn runs_dir(&self, flag: Option<&Path>) -> PathBuf {
        match &self.runs_dir {
            Some(p) => p.clone(),
            None => self.state_dir(flag).join("runs"),
        }
    }

    /// `stop_file`, else "STOP" beside the state file.
    pub fn stop_file(&self, flag: Option<&Path>) -> PathBuf {
        match &self.stop_file {
            Some(p) => p.clone(),
            None => self.state_dir(flag).join("STOP"),
        }
    }

    /// The Prometheus textfile to rewrite after every tick, if configured.
    pub fn metrics_file(&self) -> Option<&Path> {
        self.metrics_file.as_deref()
    }

    /// The status page to rewrite after every tick, if configured.
    pub fn status_page(&self) -> Option<&Path> {
        self.status_page.as_deref()
    }

    /// The issue whose body afk keeps as the status page's Markdown twin.
    pub fn status_issue(&self) -> Option<&crate::core::status_issue::IssueRef> {
        self.status_issue.as_ref()
    }

    /// Where recipe clones live: `upgrade.work_dir`, else "recipes" beside the state file.
    pub fn upgrade_work_dir(&self, flag: Option<&Path>) -> PathBuf {
        match &self.upgrade.work_dir {
            Some(p) => p.clone(),
            None => self.state_dir(flag).join("recipes"),
        }
    }

    pub fn forge_timeout(&self) -> Duration {
        self.forge.timeout
    }

    /// How often a tick of `kind` is expected (`expect_every` under its
    /// table, SPEC 10.1): its health is `overdue` after twice this.
    pub fn expect_every(&self, kind: crate::types::TickKind) -> Duration {
        use crate::types::TickKind;
        match kind {
            TickKind::Poll => self.poll.expect_every,
            TickKind::Watch => self.watch.expect_every,
            TickKind::Harvest => self.harvest.expect_every,
            TickKind::Upgrade => self.upgrade.expect_every,
        }
    }

    pub fn stall_after(&self) -> Duration {
        self.runner.stall_after
    }

    /// The API root: `api_url`, else `{url}/api/v1` (gitea/forgejo) or api.github.com.
    pub fn api_root(&self) -> Result<String> {
        if !self.forge.api_url.is_empty() {
            return Ok(self.forge.api_url.trim_end_matches('/').to_string());
        }
        if self.forge.kind == ForgeKind::Github {
            return Ok("https://api.github.com".into());
        }
        if self.forge.url.is_empty() {
            bail!(cfg_err("config: forge.url is required"));
        }
        Ok(format!("{}/api/v1", self.forge.url.trim_end_matches('/')))
    }

    /// The forge token, from `token_file` or `token_env`. The value is never printed.
    pub fn forge_token(&self) -> Result<String> {
        if let Some(p) = &self.forge.token_file {
            return Ok(read_secret_file(p, "forge.token_file")?.trim().to_string());
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
            &self.notify.heartbeat_env,
            &self.upgrade.registry_auth_env,
        ]
        .into_iter()
        .chain(self.notify.heartbeat.all())
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

/// A secret from a file the config names under `key`. Like ssh with a key
/// file, a file that group or others may read is refused: the secret may
/// already have leaked, and the fix (`chmod 600`) is the operator's. An
/// empty (or blank) file is refused too, naming the file, never its content.
pub fn read_secret_file(path: &Path, key: &str) -> Result<String> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).map_err(|e| {
        cfg_err(format!(
            "config: {key} {}: cannot read: {e}",
            path.display()
        ))
    })?;
    if meta.is_dir() {
        bail!(cfg_err(format!(
            "config: {key} {} is a directory: give the path of the file that holds the secret",
            path.display()
        )));
    }
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        bail!(cfg_err(format!(
            "config: {key} {} is readable by group or others (mode {mode:03o}): run chmod 600 {}",
            path.display(),
            path.display()
        )));
    }
    let text = std::fs::read_to_string(path).map_err(|e| {
        cfg_err(format!(
            "config: {key} {}: cannot read: {e}",
            path.display()
        ))
    })?;
    // an empty file would be sent as no secret, refused much later as a 401
    if text.trim().is_empty() {
        bail!(cfg_err(format!(
            "config: {key} {} is empty: write the secret into it (or point {key} at the file that has it)",
            path.display()
        )));
    }
    Ok(text)
}

/// Why a URL with user info is refused (`Config::validate_urls`).
const USER_INFO: &str = "the URL has user info (a name or password before an `@` in its host part); afk refuses it, as a secret there would be sent in clear text and shown wherever the URL is: give the URL without it (the token goes in its own setting)";

/// `http://host...` or `https://host...` with a non-empty host and no whitespace.
fn is_http_url(s: &str) -> bool {
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"));
    rest.is_some_and(|r| {
        let host = r.split(['/', '?', '#']).next().unwrap_or("");
        !host.is_empty() && !s.contains(char::is_whitespace)
    })
}

/// Where the config file is looked for when `--config` is not given, in
/// order: `$AFK_CONFIG` (an empty value counts as unset, as XDG's variables
/// do), `./afk.toml`, `$XDG_CONFIG_HOME/afk/config.toml` (`~/.config/...`).
pub fn default_config_path() -> PathBuf {
    if let Some(p) = std::env::var_os("AFK_CONFIG").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    let local = PathBuf::from("afk.toml");
    if local.exists() {
        return local;
    }
    user_config_path()
}

fn user_config_path() -> PathBuf {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("afk").join("config.toml")
}

/// The error for a config that was searched for and not found: where afk looked.
pub fn not_found(path: &Path) -> anyhow::Error {
    let afk_config = match std::env::var_os("AFK_CONFIG") {
        Some(v) if !v.is_empty() => format!("$AFK_CONFIG ({})", PathBuf::from(v).display()),
        Some(_) => "$AFK_CONFIG (empty: ignored)".into(),
        None => "$AFK_CONFIG (unset)".into(),
    };
    cfg_err(format!(
        "config: no config file: looked for --config (not given), {afk_config}, ./afk.toml, then {}; pass --config PATH, or run `afk init` to write ./afk.toml",
        path.display()
    ))
}

/// A starter config with comments, as written by `afk init`.
pub const STARTER: &str = include_str!("../../examples/afk.toml");

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "/nonexistent/afk-config-test";

    fn parse(s: &str) -> Result<Config> {
        Config::parse(s, Path::new(BASE))
    }

    fn err(s: &str) -> String {
        match parse(s) {
            Ok(_) => panic!("config accepted:\n{s}"),
            Err(e) => {
                assert!(e.is::<ConfigError>(), "not a ConfigError: {e}");
                e.to_string()
            }
        }
    }

    #[test]
    fn expect_every_defaults_match_contrib_and_a_bad_value_is_one_line() {
        use crate::types::TickKind;
        let c = parse("").unwrap();
        let m = |n: u64| Duration::from_secs(60 * n);
        let want = [
            (TickKind::Poll, m(5)),
            (TickKind::Watch, m(5)),
            (TickKind::Harvest, m(15)),
            (TickKind::Upgrade, m(15)),
        ];
        for (kind, every) in want {
            assert_eq!(c.expect_every(kind), every, "{kind:?}: contrib's schedule");
        }
        let c = parse("[upgrade]\nexpect_every = \"1h\"\n").unwrap();
        assert_eq!(c.expect_every(TickKind::Upgrade), m(60));
        let table = [
            (
                "[poll]\nexpect_every = \"soon\"\n",
                "config: poll.expect_every at line 2",
            ),
            (
                "[watch]\nexpect_every = \"30s\"\n",
                "config: watch.expect_every at line 2: \"30s\" is out of range",
            ),
            (
                "[harvest]\nexpect_every = \"8d\"\n",
                "config: harvest.expect_every at line 2: \"8d\" is out of range",
            ),
        ];
        for (text, start) in table {
            let e = err(text);
            assert!(e.starts_with(start) && !e.contains('\n'), "{e}");
        }
    }

    #[test]
    fn watch_conversation_keys_load_and_rebase_is_gitea_only() {
        let c = parse("").unwrap();
        assert_eq!(c.watch.review_turns_max, 3);
        assert_eq!(c.watch.command_prefix, "/afk");
        assert_eq!(
            c.watch.update_branch,
            Some(crate::types::UpdateStyle::Merge)
        );
        assert_eq!(c.watch.retest_comment, "");
        let c = parse("[watch]\nreview_turns_max = 0\ncommand_prefix = \"\"\nupdate_branch = \"off\"\nretest_comment = \"/retest\"\n").unwrap();
        assert_eq!(c.watch.review_turns_max, 0);
        assert_eq!(c.watch.command_prefix, "");
        assert_eq!(c.watch.update_branch, None);
        assert_eq!(c.watch.retest_comment, "/retest");
        let c = parse("[watch]\nupdate_branch = \"rebase\"\n").unwrap();
        assert_eq!(
            c.watch.update_branch,
            Some(crate::types::UpdateStyle::Rebase)
        );
        let cases = [
            (
                "[forge]\nkind = \"github\"\n[watch]\nupdate_branch = \"rebase\"\n",
                "update_branch",
            ),
            ("[watch]\nupdate_branch = \"squash\"\n", "squash"),
            (
                "[watch]\ncommand_prefix = \"/afk please\"\n",
                "command_prefix",
            ),
            ("[watch]\nreview_turns_max = 1000\n", "review_turns_max"),
        ];
        for (text, says) in cases {
            let e = err(text);
            assert!(e.contains(says), "{text}: {e}");
        }
    }

    #[test]
    fn defaults_ship_disabled_with_empty_allowlist() {
        let c = parse("").unwrap();
        assert!(!c.poll.enabled);
        assert!(c.poll.allowlist.is_empty());
        assert_eq!(c.poll.ready_label, "ready-for-agent");
        assert_eq!(c.forge.concurrency, 8);
        assert_eq!(c.forge.kind, ForgeKind::Gitea);
        assert_eq!(c.runner.kind, RunnerKind::Command);
        assert_eq!(c.poll.trusted_permission, Access::Write);
        assert_eq!(c.forge_timeout(), Duration::from_secs(30));
        assert_eq!(c.stall_after(), Duration::from_secs(3 * 3600));
        assert_eq!(c.lessons.dedup_window, Duration::from_secs(3600));
        assert_eq!(c.harvest.revert_window, Duration::from_secs(7 * 86400));
        assert_eq!(c.harvest.graduate_at_max, 0.5);
        assert_eq!(c.upgrade.template, "upgrader");
        assert!(c.upgrade.registry_mirrors.is_empty());
        assert_eq!(c.budget.run_usd, 0.0);
        assert_eq!(c.budget.run_time, None);
        assert_eq!(c.metrics_file(), None);
        assert_eq!(c.runner.agent_login, "");
    }

    #[test]
    fn unknown_key_names_key_table_line_and_suggestion() {
        let e = err("[forge]\nurl = \"x\"\n\n[poll]\nenabled = true\nalowlist = []\n");
        assert_eq!(
            e,
            "config: unknown key \"alowlist\" in [poll] at line 6 (did you mean \"allowlist\"?)"
        );
    }

    #[test]
    fn unknown_keys_in_new_tables_are_rejected_with_a_suggestion() {
        let cases = [
            (
                "[budget]\nrun_usdd = 1.0\n",
                "\"run_usdd\" in [budget] at line 2 (did you mean \"run_usd\"?)",
            ),
            (
                "[notify]\nheartbeat_envv = \"X\"\n",
                "\"heartbeat_envv\" in [notify] at line 2 (did you mean \"heartbeat_env\"?)",
            ),
            (
                "metrics = \"m\"\n",
                "\"metrics\" at the top level at line 1 (did you mean \"metrics_file\"?)",
            ),
        ];
        for (text, want) in cases {
            let e = err(text);
            assert!(e.contains(want), "case {text:?}: {e}");
        }
    }

    #[test]
    fn unknown_top_level_table_is_rejected() {
        let e = err("[polll]\nenabled = true\n");
        assert!(
            e.contains("unknown key \"polll\" at the top level at line 1"),
            "{e}"
        );
        assert!(e.contains("did you mean \"poll\""), "{e}");
    }

    #[test]
    fn wrong_type_is_a_config_error_naming_key_and_line() {
        let e = err("[poll]\nmax_in_flight = \"four\"\n");
        assert!(
            e.starts_with("config: poll.max_in_flight at line 2: "),
            "{e}"
        );
    }

    #[test]
    fn durations_parse() {
        let cases = [
            ("90s", Ok(Duration::from_secs(90))),
            ("30m", Ok(Duration::from_secs(1800))),
            ("2h", Ok(Duration::from_secs(7200))),
            ("7d", Ok(Duration::from_secs(604800))),
            ("0s", Ok(Duration::ZERO)),
            ("500ms", Ok(Duration::from_millis(500))),
            ("10", Err("has no unit")),
            ("10w", Err("unknown unit")),
            ("abc", Err("is not a duration")),
            ("-5s", Err("is not a duration")),
            ("s", Err("is not a duration")),
        ];
        for (input, want) in cases {
            match (parse_duration(input), want) {
                (Ok(got), Ok(want)) => assert_eq!(got, want, "case {input:?}"),
                (Err(e), Err(want)) => assert!(e.contains(want), "case {input:?}: {e}"),
                (got, want) => panic!("case {input:?}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn duration_overflow_is_an_error_not_a_wrap() {
        let cases = [
            "307445734561825861m",
            "213503982334602d",
            "5124095576030432h",
            "99999999999999999999s",
        ];
        for input in cases {
            let e = parse_duration(input).unwrap_err();
            assert!(e.contains("too large"), "case {input:?}: {e}");
        }
        let e = err("[runner]\nstall_after = \"307445734561825861m\"\n");
        assert!(
            e.starts_with("config: runner.stall_after at line 2: "),
            "{e}"
        );
    }

    #[test]
    fn format_duration_round_trips() {
        let cases = [
            (Duration::ZERO, "0s"),
            (Duration::from_secs(90), "90s"),
            (Duration::from_secs(1800), "30m"),
            (Duration::from_secs(7200), "2h"),
            (Duration::from_secs(7 * 86400), "7d"),
            (Duration::from_millis(1500), "1500ms"),
        ];
        for (d, s) in cases {
            assert_eq!(format_duration(d), s, "case {d:?}");
            assert_eq!(parse_duration(s).unwrap(), d, "case {s:?}");
        }
    }

    #[test]
    fn bad_duration_is_rejected_naming_key_and_line() {
        let e = err("[runner]\nstall_after = \"soon\"\n");
        assert!(
            e.starts_with("config: runner.stall_after at line 2:"),
            "{e}"
        );
    }

    #[test]
    fn durations_out_of_their_key_bounds_are_rejected() {
        let cases = [
            (
                "[forge]\ntimeout = \"0s\"\n",
                Some("forge.timeout at line 2"),
            ),
            (
                "[forge]\ntimeout = \"500ms\"\n",
                Some("forge.timeout at line 2"),
            ),
            ("[forge]\ntimeout = \"1s\"\n", None),
            ("[forge]\ntimeout = \"10m\"\n", None),
            (
                "[forge]\ntimeout = \"601s\"\n",
                Some("forge.timeout at line 2"),
            ),
            (
                "[runner]\nstall_after = \"0s\"\n",
                Some("runner.stall_after at line 2"),
            ),
            (
                "[runner]\nstall_after = \"59s\"\n",
                Some("runner.stall_after at line 2"),
            ),
            ("[runner]\nstall_after = \"1m\"\n", None),
            ("[runner]\nstall_after = \"30d\"\n", None),
            (
                "[runner]\nstall_after = \"31d\"\n",
                Some("runner.stall_after at line 2"),
            ),
            ("[lessons]\ndedup_window = \"0s\"\n", None),
            ("[lessons]\ndedup_window = \"365d\"\n", None),
            (
                "[lessons]\ndedup_window = \"366d\"\n",
                Some("lessons.dedup_window at line 2"),
            ),
            ("[harvest]\nrevert_window = \"0s\"\n", None),
            (
                "[harvest]\nrevert_window = \"366d\"\n",
                Some("harvest.revert_window at line 2"),
            ),
            ("[budget]\nrun_time = \"\"\n", None),
            ("[budget]\nrun_time = \"4h\"\n", None),
            (
                "[budget]\nrun_time = \"31d\"\n",
                Some("budget.run_time at line 2"),
            ),
            (
                "[budget]\nrun_time = \"later\"\n",
                Some("budget.run_time at line 2"),
            ),
        ];
        assert_loads_or_names(&cases);
    }

    /// Each text loads (None) or fails with one line naming the key and line.
    fn assert_loads_or_names(cases: &[(&str, Option<&str>)]) {
        for &(text, want) in cases {
            match (parse(text), want) {
                (Ok(_), None) => {}
                (Err(e), Some(w)) => {
                    let e = e.to_string();
                    assert!(
                        e.starts_with(&format!("config: {w}: ")),
                        "case {text:?}: {e}"
                    );
                    assert_eq!(e.lines().count(), 1, "case {text:?}: {e}");
                }
                (got, want) => panic!("case {text:?}: got {:?}, want {want:?}", got.err()),
            }
        }
    }

    #[test]
    fn typed_durations_are_stored_at_load() {
        let c = parse(
            "[forge]\ntimeout = \"5s\"\n[runner]\nstall_after = \"2h\"\n\
             [lessons]\ndedup_window = \"0s\"\n[harvest]\nrevert_window = \"3d\"\n\
             [budget]\nrun_time = \"4h\"\n",
        )
        .unwrap();
        assert_eq!(c.forge_timeout(), Duration::from_secs(5));
        assert_eq!(c.stall_after(), Duration::from_secs(7200));
        assert_eq!(c.lessons.dedup_window, Duration::ZERO);
        assert_eq!(c.harvest.revert_window, Duration::from_secs(3 * 86400));
        assert_eq!(c.budget.run_time, Some(Duration::from_secs(4 * 3600)));
        let c = parse("[budget]\nrun_time = \"0s\"\n").unwrap();
        assert_eq!(c.budget.run_time, None, "\"0s\" means no limit");
    }

    #[test]
    fn numbers_out_of_their_key_bounds_are_rejected() {
        let cases = [
            (
                "[forge]\nconcurrency = 0\n",
                Some("forge.concurrency at line 2"),
            ),
            ("[forge]\nconcurrency = 1\n", None),
            ("[forge]\nconcurrency = 64\n", None),
            (
                "[forge]\nconcurrency = 65\n",
                Some("forge.concurrency at line 2"),
            ),
            ("[forge]\nretries = 10\n", None),
            ("[forge]\nretries = 11\n", Some("forge.retries at line 2")),
            ("[forge]\nretries = -1\n", Some("forge.retries at line 2")),
            ("[harvest]\nsample = 0.0\n", None),
            ("[harvest]\nsample = 1.0\n", None),
            (
                "[harvest]\nsample = 1.5\n",
                Some("harvest.sample at line 2"),
            ),
            (
                "[harvest]\nsample = nan\n",
                Some("harvest.sample at line 2"),
            ),
            (
                "[harvest]\nconfidence = 0.5\n",
                Some("harvest.confidence at line 2"),
            ),
            ("[harvest]\nconfidence = 0.51\n", None),
            (
                "[harvest]\nconfidence = 1.0\n",
                Some("harvest.confidence at line 2"),
            ),
            ("[harvest]\ngraduate_at_max = 0.0\n", None),
            (
                "[harvest]\ngraduate_at_max = 1.0\n",
                Some("harvest.graduate_at_max at line 2"),
            ),
            (
                "[harvest]\ngraduate_at_max = -0.1\n",
                Some("harvest.graduate_at_max at line 2"),
            ),
            (
                "[harvest]\nmin_samples = 0\n",
                Some("harvest.min_samples at line 2"),
            ),
            (
                "[harvest]\ncheck_every = 0\n",
                Some("harvest.check_every at line 2"),
            ),
            (
                "[harvest]\nmin_samples = 30\nmax_samples = 29\n",
                Some("harvest.max_samples at line 3"),
            ),
            ("[harvest]\nmin_samples = 30\nmax_samples = 30\n", None),
            ("[harvest]\nearly_failures = 0\n", None),
            (
                "[harvest]\nearly_failures = -1\n",
                Some("harvest.early_failures at line 2"),
            ),
            ("[budget]\nrun_usd = 2.5\nday_usd = 20\n", None),
            (
                "[budget]\nrun_usd = 2.5\nday_usd = 20.0\nrepo_day_usd = 5.0\n",
                None,
            ),
            (
                "[budget]\nrun_usd = -1.0\n",
                Some("budget.run_usd at line 2"),
            ),
            (
                "[budget]\nrepo_day_usd = inf\n",
                Some("budget.repo_day_usd at line 2"),
            ),
            (
                "[upgrade]\nmax_test_runs = 0\n",
                Some("upgrade.max_test_runs at line 2"),
            ),
        ];
        assert_loads_or_names(&cases);
    }

    #[test]
    fn bad_allowlist_entry_is_rejected_naming_key_and_line() {
        let cases = [
            ("noslash", false),
            ("a/b/c", false),
            ("x/..", false),
            ("../..", false),
            ("./a", false),
            ("a/b c", false),
            ("acme/api", true),
        ];
        for (entry, ok) in cases {
            let text = format!("[poll]\nallowlist = [\n  \"acme/web\",\n  \"{entry}\",\n]\n");
            match parse(&text) {
                Ok(c) => {
                    assert!(ok, "case {entry:?} accepted");
                    assert!(c.poll.allowlist[1] == entry, "case {entry:?}");
                }
                Err(e) => {
                    assert!(!ok, "case {entry:?}: {e}");
                    let e = e.to_string();
                    assert!(
                        e.starts_with("config: poll.allowlist at line 2: "),
                        "case {entry:?}: {e}"
                    );
                }
            }
        }
    }

    #[test]
    fn runner_kubernetes_keys_are_checked() {
        let k = "[runner]\nkind = \"kubernetes\"\n[runner.kubernetes]\n";
        let c = parse(&format!("{k}image = \"a/b:1\"\n")).unwrap();
        assert_eq!(c.runner.kind, RunnerKind::Kubernetes);
        assert_eq!(c.runner.kubernetes.cpu, "1");
        assert_eq!(c.runner.kubernetes.memory, "2Gi");
        assert_eq!(
            c.runner.kubernetes.active_deadline,
            Duration::from_secs(6 * 3600)
        );
        assert_eq!(
            c.runner.kubernetes.ttl_after_finished,
            Duration::from_secs(86400)
        );
        let cases = [
            (
                "",
                "config: runner.kubernetes.image: kind \"kubernetes\" needs",
            ),
            (
                "image = \"x\"\napi_url = \"http://10.0.0.1:6443\"\n",
                "config: runner.kubernetes.api_url at line 5: \"http://10.0.0.1:6443\" is plain http",
            ),
            (
                "image = \"x\"\nnamespace = \"Team_A\"\n",
                "config: runner.kubernetes.namespace at line 5: \"Team_A\" is not a valid",
            ),
            (
                "image = \"x\"\nmemory = \"2 GB\"\n",
                "config: runner.kubernetes.memory at line 5: \"2 GB\" is not a Kubernetes quantity",
            ),
            (
                "image = \"x\"\nactive_deadline = \"10s\"\n",
                "config: runner.kubernetes.active_deadline at line 5: \"10s\" is out of range",
            ),
            (
                "image = \"x\"\nimgae = \"y\"\n",
                "config: unknown key \"imgae\" in [runner.kubernetes] at line 5 (did you mean \"image\"?)",
            ),
        ];
        for (text, want) in cases {
            let e = err(&format!("{k}{text}"));
            assert!(e.starts_with(want), "case {text:?}: {e}");
        }
    }

    #[test]
    fn enums_are_typed_and_checked() {
        let cases = [
            (
                "[forge]\nkind = \"gitlab\"\n",
                "config: forge.kind at line 2: \"gitlab\" is not one of gitea, forgejo, github",
            ),
            (
                "[runner]\nkind = \"ssh\"\n",
                "config: runner.kind at line 2: \"ssh\" is not one of command, http, kubernetes",
            ),
            (
                "[poll]\ntrusted_permission = \"owner\"\n",
                "config: poll.trusted_permission at line 2: \"owner\" is not one of read, write, admin",
            ),
        ];
        for (text, want) in cases {
            assert_eq!(err(text), want, "case {text:?}");
        }
        let e = err("[notify]\nevents = [\"run.exploded\"]\n");
        assert!(
            e.starts_with("config: notify.events at line 2: unknown event"),
            "{e}"
        );
        let c = parse("[forge]\nkind = \"github\"\n[poll]\ntrusted_permission = \"admin\"\n[runner]\nkind = \"http\"\nurl = \"http://x\"\n").unwrap();
        assert_eq!(c.forge.kind, ForgeKind::Github);
        assert_eq!(c.poll.trusted_permission, Access::Admin);
        assert_eq!(c.runner.kind, RunnerKind::Http);
        assert_eq!(c.runner.kind.to_string(), "http");
        assert_eq!(ForgeKind::Forgejo.as_str(), "forgejo");
        assert!(Access::Admin > Access::Write && Access::Write > Access::Read);
    }

    #[test]
    fn http_runner_needs_a_url() {
        let e = err("[runner]\nkind = \"http\"\n");
        assert!(e.starts_with("config: runner.kind at line 2: "), "{e}");
    }

    #[test]
    fn relative_paths_are_relative_to_the_config_file() {
        let c = parse(
            "state_path = \"data/afk.db\"\nmetrics_file = \"m/afk.prom\"\n\
             [forge]\ntoken_file = \"token\"\n[upgrade]\nwork_dir = \"clones\"\n",
        )
        .unwrap();
        let base = PathBuf::from(BASE);
        assert_eq!(c.state_path(None), base.join("data/afk.db"));
        assert_eq!(c.stop_file(None), base.join("data/STOP"));
        assert_eq!(c.runs_dir(None), base.join("data/runs"));
        assert_eq!(c.metrics_file(), Some(base.join("m/afk.prom").as_path()));
        assert_eq!(c.forge.token_file, Some(base.join("token")));
        assert_eq!(c.upgrade_work_dir(None), base.join("clones"));
        let e = parse("status_page = \"m.prom\"\nmetrics_file = \"m.prom\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("give the page a file of its own"), "{e}");
        let c = parse("status_page = \"www/index.html\"\n").unwrap();
        assert_eq!(c.status_page(), Some(base.join("www/index.html").as_path()));
        assert_eq!(parse("status_page = \"\"\n").unwrap().status_page(), None);
        let c = parse("runs_dir = \"r\"\nstop_file = \"/abs/STOP\"\n").unwrap();
        assert_eq!(c.runs_dir(None), base.join("r"));
        assert_eq!(c.stop_file(None), PathBuf::from("/abs/STOP"));
    }

    #[test]
    fn empty_paths_mean_the_default() {
        let c = parse(
            "state_path = \"s/afk.db\"\nmetrics_file = \"\"\n[forge]\ntoken_file = \"\"\n[upgrade]\nwork_dir = \"\"\n",
        )
        .unwrap();
        assert_eq!(c.metrics_file(), None);
        assert_eq!(c.forge.token_file, None);
        assert_eq!(
            c.upgrade_work_dir(None),
            PathBuf::from(BASE).join("s/recipes")
        );
    }

    #[test]
    fn every_path_accessor_is_absolute_even_for_a_relative_config_dir_or_flag() {
        let c = Config::parse("state_path = \"d/afk.db\"\n", Path::new("rel/dir")).unwrap();
        let flag = Path::new("elsewhere/afk.db");
        let cwd = std::env::current_dir().unwrap();
        assert!(c.base_dir.is_absolute());
        for flag in [None, Some(flag)] {
            for p in [
                c.state_path(flag),
                c.state_dir(flag),
                c.runs_dir(flag),
                c.stop_file(flag),
                c.upgrade_work_dir(flag),
            ] {
                assert!(p.is_absolute(), "flag {flag:?}: {}", p.display());
            }
        }
        assert_eq!(c.state_path(Some(flag)), cwd.join("elsewhere/afk.db"));
        assert_eq!(c.runs_dir(Some(flag)), cwd.join("elsewhere/runs"));
        assert!(parse("").unwrap().state_path(None).is_absolute());
    }

    #[test]
    fn the_config_dir_is_canonicalised() {
        let dir = std::env::temp_dir().join(format!("afk-config-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        let c = Config::parse("state_path = \"afk.db\"\n", &dir.join("sub/..")).unwrap();
        let canon = std::fs::canonicalize(&dir).unwrap();
        assert_eq!(c.state_path(None), canon.join("afk.db"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn registry_mirrors_must_be_http_urls() {
        let cases = [
            ("\"docker.io\" = \"https://mirror.example.org\"", None),
            ("\"ghcr.io\" = \"http://10.0.0.1:5000/v2\"", None),
            (
                "\"docker.io\" = \"mirror.example.org\"",
                Some("config: upgrade.registry_mirrors.docker.io at line 2: "),
            ),
            (
                "\"docker.io\" = \"ftp://mirror\"",
                Some("config: upgrade.registry_mirrors.docker.io at line 2: "),
            ),
            (
                "\"docker.io\" = \"https://\"",
                Some("config: upgrade.registry_mirrors.docker.io at line 2: "),
            ),
            (
                "\"docker.io\" = \"https://a b\"",
                Some("config: upgrade.registry_mirrors.docker.io at line 2: "),
            ),
            (
                "\"a/b\" = \"https://m\"",
                Some("config: upgrade.registry_mirrors.a/b at line 2: "),
            ),
            (
                "\"docker.io\" = 3",
                Some("config: upgrade.registry_mirrors.docker.io at line 2: "),
            ),
        ];
        for (entry, want) in cases {
            let text = format!("[upgrade.registry_mirrors]\n{entry}\n");
            match (parse(&text), want) {
                (Ok(c), None) => assert_eq!(c.upgrade.registry_mirrors.len(), 1, "case {entry:?}"),
                (Err(e), Some(w)) => {
                    let e = e.to_string();
                    assert!(e.starts_with(w), "case {entry:?}: {e}");
                }
                (got, want) => panic!("case {entry:?}: got {:?}, want {want:?}", got.err()),
            }
        }
    }

    #[test]
    fn the_status_issue_is_owner_repo_hash_n_parsed_once_naming_key_and_line() {
        let cases = [
            ("", None, None),
            ("status_issue = \"\"\n", None, None),
            ("status_issue = \"acme/ops#7\"\n", Some("acme/ops#7"), None),
            (
                "status_issue = \"acme/ops\"\n",
                None,
                Some("config: status_issue at line 1: \"acme/ops\" is not \"owner/repo#N\""),
            ),
            (
                "\nstatus_issue = \"acme/ops#0\"\n",
                None,
                Some("config: status_issue at line 2: \"acme/ops#0\" is not \"owner/repo#N\""),
            ),
        ];
        for (text, want, err) in cases {
            match (parse(text), err) {
                (Ok(c), None) => assert_eq!(
                    c.status_issue.as_ref().map(|r| r.to_string()).as_deref(),
                    want,
                    "case {text:?}"
                ),
                (Err(e), Some(w)) => assert_eq!(e.to_string(), w, "case {text:?}"),
                (got, want) => panic!("case {text:?}: got {:?}, want {want:?}", got.err()),
            }
        }
    }

    #[test]
    fn the_tests_repo_is_parsed_once_at_load_naming_key_and_line() {
        let cases = [
            ("", None, None),
            ("tests_repo = \"\"\n", None, None),
            ("tests_repo = \"maint/tests\"\n", Some("maint/tests"), None),
            (
                "\ntests_repo = \"x/..\"\n",
                None,
                Some("config: upgrade.tests_repo at line 3: \"x/..\" is not owner/repo"),
            ),
            (
                "tests_repo = \"noslash\"\n",
                None,
                Some("config: upgrade.tests_repo at line 2: \"noslash\" is not owner/repo"),
            ),
        ];
        for (entry, repo, want) in cases {
            let text = format!("[upgrade]\n{entry}");
            match (parse(&text), want) {
                (Ok(c), None) => {
                    assert_eq!(c.upgrade.tests_repo.as_deref(), repo, "case {entry:?}")
                }
                (Err(e), Some(w)) => assert_eq!(e.to_string(), w, "case {entry:?}"),
                (got, want) => panic!("case {entry:?}: got {:?}, want {want:?}", got.err()),
            }
        }
    }

    #[test]
    fn the_registry_secret_comes_with_its_one_host_and_tags_are_bounded() {
        let cases = [
            ("[upgrade]\n", None),
            (
                "[upgrade]\nregistry_auth_env = \"REG\"\nregistry_auth_host = \"registry.example.org\"\n",
                None,
            ),
            (
                "[upgrade]\nregistry_auth_env = \"REG\"\nregistry_auth_host = \"localhost:5000\"\n",
                None,
            ),
            (
                "[upgrade]\nregistry_auth_env = \"REG\"\n",
                Some("upgrade.registry_auth_env at line 2"),
            ),
            (
                "[upgrade]\nregistry_auth_env = \"REG\"\nregistry_auth_host = \" \"\n",
                Some("upgrade.registry_auth_env at line 2"),
            ),
            (
                "[upgrade]\nregistry_auth_host = \"registry.example.org\"\n",
                Some("upgrade.registry_auth_host at line 2"),
            ),
            (
                "[upgrade]\nregistry_auth_env = \"REG\"\nregistry_auth_host = \"https://registry.example.org\"\n",
                Some("upgrade.registry_auth_host at line 3"),
            ),
            (
                "[upgrade]\nregistry_auth_env = \"REG\"\nregistry_auth_host = \"registry.example.org/v2\"\n",
                Some("upgrade.registry_auth_host at line 3"),
            ),
            ("[upgrade]\nmax_tags = 1\n", None),
            ("[upgrade]\nmax_tags = 100000\n", None),
            (
                "[upgrade]\nmax_tags = 0\n",
                Some("upgrade.max_tags at line 2"),
            ),
            (
                "[upgrade]\nmax_tags = 100001\n",
                Some("upgrade.max_tags at line 2"),
            ),
            (
                "[upgrade]\nmax_tags = -1\n",
                Some("upgrade.max_tags at line 2"),
            ),
        ];
        assert_loads_or_names(&cases);
        let d = parse("").unwrap().upgrade;
        assert_eq!((d.max_tags, d.registry_auth_host.as_str()), (10_000, ""));
        let e = err("[upgrade]\nregistry_auth_hots = \"x\"\n");
        assert!(e.contains("did you mean \"registry_auth_host\""), "{e}");
    }

    #[test]
    fn heartbeat_env_is_a_secret() {
        let c = parse("[notify]\nheartbeat_env = \"AFK_HEARTBEAT\"\n").unwrap();
        assert!(c.secret_env_names().contains(&"AFK_HEARTBEAT".to_string()));
    }

    #[test]
    fn per_tick_heartbeats_are_secrets_and_their_keys_are_checked() {
        let c = parse("[notify.heartbeat]\nwatch = \"AFK_HB_WATCH\"\n").unwrap();
        assert_eq!(
            c.notify.heartbeat.for_tick(crate::types::TickKind::Watch),
            "AFK_HB_WATCH"
        );
        assert_eq!(
            c.notify.heartbeat.for_tick(crate::types::TickKind::Poll),
            ""
        );
        assert!(c.secret_env_names().contains(&"AFK_HB_WATCH".to_string()));
        let e = parse("[notify]\n[notify.heartbeat]\nwach = \"X\"\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "config: unknown key \"wach\" in [notify.heartbeat] at line 3 (did you mean \"watch\"?)"
        );
    }

    #[test]
    fn starter_config_parses_with_the_defaults() {
        let c = parse(STARTER).unwrap();
        let d = Config::default();
        assert!(!c.poll.enabled);
        assert!(c.poll.allowlist.is_empty());
        assert_eq!(c.forge.timeout, d.forge.timeout);
        assert_eq!(c.runner.stall_after, d.runner.stall_after);
        assert_eq!(c.harvest.revert_window, d.harvest.revert_window);
        assert_eq!(c.harvest.graduate_at_max, d.harvest.graduate_at_max);
        assert_eq!(c.upgrade.template, d.upgrade.template);
        assert_eq!(c.notify.events, d.notify.events);
        assert_eq!(c.budget.run_time, None);
        assert_eq!(c.metrics_file(), None);
    }

    #[test]
    fn starter_config_values_are_the_defaults_but_the_forge_url() {
        let mut c = parse(STARTER).unwrap();
        let d = parse("").unwrap();
        assert_eq!(c.forge.url, "https://git.example.org");
        c.forge.url = d.forge.url.clone();
        let tables = |c: &Config| {
            format!(
                "{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}",
                (&c.state_path, &c.runs_dir, &c.stop_file, &c.metrics_file),
                c.forge,
                c.poll,
                c.runner,
                c.watch,
                c.budget,
                c.notify,
                c.harvest,
                c.lessons,
                c.upgrade
            )
        };
        let (starter, defaults) = (tables(&c), tables(&d));
        for (a, b) in starter.lines().zip(defaults.lines()) {
            assert_eq!(a, b, "the starter config says \"with its default\"");
        }
    }

    #[test]
    fn github_app_keys_stand_alone_on_github_and_come_together() {
        let app = "app_id = 1\napp_installation_id = 2\napp_private_key_file = \"k.pem\"\n";
        // (the [forge] table, the error's words; "" when it loads)
        let cases = [
            (format!("kind = \"github\"\n{app}"), ""),
            (
                format!("kind = \"github\"\n{app}token_env = \"X\"\n"),
                "forge.token_env",
            ),
            (
                format!("kind = \"github\"\n{app}token_file = \"t\"\n"),
                "forge.token_file",
            ),
            (
                format!("kind = \"gitea\"\n{app}"),
                "needs forge.kind = \"github\"",
            ),
            (
                "kind = \"github\"\napp_id = 1\n".into(),
                "needs forge.app_installation_id",
            ),
            (
                "kind = \"github\"\napp_id = 1\napp_installation_id = 2\n".into(),
                "needs forge.app_private_key_file",
            ),
            (
                "kind = \"github\"\napp_private_key_file = \"k.pem\"\n".into(),
                "needs forge.app_id",
            ),
            ("kind = \"github\"\ntoken_env = \"X\"\n".into(), ""),
        ];
        for (forge, want) in cases {
            let r = parse(&format!("[forge]\n{forge}"));
            match (r, want) {
                (Ok(c), "") => assert!(c.forge.app_id == 0 || c.github_app(), "{forge}"),
                (Ok(_), w) => panic!("{forge}: loaded, wanted {w}"),
                (Err(e), "") => panic!("{forge}: {e}"),
                (Err(e), w) => assert!(e.to_string().contains(w), "{forge}: {e}"),
            }
        }
    }

    #[test]
    fn starter_config_shows_every_schema_key() {
        for (table, keys) in SCHEMA {
            for key in *keys {
                let commented = STARTER.lines().any(|l| {
                    let l = l.trim_start_matches('#').trim_start();
                    l.split_once('=').is_some_and(|(k, _)| k.trim() == *key)
                });
                let shown = find_key_line(STARTER, table, key).is_some()
                    || commented
                    || STARTER.contains(&format!("# or {key} ="))
                    || STARTER.contains(&format!("[{key}]"));
                assert!(shown, "starter config lacks {table}.{key}");
            }
        }
    }

    #[test]
    fn priority_takes_the_highest_label() {
        let c = parse("").unwrap();
        assert_eq!(c.priority_of(["priority/low", "priority/high"]), 3);
        assert_eq!(c.priority_of(["bug"]), 0);
    }
}
