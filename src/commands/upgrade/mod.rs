//! `afk upgrade`: one recipe-upgrade tick (SPEC 8), and `afk upgrade verdict`.
//!
//! The opening through the edges (stop file → lock → store; forge, git,
//! runner, store, journal and notifier real or dry), then every read at once
//! in one pool (`gather.rs`: afk's login, upstream clones, mirrors, and each
//! recipe's image tags as soon as its compose file is read, each image once),
//! the open PRs' comments and statuses (`flow::fetch`), and then, recipe by
//! recipe: reconcile the mirror and close obsolete PRs (`mirror.rs`), keep
//! afk's own branches current (`current.rs`), open the selected bumps
//! (`open.rs`), and move each PR's test flow one step (`flow.rs`,
//! `fixer.rs`). The decisions are `core::upgrade`, `core::upgrade_current` and
//! `core::verdict`; `report.rs` renders what happened.

mod args;
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
mod verdict;
mod with_tests;

use crate::config::GroupBy;
use crate::core::cadence;
use crate::core::upgrade::{self, Bump, CandidateRow, parse_marker, plan};
use crate::core::upgrade_group;
use crate::edges::Opening;
use crate::forge::{Forge, PullRequest};
use crate::git::{Git, GitOps};
use crate::lessons::Journal;
use crate::registry::{Once, Registry};
use crate::runner::Runner;
use crate::session::{Outcome, Session};
use crate::store::Store;
use crate::tick;
use crate::types::RepoName;
use anyhow::Result;
pub use args::{Args, UpgradeCmd, VerdictArgs};
use args::{check_options, recipe_names};
use prefetch::Prefetched;
use report::Report;

/// The prefix of every upgrade PR's branch.
pub const BRANCH_PREFIX: &str = "afk/upgrade-";

/// What one upgrade tick did.
pub type Tick = crate::tick::Tick<Report>;

/// `afk upgrade [RECIPE...]` or `afk upgrade verdict …`. With `--json` one
/// document is printed whatever happens, an error included.
pub fn run(s: &Session, a: &Args) -> Result<Outcome> {
    if let Some(UpgradeCmd::Verdict(v)) = &a.command {
        return verdict::run(s, v);
    }
    let opts = Options {
        scan: a.scan,
        with_tests: a.with_tests,
        now: None,
    };
    match crate::tick::run(s, crate::types::TickKind::Upgrade, |c| {
        tick(c, &a.recipes, opts)
    }) {
        Ok(outcome) => Ok(outcome),
        Err(e) if s.json() => {
            let line = crate::command_error::error_line(&e);
            crate::log::error(&line);
            let mut r = Report::new(s.dry_run());
            r.error("", None, line);
            crate::output::emit(true, &r, "");
            Ok(Outcome::code(crate::command_error::exit_code_of(&e)))
        }
        Err(e) => Err(e),
    }
}

impl crate::tick::TickReport for Report {
    fn head(&self) -> &crate::tick::Head {
        &self.head
    }
    fn error_lines(&self) -> Vec<String> {
        self.errors
            .iter()
            .map(|e| match e.pr {
                Some(pr) => format!("{} (PR #{pr}): {}", e.recipe, e.message),
                None => format!("{}: {}", e.recipe, e.message),
            })
            .collect()
    }
    fn counts(&self) -> (usize, usize, usize) {
        (self.requests, self.errors.len(), 0)
    }
}

/// Everything the per-recipe steps share within one tick.
pub(super) struct Up<'a> {
    pub ctx: &'a Session,
    pub forge: &'a dyn Forge,
    pub git: &'a dyn GitOps,
    pub store: &'a mut Store,
    /// afk's own login: only its PRs and comments are afk's
    pub me: String,
    pub journal: Journal,
    pub report: Report,
    /// afk's upgrade PRs open across all recipes (for `max_open_prs`)
    pub open_count: usize,
    runner: &'a dyn Runner,
    /// the tick's clock, read once
    pub now: time::OffsetDateTime,
    pub opts: Options,
    /// the PRs whose branch this tick re-made on a new `main` (`current.rs`)
    pub remade: Vec<(RepoName, crate::types::IssueNumber)>,
}

impl Up<'_> {
    /// A dry run, for the two things its edges cannot stand in for: the PRs
    /// it would open (`open.rs`, flow's tests PR). All else runs on the edges.
    pub fn dry(&self) -> bool {
        self.ctx.dry_run()
    }

    /// The mirror's git URL on the forge's web root (`{forge.url}/{mirror}.git`).
    pub fn mirror_url(&self, mirror: &str) -> Result<String> {
        let url = self.ctx.config().forge.url.trim_end_matches('/');
        if url.is_empty() {
            anyhow::bail!("forge.url is needed to push to the mirror {mirror}");
        }
        Ok(format!("{url}/{mirror}.git"))
    }

    /// The runner (built when a fixer first needs it: `edges`).
    pub fn runner(&self) -> Result<&dyn Runner> {
        Ok(self.runner)
    }
}

/// How a tick runs: `--scan` (ask the registries whatever `scan_every`
/// says) and `--with-tests` (SPEC 8.7).
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    pub scan: bool,
    pub with_tests: bool,
    /// the tick's clock when not the real one (the demo's "a day later")
    pub now: Option<time::OffsetDateTime>,
}

/// The tick's git: its work folder, pushing as afk's account with its token.
fn git_for(ctx: &Session, forge: &dyn crate::forge::Forge, me: &str) -> Result<Git> {
    Ok(ctx.git(Some(mirror::credentials(ctx.config(), forge, me)?)))
}

/// One upgrade tick over `only` (default: every configured recipe).
pub fn tick(ctx: &Session, only: &[String], opts: Options) -> Result<Tick> {
    check_options(ctx, &opts)?;
    let triples = recipe_names(ctx, only)?;
    let names: Vec<String> = triples.iter().map(|t| t.0.clone()).collect();
    let mut report = Report::new(ctx.dry_run());
    let finish = |report: Report| {
        let human = report.human(&names);
        let code = report.code();
        Ok(Tick {
            report,
            human,
            code,
        })
    };
    if names.is_empty() {
        report.head.reason =
            Some("no recipes: upgrade.recipes is empty and none were named".into());
        return finish(report);
    }
    // the stop file before any adapter is built: building one may read a key
    if ctx.stop_file().exists() {
        let why = format!("stop file {} exists", ctx.stop_file().display());
        report.head.reason = Some(why);
        return finish(report);
    }
    let mut edges = match ctx.open_tick(crate::types::TickKind::Upgrade)? {
        Opening::Stopped(why) => {
            report.head.reason = Some(why);
            return finish(report);
        }
        Opening::SteppedAside => {
            tick::stepping_aside(crate::types::TickKind::Upgrade);
            report.head.stepped_aside = true;
            report.head.reason = Some("another upgrade tick holds the lock".into());
            return finish(report);
        }
        Opening::Open(edges) => edges,
    };
    let now = opts.now.unwrap_or(edges.now);
    let scans = scans(ctx, &edges.store, triples, now, opts, &mut report)?;
    // every read at once, afk's login among them: reading upstream needs no
    // credentials, so the pushing git is built once the login is known
    let reader = ctx.git(None);
    let (me, recipes) = read_recipes(ctx, &scans, &reader, edges.forge.as_ref(), now);
    let me = match me {
        Ok(login) => login,
        Err(e) => {
            report.error("", None, e);
            fault::record_exhausted(&edges.journal, &report);
            return finish(report);
        }
    };
    let git = edges.git(git_for(ctx, edges.forge.as_ref(), &me)?);
    let read = Read {
        me,
        recipes,
        now,
        opts,
    };
    report = run_on(ctx, &mut edges, git.as_ref(), read, report);
    report.requests = edges.forge.requests();
    report.writes = edges.writes();
    edges.notify();
    fault::record_exhausted(&edges.journal, &report);
    finish(report)
}

/// What the tick read before its steps (afk's login, every recipe's
/// upstream, mirror and tags) and how it runs.
struct Read {
    me: String,
    recipes: Vec<gather::Recipe>,
    now: time::OffsetDateTime,
    opts: Options,
}

/// The tick's steps on its open edges, over what it read.
fn run_on(
    ctx: &Session,
    edges: &mut crate::edges::Edges,
    git: &dyn GitOps,
    read: Read,
    report: Report,
) -> Report {
    let Read {
        me,
        recipes,
        now,
        opts,
    } = read;
    let cfg = ctx.config();
    let journal = Journal::on(cfg, edges.source());
    let e = &mut *edges;
    let forge = e.forge.as_ref();
    let afk_prs: Vec<Vec<(PullRequest, Bump)>> = recipes
        .iter()
        .map(|r| match &r.forge {
            Ok(m) => afk_prs(&m.open, &me, &r.mirror),
            Err(_) => vec![],
        })
        .collect();
    let facts = flow::fetch(forge, &recipes, &afk_prs, cfg.forge.concurrency);
    let mut up = Up {
        ctx,
        forge,
        git,
        store: &mut e.store,
        me,
        journal,
        report,
        open_count: afk_prs.iter().map(Vec::len).sum(),
        runner: e.runner.as_ref(),
        now,
        opts,
        remade: vec![],
    };
    every_recipe(&mut up, &recipes, afk_prs, &facts);
    std::mem::take(&mut up.report)
}

/// Whether this tick asks the registries for each recipe (SPEC 8 cadence);
/// the ones it does not are noted with their next scan.
fn scans(
    ctx: &Session,
    store: &crate::store::Store,
    triples: Vec<(String, RepoName, String)>,
    now: time::OffsetDateTime,
    opts: Options,
    report: &mut Report,
) -> Result<Vec<(String, RepoName, String, cadence::Scan)>> {
    let every = ctx.config().upgrade.scan_every;
    let mut out = vec![];
    for (n, m, u) in triples {
        let last = store
            .last_scan(&n)?
            .as_deref()
            .and_then(crate::clock::parse);
        let s = cadence::scan(last, now, every, opts.scan, ctx.dry_run());
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
    ctx: &Session,
    scans: &[(String, RepoName, String, cadence::Scan)],
    git: &dyn GitOps,
    forge: &dyn Forge,
    now: time::OffsetDateTime,
) -> (Result<String, fault::Fault>, Vec<gather::Recipe>) {
    let cfg = ctx.config();
    let conc = cfg.forge.concurrency;
    let reg = if scans.iter().any(|s| s.3.asks()) {
        ctx.registry()
            .with_auth_env(
                &cfg.upgrade.registry_auth_env,
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
    let cfg = up.ctx.config();
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

/// A recipe's candidate rows and bumps (none when it is not scanned).
pub(super) type Plan = (Vec<CandidateRow>, Vec<Bump>);

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
