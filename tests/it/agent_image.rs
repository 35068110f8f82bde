//! The reference agent image's entrypoint (contrib/agent-image/entrypoint.sh),
//! run under `sh` against `afk sandbox` with a scripted agent, no container
//! runtime: git configured from GIT_TOKEN (the token in no file, argv or
//! output), clone, the agent's commits pushed, the pull request opened through
//! the forge's API when the agent did not, on both dialects.

use crate::support::*;
use serde_json::json;
use std::path::{Path, PathBuf};

fn entrypoint() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/agent-image/entrypoint.sh")
}

/// A scripted agent: reads its prompt, commits a file, and (in `mode`
/// "self") pushes and opens the pull request itself.
const AGENT: &str = r#"
prompt=$(cat)
echo "agent: prompt says: $prompt"
echo "work on $AFK_ISSUE" > "work-$AFK_ISSUE.txt"
git add -A
git commit -q -m "Work on #$AFK_ISSUE"
if [ "$MODE" = self ]; then
  git push -q origin "$AFK_BRANCH"
  printf 'header = "Authorization: token %s"\n' "$GIT_TOKEN" | curl -s --config - -o /dev/null \
    -X POST -H 'Content-Type: application/json' \
    --data-binary "{\"head\":\"$AFK_BRANCH\",\"base\":\"main\",\"title\":\"Mine\",\"body\":\"Closes #$AFK_ISSUE\"}" \
    "$AGENT_FORGE_API/repos/$AFK_REPO/pulls"
fi
"#;

struct Ran {
    code: i32,
    output: String,
    home: PathBuf,
}

fn run(sb: &Sandbox, scratch: &Scratch, mode: &str) -> Ran {
    let home = scratch.path("home");
    std::fs::create_dir_all(&home).unwrap();
    let prompt = scratch.write("prompt.md", "fix issue 7");
    let progress = scratch.path("progress.jsonl");
    let out = std::process::Command::new("sh")
        .arg(entrypoint())
        .args(["sh", "-c", AGENT])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap())
        .env("HOME", &home)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_TOKEN", TOKEN)
        .env("AFK_REPO", "acme/api")
        .env("AFK_BRANCH", "afk/issue-7")
        .env("AFK_ISSUE", "7")
        .env("AFK_PROMPT_FILE", &prompt)
        .env("AFK_PROGRESS_FILE", &progress)
        .env("AGENT_FORGE_URL", &sb.url)
        .env("AGENT_FORGE_API", sb.api_url())
        .env("AGENT_FORGE_KIND", sb.dialect.name())
        .env("MODE", mode)
        .output()
        .unwrap();
    Ran {
        code: out.status.code().unwrap_or(-1),
        output: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
        home,
    }
}

/// Every file under `dir`, read as bytes.
fn files_under(dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() && !p.is_symlink() {
            files_under(&p, out);
        } else if p.is_file() {
            out.push((p.clone(), std::fs::read(&p).unwrap()));
        }
    }
}

/// The pull requests opened (201) through the API during the run.
fn opened(sb: &Sandbox) -> usize {
    sb.requests()
        .iter()
        .filter(|r| {
            r["method"] == "POST"
                && r["path"]
                    .as_str()
                    .unwrap_or("")
                    .ends_with("/repos/acme/api/pulls")
        })
        .filter(|r| r["status"] == 201)
        .count()
}

fn world() -> (Sandbox, Scratch) {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([
        {"number": 7, "title": "Fix it", "body": "do it"},
    ]))]}));
    (sb, Scratch::new())
}

both_dialects! {
    #[test]
    fn the_entrypoint_pushes_the_agents_work_and_opens_the_pull_request() {
        let (sb, scratch) = world();
        let ran = run(&sb, &scratch, "commit-only");
        assert_eq!(ran.code, 0, "{}", ran.output);
        assert!(ran.output.contains("agent: prompt says: fix issue 7"), "{}", ran.output);
        assert_eq!(opened(&sb), 1, "{}", ran.output);
        let pr = sb
            .requests()
            .into_iter()
            .find(|r| r["method"] == "POST" && r["status"] == 201)
            .unwrap();
        assert_eq!(pr["body"]["head"], "afk/issue-7");
        assert_eq!(pr["body"]["body"], "Closes #7");
        // the branch is on the forge, with the agent's commit
        let heads = git(&sb.git.join("acme/api.git"), &["log", "--format=%s", "afk/issue-7"]);
        assert!(heads.contains("Work on #7"), "{heads}");
        let progress = std::fs::read_to_string(scratch.path("progress.jsonl")).unwrap();
        assert!(progress.contains("\"pushed\""), "{progress}");

        // the token is in no output and no file the entrypoint or git wrote
        assert!(!ran.output.contains(TOKEN), "{}", ran.output);
        let mut files = vec![];
        files_under(&ran.home, &mut files);
        assert!(files.iter().any(|(p, _)| p.ends_with(".gitconfig")));
        for (p, bytes) in &files {
            assert!(
                !String::from_utf8_lossy(bytes).contains(TOKEN),
                "{} holds the token",
                p.display()
            );
        }
        // a second turn on the same branch: nothing new to open
        sb.clear_requests();
        let again = run(&sb, &scratch, "commit-only");
        assert_eq!(again.code, 0, "{}", again.output);
        assert_eq!(opened(&sb), 0, "{}", again.output);
        assert!(again.output.contains("is open already"), "{}", again.output);
        assert!(!again.output.contains(TOKEN));
    }

    #[test]
    fn an_agent_that_opened_its_pull_request_gets_no_second_one() {
        let (sb, scratch) = world();
        let ran = run(&sb, &scratch, "self");
        assert_eq!(ran.code, 0, "{}", ran.output);
        assert_eq!(opened(&sb), 1, "only the agent's own: {}", ran.output);
        assert!(!ran.output.contains(TOKEN), "{}", ran.output);
    }
}

#[test]
fn the_entrypoint_refuses_missing_settings_in_one_line_without_the_token() {
    let scratch = Scratch::new();
    let out = std::process::Command::new("sh")
        .arg(entrypoint())
        .args(["true"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap())
        .env("HOME", scratch.path("home"))
        .env("GIT_TOKEN", TOKEN)
        .env("AFK_REPO", "acme/../x")
        .env("AFK_BRANCH", "afk/issue-7")
        .env("AFK_ISSUE", "7")
        .env("AGENT_FORGE_URL", "http://127.0.0.1:9")
        .env("AGENT_FORGE_API", "http://127.0.0.1:9/api/v1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("AFK_REPO is not owner/repo"), "{err}");
    assert!(!err.contains(TOKEN));
}
