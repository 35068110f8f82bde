//! One file or folder per subcommand; each only wires the core to the
//! adapters, with its clap `Args` beside its `run(&Session, &Args) ->
//! Result<Outcome>`. This file lists the commands with their help and
//! dispatches; nothing else.

pub mod audit;
pub mod box_programs;
pub mod completions;
// the test world (`afk demo`, `afk sandbox`): with the `test-world` feature
// only, never in the production build (Cargo.toml)
#[cfg(feature = "test-world")]
pub mod demo;
pub mod doctor;
pub mod harvest;
pub mod hook;
pub mod init;
pub mod lessons;
pub mod man;
pub mod poll;
pub mod report;
pub mod runs;
#[cfg(feature = "test-world")]
pub mod sandbox;
pub mod status;
pub mod template;
pub mod upgrade;
pub mod watch;
pub mod workspace;

use crate::command_error::CommandError;
use crate::session::{Outcome, Session};

/// Every command, with its help; each variant's `Args` are beside its code.
#[derive(clap::Subcommand, Debug)]
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
    Poll(poll::Args),
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
    Watch(watch::Args),
    /// One outcome + canary tick over prompt-template versions
    ///
    /// Records the outcome of every ended run against the template version that
    /// handled it (a success whose merge is reverted within harvest.revert_window
    /// becomes a failure), counts the line survival of merged runs whose
    /// harvest.survival_window ended, then evaluates a live canary at its checkpoints: roll
    /// back, graduate, or keep sampling. Each decision is made and notified
    /// exactly once, and explained by its checkpoint numbers.
    #[command(after_long_help = "Examples:
  afk harvest                     one outcome + canary tick
  afk --dry-run harvest           decide and report, write and notify nothing
  afk --json harvest | jq .checkpoints")]
    Harvest(harvest::Args),
    /// One forge webhook event in, one scoped poll or watch tick out
    ///
    /// Reads one HTTP/1.1 request on standard input (what a socket unit with
    /// Accept=yes hands it; contrib/systemd/afk-hook.socket) or --body FILE
    /// with --header options, and answers on standard output. The signature
    /// is verified first with [hook] secret_env/secret_file (401 and nothing
    /// else without a valid one; 503 with no secret), a Jira or Linear
    /// delivery's with [tracker] hook_secret_env (docs/trackers.md). An issue event starts
    /// poll for that repository, a comment, review, status, check, pipeline,
    /// push or PR event starts watch for it, after 202 Accepted and the
    /// connection closed; a repository outside poll.allowlist, an unused
    /// event or a delivery already handled is answered 202 and starts
    /// nothing. The tick runs as cron's does (locks, kill switch, stop file,
    /// tick_timeout), its report to the log. docs/hook.md.
    #[command(after_long_help = "\
Examples:
  afk hook < request.http                       one raw request (a socket activator does this)
  afk hook --body payload.json --header 'X-GitHub-Event: issues' \\
      --header \"X-Hub-Signature-256: sha256=$SIG\" --header 'X-GitHub-Delivery: 1'")]
    Hook(hook::Args),
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
    Lessons(lessons::Args),
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
    Upgrade(upgrade::Args),
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
    Template(template::Args),
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
    Status(status::Args),
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
    Runs(runs::Args),
    /// The pilot's figures: outcomes, time to PR and to merge, turns and spend
    ///
    /// Per repository and overall, over the runs dispatched in the window
    /// (--since, default 30d): runs by outcome, time from the arming (else
    /// the dispatch) to PR and to merge (median and p90), corrective turns
    /// and spend per merged PR, escalations by reason. Reads the state file only (never the forge);
    /// the status page and the metrics file show the same over 30 days.
    #[command(after_long_help = "Examples:
  afk report                        the last 30 days
  afk report --since 7d
  afk --json report | jq .overall")]
    Report(report::Args),
    /// The journal of what afk did, hash-chained: verify it, export it, show a run's
    ///
    /// Every forge write, push, agent start and decision afk made is an entry
    /// hashed over the one before (docs/audit.md). `verify` recomputes the chain
    /// from the state file, or from an export alone (--file, no config needed),
    /// and names the first entry changed, removed, inserted or moved (exit 1).
    #[command(after_long_help = "Examples:
  afk audit verify                       the state file's chain
  afk audit export > journal.jsonl       for an archive or another machine
  afk audit verify --file journal.jsonl --head 120:<hash>
  afk audit show 12                      run 12's entries")]
    Audit(audit::Args),
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
    Doctor(doctor::Args),
    /// Write a commented starter config
    ///
    /// Writes the starter config to --config (default ./afk.toml). It ships
    /// disabled: set poll.enabled and poll.allowlist to arm it. With
    /// --create-labels it instead creates afk's four labels in every
    /// allowlisted repo of an existing config (idempotent); beside a
    /// tracker, in Linear's workspace (Jira makes a label on first use).
    #[command(after_long_help = "\
Examples:
  afk init
  afk --config /etc/afk/afk.toml init
  afk --config /etc/afk/afk.toml init --create-labels")]
    Init(init::Args),
    /// A throwaway loopback forge for trying afk and for tests
    ///
    /// Serves a small Gitea API v1 subset (or, with --dialect github, GitHub's
    /// REST API at /api/v3), backed by real bare git repositories, on loopback
    /// only, until killed. It also serves a small Kubernetes API at <url>/k8s
    /// (namespace afk; Jobs run as local processes) and an admin API at
    /// <url>/_admin. Prints AFK_SANDBOX_URL, AFK_SANDBOX_GIT,
    /// AFK_SANDBOX_MODEL_URL, AFK_SANDBOX_K8S_URL, AFK_SANDBOX_K8S_TOKEN,
    /// AFK_SANDBOX_K8S_NAMESPACE, AFK_SANDBOX_TOKEN (the forge's token for
    /// afk's account), AFK_SANDBOX_AGENT_TOKEN and a matching config on
    /// stdout (with --kubernetes, its runner is that cluster). Its tokens are
    /// drawn at random each start. The seed format and the admin calls:
    /// docs/sandbox.md.
    #[command(after_long_help = "\
Examples:
  afk sandbox
  afk sandbox --addr 127.0.0.1:3000 --seed seed.json --dir /tmp/afk-sandbox
  afk sandbox --dialect github     GitHub's shapes, rate limits and ETags
  afk sandbox --example --kubernetes
  kubectl --server \"$AFK_SANDBOX_K8S_URL\" --token \"$AFK_SANDBOX_K8S_TOKEN\" get jobs -n afk")]
    #[cfg(feature = "test-world")]
    Sandbox(sandbox::Args),
    /// The whole lifecycle against the sandbox, no network, no accounts
    ///
    /// Starts a sandbox in-process; the agent of the main acts is the real
    /// Claude Code (or Codex: --agent codex) answered by the sandbox's scripted
    /// model when it is on PATH, else the scripted agent (examples/demo-agent.sh,
    /// written to a temporary folder); each turn runs in the agent's box where
    /// the machine can make one. It prints what each tick did, in acts:
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
  afk demo --agent codex           the real Codex CLI plays the agent (claude: Claude Code)
  afk demo --keep                  keep the folder: configs, state, run folders
  afk demo --forge github          the same lifecycle on the sandbox's GitHub dialect
  afk demo --json | jq '.ticks[0].dispatched'")]
    #[cfg(feature = "test-world")]
    Demo(demo::Args),
    /// Print a shell completion script: bash | zsh | fish
    ///
    /// The script completes commands, flags and enumerated values. Install it
    /// where your shell looks for completions (see the examples).
    #[command(after_long_help = "\
Examples:
  afk completions bash > ~/.local/share/bash-completion/completions/afk
  afk completions zsh > ~/.zfunc/_afk       # with fpath+=(~/.zfunc) before compinit
  afk completions fish > ~/.config/fish/completions/afk.fish")]
    Completions(completions::Args),
    /// Print the man page (roff), or write one page per command with --dir
    #[command(after_long_help = "\
Examples:
  afk man | man -l -
  afk man --dir /usr/local/share/man/man1   # afk.1, afk-poll.1, ...
  afk --dry-run man --dir DIR               # name the pages, write nothing")]
    Man(man::Args),
    /// The git side of a Kubernetes Job in afk's workspace (its containers run it)
    ///
    /// `checkout` makes the agent's checkout before the agent's container,
    /// `forward` pushes the turn's work after it (docs/kubernetes.md).
    /// Everything they read comes from the environment the Job sets; not for
    /// people.
    #[command(hide = true)]
    Workspace(workspace::Args),
    /// Not a command: `afk version` says to use `afk --version` (clap would
    /// otherwise suggest `lessons`)
    #[command(hide = true)]
    Version,
    // the agent's box's programs (`afk __box`, `__box-probe`),
    // hidden; main runs them before the session's set-up
    #[command(flatten)]
    Box(box_programs::Program),
}

/// Run one command on its session: the command's own `run(&Session, &Args)`,
/// whose error becomes the one [`CommandError`] here (its kind, so its exit
/// code, and its hints found once).
pub fn run(s: &Session, command: &Cmd) -> Result<Outcome, CommandError> {
    let ran = match command {
        Cmd::Poll(a) => poll::run(s, a),
        Cmd::Watch(a) => watch::run(s, a),
        Cmd::Harvest(a) => harvest::run(s, a),
        Cmd::Hook(a) => hook::run(s, a),
        Cmd::Upgrade(a) => upgrade::run(s, a),
        Cmd::Lessons(a) => lessons::run(s, a),
        Cmd::Template(a) => template::run(s, a),
        Cmd::Status(a) => status::run(s, a),
        Cmd::Runs(a) => runs::run(s, a),
        Cmd::Report(a) => report::run(s, a),
        Cmd::Audit(a) => audit::run(s, a),
        Cmd::Doctor(a) => doctor::run(s, a),
        Cmd::Init(a) => init::run(s, a),
        #[cfg(feature = "test-world")]
        Cmd::Sandbox(a) => sandbox::run(s, a),
        #[cfg(feature = "test-world")]
        Cmd::Demo(a) => demo::run(s, a),
        Cmd::Completions(a) => completions::run(s, a),
        Cmd::Man(a) => man::run(s, a),
        Cmd::Workspace(a) => workspace::run(s, a),
        // main runs these before the session's set-up (and exits); any
        // other caller gets the same program and its status
        Cmd::Box(p) => std::process::exit(box_programs::run(p)),
        Cmd::Version => {
            return Err(
                CommandError::usage("`afk version` is not a command").hint("use `afk --version`")
            );
        }
    };
    ran.map_err(CommandError::from)
}
