//! The agent's box (docs/runners.md#the-agents-box): on the command runner
//! every turn runs in a box of its own, made with Linux namespaces by
//! bubblewrap. This room decides, from plain values the binary gathered,
//! what the box shows (its mounts, in order), who the agent is inside, which
//! connections its forwarder lets out, and bubblewrap's command line. The
//! binary resolves paths, writes the spec and runs the processes.
//!
//! The rules:
//! - **View** ([`mounts`]): the system's read-only folders, the few files of
//!   `/etc` programs need ([`mounts::ETC`]: never the host's whole `/etc`,
//!   which holds the operator's env files), the agent program's own files
//!   and the operator's `read_only`/`read_write`; then a private `/dev`,
//!   `/proc` and `/tmp`; then every afk path (config, state, token, cache,
//!   runs) that one of those folders holds is covered (an empty folder or
//!   an empty file); last the run's own paths (its checkout and push
//!   repository, its home, its progress file read-write; the run folder and
//!   the borrowed cache objects read-only), so nothing earlier hides them.
//!   [`mounts`] also makes bubblewrap's command line of them.
//! - **Who** ([`ids`]): uid and gid 1000 inside a user namespace, all
//!   capabilities dropped, `no_new_privs` (bubblewrap sets it), its own
//!   session; the box's pid 1 is bubblewrap's reaper, so every process of
//!   the box ends when the agent program does. afk as root starts
//!   bubblewrap as the box's unprivileged host user (an id nobody else's
//!   ranges hold), binding from descriptors it opened. Its system calls:
//!   [`seccomp`]; its environment: an allowlist ([`env`]).
//! - **Network** ([`Network`]): `model` (a network namespace the keeper
//!   made, its listeners in it made before the box; out only through the
//!   forwarder, to the `allow` entries: [`forwarder`], and by the name a
//!   connection's first bytes give: [`named`]), `open` (the host's), `none`.

use crate::types::Invalid;

pub mod env;
pub mod forwarder;
pub mod ids;
pub mod mounts;
pub mod named;
pub mod seccomp;

/// `runner.confine`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Confine {
    #[default]
    Box,
    None,
}

/// `runner.box.network`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Network {
    /// Its own network namespace; out only through the forwarder.
    #[default]
    Model,
    /// The host's network.
    Open,
    /// No network at all (loopback only).
    None,
}

/// The memory limit as bytes: "4GiB", "512MiB", "2G", "1000000"
/// ([`crate::bounds::parse_size`]), at least 16 MiB.
pub fn parse_memory(s: &str) -> Result<u64, Invalid> {
    let bytes = crate::bounds::parse_size(s, "\"4GiB\", \"512MiB\"")?;
    if bytes < (16 << 20) {
        return Err(Invalid(format!(
            "\"{s}\" is too little for an agent (at least 16MiB)"
        )));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_sizes_are_read_with_their_units_and_bounded() {
        let cases = [
            ("4GiB", Ok(4u64 << 30)),
            ("512MiB", Ok(512 << 20)),
            ("2G", Ok(2_000_000_000)),
            ("1KiB", Err("too little")),
            ("lots", Err("not a size")),
            ("99999999999TiB", Err("not a size")),
        ];
        for (s, want) in cases {
            match (parse_memory(s), want) {
                (Ok(b), Ok(w)) => assert_eq!(b, w, "{s}"),
                (Err(e), Err(w)) => assert!(e.0.contains(w), "{s}: {e}"),
                (got, w) => panic!("{s}: {got:?} vs {w:?}"),
            }
        }
    }
}
