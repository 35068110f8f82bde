//! The forges' own published examples through the binary: every delivery
//! example of GitHub's `@octokit/webhooks-examples` (installed pinned in
//! `corpora/` by scripts/test, never copied here) goes through `afk hook`,
//! as JSON and as a form, each signed as GitHub signs it, and gets the tick
//! docs/hook.md's event table names for its event, or is ignored when the
//! table names none.

use crate::hook::{HOOK, SECRET, form, hex_mac, hook};
use crate::support::*;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;

/// The pinned examples: `[{name, examples: [payload, …]}, …]`.
fn github_examples() -> Vec<(String, Vec<Value>)> {
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpora/node_modules/@octokit/webhooks-examples/api.github.com/index.json");
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| {
        panic!(
            "{}: {e}: install the pinned corpora (scripts/test does: npm ci in corpora/)",
            file.display()
        )
    });
    let all: Vec<Value> = serde_json::from_str(&text).unwrap();
    all.into_iter()
        .map(|e| {
            let name = e["name"].as_str().unwrap().to_string();
            (name, e["examples"].as_array().cloned().unwrap_or_default())
        })
        .collect()
}

/// docs/hook.md's event table as GitHub's column reads it: each event name
/// the GitHub cell names (one of `known`), with the row's tick.
fn github_ticks(known: &[String]) -> BTreeMap<String, String> {
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/hook.md"))
        .unwrap();
    let header = doc
        .lines()
        .position(|l| l.contains("GitHub: `X-GitHub-Event`"))
        .expect("the event table");
    let mut out = BTreeMap::new();
    for row in doc
        .lines()
        .skip(header + 2)
        .take_while(|l| l.starts_with('|'))
    {
        let cells: Vec<&str> = row.trim_matches('|').split('|').map(str::trim).collect();
        let (github, tick) = (cells[2], cells[cells.len() - 1]);
        for name in github.split('`').skip(1).step_by(2) {
            if known.iter().any(|k| k == name) {
                out.insert(name.to_string(), tick.to_string());
            }
        }
    }
    out
}

#[test]
fn every_published_github_delivery_example_gets_the_tick_the_event_table_names() {
    with_dialect(Dialect::Github, || {
        let examples = github_examples();
        let names: Vec<String> = examples.iter().map(|(n, _)| n.clone()).collect();
        let ticks = github_ticks(&names);
        assert!(ticks.len() >= 10, "the table's GitHub events: {ticks:?}");
        let mut repos: Vec<String> = examples
            .iter()
            .flat_map(|(_, ex)| {
                ex.iter()
                    .filter_map(|e| e["repository"]["full_name"].as_str().map(String::from))
            })
            .collect();
        repos.sort();
        repos.dedup();
        let sb = Sandbox::start(json!({"repos": [repo("acme/api", json!([]))]}));
        let allow: Vec<String> = repos.iter().map(|r| format!("\"{r}\"")).collect();
        let poll = format!("enabled = true\nallowlist = [{}]", allow.join(", "));
        // each delivery: (event, its number, the example, the answer's start)
        let mut deliveries: Vec<(&str, usize, &Value, String)> = vec![];
        for (name, list) in &examples {
            let table_tick = ticks.get(name);
            // an event the table names: every example; another: its first
            let list = if table_tick.is_some() {
                &list[..]
            } else {
                &list[..list.len().min(1)]
            };
            for (i, example) in list.iter().enumerate() {
                let want = match (table_tick, example["repository"]["full_name"].as_str()) {
                    (Some(tick), Some(repo)) => format!("{tick} tick for {repo}\n"),
                    _ => "ignored: ".to_string(),
                };
                deliveries.push((name, i, example, want));
            }
        }
        let acted_on = deliveries
            .iter()
            .filter(|d| !d.3.starts_with("ignored"))
            .count();
        // four workers (the ticks mostly wait on the sandbox), each with a
        // state file an encoding: the same JSON sent again is a replay
        std::thread::scope(|s| {
            for part in deliveries.chunks(deliveries.len().div_ceil(4)) {
                let (sb, poll) = (&sb, &poll);
                s.spawn(move || {
                    let (as_json, as_form) = (Afk::new(sb, poll, HOOK), Afk::new(sb, poll, HOOK));
                    for (name, i, example, want) in part {
                        let text = example.to_string();
                        for (afk, body, content_type) in [
                            (&as_json, text.clone(), "application/json"),
                            (&as_form, form(&text), "application/x-www-form-urlencoded"),
                        ] {
                            let headers = vec![
                                format!("X-GitHub-Event: {name}"),
                                format!("X-GitHub-Delivery: {name}-{i}"),
                                format!("X-Hub-Signature-256: sha256={}", hex_mac(SECRET, &body)),
                                format!("Content-Type: {content_type}"),
                            ];
                            let (_, out, err) = hook(afk, &body, &headers);
                            assert!(
                                out.starts_with("HTTP/1.1 202 "),
                                "{name} #{i} ({content_type}): {out}{err}"
                            );
                            let said = out.split("\r\n\r\n").nth(1).unwrap_or("");
                            assert!(
                                said.starts_with(want.as_str()),
                                "{name} #{i} ({content_type}): want {want:?}, said {said:?}"
                            );
                        }
                    }
                });
            }
        });
        // the corpus as pinned (7.6.1): its examples of the events afk acts on
        assert!(acted_on >= 100, "{acted_on} of {}", deliveries.len());
    });
}
