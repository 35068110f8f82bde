//! The demo's upgrade act (SPEC 8): a recipe, a newer tag, the PR, RED, the
//! fixer's push, GREEN.

use super::{forge_keys, wait_for};
use crate::commands::Ctx;
use crate::config::Config;
use crate::sandbox::{self, Seed};
use anyhow::Result;

/// The upgrade act: a recipe whose upstream pins `nginx:1.25.3`, a newer tag
/// in the sandbox's registry, the PR afk opens, CI's RED, the fixer's push,
/// the next test, GREEN. Returns the ticks' reports and the worst exit code.
pub(super) fn act(
    sb: &sandbox::Sandbox,
    dir: &std::path::Path,
    agent: &std::path::Path,
    json: bool,
) -> Result<(Vec<serde_json::Value>, u8)> {
    use serde_json::json;
    let say = |s: &str| {
        if !json {
            println!("{s}");
        }
    };
    let mirror = "recipe-maintainers/web";
    let seed: Seed = serde_json::from_value(json!({"repos": [{"name": mirror}]}))?;
    {
        let mut f = sb.state.lock().unwrap();
        f.seed(seed).map_err(|e| anyhow::anyhow!("demo: {e}"))?;
        f.seed_registry(&json!({"images": {"library/nginx": ["1.25.3", "1.25.4", "1.26.0", "1.26.0-alpine", "2.0.0", "latest"]}}))
            .map_err(|e| anyhow::anyhow!("demo: {e}"))?;
    }
    // upstream: a bare repository with one commit of the recipe
    let upstream = dir.join("upstream");
    let bare = upstream.join("web.git");
    sandbox::git::init_bare(&bare, "web").map_err(|e| anyhow::anyhow!("demo: {e}"))?;
    let g = |args: &[&str], input: Option<&str>| {
        sandbox::git::git(&bare, args, input).map_err(|e| anyhow::anyhow!("demo: {e}"))
    };
    let compose = "services:\n  app:\n    image: nginx:1.25.3  # the web server\n    deploy:\n      labels:\n        - \"coop-cloud.${STACK_NAME}.version=0.4.1+1.25.3\"\n";
    let blob = g(&["hash-object", "-w", "--stdin"], Some(compose))?;
    let tree = g(
        &["mktree"],
        Some(&format!("100644 blob {blob}\tcompose.yml\n")),
    )?;
    let main = g(&["rev-parse", "refs/heads/main"], None)?;
    let commit = g(
        &["commit-tree", &tree, "-p", &main, "-m", "web: nginx 1.25.3"],
        None,
    )?;
    g(&["update-ref", "refs/heads/main", &commit], None)?;
    let config_path = dir.join("upgrade.toml");
    std::fs::write(
        &config_path,
        format!(
            "state_path = \"afk.db\"\n[forge]\n{forge}\ntoken_file = \"token\"\ntimeout = \"5s\"\n\
             [runner]\ncommand = [\"env\", \"AFK_DEMO_GIT={git}\", \"AFK_DEMO_API={api}\", \"AFK_DEMO_TOKEN={tok}\", \"sh\", \"{agent}\"]\n\
             [upgrade]\nrecipes = [\"web\"]\nupstream = \"{up}/{{recipe}}.git\"\nmirror = \"recipe-maintainers/{{recipe}}\"\n\
             [upgrade.registry_mirrors]\n\"docker.io\" = \"{url}\"\n",
            url = sb.url,
            forge = forge_keys(sb),
            api = sb.api_url(),
            git = sb.dir.display(),
            tok = sandbox::DEFAULT_TOKEN,
            agent = agent.display(),
            up = upstream.display(),
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
        "== the upgrade act: recipe \"web\" pins nginx:1.25.3; the registry has 1.26.0 and 2.0.0\n",
    );
    let mut ticks = vec![];
    let mut worst = 0;
    let mut tick = |title: &str| -> Result<()> {
        let t = crate::commands::upgrade::tick(&ctx, &[], Default::default())?.done();
        say(&format!("== {title}"));
        if !json {
            print!("{}", t.human);
        }
        say("");
        worst = worst.max(t.code);
        ticks.push(t.report);
        Ok(())
    };
    let ci = |state: &str, n: u32| -> Result<()> {
        let branch = "afk/upgrade-nginx-1.26.0";
        let mut f = sb.state.lock().unwrap();
        let head = sandbox::git::head(&f.git_dir(mirror), branch).unwrap_or_default();
        f.add_status(
            mirror,
            &head,
            &json!({"state": state, "context": "cc-ci/testme",
                    "target_url": format!("https://ci.example.org/web/{n}")}),
        )
        .map_err(|e| anyhow::anyhow!("demo: {e}"))?;
        drop(f);
        say(&format!(
            "   CI reports cc-ci/testme = {state} on {}\n",
            &head[..head.len().min(12)]
        ));
        Ok(())
    };
    tick("afk upgrade (mirror reconciled, PR opened, !testme posted)")?;
    ci("failure", 1)?;
    tick("afk upgrade (RED: the fixer starts on the PR branch)")?;
    let runs = ctx.runs_dir();
    let fixer_dir = std::fs::read_dir(&runs)?
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
    tick("afk upgrade (the fixer pushed: the next !testme)")?;
    ci("success", 2)?;
    tick("afk upgrade (GREEN: SUCCESS; merging is a person's call)")?;
    Ok((ticks, worst))
}
