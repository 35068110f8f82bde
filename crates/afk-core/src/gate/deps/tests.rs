//! The lockfiles' readers, each format to its dependencies as its tool installs them.

use super::*;

fn set(pairs: &[(&str, &[&str])]) -> Locked {
    pairs
        .iter()
        .map(|(n, vs)| (n.to_string(), vs.iter().map(|v| v.to_string()).collect()))
        .collect()
}

#[test]
fn every_lockfile_format_is_read_to_its_dependencies() {
    let cargo = "version = 3\n\n[[package]]\nname = \"bytes\"\nversion = \"1.5.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n\n[[package]]\nname = \"mine\"\nversion = \"0.1.0\"\n";
    let npm3 = r#"{"lockfileVersion":3,"packages":{"":{"name":"app"},"node_modules/left-pad":{"version":"1.3.0"},"node_modules/a/node_modules/b":{"version":"2.0.0"},"node_modules/linked":{"link":true}}}"#;
    let npm1 = r#"{"lockfileVersion":1,"dependencies":{"x":{"version":"1.0.0","dependencies":{"y":{"version":"2.0.0"}}}}}"#;
    let req = "Django==4.2.1 \\\n    --hash=sha256:abc\nrequests[socks]===2.31.0 ; python_version > \"3\"\nflask>=2\n# pinned==1\n-r other.txt\nZope.Interface==6.0\n";
    let poetry = "[[package]]\nname = \"Typing_Extensions\"\nversion = \"4.8.0\"\n\n[metadata]\nlock-version = \"2.0\"\n";
    let uv = "[[package]]\nname = \"idna\"\nversion = \"3.6\"\nsource = { registry = \"https://pypi.org/simple\" }\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\nsource = { editable = \".\" }\n";
    let gosum = "golang.org/x/text v0.14.0 h1:abc=\ngolang.org/x/text v0.14.0/go.mod h1:def=\n";
    let cases: Vec<(Lockfile, &str, Locked)> = vec![
        (Lockfile::Cargo, cargo, set(&[("bytes", &["1.5.0"])])),
        (
            Lockfile::NpmLock,
            npm3,
            set(&[("b", &["2.0.0"]), ("left-pad", &["1.3.0"])]),
        ),
        (
            Lockfile::NpmLock,
            npm1,
            set(&[("x", &["1.0.0"]), ("y", &["2.0.0"])]),
        ),
        (
            Lockfile::Requirements,
            req,
            set(&[
                // an include is a source other than the registry
                ("-r", &["an option from its -r"]),
                ("django", &["4.2.1"]),
                ("requests", &["2.31.0"]),
                ("zope-interface", &["6.0"]),
            ]),
        ),
        (
            Lockfile::Poetry,
            poetry,
            set(&[("typing-extensions", &["4.8.0"])]),
        ),
        (Lockfile::Uv, uv, set(&[("idna", &["3.6"])])),
        (
            Lockfile::GoSum,
            gosum,
            set(&[("golang.org/x/text", &["v0.14.0"])]),
        ),
    ];
    for (kind, text, want) in cases {
        assert_eq!(parse(kind, text).unwrap(), want, "{kind:?}");
    }
    assert!(parse(Lockfile::NpmLock, "{not json").is_err());
    assert!(parse(Lockfile::NpmLock, r#"{"lockfileVersion":9}"#).is_err());
    assert_eq!(
        Lockfile::of("web/package-lock.json"),
        Some(Lockfile::NpmLock)
    );
    assert_eq!(
        Lockfile::of("requirements-dev.txt"),
        Some(Lockfile::Requirements)
    );
    // a manifest is read as one, at any depth
    assert_eq!(
        Lockfile::of("src/Cargo.toml"),
        Some(Lockfile::Manifest(
            crate::gate::manifests::Manifest::CargoToml
        ))
    );
    assert_eq!(Lockfile::of("src/Cargo.toml.orig"), None);
}

/// npm installs a `package-lock.json` entry by its `name`, from its
/// `resolved` (npm 11.19.1's `npm ci`, measured by the tenth attacker
/// round on loopback: `node_modules/lodash` with `"name": "evil-pkg"`
/// installs evil-pkg, a `resolved` of another version's tarball installs
/// that version, any URL installs from there): each is read as such.
#[test]
fn an_npm_entry_is_read_as_npm_installs_it() {
    let lock = |entry: &str| {
        format!(
            r#"{{"lockfileVersion":3,"packages":{{"":{{"name":"app"}},"node_modules/lodash":{entry}}}}}"#
        )
    };
    let reg = "https://registry.npmjs.org/lodash/-/lodash-4.17.21.tgz";
    // (entry, what the gate reads)
    let table: Vec<(String, Locked)> = vec![
        // the registry's own tarball of that name and version
        (
            format!(r#"{{"version":"4.17.21","resolved":"{reg}","integrity":"sha512-x"}}"#),
            set(&[("lodash", &["4.17.21"])]),
        ),
        // no resolved (npm fetches the registry's)
        (r#"{"version":"4.17.21"}"#.into(), set(&[("lodash", &["4.17.21"])])),
        // an alias: another package installed under lodash's name
        (
            r#"{"name":"evil-pkg","version":"1.0.0","resolved":"https://registry.npmjs.org/evil-pkg/-/evil-pkg-1.0.0.tgz"}"#.into(),
            set(&[("evil-pkg", &["1.0.0"]), ("lodash", &["1.0.0 from an alias of another package"])]),
        ),
        // another version's tarball under this version
        (
            r#"{"version":"4.17.21","resolved":"https://registry.npmjs.org/lodash/-/lodash-4.17.20.tgz"}"#.into(),
            set(&[("lodash", &["4.17.21 from another version's tarball"])]),
        ),
        // any other URL
        (
            r#"{"version":"4.17.21","resolved":"https://evil.example/l.tgz"}"#.into(),
            set(&[("lodash", &["4.17.21 from a URL other than the registry's tarball"])]),
        ),
    ];
    for (entry, want) in table {
        assert_eq!(
            parse(Lockfile::NpmLock, &lock(&entry)).unwrap(),
            want,
            "{entry}"
        );
    }
    // a scoped package's tarball is named by its unscoped name
    let scoped = r#"{"lockfileVersion":3,"packages":{"node_modules/@a/b":{"version":"1.0.0","resolved":"https://registry.npmjs.org/@a/b/-/b-1.0.0.tgz"}}}"#;
    assert_eq!(
        parse(Lockfile::NpmLock, scoped).unwrap(),
        set(&[("@a/b", &["1.0.0"])])
    );
    // lockfileVersion 1 says an alias in its version
    let v1 = r#"{"lockfileVersion":1,"dependencies":{"lodash":{"version":"npm:evil-pkg@1.0.0"}}}"#;
    assert_eq!(
        parse(Lockfile::NpmLock, v1).unwrap(),
        set(&[
            ("evil-pkg", &["1.0.0"]),
            ("lodash", &["1.0.0 from an alias of another package"])
        ])
    );
}

/// A `[[package]]` table of a TOML lockfile.
fn pkg(body: &str) -> String {
    format!("[[package]]\n{body}\n")
}

/// Each `(kind, text, want)` parsed to `want` (`Err(())`: not read).
fn read_as_its_tool(cases: Vec<(Lockfile, String, Result<Locked, ()>)>) {
    for (kind, text, want) in cases {
        assert_eq!(parse(kind, &text).map_err(|_| ()), want, "{kind:?}: {text}");
    }
}

/// Cargo.lock as cargo reads it (`core/resolver/encode.rs`,
/// `EncodableDependency`): a package with no `source` is a path one, the
/// index names a registry, `git+` a git checkout, `replace` a `[replace]`.
#[test]
fn a_cargo_lock_is_read_to_the_source_cargo_fetches_from() {
    read_as_its_tool(vec![
        (
            Lockfile::Cargo,
            pkg("name = \"a\"\nversion = \"1.0.0\"\nsource = \"sparse+https://index.crates.io/\""),
            Ok(set(&[("a", &["1.0.0"])])),
        ),
        (
            Lockfile::Cargo,
            pkg("name = \"mine\"\nversion = \"0.1.0\""),
            Ok(set(&[])),
        ),
        (
            Lockfile::Cargo,
            pkg("name = \"a\"\nversion = \"1.0.0\"\nsource = \"git+https://x/a#0\""),
            Ok(set(&[("a", &["1.0.0 from a git URL"])])),
        ),
        (
            Lockfile::Cargo,
            pkg("name = \"a\"\nversion = \"1.0.0\"\nsource = \"registry+https://x/index\""),
            Ok(set(&[("a", &["1.0.0 from another registry"])])),
        ),
        (
            Lockfile::Cargo,
            pkg(
                "name = \"a\"\nversion = \"1.0.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\nreplace = \"b 1.0.0\"",
            ),
            Ok(set(&[("a", &["1.0.0 from a [replace] entry"])])),
        ),
        (
            Lockfile::Cargo,
            pkg("name = \"a\"\nversion = \"1.0.0\"\nsource = \"directory+/x\""),
            Ok(set(&[("a", &["1.0.0 from a source afk does not know"])])),
        ),
        // written in any TOML form cargo's parser takes
        (
            Lockfile::Cargo,
            "package = [{ name = 'a', version = '1.0.0', source = 'git+https://x/a#0' }]\n".into(),
            Ok(set(&[("a", &["1.0.0 from a git URL"])])),
        ),
        (Lockfile::Cargo, pkg("name = 1\nversion = \"1\""), Err(())),
        (Lockfile::Cargo, "[[package]\n".into(), Err(())),
    ]);
}

/// poetry.lock as poetry installs from it (`packages/locker.py`,
/// `_get_locked_package`): the package is fetched as its
/// `[package.source]` says, from PyPI without one.
#[test]
fn a_poetry_lock_is_read_to_the_source_poetry_installs_from() {
    read_as_its_tool(vec![
        (
            Lockfile::Poetry,
            pkg("name = \"Req_Uests\"\nversion = \"2.31.0\"\nfiles = []"),
            Ok(set(&[("req-uests", &["2.31.0"])])),
        ),
        (
            Lockfile::Poetry,
            pkg(
                "name = \"a\"\nversion = \"1\"\n\n[package.source]\ntype = \"url\"\nurl = \"https://x/a.tgz\"",
            ),
            Ok(set(&[("a", &["1 from a URL"])])),
        ),
        (
            Lockfile::Poetry,
            pkg(
                "name = \"a\"\nversion = \"1\"\n\n[package.source]\ntype = \"legacy\"\nurl = \"https://x/simple\"\nreference = \"x\"",
            ),
            Ok(set(&[("a", &["1 from another index"])])),
        ),
        (
            Lockfile::Poetry,
            pkg(
                "name = \"a\"\nversion = \"1\"\n\n[package.source]\ntype = \"git\"\nurl = \"https://x/a\"",
            ),
            Ok(set(&[("a", &["1 from a git URL"])])),
        ),
        (
            Lockfile::Poetry,
            pkg(
                "name = \"a\"\nversion = \"1\"\n\n[package.source]\ntype = \"file\"\nurl = \"dist/a.whl\"",
            ),
            Ok(set(&[("a", &["1 from an archive file"])])),
        ),
        (
            Lockfile::Poetry,
            pkg(
                "name = \"lib\"\nversion = \"1\"\n\n[package.source]\ntype = \"directory\"\nurl = \"libs/lib\"",
            ),
            Ok(set(&[])),
        ),
        (
            Lockfile::Poetry,
            pkg(
                "name = \"a\"\nversion = \"1\"\n\n[package.source]\ntype = \"directory\"\nurl = \"../../a\"",
            ),
            Ok(set(&[("a", &["1 from a path outside the repository"])])),
        ),
    ]);
}

/// uv.lock as uv installs from it (`uv-resolver/src/lock/mod.rs`,
/// `SourceWire`): a registry package's files are fetched from the `url`
/// the lock names (`FileLocation::AbsoluteUrl`).
#[test]
fn a_uv_lock_is_read_to_the_source_uv_fetches_from() {
    let ok = "https://files.pythonhosted.org/packages/ab/idna-3.6.tar.gz";
    read_as_its_tool(vec![
        (
            Lockfile::Uv,
            pkg(&format!(
                "name = \"idna\"\nversion = \"3.6\"\nsource = {{ registry = \"https://pypi.org/simple\" }}\nsdist = {{ url = \"{ok}\", hash = \"sha256:0\", size = 1 }}\nwheels = [{{ url = \"{ok}\" }}]"
            )),
            Ok(set(&[("idna", &["3.6"])])),
        ),
        (
            Lockfile::Uv,
            pkg(&format!(
                "name = \"idna\"\nversion = \"3.6\"\nsource = {{ registry = \"https://pypi.org/simple\" }}\nwheels = [{{ url = \"{ok}\" }}, {{ url = \"https://x/idna.whl\" }}]"
            )),
            Ok(set(&[("idna", &["3.6 from a file URL other than PyPI's"])])),
        ),
        (
            Lockfile::Uv,
            pkg(
                "name = \"idna\"\nversion = \"3.6\"\nsource = { registry = \"https://pypi.org/simple\" }\nsdist = { path = \"idna-3.6.tar.gz\" }",
            ),
            Ok(set(&[("idna", &["3.6 from a file path of a local index"])])),
        ),
        (
            Lockfile::Uv,
            pkg("name = \"a\"\nversion = \"1\"\nsource = { registry = \"https://x/simple\" }"),
            Ok(set(&[("a", &["1 from another index"])])),
        ),
        (
            Lockfile::Uv,
            pkg("name = \"a\"\nversion = \"1\"\nsource = { git = \"https://x/a?rev=1#0\" }"),
            Ok(set(&[("a", &["1 from a git URL"])])),
        ),
        (
            Lockfile::Uv,
            pkg("name = \"a\"\nversion = \"1\"\nsource = { url = \"https://x/a.whl\" }"),
            Ok(set(&[("a", &["1 from a URL"])])),
        ),
        (
            Lockfile::Uv,
            pkg("name = \"a\"\nversion = \"1\"\nsource = { path = \"a.whl\" }"),
            Ok(set(&[("a", &["1 from an archive file"])])),
        ),
        (
            Lockfile::Uv,
            pkg("name = \"app\"\nversion = \"1\"\nsource = { virtual = \".\" }"),
            Ok(set(&[])),
        ),
        (
            Lockfile::Uv,
            pkg("name = \"a\"\nversion = \"1\"\nsource = { directory = \"../a\" }"),
            Ok(set(&[("a", &["1 from a path outside the repository"])])),
        ),
        (
            Lockfile::Uv,
            pkg("name = \"a\"\nversion = \"1\"\nsource = { other = \"x\" }"),
            Ok(set(&[("a", &["1 from a source afk does not know"])])),
        ),
        (Lockfile::Uv, pkg("name = \"a\"\nversion = \"1\""), Err(())),
    ]);
}

/// A field a TOML lockfile's tool does not write, added by a turn, leaves
/// the file unread, as npm's does.
#[test]
fn a_toml_lockfile_field_afk_does_not_read_refuses_the_lockfile_when_a_turn_adds_it() {
    let before = "[[package]]\nname = \"a\"\nversion = \"1.0.0\"\nsource = \"sparse+https://index.crates.io/\"\n";
    let after = format!("{before}checksum = \"00\"\n");
    let odd = format!("{before}install-from = \"https://x\"\n");
    let b = parse(Lockfile::Cargo, before).unwrap();
    assert_eq!(
        unread_field(&diff(&b, &parse(Lockfile::Cargo, &after).unwrap())),
        None
    );
    let why = unread_field(&diff(&b, &parse(Lockfile::Cargo, &odd).unwrap()))
        .unwrap()
        .0;
    assert!(why.contains("`install-from`"), "{why}");
}

/// An npm lockfile entry's field that arborist does not write
/// (`lib/shrinkwrap.js`' `pkgMetaKeys` and `nodeMetaKeys`) is one afk
/// cannot judge: a turn that adds or changes one does not read, naming the
/// entry and the field; one the file always had, or a version bump beside
/// it, is no change of it; every field npm writes reads.
#[test]
fn an_npm_entry_field_afk_does_not_read_refuses_the_lockfile_when_a_turn_adds_or_changes_it() {
    let lock = |entry: &str| {
        format!(
            r#"{{"lockfileVersion":3,"packages":{{"":{{"name":"app"}},"node_modules/lodash":{entry}}}}}"#
        )
    };
    let moved = |before: &str, after: &str| {
        let b = parse(Lockfile::NpmLock, &lock(before)).unwrap();
        let a = parse(Lockfile::NpmLock, &lock(after)).unwrap();
        unread_field(&diff(&b, &a)).map(|u| u.0)
    };
    let plain = r#"{"version":"4.17.20"}"#;
    let npm_writes = r#"{"version":"4.17.21","resolved":"https://registry.npmjs.org/lodash/-/lodash-4.17.21.tgz","integrity":"sha512-x","dev":true,"optional":true,"devOptional":true,"peer":true,"inBundle":true,"hasInstallScript":true,"hasShrinkwrap":true,"license":"MIT","engines":{"node":">=4"},"os":["linux"],"cpu":["x64"],"libc":["glibc"],"bin":{"l":"l.js"},"funding":{"url":"https://x"},"deprecated":"old","dependencies":{"a":"^1"},"optionalDependencies":{},"peerDependencies":{},"peerDependenciesMeta":{},"bundleDependencies":["a"],"acceptDependencies":{}}"#;
    // (before, after, the file unread: why)
    let table: Vec<(&str, &str, Option<&str>)> = vec![
        (plain, npm_writes, None),
        // a field npm never writes, added
        (
            plain,
            r#"{"version":"4.17.21","overrides":{"x":"1"}}"#,
            Some("the entry of lodash has a field `overrides` afk does not read"),
        ),
        // ... whose name is not an identifier
        (
            plain,
            r#"{"version":"4.17.20","re solved\u202e":"x"}"#,
            Some("the entry of lodash has a field named otherwise afk does not read"),
        ),
        // ... its value changed
        (
            r#"{"version":"4.17.20","x-mirror":"a"}"#,
            r#"{"version":"4.17.20","x-mirror":"b"}"#,
            Some("the entry of lodash has a field `x-mirror` afk does not read"),
        ),
        // ... the file always had it: a version bump beside it reads
        (
            r#"{"version":"4.17.20","x-mirror":"a"}"#,
            r#"{"version":"4.17.21","x-mirror":"a"}"#,
            None,
        ),
    ];
    for (before, after, want) in table {
        assert_eq!(moved(before, after).as_deref(), want, "{before} -> {after}");
    }
    // lockfileVersion 1's fields (npm 6)
    let v1 = |entry: &str| {
        let t = format!(r#"{{"lockfileVersion":1,"dependencies":{{"lodash":{entry}}}}}"#);
        parse(Lockfile::NpmLock, &t).unwrap()
    };
    let b = v1(r#"{"version":"4.17.20"}"#);
    let ok = v1(
        r#"{"version":"4.17.21","resolved":"https://registry.npmjs.org/lodash/-/lodash-4.17.21.tgz","integrity":"x","bundled":true,"dev":true,"optional":true,"requires":{"a":"^1"},"dependencies":{}}"#,
    );
    assert_eq!(unread_field(&diff(&b, &ok)), None);
    let bad = v1(r#"{"version":"4.17.20","from":"git+https://evil/x"}"#);
    assert!(unread_field(&diff(&b, &bad)).is_some());
}

/// A requirements file as pip's own parser reads it
/// (`pip/_internal/req/req_file.py`: `join_lines`, `ignore_comments`,
/// `break_args_options`; the options its `SUPPORTED_OPTIONS` names):
/// continuation lines joined, options and direct references read as
/// sources other than PyPI, an option afk does not know refused.
#[test]
fn a_requirements_file_is_read_as_pip_reads_it() {
    // (text, what the gate reads)
    let table: Vec<(&str, Locked)> = vec![
        // `evil-pkg\` and `==1.0.0` are one requirement
        ("evil-pkg\\\n==1.0.0\n", set(&[("evil-pkg", &["1.0.0"])])),
        (
            "requests==2.31.0 # pinned\n",
            set(&[("requests", &["2.31.0"])]),
        ),
        // a `#` inside a word is no comment
        ("name==1.0#x\n", set(&[("name", &["1.0#x"])])),
        (
            "--extra-index-url https://evil.example/simple\nflask==3.0.0\n",
            set(&[
                (
                    "--extra-index-url",
                    &["an option from its --extra-index-url"],
                ),
                ("flask", &["3.0.0"]),
            ]),
        ),
        (
            "-i=https://mirror.example/simple\n",
            set(&[("-i", &["an option from its -i"])]),
        ),
        ("-r other.txt\n", set(&[("-r", &["an option from its -r"])])),
        (
            "evil @ https://evil.example/evil-1.0.tar.gz\n",
            set(&[("evil", &["a direct reference from a URL (name @ URL)"])]),
        ),
        (
            "Django==4.2.1 \\\n    --hash=sha256:abc\n",
            set(&[("django", &["4.2.1"])]),
        ),
        ("--require-hashes\nflask>=2\n", set(&[])),
    ];
    for (text, want) in table {
        assert_eq!(
            parse(Lockfile::Requirements, text).unwrap(),
            want,
            "{text:?}"
        );
    }
    assert!(
        parse(Lockfile::Requirements, "--use-feature=truststore\n")
            .is_err_and(|e| e.0.contains("--use-feature")),
    );
}

#[test]
fn a_dependency_is_added_changed_or_removed_and_the_pr_lists_it_with_unread_lockfiles_named() {
    let before = set(&[
        ("bytes", &["1.4.0"]),
        ("old", &["1.0.0"]),
        ("same", &["2.0.0"]),
    ]);
    let after = set(&[
        ("bytes", &["1.5.0"]),
        ("new", &["0.1.0"]),
        ("same", &["2.0.0"]),
    ]);
    let moved = diff(&before, &after);
    assert_eq!(
        moved,
        vec![
            (
                "bytes".into(),
                Moved::Changed(vec!["1.4.0".into()], vec!["1.5.0".into()])
            ),
            ("new".into(), Moved::Added(vec!["0.1.0".into()])),
            ("old".into(), Moved::Removed(vec!["1.0.0".into()])),
        ]
    );
    let reads = [
        Read {
            path: "Cargo.lock",
            kind: Lockfile::Cargo,
            moved: Ok(moved),
        },
        Read {
            path: "web/package-lock.json",
            kind: Lockfile::NpmLock,
            moved: Err("not JSON".into()),
        },
    ];
    let lines = body_lines(&reads, &none_listed);
    assert_eq!(
        lines,
        vec![
            "- `bytes` `1.4.0` → `1.5.0` (crates.io, `Cargo.lock`)",
            "- `new` `0.1.0` (crates.io, `Cargo.lock`)",
            "- `old` `1.0.0` removed (crates.io, `Cargo.lock`)",
            "- `web/package-lock.json`: not read (not JSON), its dependencies were not checked",
        ]
    );
    assert_eq!(pypi_name("Zope.Interface__x"), "zope-interface-x");
}

#[test]
fn a_version_from_the_agents_lockfile_is_inert_in_every_position_of_the_pr_body() {
    let hostile = [
        "1.0.0 <img src=https://t.example/x.png>",
        "1.0.0 @acme/security-team Fixes #3",
        "[x](javascript:alert(1))",
        "<details><summary>",
        "1`<b>x</b>`",
    ];
    for h in hostile {
        let reads = [Read {
            path: "package-lock.json",
            kind: Lockfile::NpmLock,
            moved: Ok(vec![
                ("a".to_string(), Moved::Added(vec![h.to_string()])),
                (
                    "b".to_string(),
                    Moved::Changed(vec![h.to_string()], vec![h.to_string() + "2"]),
                ),
                ("c".to_string(), Moved::Removed(vec![h.to_string()])),
            ]),
        }];
        for line in body_lines(&reads, &none_listed) {
            // every backtick opens or closes a span: the version sits
            // inside one, and outside the spans only afk's own words
            let outside: String = line
                .split('`')
                .enumerate()
                .filter(|(i, _)| i % 2 == 0)
                .map(|(_, t)| t)
                .collect();
            assert_eq!(line.matches('`').count() % 2, 0, "{line}");
            for live in ["<", "@", "#", "](", "javascript"] {
                assert!(!outside.contains(live), "{live} live in {line}");
            }
        }
    }
}

#[test]
fn a_lockfile_naming_a_dependency_with_a_control_character_does_not_read() {
    let lock = "{\"lockfileVersion\": 3, \"packages\": {\"node_modules/a\\u0007b\": {\"version\": \"1.0.0\"}}}";
    assert!(parse(Lockfile::NpmLock, lock).is_err());
    // nested deeper than the parser reads: not read, never a pass
    let deep = format!(
        "{{\"lockfileVersion\": 3, \"packages\": {{}}, \"x\": {}{}}}",
        "[".repeat(200),
        "]".repeat(200)
    );
    assert!(parse(Lockfile::NpmLock, &deep).is_err());
}

#[test]
fn each_new_version_is_followed_by_the_advisories_that_list_it() {
    let mut ix = crate::gate::osv::Index::default();
    ix.add(r#"{"id": "GHSA-low", "database_specific": {"severity": "LOW"}, "affected": [{"package": {"ecosystem": "crates.io", "name": "log"}, "versions": ["0.4.1"]}]}"#).unwrap();
    let m = |moved: Moved| Read {
        path: "Cargo.lock",
        kind: Lockfile::Cargo,
        moved: Ok(vec![("log".to_string(), moved)]),
    };
    let v = |x: &[&str]| x.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let cases = [
        (
            m(Moved::Added(v(&["0.4.1"]))),
            "- `log` `0.4.1` (crates.io, `Cargo.lock`): GHSA-low (LOW)",
        ),
        (
            m(Moved::Changed(v(&["0.4.0"]), v(&["0.4.1"]))),
            "- `log` `0.4.0` → `0.4.1` (crates.io, `Cargo.lock`): GHSA-low (LOW)",
        ),
        // the listed version is the old one: nothing named
        (
            m(Moved::Changed(v(&["0.4.1"]), v(&["0.4.2"]))),
            "- `log` `0.4.1` → `0.4.2` (crates.io, `Cargo.lock`)",
        ),
        (
            m(Moved::Removed(v(&["0.4.1"]))),
            "- `log` `0.4.1` removed (crates.io, `Cargo.lock`)",
        ),
    ];
    for (read, want) in cases {
        let listed =
            |e: Ecosystem, n: &str, v: &str| ix.hits(e, n, v).iter().map(|h| h.label()).collect();
        assert_eq!(body_lines(&[read], &listed), [want]);
    }
}
