//! clap definitions only.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "afk",
    version,
    about = "Leave coding agents working while nobody is at the keyboard, safely.",
    long_about = "afk runs one bounded tick per invocation (from cron, a systemd timer, a \
                  Kubernetes CronJob or CI): it reads the forge, the agent runner and one \
                  SQLite file, does one step of work, and exits."
)]
pub struct Cli {
    /// Config file [default: $AFK_CONFIG, ./afk.toml, ~/.config/afk/config.toml]
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// The SQLite state file; overrides state_path
    #[arg(long, global = true, value_name = "PATH")]
    pub state: Option<PathBuf>,
    /// Decide and report everything, change nothing
    #[arg(long, global = true)]
    pub dry_run: bool,
    /// Print exactly one JSON document on stdout
    #[arg(long, global = true)]
    pub json: bool,
    /// More logging on stderr
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Less logging on stderr
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub quiet: u8,
    #[command(subcommand)]
    pub command: Cmd,
}

#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// One dispatch tick: ready issues -> coding agents
    Poll,
    /// One lifecycle tick over runs in flight
    Watch,
    /// One outcome + canary tick over prompt-template versions (not yet implemented)
    Harvest(Pending),
    /// The lessons journal: record | list | update | snapshot
    #[command(subcommand)]
    Lessons(LessonsCmd),
    /// One recipe-upgrade tick; `upgrade verdict` reads one PR's verdict
    Upgrade(UpgradeArgs),
    /// Prompt-template versions: list | add | promote | reject | show
    #[command(subcommand)]
    Template(TemplateCmd),
    /// What is in flight, frozen repos, recent events
    Status(StatusArgs),
    /// Read-only checks of config, state, forge, labels and runner
    Doctor,
    /// Write a commented starter config
    Init(InitArgs),
    /// A throwaway loopback forge for trying afk and for tests
    Sandbox(SandboxArgs),
    /// The whole lifecycle against the sandbox, no network, no accounts
    Demo,
}

/// Arguments of a command that is not built yet (accepted so the error is ours).
#[derive(Args, Debug)]
pub struct Pending {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    pub rest: Vec<String>,
}

#[derive(Subcommand, Debug)]
pub enum TemplateCmd {
    /// Add a version: the first of a name becomes current, later ones candidates
    Add {
        name: String,
        #[arg(long, value_name = "F")]
        file: PathBuf,
        /// Make it the live canary (needs harvest.canary)
        #[arg(long)]
        canary: bool,
    },
    /// Versions with their status
    List { name: Option<String> },
    /// One version's text (default: the current one)
    Show {
        #[arg(value_name = "NAME[@VERSION]")]
        spec: String,
    },
    /// Make a version current by hand; the old current becomes retired
    Promote { name: String, version: i64 },
    /// Reject a version
    Reject { name: String, version: i64 },
}

#[derive(Args, Debug)]
pub struct InitArgs {
    /// Overwrite an existing file
    #[arg(long)]
    pub force: bool,
    /// Also create afk's labels in every allowlisted repo
    #[arg(long)]
    pub create_labels: bool,
}

#[derive(Args, Debug)]
pub struct SandboxArgs {
    /// Loopback address to listen on
    #[arg(long, default_value = "127.0.0.1:0")]
    pub addr: String,
    /// JSON file with users, repos, labels, issues (see README)
    #[arg(long, value_name = "FILE")]
    pub seed: Option<PathBuf>,
    /// Directory for the sandbox's repositories
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum LessonsCmd {
    /// Record a lesson by hand (source = manual; never deduplicated)
    Record(LessonRecord),
    /// Lessons, newest first
    List(LessonList),
    /// Change a lesson's status or attribution; stamps updated_at
    Update(LessonUpdate),
    /// Totals by type and status, and the open count
    Snapshot,
}

#[derive(Args, Debug)]
pub struct LessonRecord {
    /// Lesson type, a slug such as gate_failure or flaky_test
    #[arg(long = "type", value_name = "T")]
    pub lesson_type: String,
    #[arg(long, value_name = "R")]
    pub repo: Option<String>,
    /// e.g. owner/repo#7
    #[arg(long, value_name = "W")]
    pub work_item: Option<String>,
    #[arg(long, value_name = "S")]
    pub stage: Option<String>,
    #[arg(long, value_name = "A")]
    pub agent: Option<String>,
    #[arg(long, value_name = "TEXT")]
    pub root_cause: Option<String>,
    #[arg(long, value_name = "TEXT")]
    pub suggestion: Option<String>,
    #[arg(long, value_name = "TEXT")]
    pub detail: Option<String>,
    /// platform | repo | both
    #[arg(long, value_name = "A")]
    pub attribution: Option<String>,
    #[arg(long, value_name = "R")]
    pub target_repo: Option<String>,
    /// reliability | quality | speed | cost | security
    #[arg(long, value_name = "D")]
    pub target_domain: Option<String>,
}

#[derive(Args, Debug)]
pub struct LessonList {
    #[arg(long = "type", value_name = "T")]
    pub lesson_type: Option<String>,
    /// new | in_progress | closed
    #[arg(long, value_name = "S")]
    pub status: Option<String>,
    #[arg(long, value_name = "R")]
    pub repo: Option<String>,
    #[arg(long, value_name = "W")]
    pub work_item: Option<String>,
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub limit: usize,
}

#[derive(Args, Debug)]
pub struct LessonUpdate {
    pub id: i64,
    /// new | in_progress | closed
    #[arg(long, value_name = "S")]
    pub status: Option<String>,
    /// platform | repo | both
    #[arg(long, value_name = "A")]
    pub attribution: Option<String>,
    #[arg(long, value_name = "R")]
    pub target_repo: Option<String>,
    /// reliability | quality | speed | cost | security
    #[arg(long, value_name = "D")]
    pub target_domain: Option<String>,
    #[arg(long, value_name = "X")]
    pub related_item: Option<String>,
    #[arg(long, value_name = "TEXT")]
    pub root_cause: Option<String>,
    #[arg(long, value_name = "TEXT")]
    pub suggestion: Option<String>,
}

#[derive(Args, Debug)]
pub struct StatusArgs {
    /// Lift the freeze a degraded deploy put on REPO
    #[arg(long, value_name = "REPO")]
    pub unfreeze: Option<String>,
}

// upgrade
#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct UpgradeArgs {
    /// Recipes to upgrade [default: every one in upgrade.recipes]
    #[arg(value_name = "RECIPE")]
    pub recipes: Vec<String>,
    #[command(subcommand)]
    pub command: Option<UpgradeCmd>,
}

#[derive(Subcommand, Debug)]
pub enum UpgradeCmd {
    /// One PR's test verdict: VERDICT=GREEN|RED|PENDING and BUILD=<url>; exit 0, 1 or 3
    Verdict(VerdictArgs),
}

#[derive(Args, Debug)]
pub struct VerdictArgs {
    /// The repository, OWNER/REPO
    pub repo: String,
    /// The pull request number
    pub pr: u64,
    /// Post exactly one test comment (upgrade.testme_comment) first
    #[arg(long)]
    pub post: bool,
    /// Poll until the verdict is not PENDING or DURATION (e.g. 30m) ends
    #[arg(long, value_name = "DURATION")]
    pub wait: Option<String>,
}
