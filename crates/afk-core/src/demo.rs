//! The demo's decisions (`afk demo`, docs/sandbox.md): who plays the agent,
//! where its folder goes, and the lines its configs and closing say. The
//! command wires the sandbox and the acts around them.

use crate::types::AgentKind;
use crate::types::Invalid;

/// `--keep` given without a folder: the demo's own folder under the temp folder.
pub const KEEP_IN_TEMP: &str = "-";

/// The folder `--keep=DIR` names, if it names one.
pub fn keep_dir(keep: Option<&str>) -> Option<&str> {
    keep.filter(|d| *d != KEEP_IN_TEMP && !d.is_empty())
}

/// The first folder of `chain` (a folder and its ancestors, each with its
/// mode) that another user cannot pass through (no execute bit for others):
/// the Kubernetes act's Job containers run as another user when afk is
/// root, and cannot reach a demo folder below it. None: every one can be
/// passed.
pub fn private_on_the_way<'p>(chain: &[(&'p str, u32)]) -> Option<(&'p str, u32)> {
    chain
        .iter()
        .find(|(_, mode)| mode & 0o001 == 0)
        .map(|(p, mode)| (*p, mode & 0o7777))
}

/// Who plays the agent of the main acts (`--agent`): the real program
/// `find` locates on PATH, or the scripted agent (None). Unset: Claude Code
/// when it is there, else the script. A named program that is not there is
/// the error, with how to install it.
pub fn agent_for<P>(
    flag: Option<&str>,
    find: impl Fn(&str) -> Option<P>,
) -> Result<Option<(AgentKind, P)>, Invalid> {
    let (name, kind) = match flag {
        None => return Ok(find("claude").map(|p| (AgentKind::Claude, p))),
        Some("script") => return Ok(None),
        Some("codex") => ("codex", AgentKind::Codex),
        Some(_) => ("claude", AgentKind::Claude),
    };
    match find(name) {
        Some(p) => Ok(Some((kind, p))),
        None => Err(Invalid(format!(
            "demo: --agent {name}: `{name}` is not on PATH ({}, or --agent script)",
            crate::agent::install_command(kind).unwrap_or_default()
        ))),
    }
}

/// The `[runner]` line of every act's config: nothing where the machine can
/// make the agent's box (the default), else `confine = "none"`.
pub fn confine_line(can_box: bool) -> &'static str {
    if can_box { "" } else { "confine = \"none\"\n" }
}

/// The main act's `[runner]` lines for a real agent program: its name, afk's
/// workspace, and prices (Codex reports tokens: priced as a mid-size
/// model's, to show a spend).
pub fn real_agent_lines(kind: AgentKind) -> String {
    format!(
        "agent = \"{kind}\"\nworkspace = \"afk\"\n\
         [runner.prices]\ninput = 1.25\ncached_input = 0.125\noutput = 10.0"
    )
}

/// A named agent's program as people know it (`Claude Code`, `Codex CLI`).
pub fn agent_name(kind: AgentKind) -> &'static str {
    match kind {
        AgentKind::Claude => "Claude Code",
        AgentKind::Codex => "Codex CLI",
        AgentKind::Custom => "the command runner.command names",
    }
}

/// `afk sandbox --model`'s `[runner]` lines for the real agent `kind`
/// (`--agent`): its comment names the agent in force, and only it.
pub fn sandbox_model_runner(kind: AgentKind) -> String {
    format!(
        "# the real {}, answered by the sandbox's scripted model (export the lines above)\n\
         agent = \"{kind}\"\nworkspace = \"afk\"\n",
        agent_name(kind)
    )
}

/// Where the scripted agent keeps a note `name`: its home in its box, else
/// the run folder (`examples/demo-agent.sh`).
pub fn agent_note(run_dir: &std::path::Path, name: &str, boxed: bool) -> std::path::PathBuf {
    if boxed {
        run_dir.join("home").join(name)
    } else {
        run_dir.join(name)
    }
}

/// The demo's last two lines: whether its folder was kept, and where the
/// canary act's status page is.
pub fn closing(keep: bool, dir: &str, page: &str) -> [String; 2] {
    if keep {
        [
            format!(
                "\nkept: {dir} (run folders with prompts, agent.log and progress.jsonl; the scripted agent demo-agent.sh; afk.toml)"
            ),
            format!(
                "the status page of the canary act (what status_page holds; afk status --html prints it): {page}"
            ),
        ]
    } else {
        [
            format!("\nthe demo's folder {dir} is removed (afk demo --keep keeps it)"),
            "the status page of the canary act went with the folder (afk demo --keep keeps it)"
                .to_string(),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A folder another user cannot pass through, on the way to the demo's.
    #[test]
    fn a_private_folder_on_the_way_is_named_first() {
        type Chain<'a> = &'a [(&'a str, u32)];
        let table: [(Chain, Option<(&str, u32)>); 4] = [
            (
                &[("/tmp/d", 0o40755), ("/tmp", 0o41777), ("/", 0o40755)],
                None,
            ),
            (
                &[
                    ("/tmp/x/d", 0o40755),
                    ("/tmp/x", 0o40700),
                    ("/tmp", 0o41777),
                ],
                Some(("/tmp/x", 0o700)),
            ),
            (
                &[("/root/d", 0o40755), ("/root", 0o40750)],
                Some(("/root", 0o750)),
            ),
            (&[], None),
        ];
        for (chain, want) in table {
            assert_eq!(private_on_the_way(chain), want, "{chain:?}");
        }
    }
    use std::path::Path;

    /// (--agent, what is on PATH, the agent or words of the error)
    type Case = (
        Option<&'static str>,
        &'static [&'static str],
        Result<Option<(AgentKind, String)>, &'static str>,
    );

    #[test]
    fn the_agent_is_the_named_program_on_path_else_claude_when_there_else_the_script() {
        let on = |have: &'static [&'static str]| {
            move |p: &str| have.contains(&p).then(|| format!("/bin/{p}"))
        };
        let cases: [Case; 7] = [
            (
                None,
                &["claude"],
                Ok(Some((AgentKind::Claude, "/bin/claude".into()))),
            ),
            (None, &["codex"], Ok(None)),
            (Some("script"), &["claude"], Ok(None)),
            (
                Some("codex"),
                &["codex"],
                Ok(Some((AgentKind::Codex, "/bin/codex".into()))),
            ),
            (
                Some("claude"),
                &["claude"],
                Ok(Some((AgentKind::Claude, "/bin/claude".into()))),
            ),
            (
                Some("codex"),
                &[],
                Err("npm install -g @openai/codex@0.169.0"),
            ),
            (
                Some("claude"),
                &["codex"],
                Err("npm install -g @anthropic-ai/claude-code@2.1.331"),
            ),
        ];
        for (flag, have, want) in cases {
            let got = agent_for(flag, on(have));
            match want {
                Ok(w) => assert_eq!(got, Ok(w), "{flag:?} {have:?}"),
                Err(words) => assert!(got.unwrap_err().0.contains(words), "{flag:?} {have:?}"),
            }
        }
    }

    #[test]
    fn the_sandboxs_model_config_names_the_agent_in_force_and_no_other() {
        let cases = [
            (
                AgentKind::Claude,
                "# the real Claude Code, answered by the sandbox's scripted model (export the lines above)\nagent = \"claude\"\nworkspace = \"afk\"\n",
                "Codex",
            ),
            (
                AgentKind::Codex,
                "# the real Codex CLI, answered by the sandbox's scripted model (export the lines above)\nagent = \"codex\"\nworkspace = \"afk\"\n",
                "Claude",
            ),
        ];
        for (kind, want, never) in cases {
            let got = sandbox_model_runner(kind);
            assert_eq!(got, want, "{kind}");
            assert!(!got.contains(never), "{kind}: {got}");
        }
    }

    #[test]
    fn keep_names_a_folder_only_with_one_given() {
        let cases = [
            (None, None),
            (Some(KEEP_IN_TEMP), None),
            (Some(""), None),
            (Some("out"), Some("out")),
        ];
        for (flag, want) in cases {
            assert_eq!(keep_dir(flag), want, "{flag:?}");
        }
    }

    #[test]
    fn a_machine_without_the_box_runs_the_demo_unconfined_and_notes_in_the_run_folder() {
        let cases = [
            (true, "", Path::new("/r/home/n")),
            (false, "confine = \"none\"\n", Path::new("/r/n")),
        ];
        for (boxed, line, note) in cases {
            assert_eq!(confine_line(boxed), line);
            assert_eq!(agent_note(Path::new("/r"), "n", boxed), note);
        }
        assert!(
            real_agent_lines(AgentKind::Codex)
                .starts_with("agent = \"codex\"\nworkspace = \"afk\"\n")
        );
        let [kept, page] = closing(true, "/d", "/d/status.html");
        assert!(kept.contains("kept: /d") && page.ends_with("/d/status.html"));
        let [gone, page] = closing(false, "/d", "/d/status.html");
        assert!(gone.contains("/d is removed") && page.contains("went with the folder"));
    }
}
