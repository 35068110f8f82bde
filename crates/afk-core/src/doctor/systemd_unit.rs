//! What a systemd service unit lets a tick write: its file (and drop-ins)
//! parsed, then, per path a tick writes, whether the unit's sandbox
//! (`ProtectSystem=`, `ProtectHome=`, `ReadWritePaths=`, `StateDirectory=`,
//! `PrivateTmp=`, …) leaves it writable. Pure: the command reads the files.
//!
//! The rule: of every path the unit's settings name, the longest that holds
//! the path decides (a `ReadWritePaths=` below a read-only tree makes that
//! subtree writable; a `ReadOnlyPaths=` or `InaccessiblePaths=` below a
//! writable one takes it away again), and a path no setting names is
//! writable. `ProtectSystem=strict` names `/` read-only (`/dev`, `/proc`,
//! `/sys` stay), `full` `/usr`, `/boot`, `/efi` and `/etc`, `yes` the first
//! three; `ProtectHome=yes`/`tmpfs` makes `/home`, `/root`, `/run/user`
//! inaccessible, `read-only` read-only. `PrivateTmp=` gives the unit a /tmp
//! of its own, emptied when it stops: no place for what a tick keeps or
//! others read.

use crate::doctor::Level;

/// `(section, key, value)` in file order, drop-ins appended after the unit.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Unit {
    pub entries: Vec<(String, String, String)>,
}

/// Parse a unit file or drop-in: `[Section]` headers, `Key=Value` lines,
/// `#`/`;` comments, lines continued with a trailing backslash.
pub fn parse(text: &str) -> Unit {
    let mut unit = Unit::default();
    unit.add(text);
    unit
}

impl Unit {
    /// Append a drop-in's (or the unit's own) lines.
    pub fn add(&mut self, text: &str) {
        let mut section = self.entries.last().map(|e| e.0.clone()).unwrap_or_default();
        let mut pending = String::new();
        for raw in text.lines() {
            let line = raw.trim();
            if pending.is_empty() && (line.starts_with('#') || line.starts_with(';')) {
                continue;
            }
            if let Some(head) = line.strip_suffix('\\') {
                pending.push_str(head);
                pending.push(' ');
                continue;
            }
            let line = std::mem::take(&mut pending) + line;
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            if line.starts_with('[') && line.ends_with(']') {
                section = line[1..line.len() - 1].to_string();
            } else if let Some((k, v)) = line.split_once('=') {
                self.entries
                    .push((section.clone(), k.trim().into(), v.trim().into()));
            }
        }
    }

    /// The values of a list setting in `[Service]`, each entry split on
    /// whitespace; an empty assignment resets the list (as systemd does).
    pub fn list(&self, key: &str) -> Vec<String> {
        let mut out = vec![];
        for (s, k, v) in &self.entries {
            if s == "Service" && k == key {
                if v.is_empty() {
                    out.clear();
                }
                out.extend(v.split_whitespace().map(str::to_string));
            }
        }
        out
    }

    /// The last value of a `[Service]` setting.
    pub fn value(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .rev()
            .find(|(s, k, _)| s == "Service" && k == key)
            .map(|e| e.2.as_str())
    }

    /// The config file `ExecStart=` gives afk (`--config PATH`, `--config=PATH`).
    pub fn config(&self) -> Option<&str> {
        let exec = self.value("ExecStart")?;
        let mut words = exec.split_whitespace();
        while let Some(w) = words.next() {
            if w == "--config" {
                return words.next();
            }
            if let Some(p) = w.strip_prefix("--config=") {
                return Some(p);
            }
        }
        None
    }

    /// The tick the unit runs: the last word of `ExecStart=` that names one.
    pub fn tick(&self) -> Option<&'static str> {
        let exec = self.value("ExecStart")?;
        exec.split_whitespace()
            .rev()
            .find_map(|w| TICKS.iter().find(|t| **t == w).copied())
    }
}

const TICKS: [&str; 4] = ["poll", "watch", "harvest", "upgrade"];

/// How a tree is mounted for the unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Writable,
    /// `PrivateTmp=`'s /tmp: writable, but no one else sees it and it is
    /// emptied when the unit stops (a state file there is lost every tick)
    Private,
    ReadOnly,
    Inaccessible,
}

/// Every tree the unit's settings name, with the setting that named it.
fn trees(u: &Unit) -> Vec<(String, Access, String)> {
    let mut out: Vec<(String, Access, String)> = vec![];
    let mut add = |p: &str, a: Access, why: &str| out.push((clean(p), a, why.to_string()));
    let yes = |v: Option<&str>| {
        matches!(
            v.map(str::to_ascii_lowercase).as_deref(),
            Some("yes" | "true" | "on" | "1")
        )
    };
    let dynamic = yes(u.value("DynamicUser"));
    let system = u
        .value("ProtectSystem")
        .map(str::to_ascii_lowercase)
        .or_else(|| dynamic.then(|| "strict".into()));
    match system.as_deref() {
        Some("strict") => add("/", Access::ReadOnly, "ProtectSystem=strict"),
        Some(v @ ("full" | "yes" | "true" | "on" | "1")) => {
            let why = format!("ProtectSystem={v}");
            for p in ["/usr", "/boot", "/efi"] {
                add(p, Access::ReadOnly, &why);
            }
            if v == "full" {
                add("/etc", Access::ReadOnly, &why);
            }
        }
        _ => {}
    }
    for p in ["/dev", "/proc", "/sys"] {
        add(p, Access::Writable, "an API file system");
    }
    let home = u
        .value("ProtectHome")
        .map(str::to_ascii_lowercase)
        .or_else(|| dynamic.then(|| "read-only".into()));
    let home = match home.as_deref() {
        Some("yes" | "true" | "on" | "1" | "tmpfs") => Some(Access::Inaccessible),
        Some("read-only") => Some(Access::ReadOnly),
        _ => None,
    };
    if let Some(a) = home {
        for p in ["/home", "/root", "/run/user"] {
            add(p, a, "ProtectHome=");
        }
    }
    if yes(u.value("PrivateTmp")) {
        for p in ["/tmp", "/var/tmp"] {
            add(p, Access::Private, "PrivateTmp=yes");
        }
    }
    for (key, base) in [
        ("StateDirectory", "/var/lib"),
        ("CacheDirectory", "/var/cache"),
        ("LogsDirectory", "/var/log"),
        ("RuntimeDirectory", "/run"),
    ] {
        for name in u.list(key) {
            let name = name.split(':').next().unwrap_or_default();
            add(&format!("{base}/{name}"), Access::Writable, key);
        }
    }
    for (key, a) in [
        ("ReadWritePaths", Access::Writable),
        ("ReadOnlyPaths", Access::ReadOnly),
        ("InaccessiblePaths", Access::Inaccessible),
    ] {
        for p in u.list(key) {
            let p = p.trim_start_matches(['-', '+']);
            if p.starts_with('/') {
                add(p, a, key);
            }
        }
    }
    out
}

/// `/a/b/` and `/a//b` as `/a/b`; `/` stays.
fn clean(p: &str) -> String {
    let parts: Vec<&str> = p
        .split('/')
        .filter(|s| !s.is_empty() && *s != ".")
        .collect();
    format!("/{}", parts.join("/"))
}

fn holds(tree: &str, path: &str) -> bool {
    tree == "/" || path == tree || path.starts_with(&format!("{tree}/"))
}

/// How the unit mounts `path` (absolute) and the setting that decides it
/// (None: no setting names it, it is writable).
pub fn access(u: &Unit, path: &str) -> (Access, Option<String>) {
    let path = clean(path);
    trees(u)
        .into_iter()
        .filter(|(t, _, _)| holds(t, &path))
        // the longest tree decides; of equal ones, the last named
        .max_by_key(|(t, _, _)| if t == "/" { 0 } else { t.len() })
        .map_or((Access::Writable, None), |(_, a, why)| (a, Some(why)))
}

/// Doctor's line for one unit: each `(what, path)` a tick of it writes
/// (`path` the folder a file is created in), checked against its sandbox.
pub fn check(unit_name: &str, u: &Unit, paths: &[(String, String)]) -> (Level, String) {
    let tick = u.tick().unwrap_or("tick");
    let mut outside = vec![];
    for (what, path) in paths {
        if !path.starts_with('/') || path.contains('%') {
            continue;
        }
        let (a, why) = access(u, path);
        if a != Access::Writable {
            let why = why.unwrap_or_default();
            outside.push(match a {
                Access::Private => format!(
                    "{what} {path} is in the unit's private /tmp ({why}), which no one else sees and which is emptied when it stops: move it out of /tmp"
                ),
                _ => {
                    let how = if a == Access::Inaccessible { "hidden" } else { "read-only" };
                    format!(
                        "{what} {path} is {how} for it ({why}): add ReadWritePaths={} to its [Service] (systemctl edit {unit_name})",
                        clean(path)
                    )
                }
            });
        }
    }
    if outside.is_empty() {
        let names: Vec<&str> = paths.iter().map(|p| p.0.as_str()).collect();
        (
            Level::Ok,
            format!(
                "{unit_name}: every path a {tick} tick writes is writable in its sandbox ({})",
                names.join(", ")
            ),
        )
    } else {
        (
            Level::Fail,
            format!(
                "{unit_name}: its sandbox keeps a {tick} tick from writing (a status page or metrics file it cannot write is only a warning in the journal each tick): {}",
                outside.join("; ")
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONTRIB: &str = "[Unit]\nDescription=x\n[Service]\nType=oneshot\n\
        StateDirectory=afk\nExecStart=/usr/local/bin/afk --config /etc/afk/afk.toml -q poll\n\
        # a comment\nReadWritePaths=-/var/lib/prometheus/node-exporter\nProtectSystem=strict\nPrivateTmp=yes\n";

    #[test]
    fn a_path_is_writable_only_where_the_unit_s_sandbox_leaves_it() {
        let strict = parse(CONTRIB);
        let mut home_ro = parse(CONTRIB);
        home_ro.add("[Service]\nProtectHome=read-only\nReadWritePaths=/home/afk/www\n");
        let mut reset = parse(CONTRIB);
        reset.add("[Service]\nReadWritePaths=\nReadWritePaths=/srv/www\n");
        let full = parse("[Service]\nProtectSystem=full\nReadOnlyPaths=/srv/ro\n");
        let dynamic = parse("[Service]\nDynamicUser=yes\nStateDirectory=afk:afk-old afk2\n");
        let table: [(&str, &Unit, &str, Access); 18] = [
            (
                "the state directory",
                &strict,
                "/var/lib/afk",
                Access::Writable,
            ),
            ("below it", &strict, "/var/lib/afk/runs/7", Access::Writable),
            ("a sibling", &strict, "/var/lib/afkx", Access::ReadOnly),
            (
                "a listed folder",
                &strict,
                "/var/lib/prometheus/node-exporter",
                Access::Writable,
            ),
            ("a web root", &strict, "/var/www/afk", Access::ReadOnly),
            ("private /tmp", &strict, "/tmp/afk", Access::Private),
            ("an API fs", &strict, "/dev/shm", Access::Writable),
            (
                "a trailing slash",
                &strict,
                "/var/lib/afk/",
                Access::Writable,
            ),
            ("home read-only", &home_ro, "/home/afk", Access::ReadOnly),
            ("home listed", &home_ro, "/home/afk/www/x", Access::Writable),
            (
                "reset list",
                &reset,
                "/var/lib/prometheus/node-exporter",
                Access::ReadOnly,
            ),
            (
                "reset list, new entry",
                &reset,
                "/srv/www",
                Access::Writable,
            ),
            ("full: /etc", &full, "/etc/afk", Access::ReadOnly),
            ("full: /srv", &full, "/srv/www", Access::Writable),
            (
                "full: read-only below",
                &full,
                "/srv/ro/x",
                Access::ReadOnly,
            ),
            ("dynamic: strict", &dynamic, "/srv/www", Access::ReadOnly),
            (
                "dynamic: state dir",
                &dynamic,
                "/var/lib/afk2",
                Access::Writable,
            ),
            ("dynamic: home", &dynamic, "/root", Access::ReadOnly),
        ];
        for (case, unit, path, want) in table {
            assert_eq!(access(unit, path).0, want, "{case}: {path}");
        }
        assert_eq!(
            access(&parse("[Service]\nExecStart=afk poll\n"), "/srv").0,
            Access::Writable,
            "no sandbox"
        );
    }

    #[test]
    fn a_unit_file_parses_into_its_settings_and_its_tick() {
        let u = parse(
            "[Service]\nExecStart=/usr/bin/afk \\\n  --config /etc/afk.toml -q watch\n; c\nReadWritePaths=/a /b\nReadWritePaths=-/c\n[Install]\nWantedBy=timers.target\n",
        );
        assert_eq!(u.tick(), Some("watch"));
        assert_eq!(u.config(), Some("/etc/afk.toml"));
        assert_eq!(
            parse("[Service]\nExecStart=afk --config=/x.toml poll\n").config(),
            Some("/x.toml")
        );
        assert_eq!(parse("[Service]\nExecStart=afk poll\n").config(), None);
        assert_eq!(u.list("ReadWritePaths"), ["/a", "/b", "-/c"]);
        assert_eq!(u.value("WantedBy"), None, "not in [Service]");
        assert_eq!(parse("[Service]\nExecStart=/bin/true\n").tick(), None);
    }

    #[test]
    fn a_path_outside_the_sandbox_fails_with_the_line_to_add() {
        let u = parse(CONTRIB);
        let paths = [
            ("state folder".to_string(), "/var/lib/afk".to_string()),
            ("status_page's folder".into(), "/var/www/afk/".into()),
        ];
        let (level, text) = check("afk-poll.service", &u, &paths);
        assert_eq!(level, Level::Fail, "{text}");
        assert!(
            text.contains("status_page's folder /var/www/afk/ is read-only"),
            "{text}"
        );
        assert!(text.contains("ProtectSystem=strict"), "{text}");
        assert!(
            text.contains("add ReadWritePaths=/var/www/afk to its [Service]"),
            "{text}"
        );
        assert!(!text.contains("state folder"), "{text}");
        let (level, text) = check("afk-poll.service", &u, &paths[..1]);
        assert_eq!(level, Level::Ok, "{text}");
        assert!(text.contains("a poll tick"), "{text}");
    }
}
