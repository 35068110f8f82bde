//! `afk __box SPEC`, `afk __box-probe ARGS`, `afk __turn SPEC`: the
//! agent's keepers and doctor's probe (runner/agent_box/: the box's keeper,
//! the probe; runner/turn_end.rs: the unboxed turn's keeper), hidden, for
//! afk starts them, not people. `main` runs
//! them straight after clap, before the session's set-up: none reads a
//! config or a secret, and each keeps the umask and the dumpable flag it was
//! started with (the keeper's cgroup and files, the box's processes).

use crate::runner::agent_box::{self, KEEPER_CMD, PROBE_CMD};
use crate::runner::turn_end::{self, TURN_CMD};
use std::ffi::OsString;
use std::path::PathBuf;

/// The box's programs, each a hidden subcommand of its own.
#[derive(clap::Subcommand, Debug, PartialEq)]
pub enum Program {
    /// The keeper of one boxed turn, outside the box (afk starts it)
    ///
    /// Reads the turn's spec the tick wrote, keeps the forwarder and the
    /// turn's cgroup, runs bubblewrap and exits with the agent's status (126:
    /// no box was made). Not for people.
    #[command(name = KEEPER_CMD, hide = true)]
    Keep {
        /// The turn's spec (the tick hands it in memory: `/dev/fd/N`)
        #[arg(value_parser = clap::value_parser!(OsString), default_value = "")]
        spec: OsString,
        /// The run folder: the keeper records the turn's start and exit
        /// status there (the unboxed turn's wrapper does it otherwise)
        #[arg(long = "record", value_parser = clap::value_parser!(OsString))]
        record: Option<OsString>,
    },
    /// The keeper of one unboxed turn (afk starts it)
    ///
    /// Runs the agent's command without afk's secrets, records its start and
    /// exit status in the run folder, then starts the run's watch. Not for
    /// people.
    #[command(name = TURN_CMD, hide = true)]
    Turn {
        /// The turn's spec (the tick hands it in memory: `/dev/fd/N`)
        #[arg(value_parser = clap::value_parser!(OsString))]
        spec: OsString,
        /// The run folder
        #[arg(long = "record", value_parser = clap::value_parser!(OsString))]
        record: OsString,
    },
    /// Doctor's probe inside a box (`afk doctor` starts it)
    ///
    /// One line each: whether afk's state file is readable in the box, and
    /// whether the model's and the forge's `host:port` are let out. Not for
    /// people.
    #[command(name = PROBE_CMD, hide = true)]
    Probe {
        /// `state=STATE MODEL FORGE [read=FILE]...`
        #[arg(
            value_parser = clap::value_parser!(OsString),
            num_args = 0..,
            trailing_var_arg = true,
            allow_hyphen_values = true
        )]
        args: Vec<OsString>,
    },
}

/// Run one of the box's programs; its exit status.
pub fn run(p: &Program) -> i32 {
    match p {
        Program::Keep { spec, record } => agent_box::keep(
            &PathBuf::from(spec),
            record.as_ref().map(PathBuf::from).as_deref(),
        ),
        Program::Turn { spec, record } => {
            turn_end::keep(&PathBuf::from(spec), &PathBuf::from(record))
        }
        Program::Probe { args } => {
            let args: Vec<String> = args
                .iter()
                .filter_map(|a| a.clone().into_string().ok())
                .collect();
            agent_box::probe(&args)
        }
    }
}
