//! clap definitions only: every command, flag and value with its help text.
//!
//! Build the parser with [`command`] (not `Cli::command()`): it also hides the
//! global flags that mean nothing for a command, so `--help`, the man page and
//! the shell completions agree.

use crate::commands;
use clap::{CommandFactory, FromArgMatches, Parser};
use std::path::PathBuf;

/// The help heading of the flags every command takes.
const GLOBAL: &str = "Global options";

/// `afk --version`: the version, the commit and the target (`-V`: the version only).
pub const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    "\ncommit: ",
    env!("AFK_COMMIT"),
    "\ntarget: ",
    env!("AFK_TARGET")
);

#[derive(Parser, Debug)]
#[command(
    name = "afk",
    version,
    long_version = LONG_VERSION,
    about = "Leave coding agents working while nobody is at the keyboard, safely.",
    long_about = "Leave coding agents working while nobody is at the keyboard, safely.\n\n\
                  afk runs one bounded tick per invocation (from cron, a systemd timer, a \
                  Kubernetes CronJob or CI): it reads the forge, the agent runner and one \
                  SQLite file, does one step of work, writes what it did, and exits. \
                  Reports go to stdout (one JSON document with --json); logs go to stderr.",
    after_long_help = "\
Environment:
  AFK_CONFIG           the config file when --config is not given (empty: unset)
  AFK_LOG              json: one JSON object per log line; plain: no timestamps;
                       journal: <3>-style levels for journald, no timestamps
                       (default: timestamps and levels when stderr is not a terminal)
  AFK_CANARY_SEED      an integer: canary routing draws from it, so a dry run
                       predicts the real tick (default: draws from the OS)
  AFK_BUSY_TIMEOUT_MS  how long to wait for a locked state file (default 5000)
  the *_env names of the config  the secrets (forge token, webhooks, heartbeats)

Examples:
  afk init                        write a commented starter config (./afk.toml)
  afk doctor                      check config, state, forge and runner, read-only
  afk --dry-run poll              decide and report one dispatch tick, change nothing"
)]
pub struct Cli {
    #[command(flatten)]
    pub globals: Globals,
    #[command(subcommand)]
    pub command: commands::Cmd,
}

/// The flags every command takes.
#[derive(clap::Args, Debug, Default)]
pub struct Globals {
    /// Config file [default: $AFK_CONFIG, ./afk.toml, ~/.config/afk/config.toml]
    #[arg(long, global = true, value_name = "PATH", help_heading = GLOBAL)]
    pub config: Option<PathBuf>,
    /// The SQLite state file; overrides state_path
    #[arg(long, global = true, value_name = "PATH", help_heading = GLOBAL)]
    pub state: Option<PathBuf>,
    /// Decide and report everything, change nothing (no forge write, no agent, no SQLite write)
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub dry_run: bool,
    /// Print exactly one JSON document on stdout instead of the human summary
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub json: bool,
    /// More logging on stderr: -v each request and decision, -vv more
    #[arg(short, long, global = true, action = clap::ArgAction::Count, help_heading = GLOBAL, conflicts_with = "quiet")]
    pub verbose: u8,
    /// Less output: -q nothing but warnings and errors on success, -qq errors only
    #[arg(short, long, global = true, action = clap::ArgAction::Count, help_heading = GLOBAL)]
    pub quiet: u8,
}

/// Global flags that mean nothing for a command, hidden from its help, man
/// page and completions (still accepted, so scripts that pass them keep working).
const HIDDEN_GLOBALS: &[(&[&str], &[&str])] = &[
    #[cfg(feature = "test-world")]
    (&["sandbox"], &["config", "state", "dry_run", "json"]),
    #[cfg(feature = "test-world")]
    (&["demo"], &["config", "state", "dry_run"]),
    (&["init"], &["state"]),
    (&["doctor"], &["dry_run"]),
    (&["lessons", "list"], &["dry_run"]),
    (&["lessons", "snapshot"], &["dry_run"]),
    (&["template", "list"], &["dry_run"]),
    (&["template", "show"], &["dry_run"]),
    (
        &["completions"],
        &["config", "state", "dry_run", "json", "verbose", "quiet"],
    ),
    (&["man"], &["config", "state", "json", "verbose", "quiet"]),
];

/// The whole command-line interface, with meaningless globals hidden.
pub fn command() -> clap::Command {
    let cmd = Cli::command();
    let globals: Vec<clap::Arg> = cmd
        .get_arguments()
        .filter(|a| a.is_global_set())
        .cloned()
        .collect();
    let cmd = HIDDEN_GLOBALS
        .iter()
        .fold(cmd, |c, (path, ids)| hide_in(c, path, ids, &globals));
    with_exit_status(cmd, "")
}

/// Every command's long help starts with its `Exit status:`, made from the
/// one table (`exit_status`), before the examples written beside it.
fn with_exit_status(cmd: clap::Command, path: &str) -> clap::Command {
    let rest = cmd
        .get_after_long_help()
        .map(|h| h.to_string())
        .unwrap_or_default();
    let cmd = cmd.after_long_help(format!("{}{rest}", crate::exit_status::help_block(path)));
    cmd.mut_subcommands(|sc| {
        let name = sc.get_name().to_string();
        let at = if path.is_empty() {
            name
        } else {
            format!("{path} {name}")
        };
        with_exit_status(sc, &at)
    })
}

/// clap copies a global flag into a subcommand only when the subcommand has no
/// flag of that id: give it a hidden copy (still global, so its value reaches
/// `Cli` as before). Subcommands keep their order.
fn hide_in(
    cmd: clap::Command,
    path: &[&str],
    ids: &[&str],
    globals: &[clap::Arg],
) -> clap::Command {
    match path.split_first() {
        None => ids.iter().fold(cmd, |c, id| {
            let g = globals
                .iter()
                .find(|a| a.get_id() == id)
                .unwrap_or_else(|| panic!("no global flag {id}"));
            c.arg(g.clone().hide(true))
        }),
        Some((first, rest)) => cmd.mut_subcommands(|sc| {
            if sc.get_name() == *first {
                hide_in(sc, rest, ids, globals)
            } else {
                sc
            }
        }),
    }
}

/// Parse `std::env::args`, exiting with clap's message (exit 2) on a usage
/// error; with `--json` on the line, the error document is printed too.
pub fn parse() -> Cli {
    if let Some(cli) = box_program(std::env::args_os().collect()) {
        return cli;
    }
    // a line that parses needs none of the help's decorations (each
    // command's exit status, the hidden globals' copies: they change no
    // value): a tick, the kill switch's above all, skips building them
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if let Some(cli) = tick_line(&args) {
        return cli;
    }
    let mut cmd = Cli::command();
    let parsed = cmd
        .try_get_matches_from_mut(args)
        .and_then(|m| Cli::from_arg_matches(&m));
    // the tree of every command's definitions lives as long as the process
    // anyway: left for the exit, not freed piece by piece (a tenth of a
    // disabled tick's instructions)
    std::mem::forget(cmd);
    if let Ok(cli) = parsed {
        return cli;
    }
    // help, a version or a mistake: said by the whole interface
    let json = std::env::args_os().any(|a| a == "--json");
    command()
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m))
        .unwrap_or_else(|e| usage_exit(e, json))
}

/// How a tick's command is made from its own matches.
type MakeTick = fn(&clap::ArgMatches) -> Result<commands::Cmd, clap::Error>;

/// A line cron, a timer or the webhook runs, a tick each (`poll`, `watch`,
/// `harvest`, `hook`), parsed by its own part of the interface: the global
/// flags and that one command, from the same definitions, without building
/// every other command's (most of a disabled tick's work). None: another
/// command, help, a version or a mistake, which the whole interface reads
/// and says as always.
pub fn tick_line(args: &[std::ffi::OsString]) -> Option<Cli> {
    use clap::Args;
    use commands::Cmd;
    let name = command_word(args)?;
    let new = clap::Command::new;
    let (sub, make): (clap::Command, MakeTick) = match name {
        "poll" => (commands::poll::Args::augment_args(new("poll")), |m| {
            Ok(Cmd::Poll(FromArgMatches::from_arg_matches(m)?))
        }),
        "watch" => (commands::watch::Args::augment_args(new("watch")), |m| {
            Ok(Cmd::Watch(FromArgMatches::from_arg_matches(m)?))
        }),
        "harvest" => (commands::harvest::Args::augment_args(new("harvest")), |m| {
            Ok(Cmd::Harvest(FromArgMatches::from_arg_matches(m)?))
        }),
        "hook" => (commands::hook::Args::augment_args(new("hook")), |m| {
            Ok(Cmd::Hook(FromArgMatches::from_arg_matches(m)?))
        }),
        _ => return None,
    };
    let mut cmd = Globals::augment_args(clap::Command::new("afk"))
        .subcommand(sub)
        .subcommand_required(true);
    let m = cmd.try_get_matches_from_mut(args).ok()?;
    std::mem::forget(cmd);
    let globals = Globals::from_arg_matches(&m).ok()?;
    let command = make(m.subcommand()?.1).ok()?;
    Some(Cli { globals, command })
}

/// The command a line names: its first word that is neither a flag nor a
/// global flag's value. None where the line asks for help or the version
/// (the whole interface says those) or names no command.
fn command_word(args: &[std::ffi::OsString]) -> Option<&str> {
    let mut words = args.iter().skip(1);
    while let Some(w) = words.next() {
        match w.to_str()? {
            "--config" | "--state" => {
                words.next();
            }
            "-h" | "--help" | "-V" | "--version" | "--" | "help" => return None,
            w if w.starts_with('-') => {}
            w => return Some(w),
        }
    }
    None
}

/// A line of one of the box's programs (`afk __box SPEC`, two programs a
/// turn, whose CPU `bench box` measures: docs/benchmarks.md) parsed by their
/// own part of the interface only: the same definitions
/// (`commands::box_programs`), without building every command's (0.4 ms of
/// CPU a program). None: not one of them.
pub fn box_program(args: Vec<std::ffi::OsString>) -> Option<Cli> {
    use clap::Subcommand;
    use commands::box_programs::Program;
    let first = args.get(1)?;
    if !Program::has_subcommand(first.to_str()?) {
        return None;
    }
    let cmd = Program::augment_subcommands(clap::Command::new("afk").subcommand_required(true));
    let program = cmd
        .try_get_matches_from(args)
        .and_then(|m| Program::from_arg_matches(&m))
        .unwrap_or_else(|e| usage_exit(e, false));
    Some(Cli {
        globals: Globals::default(),
        command: commands::Cmd::Box(program),
    })
}

/// End on a clap error: `--help` and `--version` print and exit 0; a usage
/// error prints clap's message on stderr (and, with `--json`, the one error
/// document every --json command prints) and exits 2.
fn usage_exit(e: clap::Error, json: bool) -> ! {
    if json && e.use_stderr() {
        let text = e.to_string();
        let first = text
            .lines()
            .next()
            .unwrap_or("")
            .trim_start_matches("error: ")
            .to_string();
        crate::output::json_line(
            &serde_json::json!({"error": first, "exit": e.exit_code()}),
            false,
        );
    }
    e.exit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tick_line_is_read_as_the_whole_interface_reads_it() {
        let whole = |line: &[&str]| {
            Cli::command()
                .try_get_matches_from(line)
                .and_then(|m| Cli::from_arg_matches(&m))
                .map(|c| format!("{c:?}"))
                .ok()
        };
        let args =
            |line: &[&str]| -> Vec<std::ffi::OsString> { line.iter().map(Into::into).collect() };
        // (line, read by its own part: false where the whole interface must say it)
        let cases: &[(&[&str], bool)] = &[
            (&["afk", "poll"], true),
            (&["afk", "--config", "x.toml", "poll", "--json"], true),
            (&["afk", "--config=poll", "-vv", "--dry-run", "watch"], true),
            (&["afk", "--state", "watch", "harvest", "-q"], true),
            (&["afk", "watch", "--after-turn", "3"], true),
            (&["afk", "watch", "--wait-agents"], true),
            (&["afk", "watch", "--wait-agents", "30s"], true),
            (&["afk", "harvest", "--json", "--config", "a.toml"], true),
            (
                &[
                    "afk",
                    "hook",
                    "--body",
                    "b.json",
                    "--header",
                    "X-Gitea-Event: issues",
                ],
                true,
            ),
            (&["afk", "poll", "--help"], false),
            (&["afk", "--help", "poll"], false),
            (&["afk", "-V"], false),
            (&["afk", "poll", "--frobnicate"], false),
            (&["afk", "-v", "-q", "poll"], false),
            (&["afk", "doctor"], false),
            (&["afk", "help", "poll"], false),
            (&["afk"], false),
        ];
        for &(line, own) in cases {
            let fast = tick_line(&args(line)).map(|c| format!("{c:?}"));
            assert_eq!(fast.is_some(), own, "{line:?}");
            if own {
                assert_eq!(fast, whole(line), "{line:?}");
            }
        }
    }

    #[test]
    fn the_interface_is_consistent() {
        command().debug_assert();
    }

    #[test]
    fn meaningless_globals_are_hidden_but_still_accepted() {
        let mut cmd = command();
        cmd.build();
        let cases: &[(&[&str], &str, bool)] = &[
            #[cfg(feature = "test-world")]
            (&["sandbox"], "dry_run", true),
            (&["completions"], "json", true),
            #[cfg(feature = "test-world")]
            (&["demo"], "json", false),
            (&["poll"], "dry_run", false),
            (&["lessons", "list"], "dry_run", true),
            (&["lessons", "update"], "dry_run", false),
        ];
        for &(path, id, hidden) in cases {
            let mut sc = &cmd;
            for p in path {
                sc = sc.find_subcommand(p).expect("subcommand exists");
            }
            let arg = sc
                .get_arguments()
                .find(|a| a.get_id() == id)
                .expect("global is there");
            assert_eq!(arg.is_hide_set(), hidden, "{path:?} {id}");
        }
        let cases: &[&[&str]] = &[
            #[cfg(feature = "test-world")]
            &["afk", "sandbox", "--dry-run"],
            #[cfg(feature = "test-world")]
            &["afk", "--dry-run", "sandbox"],
            &["afk", "lessons", "list", "--dry-run"],
            &["afk", "poll", "--dry-run"],
        ];
        for &args in cases {
            let m = command()
                .try_get_matches_from(args)
                .expect("a hidden global is still accepted");
            assert!(
                Cli::from_arg_matches(&m).unwrap().globals.dry_run,
                "{args:?}"
            );
        }
    }

    #[test]
    fn every_command_flag_and_argument_explains_itself() {
        fn walk(c: &clap::Command, at: String, missing: &mut Vec<String>) {
            if c.get_name() != "afk"
                && c.get_long_about().is_none()
                && c.get_after_long_help().is_none()
            {
                missing.push(format!("{at}: no long help"));
            }
            for a in c.get_arguments() {
                if a.get_help().is_none()
                    && !a.is_hide_set()
                    && a.get_id() != "help"
                    && a.get_id() != "version"
                {
                    missing.push(format!("{at} {}", a.get_id()));
                }
            }
            for sc in c.get_subcommands().filter(|s| s.get_name() != "help") {
                walk(sc, format!("{at} {}", sc.get_name()), missing);
            }
        }
        let mut missing = vec![];
        let mut cmd = command();
        cmd.build();
        walk(&cmd, "afk".into(), &mut missing);
        assert!(missing.is_empty(), "undocumented: {missing:#?}");
    }

    #[test]
    fn a_wrong_value_names_the_allowed_ones() {
        let cases = [
            (
                vec!["lessons", "update", "1", "--status", "done"],
                "--status \"done\" is not one of new, in_progress, closed",
            ),
            (
                vec!["lessons", "list", "--status", "shut"],
                "--status \"shut\" is not one of new, in_progress, closed, open",
            ),
            (
                vec!["lessons", "record", "--type", "x", "--attribution", "me"],
                "is not one of platform, repo, both",
            ),
            (vec!["completions", "tcsh"], "tcsh"),
        ];
        for (args, want) in cases {
            let e = command()
                .try_get_matches_from(std::iter::once("afk").chain(args.iter().copied()))
                .expect_err("refused");
            assert_eq!(e.exit_code(), 2, "{args:?}");
            assert!(e.to_string().contains(want), "{args:?}: {e}");
        }
    }
}

#[cfg(test)]
mod box_program_tests {
    //! The box's programs (`commands::box_programs`) as the command line
    //! parses them: here, as the cli names the commands and never the other way.
    use crate::commands::box_programs::Program;
    use crate::runner::agent_box::{KEEPER_CMD, PROBE_CMD};
    use clap::FromArgMatches;
    use std::ffi::OsString;

    /// The line parsed as every command is, and as `cli::parse` parses a
    /// box program's (its part of the interface only): the same program.
    fn program(line: &[&str]) -> Program {
        let argv: Vec<OsString> = std::iter::once("afk")
            .chain(line.iter().copied())
            .map(OsString::from)
            .collect();
        let m = crate::cli::command()
            .try_get_matches_from(argv.clone())
            .expect("a box program's line parses");
        let whole = match crate::cli::Cli::from_arg_matches(&m).unwrap().command {
            crate::commands::Cmd::Box(p) => p,
            other => panic!("{line:?} is not a box program: {other:?}"),
        };
        let own = match crate::cli::box_program(argv).map(|c| c.command) {
            Some(crate::commands::Cmd::Box(p)) => p,
            other => panic!("{line:?} is not parsed as a box program: {other:?}"),
        };
        assert_eq!(whole, own, "{line:?}");
        own
    }

    #[test]
    fn no_other_line_is_a_box_program() {
        for line in [&["afk", "poll"][..], &["afk"], &["afk", "--json", "__box"]] {
            let argv = line.iter().map(OsString::from).collect::<Vec<_>>();
            assert!(crate::cli::box_program(argv).is_none(), "{line:?}");
        }
    }

    #[test]
    fn the_lines_afk_starts_are_the_box_programs_with_their_arguments() {
        let s = |v: &[&str]| v.iter().map(OsString::from).collect::<Vec<_>>();
        let cases: [(&[&str], Program); 6] = [
            (
                &["__box", "/r/box/turn-1.json"],
                Program::Keep {
                    spec: "/r/box/turn-1.json".into(),
                    record: None,
                },
            ),
            (
                &["__box", "/r/box/turn-1.json", "--record", "/r"],
                Program::Keep {
                    spec: "/r/box/turn-1.json".into(),
                    record: Some("/r".into()),
                },
            ),
            (
                &["__box"],
                Program::Keep {
                    spec: "".into(),
                    record: None,
                },
            ),
            // doctor's: an unknown model or forge is an empty argument
            (
                &["__box-probe", "state=/s.db", "", "", "read=/etc/afk/env"],
                Program::Probe {
                    args: s(&["state=/s.db", "", "", "read=/etc/afk/env"]),
                },
            ),
            (
                &["__box-probe", "state=/s.db", "--json", "-v"],
                Program::Probe {
                    args: s(&["state=/s.db", "--json", "-v"]),
                },
            ),
            (&["__box-probe"], Program::Probe { args: vec![] }),
        ];
        for (line, want) in cases {
            assert_eq!(program(line), want, "{line:?}");
        }
    }

    #[test]
    fn the_box_programs_are_hidden_from_people() {
        let mut cmd = crate::cli::command();
        cmd.build();
        for name in [KEEPER_CMD, PROBE_CMD, crate::runner::turn_end::TURN_CMD] {
            let sc = cmd.find_subcommand(name).expect("the program is there");
            assert!(sc.is_hide_set(), "{name}");
        }
    }
}
