//! The adapters and the commands: no command builds an adapter or names
//! another command, the network adapters name no store, one HTTP client, and
//! no branch on the forge kind.

use std::path::{Path, PathBuf};

use super::{graph, is_layers, production_code, production_lines, rust_files};

/// code outside `#[cfg(test)]` modules and comments (the shared test
/// helpers, `testing.rs`, and test files are left out).
fn command_files() -> Vec<(PathBuf, String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/commands");
    let mut files = vec![];
    rust_files(&dir, &mut files);
    let mut out = vec![];
    for f in files {
        let rel = f.strip_prefix(&dir).unwrap().to_path_buf();
        let name = rel.file_name().unwrap().to_string_lossy().to_string();
        if rel.to_str() == Some("mod.rs") || name == "testing.rs" || name == "tests.rs" {
            continue;
        }
        let command = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_string();
        let text = std::fs::read_to_string(&f).unwrap();
        let code = production_code(&text);
        out.push((rel, command, code));
    }
    out
}

/// The ways to build an adapter or open the store: the session's, not a
/// command's (`session.rs`).
const ADAPTER_BUILDERS: [&str; 12] = [
    "Store::open",
    "Store::copy_in_memory",
    "edges::build",
    "edges::forge(",
    "edges::local(",
    "edges::files(",
    "forges::",
    "runner::from_config",
    "Git::new(",
    "OciRegistry::new(",
    "KubernetesRunner::new(",
    "Notifier::new(",
];

/// What a command file says that breaks `rule` (`wrong`: the words that do).
fn breaking(wrong: impl Fn(&str, &str) -> Vec<String>) -> Vec<String> {
    command_files()
        .into_iter()
        .flat_map(|(rel, command, code)| {
            wrong(&command, &code)
                .into_iter()
                .map(move |w| format!("{}: {w}", rel.display()))
        })
        .collect()
}

fn builders_in(code: &str) -> Vec<String> {
    ADAPTER_BUILDERS
        .iter()
        .filter(|b| code.contains(**b))
        .map(|b| b.to_string())
        .collect()
}

#[test]
fn no_command_builds_an_adapter_or_opens_the_store() {
    let wrong = breaking(|_, code| builders_in(code));
    assert!(
        wrong.is_empty(),
        "a command builds its own adapter (ask the Session): {wrong:#?}"
    );
}

#[test]
fn the_adapter_rule_sees_a_command_opening_the_store() {
    let code = "let s = crate::store::Store::open(ctx.state_path())?;\nlet f = s.forge()?;";
    assert_eq!(builders_in(code), ["Store::open"]);
    assert!(builders_in("let s = ctx.read_store()?;").is_empty());
}

/// The commands a command may name: its own (the demo drives the ticks
/// through `ops`, like any other entry point).
fn may_name(command: &str, other: &str) -> bool {
    other == command || other == "testing"
}

/// The other commands a command file names (`crate::commands::x`, or a
/// `super::` that climbs to `commands/`).
fn commands_named(rel: &Path, command: &str, code: &str) -> Vec<String> {
    let depth = rel.components().count() - usize::from(rel.ends_with("mod.rs"));
    let climb = match depth {
        1 => "super::",
        _ => "super::super::",
    };
    let mut named = vec![];
    for way in ["crate::commands::", climb] {
        let mut rest = code;
        while let Some(i) = rest.find(way) {
            let before = rest[..i].chars().last();
            rest = &rest[i + way.len()..];
            // `super::super::x` also contains `super::x`: count it once
            if way == "super::" && before == Some(':') {
                continue;
            }
            let m: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            // `super::X` of a type or function in commands/mod.rs is no command
            if !m.is_empty()
                && m.chars().next().unwrap().is_ascii_lowercase()
                && !may_name(command, &m)
            {
                named.push(m);
            }
        }
    }
    named
}

#[test]
fn a_command_names_no_other_command() {
    let wrong: Vec<String> = command_files()
        .into_iter()
        .flat_map(|(rel, command, code)| {
            commands_named(&rel, &command, &code)
                .into_iter()
                .map(move |m| format!("{} names commands::{m}", rel.display()))
        })
        .collect();
    assert!(
        wrong.is_empty(),
        "a command climbs into another (shared code belongs outside commands/): {wrong:#?}"
    );
}

#[test]
fn the_climb_rule_sees_a_sibling_named_either_way() {
    let cases = [
        (
            "watch/mod.rs",
            "watch",
            "super::poll::recover(x)",
            vec!["poll"],
        ),
        (
            "watch/act.rs",
            "watch",
            "super::super::poll::recover(x)",
            vec!["poll"],
        ),
        ("watch/act.rs", "watch", "super::talk::say(x)", vec![]),
        (
            "runs.rs",
            "runs",
            "crate::commands::status::age(x)",
            vec!["status"],
        ),
        ("demo/mod.rs", "demo", "super::poll::tick(x)", vec!["poll"]),
        ("demo/mod.rs", "demo", "crate::ops::poll::tick(x)", vec![]),
    ];
    for (rel, command, code, want) in cases {
        assert_eq!(
            commands_named(Path::new(rel), command, code),
            want,
            "{rel}: {code}"
        );
    }
}

/// The adapters that talk to the world name neither the state file nor a
/// command: the store is handed its caches' ports by the edges (the compiler
/// already stops the store naming them, and the client naming the store:
/// `afk-store` and `afk-http` cannot see the binary or each other).
#[test]
fn the_network_adapters_name_no_store_and_no_command() {
    let g = graph();
    let mut wrong = vec![];
    // (the registry and git are crates of their own: their manifests keep this)
    for adapter in ["runner"] {
        for above in ["store", "commands", "edges", "lessons", "metrics", "notify"] {
            if g.get(adapter).is_some_and(|d| d.contains(above)) {
                wrong.push(format!("{adapter} -> {above}"));
            }
        }
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = vec![];
        let dir = src.join(adapter);
        if dir.is_dir() {
            rust_files(&dir, &mut files);
        } else {
            files.push(src.join(format!("{adapter}.rs")));
        }
        for f in files {
            if std::fs::read_to_string(&f).unwrap().contains("afk_store") {
                wrong.push(format!("{} names afk_store", f.display()));
            }
        }
    }
    assert!(wrong.is_empty(), "wrong-way imports: {}", wrong.join(", "));
}

/// The binary's and every crate's source files.
fn every_source_file() -> Vec<std::path::PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![];
    rust_files(&root.join("src"), &mut files);
    for c in std::fs::read_dir(root.join("crates")).unwrap().flatten() {
        rust_files(&c.path().join("src"), &mut files);
    }
    files
}

/// One client: every outbound HTTP call starts from `client::builder` (afk-http;
/// afk's user agent, no redirects followed), so no other file builds a ureq agent
/// or calls ureq's one-shot functions, which would follow redirects.
#[test]
fn only_the_client_builds_an_http_agent() {
    let files = every_source_file();
    let ways = [
        "ureq::AgentBuilder",
        "ureq::agent(",
        "ureq::builder(",
        "ureq::get(",
        "ureq::post(",
        "ureq::put(",
        "ureq::delete(",
        "ureq::patch(",
        "ureq::head(",
        "ureq::request(",
        "ureq::request_url(",
    ];
    let mut wrong = vec![];
    for f in files {
        if f.ends_with("crates/afk-http/src/client.rs") || is_layers(&f) {
            continue;
        }
        let text = std::fs::read_to_string(&f).unwrap();
        let code: String = text
            .lines()
            .map(|l| l.split("//").next().unwrap_or(""))
            .collect();
        for way in ways.iter().filter(|w| code.contains(**w)) {
            wrong.push(format!("{}: {way}", f.display()));
        }
    }
    assert!(
        wrong.is_empty(),
        "an HTTP agent built outside client.rs: {}",
        wrong.join(", ")
    );
}

/// One client, by name too: outside afk-http (and the sandbox, the fake
/// forge, which is no part of afk's own calls) no production file names
/// `ureq`: what afk holds of a call (an agent, an answer, a failure) is
/// afk-http's `client::{Agent, Response, Error, …}`.
#[test]
fn no_file_but_the_clients_names_ureq() {
    let mut wrong = vec![];
    for f in every_source_file() {
        let fake = f.to_string_lossy().contains("crates/afk-sandbox/");
        if f.to_string_lossy().contains("crates/afk-http/") || fake || is_layers(&f) {
            continue;
        }
        let text = std::fs::read_to_string(&f).unwrap();
        let named = production_lines(&text)
            .iter()
            .any(|(_, l)| l.contains("ureq::") || l.contains("use ureq"));
        if named {
            wrong.push(f.display().to_string());
        }
    }
    assert!(
        wrong.is_empty(),
        "ureq named outside afk-http: {}",
        wrong.join(", ")
    );
}

/// The lines of `code` (comments and every `#[cfg(test)]` item left out)
/// that branch on a forge kind: `ForgeKind::` named anywhere but as a value
/// given (`kind: ForgeKind::…`).
fn kind_branches(code: &str) -> Vec<String> {
    production_lines(code)
        .into_iter()
        .map(|(_, l)| l)
        .filter(|l| l.contains("ForgeKind::") && !l.trim_start().starts_with("kind: ForgeKind::"))
        .map(|l| l.trim().to_string())
        .collect()
}

/// One place describes a forge (issue 48): `afk-forge`'s `profile.rs`. The
/// binary asks `Config::profile` and branches on the kind nowhere.
#[test]
fn the_binary_branches_on_the_forge_kind_nowhere() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![];
    rust_files(&root.join("src"), &mut files);
    let mut wrong = vec![];
    for f in files {
        if is_layers(&f) || f.ends_with("config/tests.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&f).unwrap();
        for l in kind_branches(&text) {
            wrong.push(format!("{}: {l}", f.display()));
        }
    }
    assert!(
        wrong.is_empty(),
        "ask the forge's profile instead: {wrong:#?}"
    );
}

#[test]
fn the_kind_reader_sees_a_comparison_and_a_match_but_not_a_default() {
    let cases = [
        ("if c.forge.kind == ForgeKind::Github {", 1),
        ("match k { ForgeKind::Gitea => 1, _ => 2 }", 1),
        ("            kind: ForgeKind::Gitea,", 0),
        ("// ForgeKind::Github in a comment", 0),
        ("#[cfg(test)]\nmod tests { ForgeKind::Github }", 0),
    ];
    for (code, want) in cases {
        assert_eq!(kind_branches(code).len(), want, "{code}");
    }
}

/// The ticks' operations sit below the commands and above the shared tick
/// code: `ops` names no command, and only the commands (and the binary's
/// entry) name `ops`, so a new entry point (a webhook, the benchmark) calls
/// the operation, never a command.
#[test]
fn the_operations_sit_between_the_commands_and_the_tick() {
    let g = graph();
    let mut wrong = vec![];
    if g.get("ops").is_some_and(|d| d.contains("commands")) {
        wrong.push("ops -> commands".to_string());
    }
    for (m, named) in &g {
        if m != "commands" && m != "ops" && named.contains("ops") {
            wrong.push(format!("{m} -> ops"));
        }
    }
    assert!(wrong.is_empty(), "an arrow across the ops layer: {wrong:?}");
}

/// The lines of `code` (comments and every `#[cfg(test)]` item left out)
/// that branch on the runner's kind or the workspace mode: `RunnerKind::` or
/// `Workspace::` named, the mode read (`.workspace()`), or `runner.kind`
/// compared or matched. Handing the kind on as a value
/// (`runner_kind: cfg.runner.kind,`) is no branch.
fn mode_branches(code: &str) -> Vec<String> {
    let branches = |l: &str| {
        ["RunnerKind::", "Workspace::", ".workspace()"]
            .iter()
            .any(|w| l.contains(w))
            || l.contains("runner.kind ==")
            || l.contains("runner.kind !=")
            || (l.contains("match ") && l.contains("runner.kind"))
    };
    production_lines(code)
        .into_iter()
        .map(|(_, l)| l)
        .filter(|l| branches(l))
        .map(|l| l.trim().to_string())
        .collect()
}

/// Structure VI: no command and no operation branches on the workspace mode
/// or the runner kind; they ask the edge what it can do (`Checkouts::afks`,
/// `Runner::looks_locally`, doctor's `runner::checks::Checks`).
#[test]
fn no_command_or_operation_branches_on_the_runner_kind_or_the_workspace_mode() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = vec![];
    rust_files(&src.join("commands"), &mut files);
    rust_files(&src.join("ops"), &mut files);
    let mut wrong = vec![];
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for l in mode_branches(&text) {
            wrong.push(format!("{}: {l}", f.strip_prefix(&src).unwrap().display()));
        }
    }
    assert!(
        wrong.is_empty(),
        "ask the edge (Checkouts, Runner, runner::checks) what it can do: {wrong:#?}"
    );
}

#[test]
fn the_mode_reader_sees_a_comparison_and_a_match_but_not_a_value_given() {
    let cases = [
        (
            "if c.runner.kind == crate::config::RunnerKind::Command {",
            1,
        ),
        ("if c.runner.kind != kind {", 1),
        ("match cfg.runner.kind { k => k }", 1),
        ("if c.runner.workspace() != afk {", 1),
        ("let afk = Workspace::Afk;", 1),
        ("        runner_kind: cfg.runner.kind,", 0),
        ("say(\"runner.kind = \\\"kubernetes\\\"\");", 0),
        ("// RunnerKind::Command in a comment", 0),
        ("#[cfg(test)]\nmod tests { RunnerKind::Http }", 0),
    ];
    for (code, want) in cases {
        assert_eq!(mode_branches(code).len(), want, "{code}");
    }
}
