//! The docs' examples of the sandbox's admin API held to the sandbox itself
//! (#82 requirement 4): a pilot followed docs/hook.md's `curl ...
//! "$U/_admin/label" -d '{..., "user": "alice"}'` while the sandbox reads
//! `"by"`. The docs are read as text at test time (the README,
//! ARCHITECTURE.md and every docs/*.md, from `CARGO_MANIFEST_DIR`), and so is
//! the sandbox's dispatch (`crates/afk-sandbox/src/admin.rs`'s `handle` and
//! `TAKES`, `kube.rs`'s and the GitHub App's `admin`), so an example cannot
//! drift from the API again without a test failing.

use crate::operator::sandbox_cli;
use crate::operator3::printed;
use crate::support::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The HTTP methods a doc names an admin call with.
const METHODS: [&str; 5] = ["GET", "POST", "DELETE", "PUT", "PATCH"];

/// Shell variables the docs' examples use inside a body, and what each
/// stands for in the example world: docs/sandbox.md's merge takes `$PR`
/// from a listing of the open PRs; 4 is the number the README's quick
/// start names (acme/api's first PR, after its three issues). Any other
/// variable is left as written, so a body holding one is no JSON and the
/// test says so: give it a value here. The sandbox's URL (`$URL`, `$U`) is
/// no part of what is checked: only the path after `/_admin` is.
const VARS: &[(&str, &str)] = &[("PR", "4")];

/// The pilot's call, as docs/hook.md showed it before #82: `user` where
/// `/_admin/label` reads `by`. The judge must refuse it.
const PILOT: &str = r#"curl -s -X POST "$U/_admin/label" -d '{"repo":"acme/web","issue":2,"label":"ready-for-agent","user":"alice"}'"#;

/// One `curl` call of the admin API that a doc shows.
#[derive(Debug)]
struct Example {
    /// the doc, relative to the repository
    file: String,
    /// its line (the first, for a command continued with `\`)
    line: usize,
    /// `-X`'s; else POST with `-d`, GET without
    method: String,
    /// after `/_admin`: `/label`, `/ci/runs/1`
    path: String,
    /// `-d`'s, as the shell hands it to curl ([`VARS`] substituted)
    body: Option<String>,
}

impl Example {
    fn place(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

/// The docs a reader follows: README.md, ARCHITECTURE.md and every
/// docs/*.md, as (name relative to the repository, text).
fn docs() -> Vec<(String, String)> {
    let root = root();
    let mut names = vec!["README.md".to_string(), "ARCHITECTURE.md".to_string()];
    let mut more: Vec<String> = std::fs::read_dir(root.join("docs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".md"))
        .map(|n| format!("docs/{n}"))
        .collect();
    more.sort();
    names.extend(more);
    names
        .into_iter()
        .map(|n| {
            let text =
                std::fs::read_to_string(root.join(&n)).unwrap_or_else(|e| panic!("{n}: {e}"));
            (n, text)
        })
        .collect()
}

/// A file of the sandbox's source, `crates/afk-sandbox/src/<path>`.
fn sandbox_source(path: &str) -> String {
    let p = root().join("crates/afk-sandbox/src").join(path);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The lines of `text`, a line ending in `\` joined with the next (as the
/// shell reads it), each with its first line's number.
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut out: Vec<(usize, String)> = vec![];
    let mut continued = false;
    for (i, line) in text.lines().enumerate() {
        let (line, continues) = match line.strip_suffix('\\') {
            Some(l) => (l, true),
            None => (line, false),
        };
        if continued {
            let last = out.last_mut().expect("a line before the continued one");
            last.1.push(' ');
            last.1.push_str(line.trim_start());
        } else {
            out.push((i + 1, line.to_string()));
        }
        continued = continues;
    }
    out
}

/// The words of one shell command as the shell hands them on: quotes
/// removed, `\` escapes undone, the [`VARS`] substituted outside single
/// quotes (other variables left as written), up to the command's end (an
/// unquoted `|`, `;`, `&`, `)`, `<`, `>`, or a `#` that starts a word).
fn shell_words(command: &str) -> Vec<String> {
    let chars: Vec<char> = command.chars().collect();
    let mut words = vec![];
    let mut word: Option<String> = None;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == ' ' || c == '\t' {
            words.extend(word.take());
            i += 1;
            continue;
        }
        if (c == '#' && word.is_none()) || "|;&)<>".contains(c) {
            break;
        }
        let w = word.get_or_insert_with(String::new);
        match c {
            '\'' => {
                i += 1;
                while i < chars.len() && chars[i] != '\'' {
                    w.push(chars[i]);
                    i += 1;
                }
                // past the closing quote
                i += 1;
            }
            '"' => {
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    let next = chars.get(i + 1).copied();
                    if chars[i] == '\\' && next.is_some_and(|n| "\"\\$`".contains(n)) {
                        w.extend(next);
                        i += 2;
                    } else if chars[i] == '$' {
                        i = variable(&chars, i, w);
                    } else {
                        w.push(chars[i]);
                        i += 1;
                    }
                }
                i += 1;
            }
            '\\' => {
                w.extend(chars.get(i + 1).copied());
                i += 2;
            }
            '$' => i = variable(&chars, i, w),
            _ => {
                w.push(c);
                i += 1;
            }
        }
    }
    words.extend(word);
    words
}

/// The variable `$NAME` at `chars[at]`: its value in [`VARS`] pushed onto
/// `w` when the test knows it, else the text as written. Where it ends.
fn variable(chars: &[char], at: usize, w: &mut String) -> usize {
    let mut end = at + 1;
    while end < chars.len() && (chars[end].is_ascii_alphanumeric() || chars[end] == '_') {
        end += 1;
    }
    let name: String = chars[at + 1..end].iter().collect();
    match VARS.iter().find(|(n, _)| *n == name) {
        Some((_, value)) => w.push_str(value),
        None => w.extend(&chars[at..end]),
    }
    end
}

/// Every `curl` call of the admin API in `text` (the doc `file`): each
/// line (joined at a trailing `\`) holding `curl ` and `/_admin/`, read
/// from its `curl` on. A line the reader cannot make out (a word it does
/// not know, no admin URL) fails the test rather than being skipped.
fn examples(file: &str, text: &str) -> Vec<Example> {
    let mut out = vec![];
    for (line, command) in logical_lines(text) {
        let Some(at) = command.find("curl ") else {
            continue;
        };
        if !command.contains("/_admin/") {
            continue;
        }
        let words = shell_words(&command[at..]);
        let (mut method, mut body, mut url) = (None, None, None);
        let mut rest = words.iter().skip(1);
        while let Some(w) = rest.next() {
            match w.as_str() {
                "-X" | "--request" => method = rest.next().cloned(),
                "-d" | "--data" | "--data-raw" | "--data-binary" => body = rest.next().cloned(),
                "-H" | "--header" => {
                    rest.next();
                }
                flag if flag.starts_with('-') => {}
                u if u.contains("/_admin/") && url.is_none() => url = Some(u.to_string()),
                other => {
                    panic!("{file}:{line}: a curl word this test cannot read, {other:?}: {command}")
                }
            }
        }
        let url = url.unwrap_or_else(|| {
            panic!("{file}:{line}: a curl line with no admin URL this test can read: {command}")
        });
        let path = url[url.find("/_admin").unwrap() + "/_admin".len()..].to_string();
        let method =
            method.unwrap_or_else(|| String::from(if body.is_some() { "POST" } else { "GET" }));
        out.push(Example {
            file: file.to_string(),
            line,
            method,
            path,
            body,
        });
    }
    out
}

/// `example` sent to the sandbox at `url` as curl sends it (a `-d` body
/// as form data, read as JSON all the same): the status and the JSON answer.
fn send(url: &str, example: &Example) -> (u16, Value) {
    let req = ureq::request(&example.method, &format!("{url}/_admin{}", example.path));
    let answer = match &example.body {
        Some(body) => req
            .set("Content-Type", "application/x-www-form-urlencoded")
            .send_string(body),
        None => req.call(),
    };
    match answer {
        Ok(r) => (r.status(), r.into_json().unwrap_or(Value::Null)),
        Err(ureq::Error::Status(s, r)) => (s, r.into_json().unwrap_or(Value::Null)),
        Err(e) => panic!(
            "{}: {} /_admin{}: {e}",
            example.place(),
            example.method,
            example.path
        ),
    }
}

/// Why the sandbox refused a call for its shape, or None: a call it does
/// not serve (`handle`'s and the App's `unknown admin call`, the Kubernetes
/// API's `no such admin call`), a key the call does not read (`unknown key
/// "user" for POST /_admin/label: ...`).
fn refused_for_shape(status: u16, answer: &Value) -> Option<String> {
    let message = answer["message"].as_str().unwrap_or("");
    let shape = match status {
        404 => message == "unknown admin call" || message == "no such admin call",
        400 => message.starts_with("unknown key "),
        _ => false,
    };
    shape.then(|| format!("{status} {message}"))
}

/// The curl examples of the admin API in the docs, sent to the sandbox the
/// docs start (`afk sandbox --example`, the demo's acme/api, acme/web and
/// acme/docs), in the docs' order:
///
/// - each is taken (2xx), or refused for the world it finds and not for
///   its shape: a 400 or 404 whose message is not `unknown key ...` nor an
///   unknown call. A walkthrough's call may name what its earlier steps
///   made (the agent's branch `afk/issue-1`, its PR #4, CI run 1), which
///   this test does not play: the README's status and merge and
///   docs/sandbox.md's status, merge and `ci/runs/1` answer so. The key and
///   the call are judged before anything else in `admin::handle`, so that
///   refusal never hides a wrong key or call;
/// - each `-d` body is a JSON object as written (with [`VARS`] for its
///   shell variables), since the sandbox runs a body that is no JSON with
///   its defaults rather than refusing it;
/// - each `repo` it names is one of the example's, each `issue` one of
///   that repo's;
/// - the judge refuses the pilot's call and a call the sandbox does not
///   serve, and at least three examples are taken (hook.md's label, its
///   webhooks, docs/sandbox.md's CI runs), so neither the judge nor the
///   world is a stub;
/// - the extractor finds at least the calls counted by hand when this test
///   was written: README.md 2, docs/hook.md 2, docs/sandbox.md 4.
///
/// Not checked: the afk commands between the calls (`afk poll`, `afk
/// watch`: the quick start is played by
/// `operator::the_quick_start_moves_a_run_on_to_success_with_the_admin_api`),
/// calls that are not curl lines (the tables and prose, checked against
/// the dispatch by the next tests), what a taken call answers, and calls
/// to the forge API (`/api/v1/...`).
#[test]
fn every_admin_call_in_the_docs_is_one_the_sandbox_takes() {
    let found: Vec<Example> = docs()
        .iter()
        .flat_map(|(name, text)| examples(name, text))
        .collect();
    for (name, least) in [
        ("README.md", 2),
        ("docs/hook.md", 2),
        ("docs/sandbox.md", 4),
    ] {
        let n = found.iter().filter(|e| e.file == name).count();
        assert!(
            n >= least,
            "{name}: {n} admin calls found, at least {least} expected: {found:#?}"
        );
    }
    assert!(found.len() >= 8, "{found:#?}");
    for e in &found {
        if let Some(body) = &e.body {
            let v: Value = serde_json::from_str(body).unwrap_or_else(|err| {
                panic!(
                    "{}: the body is no JSON ({err}): {body} (a shell variable in it? give it a value in VARS)",
                    e.place()
                )
            });
            assert!(
                v.is_object(),
                "{}: the body is no object: {body}",
                e.place()
            );
        }
    }

    let s = Scratch::new();
    let (_sb, lines) = sandbox_cli(&["--example", "--dir", s.path("sb").to_str().unwrap()]);
    let url = printed(&lines, "AFK_SANDBOX_URL");

    // the judge refuses what it is for: the pilot's call, and a call the
    // sandbox does not serve (both refused before anything changes)
    for control in [PILOT, r#"curl -s "$U/_admin/labels""#] {
        let e = examples("control", control)
            .pop()
            .unwrap_or_else(|| panic!("the control is read: {control}"));
        let (status, answer) = send(&url, &e);
        assert!(
            refused_for_shape(status, &answer).is_some(),
            "{control}: {status} {answer}"
        );
    }

    // the example world: its repos and each one's issues
    let world: Value = ureq::get(&format!("{url}/_admin/state"))
        .call()
        .unwrap()
        .into_json()
        .unwrap();
    let repos = world["repos"].as_array().expect("the state's repos");
    let has = |repo: &str, issue: Option<u64>| {
        repos.iter().any(|r| {
            r["name"] == repo
                && match issue {
                    None => true,
                    Some(n) => r["issues"]
                        .as_array()
                        .is_some_and(|is| is.iter().any(|i| i["number"] == n)),
                }
        })
    };

    let mut outcomes = vec![];
    let mut wrong = vec![];
    let mut taken = 0;
    for e in &found {
        let body: Value = e
            .body
            .as_deref()
            .map_or(Value::Null, |b| serde_json::from_str(b).unwrap());
        if let Some(repo) = body["repo"].as_str() {
            let issue = body["issue"].as_u64();
            if !has(repo, issue) {
                wrong.push(format!(
                    "{}: {repo} (issue {issue:?}) is not in the example's world",
                    e.place()
                ));
            }
        }
        let (status, answer) = send(&url, e);
        outcomes.push(format!(
            "{}: {} /_admin{} -> {status} {answer}",
            e.place(),
            e.method,
            e.path
        ));
        if let Some(why) = refused_for_shape(status, &answer) {
            wrong.push(format!(
                "{}: {} /_admin{} refused for its shape: {why}",
                e.place(),
                e.method,
                e.path
            ));
        } else if (200..300).contains(&status) {
            taken += 1;
        } else if status != 400 && status != 404 {
            wrong.push(format!(
                "{}: {} /_admin{} answered {status} {answer}",
                e.place(),
                e.method,
                e.path
            ));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}\nevery answer: {outcomes:#?}");
    assert!(taken >= 3, "{outcomes:#?}");
}

#[test]
fn the_extractor_reads_each_form_of_curl_the_docs_use() {
    let text = r##"
```sh
curl -s -X POST "$URL/_admin/status" -d '{"repo": "acme/api", "state": "success"}'   # a comment
curl -s "$U/_admin/webhooks"          # each delivery
curl -s -X POST "$URL/_admin/merge" -d "{\"repo\": \"acme/api\", \"pr\": $PR}"
curl -s -X DELETE \
  "$URL/_admin/requests"
V=$(curl -s -H "Authorization: token $AFK_FORGE_TOKEN" "$URL/healthz" | head -1)
echo '/_admin/state'   # named, not sent
```
"##;
    let found = examples("t.md", text);
    let got: Vec<(&str, &str, Option<&str>, usize)> = found
        .iter()
        .map(|e| {
            (
                e.method.as_str(),
                e.path.as_str(),
                e.body.as_deref(),
                e.line,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "POST",
                "/status",
                Some(r#"{"repo": "acme/api", "state": "success"}"#),
                3
            ),
            ("GET", "/webhooks", None, 4),
            (
                "POST",
                "/merge",
                Some(r#"{"repo": "acme/api", "pr": 4}"#),
                5
            ),
            ("DELETE", "/requests", None, 6),
        ]
    );
    // a variable the test does not know stays as written: the body is no JSON
    let unknown = examples("t.md", r#"curl -s "$U/_admin/merge" -d "{\"pr\": $N}""#);
    assert_eq!(unknown[0].body.as_deref(), Some(r#"{"pr": $N}"#));
}

/// The admin calls the sandbox serves, as (method, path after `/_admin`):
/// the match arms of `admin::handle`, of `kube::admin` (under `/k8s`) and
/// of the GitHub App's `admin` (under `/app`). A path ending in `*` takes
/// any last segment (`("GET", p) if p.starts_with("/ci/runs/")`).
fn served() -> Vec<(String, String)> {
    let mut calls = arms(
        "",
        fn_body(&sandbox_source("admin.rs"), "pub(super) fn handle("),
    );
    calls.extend(arms(
        "/k8s",
        fn_body(&sandbox_source("kube.rs"), "pub(super) fn admin("),
    ));
    calls.extend(arms(
        "/app",
        fn_body(
            &sandbox_source("routes/github/app.rs"),
            "pub(crate) fn admin(",
        ),
    ));
    calls.extend(arms(
        "/jira",
        fn_body(&sandbox_source("routes/jira.rs"), "pub fn admin("),
    ));
    calls.extend(arms(
        "/linear",
        fn_body(&sandbox_source("routes/linear.rs"), "pub fn admin("),
    ));
    calls.extend(arms(
        "/linear",
        fn_body(
            &sandbox_source("routes/linear_agents.rs"),
            "pub(super) fn admin(",
        ),
    ));
    calls.extend(arms(
        "/linear",
        fn_body(
            &sandbox_source("routes/linear_webhooks.rs"),
            "pub(super) fn admin(",
        ),
    ));
    calls.sort();
    calls.dedup();
    calls
}

/// The text of the function of `source` whose signature starts so, up to
/// its closing brace at the start of a line.
fn fn_body<'a>(source: &'a str, signature: &str) -> &'a str {
    let start = source
        .find(signature)
        .unwrap_or_else(|| panic!("no {signature} in the sandbox's source"));
    let len = source[start..]
        .find("\n}\n")
        .unwrap_or_else(|| panic!("{signature} has no end"));
    &source[start..start + len]
}

/// The `("METHOD", "/path")` arms of a match in `body` (a guard after them
/// or not), and the `("METHOD", p) if p.starts_with("/prefix/")` ones as
/// `/prefix/*`, each path after `prefix`.
fn arms(prefix: &str, body: &str) -> Vec<(String, String)> {
    body.lines()
        .filter_map(|l| {
            let rest = l.trim_start().strip_prefix("(\"")?;
            let (method, rest) = rest.split_once('"')?;
            if !METHODS.contains(&method) {
                return None;
            }
            let rest = rest.strip_prefix(", ")?;
            let path = match rest.strip_prefix('"') {
                Some(quoted) => {
                    let (path, after) = quoted.split_once('"')?;
                    if !after.starts_with(')') {
                        return None;
                    }
                    path.to_string()
                }
                None => {
                    let guarded = rest.strip_prefix("p) if p.starts_with(\"")?;
                    format!("{}*", guarded.split_once('"')?.0)
                }
            };
            Some((method.to_string(), format!("{prefix}{path}")))
        })
        .collect()
}

/// A path as a doc writes it, each `<placeholder>` segment as `*`.
fn normalized(path: &str) -> String {
    path.split('/')
        .map(|seg| {
            if seg.starts_with('<') && seg.ends_with('>') {
                "*"
            } else {
                seg
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Whether the served `route` takes `path`: the same, or a route ending in
/// `*` and a path with one more segment there (`/ci/runs/1`, `/ci/runs/*`).
fn takes_path(route: &str, path: &str) -> bool {
    match route.strip_suffix('*') {
        Some(prefix) => path
            .strip_prefix(prefix)
            .is_some_and(|rest| !rest.is_empty() && !rest.contains('/')),
        None => route == path,
    }
}

/// The calls `text` names in code spans `` `METHOD /_admin/path` ``, each
/// with what follows the path in the span (`{repo, issue, …}` in prose):
/// (method, normalized path, the rest).
fn method_mentions(text: &str) -> Vec<(String, String, String)> {
    let mut out = vec![];
    for line in text.lines() {
        for span in line.split('`').skip(1).step_by(2) {
            let Some((method, rest)) = span.split_once(' ') else {
                continue;
            };
            let Some(rest) = rest.strip_prefix("/_admin") else {
                continue;
            };
            if !METHODS.contains(&method) || !rest.starts_with('/') {
                continue;
            }
            let (path, tail) = rest.split_once(' ').unwrap_or((rest, ""));
            out.push((method.to_string(), normalized(path), tail.to_string()));
        }
    }
    out
}

/// Every `/_admin/<path>` `text` names, anywhere (`$URL/_admin/status`,
/// `` `/_admin/rename` ``, `<url>/_admin/ci/runs/<id>`), normalized.
fn path_mentions(text: &str) -> Vec<String> {
    text.match_indices("/_admin/")
        .filter_map(|(at, _)| {
            let rest = &text[at + "/_admin".len()..];
            let end = rest[1..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || "_/<>-".contains(c)))
                .map_or(rest.len(), |e| e + 1);
            let path = rest[..end].trim_end_matches('/');
            (!path.is_empty()).then(|| normalized(path))
        })
        .collect()
}

/// The calls a doc's table rows name in their first cell (`` `POST
/// /_admin/label` ``, one or more), each with the row's second cell (the
/// body): (method, normalized path, body cell).
fn table_calls(text: &str) -> Vec<(String, String, String)> {
    let mut out = vec![];
    for line in text.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.split(" | ").collect();
        let Some(body) = cells.get(1) else {
            continue;
        };
        for (method, path, _) in method_mentions(cells[0]) {
            out.push((method, path, body.to_string()));
        }
    }
    out
}

/// docs/sandbox.md's tables name each admin call the sandbox serves, by
/// method and path (every arm of `admin::handle`, the Kubernetes API's and
/// the GitHub App's: GET and DELETE too, not only POST), and every admin
/// call a doc names is served: each `` `METHOD /_admin/path` `` by that
/// method, each `/_admin/<path>` anywhere (a curl line's, prose's) by some
/// method, and each call `afk sandbox` prints in its `# admin API:` line.
/// Read as text at test time, as afk-sandbox's
/// `every_admin_call_that_reads_a_body_is_in_the_table_of_keys_and_no_other`
/// reads its own arms.
#[test]
fn docs_sandbox_md_names_every_admin_call_the_sandbox_serves_and_no_other() {
    let served = served();
    assert!(served.len() > 50, "{served:?}");
    for (method, path) in [
        ("POST", "/label"),
        ("GET", "/ci/runs/*"),
        ("DELETE", "/requests"),
        ("POST", "/k8s/deny"),
        ("GET", "/k8s/state"),
        ("POST", "/app/revoke"),
    ] {
        assert!(
            served
                .iter()
                .any(|(m, p)| m.as_str() == method && p.as_str() == path),
            "{method} {path} is read from the source: {served:?}"
        );
    }
    let docs = docs();
    let sandbox_md = &docs
        .iter()
        .find(|(name, _)| name == "docs/sandbox.md")
        .expect("docs/sandbox.md")
        .1;
    let tabled: Vec<(String, String)> = table_calls(sandbox_md)
        .into_iter()
        .map(|(m, p, _)| (m, p))
        .collect();
    let untabled: Vec<&(String, String)> = served.iter().filter(|c| !tabled.contains(c)).collect();
    assert!(
        untabled.is_empty(),
        "admin calls the sandbox serves that docs/sandbox.md's tables do not name: {untabled:?}"
    );

    let is_served = |method: Option<&str>, path: &str| {
        served
            .iter()
            .any(|(m, p)| method.is_none_or(|want| want == m.as_str()) && takes_path(p, path))
    };
    let mut unserved = vec![];
    let mut mentions = 0;
    for (name, text) in &docs {
        for (method, path, _) in method_mentions(text) {
            mentions += 1;
            if !is_served(Some(method.as_str()), &path) {
                unserved.push(format!("{name}: {method} /_admin{path}"));
            }
        }
        for path in path_mentions(text) {
            mentions += 1;
            if !is_served(None, &path) {
                unserved.push(format!("{name}: /_admin{path}"));
            }
        }
    }
    for dialect in Dialect::ALL {
        for name in dialect.admin_routes().split(',') {
            if !is_served(None, &format!("/{name}")) {
                unserved.push(format!(
                    "afk sandbox --dialect {}'s `# admin API:` line: /_admin/{name}",
                    dialect.as_str()
                ));
            }
        }
    }
    assert!(mentions > 100, "{mentions} admin calls named in the docs");
    assert!(
        unserved.is_empty(),
        "admin calls the docs name that the sandbox does not serve: {unserved:#?}"
    );
}

/// admin.rs's `TAKES`, the Jira site's under `/jira` and the Linear
/// workspace's (and its Agents API's) under `/linear`: (method, path, the keys its body may hold).
fn takes() -> Vec<(String, String, Vec<String>)> {
    let mut all = takes_of("admin.rs", "");
    all.extend(takes_of("routes/jira.rs", "/jira"));
    all.extend(takes_of("routes/linear.rs", "/linear"));
    all.extend(takes_of("routes/linear_agents.rs", "/linear"));
    all.extend(takes_of("routes/linear_webhooks.rs", "/linear"));
    all
}

/// The `TAKES` table of the sandbox's `file`, each path after `prefix`.
fn takes_of(file: &str, prefix: &str) -> Vec<(String, String, Vec<String>)> {
    let admin = sandbox_source(file);
    let start = admin
        .find("const TAKES")
        .unwrap_or_else(|| panic!("{file} has its table of keys"));
    let table = &admin[start..];
    let table = &table[..table.find("\n];").expect("the table of keys ends")];
    let literals: Vec<&str> = table
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .flat_map(|l| l.split('"').skip(1).step_by(2))
        .collect();
    assert_eq!(literals.len() % 3, 0, "{literals:?}");
    literals
        .chunks(3)
        .map(|c| {
            let keys = c[2].split_whitespace().map(str::to_string).collect();
            (c[0].to_string(), format!("{prefix}{}", c[1]), keys)
        })
        .collect()
}

/// The keys a doc's body text names: in each `{…}` group that stands on
/// its own (not inside brackets), the quoted strings right after its `{`
/// or a `,` at its own level (`"repo"`; not a value after `:`, nor one in
/// brackets or parentheses: `"state" (success, …)`, `"user" (or "by")`);
/// a group with no quotes at all names them bare (`{repo, sha|branch, …}`,
/// docs/github.md's). A key written after `or` (`"sha" or "branch"`) is
/// not taken: one checked less, never a false alarm.
fn named_keys(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut keys = vec![];
    let mut stack: Vec<char> = vec![];
    // where the open group's inside starts
    let mut group: Option<usize> = None;
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            // a quoted string: its brackets are text
            '"' => {
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    i += 1;
                }
            }
            c @ ('{' | '[' | '(') => {
                if stack.is_empty() && c == '{' {
                    group = Some(i + 1);
                }
                stack.push(c);
            }
            '}' | ']' | ')' => {
                stack.pop();
                if stack.is_empty()
                    && let Some(start) = group.take()
                {
                    let inner = &chars[start..i];
                    if inner.contains(&'"') {
                        keys.extend(quoted_keys(inner));
                    } else {
                        keys.extend(bare_keys(&inner.iter().collect::<String>()));
                    }
                }
            }
            _ => {}
        }
        i += 1;
    }
    keys
}

/// The quoted keys of a group's inside ([`named_keys`]).
fn quoted_keys(inner: &[char]) -> Vec<String> {
    let mut keys: Vec<String> = vec![];
    let mut depth = 0usize;
    // the group's start counts as a separator
    let mut prev = ',';
    let mut i = 0;
    while i < inner.len() {
        let c = inner[i];
        if c == '"' {
            let end = inner[i + 1..]
                .iter()
                .position(|&q| q == '"')
                .map_or(inner.len(), |p| i + 1 + p);
            if depth == 0 && prev == ',' {
                keys.push(inner[i + 1..end].iter().collect());
            }
            prev = '"';
            i = end + 1;
            continue;
        }
        match c {
            '{' | '[' | '(' => depth += 1,
            '}' | ']' | ')' => depth = depth.saturating_sub(1),
            _ => {}
        }
        if !c.is_whitespace() {
            prev = c;
        }
        i += 1;
    }
    keys
}

/// The bare keys of a group's inside: its words between `,` and `|`
/// (`…` and anything not a plain name left out).
fn bare_keys(inner: &str) -> Vec<String> {
    inner
        .split([',', '|'])
        .map(str::trim)
        .filter(|w| {
            !w.is_empty()
                && w.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        })
        .map(str::to_string)
        .collect()
}

/// Every key a doc names for a POST admin call is one the call takes
/// (admin.rs's `TAKES`, by which the sandbox refuses any other): the body
/// cells of the tables' rows (docs/sandbox.md's) and prose's
/// `` `POST /_admin/path {keys}` `` (docs/github.md's, docs/sandbox.md's
/// `/_admin/script`), read by [`named_keys`]. A call that names keys and is
/// not in `TAKES` fails too. Not checked: nested keys (a review's
/// `comments`' own, a seed's), and that a doc names every key a call takes.
#[test]
fn every_key_the_docs_name_for_an_admin_call_is_one_it_takes() {
    let takes = takes();
    assert!(takes.len() > 40, "{} calls in TAKES", takes.len());
    let mut checked = 0;
    let mut wrong = vec![];
    for (name, text) in &docs() {
        let mut named: Vec<(String, String, Vec<String>)> = table_calls(text)
            .into_iter()
            .map(|(m, p, body)| (m, p, named_keys(&body)))
            .collect();
        for line in text.lines().filter(|l| !l.starts_with("| `")) {
            named.extend(
                method_mentions(line)
                    .into_iter()
                    .map(|(m, p, tail)| (m, p, named_keys(&tail))),
            );
        }
        for (method, path, keys) in named {
            if method != "POST" || keys.is_empty() {
                continue;
            }
            checked += 1;
            match takes.iter().find(|(m, p, _)| *m == method && *p == path) {
                None => wrong.push(format!(
                    "{name}: {method} /_admin{path} names keys {keys:?}; TAKES has no such call"
                )),
                Some((_, _, took)) => {
                    for key in keys.iter().filter(|k| !took.contains(k)) {
                        wrong.push(format!(
                            "{name}: {method} /_admin{path} names {key:?}; it takes {took:?}"
                        ));
                    }
                }
            }
        }
    }
    // 41 table rows with keys and 6 prose calls when this test was written
    assert!(checked >= 45, "{checked} calls' keys checked");
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn named_keys_reads_the_forms_the_docs_write() {
    let cases: [(&str, &[&str]); 6] = [
        (
            r#"`{"repo", "issue", "label", "by" [alice], "add" [true]}`: a label"#,
            &["repo", "issue", "label", "by", "add"],
        ),
        (
            r#"`{"repo", "pr", "outcome": "succeed" or "conflict"}`"#,
            &["repo", "pr", "outcome"],
        ),
        (
            r#"`{"url": "http://127.0.0.1:8765/afk-hook"` (or `null`: stop)`, "secret"?}`"#,
            &["url", "secret"],
        ),
        (
            r#"`{"name", "data": {key: value}}`: a Secret (e.g. `"get"`)"#,
            &["name", "data"],
        ),
        (
            "{repo, sha|branch, name, status, conclusion, html_url}",
            &[
                "repo",
                "sha",
                "branch",
                "name",
                "status",
                "conclusion",
                "html_url",
            ],
        ),
        ("{key_file, id, …}", &["key_file", "id"]),
    ];
    for (text, want) in cases {
        assert_eq!(named_keys(text), want.to_vec(), "{text}");
    }
}
