//! Agents by name (docs/runners.md, named agents): the command line afk runs
//! for `claude` and `codex`, and `custom`'s as written. Pure: the program's
//! path and the turn's budget are arguments.

use afk_model::AgentKind;

/// The program a named agent runs (looked up on `PATH`).
pub fn program(kind: AgentKind) -> Option<&'static str> {
    match kind {
        AgentKind::Claude => Some("claude"),
        AgentKind::Codex => Some("codex"),
        AgentKind::Custom => None,
    }
}

/// The versions of the agent programs afk is checked with: the pins of
/// `agents/package.json` (what the tests and the demo run), said once here
/// for every install line afk prints (a unit test holds them to the file).
pub(crate) const CLAUDE_CODE_VERSION: &str = "2.1.331";
pub(crate) const CODEX_VERSION: &str = "0.169.0";

/// A named agent's npm package and the version afk is checked with.
pub fn package(kind: AgentKind) -> Option<(&'static str, &'static str)> {
    match kind {
        AgentKind::Claude => Some(("@anthropic-ai/claude-code", CLAUDE_CODE_VERSION)),
        AgentKind::Codex => Some(("@openai/codex", CODEX_VERSION)),
        AgentKind::Custom => None,
    }
}

/// How to install a named agent's program (its npm package at the version
/// afk is checked with, docs/runners.md, named agents).
pub fn install_command(kind: AgentKind) -> Option<String> {
    package(kind).map(|(name, version)| format!("npm install -g {name}@{version}"))
}

/// The flags that make Claude Code a non-interactive agent whose every line
/// afk can read: the prompt on stdin, one JSON event a line (its own output
/// kept in `agent.log`; `stream-json` needs `--verbose`), and its tools
/// allowed without asking (it runs unattended in afk's checkout).
pub(crate) const CLAUDE_FLAGS: &[&str] = &[
    "-p",
    "--output-format",
    "stream-json",
    "--verbose",
    "--dangerously-skip-permissions",
];

/// Codex CLI's non-interactive mode: JSON lines on stdout, commands run
/// without asking and without its own sandbox (afk's checkout is the
/// agent's to change; isolation is the runner's: another user, a
/// container), no check that the folder is a trusted git repository, and
/// the prompt read from stdin (`-`, last).
pub(crate) const CODEX_FLAGS: &[&str] = &[
    "exec",
    "--json",
    "--dangerously-bypass-approvals-and-sandbox",
    "--skip-git-repo-check",
];

/// The argv of one turn: a named agent's built-in line with `extra`
/// (`runner.command`) appended, `custom`'s `extra` as written. `budget`: the
/// turn's money limit in plain dollars (`AFK_BUDGET_USD`), which Claude
/// enforces itself inside the turn (`--max-budget-usd`); Codex has no such
/// flag (watch stops it). `resume`: the agent's own session of the run's
/// last turn, where the program can resume one.
pub fn argv(
    kind: AgentKind,
    extra: &[String],
    budget: Option<&str>,
    resume: Option<&str>,
) -> Vec<String> {
    let own = |s: &[&str]| s.iter().map(|a| a.to_string()).collect::<Vec<_>>();
    match kind {
        AgentKind::Custom => extra.to_vec(),
        AgentKind::Claude => {
            let mut v = vec!["claude".to_string()];
            v.extend(own(CLAUDE_FLAGS));
            if let Some(usd) = budget {
                v.extend(["--max-budget-usd".to_string(), usd.to_string()]);
            }
            if let Some(id) = resume.filter(|id| is_session_id(id)) {
                v.extend(["--resume".to_string(), id.to_string()]);
            }
            v.extend(extra.iter().cloned());
            v
        }
        AgentKind::Codex => {
            let mut v = vec!["codex".to_string()];
            v.extend(own(CODEX_FLAGS));
            v.extend(extra.iter().cloned());
            match resume.filter(|id| is_session_id(id)) {
                // `codex exec [flags] resume <id> -`: the prompt of the
                // corrective turn continues the last turn's session
                Some(id) => v.extend(["resume".to_string(), id.to_string(), "-".to_string()]),
                None => v.push("-".to_string()),
            }
            v
        }
    }
}

/// The argv of a named agent inside a container that gets its prompt as a
/// file (`AFK_PROMPT_FILE`, docs/runners.md#kubernetes-a-job-per-turn) and its
/// budget in `AFK_BUDGET_USD`: the built-in line run by `sh`, whose script
/// holds no value of afk's (the prompt path and the budget are read from the
/// environment, `extra` passed as the script's own arguments, never parsed as
/// shell code).
pub fn pod_argv(kind: AgentKind, extra: &[String]) -> Vec<String> {
    let script = match kind {
        AgentKind::Custom => return extra.to_vec(),
        AgentKind::Claude => format!(
            "exec claude {} ${{AFK_BUDGET_USD:+--max-budget-usd \"$AFK_BUDGET_USD\"}} \"$@\" < \"$AFK_PROMPT_FILE\"",
            CLAUDE_FLAGS.join(" ")
        ),
        AgentKind::Codex => format!(
            "exec codex {} \"$@\" - < \"$AFK_PROMPT_FILE\"",
            CODEX_FLAGS.join(" ")
        ),
    };
    let mut v = vec![
        "sh".to_string(),
        "-c".to_string(),
        script,
        "afk-agent".to_string(),
    ];
    v.extend(extra.iter().cloned());
    v
}

/// A session id an agent printed is put on a command line only when it is
/// one: hex digits and dashes (a UUID), never an option or anything a
/// program could read as one.
pub fn is_session_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && !s.starts_with('-')
        && s.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
}

/// What a later turn that cannot resume the agent's own session is told
/// (its log names no session the agent kept: the agent was killed before
/// its first answer arrived): the run's first prompt, the task as the first
/// turn was given it, then this turn's prompt. Without the first prompt
/// (none kept), this turn's alone.
pub fn fresh_session_prompt(first: Option<&str>, this: &str) -> String {
    match first.map(str::trim).filter(|f| !f.is_empty()) {
        None => this.to_string(),
        Some(first) => format!(
            "{first}\n\n---\n\nThe session of your earlier turn could not be continued: the task \
             above is as it was first given. What follows is this turn's.\n\n{this}"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_install_lines_pin_the_versions_agents_package_json_pins() {
        let pins: serde_json::Value =
            serde_json::from_str(include_str!("../../../agents/package.json")).unwrap();
        for kind in [AgentKind::Claude, AgentKind::Codex] {
            let (name, version) = package(kind).unwrap();
            assert_eq!(
                pins["dependencies"][name].as_str(),
                Some(version),
                "{kind}: agents/package.json pins {name} at {}",
                pins["dependencies"][name]
            );
            assert_eq!(
                install_command(kind).unwrap(),
                format!("npm install -g {name}@{version}")
            );
        }
        // the README's install lines too
        let readme = include_str!("../../../README.md");
        for (name, version) in [AgentKind::Claude, AgentKind::Codex].map(|k| package(k).unwrap()) {
            assert!(
                readme.contains(&format!("npm install -g {name}@{version}")),
                "README.md installs {name}@{version}"
            );
        }
        assert_eq!(package(AgentKind::Custom), None);
        assert_eq!(install_command(AgentKind::Custom), None);
    }

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|a| a.to_string()).collect()
    }

    #[test]
    fn named_agents_get_their_built_in_line_and_custom_its_own() {
        let id = "0f8fad5b-d9cb-469f-a165-70867728950e";
        // (agent, extra, budget, resume, the argv)
        type Case<'a> = (
            AgentKind,
            Vec<String>,
            Option<&'a str>,
            Option<&'a str>,
            Vec<String>,
        );
        let cases: Vec<Case> = vec![
            (
                AgentKind::Claude,
                vec![],
                None,
                None,
                s(&[
                    "claude",
                    "-p",
                    "--output-format",
                    "stream-json",
                    "--verbose",
                    "--dangerously-skip-permissions",
                ]),
            ),
            (
                AgentKind::Claude,
                s(&["--model", "opus"]),
                Some("1.50"),
                Some(id),
                s(&[
                    "claude",
                    "-p",
                    "--output-format",
                    "stream-json",
                    "--verbose",
                    "--dangerously-skip-permissions",
                    "--max-budget-usd",
                    "1.50",
                    "--resume",
                    id,
                    "--model",
                    "opus",
                ]),
            ),
            (
                AgentKind::Codex,
                s(&["-m", "gpt-5"]),
                Some("1.50"),
                None,
                s(&[
                    "codex",
                    "exec",
                    "--json",
                    "--dangerously-bypass-approvals-and-sandbox",
                    "--skip-git-repo-check",
                    "-m",
                    "gpt-5",
                    "-",
                ]),
            ),
            (
                AgentKind::Codex,
                vec![],
                None,
                Some(id),
                s(&[
                    "codex",
                    "exec",
                    "--json",
                    "--dangerously-bypass-approvals-and-sandbox",
                    "--skip-git-repo-check",
                    "resume",
                    id,
                    "-",
                ]),
            ),
            // a session id that is not one never reaches the command line
            (
                AgentKind::Claude,
                vec![],
                None,
                Some("--dangerous"),
                s(&[
                    "claude",
                    "-p",
                    "--output-format",
                    "stream-json",
                    "--verbose",
                    "--dangerously-skip-permissions",
                ]),
            ),
            (
                AgentKind::Custom,
                s(&["sh", "agent.sh"]),
                Some("1"),
                Some(id),
                s(&["sh", "agent.sh"]),
            ),
        ];
        for (kind, extra, budget, resume, want) in cases {
            assert_eq!(
                argv(kind, &extra, budget, resume),
                want,
                "{kind} {extra:?} {budget:?} {resume:?}"
            );
        }
    }

    #[test]
    fn a_turn_that_cannot_resume_is_given_the_first_prompt_before_its_own() {
        let cases = [
            (Some("Fix #1: the bug."), "Continue.", true),
            (None, "Continue.", false),
            (Some("  \n"), "Continue.", false),
        ];
        for (first, this, with_first) in cases {
            let got = fresh_session_prompt(first, this);
            assert!(got.ends_with(this), "{got}");
            assert_eq!(got.starts_with("Fix #1: the bug."), with_first, "{got}");
            assert_eq!(got == this, !with_first, "{got}");
        }
    }
}
