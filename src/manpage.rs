//! One man page from the clap definitions (`afk man` prints or writes them), with the sections a man page
//! reader expects: clap_mangen's NAME, SYNOPSIS (with each option's value,
//! `--config <PATH>`), DESCRIPTION, OPTIONS and SUBCOMMANDS, then EXIT STATUS,
//! ENVIRONMENT and EXAMPLES taken from the command's long help (so `--help`
//! and the page say the same), FILES and SEE ALSO.

use anyhow::Result;
use std::fmt::Write as _;

/// The page of `cmd` (a built command: subcommands carry their page names).
pub fn render(cmd: &clap::Command, version: &str) -> Result<Vec<u8>> {
    let man = clap_mangen::Man::new(cmd.clone().override_usage(synopsis(cmd)));
    let mut out = Vec::new();
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(&mut out)?;
    }
    if cmd.get_subcommands().any(|s| !s.is_hide_set()) {
        man.render_subcommands_section(&mut out)?;
    }
    let help = cmd
        .get_after_long_help()
        .map(|h| h.to_string())
        .unwrap_or_default();
    let blocks = blocks(&help);
    let mut roff = String::new();
    for (title, heading) in [
        ("Exit status", "EXIT STATUS"),
        ("Environment", "ENVIRONMENT"),
    ] {
        let body = blocks
            .iter()
            .find(|(t, _)| t == title)
            .map(|(_, b)| b.clone())
            .unwrap_or_else(|| default_block(title));
        section(&mut roff, heading, &body);
    }
    if let Some((_, body)) = blocks.iter().find(|(t, _)| t == "Examples") {
        section(&mut roff, "EXAMPLES", body);
    }
    section(&mut roff, "FILES", FILES);
    section(&mut roff, "SEE ALSO", &see_also(cmd));
    section(&mut roff, "VERSION", version);
    out.extend_from_slice(roff.as_bytes());
    Ok(out)
}

/// `afk lessons list [--type <T>] [--limit <N>] ...`: every visible option with its value.
pub fn synopsis(cmd: &clap::Command) -> String {
    let name = cmd.get_bin_name().unwrap_or(cmd.get_name()).to_string();
    let mut words = vec![name];
    for a in cmd
        .get_arguments()
        .filter(|a| !a.is_hide_set() && !a.is_positional())
    {
        let flag = match (a.get_short(), a.get_long()) {
            (_, Some(l)) => format!("--{l}"),
            (Some(c), None) => format!("-{c}"),
            _ => continue,
        };
        let takes = a.get_action().takes_values();
        let value = a
            .get_value_names()
            .map(|v| v.join(" "))
            .unwrap_or_else(|| a.get_id().as_str().to_uppercase());
        let counted = matches!(a.get_action(), clap::ArgAction::Count);
        let w = match (takes, counted) {
            (true, _) => format!("[{flag} <{value}>]"),
            (false, true) => format!("[{flag}]..."),
            (false, false) => format!("[{flag}]"),
        };
        words.push(w);
    }
    for a in cmd.get_positionals().filter(|a| !a.is_hide_set()) {
        let v = a
            .get_value_names()
            .map(|v| v.join(" "))
            .unwrap_or_else(|| a.get_id().as_str().to_uppercase());
        let many = matches!(a.get_action(), clap::ArgAction::Append);
        let dots = if many { "..." } else { "" };
        words.push(if a.is_required_set() {
            format!("<{v}>{dots}")
        } else {
            format!("[{v}]{dots}")
        });
    }
    if cmd.get_subcommands().any(|s| !s.is_hide_set()) {
        words.push("<COMMAND>".into());
    }
    words.join(" ")
}

/// The long help's titled blocks: `Exit status:` and the lines under it, ...
fn blocks(help: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = vec![];
    for line in help.lines() {
        let titled = !line.starts_with(' ') && line.ends_with(':') && !line.is_empty();
        if titled {
            out.push((line.trim_end_matches(':').to_string(), String::new()));
        } else if let Some((_, body)) = out.last_mut() {
            body.push_str(line);
            body.push('\n');
        }
    }
    out
}

/// A section the long help lacks: only Environment can be (every command's
/// help has its exit status, made from `exit_status`'s table).
fn default_block(title: &str) -> String {
    debug_assert_ne!(
        title, "Exit status",
        "cli::command adds it to every command"
    );
    ENVIRONMENT.into()
}

const ENVIRONMENT: &str = "  AFK_CONFIG           the config file when --config is not given
  AFK_LOG              json | plain | journal: the form of the log lines on stderr
  AFK_CANARY_SEED      an integer: seeded canary routing
  AFK_BUSY_TIMEOUT_MS  how long to wait for a locked state file (default 5000)
  the *_env names of the config  the secrets (forge token, webhooks, heartbeats)
";

const FILES: &str = "  ./afk.toml, $XDG_CONFIG_HOME/afk/config.toml (~/.config/afk/config.toml)
      the config, when neither --config nor AFK_CONFIG names one
  $XDG_STATE_HOME/afk/afk.db (~/.local/state/afk/afk.db)
      the state file (state_path); beside it: runs/ (one folder per run),
      STOP (the stop file), poll.lock, watch.lock, harvest.lock, upgrade.lock
  /etc/afk/afk.toml, /etc/afk/env, /var/lib/afk
      the config, the secrets and the state of contrib/'s cron and systemd units
";

fn see_also(cmd: &clap::Command) -> String {
    let me = cmd.get_display_name().unwrap_or(cmd.get_name()).to_string();
    let mut pages: Vec<String> = vec!["afk(1)".into()];
    for s in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        pages.push(format!(
            "{}(1)",
            s.get_display_name().unwrap_or(s.get_name())
        ));
    }
    pages.retain(|p| p != &format!("{me}(1)"));
    pages.dedup();
    format!(
        "  {}\n  docs/operations.md, docs/configuration.md, docs/reports.md in the afk sources\n",
        pages.join(", ")
    )
}

/// A `.SH` section holding preformatted lines (`.nf`, as help text is laid out).
fn section(roff: &mut String, heading: &str, body: &str) {
    let _ = writeln!(roff, ".SH \"{heading}\"\n.nf");
    for line in body.trim_end().lines() {
        let line = line.replace('\\', "\\e").replace('-', "\\-");
        // a line starting with . or ' would be a roff request
        let line = if line.starts_with(['.', '\'']) {
            format!("\\&{line}")
        } else {
            line
        };
        let _ = writeln!(roff, "{line}");
    }
    let _ = writeln!(roff, ".fi");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_long_help_splits_into_its_titled_blocks() {
        let b = blocks("Exit status:\n  0  ok\n\nExamples:\n  afk poll\n");
        assert_eq!(b[0], ("Exit status".to_string(), "  0  ok\n\n".to_string()));
        assert_eq!(b[1], ("Examples".to_string(), "  afk poll\n".to_string()));
    }

    #[test]
    fn a_section_escapes_roff() {
        let mut r = String::new();
        section(&mut r, "X", ".hidden\n  a-b \\ c\n");
        assert_eq!(r, ".SH \"X\"\n.nf\n\\&.hidden\n  a\\-b \\e c\n.fi\n");
    }
}
