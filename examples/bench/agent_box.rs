//! The agent's box (docs/runners.md#the-agents-box): what making and
//! removing a turn's box costs, its keeper and forwarder included, over
//! starting the agent without one; and bubblewrap alone. Each figure is the
//! time from the runner's start to the turn's `exit_status` of an agent
//! that is `true`: the median of 40 turns.

use std::path::Path;
use std::time::{Duration, Instant};

const TURNS: usize = 40;

pub fn box_bench(dir: &Path, afk: &Path) {
    // afk's state folder as afk makes it (0700): afk as root, the box's
    // host user cannot pass it, so the keeper stages the run's paths
    let root = dir.join("box");
    afk::private_files::private_dir(&root).unwrap();
    let cfg = afk::config::Config::parse(
        "state_path = \"state/afk.db\"\n[runner]\nagent = \"custom\"\ncommand = [\"true\"]\nworkspace = \"agent\"\n[runner.box]\nallow = [\"127.0.0.1:9\"]\n",
        &root,
    )
    .unwrap();
    let boxer = afk::runner::agent_box::Boxer::new(&cfg).with_program(afk);
    let bare = median(&root, None);
    let boxed = median(&root, Some(&boxer));
    let bwrap = bwrap_alone();
    println!("agent's box: a turn of `true`, start to exit_status, median of {TURNS}");
    println!("  without a box        {:>7.1} ms", ms(bare));
    let cost = boxed.saturating_sub(bare);
    println!(
        "  in its box           {:>7.1} ms   (+{:.1} ms: the keeper, the box's network and listeners, bubblewrap)",
        ms(boxed),
        ms(cost)
    );
    println!(
        "  bubblewrap alone     {:>7.1} ms   (bwrap --unshare-all true)",
        ms(bwrap)
    );
    println!(
        "  ratio                {:>7.1}      (the box's cost over bubblewrap alone; goal <= 2, docs/benchmarks.md)\n",
        cost.as_secs_f64() / bwrap.as_secs_f64().max(1e-9)
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median(root: &Path, boxer: Option<&afk::runner::agent_box::Boxer>) -> Duration {
    let mut times = vec![];
    for i in 0..TURNS {
        let rd = root.join(format!("run-{}-{i}", boxer.is_some()));
        let t0 = Instant::now();
        afk::runner::command::start(&afk::runner::command::StartSpec {
            run_id: afk::runner::TurnOf::Run(afk::types::RunId(i as i64 + 1)),
            repo: "acme/api",
            issue: afk::types::IssueNumber(1),
            branch: "afk/issue-1",
            prompt: "",
            run_dir: &rd,
            turn: 1,
            command: &["true".to_string()],
            workdir: "{run_dir}/work",
            strip_env: &[],
            env: &[],
            budget_usd: None,
            gate: None,
            boxed: boxer,
            progress_gid: None,
            after: vec![],
        })
        .unwrap();
        let status = rd.join("exit_status");
        while !status.exists() {
            std::thread::sleep(Duration::from_micros(200));
        }
        times.push(t0.elapsed());
        let code = std::fs::read_to_string(&status).unwrap();
        assert_eq!(
            code.trim(),
            "0",
            "{}",
            std::fs::read_to_string(rd.join("agent.log")).unwrap_or_default()
        );
    }
    times.sort();
    times[times.len() / 2]
}

fn bwrap_alone() -> Duration {
    let mut times = vec![];
    for _ in 0..TURNS {
        let t0 = Instant::now();
        let ok = std::process::Command::new("bwrap")
            .args(["--unshare-all", "--ro-bind", "/", "/", "--", "true"])
            .status()
            .unwrap()
            .success();
        assert!(ok);
        times.push(t0.elapsed());
    }
    times.sort();
    times[times.len() / 2]
}
