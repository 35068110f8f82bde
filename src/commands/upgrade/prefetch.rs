//! The reads that opening PRs needs, all at once within `forge.concurrency`:
//! for each recipe with a bump that no open PR covers, its mirror's recently
//! closed PRs (was this branch's PR closed or merged before?) and the head of
//! each new bump's branch (never push over a commit afk did not make). A
//! tick that opens nothing reads none of it.

use super::gather::Recipe;
use crate::core::upgrade::{Bump, covered_by};
use crate::forge::{BranchHead, Forge, PullRequest, fan_out};
use std::collections::HashMap;

/// What was read, by mirror and by (mirror, branch).
#[derive(Default)]
pub(super) struct Prefetched {
    closed: HashMap<String, Result<Vec<PullRequest>, String>>,
    branches: HashMap<(String, String), Result<Option<BranchHead>, String>>,
}

enum Job {
    Closed(String),
    Branch(String, String),
}

enum Got {
    Closed(Result<Vec<PullRequest>, String>),
    Branch(Result<Option<BranchHead>, String>),
}

impl Prefetched {
    /// Read what the bumps of every recipe (`bumps[i]` for `recipes[i]`) not
    /// covered by its open PRs need.
    pub fn read(
        forge: &dyn Forge,
        recipes: &[Recipe],
        open: &[Vec<(PullRequest, Bump)>],
        bumps: &[Vec<Bump>],
        concurrency: usize,
    ) -> Prefetched {
        let mut jobs = vec![];
        for ((r, prs), bs) in recipes.iter().zip(open).zip(bumps) {
            let new: Vec<&Bump> = bs
                .iter()
                .filter(|b| !prs.iter().any(|(_, o)| covered_by(b, o)))
                .collect();
            if new.is_empty() {
                continue;
            }
            jobs.push(Job::Closed(r.mirror.clone()));
            jobs.extend(
                new.iter()
                    .map(|b| Job::Branch(r.mirror.clone(), b.branch())),
            );
        }
        let got = fan_out(&jobs, concurrency, |j| match j {
            Job::Closed(m) => {
                Got::Closed(forge.recent_closed_pulls(m).map_err(|e| format!("{e:#}")))
            }
            Job::Branch(m, b) => Got::Branch(forge.branch(m, b).map_err(|e| format!("{e:#}"))),
        });
        let mut p = Prefetched::default();
        for (j, g) in jobs.into_iter().zip(got) {
            match (j, g) {
                (Job::Closed(m), Got::Closed(c)) => {
                    p.closed.insert(m, c);
                }
                (Job::Branch(m, b), Got::Branch(h)) => {
                    p.branches.insert((m, b), h);
                }
                _ => unreachable!("answers come back in order"),
            }
        }
        p
    }

    /// The mirror's recently closed PRs (read now if they were not before).
    pub fn closed(&mut self, forge: &dyn Forge, mirror: &str) -> Result<&[PullRequest], String> {
        let got = self.closed.entry(mirror.to_string()).or_insert_with(|| {
            forge
                .recent_closed_pulls(mirror)
                .map_err(|e| format!("{e:#}"))
        });
        got.as_deref().map_err(Clone::clone)
    }

    /// The head of `branch` on the mirror (read now if it was not before).
    pub fn branch(
        &mut self,
        forge: &dyn Forge,
        mirror: &str,
        branch: &str,
    ) -> Result<Option<BranchHead>, String> {
        self.branches
            .entry((mirror.to_string(), branch.to_string()))
            .or_insert_with(|| forge.branch(mirror, branch).map_err(|e| format!("{e:#}")))
            .clone()
    }
}
