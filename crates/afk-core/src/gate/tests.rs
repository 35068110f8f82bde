use super::*;

#[test]
fn a_glob_matches_whole_paths_from_the_root_star_within_a_segment_and_doublestar_over_segments() {
    // (glob, path, matches)
    let cases = [
        (".github/workflows/**", ".github/workflows/ci.yml", true),
        (".github/workflows/**", ".github/workflows/sub/x.yml", true),
        (".github/workflows/**", ".github/workflowsx/ci.yml", false),
        (
            ".github/workflows/**",
            "src/.github/workflows/ci.yml",
            false,
        ),
        ("CODEOWNERS", "CODEOWNERS", true),
        ("CODEOWNERS", "src/CODEOWNERS", false),
        // any letter case, trailing dots and spaces, as macOS and Windows read a name
        ("CODEOWNERS", "codeowners", true),
        (".github/workflows/**", ".GitHub/Workflows/ci.yml", true),
        (".claude/**", ".claude./settings.json", true),
        (".claude/**", ".Claude. ./settings.json", true),
        (".mcp.json", ".MCP.json", true),
        (".mcp.json", ".mcp.json.", true),
        (".gitattributes", ".Git\u{200c}Attributes", true),
        ("src/*.rs", "SRC/Main.RS", true),
        ("*.lock", "Cargo.lock", true),
        ("*.lock", "sub/Cargo.lock", false),
        ("**/*.lock", "sub/Cargo.lock", true),
        ("**/*.lock", "Cargo.lock", true),
        ("src/?.rs", "src/a.rs", true),
        ("src/?.rs", "src/ab.rs", false),
        ("src/*", "src/a/b.rs", false),
        ("a/**/b", "a/b", true),
        ("a/**/b", "a/x/y/b", true),
        (".gitlab-ci.yml", ".gitlab-ci.yml.bak", false),
    ];
    for (g, p, want) in cases {
        assert_eq!(Glob::parse(g).unwrap().matches(p), want, "{g} {p}");
    }
    for bad in ["", "/abs", "a//b", "a/", "a/**b", "./a", "a/../b", "a\nb"] {
        assert!(Glob::parse(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn the_built_in_set_is_protected_unless_allowed_and_protected_adds_to_it() {
    let p = Policy::of(
        &["deploy/**".into()],
        &[".github/workflows/docs.yml".into()],
        0,
        0,
    )
    .unwrap();
    // (path, protected)
    let cases = [
        (".github/workflows/ci.yml", true),
        (".github/workflows/docs.yml", false),
        (".gitea/workflows/x.yaml", true),
        (".forgejo/workflows/x.yaml", true),
        (".github/actions/a/action.yml", true),
        (".gitlab-ci.yml", true),
        ("CODEOWNERS", true),
        (".github/CODEOWNERS", true),
        ("docs/CODEOWNERS", true),
        (".claude/settings.json", true),
        (".codex/config.toml", true),
        (".mcp.json", true),
        (".gitmodules", true),
        (".gitattributes", true),
        ("deploy/prod.sh", true),
        // names that only look protected
        ("src/CODEOWNERS", false),
        ("docs/workflows/ci.yml", false),
        ("my.gitlab-ci.yml", false),
        // hidden: closed by default
        ("src/.gitattributes.rs", true),
        ("claude/notes.md", false),
        ("src/main.rs", false),
    ];
    for (path, want) in cases {
        assert_eq!(p.protects(path), want, "{path}");
    }
    // allow lifts a path whatever its case, as protection finds it
    let lifted = Policy::of(&[], &[".GitHub/workflows/DOCS.yml".into()], 0, 0).unwrap();
    assert!(!lifted.protects(".github/Workflows/docs.yml."));
    assert!(lifted.protects(".github/workflows/ci.yml"));
    assert!(Policy::of(&["a//b".into()], &[], 0, 0).is_err_and(|(k, _)| k == "protected"));
}

#[test]
fn the_built_in_set_protects_every_family_at_its_depth_and_in_any_case_and_passes_look_alikes() {
    let p = Policy::of(&[], &[], 0, 0).unwrap();
    // (path, protected)
    let cases = [
        // the CI servers beside the forge
        (".drone.yml", true),
        (".drone.yaml", true),
        (".drone.star", true),
        (".woodpecker.yml", true),
        (".woodpecker/build.yaml", true),
        ("Jenkinsfile", true),
        (".circleci/config.yml", true),
        ("azure-pipelines.yml", true),
        (".azure-pipelines/x.yml", true),
        (".travis.yml", true),
        (".buildkite/pipeline.yml", true),
        ("bitbucket-pipelines.yml", true),
        (".gitlab/ci/deploy.yml", true),
        // the agents' configuration
        (".cursor/rules/a.mdc", true),
        (".gemini/settings.json", true),
        (".github/hooks/pre.json", true),
        // what steers the next agent, at any depth
        ("AGENTS.md", true),
        ("src/deep/AGENTS.md", true),
        ("AGENTS.override.md", true),
        ("CLAUDE.md", true),
        ("web/CLAUDE.local.md", true),
        ("GEMINI.md", true),
        (".github/copilot-instructions.md", true),
        (".github/instructions/rust.instructions.md", true),
        (".github/prompts/x.prompt.md", true),
        (".cursorrules", true),
        (".windsurfrules", true),
        // what runs on a person's machine
        (".husky/pre-commit", true),
        (".pre-commit-config.yaml", true),
        (".devcontainer/devcontainer.json", true),
        (".devcontainer.json", true),
        (".vscode/tasks.json", true),
        (".envrc", true),
        ("sub/.envrc", true),
        // git's own files, at any depth
        ("src/.gitattributes", true),
        (".lfsconfig", true),
        // case and trailing-dot variants
        (".Claude/settings.json", true),
        (".MCP.json", true),
        (".GitAttributes", true),
        (".GitHub/Workflows/release.yml", true),
        ("src/agents.MD", true),
        (".DRONE.yml.", true),
        ("jenkinsfile ", true),
        // look-alikes, forwarded
        ("docs/drone.md", false),
        ("src/jenkins_client.py", false),
        ("envrc.example", false),
        ("README.md", false),
        ("docs/AGENTS.md.txt", false),
        ("src/Jenkinsfile", false),
        ("vscode/settings.json", false),
        // hidden, so protected now whatever the name (closed by default)
        (".github/ISSUE_TEMPLATE/bug.md", true),
        (".gitlab/issue_templates/bug.md", true),
        ("src/.drone.yml", true),
    ];
    for (path, want) in cases {
        assert_eq!(p.protects(path), want, "{path}");
    }
}

#[test]
fn a_turn_is_refused_for_each_protected_path_any_commit_touched_and_for_the_runs_size() {
    let p = Policy::of(&[], &[], 3, 1000).unwrap();
    let commit = |short: &str, changes: &[(Did, &str)]| Commit {
        short: short.into(),
        changes: changes.iter().map(|(d, p)| (*d, p.to_string())).collect(),
    };
    // a later revert does not clear the earlier commit
    let commits = [
        commit(
            "aaa111",
            &[
                (Did::Modified, ".github/workflows/ci.yml"),
                (Did::Added, "src/a.rs"),
            ],
        ),
        commit("bbb222", &[(Did::Modified, ".github/workflows/ci.yml")]),
    ];
    let small = RunChange {
        paths: vec!["src/a.rs".into()],
        files: 1,
        bytes: 10,
        largest: vec![],
    };
    let r = judge(&p, &commits, &small, &[]);
    assert_eq!(
        r,
        vec![Reason::Protected {
            path: ".github/workflows/ci.yml".into(),
            did: vec![Did::Modified],
            commits: vec!["aaa111".into(), "bbb222".into()]
        }]
    );
    let text = lines(&r).join("\n");
    assert!(
        text.contains(
            "protected path `.github/workflows/ci.yml`: modified by commits `aaa111`, `bbb222`"
        ),
        "{text}"
    );
    // benign work passes
    assert!(
        judge(
            &p,
            &[commit("ccc333", &[(Did::Added, "src/b.rs")])],
            &small,
            &[]
        )
        .is_empty()
    );
    // the run's size, whatever the turn's
    let big = RunChange {
        paths: (0..4).map(|i| format!("f{i}")).collect(),
        files: 4,
        bytes: 3 << 20,
        largest: vec![("big.bin".into(), 3 << 20)],
    };
    let r = judge(&p, &[], &big, &[]);
    let text = lines(&r).join("\n");
    assert!(
        text.contains("the run changes 4 paths (`gate.max_files` = 3)"),
        "{text}"
    );
    assert!(
        text.contains("the run's patch is 3.0 MiB (`gate.max_bytes` = 1000 bytes)"),
        "{text}"
    );
    // limits of 0 are none
    assert!(judge(&Policy::of(&[], &[], 0, 0).unwrap(), &[], &big, &[]).is_empty());
}

#[test]
fn a_new_dependency_version_listed_as_malware_or_high_refuses_and_an_unmoved_one_does_not() {
    use crate::gate::deps::{Lockfile, Moved};
    let mut ix = crate::gate::osv::Index::default();
    for r in [
        r#"{"id": "MAL-1", "affected": [{"package": {"ecosystem": "npm", "name": "evil"}, "versions": ["1.0.0"]}]}"#,
        r#"{"id": "GHSA-h", "database_specific": {"severity": "HIGH"}, "affected": [{"package": {"ecosystem": "crates.io", "name": "bytes"}, "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.5.1"}]}]}]}"#,
        r#"{"id": "GHSA-l", "database_specific": {"severity": "LOW"}, "affected": [{"package": {"ecosystem": "crates.io", "name": "log"}, "versions": ["0.4.0"]}]}"#,
    ] {
        ix.add(r).unwrap();
    }
    let p = Policy::of(&[], &[], 0, 0)
        .unwrap()
        .with_advisories(Some(crate::gate::osv::Shared::of(ix)));
    let moved = |pairs: &[(&str, Moved)]| {
        pairs
            .iter()
            .map(|(n, m)| (n.to_string(), m.clone()))
            .collect::<Vec<_>>()
    };
    let v = |x: &[&str]| x.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    type Case<'a> = (Lockfile, Vec<(String, Moved)>, Vec<&'a str>);
    let cases: Vec<Case> = vec![
        (
            Lockfile::NpmLock,
            moved(&[("evil", Moved::Added(v(&["1.0.0"])))]),
            vec!["MAL-1 (malware)"],
        ),
        (
            Lockfile::Cargo,
            moved(&[("bytes", Moved::Changed(v(&["1.4.0"]), v(&["1.5.0"])))]),
            vec!["GHSA-h (HIGH, fixed in 1.5.1)"],
        ),
        (
            Lockfile::Cargo,
            moved(&[("bytes", Moved::Changed(v(&["1.4.0"]), v(&["1.5.1"])))]),
            vec![],
        ),
        // a vulnerable version already there, left where it is
        (
            Lockfile::Cargo,
            moved(&[(
                "bytes",
                Moved::Changed(v(&["1.4.0"]), v(&["1.4.0", "1.5.1"])),
            )]),
            vec![],
        ),
        (
            Lockfile::Cargo,
            moved(&[("bytes", Moved::Removed(v(&["1.4.0"])))]),
            vec![],
        ),
        // LOW refuses nothing
        (
            Lockfile::Cargo,
            moved(&[("log", Moved::Added(v(&["0.4.0"])))]),
            vec![],
        ),
    ];
    for (kind, m, want) in cases {
        let deps = new_deps("Cargo.lock", kind, &m);
        let r = judge(&p, &[], &RunChange::default(), &deps);
        let got: Vec<String> = r
            .iter()
            .flat_map(|r| match r {
                Reason::Advisory { hits, .. } => hits.iter().map(|h| h.label()).collect(),
                _ => vec![],
            })
            .collect();
        assert_eq!(got, want, "{m:?}");
        if !want.is_empty() {
            let l = lines(&r);
            assert!(l[0].starts_with("- dependency `"), "{l:?}");
        }
    }
    // without an advisories folder, nothing is checked
    let none = Policy::of(&[], &[], 0, 0).unwrap();
    let deps = new_deps(
        "package-lock.json",
        Lockfile::NpmLock,
        &moved(&[("evil", Moved::Added(v(&["1.0.0"])))]),
    );
    assert!(judge(&none, &[], &RunChange::default(), &deps).is_empty());
}

#[test]
fn each_kind_of_refusal_has_its_own_remedy_and_only_a_protected_path_is_offered_allow() {
    let protected = Reason::Protected {
        path: ".github/workflows/ci.yml".into(),
        did: vec![Did::Modified],
        commits: vec!["aaa111".into()],
    };
    let files = Reason::TooManyFiles {
        files: 4,
        max: 3,
        paths: vec!["src/a.rs".into()],
    };
    let large = Reason::TooLarge {
        bytes: 3 << 20,
        max: 1000,
        largest: vec![("big.bin".into(), 3 << 20)],
    };
    let advisory = Reason::Advisory {
        dep: NewDep {
            path: "package-lock.json".into(),
            ecosystem: crate::gate::deps::Ecosystem::Npm,
            name: "evil".into(),
            version: "1.0.0".into(),
        },
        hits: vec![crate::gate::osv::Hit {
            id: "MAL-1".into(),
            malware: true,
            severity: crate::gate::osv::Severity::Unknown,
            fixed: None,
        }],
    };
    let unread_turn = Reason::Unread(Unread::Turn {
        what: "the run's patch",
        why: "longer than the 16 MiB afk reads of it".into(),
    });
    let unread_file = Reason::Unread(Unread::File {
        path: "web/package-lock.json".into(),
        why: "not JSON".into(),
    });
    let [p, s, a, u] = [
        Kind::Protected.remedy(),
        Kind::Size.remedy(),
        Kind::Advisory.remedy(),
        Kind::Unread.remedy(),
    ];
    // (reasons, the remedies said, in order)
    let cases: Vec<(Vec<Reason>, Vec<&str>)> = vec![
        (vec![], vec![]),
        (vec![protected.clone()], vec![p]),
        (vec![files.clone()], vec![s]),
        (vec![large.clone()], vec![s]),
        // one sentence per kind, however many reasons of it
        (vec![large.clone(), files.clone()], vec![s]),
        (vec![advisory.clone()], vec![a]),
        (vec![unread_turn.clone()], vec![u]),
        (vec![unread_file.clone()], vec![u]),
        (vec![unread_turn.clone(), unread_file.clone()], vec![u]),
        // a stable order, whatever the reasons' order
        (
            vec![
                unread_file.clone(),
                advisory.clone(),
                large.clone(),
                protected.clone(),
            ],
            vec![p, s, a, u],
        ),
        // a Job's line in words afk does not write says no kind
        (vec![Reason::Reported("- something else".into())], vec![]),
    ];
    for (reasons, want) in cases {
        assert_eq!(remedies(&reasons), want, "{reasons:?}");
    }
    // a Kubernetes Job's reported lines are the same words: the same remedies
    for r in [protected, files, large, advisory, unread_turn, unread_file] {
        let one = std::slice::from_ref(&r);
        let reported: Vec<Reason> = lines(one).into_iter().map(Reason::Reported).collect();
        assert_eq!(remedies(one).len(), 1, "{r:?}");
        assert_eq!(remedies(&reported), remedies(one), "{r:?}");
    }
    // more protected paths than are named: still one protected path's remedy
    let many: Vec<Reason> = (0..NAMED + 2)
        .map(|i| Reason::Protected {
            path: format!(".github/workflows/{i}.yml"),
            did: vec![Did::Added],
            commits: vec!["aaa111".into()],
        })
        .collect();
    let reported: Vec<Reason> = lines(&many).into_iter().map(Reason::Reported).collect();
    assert_eq!(remedies(&reported), vec![p]);
    // `allow` lifts paths only: offered for a protected path, never else
    assert!(p.contains("`[gate] allow` glob"), "{p}");
    for r in [s, a, u] {
        assert!(!r.contains("allow` glob naming"), "{r}");
    }
    assert!(
        a.contains("fixed version") && a.contains("advisories folder"),
        "{a}"
    );
    assert!(
        s.contains("`gate.max_files`") && s.contains("split the work"),
        "{s}"
    );
    assert!(u.contains("lockfile readable"), "{u}");
}

#[test]
fn the_config_check_judges_the_operators_globs_as_the_policy_does() {
    let cases: Vec<(Vec<String>, Vec<String>)> = vec![
        (vec![], vec![]),
        (
            vec!["deploy/**".into()],
            vec![".github/workflows/docs.yml".into()],
        ),
        (vec!["a//b".into()], vec![]),
        (vec![], vec!["a//b".into()]),
        (vec!["ok/**".into(), "".into()], vec![]),
    ];
    for (protected, allow) in cases {
        let policy = Policy::of(&protected, &allow, 0, 0).map(|_| ());
        let key = |r: Result<(), (String, Invalid)>| r.map_err(|(k, _)| k);
        assert_eq!(
            key(Policy::check(&protected, &allow)),
            key(policy),
            "{protected:?} {allow:?}"
        );
    }
    assert!(Policy::check(&[], &["a//b".into()]).is_err_and(|(k, _)| k == "allow"));
}

/// Where a commit's message resolves work items as it merges (Azure
/// DevOps), a commit that resolves another than the run's own is refused,
/// named with the items; the run's own, and a forge where messages resolve
/// nothing, pass.
#[test]
fn azure_devops_commit_resolving_another_work_item_is_refused() {
    let words = [
        "fix", "fixes", "fixed", "close", "closes", "closed", "resolve", "resolves", "resolved",
    ];
    let azure = Policy::of(&[], &[], 0, 0).unwrap().with_resolving(&words);
    let elsewhere = Policy::of(&[], &[], 0, 0).unwrap();
    // (message, the work items refused; the run's own is 12)
    let cases: [(&str, Vec<u64>); 10] = [
        ("Fixes #12", vec![]),
        ("fix #12: the parser", vec![]),
        ("Fixes #13", vec![13]),
        ("CLOSES #99 and fixes #12", vec![99]),
        ("resolved: #7\n\nfixes #8, Fixes #7", vec![7, 8]),
        ("Refs #13; see #14", vec![]),
        ("prefixes #13", vec![]),
        ("fixes # 13", vec![]),
        ("", vec![]),
        ("Close #120", vec![120]),
    ];
    for (message, want) in cases {
        let got = resolves_others(&azure, 12, "abc1234", message);
        let items = match &got {
            Some(Reason::Resolves { commit, items }) => {
                assert_eq!(commit, "abc1234", "{message:?}");
                items.clone()
            }
            Some(other) => panic!("{message:?}: {other:?}"),
            None => vec![],
        };
        assert_eq!(items, want, "{message:?}");
        assert_eq!(
            resolves_others(&elsewhere, 12, "abc1234", message),
            None,
            "{message:?}: a forge whose commits resolve nothing"
        );
    }
    // the refusal names the commit and the items, never with a `#` that
    // would link one; its remedy is its own, and a Job's line reads the same
    let one = resolves_others(&azure, 12, "abc1234", "Fixes #13").unwrap();
    let two = resolves_others(&azure, 12, "def5678", "fixes #13, closes #14").unwrap();
    let l = lines(&[one.clone(), two.clone()]);
    assert_eq!(
        l[0],
        "- commit `abc1234` resolves work item 13 by its message (a resolution keyword before the number): merged, the forge would move it as afk; a commit may resolve the run's own work item only"
    );
    assert!(
        l[1].starts_with("- commit `def5678` resolves work items 13, 14 by its message")
            && l[1].contains("would move them as afk"),
        "{l:?}"
    );
    assert!(!l.iter().any(|x| x.contains('#')), "{l:?}");
    let r = Kind::Resolves.remedy();
    assert_eq!(remedies(std::slice::from_ref(&one)), vec![r]);
    assert!(r.contains("reword its message") && !r.contains("allow` glob naming"));
    let reported: Vec<Reason> = lines(std::slice::from_ref(&one))
        .into_iter()
        .map(Reason::Reported)
        .collect();
    assert_eq!(remedies(&reported), vec![r]);
}

/// Closed by default: a path with any hidden segment is protected unless its
/// only hidden segment is a plain-content file name; the tool files outside
/// dot-folders that run commands or steer agents are in the built-in set;
/// names are compared after compatibility and case folding, so a lookalike
/// is judged as the name it folds to; `allow` lifts any of it.
#[test]
fn the_gate_is_closed_by_default_for_hidden_paths_tool_files_and_lookalikes() {
    let p = Policy::of(&[], &[], 0, 0).unwrap();
    // (path, protected)
    let cases = [
        // the agent-configuration files round ten pushed
        (".roo/mcp.json", true),
        (".amazonq/mcp.json", true),
        ("opencode.json", true),
        (".zed/settings.json", true),
        (".kiro/hooks/save.kiro.hook", true),
        (".github/agents/fix.agent.md", true),
        (".clinerules", true),
        (".windsurf/rules/a.md", true),
        (".junie/guidelines.md", true),
        // files that run on a person's machine
        ("lefthook.yml", true),
        ("web/lefthook.yaml", true),
        (".githooks/pre-commit", true),
        ("mise.toml", true),
        (".gitpod.yml", true),
        (".tool-versions", true),
        // a link named as a hidden folder is a hidden path itself
        (".github", true),
        // lookalikes folded: a long s, a Kelvin sign, full-width letters
        (".hu\u{17f}ky/pre-commit", true),
        ("AGENT\u{17f}.md", true),
        (".\u{212a}iro/hooks/a.kiro.hook", true),
        ("\u{ff21}GENTS.md", true),
        // plain content, forwarded
        (".gitignore", false),
        ("web/.gitignore", false),
        ("docs/.gitkeep", false),
        (".editorconfig", false),
        (".dockerignore", false),
        ("src/main.rs", false),
        ("docs/guide.md", false),
        // ... but not inside a hidden folder
        (".github/.gitkeep", true),
    ];
    for (path, want) in cases {
        assert_eq!(p.protects(path), want, "{path:?}");
    }
    // the operator's allow lifts a hidden path
    let lifted = Policy::of(&[], &[".github/ISSUE_TEMPLATE/**".into()], 0, 0).unwrap();
    assert!(!lifted.protects(".github/ISSUE_TEMPLATE/bug.md"));
    assert!(lifted.protects(".github/workflows/ci.yml"));
}
