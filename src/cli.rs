//! clap definitions only: every command, flag and value with its help text.
//!
//! Build the parser with [`command`] (not `Cli::command()`): it also hides the
//! global flags that mean nothing for a command, so `--help`, the man page and
//! the shell completions agree.

use crate::commands;
use clap::builder::{PossibleValue, TypedValueParser};
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use std::ffi::OsStr;
use std::marker::PhantomData;
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
    #[command(subcommand)]
    pub command: Cmd,
}

#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// One dispatch tick: ready issues -> coding agents
    ///
    /// For every allowlisted repo, list the open issues carrying poll.ready_label,
    /// keep those a trusted person armed and nothing blocks, pick the
    /// highest-priority one per repo, and start an agent on it (claim in SQLite,
    /// start, then add poll.in_progress_label). With poll.enabled = false or the
    /// stop file present it does no I/O at all and says so.
    #[command(after_long_help = "Examples:
  afk --dry-run poll              what would be dispatched, and why the rest is skipped
  afk -q poll                     from cron: silent on success, errors on stderr
  afk --json poll | jq .skipped   the skip reasons as JSON")]
    Poll(commands::poll::Args),
    /// One lifecycle tick over runs in flight
    ///
    /// Follows every run: agent -> pull request -> CI -> merged -> deployed.
    /// Waits, starts a corrective turn on red CI or a missing PR (at most
    /// watch.fix_forward_max), escalates to a person (watch.human_label plus one
    /// comment), succeeds (closes the issue) or abandons. Running it twice in a
    /// row changes nothing the second time.
    #[command(after_long_help = "Examples:
  afk watch                       follow the runs in flight once
  afk --dry-run -v watch          what each run's next action would be, with requests")]
    Watch(commands::watch::Args),
    /// One outcome + canary tick over prompt-template versions
    ///
    /// Records the outcome of every ended run against the template version that
    /// handled it (a success whose merge is reverted within harvest.revert_window
    /// becomes a failure), then evaluates a live canary at its checkpoints: roll
    /// back, graduate, or keep sampling. Each decision is made and notified
    /// exactly once, and explained by its checkpoint numbers.
    #[command(after_long_help = "Examples:
  afk harvest                     one outcome + canary tick
  afk --dry-run harvest           decide and report, write and notify nothing
  afk --json harvest | jq .checkpoints")]
    Harvest(commands::harvest::Args),
    /// The lessons journal: record | list | update | snapshot
    ///
    /// A machine-readable journal of what went wrong, for people and for the next
    /// agent, kept in the state file. Ticks record automatic lessons (source
    /// auto); people record, triage and close them here. With
    /// lessons.enabled = false every lessons command says so and touches nothing.
    #[command(
        subcommand,
        after_long_help = "Examples:
  afk lessons list --status open
  afk lessons record --type flaky_test --repo acme/api --root-cause \"a timing test\"
  afk lessons update 12 --status closed"
    )]
    Lessons(commands::lessons::Args),
    /// One recipe-upgrade tick; `upgrade verdict` reads one PR's verdict
    ///
    /// For each recipe: make the mirror's main identical to upstream, look up
    /// newer image tags (once per upgrade.scan_every: every registry in
    /// parallel, each image once), open one pull request per bump, post the
    /// test comment (one recipe at a time with serial_tests), read the verdict,
    /// start a fixer agent on RED, end a flow STUCK when nothing comes, and
    /// close what upstream merged or a newer bump superseded. Nothing is ever
    /// merged by afk.
    #[command(after_long_help = "Examples:
  afk --dry-run upgrade                     candidates and the actions it would take
  afk upgrade                               every 15 minutes: move open PRs on; scan once per scan_every
  afk upgrade --scan nextcloud              one tick over one recipe, asking the registries now
  afk upgrade --with-tests nextcloud        a stale test is updated in upgrade.tests_repo (paired PRs)
  afk upgrade verdict acme/nextcloud 12     VERDICT=… and BUILD=… (exit 0 GREEN, 1 RED, 3 PENDING, 4 unread)")]
    Upgrade(commands::upgrade::Args),
    /// Prompt-template versions: list | add | promote | reject | show
    ///
    /// A template (e.g. implementer) has numbered versions; exactly one is
    /// current and becomes the preamble of every dispatch prompt.
    #[command(
        subcommand,
        after_long_help = "Examples:
  afk template add implementer --file prompts/implementer.md
  afk template list
  afk template show implementer@2"
    )]
    Template(commands::template::Args),
    /// What is in flight, frozen repos, recent events
    ///
    /// Reads the state file only (never the forge): the runs in flight with their
    /// state, age, PR and turns, the repos frozen after a degraded deploy, and the
    /// latest events. --unfreeze lifts a freeze. --html prints the status page
    /// (the same self-contained HTML file `status_page` is rewritten to).
    #[command(after_long_help = "Examples:
  afk status
  afk status --html > status.html  the team's status page, no JavaScript
  afk status --unfreeze acme/api  let poll dispatch into acme/api again
  afk --json status | jq .runs")]
    Status(commands::status::Args),
    /// Run history, and one run's timeline, prompts and agent log
    ///
    /// Recent runs with their end state, reason, PR, duration, agent turns and
    /// template version (like `gh run list`); `afk runs show ID` gives one run's
    /// timeline (dispatch, turns, PR, CI, end, its events and outcome) and the
    /// files in its run folder, `--log` adds agent.log (like `gh run view
    /// --log`). Reads the state file and the run folder only.
    #[command(after_long_help = "Examples:
  afk runs                               the 20 most recent runs
  afk runs --repo acme/api --status escalated --limit 50
  afk runs show 12 --log                 one run's timeline and its agent.log")]
    Runs(commands::runs::Args),
    /// Read-only checks of config, state, forge, labels and runner
    ///
    /// One line per check: the config parses, the state file opens, the stop
    /// file, the runner's program is found, the forge answers with the token
    /// (GET /user), the labels exist and permission lookups are allowed in every
    /// allowlisted repo; with [upgrade] configured, the mirrors, the upstream,
    /// the registries, the work folder and the fixer; every path a tick writes
    /// is writable in the systemd units' sandbox (--unit, else the installed
    /// afk-*.service). Changes nothing.
    #[command(after_long_help = "\
Examples:
  afk doctor
  afk --config /etc/afk/afk.toml doctor
  afk --json doctor | jq '.checks[] | select(.ok | not)'
  afk doctor --unit /etc/systemd/system/afk-poll.service")]
    Doctor(commands::doctor::Args),
    /// Write a commented starter config
    ///
    /// Writes the starter config to --config (default ./afk.toml). It ships
    /// disabled: set poll.enabled and poll.allowlist to arm it. With
    /// --create-labels it instead creates afk's three labels in every
    /// allowlisted repo of an existing config (idempotent).
    #[command(after_long_help = "\
Examples:
  afk init
  afk --config /etc/afk/afk.toml init
  afk --config /etc/afk/afk.toml init --create-labels")]
    Init(commands::init::Args),
    /// A throwaway loopback forge for trying afk and for tests
    ///
    /// Serves a small Gitea API v1 subset (or, with --dialect github, GitHub's
    /// REST API at /api/v3), backed by real bare git repositories, on loopback
    /// only, until killed. It also serves a small Kubernetes API at <url>/k8s
    /// (token k8s-sandbox-token, namespace afk; Jobs run as local processes)
    /// and an admin API at <url>/_admin. Prints AFK_SANDBOX_URL,
    /// AFK_SANDBOX_GIT, AFK_SANDBOX_K8S_URL, AFK_SANDBOX_K8S_TOKEN,
    /// AFK_SANDBOX_K8S_NAMESPACE and a matching config on stdout (with
    /// --kubernetes, its runner is that cluster). The forge token is
    /// sandbox-token. The seed format and the admin calls: docs/sandbox.md.
    #[command(after_long_help = "\
Examples:
  afk sandbox
  afk sandbox --addr 127.0.0.1:3000 --seed seed.json --dir /tmp/afk-sandbox
  afk sandbox --dialect github     GitHub's shapes, rate limits and ETags
  afk sandbox --example --kubernetes
  kubectl --server \"$AFK_SANDBOX_K8S_URL\" --token k8s-sandbox-token get jobs -n afk")]
    Sandbox(commands::sandbox::Args),
    /// The whole lifecycle against the sandbox, no network, no accounts
    ///
    /// Starts a sandbox in-process with a scripted agent (examples/demo-agent.sh,
    /// written to a temporary folder) and prints what each tick did, in acts:
    /// poll dispatches (a trusted, an untrusted and a blocked issue); watch
    /// follows the runs (CI pending, green, merged: success; an agent that is
    /// blocked escalates; red CI gets a corrective turn); the lessons journal;
    /// the canary act (a worse template version goes live, harvest rolls it
    /// back with the numbers); the upgrade act (a recipe PR, a RED verdict, the
    /// fixer agent's push, GREEN). The canary routing uses a fixed seed, so
    /// every demo tells the same story (--random: draws from the OS). The
    /// folder is removed at the end unless --keep.
    #[command(after_long_help = "\
Environment:
  AFK_CANARY_SEED  the canary routing's seed (default for the demo: a fixed one)

Examples:
  afk demo
  afk demo --keep                  keep the folder: configs, state, run folders
  afk demo --forge github          the same lifecycle on the sandbox's GitHub dialect
  afk demo --json | jq '.ticks[0].dispatched'")]
    Demo(commands::demo::Args),
    /// Print a shell completion script: bash | zsh | fish
    ///
    /// The script completes commands, flags and enumerated values. Install it
    /// where your shell looks for completions (see the examples).
    #[command(after_long_help = "\
Examples:
  afk completions bash > ~/.local/share/bash-completion/completions/afk
  afk completions zsh > ~/.zfunc/_afk       # with fpath+=(~/.zfunc) before compinit
  afk completions fish > ~/.config/fish/completions/afk.fish")]
    Completions(commands::completions::Args),
    /// Print the man page (roff), or write one page per command with --dir
    #[command(after_long_help = "\
Examples:
  afk man | man -l -
  afk man --dir /usr/local/share/man/man1   # afk.1, afk-poll.1, ...
  afk --dry-run man --dir DIR               # name the pages, write nothing")]
    Man(commands::man::Args),
    /// Not a command: `afk version` says to use `afk --version` (clap would
    /// otherwise suggest `lessons`)
    #[command(hide = true)]
    Version,
}

/// The name a value has on the command line and in the state file.
pub fn value_name<E: ValueEnum>(v: &E) -> String {
    v.to_possible_value()
        .map(|p| p.get_name().to_string())
        .unwrap_or_default()
}

/// A value parser for a `ValueEnum` that lists the values in `--help` and the
/// completions like clap's own, but words a wrong value the way afk always has:
/// `--status "done" is not one of new, in_progress, closed` (exit 2).
#[derive(Clone)]
pub struct Allowed<E>(PhantomData<fn() -> E>);

impl<E> Allowed<E> {
    pub fn new() -> Self {
        Allowed(PhantomData)
    }
}

impl<E> Default for Allowed<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E: ValueEnum + Clone + Send + Sync + 'static> TypedValueParser for Allowed<E> {
    type Value = E;

    fn parse_ref(
        &self,
        _cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<E, clap::Error> {
        let text = value.to_string_lossy();
        E::from_str(&text, false).map_err(|_| {
            let flag = arg
                .and_then(|a| a.get_long())
                .map(|l| format!("--{l} "))
                .unwrap_or_default();
            let allowed: Vec<String> = E::value_variants().iter().map(value_name).collect();
            clap::Error::raw(
                clap::error::ErrorKind::InvalidValue,
                format!("{flag}\"{text}\" is not one of {}\n", allowed.join(", ")),
            )
        })
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(
            E::value_variants()
                .iter()
                .filter_map(|v| v.to_possible_value()),
        ))
    }
}

/// Global flags that mean nothing for a command, hidden from its help, man
/// page and completions (still accepted, so scripts that pass them keep working).
const HIDDEN_GLOBALS: &[(&[&str], &[&str])] = &[
    (&["sandbox"], &["config", "state", "dry_run", "json"]),
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
    let json = std::env::args_os().any(|a| a == "--json");
    command()
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m))
        .unwrap_or_else(|e| usage_exit(e, json))
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
        println!(
            "{}",
            serde_json::json!({"error": first, "exit": e.exit_code()})
        );
    }
    e.exit()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::lessons::{Attribution, LessonStatus, StatusFilter, TargetDomain};
    use crate::types::lesson;

    fn names<E: ValueEnum>() -> Vec<String> {
        E::value_variants().iter().map(value_name).collect()
    }

    #[test]
    fn value_enums_spell_what_the_journal_stores() {
        let cases = [
            ("status", names::<LessonStatus>(), crate::lessons::STATUSES),
            (
                "attribution",
                names::<Attribution>(),
                crate::lessons::ATTRIBUTIONS,
            ),
            (
                "target domain",
                names::<TargetDomain>(),
                crate::lessons::DOMAINS,
            ),
        ];
        for (what, got, want) in cases {
            assert_eq!(got, want, "{what}");
        }
    }

    /// Each value the command line accepts becomes the model's value of the
    /// same name, so what is stored is what was typed.
    #[test]
    fn each_flag_value_becomes_the_model_value_of_its_name() {
        fn check<E: ValueEnum, M: From<E> + std::fmt::Display>() {
            for v in E::value_variants() {
                assert_eq!(M::from(v.clone()).to_string(), value_name(v));
            }
        }
        check::<LessonStatus, lesson::LessonStatus>();
        check::<Attribution, lesson::Attribution>();
        check::<TargetDomain, lesson::TargetDomain>();
        for v in StatusFilter::value_variants() {
            let want = match lesson::StatusFilter::from(*v) {
                lesson::StatusFilter::Is(s) => s.as_str(),
                lesson::StatusFilter::Open => "open",
            };
            assert_eq!(value_name(v), want);
        }
    }

    #[test]
    fn list_status_accepts_open_beside_every_status() {
        let mut want: Vec<String> = crate::lessons::STATUSES
            .iter()
            .map(|s| s.to_string())
            .collect();
        want.push("open".into());
        assert_eq!(names::<StatusFilter>(), want);
    }

    #[test]
    fn the_interface_is_consistent() {
        command().debug_assert();
    }

    #[test]
    fn meaningless_globals_are_hidden_but_still_accepted() {
        let mut cmd = command();
        cmd.build();
        let cases: [(&[&str], &str, bool); 6] = [
            (&["sandbox"], "dry_run", true),
            (&["completions"], "json", true),
            (&["demo"], "json", false),
            (&["poll"], "dry_run", false),
            (&["lessons", "list"], "dry_run", true),
            (&["lessons", "update"], "dry_run", false),
        ];
        for (path, id, hidden) in cases {
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
        let cases: [&[&str]; 4] = [
            &["afk", "sandbox", "--dry-run"],
            &["afk", "--dry-run", "sandbox"],
            &["afk", "lessons", "list", "--dry-run"],
            &["afk", "poll", "--dry-run"],
        ];
        for args in cases {
            let m = command()
                .try_get_matches_from(args)
                .expect("a hidden global is still accepted");
            assert!(Cli::from_arg_matches(&m).unwrap().dry_run, "{args:?}");
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
