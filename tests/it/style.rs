//! How the suites are written, checked by reading them: a rule a review
//! would otherwise have to remember fails `cargo test` here.

use std::path::{Path, PathBuf};

fn suites() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .collect();
    v.sort();
    v
}

/// The start of a forge API path as a suite would write it by hand:
/// Gitea's and GitHub's `/repos/…`, GitLab's `/projects/…`, an API root
/// (`/api/v1/…`, `/api/v3/…`, `/api/v4/…`; Kubernetes's own
/// `/api/v1/namespaces` is not a forge's) or an item's path filled in by
/// `format!` (`/issues/{n}`, `/pulls/{n}`, `/merge_requests/{n}`).
fn forge_path(code: &str) -> Option<&'static str> {
    const STARTS: [&str; 8] = [
        "/repos/",
        "/projects/",
        "/api/v1/",
        "/api/v3/",
        "/api/v4/",
        "/issues/{",
        "/pulls/{",
        "/merge_requests/{",
    ];
    STARTS.into_iter().find(|s| {
        code.match_indices(s)
            .any(|(i, _)| !code[i + s.len()..].starts_with("namespaces"))
    })
}

/// The forge paths a suite writes by hand on purpose, because the literal
/// is the point of its test (a hostile URL the forge sends, not a path afk
/// calls): (file, the line's exact text, trimmed). Each carries a comment
/// above it saying so; an entry whose line is gone fails, so none outlives
/// its line. The contract suites are not here: they check the literal
/// documented paths against `../shared/contracts` on purpose.
const HOSTILE: [(&str, &str); 1] = [(
    "hardening.rs",
    r#""{}/repos/acme/{climb}/{climb}/{climb}/_hooks/leaked?page=2","#,
)];

/// Issue "Structure VI", item 3: the suites name a forge's API paths
/// through the one dialect table (`support::Plays`, `support::Paths`),
/// never a dialect's path themselves, so a suite that plays on several
/// dialects asks each its own; the contract suites, which check literal
/// documented paths, and this file (which names them to look for them)
/// aside.
#[test]
fn the_suites_name_forge_paths_through_the_dialect_table() {
    let mut found: Vec<String> = vec![];
    let mut unused: Vec<(&str, &str)> = HOSTILE.to_vec();
    for p in suites() {
        let name = p.file_name().unwrap().to_str().unwrap().to_string();
        if name.starts_with("contract") || name == "style.rs" {
            continue;
        }
        let text = std::fs::read_to_string(&p).unwrap();
        for (i, l) in text.lines().enumerate() {
            let line = l.trim();
            let Some(s) = forge_path(line).filter(|_| !line.starts_with("//")) else {
                continue;
            };
            if HOSTILE.contains(&(name.as_str(), line)) {
                unused.retain(|h| *h != (name.as_str(), line));
            } else {
                found.push(format!("{name}:{}: {s} in {line}", i + 1));
            }
        }
    }
    assert!(
        found.is_empty(),
        "forge paths written by hand (name them through support/paths.rs, \
         or, a hostile literal that is the test's point, in HOSTILE): {found:#?}"
    );
    assert!(
        unused.is_empty(),
        "HOSTILE names lines no suite has any more: {unused:?}"
    );
}

/// The scan sees a path written by hand, and not Kubernetes's API or one
/// built through the table.
#[test]
fn the_forge_path_scan_sees_what_it_looks_for() {
    for (code, seen) in [
        (r#"sb.api("/repos/acme/api/issues/1")"#, Some("/repos/")),
        (r#"let p = "/api/v1/repos/acme/api";"#, Some("/repos/")),
        (r#"format!("{url}/api/v4/user")"#, Some("/api/v4/")),
        (r#"ends_with(&format!("/pulls/{pr}"))"#, Some("/pulls/{")),
        (r#"format!("/projects/{id}/issues")"#, Some("/projects/")),
        (r#"format!("{}/k8s/api/v1/namespaces/afk", u)"#, None),
        (r#"sb.api(&sb.dialect.issue_path("acme/api", 1))"#, None),
        (
            r#"sb.faults(json!([{"path": "/issues", "status": 500}]))"#,
            None,
        ),
    ] {
        assert_eq!(forge_path(code), seen, "{code}");
    }
}
