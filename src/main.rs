//! afk: parse args, load config, run one command, map errors to exit codes
//! (0 ran, 1 the tick failed in part or whole, 2 usage or configuration, 6
//! afk's own bug; killed by SIGPIPE, 141 in a shell, when stdout was closed
//! early).

use afk::{cli, commands, log};

use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = cli::parse();
    // the agent's box's programs (commands/box_programs.rs: the keeper and
    // doctor's probes): none reads a config or a secret, and each
    // keeps the umask and the dumpable flag it was started with
    if let commands::Cmd::Box(program) = &cli.command {
        std::process::exit(commands::box_programs::run(program));
    }
    not_dumpable();
    afk::process::make_private();
    end_quietly_on_closed_output();
    log::set_level(cli.globals.verbose, cli.globals.quiet);
    let json = cli.globals.json;
    if let Err(afk::types::Invalid(e)) = afk::clock::check().and_then(|()| log::check()) {
        log::error(&e);
        if json {
            error_document(&e, &[], 2);
        }
        return ExitCode::from(2);
    }
    let session = afk::session::Session::from_flags(
        cli.globals.config.clone(),
        cli.globals.state.clone(),
        cli.globals.dry_run,
        json,
        cli::command,
    );
    let ran = commands::run(&session, &cli.command);
    // the spans this process made, once it has done its work; nothing it
    // says changes the exit code
    afk::spans::finish(session.state_file().as_deref());
    match ran {
        Ok(outcome) => ExitCode::from(outcome.exit_code()),
        Err(e) => {
            log::error(&e.person_line());
            if json {
                error_document(&e.line(), &e.hints, e.exit_code());
            }
            ExitCode::from(e.exit_code())
        }
    }
}

/// Every --json command prints exactly one document, also for an error, and
/// never a second one: not after a report, nor beside the deadline
/// watchdog's (`document::write_once`). The error is on stderr already: a
/// stdout that cannot take the document (the cause of that error, often: a
/// full disk) adds no second line for it. Its hints (`afk::hint`) are a
/// field of their own, present only when there are some.
fn error_document(line: &str, hints: &[String], code: u8) {
    let mut doc = serde_json::json!({"error": afk::redact::text(line), "exit": code});
    if !hints.is_empty() {
        let hints: Vec<String> = hints
            .iter()
            .map(|h| afk::redact::text(h).into_owned())
            .collect();
        doc["hints"] = serde_json::json!(hints);
    }
    let mut out = std::io::stdout().lock();
    if let Err(e) = afk::document::write_once(&mut out, &doc.to_string())
        && afk::output::is_closed_pipe(&e)
    {
        afk::output::die_of_sigpipe()
    }
}

/// afk's environment holds the forge token (and every other secret the
/// config names): no process of the same user may read it through
/// `/proc/<afk pid>/environ` or `mem`, or attach a debugger, while afk runs.
/// A non-dumpable process is open to root only (CAP_SYS_PTRACE); the flag is
/// reset when a child execs, so agents and git are unaffected.
#[cfg(target_os = "linux")]
fn not_dumpable() {
    // SAFETY: prctl(PR_SET_DUMPABLE) takes plain integers and touches no memory.
    let r = unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) };
    if r != 0 {
        log::warn(&format!(
            "cannot make afk non-dumpable ({}): its environment is readable by its own user",
            std::io::Error::last_os_error()
        ));
    }
}

#[cfg(not(target_os = "linux"))]
fn not_dumpable() {}

/// A closed stdout (`afk poll | head -1`) makes `println!` panic: Rust ignores
/// SIGPIPE, so the write fails with EPIPE. End quietly instead, dying of
/// SIGPIPE as cargo and coreutils do (141 in a shell), never exit 101; any
/// other stdout failure (a full disk) is one error line and exit 1. Reports
/// go through `commands::emit`, which checks every write itself; this catches
/// the few plain `println!`s.
///
/// SIGPIPE stays ignored while the tick works: cargo resets it to the default
/// at start, but afk's HTTPS goes through rustls, which writes with `writev`,
/// and a forge dropping a pooled connection would then kill a tick midway
/// instead of being an error the tick reports.
fn end_quietly_on_closed_output() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let msg = info.payload_as_str().unwrap_or("");
        if let Some(why) = msg.strip_prefix("failed printing to stdout: ") {
            let epipe = format!("(os error {})", libc::EPIPE);
            if why.contains(&epipe) {
                afk::output::die_of_sigpipe();
            }
            log::error(&format!("cannot write to stdout: {why}"));
            std::process::exit(1);
        }
        default(info);
    }));
}
