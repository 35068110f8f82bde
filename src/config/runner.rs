//! `[runner]` and `[runner.kubernetes]`: how afk starts an agent.

use anyhow::Result;
use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;

use super::check::Checker;
use super::values::{DAY, MINUTE, de_duration, de_path, is_http_url};
use super::{Config, RunnerKind};

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

impl Runner {
    pub(super) fn validate(&self, c: &Checker) -> Result<()> {
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
        self.kubernetes.validate(c, self.kind)
    }
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
    fn http_runner_needs_a_url() {
        let e = err("[runner]\nkind = \"http\"\n");
        assert!(e.starts_with("config: runner.kind at line 2: "), "{e}");
    }
}
