//! afk pushes no secret (docs/security.md#the-workspace-the-agent-holds-no-forge-credential),
//! through the binary against the sandbox. The attacker's cases first: an
//! agent (confused, or prompt-injected into exfiltrating) commits a secret afk
//! holds (its forge token, plain or base64-encoded; the model key it was
//! handed) or a credential of a well-known shape (an AWS key id, a PEM
//! private key, a GitHub token), in a file, in a commit it later undoes, in
//! a commit message or left uncommitted: the forge never receives the
//! branch, the run escalates `push-refused` naming the file, the line and
//! the kind, and nothing afk writes (stdout, stderr, the forge's requests)
//! carries the value. Ordinary code, near misses included, is pushed as
//! before.

use crate::support::*;
use serde_json::json;

/// The model key the agent is handed (`runner.secret_env`).
const MODEL_KEY: &str = "sk-ant-test-9d2e7b41c6a8f035e1";
const AWS_KEY: &str = "AKIAQ7XJ3MZP2LK4WN5R";
const GITHUB_TOKEN: &str = "ghp_Zx81bQ7mP2kR9tV4wY6nC3dF5gH0jL2sA1eU";
/// a PEM key's body line: what must never be shown, beside its header
const PEM_BODY: &str = "MIIEowIBAAKCAQEAx9Rk2v8s1q0fJtNw7bYc3pQe5uLhZaGm";

/// acme/api#1 armed, and a config whose agent is `script` (a `sh` script run
/// in its checkout), workspace = "afk", handed `MODEL_KEY`.
fn setup(script: &str) -> (Sandbox, Afk) {
    let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([ready(1, "alice")]))]}));
    let scratch = Scratch::new();
    let agent = scratch.write("agent.sh", script);
    let text = format!(
        "state_path = \"state/afk.db\"\n\n[forge]\n{forge}timeout = \"5s\"\nretries = 1\n\n\
         [runner]\nworkspace = \"afk\"\nagent = \"custom\"\nsecret_env = [\"AFK_TEST_MODEL_KEY\"]\n\
         command = [\"sh\", \"{agent}\"]\n\n\
         [poll]\nenabled = true\nallowlist = [\"acme/api\"]\n",
        forge = sb.forge_keys(),
        agent = agent.display(),
    );
    let mut afk = Afk::with_text(&text);
    afk.env
        .push(("AFK_TEST_MODEL_KEY".into(), MODEL_KEY.into()));
    // the agent script lives as long as afk
    afk.held.push(scratch);
    (sb, afk)
}

/// The pushes the sandbox's git received.
fn pushes(sb: &Sandbox) -> usize {
    sb.admin("GET", "/git", None)
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["method"] == "POST" && r["service"] == "git-receive-pack")
        .count()
}

fn forge_head(sb: &Sandbox, branch: &str) -> Option<String> {
    let refs = git(
        &sb.git.join("acme/api.git"),
        &["for-each-ref", "--format=%(refname) %(objectname)"],
    );
    refs.lines().find_map(|l| {
        l.strip_prefix(&format!("refs/heads/{branch} "))
            .map(str::to_string)
    })
}

pub(crate) fn base64(s: &str) -> String {
    let out = std::process::Command::new("sh")
        .args(["-c", &format!("printf %s '{s}' | base64 -w0")])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// One attack: what the agent does, where afk must say the secret is, and
/// the value nothing may show.
struct Attack {
    name: &'static str,
    script: String,
    /// what the escalation names: `file:line` (or the message), the kind
    names: [&'static str; 2],
    value: String,
}

fn attacks() -> Vec<Attack> {
    let commit = |m: &str| format!("git add -A\ngit commit -qm '{m}'\n");
    vec![
        Attack {
            name: "afk's forge token in a committed file",
            script: format!(
                "mkdir -p app\nprintf 'DEBUG = 1\\nPORT = 80\\nFORGE = \"%s\"\\n' '{TOKEN}' > app/settings.py\n{}",
                commit("settings")
            ),
            names: ["app/settings.py:3", "a secret afk holds"],
            value: TOKEN.into(),
        },
        Attack {
            name: "afk's forge token base64-encoded",
            script: format!(
                "printf 'blob: %s\\n' \"$(printf %s '{TOKEN}' | base64)\" > data.txt\n{}",
                commit("data")
            ),
            names: ["data.txt:1", "a secret afk holds"],
            value: base64(TOKEN),
        },
        Attack {
            name: "the model key afk handed the agent, left uncommitted",
            script: "echo \"work\" > work.txt\ngit add -A\ngit commit -qm work\n\
                     printf 'X=1\\nANTHROPIC_API_KEY=%s\\n' \"$AFK_TEST_MODEL_KEY\" > keys.env\n"
                .into(),
            names: ["keys.env:2", "a secret afk holds"],
            value: MODEL_KEY.into(),
        },
        Attack {
            name: "an AWS access key id",
            script: format!(
                "mkdir -p deploy\nprintf '[default]\\naws_access_key_id = {AWS_KEY}\\n' > deploy/creds.ini\n{}",
                commit("deploy")
            ),
            names: ["deploy/creds.ini:2", "an AWS access key id"],
            value: AWS_KEY.into(),
        },
        Attack {
            name: "a PEM private key committed, then removed in a later commit",
            script: format!(
                "printf -- '-----BEGIN RSA PRIVATE KEY-----\\n{PEM_BODY}\\n-----END RSA PRIVATE KEY-----\\n' > id_rsa\n{}\
                 git rm -q id_rsa\necho ok > ok.txt\n{}",
                commit("key"),
                commit("no key")
            ),
            names: ["id_rsa:1", "a PEM private key"],
            value: PEM_BODY.into(),
        },
        Attack {
            name: "a GitHub token in a commit message",
            script: format!(
                "echo ok > ok.txt\ngit add -A\ngit commit -qm 'fix' -m 'use {GITHUB_TOKEN} for CI'\n"
            ),
            names: ["the message's line 3", "a GitHub token"],
            value: GITHUB_TOKEN.into(),
        },
        Attack {
            name: "afk's forge token as the commit's author name",
            script: format!(
                "echo ok > ok.txt\ngit add -A\ngit -c user.name='{TOKEN}' commit -qm ok\n"
            ),
            names: ["its author or committer", "a secret afk holds"],
            value: TOKEN.into(),
        },
        Attack {
            name: "afk's forge token as the committer's email",
            script: format!(
                "echo ok > ok.txt\ngit add -A\nGIT_COMMITTER_EMAIL='{TOKEN}@x.org' git commit -qm ok\n"
            ),
            names: ["its author or committer", "a secret afk holds"],
            value: TOKEN.into(),
        },
        Attack {
            name: "afk's forge token as an empty file's name",
            script: format!("touch '{TOKEN}'\n{}", commit("empty")),
            names: ["a file's name", "a secret afk holds"],
            value: TOKEN.into(),
        },
        Attack {
            name: "afk's forge token as a renamed file's name",
            script: format!(
                "echo same > plain.txt\n{}git mv plain.txt '{TOKEN}.txt'\n{}",
                commit("plain"),
                commit("rename")
            ),
            names: ["a file's name", "a secret afk holds"],
            value: TOKEN.into(),
        },
    ]
}

#[test]
fn a_turn_whose_commits_hold_a_secret_is_not_pushed_and_the_escalation_names_where_never_what() {
    for a in attacks() {
        let script = format!("set -eu\n{}", a.script);
        let (sb, afk) = setup(&script);
        let (code, r, poll_err) = afk.poll();
        assert_eq!(code, 0, "{}: poll: {poll_err} {r}", a.name);
        assert_eq!(afk.wait_agent(1), 0, "{}: the agent failed", a.name);
        let (_, r, err) = afk.watch();
        assert_eq!(
            action_of(&r, 1),
            ("escalate".into(), Some("push-refused".into())),
            "{}: {r} {err}",
            a.name
        );
        // nothing reached the forge's git: no branch, no push at all
        assert_eq!(forge_head(&sb, "afk/issue-1"), None, "{}", a.name);
        assert_eq!(pushes(&sb), 0, "{}: a push was made", a.name);
        // the bodies as a reader sees them: markdown's escapes taken out
        let comments: String = sb
            .api(&sb.dialect.issue_comments_path("acme/api", 1))
            .1
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["body"].as_str().unwrap().replace('\\', ""))
            .collect();
        for n in a.names {
            assert!(
                comments.contains(n),
                "{}: the escalation does not say {n:?}: {comments}",
                a.name
            );
        }
        // the value is nowhere afk wrote: stdout, stderr, any request to the forge
        let writes = serde_json::to_string(&sb.writes()).unwrap();
        for (what, text) in [
            ("watch's report", r.to_string()),
            ("watch's stderr", err),
            ("poll's stderr", poll_err),
            ("the forge's requests", writes),
        ] {
            assert!(
                !text.contains(&a.value),
                "{}: {what} holds the value: {text}",
                a.name
            );
        }
        // a later watch pushes nothing either
        let _ = afk.watch();
        assert_eq!(pushes(&sb), 0, "{}: pushed on a later tick", a.name);
    }
}

#[test]
fn ordinary_code_and_near_misses_are_pushed_as_before() {
    // shapes close to a credential's that are not one
    let script = "set -eu\n\
        cat > notes.md <<'EOF'\n\
        AKIA is the prefix of an AWS key id; AKIA1234 is too short.\n\
        -----BEGIN PUBLIC KEY-----\n\
        ghp_short, github_pat_, glpat-x, sk-proj-abc, xoxb-, sk-ant-\n\
        https://hooks.slack.com/services/\n\
        mask-ant-thing and desk-1234 are words\n\
        EOF\n\
        printf 'fn main() {\\n    println!(\"hello\");\\n}\\n' > main.rs\n\
        git add -A\ngit commit -qm 'hello'\n";
    let (sb, afk) = setup(script);
    let (code, r, err) = afk.poll();
    assert_eq!(code, 0, "{err} {r}");
    assert_eq!(afk.wait_agent(1), 0);
    let (code, r, err) = afk.watch();
    assert_eq!(code, 0, "{err} {r}");
    let head = forge_head(&sb, "afk/issue-1").expect("the clean turn is pushed");
    let files = git(
        &sb.git.join("acme/api.git"),
        &["ls-tree", "-r", "--name-only", &head],
    );
    assert!(
        files.contains("main.rs") && files.contains("notes.md"),
        "{files}"
    );
    assert_eq!(pushes(&sb), 1);
    let pulls = sb.api(&sb.dialect.prs_path("acme/api", Listed::Open)).1;
    assert_eq!(pulls[0]["head"]["sha"], head.as_str(), "afk's PR: {pulls}");
}
