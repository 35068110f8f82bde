//! The demo's kubernetes act (`runner.kind = "kubernetes"`,
//! docs/kubernetes.md): the sandbox also plays a Kubernetes API, so one issue
//! goes the whole way with no cluster: a Job and its prompt ConfigMap, the
//! agent (the scripted agent, run as the Job's local process), its log mirrored
//! into the run folder as progress and spend, and watch following the Job.

use super::show::Show;
use super::world::seed_sandbox;
use crate::example::armed_repo;
use crate::sandbox;
use crate::session::Session;
use anyhow::{Result, bail};
use std::time::{Duration, Instant};

pub(super) fn act(
    sb: &sandbox::Sandbox,
    dir: &std::path::Path,
    agent: &std::path::Path,
    show: &mut Show,
) -> Result<()> {
    let ctx = world(sb, dir, agent, show.json)?;
    show.say(&format!(
        "== the kubernetes act: runner.kind = \"kubernetes\" against the sandbox's Kubernetes API at {}/k8s ({})",
        sb.url,
        dir.join("kubernetes.toml").display()
    ));
    let issue = super::world::seen(sb, "acme/ops", 1);
    show.say(&format!("   acme/ops #{issue} is ready; each agent turn becomes one batch/v1 Job and a ConfigMap with its prompt\n"));
    let poll = crate::ops::poll::tick(&ctx, &crate::ops::Scope::All)?;
    let run = super::world::run_of(&poll, "acme/ops", issue)?;
    show.step(
        "afk poll (Job afk-<instance>-<run>-1 created, then its ConfigMap, owned by it)",
        poll.done(),
    );
    let instance = ctx.local()?.store.instance()?;
    let job = format!("afk-{instance}-{run}-1");
    // a loaded machine (the tests, two cores) starts the pod's containers slowly
    let deadline = Instant::now() + Duration::from_secs(90);
    let code = loop {
        if let Some(c) = sb.state.lock().unwrap().k8s_job_exit(&job) {
            break c;
        }
        if Instant::now() > deadline {
            bail!("demo: Job {job} did not finish in 90 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    if code != 0 {
        // the story below is what a Job that ran does: say what this one did
        // the log is mirrored into the run folder by watch, which has not run
        // yet: name the file only where it is
        let log = ctx.runs_dir().join(format!("{run}/agent.log"));
        let where_ = match log.exists() {
            true => format!("its containers' log is in {}", log.display()),
            false => "no log of it was kept (afk watch mirrors a Job's log into the run folder, and the demo stopped before it)".to_string(),
        };
        bail!("demo: Job {job} ended with exit {code}; {where_}");
    }
    show.say(&format!(
        "   Job {job} ran: its checkout container made the agent's checkout, the scripted agent committed in it\n   (exit {code}, no forge credential in its container), and its forward container pushed afk/issue-{issue} ...\n"
    ));
    show.step(
        "afk watch (one Job list, one pod list, the pod's log read from where it stopped; afk opens its PR)",
        crate::ops::event_loop::watch_tick(&ctx, &crate::ops::Scope::All)?.done(),
    );
    let progress = std::fs::read_to_string(ctx.runs_dir().join(format!("{run}/progress.jsonl")))
        .unwrap_or_default();
    let store = ctx.local()?.store;
    let spend = store
        .run(run)?
        .and_then(|r| r.spend_usd)
        .map_or("not reported".into(), crate::core::budget::spend::usd);
    show.say(&format!(
        "   the log's JSON lines, mirrored into the run folder: {} lines; spend from its result record: {spend}\n",
        progress.lines().count()
    ));
    Ok(())
}

/// `acme/ops` with one ready issue, the runner pointed at the sandbox's cluster.
fn world(
    sb: &sandbox::Sandbox,
    dir: &std::path::Path,
    agent: &std::path::Path,
    json: bool,
) -> Result<Session> {
    let seed = armed_repo("acme/ops", &[(1, "Add a health endpoint")]);
    seed_sandbox(sb, seed)?;
    crate::store::private_write(&dir.join("k8s-token"), sb.k8s_token().as_bytes())?;
    // the agent reads its prompt from the mounted file and works in its home
    let config_text = format!(
        "state_path = \"kubernetes.db\"\nruns_dir = \"kubernetes-runs\"\n\
         [forge]\n{forge}\ntoken_file = \"token\"\ntimeout = \"5s\"\n\
         [poll]\nenabled = true\nallowlist = [\"acme/ops\"]\n\
         [runner]\nkind = \"kubernetes\"\n\
         command = [\"sh\", \"-c\", 'AFK_RUN_DIR=\"$HOME\" exec sh {agent} < \"$AFK_PROMPT_FILE\"']\n\
         [runner.kubernetes]\napi_url = \"{url}/k8s\"\ntoken_file = \"k8s-token\"\nnamespace = \"afk\"\nimage = \"example.org/afk-demo-agent:1\"\n\
         git_image = \"afk\"\ngit_secret = \"{secret}\"\n",
        forge = super::world::forge_lines(sb, &["acme/ops"]),
        secret = sandbox::GIT_SECRET,
        url = sb.url,
        agent = agent.display()
    );
    super::world::act_ctx(&dir.join("kubernetes.toml"), &config_text, json)
}
