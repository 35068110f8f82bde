//! The box's environment (docs/runners.md#the-boxs-environment): which of
//! afk's variables reach the agent, an allowlist ([`EnvPass`]).

use crate::types::AgentKind;

/// Which of afk's environment variables reach the box's agent
/// (docs/runners.md#the-boxs-environment): an allowlist, never afk's
/// environment less a list. What afk sets itself (HOME, the proxy, the
/// gateway's base URL and placeholder key, the program's settings folder)
/// comes on top; a name afk removes (a key, a login) is removed whatever
/// this says.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EnvPass {
    /// Passed by name.
    pub names: Vec<String>,
    /// Passed by prefix (`LC_`, the agent program's own).
    pub prefixes: Vec<String>,
}

/// What every box gets of afk's environment: the search path, the locale,
/// the terminal and the time zone.
pub(crate) const ENV_BASE: [&str; 6] = ["PATH", "LANG", "LANGUAGE", "TERM", "TZ", "NO_COLOR"];

/// The variables a turn's command is started with (the runner sets them;
/// docs/runners.md#what-the-agent-gets).
pub const TURN_VARS: [&str; 11] = [
    "AFK_RUN_ID",
    "AFK_REPO",
    "AFK_ISSUE",
    "AFK_BRANCH",
    "AFK_PROMPT_FILE",
    "AFK_RUN_DIR",
    "AFK_PROGRESS_FILE",
    "AFK_TURN",
    "AFK_BUDGET_USD",
    "AFK_WORKSPACE",
    "AFK_BOX",
];

impl EnvPass {
    /// The allowlist of a turn: [`ENV_BASE`], the locale's `LC_*`, the
    /// turn's own variables (`TURN_VARS` and `turn`), what the named agent's
    /// program is documented to read (Claude Code's `ANTHROPIC_*`,
    /// `CLAUDE_CODE_*`, `DISABLE_*`; Codex's `OPENAI_*`, `CODEX_*` and its
    /// provider's key variable), and `runner.box.env`.
    pub fn of(
        agent: AgentKind,
        provider_key: Option<&str>,
        turn: &[&str],
        operator: &[String],
    ) -> EnvPass {
        let mut names: Vec<String> = ENV_BASE
            .iter()
            .chain(TURN_VARS.iter())
            .chain(turn.iter())
            .map(|s| s.to_string())
            .collect();
        names.extend(
            operator
                .iter()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty()),
        );
        let mut prefixes = vec!["LC_".to_string()];
        match agent {
            AgentKind::Claude => {
                prefixes.extend(["ANTHROPIC_", "CLAUDE_CODE_", "DISABLE_"].map(String::from));
                names.push("MAX_THINKING_TOKENS".into());
            }
            AgentKind::Codex => {
                prefixes.extend(["OPENAI_", "CODEX_"].map(String::from));
                names.extend(provider_key.map(str::to_string));
            }
            AgentKind::Custom => {}
        }
        names.sort();
        names.dedup();
        EnvPass { names, prefixes }
    }

    /// Whether afk's variable `name` reaches the box.
    pub fn admits(&self, name: &str) -> bool {
        self.names.iter().any(|n| n == name)
            || self.prefixes.iter().any(|p| name.starts_with(p.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_boxs_environment_is_an_allowlist_never_afks_less_a_list() {
        let claude = EnvPass::of(
            AgentKind::Claude,
            None,
            &["AFK_TESTS_REPO"],
            &["MY_TOOLCHAIN".into()],
        );
        let codex = EnvPass::of(AgentKind::Codex, Some("AZURE_KEY"), &[], &[]);
        let custom = EnvPass::of(AgentKind::Custom, None, &[], &[]);
        // (pass, name, admitted)
        let cases: &[(&EnvPass, &str, bool)] = &[
            (&claude, "PATH", true),
            (&claude, "LC_ALL", true),
            (&claude, "AFK_RUN_DIR", true),
            (&claude, "AFK_TESTS_REPO", true),
            (&claude, "MY_TOOLCHAIN", true),
            (&claude, "ANTHROPIC_MODEL", true),
            (&claude, "CLAUDE_CODE_MAX_OUTPUT_TOKENS", true),
            // a copy of the forge's token under any other name stays out
            (&claude, "MY_COPY", false),
            (&claude, "AFK_SANDBOX_TOKEN", false),
            (&claude, "GITEA_TOKEN", false),
            (&claude, "OPENAI_API_KEY", false),
            (&claude, "SSH_AUTH_SOCK", false),
            (&codex, "OPENAI_BASE_URL", true),
            (&codex, "AZURE_KEY", true),
            (&codex, "ANTHROPIC_API_KEY", false),
            (&custom, "ANTHROPIC_API_KEY", false),
            (&custom, "TERM", true),
        ];
        for (pass, name, want) in cases {
            assert_eq!(pass.admits(name), *want, "{name}");
        }
    }
}
