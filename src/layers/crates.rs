//! The crates below the binary: their dependency lists, pinned.

use std::path::Path;

/// I/O crates: what the model and the core may never depend on.
const IO_CRATES: [&str; 8] = [
    "ureq", "rusqlite", "libc", "rustls", "ring", "clap", "anyhow", "toml",
];

/// Network and command-line crates: what the host and the store may never
/// depend on (they keep the machine's and the state file's I/O, not the forge's).
const NET_CRATES: [&str; 5] = ["ureq", "rustls", "ring", "clap", "toml"];

/// What the HTTP crate may never depend on: the state file's and the
/// command line's crates.
const STATE_CRATES: [&str; 4] = ["rusqlite", "libc", "clap", "toml"];

/// The crates below the binary, the afk crates each may never depend on, and
/// the other crates it may never depend on. The compiler enforces the rest (a
/// crate cannot name what it does not depend on); this pins the dependency
/// lists themselves.
const LOWER_CRATES: [(&str, &[&str], &[&str]); 11] = [
    (
        "crates/afk-model",
        &[
            "afk-wire",
            "afk-core",
            "afk-host",
            "afk-http",
            "afk-forge",
            "afk-store",
            "afk-git",
            "afk-registry",
            "afk-sandbox",
            "afk",
        ],
        &IO_CRATES,
    ),
    // what the host, the client and the forges share with the core: as pure
    (
        "crates/afk-wire",
        &[
            "afk-core",
            "afk-host",
            "afk-http",
            "afk-forge",
            "afk-store",
            "afk-sandbox",
            "afk-git",
            "afk-registry",
            "afk",
        ],
        &IO_CRATES,
    ),
    (
        "crates/afk-core",
        &[
            "afk-host",
            "afk-http",
            "afk-forge",
            "afk-store",
            "afk-sandbox",
            "afk-git",
            "afk-registry",
            "afk",
        ],
        &IO_CRATES,
    ),
    // the clock, the log, private files: below every adapter
    // and not on the core: a decision's edit must not rebuild the host, the
    // client and the forges (they take the rules they share from afk-wire)
    (
        "crates/afk-host",
        &[
            "afk-core",
            "afk-http",
            "afk-forge",
            "afk-store",
            "afk-git",
            "afk-registry",
            "afk-sandbox",
            "afk",
        ],
        &NET_CRATES,
    ),
    // the one client names no store, forge, runner or command
    (
        "crates/afk-http",
        &[
            "afk-core",
            "afk-forge",
            "afk-store",
            "afk-git",
            "afk-registry",
            "afk-sandbox",
            "afk",
        ],
        &STATE_CRATES,
    ),
    // the forges never see the config, the store or a command
    (
        "crates/afk-forge",
        &[
            "afk-core",
            "afk-store",
            "afk-git",
            "afk-registry",
            "afk-sandbox",
            "afk",
        ],
        &STATE_CRATES,
    ),
    // the tests' in-memory forge: the forges' traits and what they name,
    // nothing above them
    (
        "crates/afk-forge-memory",
        &[
            "afk-core",
            "afk-http",
            "afk-store",
            "afk-git",
            "afk-registry",
            "afk-sandbox",
            "afk",
        ],
        &STATE_CRATES,
    ),
    // the state file names no client, forge, runner or command
    (
        "crates/afk-store",
        &[
            "afk-http",
            "afk-forge",
            "afk-git",
            "afk-registry",
            "afk-sandbox",
            "afk",
        ],
        &NET_CRATES,
    ),
    // git over afk's clones: the core's tree changes, no client, no store
    (
        "crates/afk-git",
        &[
            "afk-model",
            "afk-host",
            "afk-http",
            "afk-forge",
            "afk-store",
            "afk-registry",
            "afk-sandbox",
            "afk",
        ],
        &["ureq", "rustls", "ring", "rusqlite", "clap", "toml"],
    ),
    // the registry client: the core, the log and the one client; no forge, no store
    (
        "crates/afk-registry",
        &[
            "afk-model",
            "afk-forge",
            "afk-store",
            "afk-git",
            "afk-sandbox",
            "afk",
        ],
        &["rusqlite", "libc", "clap", "toml"],
    ),
    // the fake shares no rule with what it fakes: not the core, not the client
    (
        "crates/afk-sandbox",
        &[
            "afk-wire",
            "afk-core",
            "afk-host",
            "afk-http",
            "afk-forge",
            "afk-store",
            "afk-git",
            "afk-registry",
            "afk",
        ],
        &[],
    ),
];

fn manifest(dir: &str) -> toml::Table {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(root.join(dir).join("Cargo.toml"))
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn lower_crates_depend_on_no_io_crate_and_on_nothing_above_them() {
    let mut wrong = vec![];
    for (dir, not_these, not_io) in LOWER_CRATES {
        let manifest = manifest(dir);
        let deps = manifest["dependencies"].as_table().unwrap();
        for (name, spec) in deps {
            let optional = spec.get("optional").and_then(|o| o.as_bool()) == Some(true);
            // the model's rusqlite is optional, on only for the store; the
            // core parses the manifests an agent's change holds (TOML text
            // in, declared dependencies out: no file, no config), so its
            // toml is a parser, not afk's configuration
            let allowed = (dir == "crates/afk-model" && name == "rusqlite" && optional)
                || (dir == "crates/afk-core" && name == "toml");
            let io = not_io.contains(&name.as_str()) && !allowed;
            if not_these.contains(&name.as_str()) || io {
                wrong.push(format!("{dir} depends on {name}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "a lower layer depends on I/O or on a higher one:\n{}",
        wrong.join("\n")
    );
    // and neither the core nor afk-wire turns the model's SQLite feature on
    for dir in ["crates/afk-core", "crates/afk-wire"] {
        let m = manifest(dir);
        assert!(
            m["dependencies"]["afk-model"].get("features").is_none(),
            "{dir}"
        );
    }
}

/// The test world (`afk sandbox`, `afk demo`: the afk-sandbox crate's fake
/// forges, cluster and model) is in the binary only with the root package's
/// `test-world` feature: afk-sandbox is an optional dependency that feature
/// alone turns on, on by default (the README's `cargo install`, `afk demo`
/// and the tests), and the production build turns it off
/// (`--no-default-features`, the Containerfile's; tests/it/production_build.rs
/// runs that build). Nothing else of the binary's is optional.
#[test]
fn the_test_world_is_a_default_feature_the_production_build_leaves_out() {
    let m = manifest(".");
    let deps = m["dependencies"].as_table().unwrap();
    let optional: Vec<&str> = deps
        .iter()
        .filter(|(_, spec)| spec.get("optional").and_then(|o| o.as_bool()) == Some(true))
        .map(|(name, _)| name.as_str())
        .collect();
    assert_eq!(
        optional,
        ["afk-sandbox"],
        "the binary's optional dependencies"
    );
    let features = m["features"].as_table().expect("[features]");
    let list = |name: &str| -> Vec<&str> {
        features[name]
            .as_array()
            .unwrap_or_else(|| panic!("feature {name}"))
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect()
    };
    assert_eq!(list("test-world"), ["dep:afk-sandbox"]);
    assert_eq!(list("default"), ["test-world"]);
    // no other feature turns the sandbox on behind the test world's back
    for (name, on) in features {
        let on: Vec<&str> = on
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|v| v.as_str())
            .collect();
        if name != "test-world" {
            assert!(
                !on.iter().any(|f| f.contains("afk-sandbox")),
                "feature {name} turns on afk-sandbox: {on:?}"
            );
        }
    }
    // the suites and the examples that need the sandbox say so
    let needs = |table: &str, name: &str| {
        let t = m[table]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"].as_str() == Some(name))
            .unwrap_or_else(|| panic!("[[{table}]] {name}"));
        let req: Vec<&str> = t
            .get("required-features")
            .and_then(|r| r.as_array())
            .map(|r| r.iter().filter_map(|v| v.as_str()).collect())
            .unwrap_or_default();
        assert_eq!(req, ["test-world"], "[[{table}]] {name}");
    };
    needs("test", "it");
    needs("example", "bench");
    needs("example", "crashes");
}
