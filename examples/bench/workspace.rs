//! `bench workspace` (README.md#benchmark): a run's checkout of a repository of
//! 20,000 files and about 200 MB of history, made by afk's workspace from its
//! warm cache, against `git worktree add` from a local clone (the floor:
//! writing the files) and a fresh `git clone` over the sandbox's smart HTTP;
//! median of several runs, both ratios. Then one forwarded turn of 10
//! commits: the pushes it took.

use serde_json::json;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const FILES: usize = 20_000;
/// random bytes per file, rewritten in each of ROUNDS commits: a work tree of
/// ~20 MB over ~200 MB of history that does not compress
const FILE_BYTES: usize = 1024;
const ROUNDS: usize = 10;
const RUNS: usize = 5;

fn git(dir: &Path, args: &[&str]) {
    let st = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "b")
        .env("GIT_AUTHOR_EMAIL", "b@b.invalid")
        .env("GIT_COMMITTER_NAME", "b")
        .env("GIT_COMMITTER_EMAIL", "b@b.invalid")
        .status()
        .unwrap();
    assert!(st.success(), "git {args:?}");
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// A repository of FILES files of random bytes, each rewritten in ROUNDS
/// commits, pushed to the sandbox's `bench/big`.
fn generate(dir: &Path, remote: &Path) {
    let w = dir.join("gen");
    std::fs::create_dir_all(&w).unwrap();
    git(&w, &["init", "-q", "-b", "main"]);
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut buf = vec![0u8; FILE_BYTES];
    for round in 0..ROUNDS {
        for i in 0..FILES {
            for b in buf.iter_mut() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *b = x as u8;
            }
            let sub = w.join(format!("d{:03}", i / 100));
            std::fs::create_dir_all(&sub).unwrap();
            std::fs::write(sub.join(format!("f{i:05}.bin")), &buf).unwrap();
        }
        git(&w, &["add", "-A"]);
        git(&w, &["commit", "-qm", &format!("round {round}")]);
    }
    git(
        &w,
        &["push", "-q", "--force", remote.to_str().unwrap(), "main"],
    );
}

pub fn workspace_bench(dir: &Path) {
    let dir = dir.join("workspace");
    let seed: afk::sandbox::Seed = serde_json::from_value(json!({"repos": [
        {"name": "bench/big", "collaborators": {"alice": "write"}, "issues": []}
    ]}))
    .unwrap();
    let sb = afk::sandbox::start_with(
        afk::sandbox::Dialect::Gitea,
        "127.0.0.1:0",
        Some(seed),
        Some(dir.join("forge")),
    )
    .unwrap();
    let remote = sb.dir.join("bench/big.git");
    let t = Instant::now();
    generate(&dir, &remote);
    println!(
        "workspace: a repository of {FILES} files ({} MB), {} MB of history (made in {:.1} s)",
        (FILES * FILE_BYTES) >> 20,
        (FILES * FILE_BYTES * ROUNDS) >> 20,
        t.elapsed().as_secs_f64()
    );
    let url = format!("{}/bench/big.git", sb.url);
    let creds = afk::git::Credentials {
        header: None,
        username: "afk-bot".into(),
        password: sb.token(),
    };
    let ws = afk::git::workspace::Workspace::new(&dir.join("cache"), "bench", Some(creds));
    let place = |i: usize| {
        let run_dir = dir.join(format!("runs/{i}"));
        std::fs::create_dir_all(&run_dir).unwrap();
        (run_dir.clone(), run_dir.join("work"), i.to_string())
    };
    // the cache's first fetch is the repository's one clone
    let t = Instant::now();
    let (rd, wd, run) = place(0);
    let p = afk::git::workspace::Place {
        repo: "bench/big",
        url: &url,
        branch: "afk/issue-1",
        run: &run,
        run_dir: &rd,
        workdir: &wd,
    };
    ws.make(&p).unwrap();
    println!(
        "  the cache's first fetch and checkout: {:.2} s",
        t.elapsed().as_secs_f64()
    );
    let mut afk_times = vec![];
    for i in 1..=RUNS {
        let (rd, wd, run) = place(i);
        let p = afk::git::workspace::Place {
            repo: "bench/big",
            url: &url,
            branch: "afk/issue-1",
            run: &run,
            run_dir: &rd,
            workdir: &wd,
        };
        let t = Instant::now();
        ws.make(&p).unwrap();
        afk_times.push(t.elapsed());
        let _ = std::fs::remove_dir_all(&wd);
    }
    // the floor: git worktree add from a local clone of the same history
    let local = dir.join("local.git");
    git(
        &dir,
        &[
            "clone",
            "-q",
            "--bare",
            remote.to_str().unwrap(),
            local.to_str().unwrap(),
        ],
    );
    let mut floor = vec![];
    for i in 0..RUNS {
        let wt = dir.join(format!("wt-{i}"));
        let t = Instant::now();
        git(
            &local,
            &[
                "worktree",
                "add",
                "-q",
                "-b",
                &format!("w{i}"),
                wt.to_str().unwrap(),
                "main",
            ],
        );
        floor.push(t.elapsed());
        let _ = std::fs::remove_dir_all(&wt);
    }
    // a fresh clone over the sandbox's smart HTTP
    let mut clones = vec![];
    for i in 0..3 {
        let c = dir.join(format!("clone-{i}"));
        let t = Instant::now();
        git(&dir, &["clone", "-q", &url, c.to_str().unwrap()]);
        clones.push(t.elapsed());
        let _ = std::fs::remove_dir_all(&c);
    }
    let (a, f, c) = (median(afk_times), median(floor), median(clones));
    println!(
        "  afk's checkout (warm cache: one ls-remote, one fetch, the files): median {:.0} ms of {RUNS}",
        a.as_secs_f64() * 1e3
    );
    println!(
        "  git worktree add from a local clone (the floor): median {:.0} ms",
        f.as_secs_f64() * 1e3
    );
    println!(
        "  git clone over smart HTTP: median {:.0} ms of 3",
        c.as_secs_f64() * 1e3
    );
    println!(
        "  ratio to the floor {:.2} (goal <= 1.5); a clone takes {:.1}x afk's checkout (goal >= 10)",
        a.as_secs_f64() / f.as_secs_f64(),
        c.as_secs_f64() / a.as_secs_f64()
    );
    // one turn of 10 commits is forwarded with one push
    let (rd, wd, run) = place(99);
    let p = afk::git::workspace::Place {
        repo: "bench/big",
        url: &url,
        branch: "afk/issue-2",
        run: &run,
        run_dir: &rd,
        workdir: &wd,
    };
    ws.make(&p).unwrap();
    for i in 0..10 {
        std::fs::write(wd.join(format!("turn-{i}.txt")), format!("{i}\n")).unwrap();
        git(&wd, &["add", "-A"]);
        git(&wd, &["commit", "-qm", &format!("commit {i}")]);
    }
    let before = ureq::get(&format!("{}/_admin/git", sb.url))
        .call()
        .unwrap()
        .into_json::<serde_json::Value>()
        .unwrap();
    let pushes_before = pushes(&before);
    let t = Instant::now();
    let done = ws.forward(&p, 1).unwrap();
    let after = ureq::get(&format!("{}/_admin/git", sb.url))
        .call()
        .unwrap()
        .into_json::<serde_json::Value>()
        .unwrap();
    println!(
        "  a turn of 10 commits forwarded in {:.0} ms with {} push ({done:?})",
        t.elapsed().as_secs_f64() * 1e3,
        pushes(&after) - pushes_before
    );
    drop(sb);
}

/// The pushes (`POST .../git-receive-pack`) among the sandbox's requests.
fn pushes(log: &serde_json::Value) -> usize {
    log.as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["method"] == "POST" && r["service"] == "git-receive-pack")
        .count()
}
