//! What an upgrade tick is over, checked before any I/O: the recipes named
//! (or configured) and the options that need config.

use super::up::Options;
use crate::command_error::UsageError;
use crate::core::upgrade;
use crate::session::Session;
use crate::types::RepoName;
use anyhow::Result;

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
    pub pr: crate::types::IssueNumber,
    /// Post exactly one test comment (upgrade.testme_comment) first
    #[arg(long)]
    pub post: bool,
    /// Poll until the verdict is not PENDING or DURATION (e.g. 30m) ends
    #[arg(long, value_name = "DURATION")]
    pub wait: Option<String>,
}

/// The recipes a tick is over, as (name, mirror, upstream URL): `only`, else
/// every configured one; a name that is not one is a usage error.
pub(super) fn recipe_names(
    ctx: &Session,
    only: &[String],
) -> Result<Vec<(String, RepoName, String)>> {
    let cfg = ctx.config();
    let names: &[String] = if only.is_empty() {
        &cfg.upgrade.recipes
    } else {
        only
    };
    let mut triples = vec![];
    for n in names {
        let mirror = cfg.upgrade.mirror.replace("{recipe}", n);
        if !upgrade::is_recipe_name(n) {
            return Err(UsageError(format!(
                "upgrade: \"{n}\" is not a recipe name (letters, digits, ., _ and -)"
            ))
            .into());
        }
        let Ok(mirror) = RepoName::parse(&mirror) else {
            return Err(UsageError(format!(
                "upgrade: the mirror of {n} would be \"{mirror}\", which is not owner/repo (upgrade.mirror)"
            ))
            .into());
        };
        triples.push((
            n.clone(),
            mirror,
            cfg.upgrade.upstream.replace("{recipe}", n),
        ));
    }
    Ok(triples)
}

/// `--with-tests` needs a tests repository: a usage error before any I/O.
pub(super) fn check_options(ctx: &Session, opts: &Options) -> Result<()> {
    if opts.with_tests && ctx.config().upgrade.tests_repo.is_none() {
        return Err(UsageError(
            "upgrade: --with-tests needs upgrade.tests_repo (the \"owner/repo\" of the recipe tests)"
                .into(),
        )
        .into());
    }
    Ok(())
}
