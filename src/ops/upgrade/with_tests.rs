//! `--with-tests` (docs/configuration.md#upgrade-recipe-upgrades): a stale test
//! is updated by the fixer in `upgrade.tests_repo` on
//! `afk/tests-<recipe>-<tag>`; once that branch has a commit of the fixer's,
//! afk opens the tests PR, cross-links the two PRs with one comment each, and
//! tests the recipe PR against that branch (`testme_comment tests=<branch>`).
//! Nothing is merged.

use super::fixer::Launch;
use super::gather;
use super::up::Up;
use crate::core::upgrade::{self, Bump, StaleTest};
use crate::forge::{PullRequest, Target};
use crate::store::upgrades::Upgrade;
use crate::types::{PrNumber, RepoName};
use anyhow::Result;

/// The test comment for the next run: against the updated tests once their PR is open.
pub(super) fn testme_body(up: &Up, row: &Upgrade) -> String {
    let testme = &up.t.config().upgrade.testme_comment;
    match (&row.tests_branch, row.tests_pr) {
        (Some(b), Some(_)) => upgrade::testme_with_tests(testme, b),
        _ => testme.clone(),
    }
}

/// Whether the tests branch holds a commit the tests repository's `main` does not.
pub(super) fn pushed(up: &Up, branch: &str) -> Result<bool> {
    let Some(repo) = &up.t.config().upgrade.tests_repo else {
        return Ok(false);
    };
    let Some(head) = up.forge.branch(repo, branch)? else {
        return Ok(false);
    };
    let main = up.forge.branch(repo, "main")?;
    Ok(main.is_none_or(|m| m.commit.id != head.commit.id))
}

/// Start the fixer on a clone of the tests repository, on a new tests branch.
pub(super) fn start_fixer(
    up: &mut Up,
    r: &gather::Recipe,
    pr: &PullRequest,
    bump: &Bump,
    row: &Upgrade,
    run: u32,
) -> Result<()> {
    let tests_repo = tests_repo(up)?;
    let branch = bump.tests_branch();
    let st = super::fixer::stale_report(row).unwrap_or(StaleTest {
        test: String::new(),
        why: String::new(),
    });
    let env = [
        ("AFK_TESTS_REPO", tests_repo.as_str()),
        ("AFK_TESTS_BRANCH", branch.as_str()),
    ];
    let launch = Launch {
        turn: crate::runner::TurnOf::Fixer {
            upgrade: row.id,
            run,
            tests: true,
        },
        repo: tests_repo.clone(),
        clone_branch: "main".into(),
        new_branch: Some(branch.clone()),
        title: bump.tests_title(),
        env: &env,
    };
    super::fixer::start_on(up, r, pr, row, run, &launch, |preamble| {
        upgrade::tests_prompt(preamble, bump, &tests_repo, &st)
    })?;
    up.t.store().upgrade_tests(row.id, &branch, None)
}

/// Open the tests PR, cross-link the two, and test the recipe PR against it.
pub(super) fn open_pr(
    up: &mut Up,
    r: &gather::Recipe,
    pr: &PullRequest,
    bump: &Bump,
    row: &Upgrade,
) -> Result<(PrNumber, String)> {
    let tests_repo = tests_repo(up)?;
    let branch = bump.tests_branch();
    let recipe_ref = format!("{}#{}", r.mirror, pr.number);
    // the stale report is the recipe fixer's: its folder is the run's own
    let st = stale_of(up, row).unwrap_or(StaleTest {
        test: String::new(),
        why: String::new(),
    });
    let tpr = up.forge.create_pull(
        &tests_repo,
        &branch,
        "main",
        &bump.tests_title(),
        &upgrade::tests_pr_body(bump, &recipe_ref, &st),
    )?;
    up.t.store()
        .upgrade_tests(row.id, &branch, Some((tpr.number, &tpr.html_url)))?;
    let tests_ref = format!("{tests_repo}#{}", tpr.number);
    up.forge.create_comment(
        &tests_repo,
        Target::Pr(tpr.number),
        &upgrade::paired_comment(&recipe_ref, &pr.html_url, &st),
    )?;
    up.forge.create_comment(
        &r.mirror,
        Target::Pr(pr.number),
        &upgrade::paired_comment(&tests_ref, &tpr.html_url, &st),
    )?;
    let testme = upgrade::testme_with_tests(&up.t.config().upgrade.testme_comment, &branch);
    up.forge
        .create_comment(&r.mirror, Target::Pr(pr.number), &testme)?;
    up.t.store().upgrade_tested(row.id, &pr.head.sha)?;
    Ok((tpr.number, tpr.html_url))
}

/// `upgrade.tests_repo`, which `--with-tests` made sure of before any I/O.
fn tests_repo(up: &Up) -> Result<RepoName> {
    let repo = up.t.config().upgrade.tests_repo.clone();
    repo.ok_or_else(|| anyhow::anyhow!("upgrade: --with-tests needs upgrade.tests_repo"))
}

/// The recipe fixer's stale-test report of the run before the tests fixer.
fn stale_of(up: &Up, row: &Upgrade) -> Option<StaleTest> {
    let run = row.fixer_run?;
    let dir = up.t.paths().runs.join(format!("upgrade-{}-{run}", row.id));
    upgrade::stale_test_report(&crate::runner::output::progress(&dir).lines)
}
