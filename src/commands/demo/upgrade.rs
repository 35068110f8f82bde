//! The demo's upgrade act (docs/how-it-works.md#afk-upgrade): a scan finds
//! newer tags for two recipes, both PRs open, one is tested while the other
//! waits in the queue (the test cluster is shared); RED, the fixer's push,
//! GREEN; the slot passes to the other recipe, whose CI never answers: a day
//! later its flow ends STUCK.

use super::world::wait_for;
use crate::ops::upgrade::Options;
use crate::sandbox::{self, Seed};
use crate::session::Session;
use anyhow::Result;
use serde_json::json;

/// A bare upstream repository `<dir>/<name>.git` with one commit of `compose`.
fn upstream(dir: &std::path::Path, name: &str, compose: &str) -> Result<()> {
    let bare = dir.join(format!("{name}.git"));
    sandbox::git::init_bare(&bare, name).map_err(|e| anyhow::anyhow!("demo: {e}"))?;
    let g = |args: &[&str], input: Option<&str>| {
        sandbox::git::git(&bare, args, input).map_err(|e| anyhow::anyhow!("demo: {e}"))
    };
    let blob = g(&["hash-object", "-w", "--stdin"], Some(compose))?;
    let tree = g(
        &["mktree"],
        Some(&format!("100644 blob {blob}\tcompose.yml\n")),
    )?;
    let main = g(&["rev-parse", "refs/heads/main"], None)?;
    let msg = format!("{name}: the recipe");
    let commit = g(&["commit-tree", &tree, "-p", &main, "-m", &msg], None)?;
    g(&["update-ref", "refs/heads/main", &commit], None)?;
    Ok(())
}

/// The sandbox for the act: two mirrors, the registry's tags, a CI that
/// answers `web`'s test comments (RED, then GREEN) and never `cache`'s.
fn seed(sb: &sandbox::Sandbox) -> Result<()> {
    let seed: Seed = serde_json::from_value(json!({"repos": [
        {"name": "recipe-maintainers/web"}, {"name": "recipe-maintainers/cache"}
    ]}))?;
    let mut f = sb.state.lock().unwrap();
    let e = |e: String| anyhow::anyhow!("demo: {e}");
    f.seed(seed).map_err(e)?;
    f.seed_registry(&json!({"images": {
        "library/nginx": ["1.25.3", "1.25.4", "1.26.0", "1.26.0-alpine", "2.0.0", "latest"],
        "library/redis": ["7.2.3", "7.2.4", "7.2.4-alpine", "2041837", "latest"]
    }}))
    .map_err(e)?;
    f.set_ci(
        &json!({"repo": "recipe-maintainers/web", "trigger": "!testme",
                     "context": "cc-ci/testme", "states": ["failure", "success"]}),
    )
    .map_err(e)?;
    Ok(())
}

/// The upgrade act; returns the ticks' reports and the worst exit code.
pub(super) fn act(
    sb: &sandbox::Sandbox,
    dir: &std::path::Path,
    agent: &std::path::Path,
    json: bool,
) -> Result<(Vec<serde_json::Value>, u8)> {
    if super::world::azure(sb) {
        if !json {
            crate::output::line(
                "== the upgrade act: skipped on Azure DevOps: afk upgrade speaks Gitea, GitHub and GitLab (on Azure DevOps afk polls, watches and takes the hook)\n",
            );
        }
        return Ok((vec![], 0));
    }
    seed(sb)?;
    let up_dir = dir.join("upstream");
    recipes(&up_dir)?;
    let mut act = Act {
        ctx: act_ctx(sb, dir, agent, &up_dir, json)?,
        ticks: vec![],
        worst: 0,
    };
    act.say(
        "== the upgrade act: recipes \"web\" (nginx:1.25.3) and \"cache\" (redis:7.2.3); the registry has newer tags\n   (and a build id, 2041837, that is no version); one shared test cluster: one recipe under test at a time\n",
    );
    let now = Options::default();
    act.tick(
        "afk upgrade (the scan: two PRs; web's !testme posted, cache queued; CI answers web: RED)",
        now,
    )?;
    act.tick(
        "afk upgrade 15 minutes later (RED: the fixer starts on web's PR branch; cache still queued)",
        now,
    )?;
    act.fixer_pushes()?;
    act.tick(
        "afk upgrade (the fixer pushed: the next !testme; CI answers: GREEN)",
        now,
    )?;
    act.tick(
        "afk upgrade (GREEN: SUCCESS, nothing merged; the slot passes to cache, whose CI never answers)",
        now,
    )?;
    let later = Options {
        now: Some(crate::clock::now() + time::Duration::hours(25)),
        ..Options::default()
    };
    act.tick(
        "afk upgrade a day later (no verdict 24h after the test comment: STUCK, said once)",
        later,
    )?;
    Ok((act.ticks, act.worst))
}

/// The two recipes' upstream repositories under `up_dir`.
fn recipes(up_dir: &std::path::Path) -> Result<()> {
    upstream(
        up_dir,
        "web",
        "services:\n  app:\n    image: nginx:1.25.3  # the web server\n    deploy:\n      labels:\n        - \"coop-cloud.${STACK_NAME}.version=0.4.1+1.25.3\"\n",
    )?;
    upstream(
        up_dir,
        "cache",
        "services:\n  cache:\n    image: redis:7.2.3\n",
    )
}

/// The act's config (`upgrade.toml`), written and loaded.
fn act_ctx(
    sb: &sandbox::Sandbox,
    dir: &std::path::Path,
    agent: &std::path::Path,
    up_dir: &std::path::Path,
    json: bool,
) -> Result<Session> {
    let config_path = dir.join("upgrade.toml");
    std::fs::write(
        &config_path,
        format!(
            "state_path = \"afk.db\"\n[forge]\n{forge}\ntoken_file = \"token\"\ntimeout = \"5s\"\n\
             [runner]\n{confine}command = [\"env\", \"AFK_DEMO_GIT={git}\", \"AFK_DEMO_API={api}\", \"AFK_DEMO_FORGE={kind}\", \"sh\", \"{agent}\"]\n\
             secret_env = [\"AFK_DEMO_TOKEN\"]\n\
             [runner.box]\nallow = [\"{forge_at}\"]\n\
             [upgrade]\nrecipes = [\"web\", \"cache\"]\nupstream = \"{up}/{{recipe}}.git\"\nmirror = \"recipe-maintainers/{{recipe}}\"\n\
             [upgrade.registry_mirrors]\n\"docker.io\" = \"{url}\"\n",
            url = sb.url,
            forge = sb.forge_keys(),
            kind = sb.dialect.as_str(),
            api = sb.api_url(),
            // the fixer pushes its fix itself, over the forge's smart HTTP
            // (an upgrade's fixer does its own git: afk forwards no fixer's
            // work): its box lets it reach the forge, and it pushes with the
            // sandbox's push-only credential, $AFK_DEMO_TOKEN (set by the
            // demo, handed to the agent as a `secret_env`), never afk's
            // forge token and never on its command line
            git = sb.url,
            forge_at = sb.url.trim_start_matches("http://"),
            agent = agent.display(),
            up = up_dir.display(),
            confine = super::world::confine_line(),
        ),
    )?;
    Session::on_file(&config_path, false, json)
}

/// The act as it runs: its context, the ticks' reports, the worst exit code.
struct Act {
    ctx: Session,
    ticks: Vec<serde_json::Value>,
    worst: u8,
}

impl Act {
    fn say(&self, s: &str) {
        if !self.ctx.json() {
            crate::output::line(s);
        }
    }

    /// One upgrade tick, printed under `title` and collected.
    fn tick(&mut self, title: &str, opts: Options) -> Result<()> {
        let t = crate::ops::upgrade::tick(&self.ctx, &[], opts)?.done();
        self.say(&format!("== {title}"));
        if !self.ctx.json() {
            crate::output::text(&t.human);
        }
        self.say("");
        self.worst = self.worst.max(t.code);
        self.ticks.push(t.report);
        Ok(())
    }

    /// Wait (bounded) for the fixer the last tick started to push its fix.
    fn fixer_pushes(&self) -> Result<()> {
        let fixer_dir = std::fs::read_dir(self.ctx.runs_dir())?
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .find(|p| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("upgrade-"))
            })
            .ok_or_else(|| anyhow::anyhow!("demo: the fixer did not start"))?;
        self.say(
            "   the fixer clones the mirror, commits on afk/upgrade-nginx-1.26.0 and pushes ...",
        );
        wait_for(&fixer_dir.join("exit_status"))?;
        self.say("");
        Ok(())
    }
}
