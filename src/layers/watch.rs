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

/// The runner's methods that change something; a method of the `Runner`
/// trait that is in neither this list nor `RUNNER_READS` fails the test
/// below, so a new one is sorted before it is used. The forge's are sorted by
/// their trait: every method of `ForgeWrites` writes, none of `ForgeReads`.
const RUNNER_WRITES: &[&str] = &[
    "start",
    "resume",
    "settle",
    "stop",
    "start_record",
    "bind_instance",
];
const RUNNER_READS: &[&str] = &[
    "looks_locally",
    "prefetch",
    "observe",
    "forwarded",
    "read_spend",
    "check",
];

/// The forge's methods that write (`ForgeWrites`) and those that read
/// (`ForgeReads`), as the forge crate declares them.
fn forge_methods() -> (Vec<String>, Vec<String>) {
    let lib = "crates/afk-forge/src/lib.rs";
    (
        trait_methods(lib, "ForgeWrites"),
        trait_methods(lib, "ForgeReads"),
    )
}

/// Watch's observe and decide phases hold no writing edge
/// (docs/how-it-works.md#afk-watch-the-lifecycle): observing reads the forge,
/// the runner and the run's files into one `Seen`, deciding asks core; only
/// settle and act write. Upgrade's reads take the same shape: every read of a
/// tick at once (`gather.rs`, `prefetch.rs`) before a recipe's writes.
#[test]
fn observe_and_decide_hold_no_writing_edge() {
    let (forge_writes, forge_reads) = forge_methods();
    assert!(forge_writes.contains(&"create_comment".to_string()));
    assert!(forge_reads.contains(&"pull".to_string()));
    let both: Vec<&String> = (forge_writes.iter())
        .filter(|m| forge_reads.contains(m))
        .collect();
    assert!(both.is_empty(), "both a read and a write: {both:?}");
    let unsorted: Vec<String> = trait_methods("src/runner/mod.rs", "Runner")
        .into_iter()
        .filter(|m| !RUNNER_WRITES.contains(&m.as_str()) && !RUNNER_READS.contains(&m.as_str()))
        .collect();
    assert!(
        unsorted.is_empty(),
        "neither a read nor a write: {unsorted:?}"
    );
    let writes: Vec<String> = (forge_writes.into_iter())
        .chain(RUNNER_WRITES.iter().map(|w| w.to_string()))
        .collect();
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
