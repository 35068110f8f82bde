//! Watch's phases: observe and decide hold no writing edge, by the forge's
//! and the runner's methods sorted into reads and writes.

use std::path::Path;

/// The method names a trait declares (`fn name(`), from its `pub trait Name`
/// line to the first line that closes it.
fn trait_methods(file: &str, name: &str) -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    let src = std::fs::read_to_string(&path).unwrap();
    let start = src
        .find(&format!("pub trait {name}"))
        .unwrap_or_else(|| panic!("{file} declares no trait {name}"));
    let body = &src[start..];
    let body = &body[..body.find("\n}").unwrap_or(body.len())];
    body.lines()
        .filter_map(|l| l.trim().strip_prefix("fn "))
        .map(|rest| {
            rest.chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect()
        })
        .collect()
}

/// What in `code` writes: a call of one of `writes` (a method of the forge
/// or the runner that changes something), the state file, the journal, the
/// workspace, or a file written, made or removed; comments left out.
fn writing_edges(code: &str, writes: &[String]) -> Vec<String> {
    let mut found = vec![];
    for (n, line) in code.lines().enumerate() {
        let line = line.split("//").next().unwrap_or("");
        let mut hit = |what: &str| {
            let what = format!(
                "line {}: {}",
                n + 1,
                what.trim_end_matches([' ', ',', ';', '>', ')'])
            );
            if !found.contains(&what) {
                found.push(what);
            }
        };
        for w in writes {
            if line.contains(&format!(".{w}(")) {
                hit(w);
            }
        }
        for edge in [
            "Store ",
            "Store,",
            "Store;",
            "Store>",
            "Store)",
            "store.",
            "journal",
            "workspace.",
            "fs::write",
            "fs::create_dir",
            "fs::remove",
            "File::create",
        ] {
            if line.contains(edge) {
                hit(edge);
            }
        }
    }
    found
}

/// The forge's and the runner's methods that change something; a trait's
/// method that is in neither this list nor `READS` fails the test below, so
/// a new one is sorted before it is used.
const WRITES: &[&str] = &[
    "add_label",
    "remove_label",
    "create_label",
    "create_comment",
    "edit_comment",
    "close_issue",
    "edit_issue_body",
    "create_pull",
    "close_pull",
    "react",
    "update_branch",
    "start",
    "resume",
    "settle",
    "stop",
    "start_record",
    "bind_instance",
];
const READS: &[&str] = &[
    "looks_locally",
    "is_public",
    "requests",
    "costly_requests",
    "revalidate",
    "adds_missing_labels",
    "diagnose",
    "me",
    "git_credentials",
    "issues_with_label",
    "issue",
    "timeline",
    "permission",
    "dependencies",
    "repo_labels",
    "comments",
    "open_pulls",
    "recent_closed_pulls",
    "pull",
    "combined_status",
    "commits",
    "diff",
    "branch",
    "reviews",
    "line_comments",
    "prefetch",
    "observe",
    "forwarded",
    "read_spend",
    "check",
];

/// Watch's observe and decide phases hold no writing edge
/// (docs/how-it-works.md#afk-watch-the-lifecycle): observing reads the forge,
/// the runner and the run's files into one `Seen`, deciding asks core; only
/// settle and act write. Upgrade's reads take the same shape: every read of a
/// tick at once (`gather.rs`, `prefetch.rs`) before a recipe's writes.
#[test]
fn observe_and_decide_hold_no_writing_edge() {
    let methods: Vec<String> = trait_methods("crates/afk-forge/src/lib.rs", "Forge")
        .into_iter()
        .chain(trait_methods("src/runner/mod.rs", "Runner"))
        .collect();
    let unsorted: Vec<&String> = (methods.iter())
        .filter(|m| !WRITES.contains(&m.as_str()) && !READS.contains(&m.as_str()))
        .collect();
    assert!(
        unsorted.is_empty(),
        "neither a read nor a write: {unsorted:?}"
    );
    let writes: Vec<String> = WRITES.iter().map(|w| w.to_string()).collect();
    let ops = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/ops");
    for phase in [
        "watch/observe.rs",
        "watch/decide.rs",
        "upgrade/gather.rs",
        "upgrade/prefetch.rs",
    ] {
        let code = std::fs::read_to_string(ops.join(phase)).unwrap();
        let found = writing_edges(&code, &writes);
        assert!(found.is_empty(), "{phase} writes: {}", found.join(", "));
    }
}

#[test]
fn the_writing_edge_reader_sees_a_forge_write_and_the_store() {
    let writes = vec!["create_comment".to_string()];
    let code = "fn f(w: &Watch, store: &Store) {\n    // store.x() in a comment\n    w.t.forge.create_comment(&r, 1, \"x\")?;\n}\n";
    assert_eq!(
        writing_edges(code, &writes),
        ["line 1: Store", "line 3: create_comment"]
    );
    assert!(writing_edges("let x = w.t.forge.pull(&r, 1)?;", &writes).is_empty());
    assert_eq!(
        trait_methods("src/runner/mod.rs", "Runner")
            .first()
            .map(String::as_str),
        Some("start")
    );
}
