//! The production build leaves the test world out (#83 item 3): built as the
//! Containerfile builds it (`--no-default-features`: without Cargo.toml's
//! `test-world` feature, so without the afk-sandbox crate), afk has neither
//! `afk sandbox` nor `afk demo`, and its production commands still work.
//!
//! The product is built into a target folder of its own beside the tests'
//! (`<target>/product`; kept between runs, so a second run builds only what
//! changed), then run. It is built by the cargo that runs the tests (`CARGO`
//! in their environment); the suite started without cargo (.ci/run's second
//! run, as an ordinary user with a bare environment, after `cargo test` ran
//! this test) skips it and says so.

use crate::support::afk_bin;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The target folder the tests' own afk was built in (`<target>/debug/afk`,
/// or `<target>/<triple>/debug/afk` when a target is named).
fn target_dir() -> PathBuf {
    afk_bin()
        .parent()
        .and_then(Path::parent)
        .expect("afk sits in <target>/<profile>/")
        .to_path_buf()
}

/// `cargo build --locked --no-default-features --bin afk` at the repository
/// root, into `<target>/product`, with the cargo that runs the tests: the afk
/// it made, as cargo names it.
fn build_product(cargo: &std::ffi::OsStr) -> PathBuf {
    let out = Command::new(cargo)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "build",
            "--locked",
            "--no-default-features",
            "--bin",
            "afk",
            "--message-format",
            "json-render-diagnostics",
            // one job: the suite's other tests, many of them timed, run beside it
            "--jobs",
            "1",
            "--target-dir",
        ])
        .arg(target_dir().join("product"))
        .stdin(Stdio::null())
        .output()
        .expect("cargo starts");
    assert!(
        out.status.success(),
        "the production build failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|m| m["reason"].as_str() == Some("compiler-artifact"))
        .filter(|m| m["target"]["name"].as_str() == Some("afk"))
        .filter(|m| {
            m["target"]["kind"]
                .as_array()
                .is_some_and(|k| k.iter().any(|k| k.as_str() == Some("bin")))
        })
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .expect("cargo names the afk it built")
}

fn run(afk: &Path, args: &[&str]) -> Output {
    Command::new(afk)
        .args(args)
        .env_remove("AFK_CONFIG")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", afk.display()))
}

/// The first word of every indented line of `afk --help`: the commands it
/// lists among them (`  poll   One dispatch tick …`).
fn listed(afk: &Path) -> Vec<String> {
    let out = run(afk, &["--help"]);
    assert_eq!(out.status.code(), Some(0), "{}: afk --help", afk.display());
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("  "))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

#[test]
fn the_production_build_has_neither_the_sandbox_nor_the_demo() {
    // the tests' afk (default features) lists both: the check below sees them
    let full = listed(&afk_bin());
    for name in ["sandbox", "demo", "poll"] {
        assert!(full.iter().any(|w| w == name), "{name} not in {full:?}");
    }

    let Some(cargo) = std::env::var_os("CARGO") else {
        eprintln!("skipped: not run by cargo (no CARGO): `cargo test` builds the product");
        return;
    };
    let product = build_product(&cargo);
    // unknown to clap: its usage error, exit 2
    for args in [&["sandbox", "--help"][..], &["demo"][..]] {
        let out = run(&product, args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "afk {args:?}: {err}");
        assert!(
            err.contains("unrecognized subcommand") && err.contains(args[0]),
            "afk {args:?}: {err}"
        );
        assert!(out.stdout.is_empty(), "afk {args:?} printed on stdout");
    }
    let product_lists = listed(&product);
    for gone in ["sandbox", "demo"] {
        assert!(
            !product_lists.iter().any(|w| w == gone),
            "afk --help lists {gone}: {product_lists:?}"
        );
    }
    // everything else of the help is there: every production command
    let rest: Vec<&String> = full
        .iter()
        .filter(|w| *w != "sandbox" && *w != "demo")
        .collect();
    assert_eq!(
        product_lists.iter().collect::<Vec<_>>(),
        rest,
        "afk --help of the product against the tests' afk"
    );
    // and a production command still answers
    let out = run(&product, &["poll", "--help"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("afk poll"),
        "afk poll --help"
    );
}
