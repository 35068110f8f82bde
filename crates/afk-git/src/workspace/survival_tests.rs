use super::*;
use std::process::Command;

/// `git args` in `dir` at the committer and author date `at` (unix
/// seconds), its stdout trimmed.
fn git_at(dir: &Path, at: i64, args: &[&str]) -> String {
    let date = format!("@{at} +0000");
    let out = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@t.invalid"])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_DATE", &date)
        .env("GIT_COMMITTER_DATE", &date)
        .output()
        .unwrap();
    assert!(out.status.success(), "{:?}", out);
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn commit(repo: &Path, at: i64, files: &[(&str, &str)], msg: &str) -> String {
    for (name, text) in files {
        std::fs::write(repo.join(name), text).unwrap();
    }
    git_at(repo, at, &["add", "-A"]);
    git_at(repo, at, &["commit", "-q", "--allow-empty", "-m", msg]);
    git_at(repo, at, &["rev-parse", "HEAD"])
}

#[test]
fn lines_rewritten_before_the_windows_end_do_not_survive_later_ones_do() {
    let dir = std::env::temp_dir().join(format!("afk-git-survival-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let forge = dir.join("forge");
    std::fs::create_dir_all(&forge).unwrap();
    git_at(&forge, 1000, &["init", "-q", "-b", "main"]);
    commit(&forge, 1000, &[("a.txt", "x\n")], "start");
    // the run's merge: 4 + 2 counted lines, one blank, one binary file
    let m = commit(
        &forge,
        2000,
        &[
            ("a.txt", "x\none\ntwo\n\nthree\nfour\n"),
            ("b.txt", "bee\nbop\n"),
            ("logo.bin", "\0\u{1}\u{2}binary"),
        ],
        "the run",
    );
    // before the window's end: `two` rewritten, b.txt moved
    git_at(&forge, 3000, &["mv", "b.txt", "c.txt"]);
    commit(
        &forge,
        3000,
        &[("a.txt", "x\none\nTWO\n\nthree\nfour\n")],
        "rewrite two, move b",
    );
    // after it: `one` rewritten, which must not count
    commit(
        &forge,
        5000,
        &[("a.txt", "x\nONE\nTWO\n\nthree\nfour\n")],
        "late",
    );
    let ws = Workspace::new(&dir.join("cache"), "t", None);
    let url = forge.to_string_lossy().to_string();
    let due = [
        SurvivalDue {
            merge_sha: &m,
            pr_head: None,
            window_end: 4000,
        },
        SurvivalDue {
            merge_sha: "0123456789012345678901234567890123456789",
            pr_head: None,
            window_end: 4000,
        },
    ];
    let got = ws.survival("acme/api", &url, &due).unwrap();
    assert_eq!(got[0].as_ref().unwrap(), &Survived::of(6, 5));
    assert!(
        got[1].is_err(),
        "a merge the cache does not hold is the run's error"
    );
    // a run that added only blank lines: no line counted
    let blank = commit(
        &forge,
        6000,
        &[("a.txt", "x\nONE\nTWO\n\nthree\nfour\n\n\n")],
        "blank",
    );
    let due = [SurvivalDue {
        merge_sha: &blank,
        pr_head: None,
        window_end: 7000,
    }];
    let got = ws.survival("acme/api", &url, &due).unwrap();
    assert_eq!(got[0].as_ref().unwrap(), &Survived::of(0, 0));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A rebase merge of two commits: with the PR's head in the cache, both
/// rebased commits are the run's (their patch-ids match the PR's); without
/// it, only the last one, M itself.
#[test]
fn a_rebase_merges_commits_are_the_runs_when_their_patch_ids_match_the_prs() {
    let dir = std::env::temp_dir().join(format!("afk-git-rebase-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let forge = dir.join("forge");
    std::fs::create_dir_all(&forge).unwrap();
    git_at(&forge, 1000, &["init", "-q", "-b", "main"]);
    commit(&forge, 1000, &[("a.txt", "x\n")], "start");
    git_at(&forge, 1000, &["checkout", "-q", "-b", "feature"]);
    let f1 = commit(&forge, 1100, &[("f1.txt", "one\ntwo\n")], "first");
    let f2 = commit(&forge, 1200, &[("f2.txt", "three\n")], "second");
    git_at(&forge, 1300, &["checkout", "-q", "main"]);
    commit(&forge, 1300, &[("a.txt", "x\ny\n")], "meanwhile");
    git_at(&forge, 1400, &["cherry-pick", &f1]);
    git_at(&forge, 1400, &["cherry-pick", &f2]);
    let m = git_at(&forge, 1400, &["rev-parse", "HEAD"]);
    let ws = Workspace::new(&dir.join("cache"), "t", None);
    let url = forge.to_string_lossy().to_string();
    let alone = SurvivalDue {
        merge_sha: &m,
        pr_head: None,
        window_end: 5000,
    };
    let with_pr = SurvivalDue {
        pr_head: Some(f2.as_str()),
        ..alone
    };
    let got = ws.survival("acme/api", &url, &[alone]).unwrap();
    assert_eq!(got[0].as_ref().unwrap(), &Survived::of(1, 1), "M alone");
    let cache = ws.cache_of("acme/api");
    git_at(
        &cache,
        1500,
        &[
            "fetch",
            "-q",
            &url,
            "+refs/heads/feature:refs/heads/feature",
        ],
    );
    let got = ws.survival("acme/api", &url, &[with_pr]).unwrap();
    assert_eq!(
        got[0].as_ref().unwrap(),
        &Survived::of(3, 3),
        "both rebased commits"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
