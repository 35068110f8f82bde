//! The reference agent image's entrypoint (contrib/agent-image/entrypoint.sh),
//! run under `sh` against `afk sandbox` with a scripted agent, no container
//! runtime: git configured from GIT_TOKEN (the token in no file, argv or
//! output; on Azure DevOps a Basic header with an empty user name in git's
//! environment), clone, the agent's commits pushed, the pull request opened
//! through the forge's API when the agent did not, on every dialect. Outside its
//! container it refuses and touches nothing; it never removes a folder; with
//! afk's workspace (`AFK_WORKSPACE=afk`, which afk sets) it only runs the
//! agent in afk's checkout, and afk forwards the work.

use crate::support::*;
use serde_json::{Value, json};
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
  printf 'header = "%s"\n' "$AUTH" | curl -s --config - -o /dev/null \
    -X POST -H 'Content-Type: application/json' \
    --data-binary "{\"$F_HEAD\":\"$REFS$AFK_BRANCH\",\"$F_BASE\":\"${REFS}main\",\"title\":\"Mine\",\"$F_BODY\":\"Closes #$AFK_ISSUE\"}" \
    "$AGENT_FORGE_API$PRS_PATH$PRS_QUERY"
fi
"#;

/// What the entrypoint is told of the forge beside its API root, by
/// dialect: the web root it clones under (Azure DevOps: the organization's
/// URL), how a PR names its branches (Azure DevOps: full refs) and the query
/// every API call carries (Azure DevOps: its `api-version`).
fn forge_side(sb: &Sandbox) -> (String, &'static str, &'static str) {
    match sb.dialect {
        Dialect::Gitea | Dialect::Github | Dialect::Gitlab => (sb.url.clone(), "", ""),
        Dialect::AzureDevops => (sb.api_url(), "refs/heads/", "?api-version=7.1"),
    }
}

struct Ran {
    code: i32,
    output: String,
    home: PathBuf,
}

/// The entrypoint in its container (`AGENT_IN_CONTAINER=1`), each run a
/// fresh one: a home of its own.
fn run(sb: &Sandbox, scratch: &Scratch, mode: &str) -> Ran {
    let home = (1..)
        .map(|i| scratch.path(&format!("home-{i}")))
        .find(|h| !h.exists())
        .unwrap();
    std::fs::create_dir_all(&home).unwrap();
    let prompt = scratch.write("prompt.md", "fix issue 7");
    let progress = scratch.path("progress.jsonl");
    let (web, refs, query) = forge_side(sb);
    // the agent's own PR request: its credential as the forge takes it
    let (auth_name, auth) = auth_header(sb.dialect, TOKEN);
    let [head, base, _, body] = sb.dialect.pr_fields();
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
        .env("AGENT_FORGE_URL", &web)
        .env("AGENT_FORGE_API", sb.api_url())
        .env("AGENT_FORGE_KIND", sb.dialect.name())
        .env("MODE", mode)
        .env("AUTH", format!("{auth_name}: {auth}"))
        .env("REFS", refs)
        .env("F_HEAD", head)
        .env("F_BASE", base)
        .env("F_BODY", body)
        .env("PRS_PATH", prs_path(sb))
        .env("PRS_QUERY", query)
        .env("AGENT_IN_CONTAINER", "1")
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

/// The API path (under its root) of acme/api's pull (merge) requests.
fn prs_path(sb: &Sandbox) -> String {
    sb.path("acme/api", &sb.dialect.pr_rest(None))
}

/// The pull requests opened (201) through the API during the run.
fn opened(sb: &Sandbox) -> usize {
    sb.requests()
        .iter()
        .filter(|r| {
            r["method"] == "POST" && r["path"].as_str().unwrap_or("").ends_with(&prs_path(sb))
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
    azure_devops_plays;
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
        let [head, base, _, body] = sb.dialect.pr_fields();
        let (_, refs, _) = forge_side(&sb);
        assert_eq!(pr["body"][head], format!("{refs}afk/issue-7"));
        assert_eq!(pr["body"][base], format!("{refs}main"));
        assert_eq!(pr["body"][body], "Closes #7");
        if sb.dialect == Dialect::AzureDevops {
            // the work item linked, and nothing that completes the PR
            assert_eq!(pr["body"]["workItemRefs"], json!([{"id": "7"}]), "{pr}");
            assert!(pr["body"].get("completionOptions").is_none(), "{pr}");
            // every request, git's and the API's, carried a PAT as Basic
            // with an empty user name
            let git_log = sb.admin("GET", "/git", None);
            let seen: Vec<Value> = api_list(&git_log)
                .into_iter()
                .map(|g| g["auth"].clone())
                .chain(sb.requests().into_iter().map(|r| r["auth"].clone()))
                .collect();
            assert!(!seen.is_empty());
            for a in &seen {
                assert_eq!(a, &json!({"scheme": "Basic", "user": ""}), "{git_log}");
            }
        }
        // the branch is on the forge, with the agent's commit
        let heads = git(&sb.git.join("acme/api.git"), &["log", "--format=%s", "afk/issue-7"]);
        assert!(heads.contains("Work on #7"), "{heads}");
        let progress = std::fs::read_to_string(scratch.path("progress.jsonl")).unwrap();
        assert!(progress.contains("\"pushed\""), "{progress}");

        // the token (nor Azure DevOps' Basic form of it) is in no output
        // and no file the entrypoint or git wrote
        let basic = afk::forge::profile::basic_credential(TOKEN);
        assert!(!ran.output.contains(TOKEN) && !ran.output.contains(&basic), "{}", ran.output);
        let mut files = vec![];
        files_under(&ran.home, &mut files);
        assert!(files.iter().any(|(p, _)| p.ends_with(".gitconfig")));
        for (p, bytes) in &files {
            let text = String::from_utf8_lossy(bytes);
            assert!(
                !text.contains(TOKEN) && !text.contains(&basic),
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
        .env("AGENT_IN_CONTAINER", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("AFK_REPO is not owner/repo"), "{err}");
    assert!(!err.contains(TOKEN));
}

/// The entrypoint with `env` (and PATH), in `cwd`, running `agent` (a `sh`
/// script): (exit code, stdout and stderr).
fn entrypoint_in(cwd: &Path, env: &[(&str, &Path)], agent: &str) -> (i32, String) {
    let mut c = std::process::Command::new("sh");
    c.arg(entrypoint())
        .args(["sh", "-c", agent])
        .current_dir(cwd)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap())
        .env("GIT_CONFIG_NOSYSTEM", "1");
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

/// Every file under `dir` with its bytes, sorted: what a run must leave as it was.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = vec![];
    files_under(dir, &mut files);
    files.sort();
    files
}

/// Outside a container made for it (no `AGENT_IN_CONTAINER=1`), without
/// afk's workspace, the entrypoint says so in one line and exits non-zero
/// before it writes git's config or touches `$HOME/work`.
#[test]
fn outside_its_container_the_entrypoint_refuses_and_touches_nothing() {
    let scratch = Scratch::new();
    let home = scratch.path("home");
    std::fs::create_dir_all(home.join("work")).unwrap();
    std::fs::write(home.join("work/keep.txt"), "mine").unwrap();
    std::fs::write(home.join(".gitconfig"), "[user]\n\tname = me\n").unwrap();
    let before = snapshot(&home);
    let token = scratch.write("token", TOKEN);
    let (code, out) = entrypoint_in(
        &scratch.dir,
        &[
            ("HOME", &home),
            ("GIT_TOKEN", &token),
            ("AFK_REPO", Path::new("acme/api")),
            ("AFK_BRANCH", Path::new("afk/issue-7")),
            ("AFK_ISSUE", Path::new("7")),
            ("AGENT_FORGE_URL", Path::new("http://127.0.0.1:9")),
            ("AGENT_FORGE_API", Path::new("http://127.0.0.1:9/api/v1")),
        ],
        "echo the agent ran",
    );
    assert_eq!(code, 2, "{out}");
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(
        out.contains("refusing to run outside its container"),
        "{out}"
    );
    assert!(!out.contains("the agent ran"), "{out}");
    assert_eq!(snapshot(&home), before, "the home is as it was");
}

/// In its container, a workdir that holds anything is refused, never
/// emptied: the entrypoint removes nothing it did not create.
#[test]
fn the_entrypoint_never_removes_a_folder_it_did_not_make() {
    let scratch = Scratch::new();
    let home = scratch.path("home");
    let work = scratch.path("someones");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::create_dir_all(&work).unwrap();
    std::fs::write(work.join("keep.txt"), "mine").unwrap();
    let before = (snapshot(&home), snapshot(&work));
    let (code, out) = entrypoint_in(
        &scratch.dir,
        &[
            ("HOME", &home),
            ("AGENT_IN_CONTAINER", Path::new("1")),
            ("AGENT_WORKDIR", &work),
            ("GIT_TOKEN", Path::new(TOKEN)),
            ("AFK_REPO", Path::new("acme/api")),
            ("AFK_BRANCH", Path::new("afk/issue-7")),
            ("AFK_ISSUE", Path::new("7")),
            ("AGENT_FORGE_URL", Path::new("http://127.0.0.1:9")),
            ("AGENT_FORGE_API", Path::new("http://127.0.0.1:9/api/v1")),
        ],
        "echo the agent ran",
    );
    assert_eq!(code, 2, "{out}");
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(out.contains("removes nothing"), "{out}");
    assert_eq!(
        (snapshot(&home), snapshot(&work)),
        before,
        "nothing changed"
    );
}

/// With afk's workspace the entrypoint runs the agent in the current
/// directory (afk's checkout), the prompt on its standard input, and exits
/// with its status: no clone, no push, no git config, no token handed on,
/// and no container needed.
#[test]
fn with_afks_workspace_the_entrypoint_only_runs_the_agent_where_it_is() {
    let scratch = Scratch::new();
    let home = scratch.path("home");
    let checkout = scratch.path("checkout");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::create_dir_all(&checkout).unwrap();
    git(&checkout, &["init", "-q", "-b", "afk/issue-7"]);
    git(&checkout, &["commit", "-q", "--allow-empty", "-m", "start"]);
    let before = snapshot(&home);
    let prompt = scratch.write("prompt.md", "fix issue 7");
    let seen = scratch.path("seen");
    let agent = format!(
        "pwd > {seen}.pwd; git rev-parse --abbrev-ref HEAD > {seen}.branch; cat > {seen}.stdin; env > {seen}.env; exit 3",
        seen = seen.display()
    );
    let (code, out) = entrypoint_in(
        &checkout,
        &[
            ("HOME", &home),
            ("AFK_WORKSPACE", Path::new("afk")),
            ("AFK_BRANCH", Path::new("afk/issue-7")),
            ("AFK_PROMPT_FILE", &prompt),
            // none of these is used: no forge is reachable, and no token
            ("GIT_TOKEN", Path::new(TOKEN)),
            ("AGENT_FORGE_URL", Path::new("http://127.0.0.1:9")),
            ("AGENT_FORGE_API", Path::new("http://127.0.0.1:9/api/v1")),
        ],
        &agent,
    );
    assert_eq!(code, 3, "the agent's status: {out}");
    let read = |ext: &str| std::fs::read_to_string(format!("{}.{ext}", seen.display())).unwrap();
    assert_eq!(
        Path::new(read("pwd").trim()).canonicalize().unwrap(),
        checkout.canonicalize().unwrap()
    );
    assert_eq!(read("branch").trim(), "afk/issue-7");
    assert_eq!(read("stdin"), "fix issue 7");
    let env = read("env");
    assert!(!env.contains(TOKEN) && !env.contains("GIT_TOKEN="), "{env}");
    assert!(!out.contains(TOKEN), "{out}");
    assert_eq!(snapshot(&home), before, "no git config written");
    assert_eq!(
        git(&checkout, &["log", "--format=%s"]),
        "start",
        "nothing committed or fetched"
    );
    assert!(!git(&checkout, &["remote"]).contains("origin"));
}

/// Through afk itself (workspace = "afk", the command runner): afk sets
/// `AFK_WORKSPACE=afk`, the entrypoint runs the agent in afk's checkout, and
/// afk forwards its commit and opens the PR.
#[test]
fn afk_runs_the_entrypoint_in_its_own_checkout_and_opens_the_pr() {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    let scratch = Scratch::new();
    let agent = scratch.write(
        "agent.sh",
        "[ \"$AFK_WORKSPACE\" = afk ] || exit 9\necho work > work.txt\ngit add work.txt\n\
         git -c user.name=a -c user.email=a@a.invalid commit -qm agent-work\n",
    );
    let afk = Afk::with_text(&format!(
        "state_path = \"state/afk.db\"\n\n[forge]\n{forge}timeout = \"5s\"\nretries = 1\n\n\
         [runner]\nworkspace = \"afk\"\nagent = \"custom\"\ncommand = [\"sh\", \"{ep}\", \"sh\", \"{agent}\"]\n\n\
         [poll]\nenabled = true\nallowlist = [\"acme/api\"]\n",
        forge = sb.forge_keys(),
        ep = entrypoint().display(),
        agent = agent.display(),
    ));
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err} {r}");
    let log =
        || std::fs::read_to_string(afk.scratch.path("state/runs/1/agent.log")).unwrap_or_default();
    assert_eq!(afk.wait_agent(1), 0, "{}", log());
    assert!(
        log().contains("afk's workspace: running the agent in"),
        "{}",
        log()
    );
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "{err} {r}");
    let subjects = git(
        &sb.git.join("acme/api.git"),
        &["log", "--format=%s", "afk/issue-1"],
    );
    assert!(subjects.contains("agent-work"), "{subjects}");
    let (_, prs) = sb.api(&sb.dialect.prs_path("acme/api", Listed::All));
    assert_eq!(prs.as_array().map(Vec::len), Some(1), "{prs}");
}
