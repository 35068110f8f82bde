//! One recipe-upgrade tick (docs/how-it-works.md#afk-upgrade); `afk upgrade`
//! and `afk upgrade verdict` are `ops/upgrade/`.
//!
//! The opening through the edges (stop file → lock → store; forge, git,
//! runner, store, journal and notifier real or dry), then every read at once
//! in one pool (`gather.rs`: afk's login, upstream clones, mirrors, and each
//! recipe's image tags as soon as its compose file is read, each image once),
//! the open PRs' comments and statuses (`flow::fetch`), and then, recipe by
//! recipe: reconcile the mirror and close obsolete PRs (`mirror.rs`), keep
//! afk's own branches current (`current.rs`), open the selected bumps
//! (`open.rs`), and move each PR's test flow one step (`flow.rs`,
//! `fixer.rs`). The decisions are `core::upgrade`, `core::upgrade::current` and
//! `core::upgrade::verdict`; `report.rs` renders what happened.

mod current;
mod ending;
mod fault;
mod fixer;
mod flow;
mod gather;
mod mirror;
mod open;
mod prefetch;
mod recipe;
pub mod report;
mod scope;
mod up;
mod with_tests;

use crate::config::GroupBy;
use crate::core::upgrade::cadence;
use crate::core::upgrade::group as upgrade_group;
use crate::core::upgrade::{self, Bump, parse_marker, plan};
use crate::forge::{Forge, PullRequest};
use crate::git::GitOps;
use crate::registry::{Once, Registry};
use crate::session::Session;
use crate::tick::Tick;
use crate::types::{RepoName, TickKind};
use anyhow::Result;
pub use flow::{status_views, views};
use prefetch::Prefetched;
use report::Report;
use scope::{check_options, recipe_names};
pub use up::Options;
use up::{Plan, Up};

/// The prefix of every upgrade PR's branch.
pub const BRANCH_PREFIX: &str = "afk/upgrade-";

/// What one upgrade tick did.
pub type Ended<'s> = crate::tick::Ended<'s, Report>;

/// The one document `--json` prints for a tick that failed as a whole.
pub fn failed(dry_run: bool, e: &anyhow::Error) -> Report {
    let mut r = Report::new(dry_run);
    let line = crate::command_error::error_line(e);
    r.error(
        "",
        None,
        fault::Fault::from(line).hinted(crate::hint::hints_of(e)),
    );
    r
}

crate::tick::tick_report!(Report, quiet: quiet_head, quiet_human: |r: &Report| r.human(&[]));

/// Upgrade has no switch of its own: a tick that did not open says why in
/// `reason`, and its human text is the report's own.
fn quiet_head(mut head: crate::tick::Head) -> crate::tick::Head {
    head.enabled = None;
    if head.stepped_aside {
        head.reason = Some("another upgrade tick holds the lock".into());
    }
    head
}

/// One upgrade tick over `only` (default: every configured recipe).
pub fn tick<'s>(ctx: &'s Session, only: &[String], opts: Options) -> Result<Ended<'s>> {
    check_options(ctx, &opts)?;
    let triples = recipe_names(ctx, only)?;
    let names: Vec<String> = triples.iter().map(|t| t.0.clone()).collect();
    if names.is_empty() {
        let mut report = Report::new(ctx.dry_run());
        report.head.reason =
            Some("no recipes: upgrade.recipes is empty and none were named".into());
        let human = report.human(&names);
        return Ok(Ended::quiet(report, human));
    }
    crate::tick::open(ctx, TickKind::Upgrade, |mut t| {
        // the demo's "a day later": the tick's moment moved on
        t.now = opts.now.unwrap_or(t.now);
        let report = upgrade(&t, triples, opts)?;
        let (human, code) = (report.human(&names), report.code());
        Ok(Ended {
            report,
            human,
            code,
            tick: Some(t),
        })
    })
}

/// The tick itself on its open edges, the same code whether they are real
/// or dry: what to scan, every read at once, then each recipe's steps.
fn upgrade(t: &Tick, triples: Vec<(String, RepoName, String)>, opts: Options) -> Result<Report> {
    let mut report = Report::new(t.tense() == crate::edges::Tense::Would);
    report.pr_segment = t.settled.profile.pr_segment;
    report.pr_sigil = t.settled.profile.pr_sigil;
    let scans = scans(t, triples, opts, &mut report)?;
    // every read at once, afk's login among them: reading upstream needs no
    // credentials, so the pushing git is handed out once the login is known
    let (reader, forge) = (t.git(None), t.forge()?);
    let (me, recipes) = read_recipes(t, forge, &scans, reader.as_ref());
    let me = match me {
        Ok(login) => login,
        Err(e) => {
            report.error("", None, e);
            fault::record_exhausted(&t.journal, &report.errors);
            return Ok(report);
        }
    };
    let git = t.git(Some(mirror::credentials(t.config(), forge, &me)?));
    let up = Up {
        t,
        forge,
        git: git.as_ref(),
        me,
        report,
        open_count: 0,
        opts,
        remade: vec![],
    };
    let mut report = run_on(up, &recipes);
    report.requests = t.forge_requests().0;
    report.writes = t.writes();
    t.notify();
    fault::record_exhausted(&t.journal, &report.errors);
    Ok(report)
}

/// The tick's steps over what it read: afk's open PRs and their comments
/// and statuses, then every recipe.
fn run_on(mut up: Up, recipes: &[gather::Recipe]) -> Report {
    let afk_prs: Vec<Vec<(PullRequest, Bump)>> = recipes
        .iter()
        .map(|r| match &r.forge {
            Ok(m) => afk_prs(&m.open, &up.me, &r.mirror),
            Err(_) => vec![],
        })
        .collect();
    let conc = up.t.config().forge.concurrency;
    let facts = flow::fetch(up.forge, recipes, &afk_prs, conc);
    up.open_count = afk_prs.iter().map(Vec::len).sum();
    every_recipe(&mut up, recipes, afk_prs, &facts);
    up.report
}

/// Whether this tick asks the registries for each recipe (`scan_every`,
/// docs/configuration.md); the ones it does not are noted with their next scan.
fn scans(
    t: &Tick,
    triples: Vec<(String, RepoName, String)>,
    opts: Options,
    report: &mut Report,
) -> Result<Vec<(String, RepoName, String, cadence::Scan)>> {
    let (every, store, now) = (t.config().upgrade.scan_every, t.store(), t.now);
    let mut out = vec![];
    for (n, m, u) in triples {
        let last = store
            .last_scan(&n)?
            .as_deref()
            .and_then(crate::clock::parse);
        let dry_run = t.tense() == crate::edges::Tense::Would;
        let s = cadence::scan(last, now, every, opts.scan, dry_run);
        if let cadence::Scan::NotYet(next) = s {
            report.next_scan.push((n.clone(), crate::clock::ts(next)));
        }
        out.push((n, m, u, s));
    }
    Ok(out)
}

/// Every recipe's upstream and mirror, and the tags of the scanned ones'
/// images, read in one pipeline (`gather.rs`), and afk's login.
fn read_recipes(
    t: &Tick,
    forge: &dyn Forge,
    scans: &[(String, RepoName, String, cadence::Scan)],
    git: &dyn GitOps,
) -> (Result<String, fault::Fault>, Vec<gather::Recipe>) {
    let (cfg, now) = (t.config(), t.now);
    let conc = cfg.forge.concurrency;
    let reg = if scans.iter().any(|s| s.3.asks()) {
        t.registry()
            .with_auth(
                &cfg.upgrade.registry_auth_env,
                cfg.upgrade.registry_auth.as_ref(),
                &cfg.upgrade.registry_auth_host,
            )
            .map_err(|e| fault::Fault::from(format!("{e:#}")))
    } else {
        Err(fault::Fault::from("no registry asked"))
    };
    let once = reg.as_ref().map(|r| Once::new(r as &dyn Registry));
    let tags = once.as_ref().map_err(|e| fault::Fault::clone(e));
    let (me, mut recipes) = gather::recipes(scans, git, forge, tags, conc);
    if let Ok(once) = &once
        && !cfg.upgrade.min_release_age.is_zero()
    {
        let rule = gather::AgeRule {
            min: cfg.upgrade.min_release_age,
            now,
            allow_major: cfg.upgrade.allow_major,
        };
        gather::ages(&mut recipes, once.registry(), &rule);
    }
    (me, recipes)
}

/// Each recipe's own steps (reconcile, close, open), then every open PR's
/// flow, in queue order across recipes.
fn every_recipe(
    up: &mut Up,
    recipes: &[gather::Recipe],
    afk_prs: Vec<Vec<(PullRequest, Bump)>>,
    facts: &flow::Facts,
) {
    let cfg = up.t.config();
    let plans: Vec<Plan> = recipes.iter().map(|r| plan_of(cfg, r)).collect();
    let bumps: Vec<Vec<Bump>> = plans.iter().map(|p| p.1.clone()).collect();
    let conc = cfg.forge.concurrency;
    let mut pre = Prefetched::read(up.forge, recipes, &afk_prs, &bumps, conc);
    let mut flows = vec![];
    for (i, ((r, prs), plan)) in recipes.iter().zip(afk_prs).zip(plans).enumerate() {
        for (pr, bump, new) in recipe::recipe(up, r, prs, plan, &mut pre, facts) {
            flows.push(flow::Flow {
                recipe: i,
                pr,
                bump,
                new,
            });
        }
    }
    flow::advance_all(up, recipes, flows, facts);
}

fn plan_of(cfg: &crate::config::Config, r: &gather::Recipe) -> Plan {
    let (Ok(upstream), Ok(tags), true) = (&r.upstream, &r.tags, r.scan.asks()) else {
        return (vec![], vec![]);
    };
    let sites = &upstream.sites;
    let (rows, bumps) = plan(
        &r.name,
        sites,
        |s| {
            let i = sites.iter().position(|x| std::ptr::eq(x, s)).unwrap_or(0);
            tags.get(i).map(Vec::as_slice).unwrap_or(&[])
        },
        cfg.upgrade.allow_major,
    );
    match cfg.upgrade.group_by {
        GroupBy::Image => (rows, bumps),
        GroupBy::Recipe => {
            let labels = upgrade_group::labels(sites, |f| upstream.text(f));
            let one = upgrade_group::group(&r.name, bumps, &labels, sites);
            (rows, one.into_iter().collect())
        }
    }
}

/// afk's upgrade PRs among a mirror's open PRs: on an `afk/upgrade-` branch of
/// the mirror itself (not a fork), opened by afk's account, with afk's marker.
pub(super) fn afk_prs(
    open: &[PullRequest],
    me: &str,
    mirror: &RepoName,
) -> Vec<(PullRequest, Bump)> {
    open.iter()
        .filter(|p| {
            p.head.name.starts_with(BRANCH_PREFIX)
                && upgrade::opened_by_afk(p.author(), p.head_repo(), me, mirror)
        })
        .filter_map(|p| {
            let b = parse_marker(p.body.as_deref().unwrap_or(""))?;
            (b.branch() == p.head.name).then(|| (p.clone(), b))
        })
        .collect()
}
