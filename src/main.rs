//! afk: parse args, load config, run one command, map errors to exit codes
//! (0 ran, 1 the tick failed in part or whole, 2 usage or configuration).

use afk::{cli, commands, config, log};

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    log::set_level(cli.verbose, cli.quiet);
    match commands::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            let code = if e.is::<config::ConfigError>() || e.is::<commands::UsageError>() {
                2
            } else {
                1
            };
            eprintln!("afk: {}", one_line(&e));
            ExitCode::from(code)
        }
    }
}

/// Errors are one line for people: the outermost message with its causes.
fn one_line(e: &anyhow::Error) -> String {
    let mut parts: Vec<String> = vec![];
    for c in e.chain() {
        let s = c.to_string().replace('\n', " ");
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
    }
    parts.join(": ")
}
