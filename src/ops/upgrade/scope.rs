//! What an upgrade tick is over, checked before any I/O: the recipes named
//! (or configured) and the options that need config.

use super::up::Options;
use crate::command_error::UsageError;
use crate::core::upgrade;
use crate::session::Session;
use crate::types::RepoName;
use anyhow::Result;

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
        let Ok(mirror) = RepoName::parse_any(&mirror) else {
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
