//! The demo's upgrade act (SPEC 8): a scan finds newer tags for two recipes,
//! both PRs open, one is tested while the other waits in the queue (the test
//! cluster is shared); RED, the fixer's push, GREEN; the slot passes to the
//! other recipe, whose CI never answers: a day later its flow ends STUCK.

use super::{forge_keys, wait_for};
use crate::commands::Ctx;
use crate::commands::upgrade::Options;
use crate::config::Config;
use crate::sandbox::{self, Seed};
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
    let say = |s: &str| {
        if !json {
            println!("{s}");
        }
    };
    seed(sb)?;
    let up_dir = dir.join("upstream");
    upstream(
        &up_dir,
        "web",
        "services:\n  app:\n    image: nginx:1.25.3  # the web server\n    deploy:\n      labels:\n        - \"coop-cloud.${STACK_NAME}.version=0.4.1+1.25.3\"\n",
    )?;
    upstream(
        &up_dir,
        "cache",
        "services:\n  cache:\n    image: redis:7.2.3\n",
    )?;
    let config_path = dir.join("upgrade.toml");
    std::fs::write(
        &config_path,
        format!(
            "state_path = \"afk.db\"\n[forge]\n{forge}\ntoken_file = \"token\"\ntimeout = \"5s\"\n\
             [runner]\ncommand = [\"env\", \"AFK_DEMO_GIT={git}\", \"AFK_DEMO_API={api}\", \"AFK_DEMO_TOKEN={tok}\", \"sh\", \"{agent}\"]\n\
             [upgrade]\nrecipes = [\"web\", \"cache\"]\nupstream = \"{up}/{{recipe}}.git\"\nmirror = \"recipe-maintainers/{{recipe}}\"\n\
             [upgrade.registry_mirrors]\n\"docker.io\" = \"{url}\"\n",
            url = sb.url,
            forge = forge_keys(sb),
            api = sb.api_url(),
            git = sb.dir.display(),
            tok = sandbox::DEFAULT_TOKEN,
            agent = agent.display(),
            up = up_dir.display(),
        ),
    )?;
    let ctx = Ctx {
        config: Config::load(&config_path)?,
        config_path,
        state_flag: None,
        dry_run: false,
        json,
    };
    say(
        "== the upgrade act: recipes \"web\" (nginx:1.25.3) and \"cache\" (redis:7.2.3); the registry has newer tags\n   (and a build id, 2041837, that is no version); one shared test cluster: one recipe under test at a time\n",
    );
    let mut ticks = vec![];
    let mut worst = 0;
    let mut tick = |title: &str, opts: Options| -> Result<()> {
        let t = crate::commands::upgrade::tick(&ctx, &[], opts)?.done();
        say(&format!("== {title}"));
        if !json {
            print!("{}", t.human);
        }
        say("");
        worst = worst.max(t.code);
        ticks.push(t.report);
        Ok(())
    };
    let now = Options::default();
    tick(
        "afk upgrade (the scan: two PRs; web's !testme posted, cache queued; CI answers web: RED)",
        now,
    )?;
    tick(
        "afk upgrade 15 minutes later (RED: the fixer starts on web's PR branch; cache still queued)",
        now,
    )?;
    let fixer_dir = std::fs::read_dir(ctx.runs_dir())?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("upgrade-"))
        })
        .ok_or_else(|| anyhow::anyhow!("demo: the fixer did not start"))?;
    say("   the fixer clones the mirror, commits on afk/upgrade-nginx-1.26.0 and pushes ...");
    wait_for(&fixer_dir.join("exit_status"))?;
    say("");
    tick(
        "afk upgrade (the fixer pushed: the next !testme; CI answers: GREEN)",
        now,
    )?;
    tick(
        "afk upgrade (GREEN: SUCCESS, nothing merged; the slot passes to cache, whose CI never answers)",
        now,
    )?;
    let later = Options {
        now: Some(crate::clock::now() + time::Duration::hours(25)),
        ..Options::default()
    };
    tick(
        "afk upgrade a day later (no verdict 24h after the test comment: STUCK, said once)",
        later,
    )?;
    Ok((ticks, worst))
}
