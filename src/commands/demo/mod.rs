//! `afk demo`: a sandbox in-process, a few repos and issues, the scripted agent,
//! and the ticks that exist so far, printed as they run; then the review act
//! (a trusted reviewer's request for changes answered by one `review` turn,
//! `/afk hold` and `resume`, an approval, the merge); then the canary act
//! (a second template version that does worse, rolled back by harvest), the
//! budget act (an agent stopped over `run_usd`, dispatch stopped at
//! `day_usd`), the kubernetes act (an agent as a Job on the sandbox's
//! Kubernetes API), the hook act (the sandbox's webhooks into `afk hook`:
//! an agent started seconds after its label, no cron tick) and the upgrade act. No network, no accounts.
//!
//! On Azure DevOps (`--forge azure-devops`) issues are work items numbered
//! across the organization: every act names an issue by the number afk sees
//! (`world::seen`), a person's merge is a pull request's completion
//! (`world::person_merges`), a review is a thread and a vote; the hook act
//! is skipped there for now (it says why).

mod budget;
mod canary;
mod hook;
mod kubernetes;
mod lifecycle;
mod review;
mod show;
mod stage;
mod tracker;
mod upgrade;
mod world;

use crate::core::demo::KEEP_IN_TEMP;
use crate::session::{Outcome, Session};
use anyhow::Result;
use show::Show;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Which forge the sandbox plays
    #[arg(long, default_value = "gitea", value_parser = crate::sandbox::Dialect::NAMES)]
    pub forge: String,
    /// Keep the demo's folder (run folders, the scripted agent, the
    /// configs, the status page) instead of removing it; --keep=DIR puts it
    /// at DIR (a folder that does not exist yet, or an empty one)
    #[arg(long = "keep", value_name = "DIR", num_args = 0..=1, require_equals = true,
          default_missing_value = KEEP_IN_TEMP)]
    pub keep_dir: Option<String>,
    /// Route the canary act by draws from the OS instead of the fixed seed
    /// (AFK_CANARY_SEED, when set, is used either way)
    #[arg(long)]
    pub random: bool,
    /// Who plays the agent of the main acts: the real Claude Code or Codex
    /// (found on PATH) answered by the sandbox's scripted model, or the
    /// scripted agent [default: claude when it is on PATH, else script]
    #[arg(long, value_parser = ["claude", "codex", "script"])]
    pub agent: Option<String>,
    /// Play the tracker act alone: work armed in the sandbox's Jira or
    /// Linear by a person the tracker trusts (and by one it does not),
    /// built on the forge, ending done in the tracker (docs/trackers.md)
    #[arg(long, value_parser = ["jira", "linear"])]
    pub tracker: Option<String>,
}

impl Args {
    /// `--keep`, with or without a folder.
    pub fn keep(&self) -> bool {
        self.keep_dir.is_some()
    }

    /// The demo's folder: `--keep=DIR`'s, else a new one under the temp folder.
    fn folder(&self) -> Result<std::path::PathBuf> {
        match crate::core::demo::keep_dir(self.keep_dir.as_deref()).map(std::path::Path::new) {
            Some(d) => {
                let empty = std::fs::read_dir(d).map_or(true, |mut e| e.next().is_none());
                if !empty {
                    anyhow::bail!(
                        "demo: --keep={} is not empty: give a new folder (the demo writes its forge, state and configs there)",
                        d.display()
                    );
                }
                let d = std::path::absolute(d)?;
                reachable_by_the_jobs(&d)?;
                Ok(d)
            }
            None => Ok(std::env::temp_dir().join(format!("afk-demo-{}", std::process::id()))),
        }
    }
}

/// The Kubernetes act's Job containers run as another user when afk is root
/// (docs/kubernetes.md): `--keep=DIR` below a folder that user cannot pass
/// through (a `mktemp -d`, mode 0700) is said before anything else, never a
/// Job that fails mid-demo.
fn reachable_by_the_jobs(dir: &std::path::Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    // SAFETY: geteuid(2) cannot fail
    if unsafe { libc::geteuid() } != 0 {
        return Ok(());
    }
    let chain: Vec<(String, u32)> = dir
        .ancestors()
        .filter_map(|a| {
            let m = std::fs::metadata(a).ok()?;
            Some((a.display().to_string(), m.permissions().mode()))
        })
        .collect();
    let chain: Vec<(&str, u32)> = chain.iter().map(|(p, m)| (p.as_str(), *m)).collect();
    if let Some((at, mode)) = crate::core::demo::private_on_the_way(&chain) {
        anyhow::bail!(
            "demo: --keep={}: {at} (mode {mode:04o}) lets no other user through, and the Kubernetes act's Job containers run as another user: give a folder others can pass through (chmod o+x {at}), or no folder (--keep)",
            dir.display()
        );
    }
    Ok(())
}

/// The canary act's routing seed unless `--random` or `AFK_CANARY_SEED` says
/// otherwise: the demo shows the same story every time.
const DEMO_CANARY_SEED: &str = "20260101";

pub fn run(s: &Session, a: &Args) -> Result<Outcome> {
    let json = s.json();
    if !a.random && std::env::var_os("AFK_CANARY_SEED").is_none() {
        // SAFETY: nothing else runs yet (no sandbox, no agent, no thread), so
        // no one reads the environment while it changes.
        unsafe { std::env::set_var("AFK_CANARY_SEED", DEMO_CANARY_SEED) };
    }
    // the demo's acts run their watch ticks themselves, one after another:
    // a turn's end starts none beside them
    // SAFETY: as above, nothing else runs yet
    unsafe { std::env::set_var("AFK_TURN_END_WATCH", "off") };
    // a folder --keep=DIR cannot use is said before anything else
    a.folder()?;
    if !json && a.tracker.is_none() {
        crate::output::line(
            "afk demo: afk's main job first: ready issues -> agents -> pull requests -> CI -> merged, then a review round.\n\
             Then the optional parts, each for the teams that turn it on: the template canary (afk harvest, [harvest] canary),\n\
             budgets, the Kubernetes runner, and Co-op Cloud recipe upgrades (afk upgrade, [upgrade]).\n",
        );
    }
    let stage = stage::stage(json, a)?;
    let mut show = Show {
        json,
        ticks: vec![],
        worst: 0,
    };
    if let Some(tracker) = &a.tracker {
        tracker::act(&stage.sb, &stage.dir, (tracker, &stage.agent), &mut show)?;
        let dir = stage.dir.clone();
        drop(stage);
        if !a.keep() {
            let _ = std::fs::remove_dir_all(&dir);
        }
        if json {
            let doc =
                serde_json::json!({"command": "demo", "tracker": tracker, "ticks": show.ticks});
            crate::output::json_line(&doc, true);
        }
        return Ok(Outcome::code(show.worst));
    }
    let main = lifecycle::act(&stage.sb, &stage.ctx, &stage.dir, &mut show)?;
    let main_ticks = std::mem::take(&mut show.ticks);
    review::act(&stage.sb, &stage.ctx, main.api2, &mut show)?;
    let review_ticks = std::mem::take(&mut show.ticks);
    // in the demo's folder: gone with it unless --keep, nothing left in $TMPDIR
    let page = stage.dir.join("status.html");
    let (sb, dir, agent) = (&stage.sb, &stage.dir, &stage.agent);
    canary::act(sb, dir, (agent, stage.real), (a.keep(), &page), &mut show)?;
    let canary_ticks = std::mem::take(&mut show.ticks);
    budget::act(sb, dir, (agent, stage.real), &mut show)?;
    let budget_ticks = std::mem::take(&mut show.ticks);
    kubernetes::act(sb, dir, agent, &mut show)?;
    let kubernetes_ticks = std::mem::replace(&mut show.ticks, main_ticks);
    let hooked = hook::act(sb, dir, &mut show)?;
    let (upgrade_ticks, upgrade_worst) = upgrade::act(sb, dir, agent, json)?;
    show.worst = show.worst.max(upgrade_worst);
    let dir = stage.dir.clone();
    drop(stage);
    closing(&show, &dir, a.keep(), &page);
    if json {
        let doc = serde_json::json!({"command": "demo", "ticks": show.ticks, "status_page": Some(&page).filter(|_| a.keep()), "lessons": main.snap, "events": main.events,
                                     "review": {"ticks": review_ticks},
                                     "canary": {"ticks": canary_ticks}, "budget": {"ticks": budget_ticks},
                                     "kubernetes": {"ticks": kubernetes_ticks},
                                     "hook": hooked,
                                     "upgrade": upgrade_ticks});
        crate::output::json_line(&doc, true);
    }
    Ok(Outcome::code(show.worst))
}

/// After the sandbox is gone: keep or remove the demo's folder, and point at
/// the canary act's status page.
fn closing(show: &Show, dir: &std::path::Path, keep: bool, page: &std::path::Path) {
    if !keep {
        let _ = std::fs::remove_dir_all(dir);
    }
    let (dir, page) = (dir.display().to_string(), page.display().to_string());
    for line in crate::core::demo::closing(keep, &dir, &page) {
        show.say(&line);
    }
}
