//! The reads that opening PRs needs, all at once within `forge.concurrency`:
//! for each recipe with a bump that no open PR covers, its mirror's recently
//! closed PRs (was this branch's PR closed or merged before?) and the head of
//! each new bump's branch that an open PR is on (never push over a commit afk
//! did not make; a branch no PR is on is leased as absent at the push, which
//! git refuses if it exists). A tick that opens nothing reads none of it.

use super::fault::Fault;
use super::gather::Recipe;
use crate::core::upgrade::{Bump, covered_by};
use crate::forge::{BranchHead, Forge, PullRequest, fan_out};
use crate::types::RepoName;
use std::collections::HashMap;

/// Whether an open PR of `r`'s mirror (anyone's) is on `branch`.
fn on_open_pr(r: &Recipe, branch: &str) -> bool {
    r.forge
        .as_ref()
        .is_ok_and(|m| m.open.iter().any(|p| p.head.name == branch))
}

/// What was read, by mirror and by (mirror, branch).
#[derive(Default)]
pub(super) struct Prefetched {
    closed: HashMap<RepoName, Result<Vec<PullRequest>, Fault>>,
    branches: HashMap<(RepoName, String), Result<Option<BranchHead>, Fault>>,
}

enum Job {
    Closed(RepoName),
    Branch(RepoName, String),
}

enum Got {
    Closed(Result<Vec<PullRequest>, Fault>),
    Branch(Result<Option<BranchHead>, Fault>),
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
            // a branch no open PR is on is not asked for: the push's lease
            // (the branch must not exist) asks instead (`open.rs`)
            jobs.extend(
                new.iter()
                    .filter(|b| on_open_pr(r, &b.branch()))
                    .map(|b| Job::Branch(r.mirror.clone(), b.branch())),
            );
        }
        let got = fan_out(&jobs, concurrency, |j| match j {
            Job::Closed(m) => Got::Closed(forge.recent_closed_pulls(m).map_err(Fault::from)),
            Job::Branch(m, b) => Got::Branch(forge.branch(m, b).map_err(Fault::from)),
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
    pub fn closed(
        &mut self,
        forge: &dyn Forge,
        mirror: &RepoName,
    ) -> Result<&[PullRequest], Fault> {
        let got = self
            .closed
            .entry(mirror.clone())
            .or_insert_with(|| forge.recent_closed_pulls(mirror).map_err(Fault::from));
        got.as_deref().map_err(Clone::clone)
    }

    /// The head of `branch` on the mirror as far as this tick knows: read
    /// before, or now; `Ok(None)` without asking when no open PR of the
    /// mirror is on it (the PR list is the earlier answer): a push then
    /// leases on its absence, and a refused one asks (`open.rs`).
    pub fn branch_if_known(
        &mut self,
        forge: &dyn Forge,
        r: &Recipe,
        branch: &str,
    ) -> Result<Option<BranchHead>, Fault> {
        if !on_open_pr(r, branch)
            && !self
                .branches
                .contains_key(&(r.mirror.clone(), branch.to_string()))
        {
            return Ok(None);
        }
        self.branch(forge, &r.mirror, branch)
    }

    /// The head of `branch` on the mirror (read now if it was not before).
    pub fn branch(
        &mut self,
        forge: &dyn Forge,
        mirror: &RepoName,
        branch: &str,
    ) -> Result<Option<BranchHead>, Fault> {
        self.branches
            .entry((mirror.clone(), branch.to_string()))
            .or_insert_with(|| forge.branch(mirror, branch).map_err(Fault::from))
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::upgrade::BumpSite;
    use crate::core::upgrade::cadence::Scan;
    use crate::core::upgrade::tags::UpdateType;
    use crate::forge::Failure;
    use crate::forge::ForgeReads;
    use afk_forge_memory::MemoryForge;

    const M: &str = "acme/deploy";
    /// `M` as the forge's methods take it.
    static MIRROR: std::sync::LazyLock<RepoName> =
        std::sync::LazyLock::new(|| RepoName::parse(M).unwrap());

    fn recipe() -> Recipe {
        Recipe {
            name: "web".into(),
            mirror: MIRROR.clone(),
            upstream_url: String::new(),
            upstream: Err("not read".into()),
            forge: Err("not read".into()),
            tags: Ok(vec![]),
            scan: Scan::Due,
            ages: vec![],
        }
    }

    fn bump(to: &str) -> Bump {
        Bump {
            recipe: "web".into(),
            host: None,
            path: "nginx".into(),
            image: "library/nginx".into(),
            to: to.into(),
            update_type: UpdateType::Patch,
            sites: vec![BumpSite {
                file: "compose.yml".into(),
                service: "web".into(),
                from: "1.25.0".into(),
            }],
            more: vec![],
            group: None,
        }
    }

    fn forge() -> MemoryForge {
        MemoryForge::new("afk-bot").repo(M).branch(
            M,
            BranchHead {
                name: "afk/upgrade-nginx-1.25.2".into(),
                ..Default::default()
            },
        )
    }

    #[test]
    fn a_bump_an_open_pr_covers_reads_nothing() {
        let f = forge();
        let open = vec![(PullRequest::default(), bump("1.25.3"))];
        let p = Prefetched::read(&f, &[recipe()], &[open], &[vec![bump("1.25.2")]], 4);
        assert_eq!(f.requests(), 0);
        assert!(p.closed.is_empty() && p.branches.is_empty());
    }

    /// `recipe()` whose mirror shows an open PR (someone's) on `branch`.
    fn recipe_with_pr_on(branch: &str) -> Recipe {
        let mut pr = PullRequest::default();
        pr.head.name = branch.into();
        Recipe {
            forge: Ok(crate::ops::upgrade::gather::Mirror {
                open: vec![pr],
                main: None,
            }),
            ..recipe()
        }
    }

    #[test]
    fn a_branch_no_open_pr_is_on_is_not_probed_its_push_leases_on_absence() {
        let f = forge();
        let r = recipe_with_pr_on("afk/upgrade-other-1");
        let mut p = Prefetched::read(
            &f,
            std::slice::from_ref(&r),
            &[vec![]],
            &[vec![bump("1.25.2")]],
            4,
        );
        assert_eq!((f.calls("recent_closed_pulls"), f.calls("branch")), (1, 0));
        let head = p
            .branch_if_known(&f, &r, "afk/upgrade-nginx-1.25.2")
            .unwrap();
        assert!(head.is_none());
        assert_eq!(f.calls("branch"), 0, "the PR list already answered");
    }

    #[test]
    fn a_new_bump_reads_closed_pulls_and_its_branch_once() {
        let f = forge();
        let r = recipe_with_pr_on("afk/upgrade-nginx-1.25.2");
        let mut p = Prefetched::read(&f, &[r], &[vec![]], &[vec![bump("1.25.2")]], 4);
        assert_eq!((f.calls("recent_closed_pulls"), f.calls("branch")), (1, 1));
        let head = p.branch(&f, &MIRROR, "afk/upgrade-nginx-1.25.2").unwrap();
        assert_eq!(head.unwrap().name, "afk/upgrade-nginx-1.25.2");
        assert!(p.closed(&f, &MIRROR).unwrap().is_empty());
        assert_eq!(f.requests(), 2, "answered from what was read");
        assert_eq!(
            p.branch(&f, &MIRROR, "afk/upgrade-nginx-9")
                .unwrap()
                .map(|b| b.name),
            None
        );
        assert_eq!(f.calls("branch"), 2);
    }

    #[test]
    fn a_failed_read_is_kept_as_its_error_not_read_again() {
        let f = forge().failing("recent_closed_pulls", Failure::Other(500));
        let mut p = Prefetched::read(&f, &[recipe()], &[vec![]], &[vec![bump("1.25.2")]], 4);
        let e = p.closed(&f, &MIRROR).unwrap_err();
        assert!(e.to_string().contains("500"), "{e}");
        assert_eq!(f.calls("recent_closed_pulls"), 1);
    }
}
