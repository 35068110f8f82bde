//! The model gateway as the tick sets it up: whether it is on for a turn
//! (`setup`), and what the tick hands the keeper and the box (`On`).

use super::*;

/// What the tick decided for the gateway (afk's environment is the tick's
/// own: the key's presence is read once).
#[derive(Debug, Clone)]
pub enum Setup {
    /// Off, and why (doctor: the key is in the agent's reach and the spend
    /// is the agent's word).
    Off(String),
    /// No turn starts: `gateway = "on"` and the key is missing, or the
    /// upstream is not one the gateway sends a key to.
    Refused(String),
    On(On),
}

/// The gateway of every turn of this tick.
#[derive(Debug, Clone)]
pub struct On {
    pub api: Api,
    pub key_env: String,
    pub upstream: String,
    pub(crate) models: BTreeMap<String, prices::Price>,
    pub(crate) flat: prices::Price,
    /// `runner.secret_env` (see [`GatewaySpec::redact_env`]).
    pub(crate) redact_env: Vec<String>,
    /// `[runner.model] allow_features`.
    pub(crate) allow_features: Vec<String>,
    /// Every secret the config names (see [`GatewaySpec::held`]).
    pub(crate) held: Vec<crate::redact::Secret>,
}

/// docs/runners.md#the-model-gateway-runnermodel over `[runner.model]` (a boxed command runner).
pub fn setup(cfg: &crate::config::Config, network_model: bool) -> Setup {
    let agent = cfg.runner.agent();
    let m = &cfg.runner.model;
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    let codex = agent == crate::types::AgentKind::Codex;
    let key_env = match m.key_env.trim() {
        "" if codex => super::super::paths::codex_provider_key("env_key")
            .filter(|k| !k.is_empty())
            .or_else(|| m.key_env_for(agent)),
        _ => m.key_env_for(agent),
    }
    .unwrap_or_default();
    let setting = rules::Setting {
        mode: m.gateway,
        agent,
        boxed: true,
        network_model,
        key_env: &key_env,
        key_present: !key_env.is_empty() && crate::config::env_secret_set(&key_env),
    };
    let api = match rules::in_force(&setting) {
        rules::InForce::Off(why) => return Setup::Off(why),
        rules::InForce::MissingKey(k) => {
            return Setup::Refused(format!(
                "runner.model.gateway = \"on\" and ${k} (runner.model.key_env) is not in afk's environment: no agent starts without its key at the gateway; set it in afk's environment (/etc/afk/env), or gateway = \"auto\""
            ));
        }
        rules::InForce::On(api) => api,
    };
    if !network_model {
        return Setup::Refused(
            "runner.model.gateway = \"on\" needs runner.box.network = \"model\" (the gateway is the box's only way to its model)".into(),
        );
    }
    let own = match api {
        Api::Anthropic => env("ANTHROPIC_BASE_URL"),
        Api::OpenAi => super::super::paths::codex_base_url().or_else(|| env("OPENAI_BASE_URL")),
    };
    let upstream = match m.upstream.trim() {
        "" => own.unwrap_or_else(|| api.vendor_upstream().to_string()),
        u => u.to_string(),
    };
    if let Err(why) = rules::upstream_allowed(&upstream) {
        return Setup::Refused(format!(
            "the model gateway's upstream {why} (runner.model.upstream, else the agent's base URL in afk's environment)"
        ));
    }
    Setup::On(On {
        api,
        key_env,
        upstream: upstream.trim().to_string(),
        models: cfg.runner.prices.models(),
        flat: cfg.runner.prices.flat(),
        redact_env: cfg.runner.secret_env.clone(),
        allow_features: cfg.runner.model.allow_features.clone(),
        held: cfg.held_secrets(),
    })
}

impl On {
    /// One `GET /v1/models` to the upstream with the key, as the gateway
    /// sends it (the key only to the host configured for it; no body):
    /// free on both vendors' APIs, and 401 for a key they refuse (doctor).
    pub fn probe_key(&self) -> crate::core::gateway::doctor::KeyProbe {
        use crate::core::gateway::doctor::KeyProbe;
        let Some(key) = crate::config::env_secret(&self.key_env) else {
            return KeyProbe::NoKey;
        };
        let url = crate::core::gateway::upstream_url(self.api, &self.upstream, "/v1/models");
        let agent = afk_http::client::builder(std::time::Duration::from_secs(10)).build();
        let mut req = agent.get(&url);
        for (name, value) in crate::core::gateway::added_request_headers(self.api, key.expose()) {
            req = req.set(name, &value);
        }
        if self.api == Api::Anthropic {
            req = req.set("anthropic-version", "2023-06-01");
        }
        match req.call() {
            Ok(r) => KeyProbe::Status(r.status()),
            Err(crate::client::Error::Status(s, _)) => KeyProbe::Status(s),
            Err(crate::client::Error::Transport(t)) => {
                KeyProbe::Unreached(crate::redact::text(&t.to_string()).into_owned())
            }
        }
    }

    /// `[runner.model] allow_features`.
    pub fn allow_features(&self) -> &[String] {
        &self.allow_features
    }

    /// The loopback port inside the box: one no `allow` entry nor the proxy takes.
    pub fn port(&self, allow: &[crate::core::agent_box::forwarder::HostPort]) -> u16 {
        let proxy = crate::core::agent_box::forwarder::proxy_port(allow);
        (4141..u16::MAX)
            .find(|p| *p != proxy && !allow.iter().any(|a| a.is_loopback() && a.port == *p))
            .unwrap_or(4141)
    }

    /// The turn's spec of it, gated by what is left of the run's money
    /// limits (`left_usd`) counted as a run limit alone; [`On::spec_gated`]
    /// names the limit a stop hits.
    pub fn spec(&self, port: u16, run_dir: &std::path::Path, left_usd: Option<f64>) -> GatewaySpec {
        let gate = left_usd.map(|left| match prices::micro(left) {
            // nothing left: the first request is refused
            0 => budget::Gate {
                limits: crate::core::budget::spend::MoneyLimits {
                    run_usd: prices::usd(1),
                    ..Default::default()
                },
                run_before: 1,
                ..Default::default()
            },
            _ => budget::Gate {
                limits: crate::core::budget::spend::MoneyLimits {
                    run_usd: left,
                    ..Default::default()
                },
                ..Default::default()
            },
        });
        self.spec_gated(port, run_dir, gate)
    }

    /// The turn's spec of it, gated by `gate` (docs/runners.md#the-model-gateway-runnermodel).
    pub fn spec_gated(
        &self,
        port: u16,
        run_dir: &std::path::Path,
        gate: Option<budget::Gate>,
    ) -> GatewaySpec {
        let mut hosts = vec![
            format!("127.0.0.1:{port}"),
            format!("localhost:{port}"),
            rules::authority_of(&self.upstream),
        ];
        hosts.dedup();
        GatewaySpec {
            api: self.api,
            key_env: self.key_env.clone(),
            upstream: self.upstream.clone(),
            hosts,
            port,
            models: self.models.clone(),
            flat: self.flat,
            gate,
            metered: run_dir.join(METERED),
            turn: 0,
            redact_env: self.redact_env.clone(),
            allow_features: self.allow_features.clone(),
            held: Held::of(&self.held),
        }
    }

    /// The variables the box loses: the key's, every key and login
    /// variable of the agent's, its own base URL, and every variable of
    /// afk's environment whose value carries the key
    /// (`core::gateway::key_vars`).
    pub fn unset(&self) -> Vec<String> {
        let mut v: Vec<String> = PROGRAM_KEYS
            .iter()
            .chain(["ANTHROPIC_BASE_URL", "OPENAI_BASE_URL"].iter())
            .map(|s| s.to_string())
            .collect();
        v.push(self.key_env.clone());
        // the same key under any other name of afk's environment
        if let Some(key) = crate::config::env_secret(&self.key_env) {
            v.extend(crate::config::env_vars_holding(&key));
        }
        v.sort();
        v.dedup();
        v
    }

    /// The variables the box gets: the loopback base URL and a placeholder
    /// key (Claude); the placeholder Codex's provider of afk's making reads.
    pub fn env(&self, port: u16) -> Vec<(String, String)> {
        match self.api {
            Api::Anthropic => vec![
                (
                    "ANTHROPIC_BASE_URL".into(),
                    format!("http://127.0.0.1:{port}"),
                ),
                ("ANTHROPIC_API_KEY".into(), PLACEHOLDER.into()),
                // Claude Code sends no experimental beta header: a beta
                // afk has not read is refused (core::gateway::request)
                ("CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS".into(), "1".into()),
            ],
            Api::OpenAi => vec![(CODEX_KEY_VAR.into(), PLACEHOLDER.into())],
        }
    }

    /// Codex's settings for the box (`CODEX_HOME` of the run's own): the
    /// operator's config.toml (no login) with a provider of afk's making,
    /// the gateway's loopback address, its key a placeholder.
    pub fn codex_config(&self, port: u16) -> String {
        let mut t = super::super::paths::codex_config().unwrap_or_default();
        let theirs = t
            .get("model_provider")
            .and_then(|p| p.as_str())
            .and_then(|p| t.get("model_providers")?.get(p)?.as_table().cloned())
            .unwrap_or_default();
        let mut ours = theirs;
        ours.insert("name".into(), "afk's model gateway".into());
        ours.insert(
            "base_url".into(),
            format!("http://127.0.0.1:{port}/v1").into(),
        );
        ours.insert("env_key".into(), CODEX_KEY_VAR.into());
        for k in [
            "query_params",
            "http_headers",
            "env_http_headers",
            "experimental_bearer_token",
        ] {
            ours.remove(k);
        }
        ours.entry("wire_api").or_insert("responses".into());
        t.insert("model_provider".into(), CODEX_PROVIDER.into());
        // Codex asks for the vendor's web search by default: the gateway
        // refuses it unless allow_features names it, so Codex is told
        if !self
            .allow_features
            .iter()
            .any(|f| f.trim().eq_ignore_ascii_case("web_search"))
        {
            t.insert("web_search".into(), "disabled".into());
        }
        let providers = t
            .entry("model_providers")
            .or_insert_with(|| toml::Value::Table(Default::default()));
        if let Some(p) = providers.as_table_mut() {
            p.clear();
            p.insert(CODEX_PROVIDER.into(), toml::Value::Table(ours));
        }
        format!(
            "# written by afk for this turn: Codex reaches its model through afk's gateway (docs/runners.md#the-model-gateway-runnermodel)\n{}",
            toml::to_string(&t).unwrap_or_default()
        )
    }
}
