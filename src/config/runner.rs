// One file: `[runner]` and `[runner.kubernetes]` (~990 lines: their keys, defaults and checks, validated together) and their tests.
//! `[runner]` and `[runner.kubernetes]`: how afk starts an agent.

use anyhow::Result;
use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;

use super::check::Checker;
use super::values::{DAY, MINUTE, de_duration, de_path, is_http_url};
use super::{Config, RunnerKind};
use crate::types::Invalid;
pub use crate::types::{AgentKind, Workspace};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Runner {
    pub kind: RunnerKind,
    /// `agent` as written; [`Runner::agent`] reads an absent one
    /// (docs/runners.md, named agents).
    #[serde(rename = "agent")]
    pub agent_key: Option<AgentKind>,
    pub command: Vec<String>,
    pub resume_command: Vec<String>,
    /// `workspace` as written; [`Runner::workspace`] reads an absent one
    /// (docs/how-it-works.md#the-workspace).
    #[serde(rename = "workspace")]
    pub workspace_key: Option<Workspace>,
    pub workdir: String,
    /// Absolute once loaded; `None`: "git" beside the state file
    /// ([`super::StatePaths::git_cache`]): one cached repository per repo.
    #[serde(deserialize_with = "de_path")]
    pub git_cache: Option<PathBuf>,
    /// No progress for this long escalates the run; 1m..=30d.
    #[serde(deserialize_with = "de_duration")]
    pub stall_after: Duration,
    /// The forge account the agent pushes and opens PRs as; empty: unknown.
    pub agent_login: String,
    pub url: String,
    pub token_env: String,
    /// `[runner.prices]`: USD per million tokens, for agents that report
    /// tokens and no dollars (Codex, docs/runners.md, named agents), and the
    /// model gateway's per-model prices (`[runner.prices.models."NAME"]`).
    pub prices: Prices,
    /// `[runner.model]`: the model gateway (docs/runners.md#the-model-gateway-runnermodel).
    pub model: ModelKeys,
    /// Kind `kubernetes` (docs/kubernetes.md): one batch/v1 Job per agent turn.
    pub kubernetes: Kubernetes,
    /// `confine` as written; [`Runner::confine`] reads an absent one
    /// (docs/runners.md#the-agents-box).
    #[serde(rename = "confine")]
    pub confine_key: Option<crate::core::agent_box::Confine>,
    /// Variables whose values afk never writes anywhere (the model's keys):
    /// redacted like afk's own secrets, still handed to the agent.
    pub secret_env: Vec<String>,
    /// `.gitignore` patterns afk never commits for the agent when it commits
    /// what a turn left uncommitted, beside its default list of build
    /// artefacts, caches and dependency folders
    /// (`core::workspace_pr::LEFTOVER_IGNORED`).
    pub leftover_ignore: Vec<String>,
    /// `[runner.box]`: the agent's box on the command runner.
    #[serde(rename = "box")]
    pub boxed: BoxKeys,
    /// "Name <address>": who the agent commits as in afk's checkout and the
    /// author of afk's leftover commits (DCO, author rules); empty: afk's.
    #[serde(rename = "git_author")]
    pub git_author_key: String,
    /// A group the agent's user (another than afk's, the box off) is in:
    /// the run folders let that group through and its progress file lets
    /// it write (docs/runners.md#running-an-agent-as-another-user-or-in-a-container).
    pub progress_group: String,
}

/// `[runner.box]` (docs/runners.md#the-agents-box).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BoxKeys {
    pub network: crate::core::agent_box::Network,
    /// `host:port` entries as written (checked at load); empty: the named
    /// agent's model endpoint.
    pub allow: Vec<String>,
    /// Absolute once loaded.
    pub read_only: Vec<PathBuf>,
    pub read_write: Vec<PathBuf>,
    /// e.g. "4GiB"; empty: no limit.
    pub memory: String,
    /// Most processes in the box; 0: no limit.
    pub tasks: u32,
    /// The host user the box's user is when afk runs as root: a name, a
    /// uid or `uid:gid`; empty: `afk-agent` where that user exists, else
    /// the first ids that are nobody's ([`default_host_id`]). Never root.
    pub user: String,
    /// Names of afk's environment variables the box's agent gets beyond
    /// what afk sets and its program reads (`core::agent_box::env::EnvPass`):
    /// nothing else of afk's environment reaches it.
    pub env: Vec<String>,
}

impl BoxKeys {
    /// The first key set to other than its default (the starter config
    /// shows every key at its default), if any.
    fn first_set(&self) -> Option<String> {
        let d = BoxKeys::default();
        [
            ("network", self.network != d.network),
            ("allow", !self.allow.is_empty()),
            ("read_only", !self.read_only.is_empty()),
            ("read_write", !self.read_write.is_empty()),
            ("memory", !self.memory.is_empty()),
            ("tasks", self.tasks != d.tasks),
            ("user", !self.user.trim().is_empty()),
            ("env", !self.env.is_empty()),
        ]
        .into_iter()
        .find(|(_, set)| *set)
        .map(|(k, _)| k.to_string())
    }

    /// The `allow` entries, parsed (they were checked at load).
    pub fn allow(&self) -> Vec<crate::core::agent_box::forwarder::HostPort> {
        self.allow
            .iter()
            .filter_map(|a| crate::core::agent_box::forwarder::HostPort::parse(a).ok())
            .collect()
    }

    /// The host uid and gid the box's user is when afk runs as root
    /// (checked at load).
    pub fn host_user(&self) -> std::result::Result<(u32, u32), crate::types::Invalid> {
        let name = self.user.trim();
        if name.is_empty() {
            return Ok(user_of("afk-agent").unwrap_or_else(|| {
                let id = default_host_id();
                (id, id)
            }));
        }
        let ids = match name.split_once(':') {
            Some((u, g)) => u.parse::<u32>().ok().zip(g.parse::<u32>().ok()),
            None => name.parse::<u32>().ok().map(|u| (u, u)),
        };
        let (uid, gid) = match ids {
            Some(ids) => ids,
            None => user_of(name).ok_or_else(|| {
                format!("no user \"{name}\" on this machine (getent passwd {name}; or a uid, or uid:gid)")
            })?,
        };
        if uid == 0 || gid == 0 {
            return Err(format!(
                "\"{name}\" is root: the box's user must be an unprivileged host user"
            )
            .into());
        }
        Ok((uid, gid))
    }

    /// The memory limit in bytes, if any (checked at load).
    pub fn memory_bytes(&self) -> Option<u64> {
        crate::core::agent_box::parse_memory(&self.memory).ok()
    }

    /// The paths `read_only`/`read_write` name must be there (relative
    /// ones are relative to the config's folder, `base`).
    pub(super) fn validate_paths(&self, c: &Checker, base: &std::path::Path) -> Result<()> {
        for (key, paths) in [
            ("read_only", &self.read_only),
            ("read_write", &self.read_write),
        ] {
            for p in paths {
                if !base.join(p).exists() {
                    return Err(c.err(
                        "runner.box",
                        key,
                        format!(
                            "{} does not exist (the box shows only paths that are there: create it or remove it from {key})",
                            p.display()
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    fn validate(&self, c: &Checker) -> Result<()> {
        let t = "runner.box";
        for a in &self.allow {
            if let Err(why) = crate::core::agent_box::forwarder::HostPort::parse(a) {
                return Err(c.err(t, "allow", why));
            }
        }
        for name in &self.env {
            let n = name.trim();
            if n.is_empty() || !n.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_') {
                return Err(c.err(
                    t,
                    "env",
                    format!(
                        "\"{}\" is not an environment variable's name",
                        crate::core::sanitize::one_line(n, 100)
                    ),
                ));
            }
        }
        if !self.memory.trim().is_empty()
            && let Err(why) = crate::core::agent_box::parse_memory(&self.memory)
        {
            return Err(c.err(t, "memory", why));
        }
        Ok(())
    }
}

/// `[runner.prices]`: USD per million tokens (OpenAI's convention: input
/// tokens include the cached ones, output tokens include reasoning). The
/// flat figures price any model without a price of its own; `models` gives
/// one model's, over afk's shipped table (`core::gateway::prices`).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Prices {
    pub input: f64,
    pub cached_input: f64,
    pub cache_write: f64,
    pub output: f64,
    /// `[runner.prices.models."NAME"]`: a model's four prices (a snapshot
    /// `NAME-YYYYMMDD` takes its model's).
    pub models: std::collections::BTreeMap<String, ModelPrice>,
}

/// `[runner.prices.models."NAME"]`: USD per million tokens. `input` and
/// `output` are required; `cached_input` and `cache_write` only where the
/// API bills them apart (OpenAI bills no cache writes): left out, each is
/// the vendor's multiplier of input (`core::gateway::prices::Price::billed`).
#[derive(Debug, Clone, Copy, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ModelPrice {
    pub input: f64,
    #[serde(default)]
    pub cached_input: f64,
    #[serde(default)]
    pub cache_write: f64,
    pub output: f64,
}

impl Prices {
    /// All flat figures zero: no spend figure can be made from tokens
    /// without a model's own price.
    pub fn is_zero(&self) -> bool {
        self.input == 0.0
            && self.cached_input == 0.0
            && self.output == 0.0
            && self.cache_write == 0.0
    }

    /// The flat figures as the gateway prices with them.
    pub fn flat(&self) -> crate::core::gateway::prices::Price {
        crate::core::gateway::prices::Price {
            input: self.input,
            cached_input: self.cached_input,
            cache_write: self.cache_write,
            output: self.output,
        }
    }

    /// `[runner.prices.models]` as the gateway prices with them.
    pub fn models(
        &self,
    ) -> std::collections::BTreeMap<String, crate::core::gateway::prices::Price> {
        self.models
            .iter()
            .map(|(name, p)| {
                let price = crate::core::gateway::prices::Price {
                    input: p.input,
                    cached_input: p.cached_input,
                    cache_write: p.cache_write,
                    output: p.output,
                };
                (name.clone(), price)
            })
            .collect()
    }

    fn validate(&self, c: &Checker) -> Result<()> {
        let flat = [
            ("runner.prices".to_string(), "input", self.input),
            (
                "runner.prices".to_string(),
                "cached_input",
                self.cached_input,
            ),
            ("runner.prices".to_string(), "cache_write", self.cache_write),
            ("runner.prices".to_string(), "output", self.output),
        ];
        let per_model = self.models.iter().flat_map(|(name, p)| {
            let t = format!("runner.prices.models.\"{name}\"");
            [
                (t.clone(), "input", p.input),
                (t.clone(), "cached_input", p.cached_input),
                (t.clone(), "cache_write", p.cache_write),
                (t, "output", p.output),
            ]
        });
        for (table, key, v) in flat.into_iter().chain(per_model) {
            if !v.is_finite() || v < 0.0 {
                return Err(c.err(
                    &table,
                    key,
                    format!("{v} is not a price (USD per million tokens, 0 or more)"),
                ));
            }
        }
        for name in self.models.keys() {
            if name.trim().is_empty() || name.chars().any(char::is_control) {
                return Err(c.err(
                    "runner.prices",
                    "models",
                    format!("\"{name}\" is not a model's name"),
                ));
            }
        }
        Ok(())
    }
}

/// `[runner.model]`: the model gateway (docs/runners.md#the-model-gateway-runnermodel).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ModelKeys {
    /// auto (default): on for a named agent in a box with `network = "model"`
    /// whose key is in afk's environment; on; off.
    pub gateway: crate::core::gateway::Mode,
    /// The variable holding the model's key in afk's environment (never the
    /// box's); empty: the agent's API's default (`ANTHROPIC_API_KEY`,
    /// `OPENAI_API_KEY`). A secret, whatever `secret_env` says.
    pub key_env: String,
    /// The model API's root (with `/v1` for OpenAI-style providers, without
    /// for Anthropic); empty: the agent's own base URL variable, else the
    /// vendor's API. https, or plain http to a loopback host only.
    pub upstream: String,
    /// What the vendor may do for the agent beyond answering (server-side
    /// tools, background answers, the priority tier, beta header values):
    /// each refused unless named here (`core::gateway::request::FEATURES`).
    pub allow_features: Vec<String>,
}

impl ModelKeys {
    /// The key's variable for `agent`: `key_env`, else its API's default
    /// (None: a custom agent and no `key_env`).
    pub fn key_env_for(&self, agent: AgentKind) -> Option<String> {
        let named = self.key_env.trim();
        if !named.is_empty() {
            return Some(named.to_string());
        }
        crate::core::gateway::Api::of_agent(agent).map(|a| a.default_key_env().to_string())
    }

    fn validate(&self, c: &Checker) -> Result<()> {
        let k = self.key_env.trim();
        if !k.is_empty() && !k.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_') {
            return Err(c.err(
                "runner.model",
                "key_env",
                format!("\"{k}\" is not an environment variable's name"),
            ));
        }
        for f in &self.allow_features {
            let f = f.trim();
            if f.is_empty()
                || f.len() > 100
                || f.chars()
                    .any(|c| c.is_control() || c.is_whitespace() || c == ',')
            {
                return Err(c.err(
                    "runner.model",
                    "allow_features",
                    format!("\"{}\" is not a feature's name (a tool's type without its date, or a beta header's value)", crate::core::sanitize::one_line(f, 100)),
                ));
            }
        }
        let u = self.upstream.trim();
        if !u.is_empty()
            && let Err(why) = crate::core::gateway::upstream_allowed(u)
        {
            return Err(c.err("runner.model", "upstream", why));
        }
        Ok(())
    }
}

impl Runner {
    /// How the ledger reads this agent's spend (`core::budget::spend::Meter`): the
    /// agent and the prices of its tokens.
    pub fn meter(&self) -> crate::core::budget::spend::Meter {
        crate::core::budget::spend::Meter {
            agent: self.agent(),
            prices: crate::core::budget::spend::Prices {
                input: self.prices.input,
                cached_input: self.prices.cached_input,
                output: self.prices.output,
            },
        }
    }
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
    /// workspace = "afk": the git containers' image (empty: the tick's own
    /// pod's image, afk's)
    pub git_image: String,
    /// workspace = "afk": the Secret with the forge credential (`username`,
    /// `token`), mounted only in the git containers
    pub git_secret: String,
    /// the model gateway (docs/kubernetes.md#the-model-gateway): the Secret
    /// holding the model's key, mounted only in the pod's gateway container;
    /// empty: no gateway
    pub model_secret: String,
    /// the key in `model_secret` holding the model's key (empty: the
    /// API's key variable, `runner.model.key_env`'s default)
    pub model_secret_key: String,
    pub cpu: String,
    pub memory: String,
    #[serde(deserialize_with = "de_duration")]
    pub active_deadline: Duration,
    #[serde(deserialize_with = "de_duration")]
    pub ttl_after_finished: Duration,
}
impl Kubernetes {
    /// The first key set to other than its default (the starter config
    /// shows every key at its default), if any.
    fn first_set(&self) -> Option<String> {
        let d = Kubernetes::default();
        [
            ("api_url", self.api_url != d.api_url),
            ("token_file", self.token_file != d.token_file),
            ("ca_file", self.ca_file != d.ca_file),
            ("namespace", self.namespace != d.namespace),
            ("image", self.image != d.image),
            ("service_account", self.service_account != d.service_account),
            ("env_secret", self.env_secret != d.env_secret),
            ("git_image", self.git_image != d.git_image),
            ("git_secret", self.git_secret != d.git_secret),
            ("model_secret", self.model_secret != d.model_secret),
            (
                "model_secret_key",
                self.model_secret_key != d.model_secret_key,
            ),
            ("cpu", self.cpu != d.cpu),
            ("memory", self.memory != d.memory),
            ("active_deadline", self.active_deadline != d.active_deadline),
            (
                "ttl_after_finished",
                self.ttl_after_finished != d.ttl_after_finished,
            ),
        ]
        .into_iter()
        .find(|(_, set)| *set)
        .map(|(k, _)| k.to_string())
    }
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
            git_image: String::new(),
            git_secret: String::new(),
            model_secret: String::new(),
            model_secret_key: String::new(),
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
            agent_key: None,
            command: vec![],
            resume_command: vec![],
            workspace_key: None,
            workdir: "{run_dir}/work".into(),
            git_cache: None,
            stall_after: Duration::from_secs(3 * 3600),
            agent_login: String::new(),
            url: String::new(),
            token_env: String::new(),
            prices: Prices::default(),
            model: ModelKeys::default(),
            kubernetes: Kubernetes::default(),
            confine_key: None,
            secret_env: vec![],
            leftover_ignore: vec![],
            boxed: BoxKeys::default(),
            git_author_key: String::new(),
            progress_group: String::new(),
        }
    }
}

impl Runner {
    /// The agent program (docs/runners.md, named agents): as written, else
    /// `custom` when the config has a `command` (configs from before `agent`
    /// keep working), else `claude`.
    pub fn agent(&self) -> AgentKind {
        match self.agent_key {
            Some(a) => a,
            None if !self.command.is_empty() => AgentKind::Custom,
            None => AgentKind::Claude,
        }
    }

    /// Who does the git around the agent (docs/how-it-works.md#the-workspace):
    /// as written, else `afk` for the command and Kubernetes runners (the Job's
    /// git containers) and `agent` for `http` (an agent thread's service owns
    /// its workspace).
    pub fn workspace(&self) -> Workspace {
        match (self.workspace_key, self.kind) {
            (_, RunnerKind::Http) => Workspace::Agent,
            (Some(w), _) => w,
            (None, _) => Workspace::Afk,
        }
    }

    /// `progress_group`'s id, when set (checked at load: a group afk's user is in).
    pub fn progress_gid(&self) -> Option<u32> {
        group_of(&self.progress_group).ok().flatten()
    }

    /// `git_author` as (name, address), when set (checked at load).
    pub fn git_author(&self) -> Option<(String, String)> {
        parse_author(&self.git_author_key).ok().flatten()
    }

    /// Whether each turn runs in a box: as written, else `box` for the
    /// command runner (the other kinds' agents run elsewhere: a Job's pod is
    /// its box, a thread service owns its own).
    pub fn confine(&self) -> crate::core::agent_box::Confine {
        use crate::core::agent_box::Confine;
        match (self.kind, self.confine_key) {
            (RunnerKind::Command, Some(c)) => c,
            (RunnerKind::Command, None) => Confine::Box,
            _ => Confine::None,
        }
    }

    /// A key this runner's mode never acts on is a load error, never
    /// silently ignored (docs/configuration.md: every key it documents acts
    /// where it is accepted): afk's commit keys where the agent commits (or
    /// a Job's containers commit with afk's own list), a workdir a Job does
    /// not use, the http runner's keys on another kind, the gateway forced
    /// on where no box runs it, and box settings where no box is made. A
    /// key at its default (the starter shows every one) is no setting.
    pub(super) fn validate_in_force(&self, c: &Checker) -> Result<()> {
        use crate::core::agent_box::Confine;
        if self.kind == RunnerKind::Kubernetes && !self.leftover_ignore.is_empty() {
            return Err(c.err(
                "runner",
                "leftover_ignore",
                "is not yet in force for kind \"kubernetes\" (its forwarding container commits a turn's leftovers with afk's own list only): leave it empty there",
            ));
        }
        if self.kind == RunnerKind::Kubernetes && self.workdir != Runner::default().workdir {
            return Err(c.err(
                "runner",
                "workdir",
                "is not used by kind \"kubernetes\" (the image's own working directory is the agent's): remove it",
            ));
        }
        if self.kind != RunnerKind::Http {
            for (key, v) in [("url", &self.url), ("token_env", &self.token_env)] {
                if !v.is_empty() {
                    return Err(c.err(
                        "runner",
                        key,
                        "is for kind \"http\" (the agent-thread service), and this runner is another kind: remove it",
                    ));
                }
            }
        }
        if self.workspace() == Workspace::Agent {
            for (key, set) in [
                ("git_author", !self.git_author_key.is_empty()),
                ("leftover_ignore", !self.leftover_ignore.is_empty()),
            ] {
                if set {
                    return Err(c.err(
                        "runner",
                        key,
                        "is for afk's own commits: with workspace = \"agent\" the agent commits and pushes itself, so it has nothing to act on; remove it",
                    ));
                }
            }
        }
        let boxed = self.confine() == Confine::Box;
        if self.model.gateway == crate::core::gateway::Mode::On
            && !boxed
            && self.kind != RunnerKind::Kubernetes
        {
            return Err(c.err(
                "runner.model",
                "gateway",
                "\"on\" runs the gateway beside the agent's box, and with this runner no box is made (confine = \"none\", or kind = \"http\"): the agent would run unmetered; use the command runner with confine = \"box\", or kind = \"kubernetes\"",
            ));
        }
        if let Some(key) = self
            .kubernetes
            .first_set()
            .filter(|_| self.kind != RunnerKind::Kubernetes)
        {
            return Err(c.err(
                "runner.kubernetes",
                &key,
                "is for kind = \"kubernetes\", and with this runner no Job is made: remove it, or set runner.kind = \"kubernetes\"",
            ));
        }
        if let Some(key) = self.boxed.first_set().filter(|_| !boxed) {
            return Err(c.err(
                "runner.box",
                &key,
                "is for the agent's box, and with this runner no box is made (confine = \"none\", or a kind other than \"command\"): remove [runner.box]",
            ));
        }
        Ok(())
    }

    fn validate_agent(&self, c: &Checker) -> Result<()> {
        if self.kind == RunnerKind::Command
            && self.agent() == AgentKind::Custom
            && self.command.is_empty()
        {
            return Err(c.err(
                "runner",
                "command",
                "must not be empty with agent = \"custom\"",
            ));
        }
        if self.workspace_key == Some(Workspace::Afk) && self.kind == RunnerKind::Http {
            let why =
                "kind \"http\" is always \"agent\": the agent-thread service owns its workspace";
            return Err(c.err("runner", "workspace", why));
        }
        if self.kind == RunnerKind::Kubernetes
            && self.workspace() == Workspace::Afk
            && self.kubernetes.git_secret.trim().is_empty()
        {
            return Err(crate::hint::hinted(
                c.err(
                    "runner.kubernetes",
                    "git_secret",
                    "workspace = \"afk\" (the default for kind \"kubernetes\") needs the Secret holding afk's forge credential (keys username and token), mounted only in the Job's git containers",
                ),
                "or set runner.workspace = \"agent\" for an agent image that does its own git (docs/kubernetes.md)",
            ));
        }
        if self.kind == RunnerKind::Kubernetes
            && self.workspace() == Workspace::Afk
            && self.kubernetes.git_secret.trim() == self.kubernetes.env_secret.trim()
        {
            return Err(c.err(
                "runner.kubernetes",
                "git_secret",
                "must not be env_secret: the agent's environment would hold the forge credential; keep the model's key and the forge credential in two Secrets",
            ));
        }
        let model = self.kubernetes.model_secret.trim();
        if self.kind == RunnerKind::Kubernetes
            && !model.is_empty()
            && (model == self.kubernetes.env_secret.trim()
                || model == self.kubernetes.git_secret.trim())
        {
            return Err(c.err(
                "runner.kubernetes",
                "model_secret",
                "must be a Secret of its own: the gateway container alone mounts it, never the agent's env_secret nor the git containers' git_secret",
            ));
        }
        let key = self.kubernetes.model_secret_key.trim();
        if !key.is_empty()
            && !key
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || "-_.".contains(ch))
        {
            return Err(c.err(
                "runner.kubernetes",
                "model_secret_key",
                format!("\"{key}\" is not a Secret's key (a-z A-Z 0-9 - _ .)"),
            ));
        }
        self.prices.validate(c)?;
        self.model.validate(c)?;
        Ok(())
    }

    pub(super) fn validate(&self, c: &Checker) -> Result<()> {
        self.validate_agent(c)?;
        let secs = Duration::from_secs;
        let r = self;
        if !r.url.is_empty() && !is_http_url(&r.url) {
            let url = &r.url;
            return Err(c.err("runner", "url", format!("\"{url}\" is not an http(s) URL")));
        }
        c.duration(
            "runner",
            "stall_after",
            r.stall_after,
            secs(MINUTE),
            secs(30 * DAY),
        )?;
        for (key, command) in [
            ("command", &r.command),
            ("resume_command", &r.resume_command),
        ] {
            if let Some((p, var)) = crate::core::placeholders::placeholder_in_shell_script(command)
            {
                return Err(crate::hint::hinted(
                    c.err(
                        "runner",
                        key,
                        format!(
                            "{p} inside a shell script would become shell code (placeholders stand only as arguments of their own)"
                        ),
                    ),
                    format!("use \"${var}\" there"),
                ));
            }
        }
        if r.kind == RunnerKind::Http && r.url.is_empty() {
            return Err(c.err("runner", "kind", "\"http\" needs runner.url"));
        }
        if r.kind != RunnerKind::Command
            && r.confine_key == Some(crate::core::agent_box::Confine::Box)
        {
            return Err(c.err(
                "runner",
                "confine",
                "\"box\" is for the command runner; a Kubernetes Job's pod is its agent's box and an agent-thread service keeps its own",
            ));
        }
        for v in &r.secret_env {
            if v.is_empty() || !v.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_') {
                return Err(c.err(
                    "runner",
                    "secret_env",
                    format!("\"{v}\" is not an environment variable's name"),
                ));
            }
        }
        self.boxed.validate(c)?;
        if let Err(why) = parse_author(&r.git_author_key) {
            return Err(c.err("runner", "git_author", why));
        }
        // a named user must exist; the default is looked up only when a
        // box is made (a disabled tick makes no user lookup)
        if !r.boxed.user.trim().is_empty()
            && let Err(why) = r.boxed.host_user()
        {
            return Err(c.err("runner.box", "user", why));
        }
        if let Err(why) = group_of(&r.progress_group) {
            return Err(c.err("runner", "progress_group", why));
        }
        if !r.progress_group.is_empty() && r.kind != RunnerKind::Command {
            return Err(c.err(
                "runner",
                "progress_group",
                "is for the command runner's agents run as another user: leave it empty for this kind",
            ));
        }
        if !r.git_author_key.is_empty() && r.kind == RunnerKind::Kubernetes {
            return Err(c.err(
                "runner",
                "git_author",
                "is not yet in force for kind \"kubernetes\" (its git containers commit as afk): leave it empty there",
            ));
        }
        self.kubernetes.validate(c, self.kind)
    }
}

/// A group's id by name, when afk's user may give files to it (root, or a
/// member); empty: None.
/// A user's uid and gid by name (getpwnam_r), if there is one.
/// The box's host id when no `afk-agent` account exists and
/// `runner.box.user` is unset: the first from `HOST_ID_BASE` that no account
/// (user or group) has and no range of `/etc/subuid` or `/etc/subgid`
/// covers (`core::agent_box::ids::free_host_id`).
pub fn default_host_id() -> u32 {
    let ranges = subordinate_ranges();
    crate::core::agent_box::ids::free_host_id(
        |id| uid_has_account(id) || gid_has_group(id),
        &ranges,
    )
}

/// Every range of `/etc/subuid` and `/etc/subgid` (each read bounded; an
/// unreadable file has none).
pub fn subordinate_ranges() -> Vec<(u64, u64)> {
    ["/etc/subuid", "/etc/subgid"]
        .iter()
        .filter_map(|f| crate::private_files::read_run_file(std::path::Path::new(f), 1 << 20).ok())
        .flat_map(|t| crate::core::agent_box::ids::sub_ranges(&t))
        .collect()
}

/// Whether an account has uid `id` (NSS: getpwuid_r).
pub fn uid_has_account(id: u32) -> bool {
    let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    let mut found: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: getpwuid_r(3) with buffers this function owns
    let rc = unsafe { libc::getpwuid_r(id, &mut pw, buf.as_mut_ptr(), buf.len(), &mut found) };
    rc == 0 && !found.is_null()
}

/// Whether a group has gid `id` (NSS: getgrgid_r).
pub fn gid_has_group(id: u32) -> bool {
    let mut gr: libc::group = unsafe { std::mem::zeroed() };
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    let mut found: *mut libc::group = std::ptr::null_mut();
    // SAFETY: getgrgid_r(3) with buffers this function owns
    let rc = unsafe { libc::getgrgid_r(id, &mut gr, buf.as_mut_ptr(), buf.len(), &mut found) };
    rc == 0 && !found.is_null()
}

/// Whether the box's host user is the dedicated `afk-agent` account.
pub fn is_dedicated_account(ids: (u32, u32)) -> bool {
    user_of("afk-agent") == Some(ids)
}

fn user_of(name: &str) -> Option<(u32, u32)> {
    let c = std::ffi::CString::new(name).ok()?;
    let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    let mut found: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: getpwnam_r(3) with a NUL-terminated name and buffers this
    // function owns; the result points into them
    let rc =
        unsafe { libc::getpwnam_r(c.as_ptr(), &mut pw, buf.as_mut_ptr(), buf.len(), &mut found) };
    (rc == 0 && !found.is_null()).then_some((pw.pw_uid, pw.pw_gid))
}

fn group_of(name: &str) -> std::result::Result<Option<u32>, Invalid> {
    let name = name.trim();
    if name.is_empty() {
        return Ok(None);
    }
    let Ok(c) = std::ffi::CString::new(name) else {
        return Err(Invalid(format!("\"{name}\" is not a group name")));
    };
    let mut grp: libc::group = unsafe { std::mem::zeroed() };
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    let mut found: *mut libc::group = std::ptr::null_mut();
    // SAFETY: getgrnam_r(3) with a NUL-terminated name and buffers this
    // function owns; the result points into them
    let rc = unsafe {
        libc::getgrnam_r(
            c.as_ptr(),
            &mut grp,
            buf.as_mut_ptr(),
            buf.len(),
            &mut found,
        )
    };
    if rc != 0 || found.is_null() {
        return Err(Invalid(format!(
            "no group \"{name}\" on this machine (getent group {name})"
        )));
    }
    let gid = grp.gr_gid;
    // SAFETY: geteuid(2), getegid(2) and getgroups(2) cannot fail this way
    let (root, egid) = unsafe { (libc::geteuid() == 0, libc::getegid()) };
    let mut groups = vec![0 as libc::gid_t; 1024];
    let n = unsafe { libc::getgroups(groups.len() as libc::c_int, groups.as_mut_ptr()) };
    let member = egid == gid || groups.iter().take(n.max(0) as usize).any(|g| *g == gid);
    if !root && !member {
        return Err(Invalid(format!(
            "afk's user is not in the group \"{name}\": add it (usermod -aG {name} <afk's user>), then log in again"
        )));
    }
    Ok(Some(gid))
}

/// `"Name <address>"` as (name, address); empty: None.
fn parse_author(s: &str) -> std::result::Result<Option<(String, String)>, Invalid> {
    let t = s.trim();
    if t.is_empty() {
        return Ok(None);
    }
    let bad = || {
        Invalid(format!(
            "\"{s}\" is not \"Name <address>\" (e.g. \"Jane Doe <jane@example.org>\")"
        ))
    };
    let (name, rest) = t.split_once('<').ok_or_else(bad)?;
    let email = rest.strip_suffix('>').ok_or_else(bad)?;
    let name = name.trim();
    let clean =
        |v: &str| !v.is_empty() && !v.chars().any(|c| c.is_control() || "<>\"\\".contains(c));
    if !clean(name) || !clean(email) || !email.contains('@') || email.contains(' ') {
        return Err(bad());
    }
    Ok(Some((name.to_string(), email.to_string())))
}

impl Kubernetes {
    /// `[runner.kubernetes]`: checked whatever the kind, so a typo waits for no switch.
    fn validate(&self, c: &Checker, kind: RunnerKind) -> Result<()> {
        let k = self;
        let t = "runner.kubernetes";
        if kind == RunnerKind::Kubernetes && k.image.trim().is_empty() {
            return Err(c.err(
                t,
                "image",
                "kind \"kubernetes\" needs the agent's container image",
            ));
        }
        if !k.api_url.is_empty()
            && let Err(why) = crate::core::kube::api_url_allowed(&k.api_url)
        {
            return Err(c.err(t, "api_url", why));
        }
        for (key, v) in [
            ("namespace", &k.namespace),
            ("service_account", &k.service_account),
            ("env_secret", &k.env_secret),
            ("git_secret", &k.git_secret),
            ("model_secret", &k.model_secret),
        ] {
            if !v.is_empty() && !crate::core::kube::is_dns_subdomain(v) {
                return Err(c.err(
                    t,
                    key,
                    format!("\"{v}\" is not a valid Kubernetes name (a-z 0-9 - ., at most 253)"),
                ));
            }
        }
        for (key, v) in [("cpu", &k.cpu), ("memory", &k.memory)] {
            if !crate::core::kube::is_quantity(v) {
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
}

impl Config {
    pub fn stall_after(&self) -> Duration {
        self.runner.stall_after
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::{err, parse};

    #[test]
    fn runner_kubernetes_keys_are_checked() {
        let k = "[runner]\nkind = \"kubernetes\"\n[runner.kubernetes]\ngit_secret = \"afk-git\"\n";
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
                "config: runner.kubernetes.api_url at line 6: \"http://10.0.0.1:6443\" is plain http",
            ),
            (
                "image = \"x\"\nnamespace = \"Team_A\"\n",
                "config: runner.kubernetes.namespace at line 6: \"Team_A\" is not a valid",
            ),
            (
                "image = \"x\"\nmemory = \"2 GB\"\n",
                "config: runner.kubernetes.memory at line 6: \"2 GB\" is not a Kubernetes quantity",
            ),
            (
                "image = \"x\"\nactive_deadline = \"10s\"\n",
                "config: runner.kubernetes.active_deadline at line 6: \"10s\" is out of range",
            ),
            (
                "image = \"x\"\nimgae = \"y\"\n",
                "config: unknown key \"imgae\" in [runner.kubernetes] at line 6 (did you mean \"image\"?)",
            ),
        ];
        for (text, want) in cases {
            let e = err(&format!("{k}{text}"));
            assert!(e.starts_with(want), "case {text:?}: {e}");
        }
    }

    #[test]
    fn kubernetes_in_afk_s_workspace_needs_its_own_git_secret() {
        let k = "[runner]\nkind = \"kubernetes\"\n";
        let c = parse(&format!(
            "{k}workspace = \"agent\"\n[runner.kubernetes]\nimage = \"x\"\n"
        ))
        .unwrap();
        assert_eq!(c.runner.workspace(), Workspace::Agent);
        let c = parse(&format!(
            "{k}[runner.kubernetes]\nimage = \"x\"\ngit_secret = \"g\"\n"
        ))
        .unwrap();
        assert_eq!(
            c.runner.workspace(),
            Workspace::Afk,
            "the default for the kind"
        );
        for (text, want) in [
            (
                "[runner.kubernetes]\nimage = \"x\"\n",
                "config: runner.kubernetes.git_secret: workspace = \"afk\" (the default for kind \"kubernetes\") needs the Secret",
            ),
            (
                "[runner.kubernetes]\nimage = \"x\"\ngit_secret = \"s\"\nenv_secret = \"s\"\n",
                "config: runner.kubernetes.git_secret at line 5: must not be env_secret",
            ),
        ] {
            let e = err(&format!("{k}{text}"));
            assert!(e.starts_with(want), "case {text:?}: {e}");
        }
    }

    #[test]
    fn git_author_is_a_name_and_an_address() {
        let c = parse("[runner]\ngit_author = \"Jane Doe <jane@example.org>\"\n").unwrap();
        assert_eq!(
            c.runner.git_author(),
            Some(("Jane Doe".into(), "jane@example.org".into()))
        );
        assert_eq!(parse("").unwrap().runner.git_author(), None);
        for bad in [
            "Jane",
            "<jane@example.org>",
            "Jane <jane>",
            "Jane <a@b> x",
            "J\\u0007 <a@b>",
        ] {
            let e = err(&format!("[runner]\ngit_author = \"{bad}\"\n"));
            assert!(
                e.starts_with("config: runner.git_author at line 2: "),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn progress_group_is_a_group_afks_user_may_give_files_to() {
        assert_eq!(parse("").unwrap().runner.progress_gid(), None);
        for (text, want) in [
            (
                "[runner]\nprogress_group = \"no-such-group-afk\"\n",
                "config: runner.progress_group at line 2: no group",
            ),
            (
                "[runner]\nkind = \"http\"\nurl = \"https://a.example\"\nprogress_group = \"root\"\n",
                "config: runner.progress_group at line 4: is for the command runner",
            ),
        ] {
            let e = err(text);
            assert!(e.starts_with(want), "{text}: {e}");
        }
    }

    #[test]
    fn runner_model_and_per_model_prices_are_checked_at_load() {
        let c = parse(
            "[runner]\nagent = \"codex\"\n[runner.model]\ngateway = \"on\"\nkey_env = \"MY_KEY\"\nupstream = \"http://127.0.0.1:9/model/openai/v1\"\n[runner.prices]\ncache_write = 1.5\n[runner.prices.models.\"gpt-9\"]\ninput = 1.0\ncached_input = 0.1\ncache_write = 1.25\noutput = 8.0\n",
        )
        .unwrap();
        assert_eq!(c.runner.model.gateway, crate::core::gateway::Mode::On);
        assert_eq!(
            c.runner.model.key_env_for(c.runner.agent()).as_deref(),
            Some("MY_KEY")
        );
        assert_eq!(c.runner.prices.flat().cache_write, 1.5);
        assert_eq!(c.runner.prices.models()["gpt-9"].output, 8.0);
        let d = parse("").unwrap();
        assert_eq!(d.runner.model.gateway, crate::core::gateway::Mode::Auto);
        assert_eq!(
            d.runner.model.key_env_for(d.runner.agent()).as_deref(),
            Some("ANTHROPIC_API_KEY")
        );
        let m = "[runner.model]\n";
        for (text, want) in [
            (
                format!("{m}gateway = \"maybe\"\n"),
                "config: runner.model.gateway at line 2: unknown variant `maybe`",
            ),
            (
                format!("{m}upstream = \"http://api.openai.com/v1\"\n"),
                "config: runner.model.upstream at line 2: \"http://api.openai.com/v1\" is plain http",
            ),
            (
                format!("{m}upstream = \"api.anthropic.com\"\n"),
                "config: runner.model.upstream at line 2: \"api.anthropic.com\" is not an https URL",
            ),
            (
                format!("{m}key_env = \"MY-KEY\"\n"),
                "config: runner.model.key_env at line 2: \"MY-KEY\" is not an environment variable",
            ),
            (
                format!("{m}gatway = \"on\"\n"),
                "config: unknown key \"gatway\" in [runner.model] at line 2 (did you mean \"gateway\"?)",
            ),
            (
                "[runner.prices]\ncache_write = -1.0\n".to_string(),
                "config: runner.prices.cache_write at line 2: -1 is not a price",
            ),
            (
                "[runner.prices.models.\"m\"]\ninput = 1.0\n".to_string(),
                "config: missing field `output`",
            ),
            (
                "[runner.prices.models.\"m\"]\ninput = 1.0\ncached_input = 0.0\ncache_write = 0.0\noutput = -2.0\n".to_string(),
                "config: runner.prices.models.\"m\".output",
            ),
        ] {
            let e = err(&text);
            assert!(e.starts_with(want), "case {text:?}: {e}");
            assert!(!e.contains('\n'), "{e}");
        }
    }

    #[test]
    fn the_models_key_is_a_secret_whatever_secret_env_says() {
        let key = "sk-unit-gw-5c1e9a7d20b4f3";
        // SAFETY: a variable no other test names
        unsafe { std::env::set_var("AFK_UNIT_GW_KEY", key) };
        let c =
            parse("[runner]\nagent = \"codex\"\n[runner.model]\nkey_env = \"AFK_UNIT_GW_KEY\"\n")
                .unwrap();
        let held = c.secret_values();
        assert!(
            held.iter()
                .any(|(what, s)| what == "$AFK_UNIT_GW_KEY" && s.expose() == key),
            "{:?}",
            held.iter().map(|(w, _)| w).collect::<Vec<_>>()
        );
    }

    #[test]
    fn http_runner_needs_a_url() {
        let e = err("[runner]\nkind = \"http\"\n");
        assert!(e.starts_with("config: runner.kind at line 2: "), "{e}");
    }
}
