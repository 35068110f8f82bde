//! `afk doctor`: read-only checks, one line each (`ok`, `WARN`, `FAIL`, with
//! the fix); exit 1 if any fails. Lines are printed as the checks finish, so a
//! slow forge shows where doctor waits; `-q` prints only the problems. What a
//! finding means is decided in `core::doctor`.

mod forge;
mod local;
mod telemetry;
mod units;
mod upgrade;

use crate::core::doctor::{self, Level};
use crate::output::emit;
use crate::session::{Outcome, Session};
use anyhow::Result;
use serde::Serialize;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// A systemd service unit running a tick, to check the paths it writes against
    /// (repeatable) [default: every afk-*.service installed under /etc/systemd/system,
    /// /usr/local/lib/systemd/system, /usr/lib/systemd/system]
    #[arg(long = "unit", value_name = "PATH")]
    pub units: Vec<std::path::PathBuf>,
}

#[derive(Serialize)]
struct Check {
    #[serde(rename = "check")]
    name: String,
    /// false only for a FAIL (a WARN does not fail doctor)
    ok: bool,
    level: Level,
    detail: String,
}

/// What `afk doctor --json` prints.
#[derive(Serialize)]
struct Report<'a> {
    command: &'static str,
    ok: bool,
    checks: &'a [Check],
}

/// The checks so far; each human line is printed as it is added.
struct Doctor {
    checks: Vec<Check>,
    json: bool,
    quiet: bool,
}

impl Doctor {
    fn add(&mut self, name: &str, level: Level, detail: String) {
        let detail = doctor::detail_of(name, &detail);
        if !self.json && level.shown(self.quiet) {
            let line = format!("{} {name}: {detail}\n", level.tag());
            emit(false, &(), &line);
        }
        self.checks.push(Check {
            name: name.into(),
            ok: level != Level::Fail,
            level,
            detail,
        });
    }

    fn check(&mut self, name: &str, ok: bool, detail: String) {
        self.add(name, if ok { Level::Ok } else { Level::Fail }, detail);
    }
}

/// The runner's own checks add their lines as doctor's do.
impl crate::runner::checks::Report for Doctor {
    fn add(&mut self, check: &str, level: Level, text: String) {
        Doctor::add(self, check, level, text);
    }
}

pub fn run(ctx: &Session, args: &Args) -> Result<Outcome> {
    ctx.load()?;
    let mut d = Doctor {
        checks: vec![],
        json: ctx.json(),
        quiet: crate::log::quiet(),
    };
    d.add(
        "config",
        Level::Ok,
        format!("{} parses and validates", ctx.config_path().display()),
    );
    let (level, text) = doctor::poll(ctx.config().poll.enabled, ctx.config().poll.allowlist.len());
    d.add("poll", level, text);
    local::local(ctx, &mut d);
    let secret = hook_secret(ctx.config());
    if let Some((level, text)) = doctor::hook_secret(&secret) {
        d.add("hook", level, text);
    }
    if let Some(t) = &ctx.config().tracker {
        let service = if t.linear() { "Linear" } else { "Jira" };
        let theirs = tracker_hook_secret(ctx.config());
        if let Some((level, text)) = doctor::tracker_hook_secret(service, &secret, &theirs) {
            d.add("hook", level, text);
        }
    }
    let agent_holds_token = ctx.runner_checks().agent_holds_forge_token();
    let hook_signs = matches!(secret, doctor::HookSecret::Found { .. });
    let tells = ctx.config().profile().tells_comment_edits;
    if let Some((level, text)) = doctor::comment_edits(agent_holds_token, hook_signs, tells) {
        d.add("edits", level, text);
    }
    short_secrets(ctx.config(), &mut d);
    match ctx.runner() {
        Ok(r) => {
            let (level, detail) = r.check();
            d.add("runner", level, detail);
        }
        Err(e) => d.check("runner", false, crate::command_error::person_line(&e)),
    }
    let runner = ctx.runner_checks();
    runner.paths(&mut d);
    runner.workspace(&ctx.paths().git_cache, &mut d);
    let probe = crate::runner::checks::Probe {
        state_path: ctx.state_path(),
        config_path: &ctx.config_path(),
        unit_env: &units::env_files(&args.units),
    };
    runner.confinement(&probe, &mut d);
    let metered = runner.metered_by_gateway();
    let (ok, detail) = local::budget_check(ctx.config(), runner.reports_no_spend(), metered);
    d.check("budget", ok, detail);
    if let Some((level, detail)) = local::agent_spend_check(ctx.config()).filter(|_| !metered) {
        d.add("budget", level, detail);
    }
    runner.gate(&mut d);
    runner.turn_end(&mut d);
    for (level, line) in local::unpriced_models(ctx.config()) {
        d.add("prices", level, line);
    }
    upgrade::local(ctx, &mut d);
    units::units(ctx, &args.units, &runner.writes(), &mut d);
    telemetry::telemetry(ctx, &mut d);
    forge::forge(ctx, &mut d)?;
    let failed = d.checks.iter().any(|c| c.level == Level::Fail);
    if ctx.json() {
        let report = Report {
            command: "doctor",
            ok: !failed,
            checks: &d.checks,
        };
        emit(true, &report, "");
    }
    Ok(Outcome::code(u8::from(failed)))
}

/// A secret too short to be told from ordinary text is not redacted: a
/// WARN for each.
fn short_secrets(cfg: &crate::config::Config, d: &mut Doctor) {
    for (what, value) in cfg.secret_values() {
        if !what.starts_with('/')
            && value.expose().trim().chars().count() < crate::core::redact::MIN_LEN
        {
            d.add(
                "secrets",
                Level::Warn,
                format!(
                    "{what} is shorter than {} characters: afk cannot tell it from ordinary text, so it is not redacted from what afk writes",
                    crate::core::redact::MIN_LEN
                ),
            );
        }
    }
}

/// What `[hook]`'s secret is, read as afk hook reads it.
fn hook_secret(cfg: &crate::config::Config) -> doctor::HookSecret {
    let h = &cfg.hook;
    let unnamed = match cfg.hook_table {
        true => doctor::HookSecret::Unnamed,
        false => doctor::HookSecret::Unset,
    };
    secret_as_read((h.secret_file.as_deref(), &h.secret_env), unnamed, || {
        cfg.hook_secret()
    })
}

/// What `[tracker]`'s webhook secret is, read as afk hook reads it for a
/// tracker's delivery.
fn tracker_hook_secret(cfg: &crate::config::Config) -> doctor::HookSecret {
    let Some(t) = &cfg.tracker else {
        return doctor::HookSecret::Unset;
    };
    let (file, env) = (t.hook_secret_file.as_deref(), &t.hook_secret_env);
    secret_as_read((file, env), doctor::HookSecret::Unset, || {
        cfg.tracker_hook_secret()
    })
}

/// A webhook secret named by `file` or the variable `env` (`unnamed` when
/// neither is), as `read` reads it.
fn secret_as_read(
    (file, env): (Option<&std::path::Path>, &str),
    unnamed: doctor::HookSecret,
    read: impl FnOnce() -> Result<Option<crate::redact::Secret>>,
) -> doctor::HookSecret {
    use doctor::HookSecret;
    let env = env.trim();
    if file.is_none() && env.is_empty() {
        return unnamed;
    }
    let from = match file {
        Some(p) => p.display().to_string(),
        None => format!("${env}"),
    };
    match read() {
        Ok(Some(s)) => HookSecret::Found {
            from,
            chars: s.expose().chars().count(),
        },
        Ok(None) => HookSecret::Empty(env.to_string()),
        Err(e) => HookSecret::Unreadable(crate::command_error::error_line(&e)),
    }
}
