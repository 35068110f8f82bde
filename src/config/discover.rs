//! Where the config file is looked for, the error when it is not found, and
//! the starter file `afk init` writes.

use std::path::{Path, PathBuf};

use super::cfg_hint;

/// Where the config file is looked for when `--config` is not given, in
/// order: `$AFK_CONFIG` (an empty value counts as unset, as XDG's variables
/// do), `./afk.toml`, `$XDG_CONFIG_HOME/afk/config.toml` (`~/.config/...`).
pub fn default_config_path() -> PathBuf {
    if let Some(p) = std::env::var_os("AFK_CONFIG").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    let local = PathBuf::from("afk.toml");
    if local.exists() {
        return local;
    }
    user_config_path()
}

fn user_config_path() -> PathBuf {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("afk").join("config.toml")
}

/// The error for a config that was searched for and not found: where afk looked.
pub fn not_found(path: &Path) -> anyhow::Error {
    let afk_config = match std::env::var_os("AFK_CONFIG") {
        Some(v) if !v.is_empty() => format!("$AFK_CONFIG ({})", PathBuf::from(v).display()),
        Some(_) => "$AFK_CONFIG (empty: ignored)".into(),
        None => "$AFK_CONFIG (unset)".into(),
    };
    cfg_hint(
        format!(
            "config: no config file: looked for --config (not given), {afk_config}, ./afk.toml, then {}",
            path.display()
        ),
        "pass --config PATH, or run `afk init` to write ./afk.toml",
    )
}

/// A starter config with comments, as written by `afk init`.
pub const STARTER: &str = include_str!("../../examples/afk.toml");

/// The starter config `afk init --forge <kind>` writes: [`STARTER`] (Gitea's)
/// with `forge.kind` and an example `forge.url` of that kind, and, where the
/// kind cannot merge the base into a PR's branch (GitLab: rebase only, and
/// `"merge"` is a config error there), `watch.update_branch = "rebase"`.
pub fn starter_for(kind: super::ForgeKind) -> String {
    let profile = crate::forge::profile::of(kind);
    let url = profile.starter_url;
    let mut text = STARTER
        .replacen("kind = \"gitea\" ", &format!("kind = \"{kind}\" "), 1)
        .replacen(
            "url = \"https://git.example.org\"",
            &format!("url = \"{url}\""),
            1,
        );
    if !profile.merges_branches {
        text = text.replacen(
            "update_branch = \"merge\" ",
            "update_branch = \"rebase\"",
            1,
        );
    }
    text
}

/// The starter's `[tracker]` block for `afk init --tracker <kind>`: Jira's
/// or Linear's, commented, with the account afk should have, the webhook
/// to register and a `[[tracker.map]]` example (docs/trackers.md).
pub fn with_tracker(starter: &str, kind: &str) -> String {
    let block = match kind {
        "linear" => include_str!("../../examples/tracker-linear.toml"),
        _ => include_str!("../../examples/tracker-jira.toml"),
    };
    let start = starter.find("# [tracker] ");
    let end_mark = "# hook_secret_file = \"\"\n";
    let end = start.and_then(|s| starter[s..].find(end_mark).map(|e| s + e + end_mark.len()));
    match (start, end) {
        (Some(s), Some(e)) => format!("{}{block}{}", &starter[..s], &starter[e..]),
        // the starter always holds the generic block; were it gone, the
        // kind's block goes at the end rather than nowhere
        _ => format!("{starter}\n{block}"),
    }
}
