//! `afk upgrade`'s arguments: the recipes, the options and `verdict`.

#[derive(clap::Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    /// Recipes to upgrade [default: every one in upgrade.recipes]
    #[arg(value_name = "RECIPE")]
    pub recipes: Vec<String>,
    /// Ask the registries now, whatever upgrade.scan_every says
    #[arg(long)]
    pub scan: bool,
    /// A stale test is updated in upgrade.tests_repo by the fixer, in a PR paired with the recipe's
    #[arg(long)]
    pub with_tests: bool,
    #[command(subcommand)]
    pub command: Option<UpgradeCmd>,
}

#[derive(clap::Subcommand, Debug)]
pub enum UpgradeCmd {
    /// One PR's test verdict: VERDICT=GREEN|RED|PENDING and BUILD=<url>; exit 0, 1, 3 or 4
    ///
    /// Reads the upgrade.ci_context status on the PR's head, counting only a
    /// status newer than afk's latest test comment (an older GREEN is stale).
    /// With --post it first posts exactly one test comment; with --wait it polls
    /// until the verdict is not PENDING or the duration ends.
    #[command(after_long_help = "\
Examples:
  afk upgrade verdict recipe-maintainers/nextcloud 12
  afk upgrade verdict recipe-maintainers/nextcloud 12 --post --wait 30m
  afk --json upgrade verdict recipe-maintainers/nextcloud 12")]
    Verdict(VerdictArgs),
}

#[derive(clap::Args, Debug)]
pub struct VerdictArgs {
    /// The repository, OWNER/REPO
    pub repo: String,
    /// The pull request number
    pub pr: crate::types::PrNumber,
    /// Post exactly one test comment (upgrade.testme_comment) first
    #[arg(long)]
    pub post: bool,
    /// Poll until the verdict is not PENDING or DURATION (e.g. 30m) ends
    #[arg(long, value_name = "DURATION")]
    pub wait: Option<String>,
}
