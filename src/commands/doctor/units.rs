//! systemd: every path a tick writes, checked against the sandbox of the
//! units that run it (`--unit`, else the installed `afk-*.service`). Whether
//! a unit lets a path be written is `core::doctor::systemd_unit`'s rule.

use super::Doctor;
use crate::core::doctor::Level;
use crate::core::doctor::systemd_unit;
use crate::session::Session;
use std::path::{Path, PathBuf};

/// Where installed units are looked for when no `--unit` is given.
const UNIT_DIRS: [&str; 3] = [
    "/etc/systemd/system",
    "/usr/local/lib/systemd/system",
    "/usr/lib/systemd/system",
];

/// `runner`: the folders the runner's turns write on this host
/// (`runner::checks::Checks::writes`).
pub(super) fn units(ctx: &Session, given: &[PathBuf], runner: &[(String, String)], d: &mut Doctor) {
    for path in &listed(given) {
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into(),
        );
        let unit = match read_unit(path) {
            Ok(u) => u,
            Err(e) => {
                let text = format!("cannot read {}: {e}", path.display());
                d.add("systemd", Level::Fail, text);
                continue;
            }
        };
        let Some(tick) = unit.tick() else {
            if !given.is_empty() {
                let text = format!(
                    "{name} runs no afk tick (its ExecStart names none of poll, watch, harvest, upgrade): nothing to check"
                );
                d.add("systemd", Level::Warn, text);
            }
            continue;
        };
        if let Some(other) = unit
            .config()
            .filter(|c| !same_file(Path::new(c), &ctx.config_path()))
        {
            let text = format!(
                "{name} runs afk with --config {other}, not {} which doctor read: the paths below are this config's; run doctor with --config {other} to check that one's",
                ctx.config_path().display()
            );
            d.add("systemd", Level::Warn, text);
        }
        let paths = written_by(ctx, tick, runner);
        let (level, text) = systemd_unit::check(&name, &unit, &paths);
        d.add("systemd", level, text);
    }
}

/// The env files the afk units name (`EnvironmentFile=`, a leading `-`
/// dropped): the units given, else those installed. Where the operator keeps
/// afk's secrets, which the agent's box must not show (doctor's box probe).
pub(super) fn env_files(given: &[PathBuf]) -> Vec<PathBuf> {
    let mut files = vec![];
    for path in &listed(given) {
        let Ok(unit) = read_unit(path) else { continue };
        for (_, key, value) in &unit.entries {
            if key == "EnvironmentFile" {
                let f = value.trim().trim_start_matches('-');
                if f.starts_with('/') {
                    files.push(PathBuf::from(f));
                }
            }
        }
    }
    files
}

/// The units doctor reads: those given, else those installed.
fn listed(given: &[PathBuf]) -> Vec<PathBuf> {
    if given.is_empty() {
        let dirs: Vec<&Path> = UNIT_DIRS.iter().map(Path::new).collect();
        installed(&dirs)
    } else {
        given.to_vec()
    }
}

/// Whether two paths name one file (the same path when either is missing).
fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

/// The afk-*.service files in `dirs`, the first of each name (systemd's order:
/// /etc overrides the others).
fn installed(dirs: &[&Path]) -> Vec<PathBuf> {
    let mut seen = std::collections::BTreeMap::new();
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        let mut names: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        names.sort();
        for p in names {
            let Some(n) = p.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            if n.starts_with("afk-") && n.ends_with(".service") && p.is_file() {
                seen.entry(n.to_string()).or_insert(p);
            }
        }
    }
    seen.into_values().collect()
}

/// The unit and its drop-ins (`<unit>.d/*.conf`, in name order).
fn read_unit(path: &Path) -> std::io::Result<systemd_unit::Unit> {
    let mut unit = systemd_unit::parse(&std::fs::read_to_string(path)?);
    let mut dropin = path.as_os_str().to_owned();
    dropin.push(".d");
    if let Ok(entries) = std::fs::read_dir(PathBuf::from(dropin)) {
        let mut confs: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "conf"))
            .collect();
        confs.sort();
        for c in confs {
            if let Ok(text) = std::fs::read_to_string(&c) {
                unit.add(&text);
            }
        }
    }
    Ok(unit)
}

/// `(what, folder)` for every place a tick of this kind creates files in.
fn written_by(ctx: &Session, tick: &str, runner: &[(String, String)]) -> Vec<(String, String)> {
    let c = ctx.config();
    let folder_of = |f: &Path| {
        f.parent()
            .map_or_else(|| ".".into(), |p| p.display().to_string())
    };
    let mut out = vec![(
        "state folder".to_string(),
        ctx.state_dir().display().to_string(),
    )];
    if tick != "harvest" {
        out.push(("runs_dir".into(), ctx.runs_dir().display().to_string()));
        out.extend(runner.iter().cloned());
    }
    if tick == "upgrade" {
        let work = ctx.paths().recipes.clone();
        out.push(("upgrade.work_dir".into(), work.display().to_string()));
    }
    if let Some(f) = c.metrics_file() {
        out.push(("metrics_file's folder".into(), folder_of(f)));
    }
    if let Some(f) = c.status_page() {
        out.push(("status_page's folder".into(), folder_of(f)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn installed_units_are_afk_services_the_first_directory_wins() {
        let root = std::env::temp_dir().join(format!("afk-units-{}", std::process::id()));
        let (etc, lib) = (root.join("etc"), root.join("lib"));
        for d in [&etc, &lib] {
            std::fs::create_dir_all(d).unwrap();
        }
        for (d, n) in [
            (&etc, "afk-poll.service"),
            (&lib, "afk-poll.service"),
            (&lib, "afk-watch.service"),
            (&lib, "afk-watch.timer"),
            (&lib, "nginx.service"),
        ] {
            std::fs::write(d.join(n), "[Service]\n").unwrap();
        }
        let got = installed(&[&etc, &lib, &root.join("missing")]);
        std::fs::remove_dir_all(&root).unwrap();
        assert_eq!(
            got,
            [etc.join("afk-poll.service"), lib.join("afk-watch.service")]
        );
    }
}
