use super::*;

fn specs(kind: Manifest, text: &str) -> Vec<(String, Vec<String>)> {
    parse(kind, text)
        .unwrap()
        .into_iter()
        .map(|(n, s)| (n, s.into_iter().collect()))
        .collect()
}

fn one(name: &str, spec: &str) -> (String, Vec<String>) {
    (name.to_string(), vec![spec.to_string()])
}

#[test]
fn every_manifest_declares_its_dependencies_with_their_specifiers_at_any_section() {
    let pkg = r#"{"name": "app", "dependencies": {"left-pad-ng": "^1.3.1"},
        "devDependencies": {"@scope/x": "=2.0.0"}, "optionalDependencies": {"o": "1.0.0"},
        "peerDependencies": {"p": "*"}, "overrides": {"a@^1": {"b": "1.0.0", ".": "2.0.0"}},
        "resolutions": {"**/c/@s/d": "3.0.0"}}"#;
    assert_eq!(
        specs(Manifest::PackageJson, pkg),
        vec![
            one("@s/d", "3.0.0"),
            one("@scope/x", "=2.0.0"),
            one("a", "2.0.0"),
            one("b", "1.0.0"),
            one("left-pad-ng", "^1.3.1"),
            one("o", "1.0.0"),
            one("p", "*"),
        ]
    );
    let py = r#"
[project]
dependencies = ["Requests[socks] >=2.31 ; python_version > '3.8'", "Evil_Pkg==1.0"]
[project.optional-dependencies]
web = ["flask @ https://example.invalid/flask.tar.gz"]
[dependency-groups]
dev = ["pytest==8.0.0", {include-group = "web"}]
[tool.poetry.dependencies]
python = "^3.9"
fancy = {git = "https://example.invalid/fancy.git"}
[tool.poetry.group.test.dependencies]
hyp = "6.0"
"#;
    assert_eq!(
        specs(Manifest::Pyproject, py),
        vec![
            one("evil-pkg", "==1.0"),
            one("fancy", "git=https://example.invalid/fancy.git"),
            one("flask", "@ https://example.invalid/flask.tar.gz"),
            one("hyp", "6.0"),
            one("pytest", "==8.0.0"),
            one("requests", ">=2.31"),
        ]
    );
    let cargo = r#"
[dependencies]
serde = "1"
bytes = { version = "=1.5.0", features = ["x"] }
mine = { path = "../../outside" }
[target.'cfg(unix)'.dev-dependencies]
libc = "0.2"
[workspace.dependencies]
renamed = { package = "real", version = "2" }
[patch.crates-io]
serde = { git = "https://example.invalid/serde" }
"#;
    assert_eq!(
        specs(Manifest::CargoToml, cargo),
        vec![
            one("bytes", "=1.5.0"),
            one("libc", "0.2"),
            one("mine", "path=../../outside"),
            one("real", "2"),
            (
                "serde".into(),
                vec![
                    "1".into(),
                    "replaced by [patch.crates-io] git=https://example.invalid/serde".into()
                ]
            ),
        ]
    );
    let gomod = "module example.com/app\n\ngo 1.22\n\nrequire golang.org/x/text v0.14.0\n\
                 require (\n\tgithub.com/a/b v1.2.3 // indirect\n)\n\
                 replace github.com/a/b => github.com/evil/b v1.2.4\n\
                 replace (\n\tgithub.com/c/d => ../../d\n)\n";
    assert_eq!(
        specs(Manifest::GoMod, gomod),
        vec![
            (
                "github.com/a/b".into(),
                vec![
                    "replaced by github.com/evil/b v1.2.4".into(),
                    "v1.2.3".into()
                ]
            ),
            one("github.com/c/d", "replaced by ../../d"),
            one("golang.org/x/text", "v0.14.0"),
        ]
    );
}

#[test]
fn a_manifest_afk_cannot_read_says_why_and_never_passes() {
    let cases = [
        (Manifest::PackageJson, "{not json"),
        (Manifest::PackageJson, r#"{"dependencies": {"a": 1}}"#),
        (Manifest::PackageJson, r#"{"dependencies": ["a"]}"#),
        (
            Manifest::PackageJson,
            r#"{"dependencies": {"a\u0007": "1"}}"#,
        ),
        (Manifest::Pyproject, "[project\ndependencies = 1"),
        (Manifest::Pyproject, "[project]\ndependencies = \"a\""),
        (Manifest::CargoToml, "[dependencies]\na = 1"),
        (Manifest::GoMod, "require github.com/a/b\n"),
        (Manifest::GoMod, "replace github.com/a/b v1\n"),
    ];
    for (kind, text) in cases {
        assert!(parse(kind, text).is_err(), "{kind:?} {text}");
    }
    // nested past what afk walks
    let deep = format!(
        "{{\"overrides\": {}{{\"x\": \"1\"}}{}}}",
        "{\"a\": ".repeat(40),
        "}".repeat(40)
    );
    assert!(parse(Manifest::PackageJson, &deep).is_err());
}

#[test]
fn a_specifier_is_checked_against_the_advisories_only_where_it_names_one_version() {
    // (kind, specifier, the one version)
    let cases = [
        (Manifest::PackageJson, "1.3.1", Some("1.3.1")),
        (Manifest::PackageJson, "=1.3.1", Some("1.3.1")),
        (Manifest::PackageJson, "^1.3.1", None),
        (Manifest::PackageJson, "~1.3.1", None),
        (Manifest::PackageJson, "1.x", None),
        (Manifest::PackageJson, "latest", None),
        (Manifest::PackageJson, "1.3.1 || 2.0.0", None),
        (Manifest::Pyproject, "==1.3.1", Some("1.3.1")),
        (Manifest::Pyproject, "===1.3.1", Some("1.3.1")),
        (Manifest::Pyproject, "==1.3.*", None),
        (Manifest::Pyproject, ">=1.3.1", None),
        (Manifest::Pyproject, "==1.0,!=1.0.1", None),
        (Manifest::CargoToml, "=1.3.1", Some("1.3.1")),
        (Manifest::CargoToml, "1.3.1", None),
        (Manifest::CargoToml, "^1.3.1", None),
        (Manifest::GoMod, "v0.14.0", Some("v0.14.0")),
        (Manifest::GoMod, "replaced by github.com/x/y v1.0.0", None),
    ];
    for (kind, spec, want) in cases {
        assert_eq!(exact(kind, spec).as_deref(), want, "{kind:?} {spec}");
    }
}

/// Each row: (kind, manifest path, name, specifier, refused).
fn judge_sources(cases: &[(Manifest, &str, &str, &str, bool)]) {
    for (kind, path, name, spec, refused) in cases {
        assert_eq!(
            foreign_source(*kind, path, name, spec).is_some(),
            *refused,
            "{kind:?} {path} {spec}"
        );
    }
}

#[test]
fn a_dependency_from_anywhere_but_the_registry_is_named_with_why() {
    // (kind, manifest path, name, specifier, refused)
    judge_sources(&[
        (Manifest::PackageJson, "package.json", "a", "^1.0.0", false),
        (Manifest::PackageJson, "package.json", "a", "latest", false),
        (
            Manifest::PackageJson,
            "package.json",
            "a",
            "workspace:*",
            false,
        ),
        (
            Manifest::PackageJson,
            "web/package.json",
            "a",
            "file:../lib",
            false,
        ),
        (
            Manifest::PackageJson,
            "web/package.json",
            "a",
            "file:../../x",
            true,
        ),
        (
            Manifest::PackageJson,
            "package.json",
            "a",
            "npm:evil@1.0.0",
            true,
        ),
        (
            Manifest::PackageJson,
            "package.json",
            "a",
            "git+https://x.invalid/a.git",
            true,
        ),
        (
            Manifest::PackageJson,
            "package.json",
            "a",
            "github:evil/a",
            true,
        ),
        (
            Manifest::PackageJson,
            "package.json",
            "a",
            "evil/a#main",
            true,
        ),
        (
            Manifest::PackageJson,
            "package.json",
            "a",
            "https://x.invalid/a.tgz",
            true,
        ),
        (
            Manifest::PackageJson,
            "package.json",
            "a",
            "NPM:evil@1",
            true,
        ),
        (Manifest::Pyproject, "pyproject.toml", "a", ">=1", false),
        (
            Manifest::Pyproject,
            "pyproject.toml",
            "a",
            "@ https://x.invalid/a.whl",
            true,
        ),
        (
            Manifest::Pyproject,
            "pyproject.toml",
            "a",
            "git=https://x.invalid/a",
            true,
        ),
        (
            Manifest::Pyproject,
            "pyproject.toml",
            "a",
            "path=libs/a",
            false,
        ),
    ]);
}

#[test]
fn a_cargo_or_go_dependency_from_anywhere_but_the_registry_is_named_with_why() {
    judge_sources(&[
        (Manifest::CargoToml, "Cargo.toml", "a", "1", false),
        (
            Manifest::CargoToml,
            "crates/x/Cargo.toml",
            "a",
            "path=../y",
            false,
        ),
        (
            Manifest::CargoToml,
            "crates/x/Cargo.toml",
            "a",
            "path=../../../y",
            true,
        ),
        (
            Manifest::CargoToml,
            "Cargo.toml",
            "a",
            "git=https://x.invalid/a",
            true,
        ),
        (
            Manifest::CargoToml,
            "Cargo.toml",
            "a",
            "registry=other, version=1",
            true,
        ),
        (
            Manifest::CargoToml,
            "Cargo.toml",
            "a",
            "replaced by [patch.crates-io] path=vendor/a",
            true,
        ),
        (Manifest::GoMod, "go.mod", "x.io/a", "v1.0.0", false),
        (
            Manifest::GoMod,
            "go.mod",
            "x.io/a",
            "replaced by x.io/a v1.0.1",
            false,
        ),
        (
            Manifest::GoMod,
            "go.mod",
            "x.io/a",
            "replaced by evil.io/a v1.0.1",
            true,
        ),
        (
            Manifest::GoMod,
            "go.mod",
            "x.io/a",
            "replaced by ./vendor/a",
            false,
        ),
        (
            Manifest::GoMod,
            "go.mod",
            "x.io/a",
            "replaced by ../a",
            true,
        ),
    ]);
}

/// The files that move a dependency to another source beside its manifest
/// (the tenth attacker round's, each pushed before with no line): go.work's
/// `replace` (read as go.mod's: `go help work`), uv's `[tool.uv.sources]`
/// (docs.astral.sh/uv, "Dependency sources": git, url, path, index,
/// workspace). Cargo's `.cargo/config.toml` is a hidden path: protected by
/// the gate's closed-by-default rule before it is read.
#[test]
fn go_work_and_uv_sources_move_a_dependency_and_are_read() {
    assert_eq!(Manifest::of("go.work"), Some(Manifest::GoMod));
    let work = "go 1.22\n\nuse (\n\t./a\n\t./b\n)\n\nreplace golang.org/x/crypto => github.com/evil/crypto v0.1.0\n";
    let got = specs(Manifest::GoMod, work);
    assert_eq!(
        got,
        vec![one(
            "golang.org/x/crypto",
            "replaced by github.com/evil/crypto v0.1.0"
        )]
    );
    assert!(
        foreign_source(
            Manifest::GoMod,
            "go.work",
            "golang.org/x/crypto",
            &got[0].1[0]
        )
        .is_some()
    );
    let uv = "[project]\nname = \"app\"\ndependencies = [\"httpx>=0.27\"]\n\n[tool.uv.sources]\nhttpx = { git = \"https://evil.example/httpx\" }\nlocal = { workspace = true }\nmine = { path = \"packages/mine\" }\nfrom-index = { index = \"evil\" }\n";
    let got = specs(Manifest::Pyproject, uv);
    let of = |name: &str| {
        got.iter()
            .find(|(n, _)| n == name)
            .map(|(_, s)| s.clone())
            .unwrap()
    };
    // (name, refused)
    for (name, refused) in [
        ("httpx", true),
        ("local", false),
        ("mine", false),
        ("from-index", true),
    ] {
        let any = of(name).iter().any(|spec| {
            foreign_source(Manifest::Pyproject, "pyproject.toml", name, spec).is_some()
        });
        assert_eq!(any, refused, "{name}: {:?}", of(name));
    }
}
