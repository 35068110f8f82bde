//! What an upgrade tick's per-recipe steps share: the [`Tick`] and what
//! they work on ([`Up`]), how the tick runs ([`Options`]) and a recipe's plan.

use super::report::Report;
use crate::core::upgrade::{Bump, CandidateRow};
use crate::git::GitOps;
use crate::runner::Runner;
use crate::tick::Tick;
use crate::types::RepoName;
use anyhow::Result;

/// One upgrade tick: the [`Tick`] (every edge, the config, the moment) and
/// what its recipes' steps work on: afk's login, the pushing git the tick
/// handed out once the login was known, the report, the count of open PRs.
pub(super) struct Up<'a> {
    pub t: &'a Tick<'a>,
    /// the tick's forge (built before the tick opened)
    pub forge: &'a dyn crate::forge::Forge,
    pub git: &'a dyn GitOps,
    /// afk's own login: only its PRs and comments are afk's
    pub me: String,
    pub report: Report,
    /// afk's upgrade PRs open across all recipes (for `max_open_prs`)
    pub open_count: usize,
    pub opts: Options,
    /// the PRs whose branch this tick re-made on a new `main` (`current.rs`)
    pub remade: Vec<(RepoName, crate::types::PrNumber)>,
}

impl Up<'_> {
    /// A dry run, for the two things its edges cannot stand in for: the PRs
    /// it would open (`open.rs`, flow's tests PR). All else runs on the edges.
    pub fn dry(&self) -> bool {
        self.t.tense() == crate::edges::Tense::Would
    }

    /// The mirror's git URL on the forge's web root (`{forge.url}/{mirror}.git`).
    pub fn mirror_url(&self, mirror: &str) -> Result<String> {
        (self.t.config().git_url(mirror))
            .ok_or_else(|| anyhow::anyhow!("forge.url is needed to push to the mirror {mirror}"))
    }

    /// The runner (built when a fixer first needs it: `edges`).
    pub fn runner(&self) -> Result<&dyn Runner> {
        Ok(self.t.runner.as_ref())
    }
}

/// How a tick runs: `--scan` (ask the registries whatever `scan_every`
/// says) and `--with-tests` (`upgrade.tests_repo`, docs/configuration.md).
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    pub scan: bool,
    pub with_tests: bool,
    /// the tick's clock when not the real one (the demo's "a day later")
    pub now: Option<time::OffsetDateTime>,
}

/// A recipe's candidate rows and bumps (none when it is not scanned).
pub(crate) type Plan = (Vec<CandidateRow>, Vec<Bump>);
